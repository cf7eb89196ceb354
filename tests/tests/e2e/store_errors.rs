//! A full disk and a read-only mount are reported as what they are, never as a damaged
//! database, and nothing is lost (issue 11, point 9): the home lives on a 1 MiB tmpfs mounted
//! in a private mount namespace (`unshare -rm`, as an unprivileged user may), so the test
//! leaves no mount behind.

use std::path::Path;
use std::process::Command;

use apiary_e2e::harness::{Scratch, binary, test_cache};
use apiary_e2e::spawn::MockProcess;

use crate::resume::generated_pipeline;

/// The steps, each `apiary` call's stdout, stderr and exit code saved to `$LOGS/<step>.*`
/// (the tmpfs vanishes with the namespace).
const SCRIPT: &str = r#"
step() { name=$1; shift; "$APIARY" --home "$SMALL" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"; echo $? >"$LOGS/$name.code"; }
mount -t tmpfs -o size=1M apiary-test "$SMALL" || exit 77
touch "$LOGS/mounted"
dd if=/dev/zero of="$SMALL/filler" bs=4k 2>/dev/null
step full run "$PIPELINE"
ls -A "$SMALL" >"$LOGS/full.ls"
rm "$SMALL/filler"
dd if=/dev/zero of="$SMALL/filler" bs=1k count=700 2>/dev/null
step midway run "$PIPELINE"
rm "$SMALL/filler"
step freed run "$PIPELINE"
mount -o remount,ro "$SMALL"
step readonly run "$PIPELINE"
step reader runs --json
cp "$SMALL/out/generated/issues.jsonl" "$LOGS/issues.jsonl"
"#;

/// What one step printed and returned.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
}

fn step(logs: &Path, name: &str) -> Step {
    let read = |ext: &str| std::fs::read_to_string(logs.join(format!("{name}.{ext}"))).unwrap_or_default();
    Step { code: read("code").trim().parse().unwrap_or(-1), stdout: read("out"), stderr: read("err") }
}

/// The step failed with one line naming `cause` once, and nothing called the database damaged.
fn assert_real_cause(step: &Step, cause: &str) {
    assert_eq!(step.code, 1, "{}", step.stderr);
    assert_eq!(step.stderr.lines().count(), 1, "one line: {}", step.stderr);
    assert_eq!(step.stderr.matches(cause).count(), 1, "names {cause:?} once: {}", step.stderr);
    assert!(!step.stderr.contains("move it aside") && !step.stderr.contains("not an apiary database"));
}

#[test]
fn a_full_disk_and_a_read_only_mount_are_named_and_nothing_is_lost() {
    let mock = MockProcess::start(&binary("apiary-mock"), &["--pages", "60"]).unwrap();
    let clean = Scratch::new();
    assert!(clean.apiary(&["run", &generated_pipeline(&clean, mock.base_url(), "5")]).success);
    let expected = std::fs::read(clean.output("generated", "issues")).unwrap();

    let scratch = Scratch::new();
    let (small, logs) = (scratch.path().join("small"), scratch.path().join("logs"));
    std::fs::create_dir_all(&small).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let cache = test_cache();
    let ran = Command::new("unshare")
        .args(["-rm", "sh", "-c", SCRIPT])
        .env("APIARY", binary("apiary"))
        .env("SMALL", &small)
        .env("LOGS", &logs)
        .env("PIPELINE", generated_pipeline(&scratch, mock.base_url(), "5"))
        .env("APIARY_CACHE_DIR", cache.join("components"))
        .env("XDG_CONFIG_HOME", cache.join("config"))
        .env_remove("RUST_LOG")
        .output();
    if !logs.join("mounted").exists() {
        eprintln!("skipped: cannot mount a tmpfs in a private namespace here (unshare -rm): {ran:?}");
        return;
    }
    assert!(ran.unwrap().status.success());

    // A database cannot be made on a full disk: the cause is named, no half-made file is left.
    assert_real_cause(&step(&logs, "full"), "No space left on device");
    assert!(step(&logs, "full").stderr.contains("apiary.redb"), "{}", step(&logs, "full").stderr);
    let left = std::fs::read_to_string(logs.join("full.ls")).unwrap();
    assert_eq!(left.trim(), "filler", "no database file was left behind: {left}");
    // The disk fills up halfway through a sync: named, and the run resumes once there is room.
    assert_real_cause(&step(&logs, "midway"), "No space left on device");
    let freed = step(&logs, "freed");
    assert_eq!(freed.code, 0, "{}", freed.stderr);
    assert!(freed.stdout.contains("was interrupted; resumed it"), "{}", freed.stdout);
    assert!(std::fs::read(logs.join("issues.jsonl")).unwrap() == expected, "the output equals a clean run's");
    // A read-only mount: a sync is refused for what it is, a reader still works.
    assert_real_cause(&step(&logs, "readonly"), "Read-only file system");
    let reader = step(&logs, "reader");
    assert_eq!(reader.code, 0, "{}", reader.stderr);
    let runs: serde_json::Value = serde_json::from_str(&reader.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "one run, resumed: {runs}");
    assert_eq!(
        (runs[0]["outcome"]["state"].as_str(), runs[0]["counts"]["records"].as_u64()),
        (Some("succeeded"), Some(300))
    );
}
