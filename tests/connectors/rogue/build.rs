//! The rogue connector keeps a megabyte of static memory (`remember`'s far byte): more than the
//! 2 MiB every connector of the workspace starts with (`.cargo/config.toml`) leaves room for
//! beside the stack, so it starts with 4 MiB (the linker takes the last `--initial-memory`).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=--initial-memory=4194304");
    }
}
