//! Redirects go through the same allow-list as every request (issue 11, point 1): a `302` to a
//! host the manifest never declared is refused (the other host receives nothing), a redirect on
//! the base origin is followed with every hop stored, no `Referer` is ever sent, and a secret in
//! the query string reaches neither another host nor the store.

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, files_containing, read_jsonl};
use apiary_e2e::spawn::MockProcess;
use apiary_host::store::{Stage, Store};

/// The rogue connector sends its key as `api_key=` in the query: the hardest place to keep it.
const SECRET: &str = "redirect-S3cret-in-the-query";

fn mock(args: &[&str]) -> MockProcess {
    MockProcess::start(&binary("apiary-mock"), args).expect("mock starts")
}

/// The rogue connector's well-behaved stream, authenticated with [`SECRET`] in the query.
fn run_good_stream(scratch: &Scratch, base_url: &str) -> apiary_e2e::harness::Ran {
    let wasm = connector_wasm("rogue_connector");
    let extra = "[secrets]\ntoken = { env = \"APIARY_TEST_TOKEN\" }\n";
    let spec = PipelineSpec { name: "moved", connector: &wasm, base_url, streams: &["good"], config: &[], extra };
    let pipeline = scratch.write("moved.toml", spec.toml());
    scratch.apiary_with_env(&["run", pipeline.to_str().unwrap(), "--json"], &[("APIARY_TEST_TOKEN", SECRET)])
}

/// The secret is in no file of the home, in no log line and in no listing.
fn assert_secret_kept(scratch: &Scratch, ran: &apiary_e2e::harness::Ran) {
    assert_eq!(files_containing(&scratch.home(), SECRET), Vec::<std::path::PathBuf>::new(), "the secret is stored");
    assert!(!ran.stdout.contains(SECRET) && !ran.stderr.contains(SECRET), "the secret is in the output");
    for args in [vec!["raw", "list", "--json"], vec!["raw", "show", "1", "--json"], vec!["dlq", "list", "--json"]] {
        let shown = scratch.apiary(&args);
        assert!(shown.success && !shown.stdout.contains(SECRET), "{args:?} shows the secret: {shown:?}");
    }
}

#[test]
fn a_redirect_to_an_undeclared_host_is_refused_and_that_host_receives_nothing() {
    // 127.0.0.2 is loopback, but another host than the base URL's 127.0.0.1.
    let elsewhere = mock(&["--bind", "127.0.0.2", "--pages", "3"]);
    assert!(elsewhere.base_url().starts_with("http://127.0.0.2:"), "{}", elsewhere.base_url());
    let redirect = format!("generated/issues={}/repos/apiary-mock/generated/issues", elsewhere.base_url());
    let api = mock(&["--pages", "3", "--redirect", &redirect]);
    let scratch = Scratch::new();

    let ran = run_good_stream(&scratch, api.base_url());
    assert!(ran.success, "a refused redirect is a dead letter, not a failed run: {ran:?}");
    assert_eq!(elsewhere.stats().unwrap().total, 0, "the undeclared host received nothing");
    assert!(api.stats().unwrap().authorized > 0, "the base origin got the key");
    assert_eq!(api.stats().unwrap().referers, Vec::<String>::new(), "no Referer is sent");

    let store = Store::open_read_only(&scratch.home().join("apiary.redb")).unwrap();
    let letters = store.dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].stage, Stage::Policy);
    assert!(letters[0].error.contains("redirect (302) refused"), "{}", letters[0].error);
    assert!(letters[0].error.contains("undeclared host 127.0.0.2"), "{}", letters[0].error);
    let raw = store.raw_list(|_| true).unwrap();
    assert_eq!(raw.len(), 1, "the 302 is stored as it came, nothing after it");
    assert_eq!((raw[0].status, letters[0].exchange), (302, Some(raw[0].id)), "the letter links the 302");
    drop(store);
    let output = scratch.output("moved", "good");
    assert!(!output.exists() || read_jsonl(&output).is_empty(), "no foreign body is written under the original URL");
    assert_secret_kept(&scratch, &ran);
}

#[test]
fn a_redirect_on_the_base_origin_is_followed_with_every_hop_stored() {
    let api = mock(&["--pages", "3", "--redirect", "apiary-mock/generated=/repos/moved/generated/issues"]);
    let scratch = Scratch::new();

    let ran = run_good_stream(&scratch, api.base_url());
    assert!(ran.success, "{ran:?}");
    assert_eq!(read_jsonl(&scratch.output("moved", "good")).len(), 30, "all three pages, through the redirect");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let good = &report["streams"]["good"];
    assert_eq!((good["requests"].as_u64(), good["redirects"].as_u64()), (Some(4), Some(1)), "{good}");
    assert_eq!(good["dead_letters"], 0, "{good}");

    let raw: serde_json::Value = serde_json::from_str(&scratch.apiary(&["raw", "list", "--json"]).stdout).unwrap();
    let hops: Vec<(u64, u64, u64)> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["status"].as_u64().unwrap(), m["attempt"].as_u64().unwrap(), m["hop"].as_u64().unwrap()))
        .collect();
    assert_eq!(hops, [(302, 1, 0), (200, 1, 1), (200, 1, 0), (200, 1, 0)], "the 302 and the page it led to");
    let hop_url = raw[1]["request"]["url"].as_str().unwrap();
    assert!(hop_url.starts_with("/repos/moved/generated/issues?"), "stored relative to the base URL: {hop_url}");
    let listed = scratch.apiary(&["raw", "list"]).stdout;
    let columns = |line: &str| line.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let rows: Vec<Vec<String>> = listed.lines().skip(1).map(columns).collect();
    assert_eq!((rows[0][4].as_str(), rows[0][5].as_str()), ("302", "1"), "{listed}");
    assert_eq!((rows[1][4].as_str(), rows[1][5].as_str()), ("200", "1.1"), "attempt 1, hop 1: {listed}");

    let stats = api.stats().unwrap();
    assert_eq!(stats.total, 4);
    for key in stats.by_request.keys() {
        assert_eq!(key.matches("api_key=").count(), 1, "the key is sent once, on the base origin: {key}");
    }
    assert!(stats.by_request.keys().any(|k| k.contains("/repos/moved/") && k.contains(SECRET)), "{stats:?}");
    assert_eq!(stats.referers, Vec::<String>::new(), "no Referer is sent");
    assert_secret_kept(&scratch, &ran);
}
