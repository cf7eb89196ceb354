//! Injecting credentials into a request at send time, from the manifest's auth scheme and the
//! pipeline's secrets.

use crate::model::Auth;
use crate::secrets::Secrets;

/// Applies a manifest's auth scheme with the pipeline's secrets.
#[derive(Debug, Clone)]
pub struct AuthInjector {
    auth: Auth,
    secrets: Secrets,
}

impl AuthInjector {
    /// Auth for requests; a scheme whose secrets are missing sends no credentials.
    pub fn new(auth: Auth, secrets: Secrets) -> AuthInjector {
        let auth = if secrets.missing_for(&auth).is_empty() { auth } else { Auth::None };
        AuthInjector { auth, secrets }
    }

    /// The secrets, for redacting text.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Add credentials to an outgoing request: a query parameter goes into `url`, the rest into
    /// headers of `builder`.
    pub fn apply(&self, url: &mut url::Url, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let secret = |name: &str| self.secrets.get(name).unwrap_or_default().to_string();
        match &self.auth {
            Auth::None => builder,
            Auth::Bearer { secret: name } => builder.bearer_auth(secret(name)),
            Auth::Header { name: header, secret: name } => builder.header(header.as_str(), secret(name)),
            Auth::Query { param, secret: name } => {
                url.query_pairs_mut().append_pair(param, &secret(name));
                builder
            }
            Auth::Basic { user, password } => builder.basic_auth(secret(user), Some(secret(password))),
        }
    }
}
