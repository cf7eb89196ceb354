//! Who may talk to `serve`. It binds loopback by default; any other address needs
//! `--token-file` (mode 600), and then every request for data (`/api/...`, `/metrics`) needs
//! `Authorization: Bearer <token>`. The dashboard's own files hold no data and are served
//! without it (a browser cannot add the header to a page load; the page adds it to its calls).
//! On loopback the `Host` header must name loopback (a page on another site that rebinds its
//! name to 127.0.0.1 is refused), and a POST from another origin is refused.

use std::net::SocketAddr;
use std::path::Path;

use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

use crate::secrets::{SecretError, read_secret_file};

/// The shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The access settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A non-loopback address without a token.
    #[error(
        "--listen {0} is not a loopback address: give --token-file FILE (mode 600) so every request needs a bearer token, or listen on 127.0.0.1"
    )]
    NeedsToken(SocketAddr),
    /// The token file could not be read or is readable by others.
    #[error("--token-file: {0}")]
    Token(#[from] SecretError),
    /// The token is too short to be a secret.
    #[error(
        "--token-file {path}: the token has {chars} characters; use at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 32`)"
    )]
    WeakToken { path: String, chars: usize },
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No or another bearer token (401).
    #[error("this apiary serve needs `Authorization: Bearer <token>` (the token in its --token-file)")]
    Token,
    /// A `Host` that is not loopback on a loopback listener (403).
    #[error("Host {0:?} is not this loopback server: open it as http://127.0.0.1:PORT")]
    Host(String),
    /// A POST from a page of another origin (403).
    #[error("a request from origin {0:?} may not change anything here")]
    Origin(String),
}

/// The access rules of one `serve` process.
#[derive(Debug, Clone)]
pub struct Access {
    token_digest: Option<[u8; 32]>,
    loopback: bool,
}

impl Access {
    /// The rules for listening on `listen` with the token in `token_file`, if any.
    pub fn new(listen: SocketAddr, token_file: Option<&Path>) -> Result<Access, AccessError> {
        let loopback = listen.ip().is_loopback();
        let token = match token_file {
            Some(path) => Some(read_token(path)?),
            None if loopback => None,
            None => return Err(AccessError::NeedsToken(listen)),
        };
        Ok(Access { token_digest: token.map(|t| digest(&t)), loopback })
    }

    /// Check one request; `public` is true for the dashboard's own files.
    pub fn check(&self, method: &Method, headers: &HeaderMap, public: bool) -> Result<(), Denied> {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let host = text(header::HOST);
        if self.loopback && !is_loopback_host(&host) {
            return Err(Denied::Host(host));
        }
        let origin = text(header::ORIGIN);
        if *method != Method::GET && !origin.is_empty() && origin.split_once("://").map(|(_, h)| h) != Some(&host) {
            return Err(Denied::Origin(origin));
        }
        match &self.token_digest {
            Some(expected) if !public => {
                let given = text(header::AUTHORIZATION);
                let token = given.strip_prefix("Bearer ").ok_or(Denied::Token)?;
                // Comparing digests: the time taken says nothing about the token's bytes.
                (digest(token.trim()) == *expected).then_some(()).ok_or(Denied::Token)
            }
            _ => Ok(()),
        }
    }
}

fn read_token(path: &Path) -> Result<String, AccessError> {
    let token = read_secret_file("--token-file", path)?.trim().to_string();
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(AccessError::WeakToken { path: path.display().to_string(), chars });
    }
    Ok(token)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `127.0.0.1:9464`, `localhost`, `[::1]:9464`: a host header naming loopback.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), v.parse().unwrap())).collect()
    }

    fn token_file(dir: &Path, token: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join("token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn elsewhere_than_loopback_needs_a_private_strong_token() {
        let dir = tempfile::tempdir().unwrap();
        let any: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        assert!(Access::new(any, None).unwrap_err().to_string().contains("--token-file"));
        let open = token_file(dir.path(), "0123456789abcdef0123", 0o644);
        assert!(Access::new(any, Some(&open)).unwrap_err().to_string().contains("chmod 600"));
        let weak = token_file(dir.path(), "short", 0o600);
        assert!(Access::new(any, Some(&weak)).unwrap_err().to_string().contains("at least 16"));
        let good = token_file(dir.path(), "0123456789abcdef0123", 0o600);
        let access = Access::new(any, Some(&good)).unwrap();
        let get = Method::GET;
        let host = (header::HOST, "10.1.2.3:9464");
        assert_eq!(access.check(&get, &headers(std::slice::from_ref(&host)), false), Err(Denied::Token));
        let wrong = (header::AUTHORIZATION, "Bearer 0123456789abcdef0124");
        assert_eq!(access.check(&get, &headers(&[host.clone(), wrong]), false), Err(Denied::Token));
        let right = (header::AUTHORIZATION, "Bearer 0123456789abcdef0123");
        assert_eq!(access.check(&get, &headers(&[host.clone(), right]), false), Ok(()));
        assert_eq!(access.check(&get, &headers(&[host]), true), Ok(()), "the page itself holds no data");
    }

    #[test]
    fn on_loopback_foreign_hosts_and_cross_origin_posts_are_refused() {
        let access = Access::new("127.0.0.1:9464".parse().unwrap(), None).unwrap();
        let (get, post) = (Method::GET, Method::POST);
        for host in ["127.0.0.1:9464", "localhost:9464", "[::1]:9464"] {
            assert_eq!(access.check(&get, &headers(&[(header::HOST, host)]), false), Ok(()), "{host}");
        }
        let rebound = headers(&[(header::HOST, "evil.example:9464")]);
        assert!(matches!(access.check(&get, &rebound, true), Err(Denied::Host(_))));
        let same = headers(&[(header::HOST, "127.0.0.1:9464"), (header::ORIGIN, "http://127.0.0.1:9464")]);
        assert_eq!(access.check(&post, &same, false), Ok(()));
        let cross = headers(&[(header::HOST, "127.0.0.1:9464"), (header::ORIGIN, "http://evil.example")]);
        assert!(matches!(access.check(&post, &cross, false), Err(Denied::Origin(_))));
    }
}
