//! One PostgreSQL 15 cluster per test process: `initdb` in a scratch folder, then `postgres -D`
//! as a direct child on a free loopback port (as the `postgres` user when the tests run as
//! root, since `initdb` refuses root). Tests isolate themselves by database.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use apiary_testenv::{POSTGRES, running_as_root};

use super::process::{DeathSignal, Launch};
use super::scratch::server_dir;
use super::server::Server;
use super::user::Account;

/// The role the tests connect as (a superuser).
const USER: &str = "apiary";

/// Its password: a fixed test value, so that a test can also try a wrong one.
const PASSWORD: &str = "apiary-test-password";

/// The shared PostgreSQL cluster.
pub struct Postgres {
    server: Server,
    bin: PathBuf,
}

/// The test process's PostgreSQL cluster, started on first use; it stops when the process exits.
pub fn postgres() -> &'static Postgres {
    static CLUSTER: OnceLock<Postgres> = OnceLock::new();
    CLUSTER.get_or_init(Postgres::start)
}

impl Postgres {
    fn start() -> Postgres {
        let bin = POSTGRES.find().unwrap_or_else(|| panic!("{}", POSTGRES.missing_message()));
        let bin = bin.parent().expect("postgres is in a bin folder").to_path_buf();
        let dir = server_dir("postgres");
        let account = server_account();
        if let Some(account) = account {
            account.take(&dir);
        }
        init_cluster(&bin, &dir, account);
        let data = dir.join("data");
        let (postgres, socket_dir) = (bin.join("postgres"), dir.clone());
        let launch = move |port: u16| {
            let mut launch = Launch::new(&postgres, &[]);
            launch.args = cluster_args(&data, &socket_dir, port);
            launch.user = account;
            launch.death_signal = DeathSignal::Quit;
            launch
        };
        let is_ready = pg_isready(&bin);
        let server = Server::start("postgres", dir, Box::new(launch), Box::new(is_ready));
        Postgres { server, bin }
    }

    /// The loopback port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// A superuser URL of the `postgres` maintenance database (`postgres://apiary:...@127.0.0.1:P/postgres`).
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// Create the empty database `name` (lowercase letters, digits, `_`; unique per test) and
    /// return its URL, with the test superuser's credentials.
    pub fn create_database(&self, name: &str) -> String {
        assert!(valid_database_name(name), "database name {name:?}: use 1-63 lowercase letters, digits and `_`");
        let output = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port().to_string(), "-U", USER, name])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("running createdb");
        assert!(
            output.status.success(),
            "createdb {name} failed (is the name already used by another test?): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        self.database_url(name)
    }

    fn database_url(&self, database: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}", self.port())
    }
}

/// The `postgres` account when running as root; the current user otherwise.
fn server_account() -> Option<Account> {
    if !running_as_root() {
        return None;
    }
    let account = Account::lookup("postgres")
        .unwrap_or_else(|| panic!("running as root needs the `postgres` account: {}", POSTGRES.missing_message()));
    Some(account)
}

/// `initdb` into `<dir>/data` with the test superuser, password auth over TCP, no fsync.
fn init_cluster(bin: &Path, dir: &Path, account: Option<Account>) {
    let password_file = dir.join("password");
    std::fs::write(&password_file, PASSWORD).expect("write the password file");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb.arg("-D").arg(dir.join("data")).arg(format!("--pwfile={}", password_file.display()));
    initdb.args(["-U", USER, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"]);
    initdb.args(["--no-sync", "--no-instructions"]).stdin(Stdio::null());
    if let Some(account) = account {
        use std::os::unix::process::CommandExt;
        initdb.uid(account.uid).gid(account.gid);
    }
    let output = initdb.output().expect("running initdb");
    assert!(
        output.status.success(),
        "initdb in {} failed: {}{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The server's arguments: loopback only, the socket in the scratch folder, durability off
/// (a test cluster is thrown away), enough connections for parallel tests.
fn cluster_args(data: &Path, socket_dir: &Path, port: u16) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["-D".into(), data.into(), "-k".into(), socket_dir.into()];
    for setting in [
        format!("port={port}"),
        "listen_addresses=127.0.0.1".into(),
        "fsync=off".into(),
        "synchronous_commit=off".into(),
        "full_page_writes=off".into(),
        "max_connections=200".into(),
    ] {
        args.extend(["-c".into(), setting.into()]);
    }
    args
}

/// A readiness probe: `pg_isready` says the cluster accepts connections.
fn pg_isready(bin: &Path) -> impl Fn(u16) -> bool + Send + Sync + 'static {
    let program = bin.join("pg_isready");
    move |port| {
        Command::new(&program)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", USER, "-d", "postgres"])
            .status()
            .is_ok_and(|status| status.success())
    }
}

fn valid_database_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_plain_identifiers() {
        assert!(valid_database_name("sink_test_1"));
        for bad in ["", "1abc", "Upper", "has-dash", "semi;colon", &"x".repeat(64)] {
            assert!(!valid_database_name(bad), "{bad:?}");
        }
    }
}
