//! Counting a `Link` chain's pages on: when page N's `Link` named page N+1 by counting one query
//! parameter up (`page=2` -> `page=3`, `offset=100` -> `offset=200`), page N+2 is most likely
//! the same step again. A guess only: it is used when the connector asks for exactly it.

use url::Url;

/// The URL after `next` when `url` -> `next` changed exactly one query parameter, a whole
/// number written plainly, by counting it up: the same step again. `None` for any other
/// change (an opaque cursor, another path, a parameter added or dropped). The query is edited
/// as written, so the guess is spelled as the API spells its own links.
///
/// ```text
/// /issues?per_page=100&page=2 -> /issues?per_page=100&page=3  gives  /issues?per_page=100&page=4
/// ```
pub fn step_further(url: &Url, next: &Url) -> Option<Url> {
    if url.origin() != next.origin() || url.path() != next.path() || url.fragment() != next.fragment() {
        return None;
    }
    let from: Vec<&str> = url.query()?.split('&').collect();
    let to: Vec<&str> = next.query()?.split('&').collect();
    if from.len() != to.len() {
        return None;
    }
    let mut changed = from.iter().zip(&to).enumerate().filter(|(_, (a, b))| a != b);
    let (index, (before, after)) = changed.next()?;
    if changed.next().is_some() {
        return None;
    }
    let (name, before) = before.split_once('=')?;
    let (same_name, after) = after.split_once('=')?;
    if name != same_name {
        return None;
    }
    let (before, after) = (plain_number(before)?, plain_number(after)?);
    let further = after.checked_add(after.checked_sub(before).filter(|step| *step > 0)?)?;
    let mut query = to.clone();
    let counted = format!("{name}={further}");
    query[index] = &counted;
    let mut stepped = next.clone();
    stepped.set_query(Some(&query.join("&")));
    Some(stepped)
}

/// A whole number written plainly (no sign, no leading zero), as a page or an offset is.
fn plain_number(text: &str) -> Option<u64> {
    let number: u64 = text.parse().ok()?;
    (number.to_string() == text).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn further(url: &str, next: &str) -> Option<String> {
        step_further(&Url::parse(url).unwrap(), &Url::parse(next).unwrap()).map(String::from)
    }

    #[test]
    fn a_counted_parameter_is_counted_on_by_the_same_step() {
        let base = "http://127.0.0.1:9/api/issues";
        assert_eq!(
            further(&format!("{base}?per_page=100&page=2"), &format!("{base}?per_page=100&page=3")).as_deref(),
            Some("http://127.0.0.1:9/api/issues?per_page=100&page=4")
        );
        assert_eq!(
            further(&format!("{base}?offset=100&limit=100"), &format!("{base}?offset=200&limit=100")).as_deref(),
            Some("http://127.0.0.1:9/api/issues?offset=300&limit=100")
        );
        assert_eq!(
            further(&format!("{base}?q=a%20b&page=9"), &format!("{base}?q=a%20b&page=10")).as_deref(),
            Some("http://127.0.0.1:9/api/issues?q=a%20b&page=11"),
            "the rest of the query as written"
        );
    }

    #[test]
    fn anything_but_one_counted_parameter_is_not_guessed() {
        let base = "http://127.0.0.1:9/api/issues";
        let no = |url: &str, next: &str| assert_eq!(further(&format!("{base}{url}"), &format!("{base}{next}")), None);
        no("?per_page=100", "?per_page=100&page=2");
        no("?cursor=abc", "?cursor=abd");
        no("?page=3", "?page=2");
        no("?page=3", "?page=3");
        no("?page=1&since=5", "?page=2&since=6");
        no("?page=01", "?page=02");
        no("?page=1", "?pages=2");
        no("?page=18446744073709551614", "?page=18446744073709551615");
        assert_eq!(further(&format!("{base}?page=1"), "http://127.0.0.1:9/api/other?page=2"), None, "another path");
    }
}
