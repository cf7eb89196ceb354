//! Server processes that die with the test process. Each is a direct child (never a daemon)
//! spawned by ONE long-lived keeper thread with `PR_SET_PDEATHSIG`: the kernel signals the
//! child when the thread that forked it exits, so forking from a test thread (which ends with
//! its test) would kill the server early; the keeper ends only with the process, on a normal
//! exit, a panic or a SIGKILL alike.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use super::user::Account;

/// The signal a server gets when the test process dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeathSignal {
    /// SIGKILL: for servers with nothing to clean up.
    Kill,
    /// SIGQUIT: PostgreSQL's immediate shutdown, which also stops its backends.
    Quit,
}

impl DeathSignal {
    fn number(self) -> libc::c_int {
        match self {
            DeathSignal::Kill => libc::SIGKILL,
            DeathSignal::Quit => libc::SIGQUIT,
        }
    }
}

/// How to start a server process.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// Run as this account instead of the test's (root) user.
    pub user: Option<Account>,
    /// What it gets when the test process dies.
    pub death_signal: DeathSignal,
}

impl Launch {
    /// A launch of `program` with `args`, killed with the test process.
    pub(crate) fn new(program: impl Into<PathBuf>, args: &[&str]) -> Launch {
        Launch {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            user: None,
            death_signal: DeathSignal::Kill,
        }
    }
}

type Job = (Launch, PathBuf, Sender<io::Result<Child>>);

/// Spawn `launch` from the keeper thread, its stdout and stderr appended to `log`.
pub(crate) fn spawn(launch: Launch, log: &Path) -> io::Result<Child> {
    static KEEPER: OnceLock<Sender<Job>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(start_keeper);
    let (reply, answer) = channel();
    keeper
        .send((launch, log.to_path_buf(), reply))
        .map_err(|_| io::Error::other("the server keeper thread is gone"))?;
    answer.recv().map_err(|_| io::Error::other("the server keeper thread is gone"))?
}

fn start_keeper() -> Sender<Job> {
    let (jobs, incoming) = channel::<Job>();
    std::thread::Builder::new()
        .name("apiary-services-keeper".into())
        .spawn(move || {
            // Never returns while KEEPER holds the sender: the thread lives as long as the process.
            for (launch, log, reply) in incoming {
                let _ = reply.send(spawn_here(&launch, &log));
            }
        })
        .expect("cannot start the server keeper thread");
    jobs
}

fn spawn_here(launch: &Launch, log: &Path) -> io::Result<Child> {
    let log = File::options().create(true).append(true).open(log)?;
    let mut command = Command::new(&launch.program);
    command.args(&launch.args).envs(launch.env.iter().cloned()).stdin(Stdio::null());
    command.stdout(log.try_clone()?).stderr(log);
    let (user, signal, parent) = (launch.user, launch.death_signal.number(), std::process::id());
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls (setgroups, setgid, setuid, prctl, getppid) on values copied in beforehand.
    unsafe {
        command.pre_exec(move || become_child_of(parent, user, signal));
    }
    command.spawn()
}

/// In the forked child: switch user first (a uid change clears the death signal), then ask for
/// `signal` when the parent dies, then check the parent did not die before that.
fn become_child_of(parent: u32, user: Option<Account>, signal: libc::c_int) -> io::Result<()> {
    let check = |result: libc::c_int| if result == -1 { Err(io::Error::last_os_error()) } else { Ok(()) };
    // SAFETY: plain system calls on integers; no memory is shared with the parent.
    unsafe {
        if let Some(account) = user {
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(account.gid))?;
            check(libc::setuid(account.uid))?;
        }
        check(libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0))?;
        if libc::getppid() as u32 != parent {
            return Err(io::Error::other("the test process exited while starting a server"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // That the death signal survives the user switch is checked end to end: the e2e test
    // `servers_die_with_a_test_process_killed_by_sigkill` kills a process whose PostgreSQL runs
    // as `postgres` and sees it die.
    #[test]
    fn a_server_runs_as_its_account_and_logs_to_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut launch = Launch::new("/bin/sh", &["-c", "id -u; id -G"]);
        let expected = if apiary_testenv::running_as_root() {
            let account = Account::lookup("postgres").expect("a postgres account (from postgresql-15)");
            launch.user = Some(account);
            format!("{}\n{}\n", account.uid, account.gid)
        } else {
            String::from_utf8(std::process::Command::new("sh").args(["-c", "id -u; id -G"]).output().unwrap().stdout)
                .unwrap()
        };
        launch.death_signal = DeathSignal::Quit;
        assert!(spawn(launch, &log).unwrap().wait().unwrap().success());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), expected, "uid, then only the primary group");
    }
}
