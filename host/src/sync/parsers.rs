//! The run's parser threads: every page a sync fetches is parsed in the connector on one of a
//! few long-lived threads, one per core but one, instead of on tokio's blocking pool.
//!
//! Why not `spawn_blocking`: the blocking pool also runs the raw bodies' compression and the
//! store's reads, so consecutive parses land on whichever of its threads is free. On the same
//! threads every time, a `Link` chain's sync took 2-12% less time (figure 8 by hand, three
//! interleaved batches; README). Why one core left: the run's other work (fetching, checking
//! records, committing) needs one; on 2 cores, one parser thread synced figure 8 6-14% faster
//! than two (README).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use super::SyncError;
use crate::model::{Exchange, Page, ParseError};
use crate::runtime::{CallError, LoadedConnector};

/// A parse to run on a parser thread.
type Job = Box<dyn FnOnce() + Send>;

/// What a connector's `parse` gave: its page or error, or why the call failed.
pub type Parsed = Result<Result<Page, ParseError>, CallError>;

/// The parser threads of one run; they end when this is dropped.
pub struct Parsers {
    jobs: Sender<Job>,
}

impl Parsers {
    /// Start the parser threads for this machine: one per core but one, at least one.
    pub fn for_this_machine() -> Parsers {
        Parsers::start(crate::machine::cores() - 1)
    }

    /// Start `threads` parser threads (at least one).
    pub fn start(threads: usize) -> Parsers {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("apiary-parse-{n}"))
                .spawn(move || work(&queue))
                .expect("spawning a parser thread");
        }
        Parsers { jobs }
    }

    /// Parse `exchange` with `connector` on a parser thread.
    pub async fn parse(&self, connector: LoadedConnector, exchange: Arc<Exchange>) -> Result<Parsed, SyncError> {
        let (done, parsed) = tokio::sync::oneshot::channel();
        let job = Box::new(move || {
            let _ = done.send(connector.parse(&exchange));
        });
        self.jobs.send(job).map_err(|_| SyncError::Internal("the parser threads have stopped".into()))?;
        parsed.await.map_err(|_| SyncError::Internal("a parse panicked in the host".into()))
    }
}

/// A parser thread: run jobs until the run's [`Parsers`] is dropped. A job that panics (a host
/// bug: the guest's own traps are errors) fails its page, not the thread.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue.lock().expect("parser queue lock").recv();
        let Ok(job) = next else { return };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_the_named_threads_and_a_panic_keeps_the_thread() {
        let parsers = Parsers::start(1);
        let (tx, rx) = std::sync::mpsc::channel();
        parsers.jobs.send(Box::new(|| panic!("a host bug"))).unwrap();
        parsers.jobs.send(Box::new(move || tx.send(std::thread::current().name().map(String::from)).unwrap())).unwrap();
        assert_eq!(rx.recv().unwrap().as_deref(), Some("apiary-parse-0"), "the same thread after the panic");
    }
}
