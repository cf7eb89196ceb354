//! Resource usage of a measured child, taken cleanly. Linux counts in a process's peak RSS the
//! pages of the process it was forked from, up to its `exec`: a child started by this benchmark
//! after the in-process figures (which hold parsed pages in memory) would report the
//! benchmark's own size. So each measured command is started by a fresh, small
//! `apiary-bench --measure` process, which waits for it and writes its usage to a file.
//!
//! The peak RSS also counts the pages of the program's own file that are mapped in, and how
//! many are depends on the page cache (a binary just built or copied has more mapped around
//! each fault): the same run measured 30 MiB or 35 MiB. So the wrapper also samples the
//! child's anonymous memory (`RssAnon`, what it allocated), which does not depend on that.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The first argument that makes `apiary-bench` a measuring wrapper:
/// `apiary-bench --measure USAGE-FILE PROGRAM [ARGS...]`.
pub const FLAG: &str = "--measure";

/// What a command used: peak RSS and peak anonymous memory in KiB, user + system CPU seconds.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
    /// User + system CPU seconds.
    pub cpu_secs: f64,
    /// Peak anonymous resident memory (`RssAnon`, sampled every [`SAMPLE`]), KiB.
    pub peak_anon_kib: u64,
}

/// How often the wrapper samples the child's anonymous memory.
const SAMPLE: Duration = Duration::from_millis(2);

/// `command`, to be started through the wrapper writing its usage to `usage_file`: the same
/// program, arguments, environment and folder.
pub fn wrapped(command: &Command, usage_file: &Path) -> Result<Command> {
    let mut wrapper = Command::new(std::env::current_exe()?);
    wrapper.arg(FLAG).arg(usage_file).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapper.current_dir(dir);
    }
    Ok(wrapper)
}

/// User + system CPU seconds process `pid` has used so far (`/proc/PID/stat`, clock ticks).
pub fn process_cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("process {pid}"))?;
    // Fields after the command name (which may hold spaces, so split after its `)`): utime and
    // stime are the 12th and 13th.
    let after_name = stat.rsplit_once(')').context("a /proc stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> { Ok(fields.get(i).context("a /proc stat field")?.parse::<f64>()?) };
    // SAFETY: a plain libc query without arguments.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(11)? + ticks(12)?) / per_second)
}

/// The usage the wrapper wrote to `usage_file`.
pub fn read(usage_file: &Path) -> Result<Usage> {
    let text = std::fs::read_to_string(usage_file).context("the measuring wrapper's usage file")?;
    let mut fields = text.split_whitespace();
    let mut next = || fields.next().context("a short usage file");
    Ok(Usage { peak_rss_kib: next()?.parse()?, cpu_secs: next()?.parse()?, peak_anon_kib: next()?.parse()? })
}

/// The wrapper's side (`args` after [`FLAG`]): run the program with stdin, stdout and stderr
/// inherited, write its usage, and fail when it failed.
pub fn run_wrapper(args: &[OsString]) -> Result<()> {
    let [usage_file, program, rest @ ..] = args else {
        bail!("usage: apiary-bench {FLAG} USAGE-FILE PROGRAM [ARGS...]")
    };
    let child = Command::new(program).args(rest).spawn().with_context(|| format!("starting {program:?}"))?;
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (running, pid) = (running.clone(), child.id());
        std::thread::spawn(move || peak_anon_kib(pid, &running))
    };
    let (ok, usage) = wait_with_rusage(child.id() as i32)?;
    running.store(false, Ordering::Relaxed);
    let anon = sampler.join().unwrap_or(0);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_secs = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    std::fs::write(usage_file, format!("{} {cpu_secs} {anon}\n", usage.ru_maxrss))?;
    if !ok {
        bail!("{program:?} failed");
    }
    Ok(())
}

/// The largest `RssAnon` of process `pid` seen while `running`, KiB.
fn peak_anon_kib(pid: u32, running: &AtomicBool) -> u64 {
    let status = format!("/proc/{pid}/status");
    let mut peak = 0;
    while running.load(Ordering::Relaxed) {
        let anon = std::fs::read_to_string(&status).ok().and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("RssAnon:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak = peak.max(anon.unwrap_or(0));
        std::thread::sleep(SAMPLE);
    }
    peak
}

/// Wait for a child and read its resource usage (Linux reports the peak RSS in KiB).
fn wait_with_rusage(pid: i32) -> Result<(bool, libc::rusage)> {
    let mut status = 0;
    // SAFETY: plain libc call on a child of ours; `usage` is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        bail!("wait4 failed");
    }
    Ok((libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, usage))
}
