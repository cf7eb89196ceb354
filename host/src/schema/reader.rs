//! The record reader: one strict pass over a record's JSON that checks it and walks it into the
//! stream's tree of [`Node`]s.
//!
//! It accepts only texts that serde_json accepts as a `RawValue` (the observer's tests compare
//! the two on hand-picked and mutated texts), and the observer asks serde_json about anything it
//! refuses: an invalid record gets serde_json's message, and the few texts only serde_json
//! accepts (nesting deeper than 128, a key with an escaped lone surrogate) are still accepted.
//! Strings are checked where they are (no control characters, only JSON's escapes) and never
//! decoded; only a key with an escape is decoded, into a buffer. Check and inference take about
//! a quarter less time than walking serde_json's deserializer, which decodes every string with
//! an escape to hand it over (1,264 against 1,716 ns a record, the ignored `schema::bench`
//! test).

use super::infer::{MAX_DEPTH, Node, Scan};
use super::json_type::JsonType;

/// Nesting the reader follows; deeper texts are left to serde_json (whose limit is the same).
const MAX_NESTING: usize = 128;

/// The text is not one JSON value this reader accepts: ask serde_json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refused;

type Read<T> = Result<T, Refused>;

/// Read `json` as one JSON value into `root`, counting what it holds in `scan`.
pub(super) fn read_record(json: &str, root: &mut Node, scan: &mut Scan<'_>) -> Read<()> {
    let mut reader = Reader { text: json, bytes: json.as_bytes(), at: 0, nesting: 0, key: String::new() };
    reader.value(Some(root), 0, scan)?;
    reader.skip_whitespace();
    if reader.at == reader.bytes.len() { Ok(()) } else { Err(Refused) }
}

/// A position in one record's text.
struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    /// Objects and arrays open around the position.
    nesting: usize,
    /// The last key read that had an escape, decoded.
    key: String,
}

