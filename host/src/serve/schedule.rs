//! Schedule arithmetic, pure: when each pipeline is due, and which due jobs start now within
//! the concurrency cap. No clock is read here; the scheduler passes the time in.
//!
//! A missed slot runs once: a pipeline is due at the first slot after its last start, so after
//! downtime the one overdue slot runs at once and the next is counted from that start, never
//! once per missed slot.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Trigger;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A sync (resuming an interrupted run first, as `apiary run` does).
    Sync,
    /// A replay of the pipeline's open dead letters.
    Replay,
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JobKind::Sync => "sync",
            JobKind::Replay => "replay",
        })
    }
}

/// Why a job starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// Someone asked for it through the API.
    Requested,
    /// An interrupted run waits to be resumed.
    Resume,
    /// Its schedule made it due.
    Schedule,
}

/// What the scheduler knows of one pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// What starts it.
    pub trigger: Trigger,
    /// When its latest sync started (ms since the epoch), from the store or this process.
    pub last_started_ms: Option<u64>,
    /// An interrupted run waits to be resumed: due at once.
    pub resume_pending: bool,
    /// A job asked for through the API, started as soon as a slot is free.
    pub requested: Option<JobKind>,
    /// The job running now.
    pub running: Option<JobKind>,
}

impl Slot {
    /// A slot for `trigger` with the pipeline's history.
    pub fn new(trigger: Trigger, last_started_ms: Option<u64>, resume_pending: bool) -> Slot {
        Slot { trigger, last_started_ms, resume_pending, requested: None, running: None }
    }

    /// When its schedule next makes it due (ms since the epoch); `None` for on-demand
    /// pipelines. `watching_since_ms` stands in for the last start of a pipeline that never
    /// ran: `every` is due at once, a cron pattern at its next slot.
    pub fn next_due_ms(&self, watching_since_ms: u64) -> Option<u64> {
        match &self.trigger {
            Trigger::OnDemand => None,
            Trigger::Every(every) => {
                let every_ms = every.duration().as_millis() as u64;
                Some(self.last_started_ms.map_or(watching_since_ms, |last| last.saturating_add(every_ms)))
            }
            Trigger::Cron(cron) => cron.next_after(self.last_started_ms.unwrap_or(watching_since_ms)),
        }
    }

    /// The job to start now and since when it has been due, if any: a requested job first,
    /// then the resumption of an interrupted run, then the schedule. Nothing while a job runs.
    pub fn due(&self, now_ms: u64, watching_since_ms: u64) -> Option<(JobKind, u64)> {
        if self.running.is_some() {
            return None;
        }
        if let Some(kind) = self.requested {
            return Some((kind, 0));
        }
        if self.resume_pending {
            return Some((JobKind::Sync, 0));
        }
        self.next_due_ms(watching_since_ms).filter(|due| *due <= now_ms).map(|due| (JobKind::Sync, due))
    }

    /// Why the job [`Slot::due`] returns would start (ask before [`Slot::start`]).
    pub fn cause(&self) -> Cause {
        if self.requested.is_some() {
            Cause::Requested
        } else if self.resume_pending {
            Cause::Resume
        } else {
            Cause::Schedule
        }
    }

    /// Whether a scheduled sync started at `started_ms` (on any worker) covers the slot due
    /// now: the schedule counted from that start is not due yet.
    pub fn covered_by(&self, started_ms: u64, now_ms: u64) -> bool {
        let counted_from_it = Slot { last_started_ms: Some(started_ms), ..self.clone() };
        counted_from_it.next_due_ms(started_ms).is_some_and(|due| due > now_ms)
    }

    /// Record that `kind` starts at `now_ms`.
    pub fn start(&mut self, kind: JobKind, now_ms: u64) {
        self.running = Some(kind);
        self.requested = None;
        if kind == JobKind::Sync {
            self.last_started_ms = Some(now_ms);
            self.resume_pending = false;
        }
    }
}

/// The jobs to start now: at most `free` of them, the longest due first (requests and
/// resumptions before scheduled runs), each pipeline at most once.
pub fn due_jobs(
    slots: &BTreeMap<String, Slot>,
    now_ms: u64,
    watching_since_ms: u64,
    free: usize,
) -> Vec<(String, JobKind)> {
    let mut due: Vec<(u64, &String, JobKind)> = slots
        .iter()
        .filter_map(|(name, slot)| slot.due(now_ms, watching_since_ms).map(|(kind, since)| (since, name, kind)))
        .collect();
    due.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    due.into_iter().take(free).map(|(_, name, kind)| (name.clone(), kind)).collect()
}

