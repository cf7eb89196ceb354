//! Redirects, followed by the host one hop at a time so that every hop is checked against the
//! same allow-list and scheme rules as any request, and stored. Credentials go only to the base
//! URL's origin; no `Referer` is ever sent.

use url::Url;

use super::Target;
use crate::model::{Method, Response, header};

/// Statuses that redirect to their `Location`.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// Where a redirect leads, when the response is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// Follow it: the next URL and method.
    Follow {
        /// The absolute URL of the next hop.
        url: Url,
        /// Its method (a 303 turns any method into GET).
        method: Method,
    },
    /// The redirect may not be followed: why (an undeclared host, a plain-http hop).
    Refused(String),
}

/// The redirect `response` (to a request for `from` with `method`) asks for, if it is one.
/// A 3xx without a usable `Location` is not a redirect: it is a final response.
pub fn redirect_of(target: &Target, from: &Url, method: Method, response: &Response) -> Option<Redirect> {
    if !REDIRECTS.contains(&response.status) {
        return None;
    }
    let location = header(&response.headers, "location")?;
    let next = from.join(location.trim()).ok()?;
    Some(match target.check(&next) {
        Ok(()) => {
            let method = if response.status == 303 { Method::Get } else { method };
            Redirect::Follow { url: next, method }
        }
        Err(why) => Redirect::Refused(format!("redirect ({}) refused: {why}", response.status)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Header;

    fn response(status: u16, location: &str) -> Response {
        Response { status, headers: vec![Header::new("Location", location)], body: vec![] }
    }

    #[test]
    fn a_redirect_to_an_undeclared_host_is_refused_and_a_declared_one_followed() {
        let target = Target::new("http://127.0.0.1:8080", "https://api.example.com", &[]).unwrap();
        let from = Url::parse("http://127.0.0.1:8080/items?page=1").unwrap();
        let away = redirect_of(&target, &from, Method::Get, &response(302, "https://evil.example.net/x"));
        assert!(matches!(away, Some(Redirect::Refused(why)) if why.contains("undeclared host evil.example.net")));
        let here = redirect_of(&target, &from, Method::Post, &response(303, "/items?page=2"));
        let expected = Url::parse("http://127.0.0.1:8080/items?page=2").unwrap();
        assert_eq!(here, Some(Redirect::Follow { url: expected, method: Method::Get }));
        assert_eq!(redirect_of(&target, &from, Method::Get, &response(200, "/x")), None);
        let no_location = Response { status: 301, headers: vec![], body: vec![] };
        assert_eq!(redirect_of(&target, &from, Method::Get, &no_location), None);
    }
}
