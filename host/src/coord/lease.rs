//! Pipeline leases: with coordination on, a pipeline runs on at most one worker at a time. A
//! lease lives in Redis with a TTL, renewed every third of it while the run goes on and given
//! back at the end; a worker that dies loses it when the TTL runs out. Each lease carries a
//! fencing token, one higher than the last: a destination that remembers the highest token it
//! has seen refuses the writes of a worker whose lease was taken over.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Coordinator;
use super::link::{CoordError, RedisLink};
use super::scripts::{ACQUIRE, RELEASE, RENEW};

/// This worker's name in leases: host, process id and a random part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerId(String);

impl WorkerId {
    /// A name for this process, unique among workers.
    pub fn generate() -> WorkerId {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host = host.trim();
        let random: u32 = rand::random();
        WorkerId(format!("{}-{}-{random:08x}", if host.is_empty() { "worker" } else { host }, std::process::id()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fencing token of a lease on a pipeline: writes carrying an older token than the
/// destination has seen for the pipeline are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The pipeline.
    pub pipeline: String,
    /// The token: higher for every new lease of the pipeline.
    pub token: u64,
}

/// The leases of one worker.
#[derive(Clone)]
pub struct Leases {
    link: RedisLink,
    worker: WorkerId,
    ttl: Duration,
}

impl Leases {
    /// Leases for `worker` through `coordinator`'s Redis, with its TTL.
    pub fn new(coordinator: &Coordinator, worker: WorkerId) -> Leases {
        Leases { link: coordinator.link().clone(), worker, ttl: coordinator.config().lease_ttl.duration() }
    }

    /// Take `pipeline`'s lease if no worker holds it; `None` when one does. The lease is
    /// renewed in the background until released or lost.
    pub async fn acquire(&self, pipeline: &str) -> Result<Option<Lease>, CoordError> {
        let (key, counter) = (format!("apiary:lease:{pipeline}"), format!("apiary:fence:{pipeline}"));
        let ttl_ms = self.ttl.as_millis() as u64;
        let token: u64 = self.link.eval(&ACQUIRE, &[&key, &counter], &[&self.worker.as_str(), &ttl_ms]).await?;
        if token == 0 {
            return Ok(None);
        }
        let holder = format!("{}#{token}", self.worker.as_str());
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew(self.link.clone(), key.clone(), holder.clone(), self.ttl, lost.clone()));
        let fence = Fence { pipeline: pipeline.to_string(), token };
        Ok(Some(Lease { link: self.link.clone(), key, holder, fence, lost, renewer }))
    }

    /// When `pipeline`'s latest scheduled run started on any worker (ms since the epoch).
    pub async fn last_start(&self, pipeline: &str) -> Result<Option<u64>, CoordError> {
        self.link.query(redis::cmd("GET").arg(format!("apiary:started:{pipeline}"))).await
    }

    /// Record that `pipeline`'s scheduled run starts at `at_ms` (call while holding its lease).
    pub async fn record_start(&self, pipeline: &str, at_ms: u64) -> Result<(), CoordError> {
        self.link.query(redis::cmd("SET").arg(format!("apiary:started:{pipeline}")).arg(at_ms)).await
    }
}

/// A held lease.
pub struct Lease {
    link: RedisLink,
    key: String,
    holder: String,
    fence: Fence,
    lost: CancellationToken,
    renewer: JoinHandle<()>,
}

impl Lease {
    /// The lease's fencing token, for the destination.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// Cancelled when the lease is lost (taken over, or not renewable within its TTL): the
    /// run must stop writing.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Give the lease back (if it is still this worker's).
    pub async fn release(self) {
        self.renewer.abort();
        if let Err(e) = self.link.eval::<i64>(&RELEASE, &[&self.key], &[&self.holder.as_str()]).await {
            tracing::warn!("{e}: the lease of {} is given up when its TTL runs out", self.fence.pipeline);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Renew every third of `ttl`; cancel `lost` when the lease is someone else's, or when no
/// renewal got through for a whole TTL (another worker may hold it by now).
async fn renew(link: RedisLink, key: String, holder: String, ttl: Duration, lost: CancellationToken) {
    let ttl_ms = ttl.as_millis() as u64;
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(ttl / 3).await;
        match link.eval::<i64>(&RENEW, &[&key], &[&holder.as_str(), &ttl_ms]).await {
            Ok(1) => renewed = Instant::now(),
            Ok(_) => {
                tracing::warn!("lease {key} was taken over by another worker: this run stops writing");
                lost.cancel();
                return;
            }
            Err(e) if renewed.elapsed() >= ttl => {
                tracing::warn!("{e}: lease {key} could not be renewed within its TTL: this run stops writing");
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!("{e}: renewing lease {key} again shortly"),
        }
    }
}
