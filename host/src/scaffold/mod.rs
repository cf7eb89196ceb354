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

/// The SDK this build of apiary ships, for the scaffold's path dependency.
pub fn bundled_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")
}

/// Write a new connector crate `name` in `dir/name`, depending on the SDK at `sdk`. Returns
/// the crate's folder.
pub fn scaffold(name: &str, dir: &Path, sdk: &Path) -> Result<PathBuf, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(ScaffoldError::Exists(root));
    }
    let sdk = std::fs::canonicalize(sdk).unwrap_or_else(|_| sdk.to_path_buf());
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('_', "-"))
            .replace("{{lib}}", &name.replace('-', "_"))
            .replace("{{Type}}", &type_name(name))
            .replace("{{sdk}}", &sdk.display().to_string())
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
const FILES: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("template/Cargo.toml.txt")),
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
        let root = scaffold("my-api", dir.path(), &bundled_sdk()).unwrap();
        let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct MyApi;") && lib.contains("export_connector!(MyApi)"));
        let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-api-connector\"") && cargo.contains("apiary-sdk = { path = "));
        assert!(matches!(scaffold("my-api", dir.path(), &bundled_sdk()), Err(ScaffoldError::Exists(_))));
        assert!(matches!(scaffold("My API", dir.path(), &bundled_sdk()), Err(ScaffoldError::BadName(_))));
    }
}
