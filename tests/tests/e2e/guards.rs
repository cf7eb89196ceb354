//! The guards against input that cannot work (issue 11, points 2, 3, 8, 11, 12): a connector
//! file too large (or endless) to read, a compile-cache entry taken from another component,
//! a stream named twice, numbers outside their range, a read command pointed at a home that
//! does not exist. Each ends in one line naming the thing and what to do.

use apiary_e2e::harness::{PipelineSpec, Scratch, connector_wasm, files_under};

use crate::bad_input::assert_one_line_error;

/// A pipeline of the github connector (never run against a server) with `streams` and `extra`.
fn pipeline(scratch: &Scratch, connector: &std::path::Path, streams: &[&str], extra: &str) -> String {
    let spec = PipelineSpec { name: "p", connector, base_url: "http://127.0.0.1:9", streams, config: &[], extra };
    scratch.write("p.toml", spec.toml()).to_str().unwrap().to_string()
}

#[test]
fn a_connector_file_is_capped_before_it_is_read() {
    let scratch = Scratch::new();
    // Endless: reading it whole would never end (the host used to be OOM-killed).
    assert_one_line_error(&scratch.apiary(&["inspect", "/dev/zero"]), &["/dev/zero", "not a regular file"]);
    // 100 MiB that take no disk: over the default 64 MiB cap, refused by its size alone.
    let sparse = scratch.path().join("sparse.wasm");
    std::fs::File::create(&sparse).unwrap().set_len(100 << 20).unwrap();
    assert_one_line_error(
        &scratch.apiary(&["inspect", sparse.to_str().unwrap()]),
        &["sparse.wasm", "104857600 bytes", "max-component-mib"],
    );
    // A pipeline can lower the cap: the real github connector is over 100 KB.
    let wasm = connector_wasm("github_connector");
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size > 100_000, "{size}");
    let padded = scratch.path().join("padded.wasm");
    std::fs::File::create(&padded).unwrap().set_len(2 << 20).unwrap();
    let lowered = pipeline(&scratch, &padded, &["issues"], "[limits]\nmax-component-mib = 1\n");
    assert_one_line_error(
        &scratch.apiary(&["run", &lowered]),
        &["padded.wasm", "2097152 bytes", "1048576-byte cap", "raise [limits] max-component-mib"],
    );
}

#[test]
fn a_cache_entry_copied_from_another_component_is_refused() {
    let scratch = Scratch::new();
    let cache = scratch.path().join("cache");
    let private = [("APIARY_CACHE_DIR", cache.to_str().unwrap()), ("RUST_LOG", "warn")];
    let (github, stripe) = (connector_wasm("github_connector"), connector_wasm("stripe_connector"));
    for wasm in [&github, &stripe] {
        assert!(scratch.apiary_with_env(&["inspect", wasm.to_str().unwrap()], &private).success);
    }
    let entries: Vec<_> =
        files_under(&cache).into_iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert_eq!(entries.len(), 2, "one entry per component: {entries:?}");
    let github_sha = apiary_host::model::ComponentDigest::of(&std::fs::read(&github).unwrap()).0;
    let (ours, theirs) = match entries[0].to_string_lossy().contains(&github_sha) {
        true => (&entries[0], &entries[1]),
        false => (&entries[1], &entries[0]),
    };
    // Someone who can write the cache folder replaces github's entry with stripe's valid
    // entry and its valid MAC: authentic bytes, but not this component's.
    std::fs::copy(theirs, ours).unwrap();
    std::fs::copy(theirs.with_extension("mac"), ours.with_extension("mac")).unwrap();

    let ran = scratch.apiary_with_env(&["inspect", "--json", github.to_str().unwrap()], &private);
    assert!(ran.success, "{ran:?}");
    assert!(ran.stderr.contains("failed its authentication check; compiling again"), "{}", ran.stderr);
    let shown: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(shown["manifest"]["name"], "github", "the github connector ran, not stripe's code");
    assert_ne!(std::fs::read(ours).unwrap(), std::fs::read(theirs).unwrap(), "the entry was compiled again");
}

#[test]
fn a_stream_named_twice_is_refused_by_name() {
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let twice = pipeline(&scratch, &wasm, &["issues", "labels", "issues"], "");
    assert_one_line_error(&scratch.apiary(&["run", &twice]), &["p.toml", "`streams` names `issues` twice"]);
}

#[test]
fn numbers_outside_their_range_are_refused_with_file_line_and_range() {
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let cases: [(&str, &[&str]); 5] = [
        // Once a panic inside the rate limiter (exit 101).
        (
            "[buckets.core]\nrequests = 10\nper-ms = 18446744073709551615\n",
            &["line 10", "per-ms", "18446744073709551615 is out of range: allowed 1 to"],
        ),
        ("[buckets.core]\nrequests = 10\nper-ms = 9223372036854775807\n", &["line 10", "per-ms", "allowed 1 to"]),
        ("[buckets.core]\nrequests = 0\nper-ms = 1000\n", &["line 9", "requests", "allowed 1 to"]),
        ("[retry]\nmax-attempts = 0\n", &["line 9", "max-attempts", "allowed 1 to 100"]),
        ("[limits]\ntime-ms = 0\n", &["line 9", "time-ms", "allowed 1 to"]),
    ];
    for (extra, needles) in cases {
        let path = pipeline(&scratch, &wasm, &["issues"], extra);
        let ran = scratch.apiary(&["run", &path]);
        let mut all = vec!["p.toml"];
        all.extend_from_slice(needles);
        assert_one_line_error(&ran, &all);
    }
}

#[test]
fn a_read_command_never_creates_a_home() {
    // A fresh scratch's home does not exist: as with `apiary runs --home typo`.
    let scratch = Scratch::new();
    for args in [&["runs"][..], &["dlq", "list"], &["raw", "list"], &["deprecations"]] {
        assert_one_line_error(&scratch.apiary(args), &["apiary.redb"]);
    }
    assert!(!scratch.home().exists(), "nothing was created at {}", scratch.home().display());
}
