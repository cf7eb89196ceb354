//! Starting the mock as a real server process, for tests and the demo.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::Stats;

/// A running `apiary-mock` process, killed when dropped.
pub struct MockProcess {
    child: Child,
    base_url: String,
}

impl MockProcess {
    /// Start the mock binary at `binary` with `args` and wait until it listens.
    pub fn start(binary: &Path, args: &[&str]) -> anyhow::Result<MockProcess> {
        let mut child = Command::new(binary).args(args).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow::anyhow!("the mock did not start: {line:?}"))?
            .to_string();
        Ok(MockProcess { child, base_url })
    }

    /// The server's process id (the benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The mock's request counts.
    pub fn stats(&self) -> anyhow::Result<Stats> {
        let body = http_get(&self.base_url, "/__mock/stats")?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// Stop the server now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minimal HTTP/1.0 GET on loopback, returning the body.
fn http_get(base_url: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    Ok(http_request(base_url, "GET", path, &[])?.1)
}

/// A minimal HTTP/1.0 request on loopback with extra headers (`Host` is the server's unless
/// given); returns the status and the body.
pub fn http_request(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let authority = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority)?;
    let mut head = format!("{method} {path} HTTP/1.0\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(stream, "{head}Content-Length: 0\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow::anyhow!("no HTTP body"))?;
    let status_line = String::from_utf8_lossy(&response[..split]).lines().next().unwrap_or_default().to_string();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or_else(|| anyhow::anyhow!("no HTTP status in {status_line:?}"))?;
    Ok((status, response[split + 4..].to_vec()))
}
