//! 10. `apiary serve` idle: 50 pipelines scheduled far ahead, CPU time and resident memory of
//!    the process over a quiet minute, read from /proc.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::Paths;
use crate::figures::Table;

/// Pipelines served.
const PIPELINES: usize = 50;
/// How long the process is watched once settled.
const WINDOW: Duration = Duration::from_secs(60);

/// Serve 50 idle pipelines; measure CPU (% of one core) over [`WINDOW`] and resident memory.
pub fn serve_idle(paths: &Paths, table: &mut Table) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir(&pipelines)?;
    for i in 0..PIPELINES {
        let text = format!(
            "name = \"p{i}\"\nconnector = {:?}\nschedule = \"0 0 1 1 *\"\n\n[config]\nowner = \"o\"\nrepo = \"r\"\n",
            paths.github_wasm.display().to_string()
        );
        std::fs::write(pipelines.join(format!("p{i}.toml")), text)?;
    }
    let mut child = Command::new(paths.release.join("apiary"))
        .arg("--home")
        .arg(dir.path().join("home"))
        .args(["serve", "--dir", pipelines.to_str().context("utf-8 path")?, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting apiary serve")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    if !line.starts_with("listening on ") {
        bail!("apiary serve did not start: {line:?}");
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id();
    let (before, started) = (cpu_ticks(pid)?, Instant::now());
    std::thread::sleep(WINDOW);
    let ticks = cpu_ticks(pid)? - before;
    let rss_mib = rss_kib(pid)? as f64 / 1024.0;
    let _ = child.kill();
    let _ = child.wait();
    // SAFETY: sysconf only reads a constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu_percent = 100.0 * ticks as f64 / per_second / started.elapsed().as_secs_f64();
    table.add(
        "10. apiary serve, 50 idle pipelines: CPU, RSS",
        format!("{cpu_percent:.2}% of a core, {rss_mib:.0} MiB"),
        "1% of a core, 40 MiB".into(),
        (cpu_percent / 1.0).max(rss_mib / 40.0),
        "<= 1 (both)",
    );
    Ok(())
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').context("/proc stat format")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}
