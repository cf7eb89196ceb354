//! Reliable fetching against a misbehaving API: retries, Retry-After, per-endpoint rate limits,
//! the Retry-After cap and the pagination loop guard.

use std::collections::HashSet;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;
use apiary_host::store::{Stage, Store};

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// The github connector on the generated collections, with the given streams and extra TOML.
fn generated_pipeline(scratch: &Scratch, base_url: &str, streams: &[&str], extra: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "generated",
        connector: &wasm,
        base_url,
        streams,
        config: &[
            ("owner", "\"apiary-mock\""),
            ("repo", "\"generated\""),
            ("query", "\"is:open\""),
            ("per_page", "10"),
        ],
        extra,
    };
    scratch.write("generated.toml", spec.toml()).to_str().unwrap().to_string()
}

/// Fast retries so the test spends its time on the faults, not on backoff.
const QUICK_RETRIES: &str = "[retry]\nbase-ms = 10\nmax-ms = 100\n\n[http]\ntimeout-ms = 500\n";

#[test]
fn every_record_arrives_once_through_429s_5xx_resets_and_timeouts() {
    let mock = mock(&[
        "--pages",
        "30",
        "--fault-429",
        "0.1",
        "--retry-after",
        "1",
        "--fault-5xx",
        "0.1",
        "--fault-reset",
        "0.07",
        "--fault-slow",
        "0.05",
        "--slow-ms",
        "2000",
        "--seed",
        "4",
    ]);
    let scratch = Scratch::new();
    let pipeline = generated_pipeline(&scratch, mock.base_url(), &["issues"], QUICK_RETRIES);

    let ran = scratch.apiary(&["run", &pipeline, "--json"]);
    assert!(ran.success, "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let issues = &report["streams"]["issues"];

    let records = read_jsonl(&scratch.output("generated", "issues"));
    let ids: HashSet<u64> = records.iter().map(|r| r["number"].as_u64().unwrap()).collect();
    assert_eq!(records.len(), 300, "30 pages of 10");
    assert_eq!(ids, (1..=300).collect(), "each record exactly once");
    assert_eq!(issues["dead_letters"], 0);
    let stats = mock.stats().unwrap();
    assert!(stats.faults >= 5, "faults were injected: {}", stats.faults);
    assert!(issues["throttled"].as_u64().unwrap() >= 1, "429s are counted: {issues}");
    assert!(issues["retries"].as_u64().unwrap() >= stats.faults, "every fault was retried: {issues}");
    assert!(issues["waited_ms"].as_u64().unwrap() >= 1000, "Retry-After: 1 was honoured: {issues}");
}

#[test]
fn each_endpoint_gets_its_own_rate_and_the_api_sees_no_violation() {
    let mock = mock(&["--pages", "16", "--limit", "generated/issues=40/1000/2", "--limit", "search=8/1000/2"]);
    let scratch = Scratch::new();
    let buckets = "[buckets.core]\nrequests = 40\nper-ms = 1000\nburst = 1\nallow-raise = true\n\n\
                   [buckets.search]\nrequests = 8\nper-ms = 1000\nburst = 1\nallow-raise = true\n";
    let pipeline = generated_pipeline(&scratch, mock.base_url(), &["issues", "search_issues"], buckets);

    let ran = scratch.apiary(&["run", &pipeline]);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stdout.contains("raised above the connector's declaration"), "raising warns: {}", ran.stdout);
    assert_eq!(read_jsonl(&scratch.output("generated", "issues")).len(), 160);
    assert_eq!(read_jsonl(&scratch.output("generated", "search_issues")).len(), 160);

    let stats = mock.stats().unwrap();
    let (issues, search) = (&stats.limits["generated/issues"], &stats.limits["search"]);
    assert_eq!((issues.violations, search.violations), (0, 0), "no request over a limit: {stats:?}");
    assert_eq!((issues.requests, search.requests), (16, 16));
    assert!(search.rate() <= 8.0 * 1.1, "search held to its own 8/s: {:.1}/s", search.rate());
    assert!(issues.rate() > 2.0 * search.rate(), "issues not held to search's rate: {:.1}/s", issues.rate());
}

#[test]
fn a_retry_after_beyond_the_cap_is_a_dead_letter_not_a_hung_run() {
    let mock = mock(&["--pages", "3", "--fault-429", "1.0", "--retry-after", "3600"]);
    let scratch = Scratch::new();
    let extra = "[retry]\nbase-ms = 10\nmax-retry-after-s = 60\n";
    let pipeline = generated_pipeline(&scratch, mock.base_url(), &["issues"], extra);

    let ran = scratch.apiary(&["run", &pipeline]);
    assert!(ran.success, "dead letters warn, they do not fail the run: {ran:?}");
    assert!(ran.stdout.contains("1 dead letter(s) added"), "{}", ran.stdout);
    let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let letters = store.dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].stage, Stage::Fetch);
    assert!(letters[0].error.contains("asked to wait 3600 s, more than the 60 s cap"), "{}", letters[0].error);
    assert!(letters[0].exchange.is_some(), "the 429 response is stored as raw");
}

