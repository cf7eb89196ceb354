//! The scheduler loop on tokio's paused clock: hours of schedule in milliseconds of real time,
//! no real sleeping. Jobs are recorded with the (virtual) time they started and last a set
//! (virtual) time.

use super::*;
use crate::config::Trigger;
use crate::serve::clock::TokioWallClock;
use crate::serve::schedule::Cause;

/// 2026-03-02T10:07:00Z.
const T: u64 = 1_772_446_020_000;
const MINUTE: u64 = 60_000;

/// Records each job's pipeline, kind and start (minutes after `T`); each job lasts `minutes`.
struct Recorder {
    clock: TokioWallClock,
    minutes: u64,
    started: Mutex<Vec<(String, JobKind, u64)>>,
    running: Mutex<usize>,
    most_at_once: Mutex<usize>,
}

impl Launcher for Recorder {
    async fn launch(&self, pipeline: String, kind: JobKind, _cause: Cause) {
        let at = (self.clock.now_ms() - T) / MINUTE;
        self.started.lock().unwrap().push((pipeline, kind, at));
        let now_running = {
            let mut running = self.running.lock().unwrap();
            *running += 1;
            *running
        };
        {
            let mut most = self.most_at_once.lock().unwrap();
            *most = (*most).max(now_running);
        }
        tokio::time::sleep(Duration::from_millis(self.minutes * MINUTE)).await;
        *self.running.lock().unwrap() -= 1;
    }
}

fn trigger(text: &str) -> Trigger {
    match text {
        "" => Trigger::OnDemand,
        t if t.contains(' ') => Trigger::Cron(t.parse().unwrap()),
        t => Trigger::Every(t.parse().unwrap()),
    }
}

/// A scheduler at `T` over `slots` (name, trigger, last start), jobs lasting `minutes`.
fn scheduler(slots: &[(&str, &str, Option<u64>)], minutes: u64, cap: usize) -> Scheduler<Recorder> {
    let clock = TokioWallClock::starting_at(T);
    let slots = slots.iter().map(|(name, t, last)| (name.to_string(), Slot::new(trigger(t), *last, false))).collect();
    Scheduler {
        book: Arc::new(Mutex::new(Book { slots, watching_since_ms: T })),
        launcher: Arc::new(Recorder {
            clock,
            minutes,
            started: Mutex::default(),
            running: Mutex::default(),
            most_at_once: Mutex::default(),
        }),
        clock: Arc::new(clock),
        permits: Arc::new(Semaphore::new(cap)),
        wake: Arc::default(),
    }
}

/// Run the scheduler for `minutes` of virtual time; the jobs it started (pipeline, kind, minute).
async fn run_for(scheduler: &Scheduler<Recorder>, minutes: u64) -> Vec<(String, JobKind, u64)> {
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(minutes * MINUTE)).await;
        stopper.cancel();
    });
    let mut jobs = scheduler.run(stop).await;
    jobs.abort_all();
    scheduler.launcher.started.lock().unwrap().clone()
}

fn starts(log: &[(String, JobKind, u64)], name: &str) -> Vec<u64> {
    log.iter().filter(|(n, _, _)| n == name).map(|(_, _, at)| *at).collect()
}

#[tokio::test(start_paused = true)]
async fn every_runs_at_once_then_on_its_interval() {
    let s = scheduler(&[("a", "15m", None)], 1, 4);
    let log = run_for(&s, 46).await;
    assert_eq!(starts(&log, "a"), vec![0, 15, 30, 45]);
}

#[tokio::test(start_paused = true)]
async fn after_downtime_a_cron_pipeline_catches_up_once() {
    // Last run at 08:00; serve starts at 10:07 after eight missed slots.
    let s = scheduler(&[("a", "*/15 * * * *", Some(T - 127 * MINUTE))], 1, 4);
    let log = run_for(&s, 30).await;
    assert_eq!(starts(&log, "a"), vec![0, 8, 23], "once at start, then 10:15 and 10:30");
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_never_runs_twice_at_once() {
    // Every 15 minutes, but each run takes 40: the next starts when the last ends.
    let s = scheduler(&[("slow", "15m", None)], 40, 4);
    let log = run_for(&s, 100).await;
    assert_eq!(starts(&log, "slow"), vec![0, 40, 80]);
    assert_eq!(*s.launcher.most_at_once.lock().unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_cap_holds_and_waiting_jobs_start_when_a_slot_frees() {
    let s = scheduler(&[("a", "1h", None), ("b", "1h", None), ("c", "1h", None), ("d", "", None)], 10, 2);
    let log = run_for(&s, 25).await;
    assert_eq!(log.len(), 3, "d is on demand: {log:?}");
    assert_eq!(log.iter().map(|(_, _, at)| *at).collect::<Vec<_>>(), vec![0, 0, 10], "c waits for a free slot");
    assert_eq!(*s.launcher.most_at_once.lock().unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_request_wakes_the_scheduler_and_runs_an_on_demand_pipeline() {
    let s = Arc::new(scheduler(&[("d", "", None)], 1, 1));
    let (book, wake) = (s.book.clone(), s.wake.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(7 * MINUTE)).await;
        book.lock().unwrap().slots.get_mut("d").unwrap().requested = Some(JobKind::Replay);
        wake.notify_one();
    });
    let log = run_for(&s, 10).await;
    assert_eq!(log, vec![("d".to_string(), JobKind::Replay, 7)]);
}
