//! Re-parse from storage and API versions you can query: reparse with a fixed connector (zero
//! API calls, a diff, resolved dead letters), exact re-parses, impact, deprecation notices.

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, read_jsonl};
use apiary_e2e::spawn::MockProcess;

fn pipeline(scratch: &Scratch, name: &str, wasm: &str, base_url: &str, config: &[(&str, &str)], extra: &str) -> String {
    let wasm = connector_wasm(wasm);
    let spec = PipelineSpec { name, connector: &wasm, base_url, streams: &["issues"], config, extra };
    scratch.write(&format!("{name}.toml"), spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn a_fixed_parser_reparses_stored_pages_without_calling_the_api() {
    let mut mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "6"]).unwrap();
    let scratch = Scratch::new();
    let v1 = pipeline(&scratch, "versioned", "versioned_v1", mock.base_url(), &[], "");
    assert!(scratch.apiary(&["run", &v1]).success);
    let first = read_jsonl(&scratch.output("versioned", "issues"));
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|r| r.get("title").is_none()), "v1 drops titles");
    mock.stop(); // any API call from here on would fail
    let store = apiary_host::store::Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let unasked: Vec<_> = store.raw_list(|m| m.unasked).unwrap().into_iter().map(|m| m.request.url).collect();
    assert!(unasked.len() == 1 && unasked[0].ends_with("page=4"), "page 3 named page 4, sent ahead: {unasked:?}");
    drop(store);

    let v2 = connector_wasm("versioned_v2");
    let ran = scratch.apiary(&["reparse", &v1, "--connector", v2.to_str().unwrap(), "--json"]);
    assert!(ran.success, "{ran:?}");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["pages"], 3, "the three stored pages (page 3 is the dead letter's)");
    assert_eq!(report["records"], 15);
    let diff = &report["diff"]["issues"];
    assert_eq!((diff["old_records"].as_u64(), diff["new_records"].as_u64()), (Some(10), Some(15)));
    assert_eq!(
        (diff["added"].as_u64(), diff["changed"].as_u64(), diff["removed"].as_u64()),
        (Some(5), Some(10), Some(0))
    );
    assert_eq!(report["fixable"].as_array().unwrap().len(), 1, "the page-3 parse letter is one v2 handles");
    let schema_diff = &report["schema_diff"]["issues"]["changes"];
    assert_eq!(schema_diff.as_array().map(Vec::len), Some(1), "the schemas differ by one field: {schema_diff}");
    assert_eq!(
        (schema_diff[0]["path"].as_str(), schema_diff[0]["change"]["change"].as_str()),
        (Some("title"), Some("added"))
    );
    let out = std::path::PathBuf::from(report["out"].as_str().unwrap());
    assert!(out.ends_with("out/versioned/reparse-1"), "a new location: {}", out.display());
    let reparsed = read_jsonl(&out.join("issues.jsonl"));
    assert_eq!(reparsed.len(), 15);
    assert!(reparsed.iter().all(|r| r["title"].is_string()), "the new field is in every record");
    assert_eq!(read_jsonl(&scratch.output("versioned", "issues")), first, "the original output is untouched");
    let listed = scratch.apiary(&["dlq", "list"]).stdout;
    assert!(
        listed.contains("cannot parse the dates on page 3"),
        "a re-parse never resolves the live output's letters: {listed}"
    );

    let human = scratch.apiary(&["reparse", &v1, "--connector", v2.to_str().unwrap()]);
    assert!(human.stdout.contains("zero API calls") && human.stdout.contains("reparse-2"), "{}", human.stdout);
    assert!(human.stdout.contains("schema issues: field title added (string) in 15 records"), "{}", human.stdout);
    let second = std::fs::read(scratch.home().join("out/versioned/reparse-2/issues.jsonl")).unwrap();
    assert_eq!(
        second,
        std::fs::read(out.join("issues.jsonl")).unwrap(),
        "the same connector twice: byte-identical output"
    );
    let taken = scratch.apiary(&["reparse", &v1, "--connector", v2.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!taken.success && taken.stderr.contains("already holds output"), "never overwrites: {taken:?}");
}

#[test]
fn impact_finds_the_pipelines_of_an_api_version_and_deprecations_are_reported() {
    let mock =
        MockProcess::start(&binary("apiary-mock"), &["--pages", "2", "--deprecate", "generated/issues"]).unwrap();
    let scratch = Scratch::new();
    let gh_config = [("owner", "\"apiary-mock\""), ("repo", "\"generated\""), ("per_page", "5")];
    let gh = pipeline(&scratch, "gh-issues", "github_connector", mock.base_url(), &gh_config, "");
    let ran = scratch.apiary(&["run", &gh]);
    assert!(ran.success, "{ran:?}");
    assert!(
        ran.stdout.contains("deprecates endpoint `issues`: deprecated 2026-01-01, sunset 2026-07-01"),
        "the summary warns with the dates: {}",
        ran.stdout
    );
    assert_eq!(ran.stdout.matches("deprecates endpoint").count(), 1, "once per endpoint");
    let other = pipeline(&scratch, "other", "versioned_v2", mock.base_url(), &[], "");
    assert!(scratch.apiary(&["run", &other]).success);

    let found: serde_json::Value =
        serde_json::from_str(&scratch.apiary(&["impact", "--api-version", "2022-11-28", "--json"]).stdout).unwrap();
    let pipelines = found["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 1, "only the github pipeline speaks 2022-11-28: {found}");
    assert_eq!(pipelines[0]["pipeline"], "gh-issues");
    assert_eq!(pipelines[0]["raw_exchanges"], 2);
    assert_eq!(found["deprecations"][0]["notice"]["sunset"], "2026-07-01");
    let none = scratch.apiary(&["impact", "--api-version", "1999-01-01"]);
    assert!(none.stdout.contains("nothing stored uses API version 1999-01-01"), "{}", none.stdout);

    let listed = scratch.apiary(&["deprecations"]);
    assert!(
        listed.stdout.contains("github API 2022-11-28 endpoint `issues`") && listed.stdout.contains("gh-issues"),
        "{}",
        listed.stdout
    );
    let runs = scratch.apiary(&["runs"]);
    assert!(
        runs.stdout.contains("gh-issues") && runs.stdout.contains("2022-11-28") && runs.stdout.contains("2024-06-01"),
        "{}",
        runs.stdout
    );
    let raw = scratch.apiary(&["raw", "show", "1"]);
    assert!(raw.stdout.contains("HTTP 200") && raw.stdout.contains("deprecation: @1767225600"), "{}", raw.stdout);
}
