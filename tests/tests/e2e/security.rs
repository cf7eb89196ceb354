//! A connector can't hurt the host: the rogue gallery, output caps, secrets kept out of every
//! file and log, the compile cache that trusts nothing, and unsupported contract versions.

use std::collections::BTreeMap;

use apiary_e2e::harness::{PipelineSpec, Scratch, binary, connector_wasm, files_under, read_jsonl};
use apiary_e2e::spawn::MockProcess;
use apiary_host::store::{DeadLetter, Stage, Store};

const SECRET: &str = "s3cr3t-Value-that-must-not-leak";

fn rogue_pipeline(scratch: &Scratch, base_url: &str, streams: &[&str], extra: &str) -> String {
    let wasm = connector_wasm("rogue_connector");
    let spec = PipelineSpec { name: "rogue", connector: &wasm, base_url, streams, config: &[], extra };
    scratch.write("rogue.toml", spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn the_rogue_gallery_is_contained_and_the_good_stream_completes_with_no_secret_leaked() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "3"]).unwrap();
    let scratch = Scratch::new();
    // The time limit leaves room for the allocating guest to reach its memory cap on a busy machine.
    let extra = "[secrets]\ntoken = { env = \"APIARY_TEST_TOKEN\" }\n\n[limits]\ntime-ms = 1500\n";
    // Every stream of the rogue connector: each misbehaves in its own way, `good` and `stderr` do not.
    let pipeline = rogue_pipeline(&scratch, mock.base_url(), &[], extra);
    let env = [("APIARY_TEST_TOKEN", SECRET), ("RUST_LOG", "debug")];
    let ran = scratch.apiary_with_env(&["run", &pipeline], &env);
    assert!(ran.success, "{}", ran.stderr);

    assert_eq!(read_jsonl(&scratch.output("rogue", "good")).len(), 30, "the well-behaved stream completes");
    assert_eq!(read_jsonl(&scratch.output("rogue", "stderr")).len(), 30);
    assert_eq!(
        read_jsonl(&scratch.output("rogue", "chatty")).len(),
        30,
        "200 KB of stderr is logged, capped, not fatal"
    );
    let remembered = read_jsonl(&scratch.output("rogue", "remember")).len();
    assert_eq!(remembered, 30, "no page saw memory an earlier call wrote: every call gets a fresh instance");
    let longest_log_line = ran.stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(longest_log_line < 20_000, "guest output is capped in the log: {longest_log_line} bytes");
    assert!(ran.stderr.contains("guest output: rogue connector says hello on stderr"), "guest stderr reaches the log");
    assert!(ran.stderr.contains("connector=\"rogue\""), "tagged with the connector's name");

    let store = Store::open(&scratch.home().join("apiary.redb")).unwrap();
    let letters: BTreeMap<String, DeadLetter> =
        store.dead_letters(|_| true).unwrap().into_iter().map(|l| (l.stream.clone(), l)).collect();
    drop(store); // the database allows one process at a time
    let expect = |stream: &str, stage: Stage, needle: &str| {
        let letter = letters.get(stream).unwrap_or_else(|| panic!("no dead letter for {stream}: {letters:#?}"));
        assert_eq!(letter.stage, stage, "{stream}");
        assert!(letter.error.contains(needle), "{stream}: {:?} should mention {needle:?}", letter.error);
    };
    expect("panic_page_2", Stage::Parse, "page 2 is cursed");
    expect("loop_forever", Stage::Parse, "ran longer than its 1500 ms limit");
    expect("scan_loop", Stage::Parse, "ran longer than its 1500 ms limit");
    expect("scan_fields", Stage::Parse, "scan-records refused: scan-records picks at most 64 fields, not 65");
    expect("allocate", Stage::Parse, "memory limit of 128 MiB");
    expect("flood", Stage::Parse, "limit");
    expect("undeclared_host", Stage::Policy, "undeclared host evil.example.com");
    expect("read_file", Stage::Parse, "/etc/passwd: Err");
    expect("read_env", Stage::Parse, "HOME: Err(NotPresent), saw 0 variables");
    expect("bad_utf8", Stage::Parse, "utf-8");
    expect("bad_json", Stage::Record, "not valid JSON");
    for clean in ["good", "stderr", "chatty", "remember"] {
        assert!(!letters.contains_key(clean), "{clean}: {:?}", letters.get(clean).map(|l| &l.error));
    }

    assert!(mock.stats().unwrap().authorized > 0, "the host injected the key");
    let mut places = files_under(&scratch.home());
    places.retain(|p| !p.starts_with(scratch.home().join("cache")));
    assert!(places.iter().any(|p| p.ends_with("apiary.redb")));
    for path in places {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "the secret is in {}", path.display());
    }
    assert!(!ran.stderr.contains(SECRET) && !ran.stdout.contains(SECRET), "the secret is in the logs");
    for args in [vec!["raw", "show", "1"], vec!["dlq", "list", "--json"], vec!["raw", "list", "--json"]] {
        let shown = scratch.apiary(&args);
        assert!(shown.success, "{args:?} failed: {shown:?}");
        assert!(!shown.stdout.contains(SECRET), "{args:?} shows the secret");
    }
}

