//! Incremental sync: remember the largest cursor value seen (e.g. `updated_at`) as the
//! stream's checkpoint, and start the next sync from it (`since=`).
//!
//! A page scanned with [`records::scan`](crate::records::scan)`(..).cursor(field)` already
//! carries its newest cursor ([`Scanned::max_cursor`](crate::records::Scanned::max_cursor),
//! [`Scanned::checkpoint`](crate::records::Scanned::checkpoint)): the records need not be read
//! again. [`max_cursor`] is for records built another way.

use crate::Record;

/// The largest value of `field` among `records` and `previous`, as text. Works for ISO 8601
/// timestamps (they sort as text) and for numbers. Each record is read once, only as far as
/// needed to find `field`; records that are not JSON objects are skipped.
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
        let Ok(values) = crate::records::pick(&record.json, &[field]) else { continue };
        keep_newest(&mut best, values[0].as_ref().and_then(|v| v.text()));
    }
    best
}

/// Replace `best` by `candidate` when the candidate is newer (or `best` is empty).
pub(crate) fn keep_newest(best: &mut Option<String>, candidate: Option<&str>) {
    let Some(candidate) = candidate else { return };
    if best.as_deref().is_none_or(|b| newer(candidate, b)) {
        *best = Some(candidate.to_string());
    }
}

/// Numbers compare as numbers, everything else as text.
fn newer(candidate: &str, current: &str) -> bool {
    match (candidate.parse::<f64>(), current.parse::<f64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => candidate > current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        Record { stream: "s".into(), key: None, json: json.into() }
    }

    #[test]
    fn numbers_compare_as_numbers_and_odd_records_are_skipped() {
        let records =
            [record(r#"{"n":9}"#), record(r#"{"n":10}"#), record("[1]"), record(r#"{"n":null}"#), record("{")];
        assert_eq!(max_cursor(&records, "n", None).as_deref(), Some("10"));
        assert_eq!(max_cursor(&records, "n", Some("11")).as_deref(), Some("11"));
        assert_eq!(max_cursor(&[], "n", None), None);
    }
}
