//! Metrics from commit events and from the store, rendered as Prometheus text.

use std::sync::Arc;

use super::*;
use crate::fetch::BucketLevel;
use crate::model::ConnectorIdentity;
use crate::progress::{Committed, Observer};
use crate::store::{Counts, LetterOrigin, NewDeadLetter, RunContext, RunId, Stage, Store};

/// The value of the sample `line_start` (name and labels as rendered).
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

#[test]
fn commits_add_to_their_streams_counters_and_bucket_gauges() {
    let metrics = Arc::new(Metrics::new());
    let observer = RunObserver::new(metrics.clone(), "gh");
    let counts = Counts { requests: 3, retries: 1, throttled: 1, waited_ms: 1500, records: 20, ..Counts::default() };
    let buckets = [BucketLevel { bucket: "core".into(), tokens: 4, burst: 10 }];
    let commit = Committed { stream: "issues", counts: &counts, letters: &[Stage::Fetch], buckets: &buckets };
    observer.on_commit(&commit);
    observer.on_commit(&commit);
    let text = metrics.render();
    let issues = "{pipeline=\"gh\",stream=\"issues\"}";
    assert_eq!(sample(&text, &format!("apiary_requests_total{issues}")), Some(6.0), "{text}");
    assert_eq!(sample(&text, &format!("apiary_throttled_total{issues}")), Some(2.0));
    assert_eq!(sample(&text, &format!("apiary_retry_wait_seconds_total{issues}")), Some(3.0));
    assert_eq!(sample(&text, &format!("apiary_records_total{issues}")), Some(40.0));
    let fetch = "{pipeline=\"gh\",stream=\"issues\",stage=\"fetch\"}";
    assert_eq!(sample(&text, &format!("apiary_dead_letters_added_total{fetch}")), Some(2.0));
    assert_eq!(sample(&text, "apiary_bucket_tokens{pipeline=\"gh\",bucket=\"core\"}"), Some(4.0));
    assert_eq!(metrics.bucket_levels(), vec![("gh".to_string(), buckets[0].clone())]);
    assert_eq!(sample(&text, "apiary_rate_limit_wait_seconds_total"), None, "nothing waited: no series");
}

#[test]
fn store_gauges_count_open_letters_by_stage_and_follow_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("apiary.redb")).unwrap();
    let identity = ConnectorIdentity { name: "github".into(), ..ConnectorIdentity::default() };
    let run = store.begin_run(crate::store::RunKind::Sync, "gh", &identity, &["issues".into()]).unwrap();
    let context = RunContext { run: run.id, pipeline: "gh".into(), connector: identity };
    let letters = vec![
        NewDeadLetter::new("issues", Stage::Fetch, "HTTP 500", 3),
        NewDeadLetter::new("issues", Stage::Fetch, "HTTP 502", 3),
        NewDeadLetter::new("issues", Stage::Record, "no id", 1),
    ];
    store.add_dead_letters(&context, LetterOrigin::Live, letters).unwrap();
    store.finish_run(run.id, crate::store::RunOutcome::Succeeded).unwrap();
    let metrics = Metrics::new();
    metrics.refresh_from_store(&store, &["gh".into()]).unwrap();
    let text = metrics.render();
    let open = |stage: &str| {
        sample(&text, &format!("apiary_dead_letters_open{{pipeline=\"gh\",stream=\"issues\",stage=\"{stage}\"}}"))
    };
    assert_eq!((open("fetch"), open("record")), (Some(2.0), Some(1.0)), "{text}");
    let ended = store.run(run.id).unwrap().finished_at_ms.unwrap() / 1000;
    assert_eq!(sample(&text, "apiary_last_success_timestamp_seconds{pipeline=\"gh\"}"), Some(ended as f64));

    let ids: Vec<_> = store.dead_letters(|l| l.stage == Stage::Record).unwrap().iter().map(|l| l.id).collect();
    store.resolve_dead_letters(&ids, RunId(run.id.0)).unwrap();
    metrics.refresh_from_store(&store, &["gh".into()]).unwrap();
    let text = metrics.render();
    assert!(!text.contains("stage=\"record\"}"), "a resolved letter's series is gone: {text}");
}
