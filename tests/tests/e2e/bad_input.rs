//! Bad input gets one clear line naming the file and the problem, a non-zero exit, no panic.

use apiary_e2e::harness::{PipelineSpec, Ran, Scratch, connector_wasm};

/// The run failed with exactly one line on stderr, starting `error:`, containing every `needle`.
pub fn assert_one_line_error(ran: &Ran, needles: &[&str]) {
    assert!(!ran.success, "expected failure: {ran:?}");
    assert_eq!(ran.code, Some(1));
    let lines: Vec<&str> = ran.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line of error: {:?}", ran.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    for needle in needles {
        assert!(lines[0].contains(needle), "{:?} should mention {needle:?}", lines[0]);
    }
    assert!(!ran.stderr.contains("panicked") && !ran.stderr.contains("backtrace"));
}

fn pipeline_with_connector(scratch: &Scratch, connector: &std::path::Path) -> std::path::PathBuf {
    let spec = PipelineSpec {
        name: "p",
        connector,
        base_url: "http://127.0.0.1:9",
        streams: &["issues"],
        config: &[],
        extra: "",
    };
    scratch.write("p.toml", spec.toml())
}

#[test]
fn a_missing_pipeline_file() {
    let scratch = Scratch::new();
    let ran = scratch.apiary(&["run", "no-such-pipeline.toml"]);
    assert_one_line_error(&ran, &["no-such-pipeline.toml", "cannot read"]);
}

#[test]
fn a_pipeline_with_an_unknown_key_or_a_missing_field() {
    let scratch = Scratch::new();
    let path = scratch.write("bad.toml", "name = \"x\"\nconnector = \"c.wasm\"\nstreem = [\"issues\"]\n");
    assert_one_line_error(
        &scratch.apiary(&["run", path.to_str().unwrap()]),
        &["bad.toml", "line 3", "unknown field `streem`"],
    );
    let path = scratch.write("missing.toml", "name = \"x\"\n");
    assert_one_line_error(
        &scratch.apiary(&["run", path.to_str().unwrap()]),
        &["missing.toml", "missing field `connector`"],
    );
    let path = scratch.write("broken.toml", "name = \"x\nconnector = 1\n");
    assert_one_line_error(&scratch.apiary(&["run", path.to_str().unwrap()]), &["broken.toml", "line 1"]);
}

#[test]
fn a_missing_connector_file() {
    let scratch = Scratch::new();
    let pipeline = pipeline_with_connector(&scratch, &scratch.path().join("nope.wasm"));
    assert_one_line_error(
        &scratch.apiary(&["run", pipeline.to_str().unwrap()]),
        &["nope.wasm", "cannot read connector"],
    );
    assert_one_line_error(&scratch.apiary(&["inspect", "nope.wasm"]), &["nope.wasm"]);
}

#[test]
fn a_file_that_is_not_wasm_and_a_core_module() {
    let scratch = Scratch::new();
    let text = scratch.write("text.wasm", "this is not WebAssembly");
    let pipeline = pipeline_with_connector(&scratch, &text);
    assert_one_line_error(
        &scratch.apiary(&["run", pipeline.to_str().unwrap()]),
        &["text.wasm", "not a WebAssembly component"],
    );
    let core_module = scratch.write("core.wasm", b"\0asm\x01\0\0\0");
    assert_one_line_error(
        &scratch.apiary(&["inspect", core_module.to_str().unwrap()]),
        &["core.wasm", "not a WebAssembly component"],
    );
}

#[test]
fn a_component_too_big_for_an_instance_slot() {
    let scratch = Scratch::new();
    // A component whose one core module has a table of 200,000 elements (the slots hold 100,000).
    let module: &[u8] = b"\0asm\x01\0\0\0\x04\x06\x01\x70\x00\xc0\x9a\x0c";
    let mut component = b"\0asm\x0d\0\x01\0\x01".to_vec();
    component.push(module.len() as u8);
    component.extend_from_slice(module);
    component.extend_from_slice(b"\x02\x04\x01\x00\x00\x00");
    let big = scratch.write("big.wasm", component);
    // Twice: the compile cache must not keep a component the engine refuses (read back, it
    // was refused again with a warning on top of the error).
    for _ in 0..2 {
        assert_one_line_error(
            &scratch.apiary(&["inspect", big.to_str().unwrap()]),
            &["big.wasm", "too big for an instance slot", "200000", "tables of up to 100000 elements"],
        );
    }
}

#[test]
fn a_component_that_is_not_an_apiary_connector() {
    let scratch = Scratch::new();
    // The smallest valid component: a header and nothing else, so no `manifest` export.
    let empty = scratch.write("empty.wasm", b"\0asm\x0d\0\x01\0");
    assert_one_line_error(
        &scratch.apiary(&["inspect", empty.to_str().unwrap()]),
        &["empty.wasm", "is not an apiary connector", "apiary:connector@0.1"],
    );
}

#[test]
fn a_stream_the_connector_does_not_have() {
    let scratch = Scratch::new();
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "p",
        connector: &wasm,
        base_url: "http://127.0.0.1:9",
        streams: &["commits"],
        config: &[],
        extra: "",
    };
    let pipeline = scratch.write("p.toml", spec.toml());
    assert_one_line_error(
        &scratch.apiary(&["run", pipeline.to_str().unwrap()]),
        &["p.toml", "`commits`", "issues, labels"],
    );
}

#[test]
fn a_corrupt_database_is_refused_and_left_as_it_was() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.home()).unwrap();
    let garbage = vec![0x5a_u8; 8192];
    let db = scratch.home().join("apiary.redb");
    std::fs::write(&db, &garbage).unwrap();
    let wasm = connector_wasm("github_connector");
    let spec = PipelineSpec {
        name: "p",
        connector: &wasm,
        base_url: "http://127.0.0.1:9",
        streams: &["issues"],
        config: &[],
        extra: "",
    };
    let pipeline = scratch.write("p.toml", spec.toml());
    assert_one_line_error(
        &scratch.apiary(&["run", pipeline.to_str().unwrap()]),
        &["apiary.redb", "not an apiary database"],
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "nothing overwritten");
    assert_one_line_error(&scratch.apiary(&["runs"]), &["apiary.redb"]);
}
