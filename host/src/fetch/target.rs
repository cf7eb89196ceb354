//! Where requests may go: resolving a connector's URL against the base URL, and refusing hosts
//! the manifest did not declare, before any network activity.

use url::Url;

/// The base URL and the hosts requests may reach.
#[derive(Debug, Clone)]
pub struct Target {
    base: Url,
    allowed: Vec<(String, Option<u16>)>,
}

impl Target {
    /// Requests resolve against `base_url`; they may go to its host, to the manifest's own base
    /// URL host, and to `allowed_hosts` (`host` or `host:port`).
    pub fn new(base_url: &str, manifest_base_url: &str, allowed_hosts: &[String]) -> Result<Target, String> {
        let base = Url::parse(base_url).map_err(|e| format!("base URL {base_url:?} is not a URL: {e}"))?;
        let mut allowed = vec![host_port(&base)];
        if let Ok(manifest_base) = Url::parse(manifest_base_url) {
            allowed.push(host_port(&manifest_base));
        }
        for entry in allowed_hosts {
            allowed.push(match entry.rsplit_once(':') {
                Some((host, port)) if port.parse::<u16>().is_ok() => (host.to_ascii_lowercase(), port.parse().ok()),
                _ => (entry.to_ascii_lowercase(), None),
            });
        }
        Ok(Target { base, allowed })
    }

    /// The absolute URL for a connector's `url`, or why it may not be fetched.
    pub fn resolve(&self, url: &str) -> Result<Url, String> {
        let resolved = if url.starts_with('/') {
            let base = self.base.as_str().trim_end_matches('/');
            Url::parse(&format!("{base}{url}"))
        } else {
            Url::parse(url)
        }
        .map_err(|e| format!("request URL {url:?} is not a valid URL: {e}"))?;
        self.check(&resolved)?;
        Ok(resolved)
    }

    /// Whether `url` may be fetched: https (or http on loopback) to a declared host.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        let (host, port) = host_port(url);
        let loopback = is_loopback(&host);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!("refusing plain http to {host}: https is required except on loopback"));
            }
            other => {
                return Err(format!("refusing scheme {other:?}: only https (and http on loopback)"));
            }
        }
        let declared = self.allowed.iter().any(|(h, p)| *h == host && (p.is_none() || *p == port));
        if declared {
            Ok(())
        } else {
            Err(format!(
                "refusing request to undeclared host {host}{}: add it to the manifest's allowed-hosts",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ))
        }
    }
}

impl Target {
    /// Whether `url` is on the base URL's origin (scheme, host and port): only there do
    /// credentials go.
    pub fn is_base_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// The base URL requests resolve against.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// `url` relative to the base URL (`/path?query`) when it lies under it, as given otherwise:
    /// how requests are stored, so that a stored frontier or dead letter follows `--base-url`.
    pub fn relative(&self, url: &str) -> String {
        under(self.base.as_str(), url).unwrap_or_else(|| url.to_string())
    }

    /// `url` relative to the base URL a stored page was fetched under (`earlier`) when it lies
    /// under that one, else as [`Target::relative`] makes it: a page fetched before the base
    /// URL changed (a resume or replay with `--base-url`) links to the old one.
    pub fn relative_to_either(&self, url: &str, earlier: Option<&str>) -> String {
        earlier.and_then(|earlier| under(earlier, url)).unwrap_or_else(|| self.relative(url))
    }
}

/// `url` as `/path?query` relative to `base`, when it lies under it.
fn under(base: &str, url: &str) -> Option<String> {
    match url.strip_prefix(base.trim_end_matches('/'))? {
        "" => Some("/".to_string()),
        rest if rest.starts_with('/') => Some(rest.to_string()),
        _ => None,
    }
}

fn host_port(url: &Url) -> (String, Option<u16>) {
    (url.host_str().unwrap_or("").to_ascii_lowercase(), url.port_or_known_default())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::new("http://127.0.0.1:8080/api", "https://api.github.com", &["uploads.github.com".into()]).unwrap()
    }

    #[test]
    fn relative_urls_resolve_against_the_base_with_its_path() {
        let url = target().resolve("/repos/o/r/issues?per_page=3").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/api/repos/o/r/issues?per_page=3");
    }

    #[test]
    fn declared_hosts_pass_and_others_are_refused() {
        let t = target();
        assert!(t.resolve("http://127.0.0.1:8080/x").is_ok());
        assert!(t.resolve("https://api.github.com/x").is_ok());
        assert!(t.resolve("https://uploads.github.com/x").is_ok());
        let err = t.resolve("https://evil.example.com/x").unwrap_err();
        assert!(err.contains("undeclared host evil.example.com"), "{err}");
        assert!(t.resolve("http://127.0.0.1:9999/x").unwrap_err().contains("undeclared host 127.0.0.1:9999"));
    }

    #[test]
    fn urls_under_the_base_are_stored_relative() {
        let t = target();
        assert_eq!(t.relative("http://127.0.0.1:8080/api/repos/x?page=2"), "/repos/x?page=2");
        assert_eq!(t.relative("/repos/x"), "/repos/x");
        assert_eq!(t.relative("http://127.0.0.1:8080/apix/y"), "http://127.0.0.1:8080/apix/y");
        assert_eq!(t.relative("https://uploads.github.com/x"), "https://uploads.github.com/x");
        assert!(t.is_base_origin(&url::Url::parse("http://127.0.0.1:8080/other").unwrap()));
        assert!(!t.is_base_origin(&url::Url::parse("https://uploads.github.com/x").unwrap()));
        let old = Some("http://127.0.0.1:7000/api");
        assert_eq!(t.relative_to_either("http://127.0.0.1:7000/api/repos/x?page=3", old), "/repos/x?page=3");
        assert_eq!(t.relative_to_either("http://127.0.0.1:8080/api/repos/x", old), "/repos/x");
        assert_eq!(t.relative_to_either("https://uploads.github.com/x", old), "https://uploads.github.com/x");
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let t = Target::new("https://api.github.com", "https://api.github.com", &[]).unwrap();
        assert!(t.resolve("http://api.github.com/x").unwrap_err().contains("https is required"));
        assert!(t.resolve("ftp://api.github.com/x").unwrap_err().contains("scheme"));
        assert!(t.resolve("not a url").unwrap_err().contains("not a valid URL"));
    }
}
