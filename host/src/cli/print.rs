//! Human-readable output.

use apiary_host::model::{ConnectorIdentity, Manifest};
use apiary_host::store::{DeadLetter, LetterOrigin, RunOutcome, RunRecord};
use apiary_host::sync::SyncReport;

/// Print a connector's manifest.
pub fn manifest(identity: &ConnectorIdentity, m: &Manifest) {
    println!("{} {} (API version {})", m.name, m.version, m.api_version);
    println!("  component  {}", identity.digest);
    println!("  base URL   {}", m.base_url);
    if !m.allowed_hosts.is_empty() {
        println!("  also hosts {}", m.allowed_hosts.join(", "));
    }
    println!("  auth       {}", m.auth);
    println!(
        "  retry      {} attempts, {} ms base, doubling, capped at {} ms{}",
        m.retry.max_attempts,
        m.retry.base_ms,
        m.retry.max_ms,
        if m.retry.retry_statuses.is_empty() {
            String::new()
        } else {
            format!(", also on {:?}", m.retry.retry_statuses)
        }
    );
    for b in &m.buckets {
        println!(
            "  bucket     {}: {} requests per {} s, burst {}",
            b.name,
            b.requests,
            b.per_ms as f64 / 1000.0,
            b.burst
        );
    }
    println!("  endpoints");
    for e in &m.endpoints {
        println!(
            "    {:<12} {} {}  buckets: {}  key: {}{}",
            e.name,
            e.method,
            e.path,
            if e.buckets.is_empty() { "-".to_string() } else { e.buckets.join("+") },
            if e.primary_key.is_empty() { "-".to_string() } else { e.primary_key.join(",") },
            e.cursor_field.as_ref().map(|c| format!("  cursor: {c}")).unwrap_or_default()
        );
    }
    for e in m.endpoints.iter().filter(|e| e.schema.is_some()) {
        println!("  declared schema of {}:", e.name);
        let text = e.schema.as_deref().unwrap_or_default();
        let pretty = serde_json::from_str::<serde_json::Value>(text).and_then(|v| serde_json::to_string_pretty(&v));
        for line in pretty.as_deref().unwrap_or(text).lines() {
            println!("    {line}");
        }
    }
}

/// Print the one-screen summary of a sync to `to` (stdout, or stderr when stdout carries
/// Singer messages).
pub fn sync_report(report: &SyncReport, to: &mut dyn std::io::Write) {
    macro_rules! say {
        ($($arg:tt)*) => {
            let _ = writeln!(to, $($arg)*);
        };
    }
    let run = &report.run;
    say!(
        "run {} of {}: {} in {:.2} s  (connector {} {}, API {})",
        run.id,
        run.pipeline,
        outcome(&run.outcome),
        report.elapsed.as_secs_f64(),
        run.connector.name,
        run.connector.version,
        run.connector.api_version
    );
    say!(
        "  {:<14} {:>8} {:>8} {:>6} {:>11} {:>11} {:>9} {:>12}",
        "stream",
        "requests",
        "retries",
        "429s",
        "retry wait",
        "limit wait",
        "records",
        "dead letters"
    );
    for (stream, s) in &report.streams {
        say!(
            "  {:<14} {:>8} {:>8} {:>6} {:>10.1}s {:>10.1}s {:>9} {:>12}",
            stream,
            s.requests,
            s.retries,
            s.throttled,
            s.waited_ms as f64 / 1000.0,
            s.rate_waited_ms as f64 / 1000.0,
            s.records,
            s.dead_letters
        );
    }
    let c = &run.counts;
    let rate = c.records as f64 / report.elapsed.as_secs_f64().max(1e-9);
    say!(
        "  raw: {} exchanges stored, {} received, {} on disk;  {:.0} records/s",
        c.exchanges,
        bytes(c.raw_bytes),
        bytes(c.stored_bytes),
        rate
    );
    say!("  database: {}", report.database.display());
    for (stream, path) in &report.outputs {
        say!("  output {stream}: {path}");
    }
    for warning in &report.warnings {
        say!("warning: {warning}");
    }
    for (endpoint, notice) in &report.deprecations {
        say!(
            "warning: {} API {} deprecates endpoint `{endpoint}`: {} (see `apiary deprecations`)",
            run.connector.name,
            run.connector.api_version,
            notice.describe()
        );
    }
    for (stream, drift) in &report.schema_drift {
        say!(
            "warning: stream `{stream}` drifted from its schema (see `apiary schema show {} --stream {stream}`; `apiary schema accept` takes the new one):",
            run.pipeline
        );
        for change in &drift.changes {
            say!("  {change}");
        }
    }
    if !report.rate_limit_resources.is_empty() {
        let learned: Vec<String> = report.rate_limit_resources.iter().map(|(e, r)| format!("{e} -> {r}")).collect();
        say!("  rate limits named by the API: {} (a used-up limit pauses only its own endpoints)", learned.join(", "));
    }
}

