//! S3-compatible object storage for tests: moto's server from the test virtualenv on loopback.
//! moto keeps objects in memory, so the server records every request to a file and replays
//! the file after a restart: a test can stop it mid-sync and find its objects after the restart.

use std::sync::OnceLock;

use super::process::Launch;
use super::scratch::server_dir;
use super::server::{Server, port_open};
use super::venv::venv;
use crate::spawn::http_request;

/// An S3-compatible server (`moto_server`), killed when dropped.
pub struct S3 {
    server: Server,
}

/// The test process's shared S3 server, started on first use. Tests that stop it start their own.
pub fn s3() -> &'static S3 {
    static SHARED: OnceLock<S3> = OnceLock::new();
    SHARED.get_or_init(S3::start)
}

impl S3 {
    /// The access key id to sign with (moto accepts any).
    pub const ACCESS_KEY_ID: &'static str = "testing";
    /// The secret access key to sign with (moto accepts any).
    pub const SECRET_ACCESS_KEY: &'static str = "testing";
    /// The region to sign for.
    pub const REGION: &'static str = "us-east-1";

    /// Start a new server on a free loopback port and wait until it accepts connections.
    pub fn start() -> S3 {
        let program = venv().bin("moto_server");
        let dir = server_dir("s3");
        let recording = dir.join("recording.jsonl");
        let launch = move |port: u16| {
            let mut launch = Launch::new(&program, &["-H", "127.0.0.1", "-p", &port.to_string()]);
            launch.env.push(("MOTO_ENABLE_RECORDING".into(), "True".into()));
            launch.env.push(("MOTO_RECORDER_FILEPATH".into(), recording.clone().into()));
            launch
        };
        S3 { server: Server::start("moto_server", dir, Box::new(launch), Box::new(port_open)) }
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give an S3 client (path-style, plain HTTP).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Create the bucket `name` (an S3 bucket name: lowercase letters, digits, `-`).
    pub fn create_bucket(&self, name: &str) {
        let (status, body) = http_request(&self.endpoint(), "PUT", &format!("/{name}"), &[])
            .unwrap_or_else(|e| panic!("creating bucket {name} at {}: {e}", self.endpoint()));
        assert_eq!(status, 200, "creating bucket {name}: {}", String::from_utf8_lossy(&body));
    }

    /// Kill the server: clients see connections refused.
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Start it again on the same port and replay every request it had received, so its
    /// buckets and objects are back before this returns.
    pub fn restart(&mut self) {
        self.server.restart();
        let (status, body) = http_request(&self.endpoint(), "POST", "/moto-api/recorder/replay-recording", &[])
            .unwrap_or_else(|e| panic!("replaying moto's recording at {}: {e}", self.endpoint()));
        assert_eq!(status, 200, "replaying moto's recording: {}", String::from_utf8_lossy(&body));
    }
}
