//! `apiary-mock`: the mock API server, on loopback. Prints `listening on http://127.0.0.1:PORT`
//! on its first line of stdout, then serves until killed.

use std::path::PathBuf;

use apiary_e2e::{MockConfig, serve};
use clap::Parser;

/// The mock API server for apiary's tests and demo (loopback only).
#[derive(Debug, Parser)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A folder of octokit fixture files to replay.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Pages in the generated collection (`/repos/{owner}/generated/issues`).
    #[arg(long, default_value_t = 20)]
    pages: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(
        listener,
        MockConfig {
            fixtures: args.fixtures,
            pages: args.pages,
        },
    )
    .await
}
