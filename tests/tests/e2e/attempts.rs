//! Every attempt is evidence and every count is true (issue 11 point 10, issue 12): each HTTP
//! attempt is stored and listed with its number, the dead letter links the last one, malformed
//! pages fetched again count as retries, `--json` warns about dead letters, and a re-parse
//! applies the same page limits as a sync.

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm};
use apiary_e2e::spawn::MockProcess;

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// The github connector's `issues` of the generated collection, 10 a page, retried at once.
fn issues(scratch: &Scratch, base_url: &str, extra: &str) -> String {
    let wasm = connector_wasm("github_connector");
    let config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "10")];
    let extra = format!("[retry]\nbase-ms = 1\nmax-ms = 1\n{extra}");
    let spec =
        PipelineSpec { name: "gh", connector: &wasm, base_url, streams: &["issues"], config: &config, extra: &extra };
    scratch.write("gh.toml", spec.toml()).to_str().unwrap().to_string()
}

/// `apiary raw list --json` as (status, attempt, hop) rows.
fn attempts(scratch: &Scratch) -> Vec<(u64, u64, u64)> {
    let raw: serde_json::Value = serde_json::from_str(&scratch.apiary(&["raw", "list", "--json"]).stdout).unwrap();
    let row = |m: &serde_json::Value| {
        (m["status"].as_u64().unwrap(), m["attempt"].as_u64().unwrap(), m["hop"].as_u64().unwrap())
    };
    raw.as_array().unwrap().iter().map(row).collect()
}

#[test]
fn every_attempt_is_stored_and_the_letter_links_the_last() {
    // Attempt 1 is answered 500 or 503 (a fault); attempt 2 breaks the API's limit of one
    // request per 100 s and is answered 429: with two attempts allowed, the request fails.
    let api = mock(&["--pages", "2", "--fault-5xx", "1.0", "--limit", "generated/issues=1/100000/1"]);
    let scratch = Scratch::new();
    let ran = scratch.apiary(&["run", &issues(&scratch, api.base_url(), "max-attempts = 2\n"), "--json"]);
    assert!(ran.success, "{ran:?}");

    let stored = attempts(&scratch);
    assert!(matches!(stored[..], [(500 | 503, 1, 0), (429, 2, 0)]), "both attempts are stored: {stored:?}");
    let letters: serde_json::Value = serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json"]).stdout).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    assert_eq!((letters[0]["attempts"].as_u64(), letters[0]["exchange"].as_u64()), (Some(2), Some(2)), "{letters}");
    let listed = scratch.apiary(&["raw", "list"]).stdout;
    assert_eq!(listed.lines().count(), 3, "a header and both attempts: {listed}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let counts = &report["streams"]["issues"];
    assert_eq!((counts["requests"].as_u64(), counts["retries"].as_u64()), (Some(2), Some(1)), "{counts}");
    assert_eq!((counts["throttled"].as_u64(), counts["exchanges"].as_u64()), (Some(1), Some(2)), "{counts}");
}

#[test]
fn malformed_pages_fetched_again_count_as_retries_and_json_warns_of_letters() {
    // Every page is first served truncated; a fifth of the records have no id.
    let api = mock(&["--pages", "3", "--fault-malformed", "1.0", "--fault-missing-id", "0.2", "--seed", "5"]);
    let scratch = Scratch::new();
    let ran = scratch.apiary(&["run", &issues(&scratch, api.base_url(), ""), "--json"]);
    assert!(ran.success, "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let counts = &report["streams"]["issues"];
    assert_eq!((counts["requests"].as_u64(), counts["retries"].as_u64()), (Some(6), Some(3)), "{counts}");
    assert!(counts["waited_ms"].as_u64().unwrap() >= 3, "each retry waited its backoff: {counts}");
    let dead = counts["dead_letters"].as_u64().unwrap();
    assert!(dead > 0, "{counts}");
    let warnings: Vec<&str> = report["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(warnings.iter().any(|w| w.contains(&format!("{dead} dead letter(s) added"))), "{warnings:?}");
    assert_eq!(attempts(&scratch), [(200, 1, 0), (200, 2, 0)].repeat(3), "the truncated pages are kept too");
}

#[test]
fn a_reparse_applies_the_page_limits_of_a_sync() {
    let api = mock(&["--pages", "2"]);
    let scratch = Scratch::new();
    let pipeline = issues(&scratch, api.base_url(), "");
    assert!(scratch.apiary(&["run", &pipeline]).success);
    let limited = issues(&scratch, api.base_url(), "\n[limits]\nmax-records = 3\n");
    let wasm = connector_wasm("github_connector");
    let ran = scratch.apiary(&["reparse", &limited, "--connector", wasm.to_str().unwrap(), "--json"]);
    assert!(ran.success, "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!((report["records"].as_u64(), report["failed_pages"].as_u64()), (Some(0), Some(2)), "{report}");
    let letters: serde_json::Value = serde_json::from_str(&scratch.apiary(&["dlq", "list", "--json"]).stdout).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 2, "{letters}");
    for letter in letters.as_array().unwrap() {
        assert_eq!((letter["stage"].as_str(), letter["origin"].as_str()), (Some("parse"), Some("reparse")));
        assert!(letter["error"].as_str().unwrap().contains("10 records, more than the limit of 3"), "{letter}");
    }
}
