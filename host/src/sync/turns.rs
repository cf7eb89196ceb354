//! The order of one stream's commits. A sync follows an accepted page's `next` before the page
//! is committed (its records are checked while the next page is fetched and parsed), so a
//! follow-up could finish before the page that found it. Each outcome takes a [`Turn`] the moment
//! it is decided and queues its commit only once every earlier turn of its stream has queued
//! theirs: a request's completion never reaches the store before the one that added the
//! request to the frontier.

use std::sync::Mutex;

use tokio::sync::oneshot;

/// The turns of one stream, handed out in the order they are taken.
#[derive(Debug, Default)]
pub struct Turns {
    /// Closed when the last turn handed out is over.
    last: Mutex<Option<oneshot::Receiver<()>>>,
}

/// A place in its stream's commit order: over when dropped (a turn dropped before its wait is
/// over only once the turns before it are).
#[derive(Debug)]
pub struct Turn {
    /// Closed when the turn before this one is over.
    before: Option<oneshot::Receiver<()>>,
    /// Dropped when the turn is over, which lets the next one go.
    over: Option<oneshot::Sender<()>>,
}

impl Turns {
    /// The next turn, after every turn taken so far.
    pub fn take(&self) -> Turn {
        let (over, closed) = oneshot::channel();
        let before = self.last.lock().expect("turns lock").replace(closed);
        Turn { before, over: Some(over) }
    }
}

impl Turn {
    /// Wait until every earlier turn is over.
    pub async fn wait(&mut self) {
        if let Some(before) = self.before.as_mut() {
            // The sender is only ever dropped, never used: an error is the signal.
            let _ = before.await;
        }
        self.before = None;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (Some(before), Some(over)) = (self.before.take(), self.over.take()) else { return };
        // Not waited for (its commit failed or was abandoned): still over after the turns before.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = before.await;
                drop(over);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_turn_waits_for_every_earlier_turn_even_one_dropped_early() {
        let turns = Turns::default();
        let (mut first, second, mut third) = (turns.take(), turns.take(), turns.take());
        drop(second);
        tokio::task::yield_now().await;
        assert!(third.wait().now_or_never().is_none(), "the second dropped early is over only after the first");
        first.wait().await;
        drop(first);
        tokio::task::yield_now().await;
        assert!(third.wait().now_or_never().is_some(), "with the first over, the third goes");
        let mut fresh = Turns::default().take();
        assert!(fresh.wait().now_or_never().is_some(), "a first turn never waits");
    }
}