impl Reader<'_> {
    /// One value into `node` (only checked when there is none); `depth` is the node's.
    fn value(&mut self, mut node: Option<&mut Node>, depth: usize, scan: &mut Scan<'_>) -> Read<()> {
        self.skip_whitespace();
        let t = match self.next_byte()? {
            b'"' => self.string().map(|()| JsonType::String)?,
            b'{' => self.object(node.as_deref_mut(), depth, scan).map(|()| JsonType::Object)?,
            b'[' => self.array(node.as_deref_mut(), depth, scan).map(|()| JsonType::Array)?,
            b't' => self.literal(b"rue").map(|()| JsonType::Boolean)?,
            b'f' => self.literal(b"alse").map(|()| JsonType::Boolean)?,
            b'n' => self.literal(b"ull").map(|()| JsonType::Null)?,
            first @ (b'-' | b'0'..=b'9') => self.number(first)?,
            _ => return Err(Refused),
        };
        if let Some(node) = node {
            if t == JsonType::Object && node.example.is_none() && scan.checking {
                node.example = scan.key.map(Into::into);
            }
            node.note(t, scan);
        }
        Ok(())
    }

    /// An object's fields after its `{`, each into its field's node while `depth` is tracked.
    fn object(&mut self, node: Option<&mut Node>, depth: usize, scan: &mut Scan<'_>) -> Read<()> {
        self.enter()?;
        let mut node = node.filter(|_| depth < MAX_DEPTH);
        if let Some(node) = node.as_deref_mut() {
            node.begin_object();
        }
        self.skip_whitespace();
        if self.eat(b'}') {
            return self.leave();
        }
        loop {
            self.skip_whitespace();
            if self.next_byte()? != b'"' {
                return Err(Refused);
            }
            let child = match node.as_deref_mut() {
                Some(node) => {
                    let slot = node.field(self.key()?, scan);
                    slot.map(|i| node.child(i))
                }
                None => self.string().map(|()| None)?,
            };
            self.skip_whitespace();
            if self.next_byte()? != b':' {
                return Err(Refused);
            }
            self.value(child, depth + 1, scan)?;
            if self.closed(b'}')? {
                return Ok(());
            }
        }
    }

    /// An array's items after its `[`, each into the node of the items while `depth` is
    /// tracked (that node is made for an empty array too).
    fn array(&mut self, node: Option<&mut Node>, depth: usize, scan: &mut Scan<'_>) -> Read<()> {
        self.enter()?;
        let mut node = node.filter(|_| depth < MAX_DEPTH);
        self.skip_whitespace();
        if self.eat(b']') {
            if let Some(node) = node {
                node.items(scan);
            }
            return self.leave();
        }
        loop {
            let items = node.as_deref_mut().and_then(|node| node.items(scan));
            self.value(items, depth + 1, scan)?;
            if self.closed(b']')? {
                return Ok(());
            }
        }
    }

    /// After a member of an object or an array: `true` at the container's `close` (it is left),
    /// `false` at a comma.
    fn closed(&mut self, close: u8) -> Read<bool> {
        self.skip_whitespace();
        match self.next_byte()? {
            b',' => Ok(false),
            b if b == close => self.leave().map(|()| true),
            _ => Err(Refused),
        }
    }

    /// Check a string after its opening quote and step past it.
    fn string(&mut self) -> Read<()> {
        loop {
            let (stop, quote) = self.plain_run()?;
            self.at = stop + 1;
            if quote {
                return Ok(());
            }
            self.escape()?;
        }
    }

    /// A key after its opening quote: borrowed from the text, or decoded when it has escapes.
    fn key(&mut self) -> Read<&str> {
        let start = self.at;
        let (stop, quote) = self.plain_run()?;
        if quote {
            self.at = stop + 1;
            return Ok(&self.text[start..stop]);
        }
        self.key.clear();
        loop {
            let (stop, quote) = self.plain_run()?;
            self.key.push_str(&self.text[self.at..stop]);
            self.at = stop + 1;
            if quote {
                return Ok(&self.key);
            }
            let c = self.escaped_char()?;
            self.key.push(c);
        }
    }

    /// Where the run of plain string bytes from the position ends, and whether at the closing
    /// quote (else at a backslash). A control character in the run refuses the text.
    fn plain_run(&self) -> Read<(usize, bool)> {
        let mut i = skip_plain_words(self.bytes, self.at);
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' => return Ok((i, true)),
                b'\\' => return Ok((i, false)),
                0..=0x1f => return Err(Refused),
                _ => i += 1,
            }
        }
        Err(Refused)
    }

    /// Check one escape after its backslash.
    fn escape(&mut self) -> Read<()> {
        match self.next_byte()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => self.hex4().map(drop),
            _ => Err(Refused),
        }
    }

    /// The character one escape after its backslash stands for; a lone surrogate is refused.
    fn escaped_char(&mut self) -> Read<char> {
        let unit = match self.next_byte()? {
            b'"' => return Ok('"'),
            b'\\' => return Ok('\\'),
            b'/' => return Ok('/'),
            b'b' => return Ok('\u{8}'),
            b'f' => return Ok('\u{c}'),
            b'n' => return Ok('\n'),
            b'r' => return Ok('\r'),
            b't' => return Ok('\t'),
            b'u' => self.hex4()?,
            _ => return Err(Refused),
        };
        let code = match unit {
            0xD800..=0xDBFF => {
                if !(self.eat(b'\\') && self.eat(b'u')) {
                    return Err(Refused);
                }
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(Refused);
                }
                0x1_0000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            unit => unit,
        };
        char::from_u32(code).ok_or(Refused)
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Read<u32> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(Refused)?;
        let mut unit = 0;
        for &b in digits {
            unit = unit * 16 + char::from(b).to_digit(16).ok_or(Refused)?;
        }
        self.at += 4;
        Ok(unit)
    }

    /// A number whose first byte (`-` or a digit) was read: its type as serde_json reads it.
    fn number(&mut self, first: u8) -> Read<JsonType> {
        let start = self.at - 1;
        let lead = if first == b'-' { self.next_byte()? } else { first };
        match lead {
            b'0' => {}
            b'1'..=b'9' => drop(self.digits()),
            _ => return Err(Refused),
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return Err(Refused);
            }
        }
        if self.eat(b'e') || self.eat(b'E') {
            integer = false;
            let _sign = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(Refused);
            }
        }
        Ok(if integer { integer_type(&self.text[start..self.at]) } else { JsonType::Number })
    }

    /// Step past a run of digits; how many.
    fn digits(&mut self) -> usize {
        let run = self.bytes[self.at..].iter().take_while(|b| b.is_ascii_digit()).count();
        self.at += run;
        run
    }

    fn literal(&mut self, rest: &[u8]) -> Read<()> {
        if self.bytes[self.at..].starts_with(rest) {
            self.at += rest.len();
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn enter(&mut self) -> Read<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING { Err(Refused) } else { Ok(()) }
    }

    fn leave(&mut self) -> Read<()> {
        self.nesting -= 1;
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        let run = self.bytes[self.at..].iter().take_while(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r')).count();
        self.at += run;
    }

    fn next_byte(&mut self) -> Read<u8> {
        let b = *self.bytes.get(self.at).ok_or(Refused)?;
        self.at += 1;
        Ok(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.bytes.get(self.at) == Some(&b);
        self.at += usize::from(found);
        found
    }
}

/// From `at`, step over whole 8-byte words holding no quote, backslash or control character
/// (most of a long string, eight bytes a step); the word where one may be is left to the caller.
fn skip_plain_words(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero: its high bit set in `(x - ONES) & !x` (and maybe a byte after it).
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x;
    while let Some(word) = bytes.get(at..at + 8) {
        let v = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let stops = zero_bytes(v ^ (ONES * u64::from(b'"')))
            | zero_bytes(v ^ (ONES * u64::from(b'\\')))
            | (v.wrapping_sub(ONES * 0x20) & !v);
        if stops & HIGH != 0 {
            break;
        }
        at += 8;
    }
    at
}

/// An integer literal's type as serde_json reads it: one that fits 64 bits (signed when
/// negative) is an integer; a larger one becomes a float, and so does `-0` (for its sign).
fn integer_type(literal: &str) -> JsonType {
    let fits = match literal.strip_prefix('-') {
        Some("0") => false,
        Some(_) => literal.parse::<i64>().is_ok(),
        None => literal.parse::<u64>().is_ok(),
    };
    if fits { JsonType::Integer } else { JsonType::Number }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_typed_by_whether_they_fit_64_bits_and_minus_zero_is_a_float() {
        let types: Vec<JsonType> = [
            "0",
            "-1",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "-0",
        ]
        .into_iter()
        .map(integer_type)
        .collect();
        use JsonType::{Integer, Number};
        assert_eq!(types, [Integer, Integer, Integer, Number, Integer, Number, Number]);
    }

    #[test]
    fn a_key_with_escapes_is_decoded_and_a_lone_surrogate_in_one_is_refused() {
        let key = |json: &str| {
            let mut reader = Reader { text: json, bytes: json.as_bytes(), at: 0, nesting: 0, key: String::new() };
            reader.key().map(str::to_string)
        };
        assert_eq!(key(r#"plain""#), Ok("plain".to_string()));
        assert_eq!(key(r#"a\"b\\c\/\n\u00e9\ud83d\ude00""#), Ok("a\"b\\c/\né\u{1f600}".to_string()));
        assert_eq!(key(r#"\ud800""#), Err(Refused));
        assert_eq!(key(r#"\udc00x""#), Err(Refused));
        assert_eq!(key(r#"\ud800\u0041""#), Err(Refused));
        assert_eq!(key("tab\there\""), Err(Refused));
        assert_eq!(key(r#"no end"#), Err(Refused));
    }
}
