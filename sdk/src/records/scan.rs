//! [`scan`]: a page's records, their keys, rejects, newest cursor and next-page token, all in
//! one pass over the body.

use super::walk::{Location, Picked, Walk};
use crate::{Exchange, Page, ParseError, Record, Reject, Request};

/// Start a one-pass scan of `exchange`'s body: name the key, cursor and required fields, then
/// finish with [`PageScan::array`] (the body is an array of records) or [`PageScan::field`]
/// (the records are an array under a field of the body's object).
///
/// One walk over the body splits the records (each an exact slice of the body: every digit
/// kept), extracts their primary key and cursor, checks the required fields, and reads the
/// next-page token: nothing is decoded that the page does not need, nothing is read twice.
///
/// ```
/// # use apiary_sdk::{Exchange, Request, Response};
/// # fn exchange(url: &str, body: &str) -> Exchange {
/// #     Exchange { request: Request::get("issues", url), response: Response { status: 200, headers: vec![], body: body.as_bytes().to_vec() }, fetched_at_ms: 0 }
/// # }
/// let x = exchange("/issues", r#"[{"id":1,"title":"a","updated_at":"2024-03-01T00:00:00Z","n":1.50},
///                               {"id":2,"updated_at":"2024-03-02T00:00:00Z"},
///                               {"title":"no id"}]"#);
/// let page = apiary_sdk::records::scan(&x).key(&["id"]).cursor("updated_at").require(&["title"]).array().unwrap();
/// assert_eq!(page.records[0].json, r#"{"id":1,"title":"a","updated_at":"2024-03-01T00:00:00Z","n":1.50}"#);
/// assert_eq!(page.records[0].key.as_deref(), Some("1"));
/// assert_eq!(page.rejects[0].reason, "required field `title` is missing or null");
/// assert_eq!(page.rejects[1].reason, "record has no primary key (id)");
/// assert_eq!(page.max_cursor.as_deref(), Some("2024-03-01T00:00:00Z"), "rejected records do not count");
/// ```
pub fn scan(exchange: &Exchange) -> PageScan<'_> {
    PageScan { exchange, stream: None, key: &[], cursor: None, required: &[], next_at: None }
}

/// What [`scan`] looks for in a page; build it up, then call [`array`](PageScan::array) or
/// [`field`](PageScan::field).
#[derive(Debug, Clone, Copy)]
#[must_use = "a scan does nothing until `.array()` or `.field(name)`"]
pub struct PageScan<'a> {
    exchange: &'a Exchange,
    stream: Option<&'a str>,
    key: &'a [&'a str],
    cursor: Option<&'a str>,
    required: &'a [&'a str],
    next_at: Option<&'a str>,
}

/// The outcome of a [`scan`]: kept records, rejected ones with their reason, the newest cursor
/// among the kept records, and the next-page token if one was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The records kept, each the exact JSON text of one element, keyed.
    pub records: Vec<Record>,
    /// Records without their primary key or a required field: they become dead letters.
    pub rejects: Vec<Reject>,
    /// The largest value of the cursor field among [`records`](Scanned::records) (ISO 8601
    /// timestamps compare as text, numbers as numbers).
    pub max_cursor: Option<String>,
    /// The value at the [`next_at`](PageScan::next_at) pointer: a string's contents or a
    /// number's text; `None` when absent, `null` or empty.
    pub next: Option<String>,
}

impl<'a> PageScan<'a> {
    /// The stream the records belong to (by default the exchange's endpoint).
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("search", "/s"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"[{"id":1}]"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).stream("issues").array().unwrap();
    /// assert_eq!(page.records[0].stream, "issues");
    /// ```
    pub fn stream(self, stream: &'a str) -> Self {
        PageScan { stream: Some(stream), ..self }
    }

