//! A server process on a loopback port: started and waited for, stopped, and started again
//! on the same port (tests stop a server mid-run and bring it back).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::process::{Launch, spawn};
use super::scratch::log_tail;

/// Makes the launch of a server listening on the given port.
pub(crate) type LaunchOn = Box<dyn Fn(u16) -> Launch + Send + Sync>;

/// Whether the server on the given port is ready for clients.
pub(crate) type ReadyOn = Box<dyn Fn(u16) -> bool + Send + Sync>;

/// How long a server may take to become ready (moto imports for a few seconds; 2 busy cores).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Fresh ports tried when a server exits at once (another process took the port meanwhile).
const PORT_ATTEMPTS: usize = 3;

/// A running (or stopped) server; dropping it kills it and removes its folder.
pub(crate) struct Server {
    name: &'static str,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    launch: LaunchOn,
    ready: ReadyOn,
    child: Option<Child>,
}

/// Why a start failed.
enum StartFailure {
    Spawn(std::io::Error),
    Exited(ExitStatus),
    TimedOut,
}

impl Server {
    /// Start `name` on a free loopback port and wait until `ready`; panics naming the server
    /// and its log (`<dir>/<name>.log`) when it cannot start.
    pub(crate) fn start(name: &'static str, dir: PathBuf, launch: LaunchOn, ready: ReadyOn) -> Server {
        let log = dir.join(format!("{name}.log"));
        let mut server = Server { name, port: 0, dir, log, launch, ready, child: None };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            match server.try_start() {
                Ok(child) => {
                    server.child = Some(child);
                    return server;
                }
                Err(StartFailure::Exited(_)) if attempt < PORT_ATTEMPTS => continue,
                Err(failure) => panic!("{}", server.explain(failure)),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The loopback port it listens on (the same across restarts).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill the server and wait for it to exit: clients see connections refused.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop it if it runs, then start it again on the same port and wait until it is ready.
    pub(crate) fn restart(&mut self) {
        self.stop();
        match self.try_start() {
            Ok(child) => self.child = Some(child),
            Err(failure) => panic!("{} (restarting on the same port)", self.explain(failure)),
        }
    }

    fn try_start(&self) -> Result<Child, StartFailure> {
        let mut child = spawn((self.launch)(self.port), &self.log).map_err(StartFailure::Spawn)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartFailure::Exited(status));
            }
            if (self.ready)(self.port) {
                return Ok(child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartFailure::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn explain(&self, failure: StartFailure) -> String {
        let what = match failure {
            StartFailure::Spawn(e) => format!("could not be started: {e}"),
            StartFailure::Exited(status) => format!("exited ({status}) before it was ready"),
            StartFailure::TimedOut => format!("was not ready within {START_TIMEOUT:?}"),
        };
        format!(
            "{} on 127.0.0.1:{} {what}; the end of its log {}:\n{}",
            self.name,
            self.port,
            self.log.display(),
            log_tail(&self.log, 20)
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Whether something accepts TCP connections on the loopback port.
pub(crate) fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_millis(250)).is_ok()
}