#[test]
fn output_caps_are_dead_letters_naming_the_limit() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "3"]).unwrap();
    let scratch = Scratch::new();
    let pipeline = rogue_pipeline(&scratch, mock.base_url(), &["good"], "[limits]\nmax-records = 5\n");
    assert!(scratch.apiary(&["run", &pipeline]).success);
    let letters = Store::open(&scratch.home().join("apiary.redb")).unwrap().dead_letters(|_| true).unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].error.contains("10 records, more than the limit of 5 (raise [limits] max-records)"),
        "{}",
        letters[0].error
    );
}

#[test]
fn a_tampered_cache_entry_is_recompiled_never_executed() {
    let scratch = Scratch::new();
    let cache = scratch.path().join("cache");
    let private = [("APIARY_CACHE_DIR", cache.to_str().unwrap())];
    let wasm = connector_wasm("github_connector");
    assert!(scratch.apiary_with_env(&["inspect", wasm.to_str().unwrap()], &private).success);
    let entry =
        files_under(&cache).into_iter().find(|p| p.extension().is_some_and(|e| e == "cwasm")).expect("a cache entry");
    let good = std::fs::read(&entry).unwrap();

    // What an attacker who can write the cache folder (but not read the key outside it) can
    // do: change the code and write a checksum that matches the new bytes.
    let mut tampered = good.clone();
    let middle = tampered.len() / 2;
    tampered[middle..middle + 64].fill(0xCC);
    std::fs::write(&entry, &tampered).unwrap();
    let sha = {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&tampered).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    std::fs::write(entry.with_extension("mac"), sha.split_whitespace().next().unwrap()).unwrap();

    let env = [private[0], ("RUST_LOG", "warn")];
    let ran = scratch.apiary_with_env(&["inspect", wasm.to_str().unwrap()], &env);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stderr.contains("failed its authentication check; compiling again"), "{}", ran.stderr);
    assert!(std::fs::read(&entry).unwrap() == good, "the entry was compiled again and rewritten");
}

#[test]
fn a_connector_for_an_unsupported_contract_version_is_refused_by_name() {
    let scratch = Scratch::new();
    let wasm = connector_wasm("future_connector");
    let ran = scratch.apiary(&["inspect", wasm.to_str().unwrap()]);
    assert!(!ran.success);
    assert!(
        ran.stderr.contains(
            "built against apiary:connector@0.9.0, but this host supports apiary:connector@0.1.x, apiary:connector@0.2.x, apiary:connector@0.3.x, apiary:connector@0.4.x"
        ),
        "{}",
        ran.stderr
    );
}
