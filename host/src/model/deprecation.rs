//! Reading an API's deprecation notices from a response: the `Deprecation` field (RFC 9745:
//! `@<epoch seconds>`, or the older `true` / HTTP-date forms), `Sunset` (RFC 8594, an HTTP date)
//! and `Link` relations `deprecation` and `sunset`.

use serde::{Deserialize, Serialize};

use super::{Header, header};

/// What a response said about its own deprecation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprecationNotice {
    /// When the resource is (or was) deprecated, as an RFC 3339 date when one was given, or
    /// `"yes"` when the API only says it is.
    pub deprecated: Option<String>,
    /// When it will stop working (RFC 3339).
    pub sunset: Option<String>,
    /// Where the API documents it (`Link` rel `deprecation` or `sunset`).
    pub link: Option<String>,
}

impl DeprecationNotice {
    /// The notice in `headers`, if there is any.
    pub fn from_headers(headers: &[Header]) -> Option<DeprecationNotice> {
        let deprecated = header(headers, "deprecation").map(parse_deprecation);
        let sunset = header(headers, "sunset").map(|v| http_date_to_rfc3339(v).unwrap_or_else(|| v.trim().to_string()));
        let link = headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("link"))
            .find_map(|h| link_with_rel(&h.value, "deprecation").or_else(|| link_with_rel(&h.value, "sunset")));
        let notice = DeprecationNotice { deprecated, sunset, link };
        (notice != DeprecationNotice::default()).then_some(notice)
    }

    /// One line for a person: "deprecated 2026-01-01, sunset 2026-07-01 (see URL)".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &self.deprecated {
            parts.push(if d == "yes" { "deprecated".to_string() } else { format!("deprecated {d}") });
        }
        if let Some(s) = &self.sunset {
            parts.push(format!("sunset {s}"));
        }
        let mut text = parts.join(", ");
        if let Some(l) = &self.link {
            text.push_str(&format!(" (see {l})"));
        }
        text
    }
}

fn parse_deprecation(value: &str) -> String {
    let value = value.trim();
    if let Some(seconds) = value.strip_prefix('@').and_then(|s| s.parse::<i64>().ok()) {
        return rfc3339_of_epoch(seconds);
    }
    http_date_to_rfc3339(value).unwrap_or_else(|| "yes".to_string())
}

fn http_date_to_rfc3339(value: &str) -> Option<String> {
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    let seconds = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(rfc3339_of_epoch(seconds))
}

/// `YYYY-MM-DD` (or with the time when it is not midnight) for epoch seconds, in UTC.
fn rfc3339_of_epoch(seconds: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64);
    let text = httpdate::fmt_http_date(at); // "Wed, 01 Jul 2026 00:00:00 GMT"
    let parts: Vec<&str> = text.split_whitespace().collect();
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == parts[2])
        .map_or(1, |i| i + 1);
    let date = format!("{}-{month:02}-{}", parts[3], parts[1]);
    if parts[4] == "00:00:00" { date } else { format!("{date}T{}Z", parts[4]) }
}

/// The target of the first link with relation `rel` in a `Link` header value.
fn link_with_rel(value: &str, rel: &str) -> Option<String> {
    value.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let wanted = params.split(';').any(|p| {
            p.trim().strip_prefix("rel=").is_some_and(|r| r.trim_matches('"').split_whitespace().any(|x| x == rel))
        });
        wanted.then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| Header { name: n.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn reads_rfc_9745_deprecation_sunset_and_links() {
        let notice = DeprecationNotice::from_headers(&headers(&[
            ("Deprecation", "@1767225600"),
            ("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT"),
            ("Link", "<https://api.example.com/v2>; rel=\"successor-version\", <https://docs.example.com/v1-deprecation>; rel=\"deprecation\""),
        ]))
        .unwrap();
        assert_eq!(notice.deprecated.as_deref(), Some("2026-01-01"));
        assert_eq!(notice.sunset.as_deref(), Some("2026-07-01"));
        assert_eq!(notice.link.as_deref(), Some("https://docs.example.com/v1-deprecation"));
        assert_eq!(
            notice.describe(),
            "deprecated 2026-01-01, sunset 2026-07-01 (see https://docs.example.com/v1-deprecation)"
        );
    }

    #[test]
    fn reads_the_older_forms_and_ignores_responses_without_notices() {
        let old = DeprecationNotice::from_headers(&headers(&[("deprecation", "true")])).unwrap();
        assert_eq!(old.deprecated.as_deref(), Some("yes"));
        let link_only =
            DeprecationNotice::from_headers(&headers(&[("link", "<https://d.example>; rel=sunset")])).unwrap();
        assert_eq!(link_only.link.as_deref(), Some("https://d.example"));
        assert!(DeprecationNotice::from_headers(&headers(&[("link", "<https://x>; rel=\"next\"")])).is_none());
        assert_eq!(rfc3339_of_epoch(1_767_229_200), "2026-01-01T01:00:00Z");
    }
}
