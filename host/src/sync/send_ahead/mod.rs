//! Sending a `Link` chain's next page ahead: while page N is parsed, the page its
//! `Link: rel="next"` header names is already on its way, so the chain's fetch and parse overlap
//! instead of taking turns. On an endpoint allowing `n` requests in flight (`max_in_flight`),
//! when the `Link` counted a query parameter up ([`step::step_further`]), the pages after it are
//! counted on and sent too, up to `n` ahead: the chain's fetches then overlap each other as well.
//!
//! Only a guess, checked twice. A stream guesses only once its last page asked for exactly the
//! page its own `Link` header named (one `GET`, no body): the guess is that request with the
//! new `Link` target. The response is used only when the connector then asks for the same
//! request (endpoint, method, headers, body, absolute URL), as that request's first attempt;
//! it is stored raw then, like any response, before anything parses it. A request the stream
//! already sent is never guessed (the loop guard's memory). A guess never asked for (the page
//! naming it failed, or the connector asked for something else) is stored as evidence when its
//! stream ends (`raw list` shows it, marked unasked; re-parse skips it); a run being stopped or
//! failing abandons it, and a stream keeps at most [`MAX_UNUSED`] of them. A page counted on is
//! set aside the same way once the page before it names another (the chain's last page names
//! none). `[http] send-ahead = false` turns guessing off.

