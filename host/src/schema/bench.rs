//! A micro benchmark of what schemas cost per record, on GitHub-issue-like records of about
//! 1.5 KB. Ignored by default; run it optimised (the host crate is not, in the dev profile):
//!
//! ```text
//! cargo test -p apiary-host --lib --config 'profile.dev.package.apiary-host.opt-level=3' \
//!     schema::bench -- --ignored --nocapture
//! ```

use std::hint::black_box;
use std::time::Instant;

use serde_json::value::RawValue;

use super::{DeclaredSchema, SchemaObserver, StreamSchema};

const RECORDS: usize = 1_000;
const ROUNDS: usize = 25;

/// Record `n`: nested user, two labels, escapes in the title and body, a float and nulls.
fn issue(n: usize) -> String {
    let body = r#"I'm having a problem with this.\n\nSteps:\n1. run \"sync\" with `--resume`\n2. see the caf\u00e9 \\ error\n\n```\nthread 'main' panicked at src/main.rs:10:5\n```\nExpected: every record exactly once. Actual: the second page is fetched twice and the third one never; the log says \"retrying in 2 s\" and then nothing.\n\nThanks!"#;
    format!(
        r#"{{"url":"https://api.github.com/repos/octo/hello/issues/{n}","repository_url":"https://api.github.com/repos/octo/hello","labels_url":"https://api.github.com/repos/octo/hello/issues/{n}/labels{{/name}}","comments_url":"https://api.github.com/repos/octo/hello/issues/{n}/comments","events_url":"https://api.github.com/repos/octo/hello/issues/{n}/events","html_url":"https://github.com/octo/hello/issues/{n}","id":{id},"node_id":"I_kwDO{n:08}","number":{n},"title":"Found a bug \"{n}\" in the parser","user":{{"login":"user{u}","id":{u},"node_id":"MDQ6VXNlcj{u}","avatar_url":"https://avatars.githubusercontent.com/u/{u}?v=4","type":"User","site_admin":false}},"labels":[{{"id":208045946,"name":"bug","color":"f29513","default":true}},{{"id":208045947,"name":"help wanted","color":"008672","default":false,"description":"Extra attention is needed"}}],"state":"open","locked":false,"assignee":null,"assignees":[],"milestone":null,"comments":{c},"created_at":"2011-04-22T13:33:48Z","updated_at":"2011-04-22T13:33:48Z","closed_at":null,"author_association":"COLLABORATOR","active_lock_reason":null,"state_reason":null,"score":1.5,"reactions":{{"total_count":3,"+1":2,"-1":0,"laugh":1}},"body":"{body}"}}"#,
        id = 1_000_000 + n,
        u = 100 + n % 50,
        c = n % 17,
    )
}

/// The fastest of [`ROUNDS`] passes over `records`, in ns per record.
fn ns_per_record(records: &[String], mut each: impl FnMut(&str) -> bool) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let (wall, cpu) = (Instant::now(), cpu_ns());
        let ok = records.iter().filter(|r| each(black_box(r.as_str()))).count();
        let spent = match (cpu, cpu_ns()) {
            (Some(before), Some(after)) => after - before,
            _ => wall.elapsed().as_nanos() as u64,
        };
        best = best.min(spent as f64 / records.len() as f64);
        assert_eq!(ok, records.len(), "every record passes");
    }
    best
}

/// The time this thread has spent on a CPU, in ns, so that time other processes take on a busy
/// machine does not count.
fn cpu_ns() -> Option<u64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, which `now` is, and keeps no pointer to it.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (status == 0).then(|| now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

#[test]
#[ignore = "a benchmark: run it optimised with --ignored --nocapture"]
fn schema_cost_per_record() {
    let records: Vec<String> = (0..RECORDS).map(issue).collect();
    let bytes = records.iter().map(String::len).sum::<usize>() / RECORDS;
    let baseline = StreamSchema::infer(records.iter().map(String::as_str)).unwrap();
    let declared = DeclaredSchema::compile("issues", &baseline.to_json_schema().to_string()).unwrap();

    let raw = ns_per_record(&records, |r| serde_json::from_str::<&RawValue>(r).is_ok());
    let mut observer = SchemaObserver::new(None);
    let infer = ns_per_record(&records, |r| observer.observe(r, None).is_ok());
    let mut checker = SchemaObserver::new(Some(&baseline));
    let check = ns_per_record(&records, |r| checker.observe(r, Some("1")).is_ok_and(<[_]>::is_empty));
    let validate = ns_per_record(&records, |r| declared.validate(r).is_ok());
    let parse = ns_per_record(&records, |r| serde_json::from_str::<serde_json::Value>(r).is_ok());

    assert_eq!(observer.finish().schema.records(), (RECORDS * ROUNDS) as u64);
    assert!(checker.finish().drift.is_empty(), "the records do not drift from their own schema");
    println!(
        "schema cost on {RECORDS} GitHub-issue-like records of {bytes} bytes (best of {ROUNDS} rounds, thread CPU time):"
    );
    let line = |what: &str, ns: f64| println!("  {what:<44} {ns:>7.0} ns/record {:>10.0} records/s", 1e9 / ns);
    line("(a) RawValue validation (today)", raw);
    line("(b) validate + infer (no baseline)", infer);
    line("(c) validate + infer + drift check (baseline)", check);
    line("(d) declared JSON Schema validation", validate);
    line("    of which parsing to a serde_json::Value", parse);
    println!("  added by (b): {:.0} ns/record, by (c): {:.0} ns/record", infer - raw, check - raw);
}
