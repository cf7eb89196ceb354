//! Coordination across workers, through one Redis that every worker of a team shares
//! (`[coordination] redis`): rate budgets drawn by every worker of a credential
//! ([`SharedBudget`]) and pipeline leases with fencing tokens under `apiary serve` ([`Leases`]).
//!
//! Redis's own clock (`TIME`, read inside Lua scripts) decides every draw and every lease, so
//! the workers' clocks never matter. Nothing secret reaches Redis: a credential is known there
//! by a hash ([`CredentialId`]), and the Redis URL (which may hold a password) never reaches a
//! message.
//!
//! | module | owns |
//! | --- | --- |
//! | `link` | the connection (reconnects on its own) and its one-line errors |
//! | `scripts` | the Lua scripts: GCRA draw, shared pause, lease acquire/renew/release |
//! | `budget` | drawing tokens from a bucket every worker of a credential shares |
//! | `lease` | at most one worker runs a pipeline; fencing tokens for its writes |
//! | `credential` | a credential's public name: a hash of the secrets auth sends |

mod budget;
mod credential;
mod lease;
mod link;
mod scripts;

pub use budget::{Draw, SharedBudget};
pub use credential::CredentialId;
pub use lease::{Fence, Lease, Leases, WorkerId};
pub use link::{CoordError, RedisLink};

use crate::config::CoordinationConfig;
use crate::secrets::Secrets;

/// The Redis a pipeline coordinates through: cheap to clone, connected on first use.
#[derive(Clone)]
pub struct Coordinator {
    link: RedisLink,
    config: CoordinationConfig,
}

impl Coordinator {
    /// The coordinator `config` names; its URL may be one of `secrets`. Connects lazily: an
    /// unreachable Redis shows at the first draw, which then waits for it.
    pub fn new(config: &CoordinationConfig, secrets: &Secrets) -> Result<Coordinator, CoordError> {
        let url = secrets.url(&config.redis, "[coordination] redis").map_err(CoordError::Config)?;
        Ok(Coordinator { link: RedisLink::open(&url)?, config: config.clone() })
    }

    /// The connection, for budgets and leases.
    pub fn link(&self) -> &RedisLink {
        &self.link
    }

    /// The settings it was made from.
    pub fn config(&self) -> &CoordinationConfig {
        &self.config
    }
}
