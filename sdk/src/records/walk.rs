//! The one-pass core: a single validating walk over a response body (with [`jiter`]) that finds
//! where each record starts and ends and picks the few fields a connector named, skipping
//! everything else without building it.

use std::borrow::Cow;

use jiter::{Jiter, JiterError, Peek};

use super::pointer::{Rest, follow, pointer_tokens};
use crate::ParseError;

/// Where the records are in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location<'a> {
    /// The body is a JSON array of records.
    Array,
    /// The records are the array under this field of the body's object.
    Field(&'a str),
}

/// A picked field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Picked<'b> {
    /// `null`.
    Null,
    /// A string's contents, escapes decoded.
    Str(Cow<'b, str>),
    /// Any other value's exact JSON text (`7`, `1.50`, `true`, `{"a":1}`).
    Json(&'b str),
}

impl Picked<'_> {
    /// The text (a string unquoted, anything else as written), unless the value is `null`.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Picked::Null => None,
            Picked::Str(text) => Some(text),
            Picked::Json(json) => Some(json),
        }
    }

    /// The text of a string, number or boolean; `None` for `null`, objects and arrays.
    pub(crate) fn scalar_text(&self) -> Option<&str> {
        match self {
            Picked::Json(json) if json.starts_with(['{', '[']) => None,
            other => other.text(),
        }
    }
}

/// The walk over one body: the names of the fields to pick from each record, and a JSON
/// pointer to read on the way (a next-page token).
pub(crate) struct Walk<'a> {
    /// Fields picked from each record (top level of the record object only).
    pub fields: &'a [&'a str],
    /// A JSON pointer (`/meta/next_cursor`) whose value is returned by [`Walk::run`].
    pub pointer: Option<&'a str>,
}

impl Walk<'_> {
    /// Walk `body`, calling `visit` with each record's exact text and its picked fields (in the
    /// order of `fields`, `None` when absent). Returns the value at `pointer`, if any. Anything
    /// that is not JSON, or records not where `location` says, is [`ParseError::Malformed`].
    pub(crate) fn run<'b>(
        &self,
        body: &'b str,
        location: Location<'_>,
        mut visit: impl FnMut(&'b str, &[Option<Picked<'b>>]),
    ) -> Result<Option<Picked<'b>>, ParseError> {
        let mut jiter = Jiter::new(body.as_bytes());
        let tokens: Vec<String> = self.pointer.map(pointer_tokens).unwrap_or_default();
        let mut values = vec![None; self.fields.len()];
        let mut found = None;
        let peek = jiter.peek().map_err(|e| malformed("response body is not JSON", &e))?;
        match (location, peek) {
            (Location::Array, Peek::Array) => {
                self.records(&mut jiter, body, &mut values, &mut visit).map_err(|e| not_json(&e))?
            }
            (Location::Array, _) => return Err(ParseError::Malformed("response body is not a JSON array".into())),
            (Location::Field(name), Peek::Object) => {
                found = self.records_under(&mut jiter, body, name, &tokens, &mut values, &mut visit)?
            }
            (Location::Field(_), _) => return Err(ParseError::Malformed("response body is not a JSON object".into())),
        }
        jiter.finish().map_err(|e| not_json(&e))?;
        Ok(found)
    }

    /// The records in the array under `name` of the object at the parser's position, and the
    /// value at the pointer `tokens` lead to.
    fn records_under<'b>(
        &self,
        jiter: &mut Jiter<'b>,
        body: &'b str,
        name: &str,
        tokens: &[String],
        values: &mut [Option<Picked<'b>>],
        visit: &mut impl FnMut(&'b str, &[Option<Picked<'b>>]),
    ) -> Result<Option<Picked<'b>>, ParseError> {
        let (mut saw_records, mut found) = (false, None);
        let mut key = jiter.known_object().map_err(|e| not_json(&e))?.map(|k| Slot::of(k, name, tokens));
        while let Some(slot) = key {
            match slot {
                Slot::Records => {
                    if jiter.peek().map_err(|e| not_json(&e))? != Peek::Array {
                        return Err(ParseError::Malformed(format!("`{name}` is not a JSON array")));
                    }
                    self.records(jiter, body, values, visit).map_err(|e| not_json(&e))?;
                    saw_records = true;
                }
                Slot::Pointer => found = follow(jiter, body, &tokens[1..], Rest::Consume).map_err(|e| not_json(&e))?,
                Slot::Other => jiter.next_skip().map_err(|e| not_json(&e))?,
            }
            key = jiter.next_key().map_err(|e| not_json(&e))?.map(|k| Slot::of(k, name, tokens));
        }
        if !saw_records {
            return Err(ParseError::Malformed(format!("response has no `{name}` field")));
        }
        Ok(found)
    }

    /// Each element of the array at the parser's position, as a record.
    fn records<'b>(
        &self,
        jiter: &mut Jiter<'b>,
        body: &'b str,
        values: &mut [Option<Picked<'b>>],
        visit: &mut impl FnMut(&'b str, &[Option<Picked<'b>>]),
    ) -> Result<(), JiterError> {
        let mut element = jiter.known_array()?;
        while let Some(peek) = element {
            let start = jiter.current_index();
            values.fill(None);
            match peek {
                Peek::Object => pick_fields(jiter, body, self.fields, values)?,
                _ => jiter.known_skip(peek)?,
            }
            visit(&body[start..jiter.current_index()], values);
            element = jiter.array_step()?;
        }
        Ok(())
    }
}

