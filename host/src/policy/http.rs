//! HTTP settings of a run: timeouts, the largest body accepted, redirects followed.

use std::time::Duration;

use crate::config::HttpOverrides;

/// How requests are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
    /// Redirects followed per request; each hop is checked against the allowed hosts.
    pub max_redirects: u32,
    /// Whether a `Link` chain's next page is sent while the page naming it is parsed
    /// (`sync/send_ahead/`).
    pub send_ahead: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_body_bytes: 64 << 20,
            max_redirects: 5,
            send_ahead: true,
        }
    }
}

impl HttpSettings {
    /// The defaults with a pipeline's `[http]` in place.
    pub fn with_overrides(o: &HttpOverrides) -> HttpSettings {
        let d = HttpSettings::default();
        HttpSettings {
            connect_timeout: o.connect_timeout_ms.map_or(d.connect_timeout, |ms| Duration::from_millis(ms.get())),
            timeout: o.timeout_ms.map_or(d.timeout, |ms| Duration::from_millis(ms.get())),
            max_body_bytes: o.max_body_mib.map_or(d.max_body_bytes, |m| m.get_usize() << 20),
            max_redirects: o.max_redirects.map_or(d.max_redirects, |n| n.get_u32()),
            send_ahead: o.send_ahead.unwrap_or(d.send_ahead),
        }
    }
}
