//! `apiary serve`: arguments, signals (SIGTERM/SIGINT stop, SIGHUP reloads), the ready line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use apiary_host::home::Home;
use apiary_host::serve::{self, Control, ServeOptions};
use tokio::signal::unix::{SignalKind, signal};

/// The arguments of `apiary serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLE)]
pub struct ServeArgs {
    /// The folder of pipeline files (*.toml); files are read again when they change or on SIGHUP.
    #[arg(long)]
    dir: PathBuf,
    /// Where the dashboard, /api and /metrics listen. Off loopback, --token-file is required.
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    /// Jobs (syncs and replays) run at once at most; a pipeline never runs twice at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_concurrent: u16,
    /// A file (mode 600) holding a token of at least 16 characters; every request for data
    /// then needs `Authorization: Bearer <token>`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// How often the folder is looked at for changed files, e.g. 2s, 1m.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration, hide = true)]
    rescan_every: std::time::Duration,
}

const EXAMPLE: &str = "\
Example: three pipeline files in pipelines/, each with its own schedule key:
  pipelines/issues.toml    schedule = \"*/15 * * * *\"    (cron, UTC)
  pipelines/charges.toml   every = \"1h\"                 (an hour after its last start)
  pipelines/orders.toml    (neither: runs when asked, from the dashboard or the API)

  apiary serve --dir pipelines/ --listen 127.0.0.1:9464 --max-concurrent 2

Then open http://127.0.0.1:9464/ ; Prometheus scrapes /metrics; JSON at /api/pipelines, /api/runs,
/api/dead-letters, /api/deprecations, /api/rate-limits; POST /api/pipelines/NAME/run or /replay.
A missed schedule runs once after downtime; an interrupted run is resumed first.
SIGTERM or SIGINT: runs commit their pages in flight and stay resumable; exit 0.";

/// Run `serve` until SIGTERM or SIGINT.
pub async fn serve(home: &Home, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let options = ServeOptions {
        dir: args.dir,
        listen: args.listen,
        max_concurrent: usize::from(args.max_concurrent),
        token_file: args.token_file,
        rescan_every: args.rescan_every,
    };
    let control = Control::default();
    listen_for_signals(&control)?;
    let runtime = super::runtime(home)?;
    serve::serve(options, home, runtime, control, |addr| {
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
    })
    .await
    .context("apiary serve")?;
    eprintln!("stopped: every run committed its pages and resumes at the next start");
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM/SIGINT cancel `control.shutdown` (a second one exits at once); SIGHUP notifies
/// `control.reload`.
fn listen_for_signals(control: &Control) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    let control = control.clone();
    tokio::spawn(async move {
        let mut stopping = false;
        loop {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
                _ = hup.recv() => {
                    control.reload.notify_one();
                    continue;
                }
            }
            if stopping {
                std::process::exit(i32::from(super::INTERRUPTED_EXIT));
            }
            stopping = true;
            eprintln!("stopping: finishing the pages in flight (signal again to exit at once)");
            control.shutdown.cancel();
        }
    });
    Ok(())
}
