//! The API's own names for its limits (issue 11, point 13): a quota used up on one named
//! resource pauses only the endpoints of that resource, even when they share a bucket with
//! others, and the run summary lists what it learned. And the mock serves recorded search
//! traffic rather than its generated route (point 12).

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

/// The github connector's `issues` and `search_issues` (which share the `core` bucket), with
/// buckets too generous to ever make a request wait for a token.
fn issues_and_search(scratch: &Scratch, base_url: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "gh",
        connector: &wasm,
        base_url,
        streams: &["issues", "search_issues"],
        config: &[
            ("owner", "\"apiary-mock\""),
            ("repo", "\"generated\""),
            ("query", "\"is:open\""),
            ("per_page", "10"),
        ],
        extra: "[buckets.core]\nrequests = 100000\nper-ms = 1000\nburst = 1000\nallow-raise = true\n\n\
                [buckets.search]\nrequests = 100000\nper-ms = 1000\nburst = 1000\nallow-raise = true\n",
    };
    scratch.write("gh.toml", spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn a_used_up_named_limit_pauses_only_its_own_endpoints() {
    // Search's first response says the `search` limit is used up for about 2 s; issues count
    // against `core`. Every response is held 50 ms, so issues still has pages to fetch then.
    let mock = MockProcess::start(
        &binary("apiary-mock"),
        &[
            "--pages",
            "3",
            "--latency-ms",
            "50",
            "--rate-resource",
            "search=search/2",
            "--rate-resource",
            "generated/issues=core",
        ],
    )
    .unwrap();
    let scratch = Scratch::new();
    let ran = scratch.apiary(&["run", &issues_and_search(&scratch, mock.base_url()), "--json"]);
    assert!(ran.success, "{ran:?}");
    assert_eq!(read_jsonl(&scratch.output("gh", "issues")).len(), 30);
    assert_eq!(read_jsonl(&scratch.output("gh", "search_issues")).len(), 30);

    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let learned = &report["rate_limit_resources"];
    assert_eq!(*learned, serde_json::json!({"issues": "core", "search_issues": "search"}), "{report}");
    let waited = |stream: &str| report["streams"][stream]["rate_waited_ms"].as_u64().unwrap();
    // The mock's reset is in whole epoch seconds: the pause lasts between 1 and 2 s.
    assert!(waited("search_issues") >= 900, "search waited out its own limit: {}", waited("search_issues"));
    assert!(waited("issues") < 300, "issues never waited for search's limit: {}", waited("issues"));
    assert_eq!(mock.stats().unwrap().total, 6, "no request was refused or repeated");
}

#[test]
fn recorded_search_traffic_wins_over_the_generated_route() {
    let scratch = Scratch::new();
    let fixtures = scratch.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    let recording = r#"[{"scope":"https://api.github.com:443","method":"get","path":"/search/issues?q=is%3Aopen&per_page=10","status":200,
        "response":{"total_count":2,"incomplete_results":false,"items":[{"id":7,"title":"recorded"},{"id":8,"title":"also recorded"}]}}]"#;
    std::fs::write(fixtures.join("search.json"), recording).unwrap();
    let mock = MockProcess::start(&binary("apiary-mock"), &["--fixtures", fixtures.to_str().unwrap()]).unwrap();
    let pipeline = issues_and_search(&scratch, mock.base_url());
    let ran = scratch.apiary(&["run", &pipeline, "--json"]);
    assert!(ran.success, "{ran:?}");
    let titles: Vec<String> = read_jsonl(&scratch.output("gh", "search_issues"))
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["recorded", "also recorded"], "the recording, not generated issues");
}
