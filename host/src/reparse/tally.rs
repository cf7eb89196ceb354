//! Running totals of a re-parse: pages written through the one acceptance path, its own dead
//! letters, fingerprints and schemas of old and new output for the diff, and the live letters
//! the new connector would fix.

use std::collections::BTreeMap;

use super::{Fingerprints, Parsed, ReparseError};
use crate::accept::{PageOrigin, Verdict};
use crate::model::ParseError;
use crate::runtime::LoadedConnector;
use crate::schema::Drift;
use crate::sink::{PageRef, Sink};
use crate::store::RunContext;
use crate::store::{Counts, DeadLetter, DeadLetterId, NewDeadLetter, Stage};
use crate::sync::RunSchemas;

/// A connector and the schema state its pages are judged against.
pub struct Judge {
    /// The connector.
    pub connector: LoadedConnector,
    /// The stream schemas of the pipeline, with this connector's declared ones.
    pub schemas: RunSchemas,
}

/// What a re-parse has done so far.
pub struct Tally {
    new: Judge,
    old: Option<Judge>,
    keys: BTreeMap<String, Vec<String>>,
    open: Vec<DeadLetter>,
    pub pages: u64,
    pub bytes: u64,
    pub records: u64,
    pub failed_pages: u64,
    pub by_stream: BTreeMap<String, Counts>,
    pub fixable: Vec<DeadLetterId>,
    pub letters: Vec<NewDeadLetter>,
    pub old_prints: Fingerprints,
    pub new_prints: Fingerprints,
}

impl Tally {
    /// A tally for re-parsing with `new` (and `old`, the pipeline's connector, for the diff);
    /// `open` are the live output's open parse and record letters.
    pub fn new(new: Judge, old: Option<Judge>, open: Vec<DeadLetter>) -> Tally {
        let endpoints = &new.connector.manifest().endpoints;
        let keys = endpoints.iter().map(|e| (e.name.clone(), e.primary_key.clone())).collect();
        Tally {
            new,
            old,
            keys,
            open,
            pages: 0,
            bytes: 0,
            records: 0,
            failed_pages: 0,
            by_stream: BTreeMap::new(),
            fixable: Vec::new(),
            letters: Vec::new(),
            old_prints: Fingerprints::default(),
            new_prints: Fingerprints::default(),
        }
    }

    /// Write one parsed exchange's records and note its letters.
    pub fn absorb(&mut self, p: Parsed, sink: &mut dyn Sink, context: &RunContext) -> Result<(), ReparseError> {
        let meta = &p.meta;
        self.pages += 1;
        self.bytes += meta.body_bytes;
        let origin = PageOrigin { stream: &meta.stream, request: &meta.request, exchange: meta.id };
        if let (Some(judge), Some(parsed)) = (&self.old, p.old)
            && let Verdict::Accept(old) = judge.schemas.judge(origin, parsed, &judge.connector)
        {
            self.old_prints.add(&old.records);
        }
        let counts = self.by_stream.entry(meta.stream.clone()).or_default();
        counts.pages += 1;
        counts.raw_bytes += meta.body_bytes;
        let page = match self.new.schemas.judge(origin, p.new, &self.new.connector) {
            Verdict::Accept(page) => page,
            Verdict::Refetch { reason, .. } => {
                self.fail(meta, refetch_in_reparse(&reason));
                return Ok(());
            }
            Verdict::Fail(error) => {
                self.fail(meta, error);
                return Ok(());
            }
        };
        let no_keys = Vec::new();
        let key_fields = self.keys.get(&meta.stream).unwrap_or(&no_keys);
        for letter in self.open.iter().filter(|l| l.exchange == Some(meta.id)) {
            let handled =
                letter.stage == Stage::Parse || page.records.iter().any(|r| letter.matches_record(&r.json, key_fields));
            if handled {
                self.fixable.push(letter.id);
            }
        }
        let page_ref = PageRef {
            run: context.run,
            entry: None,
            exchange: Some(meta.id),
            stream: &meta.stream,
            fetched_at_ms: meta.fetched_at_ms,
            connector: &context.connector,
        };
        sink.write(&page_ref, &page.records)?;
        let written = page.records.len() as u64;
        self.records += written;
        let counts = self.by_stream.entry(meta.stream.clone()).or_default();
        counts.records += written;
        counts.dead_letters += page.letters.len() as u64;
        self.new_prints.add(&page.records);
        self.letters.extend(page.letters);
        Ok(())
    }

    /// How the schema of each stream's records differs from the old connector's output to the
    /// new one's; `None` without the old connector.
    pub fn schema_diff(&self) -> Option<BTreeMap<String, Drift>> {
        let old = self.old.as_ref()?;
        let streams = self.by_stream.keys();
        let observed = |judge: &Judge, stream: &str| judge.schemas.observed(stream).unwrap_or_default();
        let diff = streams.map(|s| (s.clone(), Drift::between(&observed(old, s), &observed(&self.new, s))));
        Some(diff.filter(|(_, drift)| !drift.is_empty()).collect())
    }

    /// The page cannot be used: a parse letter of the re-parse's own output.
    fn fail(&mut self, meta: &crate::store::RawMeta, error: String) {
        self.failed_pages += 1;
        self.by_stream.entry(meta.stream.clone()).or_default().dead_letters += 1;
        let letter = NewDeadLetter::new(&meta.stream, Stage::Parse, format!("reparse: {error}"), 1)
            .about(Some(meta.request.clone()))
            .linked(Some(meta.id));
        self.letters.push(letter);
    }
}

/// A page the connector wants fetched again cannot be, in a re-parse.
fn refetch_in_reparse(reason: &ParseError) -> String {
    format!("{reason} (a re-parse does not fetch again)")
}
