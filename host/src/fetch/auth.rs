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

    /// Remove from `url` the credentials this scheme puts in URLs (its query parameter), keeping
    /// the rest of the query as written. A redirect's `Location` may echo them: they must reach
    /// neither another origin nor the store.
    pub fn strip(&self, url: &mut url::Url) {
        let (Auth::Query { param, .. }, Some(query)) = (&self.auth, url.query()) else { return };
        let is_credential =
            |pair: &str| url::form_urlencoded::parse(pair.as_bytes()).next().is_some_and(|(key, _)| key == *param);
        if !query.split('&').any(is_credential) {
            return;
        }
        let kept: Vec<&str> = query.split('&').filter(|pair| !is_credential(pair)).collect();
        let kept = kept.join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_the_query_credential_and_keeps_the_rest_as_written() {
        let auth = Auth::Query { param: "api_key".into(), secret: "token".into() };
        let injector = AuthInjector::new(auth, Secrets::from_values([("token".into(), "s3cr3t".into())]));
        let mut url = url::Url::parse("http://127.0.0.1/x?q=a%3Ab&api_key=s3cr3t&page=2&api%5Fkey=again").unwrap();
        injector.strip(&mut url);
        assert_eq!(url.as_str(), "http://127.0.0.1/x?q=a%3Ab&page=2");
        let mut only = url::Url::parse("http://127.0.0.1/x?api_key=s3cr3t").unwrap();
        injector.strip(&mut only);
        assert_eq!(only.as_str(), "http://127.0.0.1/x");
        let bearer = AuthInjector::new(Auth::Bearer { secret: "token".into() }, Secrets::default());
        let mut untouched = url::Url::parse("http://127.0.0.1/x?api_key=1").unwrap();
        bearer.strip(&mut untouched);
        assert_eq!(untouched.query(), Some("api_key=1"));
    }
}
