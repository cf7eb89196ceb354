//! Sending a `Link` chain's next page ahead: while page N is parsed, the page its
//! `Link: rel="next"` header names is already on its way, so the chain's fetch and parse overlap
//! instead of taking turns.
//!
//! Only a guess, checked twice. A stream guesses only once its last page asked for exactly the
//! page its own `Link` header named (one `GET`, no body): the guess is that request with the
//! new `Link` target. The response is used only when the connector then asks for the same
//! request (endpoint, method, headers, body, absolute URL), as that request's first attempt;
//! it is stored raw then, like any response, before anything parses it. A request the stream
//! already sent is never guessed (the loop guard's memory). A guess never asked for (the page
//! naming it failed, or the connector asked for something else) is stored as evidence when its
//! stream ends (`raw list` shows it, marked unasked; re-parse skips it); a run being stopped or
//! failing abandons it, and a stream keeps at most [`MAX_UNUSED`] of them.
//! `[http] send-ahead = false` turns guessing off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use url::Url;

use super::SyncError;
use super::loop_guard::loop_key;
use super::shared::{Shared, ToStore};
use crate::clock::now_ms;
use crate::fetch::{Attempt, Target};
use crate::model::{Exchange, Method, Request};
use crate::store::Counts;

/// Unused guesses a stream keeps to store as evidence; beyond this the oldest is abandoned.
const MAX_UNUSED: usize = 4;

/// The requests sent ahead in a run, by stream.
#[derive(Default)]
pub struct SendAhead {
    streams: Mutex<HashMap<String, StreamGuesses>>,
}

/// One stream's guessing state.
#[derive(Default)]
struct StreamGuesses {
    /// The request the stream's last page asked for, when it was exactly that page's
    /// `Link: rel="next"` target: the shape of the next guess.
    template: Option<Request>,
    /// Requests sent ahead and not yet asked for.
    ahead: Vec<Ahead>,
    /// Requests sent ahead that the page naming them did not ask for: kept until the stream
    /// ends, to be stored as evidence.
    unused: Vec<Ahead>,
}

/// A request sent ahead of being asked for; dropping it abandons the request.
pub struct Ahead {
    request: Request,
    url: Url,
    task: JoinHandle<Option<Arrived>>,
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response to a request sent ahead, and when it came (ms since the epoch).
pub struct Arrived {
    /// The attempt, as [`crate::fetch::Fetcher::send`] reports it.
    pub attempt: Attempt,
    /// When the response came.
    pub fetched_at_ms: u64,
}

impl Ahead {
    /// Wait for the response; `None` when the run was stopped before it came.
    pub async fn arrival(mut self) -> Option<Arrived> {
        (&mut self.task).await.ok().flatten()
    }
}

impl SendAhead {
    /// After page `page` of `stream` arrived from `url`: send the page its `Link` header names
    /// ahead, when the stream's last page showed that is what the connector asks for next.
    /// At most `in_flight` requests of a stream are ahead at once.
    pub fn guess(&self, shared: &Arc<Shared>, stream: &str, page: &Exchange, url: &Url, in_flight: usize) {
        let Some(next) = link_next(&page.response.headers, url, shared.fetcher.target()) else { return };
        let mut streams = self.streams.lock().expect("send-ahead lock");
        let guesses = streams.entry(stream.to_string()).or_default();
        let Some(template) = &guesses.template else { return };
        // Only a page of the chain the template came from (same endpoint, method, headers).
        if !same_but_url(template, &page.request)
            || guesses.ahead.len() >= in_flight
            || guesses.ahead.iter().any(|a| a.url == next)
        {
            return;
        }
        let request = Request { url: next.to_string(), ..template.clone() };
        if shared.loop_guard.has_sent(stream, loop_key(shared, &request)) {
            return;
        }
        let (sent, task_shared, task_url) = (request.clone(), shared.clone(), next.clone());
        let task = tokio::spawn(async move {
            tokio::select! {
                biased;
                _ = task_shared.cancel.cancelled() => None,
                attempt = task_shared.fetcher.send(&sent, &task_url, 1) => Some(Arrived { attempt, fetched_at_ms: now_ms() }),
            }
        });
        guesses.ahead.push(Ahead { request, url: next, task });
    }

