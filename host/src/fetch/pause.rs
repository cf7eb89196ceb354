//! Pauses the API asks for: a 429 stops a bucket; a quota reported as used up stops either the
//! buckets of the endpoint or, when the API names the limit the quota belongs to
//! (`X-RateLimit-Resource`, the IETF `RateLimit` policy name), only the endpoints of that limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

/// A stop sign with an end: nothing passes before it.
#[derive(Debug, Default)]
pub struct Pause(Mutex<Option<Instant>>);

impl Pause {
    /// Stop until `until`; a later pause wins over an earlier one.
    pub fn extend_to(&self, until: Instant) {
        let mut paused = self.0.lock().expect("pause lock");
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Whether the pause is still on.
    pub fn is_active(&self) -> bool {
        self.0.lock().expect("pause lock").is_some_and(|until| until > Instant::now())
    }

    /// Wait until the pause is over (at once when there is none).
    pub async fn wait(&self) {
        loop {
            let paused = *self.0.lock().expect("pause lock");
            match paused.filter(|until| *until > Instant::now()) {
                Some(until) => tokio::time::sleep_until(until).await,
                None => return,
            }
        }
    }
}

/// The limits ("resources") endpoints were seen to count against, and their pauses.
#[derive(Debug, Default)]
pub struct Resources {
    of_endpoint: Mutex<BTreeMap<String, String>>,
    pauses: Mutex<HashMap<String, Arc<Pause>>>,
}

impl Resources {
    /// Remember that `endpoint` counts against `resource` (the latest answer wins).
    pub fn learn(&self, endpoint: &str, resource: &str) {
        self.of_endpoint.lock().expect("resources lock").insert(endpoint.to_string(), resource.to_string());
    }

    /// Pause every endpoint known to count against `resource` until `until`.
    pub fn pause(&self, resource: &str, until: Instant) {
        self.pause_of(resource).extend_to(until);
    }

    /// Wait out the pause of the resource `endpoint` counts against, if one is known.
    pub async fn wait(&self, endpoint: &str) {
        let resource = self.of_endpoint.lock().expect("resources lock").get(endpoint).cloned();
        if let Some(resource) = resource {
            self.pause_of(&resource).wait().await;
        }
    }

    /// What was learned: endpoint -> resource.
    pub fn learned(&self) -> BTreeMap<String, String> {
        self.of_endpoint.lock().expect("resources lock").clone()
    }

    fn pause_of(&self, resource: &str) -> Arc<Pause> {
        self.pauses.lock().expect("pauses lock").entry(resource.to_string()).or_default().clone()
    }
}