mod step;

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
    /// For a page counted on past a `Link` target: that target, whose own `Link` must name this
    /// page. `None` for a page a `Link` header named.
    after: Option<Url>,
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
    /// ahead, when the stream's last page showed that is what the connector asks for next, and
    /// the page after it when the `Link` counted a query parameter up. At most `in_flight`
    /// requests of a stream are ahead at once. A page counted on past this one that its `Link`
    /// does not name is set aside.
    pub fn guess(&self, shared: &Arc<Shared>, stream: &str, page: &Exchange, url: &Url, in_flight: usize) {
        let next = link_next(&page.response.headers, url, shared.fetcher.target());
        let mut streams = self.streams.lock().expect("send-ahead lock");
        let guesses = streams.entry(stream.to_string()).or_default();
        guesses.set_aside_where(|a| a.after.as_ref() == Some(url) && Some(&a.url) != next.as_ref());
        let (Some(next), Some(template)) = (next, guesses.template.clone()) else { return };
        // Only a page of the chain the template came from (same endpoint, method, headers).
        if !same_but_url(&template, &page.request) {
            return;
        }
        for (target, after) in counted_on(url, next, in_flight) {
            if guesses.ahead.len() >= in_flight {
                return;
            }
            if guesses.ahead.iter().any(|a| a.url == target) {
                continue;
            }
            let request = Request { url: target.to_string(), ..template.clone() };
            if shared.loop_guard.has_sent(stream, loop_key(shared, &request)) {
                return;
            }
            let task = send(shared, request.clone(), target.clone());
            guesses.ahead.push(Ahead { request, url: target, after, task });
        }
    }

    /// After a page of `stream` whose `Link: rel="next"` target was `link` was parsed and
    /// asked for `next`: guess again only if that was exactly the `Link` target; a guess of that
    /// target that is not exactly what the page asked for is set aside, unused, and so are the
    /// pages counted on past it when the page did not follow its `Link`.
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
        if let Some(link) = link {
            // The link's page, unless asked for; and the pages counted on past it, which will
            // not come when the link is not followed.
            guesses.set_aside_where(|a| (&a.url == link && !asked(a)) || (a.after.as_ref() == Some(link) && !followed));
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

/// The pages to send ahead after a page from `url` whose `Link` names `next`: `next`, then up
/// to `count` in all by counting on the same step, each with the page whose `Link` must name it.
fn counted_on(url: &Url, next: Url, count: usize) -> Vec<(Url, Option<Url>)> {
    let mut pages = vec![(next, None)];
    let mut before = url.clone();
    while pages.len() < count {
        let last = pages[pages.len() - 1].0.clone();
        let Some(further) = step::step_further(&before, &last) else { break };
        pages.push((further, Some(last.clone())));
        before = last;
    }
    pages
}

impl StreamGuesses {
    /// Move the requests ahead that `stale` picks to the unused ones, and the pages counted on
    /// past them (their page will not come), keeping the newest [`MAX_UNUSED`].
    fn set_aside_where(&mut self, stale: impl Fn(&Ahead) -> bool) {
        let mut stale_urls = Vec::new();
        loop {
            let is_stale = |a: &Ahead| stale(a) || a.after.as_ref().is_some_and(|after| stale_urls.contains(after));
            let (unused, ahead) = std::mem::take(&mut self.ahead).into_iter().partition::<Vec<_>, _>(is_stale);
            self.ahead = ahead;
            if unused.is_empty() {
                break;
            }
            stale_urls.extend(unused.iter().map(|a| a.url.clone()));
            self.unused.extend(unused);
        }
        let over = self.unused.len().saturating_sub(MAX_UNUSED);
        self.unused.drain(..over);
    }
}

/// Send `request` to `url` as a first attempt on its own task, until the run is stopped.
fn send(shared: &Arc<Shared>, request: Request, url: Url) -> JoinHandle<Option<Arrived>> {
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => None,
            attempt = shared.fetcher.send(&request, &url, 1) => Some(Arrived { attempt, fetched_at_ms: now_ms() }),
        }
    })
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
        let guess =
            Ahead { request: get(url.as_str()), url: url.clone(), after: None, task: tokio::spawn(async { None }) };
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

    #[test]
    fn a_counted_link_is_counted_on_as_far_as_the_endpoint_allows() {
        let url = |page: u32| Url::parse(&format!("http://127.0.0.1:9/api/issues?page={page}")).unwrap();
        let pages = counted_on(&url(1), url(2), 4);
        let expected = [(url(2), None), (url(3), Some(url(2))), (url(4), Some(url(3))), (url(5), Some(url(4)))];
        assert_eq!(pages, expected, "each with the page whose Link must name it");
        assert_eq!(counted_on(&url(1), url(2), 1), [(url(2), None)], "one in flight: the Link target only");
        let cursor = Url::parse("http://127.0.0.1:9/api/issues?cursor=x7").unwrap();
        assert_eq!(counted_on(&url(1), cursor.clone(), 4), [(cursor, None)], "nothing counted");
    }

    #[tokio::test]
    async fn pages_counted_on_past_a_page_whose_link_names_another_are_set_aside_in_a_chain() {
        let url = |page: u32| Url::parse(&format!("http://127.0.0.1:9/api/issues?page={page}")).unwrap();
        let ahead = |page: u32, after: Option<u32>| Ahead {
            request: get(url(page).as_str()),
            url: url(page),
            after: after.map(url),
            task: tokio::spawn(async { None }),
        };
        let ahead = vec![ahead(3, None), ahead(4, Some(3)), ahead(5, Some(4)), ahead(9, Some(8))];
        let mut guesses = StreamGuesses { ahead, ..StreamGuesses::default() };
        // Page 3 came, and its Link names page 7: pages 4 and 5 will not be asked for.
        guesses.set_aside_where(|a| a.after.as_ref() == Some(&url(3)) && a.url != url(7));
        let urls = |list: &[Ahead]| list.iter().map(|a| a.url.query().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(urls(&guesses.ahead), ["page=3", "page=9"]);
        assert_eq!(urls(&guesses.unused), ["page=4", "page=5"]);
    }

    #[tokio::test]
    async fn a_link_not_followed_sets_aside_its_page_and_the_pages_counted_on_past_it() {
        let (ahead, target) = (SendAhead::default(), target());
        let url = guessed_page_2(&ahead);
        let page_3 = Url::parse("http://127.0.0.1:9/api/issues?page=3").unwrap();
        let counted = Ahead {
            request: get(page_3.as_str()),
            url: page_3,
            after: Some(url.clone()),
            task: tokio::spawn(async { None }),
        };
        ahead.streams.lock().unwrap().get_mut("issues").unwrap().ahead.push(counted);
        ahead.learn("issues", Some(&url), &[get("/issues?since=x")], &target);
        let streams = ahead.streams.lock().unwrap();
        assert_eq!((streams["issues"].ahead.len(), streams["issues"].unused.len()), (0, 2));
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
