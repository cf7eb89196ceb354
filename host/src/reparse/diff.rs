//! Comparing two outputs of the same exchanges by primary key.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Serialize;

use crate::model::Record;

/// How a stream's records changed between two parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamDiff {
    /// Records in the old output.
    pub old_records: u64,
    /// Records in the new output.
    pub new_records: u64,
    /// Keys only in the new output.
    pub added: u64,
    /// Keys only in the old output.
    pub removed: u64,
    /// Keys in both, with different JSON.
    pub changed: u64,
    /// Keys in both, with the same JSON.
    pub unchanged: u64,
}

/// Record fingerprints of one output: stream -> key -> hash of the JSON. A record without a
/// key is keyed by its own text.
#[derive(Debug, Default)]
pub struct Fingerprints {
    streams: BTreeMap<String, HashMap<String, u64>>,
    counts: BTreeMap<String, u64>,
}

impl Fingerprints {
    /// Add a page's records.
    pub fn add(&mut self, records: &[Record]) {
        for r in records {
            let key = r.key.clone().unwrap_or_else(|| r.json.clone());
            self.streams.entry(r.stream.clone()).or_default().insert(key, hash(&r.json));
            *self.counts.entry(r.stream.clone()).or_default() += 1;
        }
    }

    /// The diff from `old` to `self`, per stream.
    pub fn diff_from(&self, old: &Fingerprints) -> BTreeMap<String, StreamDiff> {
        let streams: std::collections::BTreeSet<&String> = self.streams.keys().chain(old.streams.keys()).collect();
        let empty = HashMap::new();
        streams
            .into_iter()
            .map(|stream| {
                let (new, was) =
                    (self.streams.get(stream).unwrap_or(&empty), old.streams.get(stream).unwrap_or(&empty));
                let mut d = StreamDiff {
                    old_records: old.counts.get(stream).copied().unwrap_or(0),
                    new_records: self.counts.get(stream).copied().unwrap_or(0),
                    ..StreamDiff::default()
                };
                for (key, h) in new {
                    match was.get(key) {
                        None => d.added += 1,
                        Some(old_h) if old_h == h => d.unchanged += 1,
                        Some(_) => d.changed += 1,
                    }
                }
                d.removed = was.keys().filter(|k| !new.contains_key(*k)).count() as u64;
                (stream.clone(), d)
            })
            .collect()
    }
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, json: &str) -> Record {
        Record { stream: "s".into(), key: Some(key.into()), json: json.into() }
    }

    #[test]
    fn counts_added_removed_changed_by_key() {
        let mut old = Fingerprints::default();
        old.add(&[record("1", "{\"a\":1}"), record("2", "{\"a\":2}"), record("3", "{\"a\":3}")]);
        let mut new = Fingerprints::default();
        new.add(&[record("1", "{\"a\":1}"), record("2", "{\"a\":2,\"b\":1}"), record("4", "{\"a\":4}")]);
        let d = &new.diff_from(&old)["s"];
        assert_eq!((d.added, d.removed, d.changed, d.unchanged), (1, 1, 1, 1));
        assert_eq!((d.old_records, d.new_records), (3, 3));
    }
}