/// The picked `fields` of one JSON value (`None` for each when it is not an object).
pub(crate) fn pick<'b>(value: &'b str, fields: &[&str]) -> Result<Vec<Option<Picked<'b>>>, ParseError> {
    let mut values = vec![None; fields.len()];
    let mut jiter = Jiter::new(value.as_bytes());
    let picked = match jiter.peek() {
        Ok(Peek::Object) => pick_fields(&mut jiter, value, fields, &mut values),
        Ok(peek) => jiter.known_skip(peek),
        Err(e) => Err(e),
    };
    picked.and_then(|()| jiter.finish()).map_err(|e| not_json(&e))?;
    Ok(values)
}

/// What a key of the body's object leads to.
enum Slot {
    Records,
    Pointer,
    Other,
}

impl Slot {
    fn of(key: &str, records: &str, tokens: &[String]) -> Slot {
        if key == records {
            Slot::Records
        } else if tokens.first().is_some_and(|t| t == key) {
            Slot::Pointer
        } else {
            Slot::Other
        }
    }
}

/// Consume the object at the parser's position, keeping the values of `fields`.
fn pick_fields<'b>(
    jiter: &mut Jiter<'b>,
    body: &'b str,
    fields: &[&str],
    values: &mut [Option<Picked<'b>>],
) -> Result<(), JiterError> {
    // Keys are compared as they are written, not decoded: most records have many keys and
    // few are wanted.
    let mut key = jiter.next_object_bytes()?.map(|raw| field_index(fields, raw));
    while let Some(slot) = key {
        match slot {
            Some(i) => {
                let peek = jiter.peek()?;
                values[i] = Some(take(jiter, body, peek)?);
            }
            None => jiter.next_skip()?,
        }
        key = jiter.next_key_bytes()?.map(|raw| field_index(fields, raw));
    }
    Ok(())
}

/// The index in `fields` of the key written `raw` (its JSON text between the quotes).
fn field_index(fields: &[&str], raw: &[u8]) -> Option<usize> {
    if raw.contains(&b'\\') {
        // A key spelled with escapes (`"\u0069d"`): compare its decoded text.
        let quoted = [b"\"", raw, b"\""].concat();
        let mut decoder = Jiter::new(&quoted);
        let decoded = decoder.next_str().ok()?;
        return fields.iter().position(|f| *f == decoded);
    }
    fields.iter().position(|f| f.as_bytes() == raw)
}

/// Consume one value: strings decoded, `null` as such, anything else as its exact text.
pub(super) fn take<'b>(jiter: &mut Jiter<'b>, body: &'b str, peek: Peek) -> Result<Picked<'b>, JiterError> {
    match peek {
        Peek::Null => jiter.known_null().map(|()| Picked::Null),
        Peek::String => {
            let text = jiter.known_str()?;
            Ok(Picked::Str(borrow_from(body, text).map_or_else(|| Cow::Owned(text.to_string()), Cow::Borrowed)))
        }
        _ => {
            let start = jiter.current_index();
            jiter.known_skip(peek)?;
            Ok(Picked::Json(&body[start..jiter.current_index()]))
        }
    }
}

/// `text` as a slice of `body` when it is one (a string without escapes is decoded in place;
/// one with escapes lives in the parser's scratch buffer and must be copied).
fn borrow_from<'b>(body: &'b str, text: &str) -> Option<&'b str> {
    let offset = (text.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    body.get(offset..offset + text.len()).filter(|slice| slice.as_ptr() == text.as_ptr())
}

pub(super) fn not_json(error: &JiterError) -> ParseError {
    malformed("response body is not valid JSON", error)
}

fn malformed(what: &str, error: &JiterError) -> ParseError {
    ParseError::Malformed(format!("{what}: {error}"))
}

#[cfg(test)]
mod tests;
