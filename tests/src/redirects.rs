//! Redirects the mock answers with, to test that the host follows them only where it may.

/// `PATH_PART=TARGET`: a request whose path contains `path_part` is answered `302 Found` to
/// `target` (absolute, or a path on the mock itself), with the request's query kept, as many
/// APIs do when a resource moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectRule {
    /// Which requests are redirected.
    pub path_part: String,
    /// Where to: `http://127.0.0.2:PORT/path` or `/path`.
    pub target: String,
}

impl std::str::FromStr for RedirectRule {
    type Err = String;

    /// `PATH_PART=TARGET`, e.g. `apiary-mock/generated=/repos/moved/generated/issues`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((part, target)) if !part.is_empty() && !target.is_empty() => {
                Ok(RedirectRule { path_part: part.to_string(), target: target.to_string() })
            }
            _ => Err(format!("{s:?}: expected PATH_PART=TARGET_URL")),
        }
    }
}

impl RedirectRule {
    /// Whether a request for `path` is redirected.
    pub fn applies_to(&self, path: &str) -> bool {
        path.contains(&self.path_part)
    }

    /// The `Location` for a request with `query`: the target with the query kept.
    pub fn location(&self, query: &str) -> String {
        match (query.is_empty(), self.target.contains('?')) {
            (true, _) => self.target.clone(),
            (false, true) => format!("{}&{query}", self.target),
            (false, false) => format!("{}?{query}", self.target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_the_query() {
        let rule: RedirectRule = "generated/issues=http://127.0.0.2:9/x".parse().unwrap();
        assert!(rule.applies_to("/repos/o/generated/issues"));
        assert!(!rule.applies_to("/search/issues"));
        assert_eq!(rule.location("page=2&api_key=k"), "http://127.0.0.2:9/x?page=2&api_key=k");
        assert_eq!(rule.location(""), "http://127.0.0.2:9/x");
        assert!("no-equals".parse::<RedirectRule>().is_err());
    }
}