/// Print dead letters as a table.
pub fn dead_letters(letters: &[DeadLetter]) {
    if letters.is_empty() {
        println!("no dead letters");
        return;
    }
    println!(
        "{:>5}  {:<16} {:<14} {:<7} {:>4} {:>5}  {:<11} {}",
        "id", "pipeline", "stream", "stage", "run", "tries", "state", "error"
    );
    for l in letters {
        let state = match (l.resolved_by, l.origin) {
            (Some(run), _) => format!("fixed by {run}"),
            (None, LetterOrigin::Reparse) => "reparse".to_string(),
            (None, LetterOrigin::Live) => "open".to_string(),
        };
        println!(
            "{:>5}  {:<16} {:<14} {:<7} {:>4} {:>5}  {:<11} {}",
            l.id.0,
            l.pipeline,
            l.stream,
            l.stage.to_string(),
            l.run.0,
            l.attempts,
            state,
            truncate(&l.error, 90)
        );
    }
}

/// Print one dead letter in full.
pub fn dead_letter(l: &DeadLetter) {
    println!(
        "dead letter {} ({}, stage {})",
        l.id,
        l.resolved_by.map_or("open".to_string(), |r| format!("resolved by run {r}")),
        l.stage
    );
    println!("  pipeline   {}  stream {}  run {}", l.pipeline, l.stream, l.run);
    println!("  error      {}", l.error);
    println!("  attempts   {}", l.attempts);
    println!("  seen       first {}, last {}", when(l.first_seen_ms), when(l.last_seen_ms));
    println!(
        "  connector  {} {} (API {}, {})",
        l.connector.name, l.connector.version, l.connector.api_version, l.connector.digest
    );
    if let Some(r) = &l.request {
        println!("  request    {} {}", r.method, r.url);
    }
    if let Some(x) = l.exchange {
        println!("  raw        exchange {x} (apiary raw show {x})");
    }
    if let Some(p) = &l.payload {
        println!("  payload    {p}");
    }
}

/// Print what a replay did to `to`.
pub fn replay_report(r: &apiary_host::sync::ReplayReport, to: &mut dyn std::io::Write) {
    sync_report(&r.sync, to);
    let _ = writeln!(
        to,
        "replayed {} dead letter(s): {} resolved, {} still open",
        r.replayed,
        r.resolved.len(),
        r.unresolved.len()
    );
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    format!("{}...", text.chars().take(max).collect::<String>())
}

/// Print the run history.
pub fn runs(runs: &[RunRecord]) {
    println!(
        "{:>5}  {:<8} {:<20} {:<22} {:<12} {:>8} {:>8} {:>6}  {}",
        "run", "kind", "pipeline", "connector", "api", "requests", "records", "dead", "outcome"
    );
    for r in runs {
        println!(
            "{:>5}  {:<8} {:<20} {:<22} {:<12} {:>8} {:>8} {:>6}  {}",
            r.id.0,
            r.kind.to_string(),
            r.pipeline,
            format!("{} {}", r.connector.name, r.connector.version),
            r.connector.api_version,
            r.counts.requests,
            r.counts.records,
            r.counts.dead_letters,
            outcome(&r.outcome)
        );
    }
}

pub fn outcome(o: &RunOutcome) -> String {
    match o {
        RunOutcome::Running => "running (or killed)".into(),
        RunOutcome::Succeeded => "succeeded".into(),
        RunOutcome::Failed(e) => format!("failed: {e}"),
        RunOutcome::Interrupted(why) => format!("interrupted: {why}"),
    }
}

/// A time in ms since the epoch, for people: `Sat, 28 Nov 2026 08:11:25 GMT`.
pub fn when(ms: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// A byte count for people: 1.2 MB.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
