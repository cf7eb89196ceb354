//! Redis servers on loopback with no persistence: one shared per test process, or owned by a
//! test that stops and restarts it.

use std::sync::OnceLock;

use apiary_testenv::REDIS;

use super::process::Launch;
use super::scratch::server_dir;
use super::server::{Server, port_open};

/// A `redis-server` process, killed when dropped.
pub struct Redis {
    server: Server,
}

/// The test process's shared Redis, started on first use. Tests that stop Redis start their own.
pub fn redis() -> &'static Redis {
    static SHARED: OnceLock<Redis> = OnceLock::new();
    SHARED.get_or_init(Redis::start)
}

impl Redis {
    /// Start a new Redis on a free loopback port and wait until it accepts connections.
    pub fn start() -> Redis {
        let program = REDIS.find().unwrap_or_else(|| panic!("{}", REDIS.missing_message()));
        let dir = server_dir("redis");
        let working_dir = dir.clone();
        let launch = move |port: u16| {
            let port = port.to_string();
            let args = ["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
            let mut launch = Launch::new(&program, &args);
            launch.args.extend(["--dir".into(), working_dir.clone().into_os_string()]);
            launch
        };
        Redis { server: Server::start("redis-server", dir, Box::new(launch), Box::new(port_open)) }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port())
    }

    /// The loopback port (the same across restarts).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Kill the server: clients see connections refused. Its data is gone (no persistence).
    pub fn stop(&mut self) {
        self.server.stop();
    }

    /// Start it again, empty, on the same port, and wait until it accepts connections.
    pub fn restart(&mut self) {
        self.server.restart();
    }
}
