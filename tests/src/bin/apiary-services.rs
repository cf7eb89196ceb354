//! `apiary-services`: start the test services (PostgreSQL, Redis, the S3 server) the way the
//! tests do, print one line per service (`NAME PID URL STARTUP_SECONDS`), then `ready`, and keep
//! them until this process is killed (Ctrl-C): they die with it. For poking at the services by
//! hand (`psql URL`), and for the test that kills this process and checks its servers die too.

use std::io::Write;
use std::time::Instant;

use apiary_e2e::services::{postgres, redis, s3};

fn main() {
    let started = Instant::now();
    let cluster = postgres();
    report("postgres", cluster.pid(), &cluster.url(), started);
    let started = Instant::now();
    let redis = redis();
    report("redis", redis.pid(), &redis.url(), started);
    let started = Instant::now();
    let s3 = s3();
    report("s3", s3.pid(), &s3.endpoint(), started);
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    loop {
        std::thread::park();
    }
}

fn report(name: &str, pid: Option<u32>, url: &str, started: Instant) {
    let pid = pid.expect("a server just started has a pid");
    println!("{name} {pid} {url} {:.2}", started.elapsed().as_secs_f64());
}
