//! JSON pointers (RFC 6901) followed through a body with the one-pass parser: only the values
//! on the way are looked at, everything else is skipped without being built.

use jiter::{Jiter, JiterError, Peek};

use super::walk::{Picked, not_json, take};
use crate::ParseError;

/// The value at JSON pointer `pointer` in `body`, reading no further than where it is found
/// (values before it are skipped, not built).
pub(crate) fn value_at<'b>(body: &'b str, pointer: &str) -> Result<Option<Picked<'b>>, ParseError> {
    let mut jiter = Jiter::new(body.as_bytes());
    follow(&mut jiter, body, &pointer_tokens(pointer), Rest::Leave).map_err(|e| not_json(&e))
}

/// Whether [`follow`] reads the rest of a value after finding what it looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rest {
    /// Consume the whole value: the walk goes on after it.
    Consume,
    /// Stop as soon as the pointer's value is read: nothing else is needed.
    Leave,
}

/// The value after `tokens` (a pointer's remaining steps) inside the value at the parser's
/// position, or `None` if it is not there.
pub(super) fn follow<'b>(
    jiter: &mut Jiter<'b>,
    body: &'b str,
    tokens: &[String],
    rest: Rest,
) -> Result<Option<Picked<'b>>, JiterError> {
    let peek = jiter.peek()?;
    let Some((token, deeper)) = tokens.split_first() else {
        return take(jiter, body, peek).map(Some);
    };
    let mut found = None;
    match peek {
        Peek::Object => {
            let mut key = jiter.known_object()?.map(|k| k == token.as_str());
            while let Some(wanted) = key {
                if wanted {
                    found = follow(jiter, body, deeper, rest)?;
                    if rest == Rest::Leave {
                        return Ok(found);
                    }
                } else {
                    jiter.next_skip()?;
                }
                key = jiter.next_key()?.map(|k| k == token.as_str());
            }
        }
        Peek::Array => {
            let index: Option<usize> = token.parse().ok();
            let (mut i, mut element) = (0, jiter.known_array()?);
            while element.is_some() {
                if Some(i) == index {
                    found = follow(jiter, body, deeper, rest)?;
                    if rest == Rest::Leave {
                        return Ok(found);
                    }
                } else {
                    jiter.next_skip()?;
                }
                (i, element) = (i + 1, jiter.array_step()?);
            }
        }
        _ => jiter.known_skip(peek)?,
    }
    Ok(found)
}

/// The reference tokens of a JSON pointer (RFC 6901): `/a~1b/0` is `["a/b", "0"]`.
pub(super) fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|t| t.replace("~1", "/").replace("~0", "~")).collect()
}