    /// After a page of `stream` whose `Link: rel="next"` target was `link` was parsed and
    /// asked for `next`: guess again only if that was exactly the `Link` target; a guess of that
    /// target that is not exactly what the page asked for is set aside, unused.
    pub fn learn(&self, stream: &str, link: Option<&Url>, next: &[Request], target: &Target) {
        let followed = match (link, next) {
            (Some(link), [request]) if is_plain_get(request) => {
                target.resolve(&request.url).ok().as_ref() == Some(link)
            }
            _ => false,
        };
        let mut streams = self.streams.lock().expect("send-ahead lock");
        let guesses = streams.entry(stream.to_string()).or_default();
        guesses.template = followed.then(|| next[0].clone());
        let asked = |a: &Ahead| followed && same_but_url(&a.request, &next[0]);
        if let Some(link) = link
            && let Some(found) = guesses.ahead.iter().position(|a| &a.url == link && !asked(a))
        {
            let unused = guesses.ahead.swap_remove(found);
            if guesses.unused.len() == MAX_UNUSED {
                guesses.unused.remove(0);
            }
            guesses.unused.push(unused);
        }
    }

    /// The run failed: abandon every request sent ahead.
    pub fn abandon(&self) {
        self.streams.lock().expect("send-ahead lock").clear();
    }

    /// The request sent ahead that is exactly `request` to `url`, if there is one.
    pub fn take(&self, stream: &str, request: &Request, url: &Url) -> Option<Ahead> {
        let mut streams = self.streams.lock().expect("send-ahead lock");
        let ahead = &mut streams.get_mut(stream)?.ahead;
        let found = ahead.iter().position(|a| &a.url == url && same_but_url(&a.request, request))?;
        Some(ahead.swap_remove(found))
    }