    /// The primary key fields: their values, strings unquoted, joined by `/`. A record missing
    /// one (or holding `null`) is rejected. Without `key`, records have no key.
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("members", "/m"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"[{"org":"acme","n":7}]"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).key(&["org", "n"]).array().unwrap();
    /// assert_eq!(page.records[0].key.as_deref(), Some("acme/7"));
    /// ```
    pub fn key(self, fields: &'a [&'a str]) -> Self {
        PageScan { key: fields, ..self }
    }

    /// The cursor field (e.g. `updated_at`): its largest value among the kept records becomes
    /// [`Scanned::max_cursor`], the stream's checkpoint.
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("charges", "/c"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"[{"created":9},{"created":10}]"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).cursor("created").array().unwrap();
    /// assert_eq!(page.max_cursor.as_deref(), Some("10"), "numbers compare as numbers");
    /// ```
    pub fn cursor(self, field: &'a str) -> Self {
        PageScan { cursor: Some(field), ..self }
    }

    /// Fields every record must have, not `null`: a record missing one is rejected with a
    /// reason naming the fields it lacks.
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("orders", "/o"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"[{"id":1,"total":null}]"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).require(&["total", "currency"]).array().unwrap();
    /// assert_eq!(page.rejects[0].reason, "required fields `total`, `currency` are missing or null");
    /// ```
    pub fn require(self, fields: &'a [&'a str]) -> Self {
        PageScan { required: fields, ..self }
    }

    /// Also read the next-page URL or token at JSON pointer `pointer` (e.g.
    /// `/meta/next_cursor`) in the same pass: it lands in [`Scanned::next`], for
    /// [`paginate::next_from_token`](crate::paginate::next_from_token).
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("events", "/e"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"{"items":[{"id":1}],"meta":{"next_cursor":"c2"}}"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).next_at("/meta/next_cursor").field("items").unwrap();
    /// assert_eq!(page.next.as_deref(), Some("c2"));
    /// ```
    pub fn next_at(self, pointer: &'a str) -> Self {
        PageScan { next_at: Some(pointer), ..self }
    }

    /// Scan a body that is a JSON array of records. Anything else is [`ParseError::Malformed`].
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("items", "/i"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"{"message":"rate limited"}"#.to_vec() }, fetched_at_ms: 0 };
    /// let err = apiary_sdk::records::scan(&x).array().unwrap_err();
    /// assert!(matches!(err, apiary_sdk::ParseError::Malformed(m) if m.contains("not a JSON array")));
    /// ```
    pub fn array(self) -> Result<Scanned, ParseError> {
        self.run(Location::Array)
    }

    /// Scan the array of records under `name` in the body's object (`{"data": [...]}`); a body
    /// that is not an object, or without `name`, is [`ParseError::Malformed`].
    ///
    /// ```
    /// # let x = apiary_sdk::Exchange { request: apiary_sdk::Request::get("charges", "/c"), response: apiary_sdk::Response { status: 200, headers: vec![], body: br#"{"has_more":false,"data":[{"id":"ch_1"}]}"#.to_vec() }, fetched_at_ms: 0 };
    /// let page = apiary_sdk::records::scan(&x).key(&["id"]).field("data").unwrap();
    /// assert_eq!(page.records[0].key.as_deref(), Some("ch_1"));
    /// ```
    pub fn field(self, name: &str) -> Result<Scanned, ParseError> {
        self.run(Location::Field(name))
    }

    fn run(self, location: Location<'_>) -> Result<Scanned, ParseError> {
        let stream = self.stream.unwrap_or_else(|| self.exchange.stream());
        let fields = Fields::new(self.key, self.cursor, self.required);
        let mut scanned = Scanned::default();
        let walk = Walk { fields: &fields.names, pointer: self.next_at };
        let next = super::walk_body(&walk, &self.exchange.response.body, location, |raw, values| {
            let record = Record { stream: stream.to_string(), key: None, json: raw.to_string() };
            match fields.check(values) {
                Check::Kept(key, cursor) => {
                    scanned.records.push(Record { key, ..record });
                    crate::checkpoint::keep_newest(&mut scanned.max_cursor, cursor);
                }
                Check::Rejected(reason) => scanned.rejects.push(Reject { reason, payload: record.json }),
            }
        })?;
        scanned.next = next.as_ref().and_then(Picked::scalar_text).filter(|t| !t.is_empty()).map(str::to_string);
        Ok(scanned)
    }
}

impl Scanned {
    /// The stream's new checkpoint: the newest of `previous` and [`max_cursor`](Scanned::max_cursor).
    ///
    /// ```
    /// let page = apiary_sdk::records::Scanned { max_cursor: Some("2024-01-02".into()), ..Default::default() };
    /// assert_eq!(page.checkpoint(Some("2024-03-01")).as_deref(), Some("2024-03-01"));
    /// assert_eq!(page.checkpoint(None).as_deref(), Some("2024-01-02"));
    /// ```
    pub fn checkpoint(&self, previous: Option<&str>) -> Option<String> {
        let mut best = previous.map(str::to_string);
        crate::checkpoint::keep_newest(&mut best, self.max_cursor.as_deref());
        best
    }

    /// The [`Page`] `parse` returns: these records and rejects, the follow-up requests `next`,
    /// and [`max_cursor`](Scanned::max_cursor) as the checkpoint.
    ///
    /// ```
    /// let scanned = apiary_sdk::records::Scanned { max_cursor: Some("7".into()), ..Default::default() };
    /// let page = scanned.into_page(Some(apiary_sdk::Request::get("items", "/items?page=2")));
    /// assert_eq!((page.next.len(), page.checkpoint.as_deref()), (1, Some("7")));
    /// ```
    pub fn into_page(self, next: impl IntoIterator<Item = Request>) -> Page {
        Page {
            records: self.records,
            rejects: self.rejects,
            next: next.into_iter().collect(),
            checkpoint: self.max_cursor,
        }
    }
}

/// The fields one scan picks: key fields first, then the cursor, then required fields.
struct Fields<'a> {
    names: Vec<&'a str>,
    key: usize,
    cursor: Option<usize>,
    required: &'a [&'a str],
}

/// What becomes of one record.
enum Check<'v> {
    /// Kept, with its key and its cursor value.
    Kept(Option<String>, Option<&'v str>),
    /// Rejected for this reason.
    Rejected(String),
}

impl<'a> Fields<'a> {
    fn new(key: &'a [&'a str], cursor: Option<&'a str>, required: &'a [&'a str]) -> Fields<'a> {
        let mut names = key.to_vec();
        names.extend(cursor);
        names.extend(required);
        Fields { names, key: key.len(), cursor: cursor.map(|_| key.len()), required }
    }

    fn check<'v>(&self, values: &'v [Option<Picked<'_>>]) -> Check<'v> {
        let key = match super::key_text(&values[..self.key]) {
            Some(key) => Some(key),
            None if self.key > 0 => return Check::Rejected(super::no_key_reason(&self.names[..self.key])),
            None => None,
        };
        let required = &values[self.names.len() - self.required.len()..];
        let missing: Vec<&str> = (self.required.iter().zip(required))
            .filter(|(_, v)| v.as_ref().and_then(Picked::text).is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Check::Rejected(missing_reason(&missing));
        }
        Check::Kept(key, self.cursor.and_then(|i| values[i].as_ref()?.text()))
    }
}

fn missing_reason(missing: &[&str]) -> String {
    let names = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
    match missing.len() {
        1 => format!("required field {names} is missing or null"),
        _ => format!("required fields {names} are missing or null"),
    }
}

#[cfg(test)]
mod tests;
