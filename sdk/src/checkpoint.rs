//! Incremental sync: remember the largest cursor value seen (e.g. `updated_at`) as the
//! stream's checkpoint, and start the next sync from it (`since=`).

use crate::Record;

/// The largest value of `field` among `records` and `previous`, as text. Works for ISO 8601
/// timestamps (they sort as text) and for numbers.
///
/// ```
/// use apiary_sdk::{checkpoint, Record};
/// let records = vec![
///     Record { stream: "issues".into(), key: None, json: r#"{"updated_at":"2024-02-02T00:00:00Z"}"#.into() },
///     Record { stream: "issues".into(), key: None, json: r#"{"updated_at":"2024-03-01T00:00:00Z"}"#.into() },
/// ];
/// let cp = checkpoint::max_cursor(&records, "updated_at", Some("2024-02-15T00:00:00Z"));
/// assert_eq!(cp.as_deref(), Some("2024-03-01T00:00:00Z"));
/// ```
pub fn max_cursor(records: &[Record], field: &str, previous: Option<&str>) -> Option<String> {
    let mut best = previous.map(str::to_string);
    for record in records {
        // Only the one field is decoded; the rest of the record is skipped, not built.
        let Ok(raw) = serde_json::from_str::<&serde_json::value::RawValue>(&record.json) else { continue };
        let Some(text) = crate::key_of(raw, &[field]) else { continue };
        if best.as_ref().is_none_or(|b| newer(&text, b)) {
            best = Some(text);
        }
    }
    best
}

/// Numbers compare as numbers, everything else as text.
fn newer(candidate: &str, current: &str) -> bool {
    match (candidate.parse::<f64>(), current.parse::<f64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => candidate > current,
    }
}