/// When the scheduler must look again: the earliest due time after `now_ms` of a pipeline not
/// running. (Pipelines already due wait for a free slot: a finishing job wakes the scheduler.)
pub fn next_wake_ms(slots: &BTreeMap<String, Slot>, now_ms: u64, watching_since_ms: u64) -> Option<u64> {
    let future = |s: &Slot| s.next_due_ms(watching_since_ms).filter(|due| *due > now_ms);
    slots.values().filter(|s| s.running.is_none()).filter_map(future).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-02T10:07:00Z.
    const T: u64 = 1_772_446_020_000;
    const MINUTE: u64 = 60_000;

    fn slot(trigger: &str, last: Option<u64>) -> Slot {
        let trigger = match trigger {
            "" => Trigger::OnDemand,
            t if t.contains(' ') || t.starts_with('@') => Trigger::Cron(t.parse().unwrap()),
            t => Trigger::Every(t.parse().unwrap()),
        };
        Slot::new(trigger, last, false)
    }

    #[test]
    fn a_start_on_another_worker_covers_the_slot_until_the_next_is_due() {
        let every = slot("10m", None);
        assert!(every.covered_by(T - 4 * MINUTE, T), "started 4 minutes ago: the next is 6 minutes away");
        assert!(!every.covered_by(T - 11 * MINUTE, T), "started 11 minutes ago: due again");
        let mut requested = Slot { resume_pending: true, ..slot("10m", None) };
        assert_eq!(requested.cause(), Cause::Resume);
        requested.requested = Some(JobKind::Replay);
        assert_eq!(requested.cause(), Cause::Requested);
        assert_eq!(every.cause(), Cause::Schedule);
    }

    #[test]
    fn after_downtime_a_missed_cron_slot_runs_once_then_the_schedule_resumes() {
        let mut s = slot("*/15 * * * *", Some(T - 127 * MINUTE)); // last ran 08:00, eight slots missed
        assert_eq!(s.due(T, T), Some((JobKind::Sync, T - 112 * MINUTE)), "08:15 is overdue: due now");
        s.start(JobKind::Sync, T);
        s.running = None;
        assert_eq!(s.due(T + MINUTE, T), None, "the seven other missed slots do not run");
        assert_eq!(s.next_due_ms(T), Some(T + 8 * MINUTE), "next at 10:15");
    }

    #[test]
    fn every_counts_from_the_last_start_and_a_new_pipeline_runs_at_once() {
        let s = slot("15m", None);
        assert_eq!(s.due(T, T), Some((JobKind::Sync, T)), "never ran: due at once");
        let s = slot("15m", Some(T - 5 * MINUTE));
        assert_eq!(s.next_due_ms(T), Some(T + 10 * MINUTE));
        assert_eq!(s.due(T, T), None);
        let s = slot("*/15 * * * *", None);
        assert_eq!(s.next_due_ms(T), Some(T + 8 * MINUTE), "a cron pipeline waits for its first slot");
    }

    #[test]
    fn requests_and_resumes_go_first_and_nothing_runs_twice() {
        let mut s = slot("", None);
        assert_eq!(s.due(T, T), None, "on demand: never due by itself");
        s.requested = Some(JobKind::Replay);
        assert_eq!(s.due(T, T), Some((JobKind::Replay, 0)));
        s.start(JobKind::Replay, T);
        assert_eq!(s.last_started_ms, None, "a replay is not a scheduled start");
        s.requested = Some(JobKind::Sync);
        assert_eq!(s.due(T, T), None, "not while a job runs");
        let mut resumed = slot("*/15 * * * *", Some(T - MINUTE));
        resumed.resume_pending = true;
        assert_eq!(resumed.due(T, T), Some((JobKind::Sync, 0)), "an interrupted run resumes at once");
    }

    #[test]
    fn the_cap_starts_the_longest_due_first() {
        let slots = BTreeMap::from([
            ("a".to_string(), slot("15m", Some(T - 16 * MINUTE))),
            ("b".to_string(), slot("15m", Some(T - 40 * MINUTE))),
            ("c".to_string(), slot("15m", Some(T - 20 * MINUTE))),
            ("d".to_string(), slot("15m", Some(T - MINUTE))),
        ]);
        assert_eq!(due_jobs(&slots, T, T, 2), vec![("b".into(), JobKind::Sync), ("c".into(), JobKind::Sync)]);
        assert_eq!(due_jobs(&slots, T, T, 9).len(), 3, "d is not due");
        assert_eq!(next_wake_ms(&slots, T, T), Some(T + 14 * MINUTE), "d is the next to come due");
    }
}
