//! Parts of generated records written as GitHub writes them: users, labels, timestamps.

use std::fmt::Write;

/// A repository label.
pub struct Label {
    id: u64,
    name: &'static str,
    color: &'static str,
    default: bool,
    description: Option<&'static str>,
}

impl Label {
    /// The labels records draw from.
    pub const ALL: [Label; 5] = [
        Label { id: 101, name: "bug", color: "d73a4a", default: true, description: Some("Something isn't working") },
        Label {
            id: 102,
            name: "enhancement",
            color: "a2eeef",
            default: true,
            description: Some("New feature or request"),
        },
        Label {
            id: 103,
            name: "good first issue",
            color: "7057ff",
            default: true,
            description: Some("Good for newcomers"),
        },
        Label { id: 104, name: "needs-triage", color: "ededed", default: false, description: None },
        Label {
            id: 105,
            name: "area: sync \u{2192} resume",
            color: "0e8a16",
            default: false,
            description: Some("Crash-resume and \\\"exactly once\\\""),
        },
    ];
}

/// A user object (`login`, `id`, URLs, `type`, `site_admin`) for user number `id`.
pub fn write_user(out: &mut String, id: u64) {
    let _ = write!(
        out,
        r#"{{"login":"user{id}","id":{id},"node_id":"MDQ6VXNlcj{id:08}","avatar_url":"https://avatars.githubusercontent.com/u/{id}?v=4","type":"User","site_admin":false}}"#
    );
}

/// A label object of the repository at the API URL `repo`.
pub fn write_label(out: &mut String, repo: &str, label: &Label) {
    let description = match label.description {
        Some(text) => format!("\"{text}\""),
        None => "null".to_string(),
    };
    let _ = write!(
        out,
        r#"{{"id":{id},"node_id":"LA_kwDOLarge{id:06}","url":"{repo}/labels/{path}","name":"{name}","color":"{color}","default":{default},"description":{description}}}"#,
        id = 7_000_000_000u64 + label.id,
        path = label.name.replace(' ', "%20"),
        name = label.name,
        color = label.color,
        default = label.default,
    );
}

/// `secs` since the Unix epoch as an RFC 3339 UTC timestamp (`2024-01-01T00:00:00Z`).
pub fn write_timestamp(out: &mut String, secs: u64) {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(out, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60);
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc_3339_across_month_year_and_leap_days() {
        let at = |secs| {
            let mut s = String::new();
            write_timestamp(&mut s, secs);
            s
        };
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(at(1_709_164_800 + 3_661), "2024-02-29T01:01:01Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
    }

    #[test]
    fn labels_and_users_are_json() {
        let mut s = String::from("[");
        write_user(&mut s, 1042);
        for label in &Label::ALL {
            s.push(',');
            write_label(&mut s, "https://api.github.com/repos/o/r", label);
        }
        s.push(']');
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[0]["login"], "user1042");
        assert_eq!(v[5]["description"], "Crash-resume and \"exactly once\"");
        assert!(v[4]["description"].is_null());
    }
}
