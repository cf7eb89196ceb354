//! Build every connector the tests load, with cargo, for `wasm32-wasip2`, into a target folder
//! of its own (a nested cargo on the outer build's folder would wait for its lock forever),
//! then write `artifacts.rs`: the path of each component. Like wasmtime's test-programs
//! artifacts crate, so plain `cargo test --workspace` works on a fresh clone.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, features, component file name): what the tests load.
const GUESTS: &[(&str, &str, &str)] = &[
    ("github-connector", "", "github_connector"),
    ("stripe-connector", "", "stripe_connector"),
    ("shop-connector", "", "shop_connector"),
    ("rogue-connector", "", "rogue_connector"),
    ("future-connector", "", "future_connector"),
    ("versioned-connector", "", "versioned_v1"),
    ("versioned-connector", "v2", "versioned_v2"),
    ("bench-connector", "", "bench_connector"),
    ("legacy-connector", "", "legacy_connector"),
    ("legacy-connector", "contract-0-2", "legacy_v0_2"),
    ("legacy-connector", "contract-0-3", "legacy_v0_3"),
    ("declared-connector", "", "declared_connector"),
    ("declared-connector", "invalid", "declared_invalid"),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for watched in [
        "sdk/src",
        "sdk/Cargo.toml",
        "vendor",
        ".cargo/config.toml",
        "wit",
        "connectors",
        "tests/connectors",
        "bench/connector",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // <target>/<profile>/build/<package>-<hash>/out: a folder beside the profiles, kept across
    // rebuilds of this crate so unchanged connectors are not compiled again.
    let target_dir = out.ancestors().nth(4).expect("OUT_DIR is inside the target folder").join("guest-artifacts");
    let mut generated = String::from(
        "/// Every test connector: (file name, path of the component).\npub const ALL: &[(&str, &str)] = &[\n",
    );
    for (package, features, name) in GUESTS {
        let built = build(&root, &target_dir, package, features);
        let dest = target_dir.join(format!("{name}.wasm"));
        std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
        generated.push_str(&format!("    ({name:?}, {:?}),\n", dest.display().to_string()));
    }
    generated.push_str("];\n");
    std::fs::write(out.join("artifacts.rs"), generated).expect("writing artifacts.rs");
}

/// Build `package` (with `features`) in release for wasm32-wasip2; the path of its component.
fn build(root: &Path, target_dir: &Path, package: &str, features: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--package", package])
        .arg("--target-dir")
        .arg(target_dir)
        // The outer build's flags are for the host, not for wasm.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    let status = command.status().unwrap_or_else(|e| panic!("running cargo for {package}: {e}"));
    assert!(
        status.success(),
        "building {package} for wasm32-wasip2 failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    let file = package.replace('-', "_");
    target_dir.join("wasm32-wasip2/release").join(format!("{file}.wasm"))
}
