//! `apiary new NAME`: a connector crate that builds to wasm and whose test passes out of the
//! box: a manifest with one endpoint, a parser, a recorded fixture and a replay test.

use std::path::{Path, PathBuf};

/// The scaffold could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name cannot name a crate.
    #[error("connector name {0:?} must start with a letter and hold only lowercase letters, digits, `-` or `_`")]
    BadName(String),
    /// The folder exists.
    #[error("{0} already exists; choose another name or --dir")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where a new connector gets the SDK from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// The published `apiary-sdk` of this apiary's version (crates.io, or the registry cargo is
    /// configured with).
    Registry,
    /// A local checkout of the SDK (`apiary new --sdk PATH`), for work on apiary itself.
    Path(PathBuf),
}

impl SdkSource {
    /// The dependency's value in `Cargo.toml`.
    fn requirement(&self) -> String {
        match self {
            SdkSource::Registry => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
            SdkSource::Path(path) => {
                let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                format!("{{ path = {:?} }}", path.display().to_string())
            }
        }
    }
}

/// Write a new connector crate `name` in `dir/name`, depending on the SDK from `sdk`. Returns
/// the crate's folder.
pub fn scaffold(name: &str, dir: &Path, sdk: &SdkSource) -> Result<PathBuf, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(ScaffoldError::Exists(root));
    }
    let sdk = sdk.requirement();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('_', "-"))
            .replace("{{lib}}", &name.replace('-', "_"))
            .replace("{{Type}}", &type_name(name))
            .replace("{{sdk}}", &sdk)
    };
    for (file, template) in FILES {
        let path = root.join(file);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("files are in folders"))?;
            std::fs::write(&path, fill(template))
        };
        write().map_err(|source| ScaffoldError::Write { path: path.clone(), source })?;
    }
    Ok(root)
}

/// `my-api` -> `MyApi`.
fn type_name(name: &str) -> String {
    name.split(['-', '_']).filter(|p| !p.is_empty()).map(|p| p[..1].to_uppercase() + &p[1..]).collect()
}

/// The files of a new connector, by path.
const FILES: [(&str, &str); 6] = [
    ("Cargo.toml", include_str!("template/Cargo.toml.txt")),
    (".cargo/config.toml", include_str!("template/cargo-config.toml")),
    ("src/lib.rs", include_str!("template/lib.rs.txt")),
    ("src/tests.rs", include_str!("template/tests.rs.txt")),
    ("fixtures/items.json", include_str!("template/items.json")),
    ("README.md", include_str!("template/README.md")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_crate_and_refuses_bad_names_and_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = scaffold("my-api", dir.path(), &SdkSource::Registry).unwrap();
        let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct MyApi;") && lib.contains("export_connector!(MyApi)"));
        let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let version = concat!("apiary-sdk = \"", env!("CARGO_PKG_VERSION"), "\"");
        assert!(cargo.contains("name = \"my-api-connector\"") && cargo.contains(version), "{cargo}");
        let config = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
        let flags = |toml: &str| toml.lines().find(|l| l.starts_with("rustflags")).map(str::to_string);
        let workspace = include_str!("../../../.cargo/config.toml");
        assert!(config.contains("target-feature=+simd128"), "{config}");
        assert_eq!(flags(&config), flags(workspace), "a new connector builds as the workspace's do");
        let local = scaffold("local", dir.path(), &SdkSource::Path(dir.path().to_path_buf())).unwrap();
        let cargo = std::fs::read_to_string(local.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("apiary-sdk = { path = "), "{cargo}");
        assert!(matches!(scaffold("my-api", dir.path(), &SdkSource::Registry), Err(ScaffoldError::Exists(_))));
        assert!(matches!(scaffold("My API", dir.path(), &SdkSource::Registry), Err(ScaffoldError::BadName(_))));
    }
}
