//! Watching a stream's records during a run: each record is checked (valid JSON), learned from
//! (the observed schema) and compared with the baseline (its deviations), in one pass.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::change::Deviation;
use super::drift::{Drift, Examples};
use super::infer::{Node, Scan};
use super::json_type::JsonType;
use super::path::FieldPath;
use super::reader::read_record;
use super::shape::StreamSchema;

/// A record that is not valid JSON; the text is serde_json's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidJson(pub String);

/// What a run saw of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The schema of every valid record observed.
    pub schema: StreamSchema,
    /// How it differs from the baseline, with per-record counts and example keys; empty when
    /// there was no baseline.
    pub drift: Drift,
}

impl StreamSchema {
    /// The schema of `records` (JSON texts), e.g. of two outputs to compare. The first record
    /// that is not valid JSON is an error.
    pub fn infer<'a>(records: impl IntoIterator<Item = &'a str>) -> Result<StreamSchema, InvalidJson> {
        let mut observer = SchemaObserver::new(None);
        for json in records {
            observer.observe(json, None)?;
        }
        Ok(observer.finish().schema)
    }
}

/// Observes one stream's records in a run. Create it with the stream's baseline (its accepted
/// schema), call [`SchemaObserver::observe`] on every record, then [`SchemaObserver::finish`].
#[derive(Debug)]
pub struct SchemaObserver {
    root: Node,
    baseline: Option<StreamSchema>,
    nodes: usize,
    deviations: Vec<Deviation>,
    tallies: BTreeMap<(FieldPath, u8), Tally>,
}

#[derive(Debug)]
struct Tally {
    records: u64,
    example: Option<String>,
}

impl SchemaObserver {
    /// An observer comparing records with `baseline`; with none, it only checks and learns.
    pub fn new(baseline: Option<&StreamSchema>) -> SchemaObserver {
        let root = baseline.map_or_else(Node::root, |b| Node::from_baseline(&b.root, FieldPath::root()));
        SchemaObserver { root, baseline: baseline.cloned(), nodes: 0, deviations: Vec::new(), tallies: BTreeMap::new() }
    }

    /// Check that `json` is one valid JSON value (exactly what `serde_json` accepts as a
    /// `RawValue`: numbers of any size and precision), learn its shape, and return how it
    /// deviates from the baseline, one entry per field and kind of change. `key` is the
    /// record's primary key, kept as an example.
    ///
    /// The record reader (`reader.rs`) reads the record; what it refuses goes to serde_json.
    /// So the few texts it leaves to serde_json (a key with an escaped lone surrogate such as
    /// `{"\ud800":1}`, nesting deeper than 128) are accepted and counted as records, their shape
    /// learned up to that place. An invalid record leaves the record count unchanged, though
    /// fields read before the error stay counted.
    pub fn observe(&mut self, json: &str, key: Option<&str>) -> Result<&[Deviation], InvalidJson> {
        self.deviations.clear();
        let root_before = self.root.counts;
        let checking = self.baseline.is_some();
        let mut scan = Scan { checking, key, deviations: &mut self.deviations, nodes: self.nodes };
        let scanned = read_record(json, &mut self.root, &mut scan);
        self.nodes = scan.nodes;
        if scanned.is_err() {
            self.root.counts = root_before;
            serde_json::from_str::<&RawValue>(json).map_err(|e| InvalidJson(e.to_string()))?;
            self.root.counts.add(type_at_start(json));
        }
        self.settle_deviations(key);
        Ok(&self.deviations)
    }

    /// The schema of what was observed so far.
    pub fn schema(&self) -> StreamSchema {
        StreamSchema { root: self.root.to_shape() }
    }

    /// The observed schema and its drift from the baseline.
    pub fn finish(self) -> Observation {
        let schema = self.schema();
        let Some(baseline) = &self.baseline else {
            return Observation { schema, drift: Drift::default() };
        };
        let mut examples = Examples::new();
        collect_examples(&self.root, &mut examples);
        let mut drift = Drift::with_examples(baseline, &schema, &examples);
        for change in &mut drift.changes {
            if let Some(tally) = self.tallies.get(&(change.path.clone(), change.change.rank())) {
                change.records = tally.records;
                change.example.clone_from(&tally.example);
            }
        }
        Observation { schema, drift }
    }

    /// Merge this record's deviations to one per field and kind, and count them.
    fn settle_deviations(&mut self, key: Option<&str>) {
        if self.deviations.is_empty() {
            return;
        }
        self.deviations.sort_by(|a, b| (&a.path, a.change.rank()).cmp(&(&b.path, b.change.rank())));
        self.deviations.dedup_by(|later, kept| {
            let same = later.path == kept.path && later.change.same_kind(&kept.change);
            if same {
                kept.change = kept.change.union(later.change);
            }
            same
        });
        for deviation in &self.deviations {
            let tally = self
                .tallies
                .entry((deviation.path.clone(), deviation.change.rank()))
                .or_insert_with(|| Tally { records: 0, example: key.map(str::to_string) });
            tally.records += 1;
        }
    }
}

/// The type of the valid JSON value `json`, from its first character.
fn type_at_start(json: &str) -> JsonType {
    JsonType::of_text(json)
}

fn collect_examples(node: &Node, out: &mut Examples) {
    if let Some(example) = &node.example {
        out.insert(node.path.clone(), example.to_string());
    }
    for (_, child) in &node.fields {
        collect_examples(child, out);
    }
    if let Some(items) = &node.items {
        collect_examples(items, out);
    }
}

#[cfg(test)]
mod tests;