#[test]
fn a_pagination_loop_is_stopped_and_the_stream_goes_on() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/loop");
    let mock = mock(&["--fixtures", fixtures.to_str().unwrap()]);
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "loop",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &["issues"],
        config: &[("owner", "\"loop-org\""), ("repo", "\"loop\""), ("per_page", "2")],
        extra: "",
    };
    let pipeline = scratch.write("loop.toml", spec.toml());
    let ran = scratch.apiary(&["run", pipeline.to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");
    assert_eq!(read_jsonl(&scratch.output("loop", "issues")).len(), 4, "both pages, once each");
    assert_eq!(mock.stats().unwrap().total, 2, "the looping link is not fetched again");
    let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let letters = store.dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].stage, Stage::Policy);
    assert!(letters[0].error.contains("pagination loop"), "{}", letters[0].error);
}

#[test]
fn a_counted_link_chain_is_sent_as_many_pages_ahead_as_its_endpoint_allows_and_each_record_lands_once() {
    let mock = mock(&["--large-pages", "10", "--event-pages", "1"]);
    let scratch = Scratch::new();
    let wasm = connector_wasm("bench_connector");
    let stream = "issues_in_flight_4";
    let config = &[("per_page", "10")];
    let spec = PipelineSpec {
        name: "ahead",
        connector: &wasm,
        base_url: mock.base_url(),
        streams: &[stream],
        config,
        extra: "",
    };
    let ran = scratch.apiary(&["run", scratch.write("ahead.toml", spec.toml()).to_str().unwrap()]);
    assert!(ran.success, "{ran:?}");
    let records = read_jsonl(&scratch.output("ahead", stream));
    let ids: HashSet<_> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!((records.len(), ids.len()), (100, 100), "every record once");
    let page = |n: u32| format!("/repos/apiary-mock/large/issues?per_page=10&page={n}");
    let stats = mock.stats().unwrap();
    for n in 2..=13 {
        assert_eq!(stats.by_request.get(&format!("GET {}", page(n))), Some(&1), "page {n}: {:?}", stats.by_request);
    }
    assert_eq!(stats.total, 13, "pages 11-13, counted on past the last page, were sent ahead once each");
    let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let unasked: Vec<String> =
        store.raw_list(|_| true).unwrap().into_iter().filter(|m| m.unasked).map(|m| m.request.url).collect();
    assert_eq!(unasked, [page(11), page(12), page(13)], "stored as evidence, asked for by no page");
    assert_eq!(store.dead_letters(|_| true).unwrap().len(), 0);
}

/// The rogue connector's `panic_page_2` stream alone: page 2 of the chain traps in the parse.
fn trapping_chain(scratch: &Scratch, base_url: &str, extra: &str) -> String {
    let wasm = connector_wasm("rogue_connector");
    let spec =
        PipelineSpec { name: "trap", connector: &wasm, base_url, streams: &["panic_page_2"], config: &[], extra };
    scratch.write("trap.toml", spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn a_chains_next_page_is_sent_while_its_page_is_parsed_and_kept_as_evidence_when_unused() {
    let page_3 = "GET /repos/apiary-mock/generated/issues?per_page=10&page=3";
    for (extra, sent_ahead) in [("", true), ("[http]\nsend-ahead = false\n", false)] {
        let mock = mock(&["--pages", "4"]);
        let scratch = Scratch::new();
        let ran = scratch.apiary(&["run", &trapping_chain(&scratch, mock.base_url(), extra)]);
        assert!(ran.success, "{ran:?}");
        // Page 2 named page 3 in its `Link` header; the connector never asked for it (its parse
        // trapped), so only a request sent before that parse ended can have reached the mock.
        let stats = mock.stats().unwrap();
        assert_eq!(stats.by_request.contains_key(page_3), sent_ahead, "{extra:?}: {:?}", stats.by_request);
        let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
        let stored: Vec<(String, bool)> =
            store.raw_list(|_| true).unwrap().into_iter().map(|m| (m.request.url, m.unasked)).collect();
        assert_eq!(stored.len(), 2 + usize::from(sent_ahead), "every response is stored: {stored:?}");
        let unasked: Vec<_> = stored.iter().filter(|(_, unasked)| *unasked).map(|(url, _)| url.as_str()).collect();
        let expected: &[&str] =
            if sent_ahead { &["/repos/apiary-mock/generated/issues?per_page=10&page=3"] } else { &[] };
        assert_eq!(unasked, expected, "page 3, marked as asked for by no page");
        assert_eq!(read_jsonl(&scratch.output("trap", "panic_page_2")).len(), 10, "page 1's records only");
        let letters = store.dead_letters(|_| true).unwrap();
        assert_eq!(letters.len(), 1, "the trapped page, nothing about the unused one: {letters:?}");
    }
}
