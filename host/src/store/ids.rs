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
