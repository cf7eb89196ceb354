//! Choosing what a re-parse reads and where it writes: the selected exchanges, a check that
//! the new connector is the one that fetched them, and a fresh output folder.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{ReparseError, ReparseOptions};
use crate::config::Pipeline;
use crate::home::Home;
use crate::runtime::LoadedConnector;
use crate::store::{ExchangeId, RawMeta, Store};

/// The exchanges to re-parse, oldest first: successful responses only (not a request sent ahead
/// that no page asked for), and of several attempts at the same request in one run, only the
/// last (the earlier ones were fetched again).
pub fn exchanges(store: &Store, pipeline: &Pipeline, o: &ReparseOptions) -> Result<Vec<RawMeta>, ReparseError> {
    let metas = store.raw_list(|m| {
        m.pipeline == pipeline.name
            && (200..300).contains(&m.status)
            && !m.unasked
            && o.run.is_none_or(|r| r == m.run)
            && o.stream.as_ref().is_none_or(|s| *s == m.stream)
            && o.since_ms.is_none_or(|t| m.fetched_at_ms >= t)
    })?;
    let mut last_attempt: HashMap<(u64, &str, &[u8]), ExchangeId> = HashMap::new();
    for m in &metas {
        let body = m.request.body.as_deref().unwrap_or_default();
        last_attempt.insert((m.run.0, m.request.url.as_str(), body), m.id);
    }
    let keep: HashSet<ExchangeId> = last_attempt.into_values().collect();
    let selected: Vec<RawMeta> = metas.iter().filter(|m| keep.contains(&m.id)).cloned().collect();
    if selected.is_empty() {
        return Err(ReparseError::NothingToReparse { pipeline: pipeline.name.clone() });
    }
    Ok(selected)
}

/// Refuse a connector whose name differs from the one that fetched the exchanges, unless forced.
pub fn check_connector(
    pipeline: &Pipeline,
    exchanges: &[RawMeta],
    new: &LoadedConnector,
    o: &ReparseOptions,
) -> Result<(), ReparseError> {
    let given = &new.manifest().name;
    match exchanges.iter().find(|m| &m.connector.name != given) {
        Some(other) if !o.force => Err(ReparseError::OtherConnector {
            pipeline: pipeline.name.clone(),
            stored: other.connector.name.clone(),
            given: given.clone(),
            path: o.connector.clone(),
        }),
        _ => Ok(()),
    }
}

/// `--out`, which must be empty, or the first free `out/<pipeline>/reparse-N`.
pub fn output_folder(home: &Home, pipeline: &Pipeline, out: Option<&Path>) -> Result<PathBuf, ReparseError> {
    let is_used = |p: &Path| p.read_dir().is_ok_and(|mut d| d.next().is_some());
    if let Some(dir) = out {
        return if is_used(dir) { Err(ReparseError::OutputExists(dir.to_path_buf())) } else { Ok(dir.to_path_buf()) };
    }
    let base = home.output(&pipeline.name);
    Ok((1..).map(|n| base.join(format!("reparse-{n}"))).find(|p| !is_used(p)).expect("some number is free"))
}
