//! Running `apiary serve` as a real process for end-to-end tests: its address from the line it
//! prints when ready, requests to it, signals, and waiting for a state with a deadline.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{binary, test_cache};
use crate::spawn::http_request;

/// How long a test waits for `serve` to reach a state before failing.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A running `apiary serve`, killed when dropped.
pub struct ServeProcess {
    child: Child,
    base_url: String,
}

impl ServeProcess {
    /// Start `apiary --home HOME serve --dir DIR --listen 127.0.0.1:0 ARGS...` with `env`, and
    /// wait until it listens.
    pub fn start(home: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<ServeProcess> {
        let cache = test_cache();
        let mut command = Command::new(binary("apiary"));
        command
            .arg("--home")
            .arg(home)
            .args(["serve", "--dir"])
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("APIARY_CACHE_DIR", cache.join("components"))
            .env("XDG_CONFIG_HOME", cache.join("config"))
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
        let Some(base_url) = line.trim().strip_prefix("listening on ") else {
            let status = child.wait()?;
            anyhow::bail!("apiary serve did not start ({status}): {line:?}");
        };
        Ok(ServeProcess { base_url: base_url.to_string(), child })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A request with extra headers: status and body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let (status, body) = http_request(&self.base_url, method, path, headers).expect("request to apiary serve");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// `GET path` as JSON (the status must be 200).
    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", path, &[]);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// `POST path`: status and body.
    pub fn post(&self, path: &str) -> (u16, String) {
        self.request("POST", path, &[])
    }

    /// Send `signal` (`TERM`, `HUP`, ...) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {}", self.pid());
    }

    /// SIGTERM, then wait for the exit (at most [`PATIENCE`]).
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for apiary serve") {
                return status;
            }
            assert!(Instant::now() < deadline, "apiary serve did not exit within {PATIENCE:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until `GET path` answers JSON that `ready` accepts; returns that JSON.
    pub fn wait_for(&self, path: &str, what: &str, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        wait_until(what, || Some(self.json(path)).filter(|v| ready(v)))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `check` until it gives a value, at most [`PATIENCE`]; `what` names the awaited state.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what} after {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The value of the Prometheus sample `name{labels}` (labels as rendered, in order).
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' ')?.trim().parse().ok())
}
