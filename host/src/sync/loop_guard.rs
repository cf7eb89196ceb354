//! The loop guard's memory: a key for each request a stream sent in this run, so a page that
//! links back to an earlier one ends the chain (as a `policy` dead letter) instead of looping.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::shared::Shared;
use crate::model::{Method, Request};

/// What makes two requests the same for the loop guard (method, absolute URL, body), as a
/// digest: a run remembers every request it sent, and 16 bytes a request keep that memory
/// small however long the URLs (a 10,000-page sync kept about 2 MiB of URLs before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoopKey([u8; 16]);

impl LoopKey {
    /// The key of `method`, the absolute `url` and `body`; each part length-prefixed, so no
    /// two different requests feed the digest the same bytes.
    fn of(method: Method, url: &str, body: Option<&[u8]>) -> LoopKey {
        let mut digest = Sha256::new();
        for part in [Some(method.as_str().as_bytes()), Some(url.as_bytes()), body] {
            match part {
                Some(bytes) => {
                    digest.update((bytes.len() as u64 + 1).to_le_bytes());
                    digest.update(bytes);
                }
                None => digest.update(0u64.to_le_bytes()),
            }
        }
        let mut key = [0; 16];
        key.copy_from_slice(&digest.finalize()[..16]);
        LoopKey(key)
    }
}

/// The loop-guard key of `request`, its URL resolved against the run's base URL.
pub fn loop_key(shared: &Shared, request: &Request) -> LoopKey {
    let target = shared.fetcher.target();
    let url = target.resolve(&request.url).map_or_else(|_| request.url.clone(), String::from);
    LoopKey::of(request.method, &url, request.body.as_deref())
}

/// The requests each stream of a run has sent, as [`LoopKey`]s.
#[derive(Default)]
pub struct LoopGuard {
    sent: Mutex<HashMap<String, HashSet<LoopKey>>>,
}

impl LoopGuard {
    /// Remember that `stream` sends `key`; `false` when it already did (a loop).
    pub fn first_time(&self, stream: &str, key: LoopKey) -> bool {
        let mut sent = self.sent.lock().expect("loop guard lock");
        match sent.get_mut(stream) {
            Some(keys) => keys.insert(key),
            None => {
                sent.insert(stream.to_string(), HashSet::from([key]));
                true
            }
        }
    }

    /// Whether `stream` already sent `key`.
    pub fn has_sent(&self, stream: &str, key: LoopKey) -> bool {
        self.sent.lock().expect("loop guard lock").get(stream).is_some_and(|keys| keys.contains(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_keys_tell_method_url_and_body_apart() {
        let key = |method, url, body: Option<&[u8]>| LoopKey::of(method, url, body);
        let page = key(Method::Get, "http://h/a?page=2", None);
        assert_eq!(page, key(Method::Get, "http://h/a?page=2", None));
        assert_ne!(page, key(Method::Get, "http://h/a?page=3", None));
        assert_ne!(page, key(Method::Post, "http://h/a?page=2", None));
        assert_ne!(page, key(Method::Get, "http://h/a?page=2", Some(b"")), "no body is not an empty body");
        assert_ne!(key(Method::Post, "http://h/a", Some(b"{}")), key(Method::Post, "http://h/a", Some(b"[]")));
        // Moving bytes between the URL and the body changes the key (the parts are length-prefixed).
        assert_ne!(key(Method::Post, "http://h/ab", Some(b"c")), key(Method::Post, "http://h/a", Some(b"bc")));
    }

    #[test]
    fn the_guard_remembers_each_streams_requests_apart() {
        let (guard, page) = (LoopGuard::default(), LoopKey::of(Method::Get, "http://h/a?page=2", None));
        assert!(!guard.has_sent("issues", page));
        assert!(guard.first_time("issues", page));
        assert!(guard.has_sent("issues", page) && !guard.first_time("issues", page), "the second time is a loop");
        assert!(!guard.has_sent("events", page) && guard.first_time("events", page), "another stream's memory");
    }
}