    /// `stream` is done: store the responses of guesses never asked for as evidence (a guess
    /// still on its way is waited for as long as one request may take, unless the run is being
    /// stopped).
    pub async fn give_up(&self, shared: &Shared, stream: &str) -> Result<(), SyncError> {
        let unused = match self.streams.lock().expect("send-ahead lock").remove(stream) {
            Some(guesses) => guesses.unused.into_iter().chain(guesses.ahead).collect::<Vec<_>>(),
            None => return Ok(()),
        };
        for ahead in unused {
            let (request, url) = (ahead.request.clone(), ahead.url.clone());
            let arrival = tokio::time::timeout(shared.fetcher.http().timeout, ahead.arrival());
            let Ok(Some(Arrived { attempt, fetched_at_ms })) = arrival.await else { continue };
            let Ok(response) = attempt.result else { continue };
            let counts = Counts {
                requests: 1,
                throttled: u64::from(response.status == 429),
                rate_waited_ms: attempt.rate_waited.as_millis() as u64,
                ..Counts::default()
            };
            let request = Request { url: shared.fetcher.target().relative(url.as_str()), ..request };
            let exchange = Arc::new(Exchange { request, response, fetched_at_ms });
            let duration_ms = attempt.duration.as_millis() as u64;
            let (attempt, hop, to_parse, unasked) = (1, 0, None, true);
            let evidence =
                ToStore { stream, exchange: &exchange, attempt, hop, duration_ms, to_parse, counts, unasked };
            shared.store_exchange(evidence).await?;
        }
        Ok(())
    }
}

/// The absolute URL a response's `Link: rel="next"` header names (resolved against the page's
/// own `url`), when the run may fetch it.
pub fn link_next(headers: &[crate::model::Header], url: &Url, target: &Target) -> Option<Url> {
    let link = headers.iter().find(|h| h.name.eq_ignore_ascii_case("link"))?;
    let next = url.join(apiary_sdk::link_relation(&link.value, "next")?).ok()?;
    target.resolve(next.as_str()).ok()
}

/// A `GET` without a body: the only requests sent ahead.
fn is_plain_get(request: &Request) -> bool {
    request.method == Method::Get && request.body.is_none()
}

/// Whether two requests are the same apart from how their URLs are written.
fn same_but_url(a: &Request, b: &Request) -> bool {
    a.endpoint == b.endpoint && a.method == b.method && a.headers == b.headers && a.body == b.body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Header;

    fn target() -> Target {
        Target::new("http://127.0.0.1:9/api", "http://127.0.0.1:9/api", &[]).unwrap()
    }

    fn link(value: &str) -> Vec<Header> {
        vec![Header::new("Link", value)]
    }

    fn get(url: &str) -> Request {
        Request { endpoint: "issues".into(), method: Method::Get, url: url.into(), headers: vec![], body: None }
    }

    #[test]
    fn the_next_link_is_resolved_against_the_page_and_checked_against_the_allowed_hosts() {
        let page = Url::parse("http://127.0.0.1:9/api/issues?page=1").unwrap();
        let next = |value: &str| link_next(&link(value), &page, &target()).map(String::from);
        let both =
            r#"<http://127.0.0.1:9/api/issues?page=2>; rel="next", <http://127.0.0.1:9/api/issues?page=9>; rel="last""#;
        assert_eq!(next(both).as_deref(), Some("http://127.0.0.1:9/api/issues?page=2"));
        assert_eq!(next(r#"<issues?page=3>; rel="next""#).as_deref(), Some("http://127.0.0.1:9/api/issues?page=3"));
        assert_eq!(next(r#"<http://elsewhere.example/p2>; rel="next""#), None, "a host the run may not reach");
        assert_eq!(next(r#"<http://127.0.0.1:9/api/issues?page=9>; rel="last""#), None);
        assert_eq!(link_next(&[], &page, &target()), None);
    }

    #[test]
    fn a_stream_guesses_only_after_a_page_asked_for_exactly_its_link() {
        let (ahead, target) = (SendAhead::default(), target());
        let link = Url::parse("http://127.0.0.1:9/api/issues?page=2").unwrap();
        let template = |ahead: &SendAhead| ahead.streams.lock().unwrap()["issues"].template.clone();
        ahead.learn("issues", Some(&link), &[get("/issues?page=2")], &target);
        assert_eq!(template(&ahead), Some(get("/issues?page=2")), "the same URL written relative");
        ahead.learn("issues", Some(&link), &[get("/issues?page=2&since=x")], &target);
        assert_eq!(template(&ahead), None, "another request");
        ahead.learn("issues", Some(&link), &[get("/issues?page=2"), get("/issues?page=3")], &target);
        assert_eq!(template(&ahead), None, "more than one");
        let post = Request { method: Method::Post, ..get("/issues?page=2") };
        ahead.learn("issues", Some(&link), &[post], &target);
        assert_eq!(template(&ahead), None, "only a GET is sent ahead");
        ahead.learn("issues", None, &[get("/issues?page=2")], &target);
        assert_eq!(template(&ahead), None, "no Link header");
    }

    /// `issues` with page 2 sent ahead (its task done, with nothing); the page's URL.
    fn guessed_page_2(ahead: &SendAhead) -> Url {
        let url = Url::parse("http://127.0.0.1:9/api/issues?page=2").unwrap();
        let guess = Ahead { request: get(url.as_str()), url: url.clone(), task: tokio::spawn(async { None }) };
        ahead.streams.lock().unwrap().entry("issues".into()).or_default().ahead.push(guess);
        url
    }

    #[tokio::test]
    async fn a_guess_the_page_did_not_ask_for_is_set_aside_and_frees_its_slot() {
        let (ahead, target) = (SendAhead::default(), target());
        let url = guessed_page_2(&ahead);
        ahead.learn("issues", Some(&url), &[], &target);
        let streams = ahead.streams.lock().unwrap();
        assert_eq!((streams["issues"].ahead.len(), streams["issues"].unused.len()), (0, 1));
    }

    #[tokio::test]
    async fn a_guess_of_the_right_url_with_other_headers_is_set_aside() {
        let (ahead, target) = (SendAhead::default(), target());
        let url = guessed_page_2(&ahead);
        let asked = Request { headers: vec![Header::new("X-Cursor", "c2")], ..get("/issues?page=2") };
        ahead.learn("issues", Some(&url), std::slice::from_ref(&asked), &target);
        let streams = ahead.streams.lock().unwrap();
        assert_eq!((streams["issues"].ahead.len(), streams["issues"].unused.len()), (0, 1));
        assert_eq!(streams["issues"].template, Some(asked), "the next guess carries the new headers");
    }

    #[tokio::test]
    async fn a_guess_is_taken_only_by_the_same_request() {
        let ahead = SendAhead::default();
        let url = guessed_page_2(&ahead);
        let with_header = Request { headers: vec![Header::new("Accept", "x")], ..get("/issues?page=2") };
        assert!(ahead.take("issues", &with_header, &url).is_none(), "other headers");
        assert!(ahead.take("events", &get("/issues?page=2"), &url).is_none(), "another stream");
        let other = Url::parse("http://127.0.0.1:9/api/issues?page=3").unwrap();
        assert!(ahead.take("issues", &get("/issues?page=3"), &other).is_none(), "another URL");
        assert!(ahead.take("issues", &get("/issues?page=2"), &url).is_some());
        assert!(ahead.take("issues", &get("/issues?page=2"), &url).is_none(), "taken once");
    }
}
