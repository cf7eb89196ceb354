//! Reading an API's own account of its quota: remaining requests and when the window resets,
//! from `X-RateLimit-*`, `RateLimit-*`, the IETF `RateLimit` field, or names the manifest gives.

use std::time::Duration;

use crate::model::{Header, RateLimitHeaders, header};

/// Header pairs (remaining, reset) the host reads when the manifest names none.
const DEFAULT_PAIRS: [(&str, &str); 2] =
    [("x-ratelimit-remaining", "x-ratelimit-reset"), ("ratelimit-remaining", "ratelimit-reset")];

/// The API's own name for the limit a response counts against: GitHub's
/// `X-RateLimit-Resource` (`core`, `search` ...), or the policy name of the IETF `RateLimit`
/// field (`"search";r=0;t=30`).
pub fn resource_of(headers: &[Header]) -> Option<String> {
    if let Some(name) = header(headers, "x-ratelimit-resource").map(str::trim).filter(|n| !n.is_empty()) {
        return Some(name.to_string());
    }
    let field = header(headers, "ratelimit")?;
    let name = field.split(';').next()?.trim();
    (name.starts_with('"') && name.ends_with('"') && name.len() > 2).then(|| name.trim_matches('"').to_string())
}

/// When the response says the quota is used up (remaining is 0), how long until it resets.
pub fn exhausted_for(headers: &[Header], names: Option<&RateLimitHeaders>, now_ms: u64) -> Option<Duration> {
    let (remaining, reset) = read_quota(headers, names)?;
    (remaining == 0).then(|| reset_delay(reset, now_ms))
}

/// (remaining, reset) from the first header form present.
fn read_quota(headers: &[Header], names: Option<&RateLimitHeaders>) -> Option<(u64, f64)> {
    let number = |name: &str| header(headers, name).and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(names) = names {
        return Some((number(&names.remaining)? as u64, number(&names.reset)?));
    }
    for (remaining, reset) in DEFAULT_PAIRS {
        if let (Some(r), Some(t)) = (number(remaining), number(reset)) {
            return Some((r as u64, t));
        }
    }
    header(headers, "ratelimit").and_then(parse_ietf_ratelimit)
}

/// The IETF `RateLimit` field: `limit=100, remaining=0, reset=30` (draft 7) or
/// `"default";r=0;t=30` (later drafts). The reset is always delta seconds there.
fn parse_ietf_ratelimit(value: &str) -> Option<(u64, f64)> {
    let mut remaining = None;
    let mut reset = None;
    for part in value.split([',', ';']) {
        let Some((key, v)) = part.trim().split_once('=') else { continue };
        let v = v.trim().trim_matches('"');
        match key.trim() {
            "remaining" | "r" => remaining = v.parse::<u64>().ok(),
            "reset" | "t" => reset = v.parse::<f64>().ok(),
            _ => {}
        }
    }
    Some((remaining?, reset?))
}

/// A reset value as a wait from now. APIs send one of three forms, told apart by size:
/// epoch milliseconds (GitHub's recordings), epoch seconds (GitHub today), or delta seconds.
pub fn reset_delay(reset: f64, now_ms: u64) -> Duration {
    const EPOCH_MS_THRESHOLD: f64 = 1e12; // 2001-09-09 in ms; 31,000 years in seconds
    const EPOCH_S_THRESHOLD: f64 = 1e9; // 2001-09-09 in seconds; 31 years as a delta
    let wait_ms = if reset >= EPOCH_MS_THRESHOLD {
        reset - now_ms as f64
    } else if reset >= EPOCH_S_THRESHOLD {
        reset * 1000.0 - now_ms as f64
    } else {
        reset * 1000.0
    };
    Duration::from_millis(wait_ms.max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_700_000_000_000;

    fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| Header { name: n.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn tells_apart_epoch_ms_epoch_seconds_and_delta_seconds() {
        assert_eq!(reset_delay(1_700_000_030_000.0, NOW_MS), Duration::from_secs(30));
        assert_eq!(reset_delay(1_700_000_030.0, NOW_MS), Duration::from_secs(30));
        assert_eq!(reset_delay(30.0, NOW_MS), Duration::from_secs(30));
        assert_eq!(reset_delay(1_507_651_200_000.0, NOW_MS), Duration::ZERO, "a reset in the past waits nothing");
    }

    #[test]
    fn waits_only_when_the_quota_is_used_up() {
        let github = headers(&[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1700000060")]);
        assert_eq!(exhausted_for(&github, None, NOW_MS), Some(Duration::from_secs(60)));
        let plenty = headers(&[("x-ratelimit-remaining", "4999"), ("x-ratelimit-reset", "1700000060")]);
        assert_eq!(exhausted_for(&plenty, None, NOW_MS), None);
        assert_eq!(
            exhausted_for(&headers(&[("x-ratelimit-remaining", "0")]), None, NOW_MS),
            None,
            "no reset, no guess"
        );
    }

    #[test]
    fn names_the_resource_a_limit_belongs_to() {
        assert_eq!(resource_of(&headers(&[("X-RateLimit-Resource", "search")])).as_deref(), Some("search"));
        assert_eq!(resource_of(&headers(&[("RateLimit", "\"search\";r=0;t=30")])).as_deref(), Some("search"));
        assert_eq!(resource_of(&headers(&[("RateLimit", "limit=100, remaining=0, reset=12")])), None);
        assert_eq!(resource_of(&headers(&[("x-ratelimit-remaining", "0")])), None);
    }

    #[test]
    fn reads_the_ietf_forms_and_manifest_names() {
        let draft7 = headers(&[("RateLimit", "limit=100, remaining=0, reset=12")]);
        assert_eq!(exhausted_for(&draft7, None, NOW_MS), Some(Duration::from_secs(12)));
        let structured =
            headers(&[("RateLimit", "\"default\";r=0;t=7"), ("RateLimit-Policy", "\"default\";q=100;w=60")]);
        assert_eq!(exhausted_for(&structured, None, NOW_MS), Some(Duration::from_secs(7)));
        let custom = headers(&[("Quota-Left", "0"), ("Quota-Reset", "5")]);
        let names = RateLimitHeaders { remaining: "quota-left".into(), reset: "quota-reset".into() };
        assert_eq!(exhausted_for(&custom, Some(&names), NOW_MS), Some(Duration::from_secs(5)));
        assert_eq!(exhausted_for(&headers(&[("RateLimit", "garbage")]), None, NOW_MS), None);
    }
}
