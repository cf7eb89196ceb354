//! Recorded exchanges, replayed by method and path.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// One recorded response.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
struct OctokitExchange {
    method: String,
    path: String,
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    response: Value,
}

/// Every recorded exchange of a folder, by `METHOD path`.
#[derive(Debug, Default)]
pub struct Recordings {
    exact: HashMap<String, Recorded>,
    by_path: HashMap<String, Recorded>,
}

impl Recordings {
    /// Load every `*.json` file of octokit fixtures in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Recordings> {
        let mut recordings = Recordings::default();
        let mut files: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
            let text = std::fs::read_to_string(file)?;
            let Ok(exchanges) = serde_json::from_str::<Vec<OctokitExchange>>(&text) else {
                continue;
            };
            for e in exchanges {
                recordings.add(e);
            }
        }
        Ok(recordings)
    }

    fn add(&mut self, e: OctokitExchange) {
        let method = e.method.to_ascii_uppercase();
        let body = match &e.response {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Null => Vec::new(),
            json => serde_json::to_vec(json).expect("JSON encodes"),
        };
        let headers = e
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection"))
            .map(|(name, v)| (name.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
        let recorded = Recorded { status: e.status, headers, body };
        let path_only = e.path.split('?').next().unwrap_or_default();
        self.by_path.entry(format!("{method} {path_only}")).or_insert_with(|| recorded.clone());
        self.exact.insert(format!("{method} {}", e.path), recorded);
    }

    /// The recording for a request: the exact path and query first, then the path alone.
    pub fn find(&self, method: &str, path_and_query: &str) -> Option<&Recorded> {
        let path = path_and_query.split('?').next().unwrap_or_default();
        self.exact.get(&format!("{method} {path_and_query}")).or_else(|| self.by_path.get(&format!("{method} {path}")))
    }
}
