//! Newtypes for the ids of stored things.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A sync run.
    RunId
);
id_type!(
    /// A stored request/response exchange.
    ExchangeId
);
id_type!(
    /// A dead letter.
    DeadLetterId
);
id_type!(
    /// A request waiting in a pipeline's frontier.
    FrontierId
);

/// Ids handed out before their rows are written, so a pipelined sync can name an exchange and
/// the follow-up requests of a page before the commit that stores them. Only the one writer of
/// the file reserves ids; its commits record the highest used.
#[derive(Debug)]
pub struct Reservations {
    next_exchange: std::sync::atomic::AtomicU64,
    next_frontier: std::sync::atomic::AtomicU64,
}

impl Reservations {
    /// Reservations continuing after the highest ids stored.
    pub fn starting_at(next_exchange: u64, next_frontier: u64) -> Reservations {
        Reservations { next_exchange: next_exchange.into(), next_frontier: next_frontier.into() }
    }

    /// A new exchange id.
    pub fn exchange(&self) -> ExchangeId {
        ExchangeId(self.next_exchange.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// `n` consecutive frontier ids; the first.
    pub fn frontier(&self, n: u64) -> u64 {
        self.next_frontier.fetch_add(n, std::sync::atomic::Ordering::Relaxed)
    }
}
