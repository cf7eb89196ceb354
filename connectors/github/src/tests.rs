//! The parser against real recorded GitHub traffic.

use apiary_sdk::testing::load_recorded;
use apiary_sdk::{Connector, ParseError, SyncContext};

use super::GitHub;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/github").join(name)
}

fn context(config: &[(&str, &str)]) -> SyncContext {
    SyncContext {
        config: config.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        checkpoint: None,
        now_ms: 0,
    }
}

#[test]
fn follows_link_pagination_through_all_recorded_pages() {
    let pages = load_recorded(fixture("paginate-issues.json")).unwrap();
    let mut ids = Vec::new();
    for (i, recorded) in pages.iter().enumerate() {
        let page = GitHub::parse(&recorded.to_exchange("issues")).unwrap();
        ids.extend(page.records.iter().map(|r| r.key.clone().unwrap()));
        assert!(page.checkpoint.is_some(), "every issues page carries its newest updated_at");
        assert!(page.records.iter().all(|r| r.stream == "issues"));
        match pages.get(i + 1) {
            Some(following) => {
                assert_eq!(page.next.len(), 1);
                assert_eq!(page.next[0].url, format!("https://api.github.com{}", following.path));
            }
            None => assert!(page.next.is_empty(), "the last page has no next link"),
        }
    }
    assert_eq!(ids.len(), 13);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 13, "no issue twice");
}

#[test]
fn records_are_the_response_elements_unchanged() {
    let pages = load_recorded(fixture("paginate-issues.json")).unwrap();
    let exchange = pages[0].to_exchange("issues");
    let page = GitHub::parse(&exchange).unwrap();
    let body: Vec<serde_json::Value> = serde_json::from_slice(&exchange.response.body).unwrap();
    for (record, element) in page.records.iter().zip(&body) {
        assert_eq!(serde_json::from_str::<serde_json::Value>(&record.json).unwrap(), *element);
        assert_eq!(record.key.as_deref(), Some(element["id"].to_string().as_str()));
    }
}

#[test]
fn start_builds_the_first_request_from_config() {
    let ctx = context(&[("owner", "octokit-fixture-org"), ("repo", "paginate-issues"), ("per_page", "3")]);
    let requests = GitHub::start("issues", &ctx).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url,
        "/repos/octokit-fixture-org/paginate-issues/issues?per_page=3&state=all&sort=updated&direction=asc"
    );
    let mut later = ctx.clone();
    later.checkpoint = Some("2024-02-28T12:30:00Z".into());
    let incremental = GitHub::start("issues", &later).unwrap();
    assert!(incremental[0].url.ends_with("&since=2024-02-28T12%3A30%3A00Z"), "{}", incremental[0].url);
    assert!(requests[0].headers.iter().any(|h| h.name == "X-GitHub-Api-Version" && h.value == "2022-11-28"));
    assert!(GitHub::start("issues", &context(&[("owner", "o")])).unwrap_err().contains("repo"));
    assert!(GitHub::start("nope", &ctx).unwrap_err().contains("unknown endpoint"));
    let search = GitHub::start("search_issues", &context(&[("query", "is:open label:bug")])).unwrap();
    assert_eq!(search[0].url, "/search/issues?q=is%3Aopen+label%3Abug&per_page=100");
}

#[test]
fn an_error_status_or_a_non_array_body_is_not_taken_as_records() {
    let errors = load_recorded(fixture("errors.json")).unwrap();
    assert!(matches!(GitHub::parse(&errors[0].to_exchange("labels")), Err(ParseError::Fatal(_))));
    let repo = load_recorded(fixture("get-repository.json")).unwrap();
    assert!(matches!(GitHub::parse(&repo[0].to_exchange("issues")), Err(ParseError::Malformed(_))));
}

#[test]
fn the_manifest_declares_the_core_bucket_and_api_version() {
    let manifest = GitHub::manifest();
    assert_eq!(manifest.api_version, "2022-11-28");
    assert_eq!(manifest.buckets[0].requests, 5_000);
    assert_eq!(manifest.buckets[0].per_ms, 3_600_000);
    assert!(manifest.endpoints.iter().all(|e| e.buckets[0] == "core" && e.primary_key == ["id"]));
    let search = manifest.endpoints.iter().find(|e| e.name == "search_issues").unwrap();
    assert_eq!(search.buckets, ["core", "search"], "search draws from both buckets");
    assert_eq!((manifest.buckets[1].requests, manifest.buckets[1].per_ms), (30, 60_000));
}

#[test]
fn labels_declare_their_schema_and_the_other_streams_leave_theirs_to_inference() {
    let manifest = GitHub::manifest();
    let declared: Vec<&str> =
        manifest.endpoints.iter().filter(|e| e.schema.is_some()).map(|e| e.name.as_str()).collect();
    assert_eq!(declared, ["labels"]);
    let labels = manifest.endpoints.iter().find(|e| e.name == "labels").unwrap();
    let schema: serde_json::Value = serde_json::from_str(labels.schema.as_deref().unwrap()).unwrap();
    assert_eq!(schema["properties"]["id"]["type"], "integer");
    assert_eq!(schema["properties"]["description"]["type"], serde_json::json!(["string", "null"]));
    let required: Vec<&str> = schema["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(required, ["id", "node_id", "url", "name", "color", "default"], "description may be missing");
}

#[test]
fn the_manifest_is_sound() {
    apiary_sdk::testing::assert_manifest_sound::<GitHub>();
}

#[test]
fn replays_an_exchange_the_host_recorded_and_exported() {
    // `apiary raw show 1 --json` from a demo sync against the mock API.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/export-issues-page1.json");
    let exchange = apiary_sdk::testing::load_export(path).unwrap();
    assert_eq!(exchange.stream(), "issues");
    let page = GitHub::parse(&exchange).unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(page.next[0].url.ends_with("/repositories/1000/issues?per_page=3&page=2"), "{}", page.next[0].url);
}
