//! The observer: validation exactly as serde_json's `RawValue`, inference, per-record
//! deviations and the run's drift.

use super::*;
use crate::schema::{Change, JsonType, MAX_FIELDS};

fn raw_value_verdict(json: &str) -> Result<(), String> {
    serde_json::from_str::<&RawValue>(json).map(drop).map_err(|e| e.to_string())
}

fn verdict(json: &str) -> Result<(), String> {
    SchemaObserver::new(None).observe(json, None).map(drop).map_err(|e| e.0)
}

/// Whether the record reader alone, before the observer asks serde_json, accepts `json`.
fn reader_accepts(json: &str) -> bool {
    let (mut root, mut deviations) = (Node::root(), Vec::new());
    let mut scan = Scan { checking: false, key: None, deviations: &mut deviations, nodes: 0 };
    read_record(json, &mut root, &mut scan).is_ok()
}

#[test]
fn accepts_and_refuses_exactly_what_raw_value_does_with_the_same_message() {
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    let mut cases: Vec<String> = [
        r#"{"amount":12345678901234567.891,"e":1e400,"big":123456789012345678901234567890}"#,
        r#"{"s":"\ud800 lone surrogate","t":"\u00e9\n\"q\""}"#,
        "  {\"a\" : [1, 2.5e-3, -0, true, false, null, {}, []]}\n",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "-01",
        "+1",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\"}",
        "{1:2}",
        "\u{feff}1",
        "nul",
        "tru",
        "[",
        "",
        " ",
        "1 2",
        "{} x",
        "\"\u{1}\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"tab\there\"",
        "[1e999]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cases.extend([deep(127), deep(128), deep(129), deep(300)]);
    for case in &cases {
        assert_eq!(verdict(case), raw_value_verdict(case), "{case:?}");
        let left_to_serde = case.starts_with(&"[".repeat(129));
        assert_eq!(reader_accepts(case), raw_value_verdict(case).is_ok() && !left_to_serde, "the reader: {case:?}");
    }
    assert!(!reader_accepts(r#"{"\ud800":1}"#), "a key with a lone surrogate is left to serde_json");
    assert_eq!(verdict(r#"{"\ud800":1}"#), raw_value_verdict(r#"{"\ud800":1}"#));
}

#[test]
fn mutated_records_are_judged_like_raw_value_judges_them() {
    let records = [
        r#"{"id":12,"n":-1.5e3,"t":"a\"b\\c\u00e9","u":{"l":"x","a":[1,{"k":null}]},"b":true,"z":[]}"#,
        " [ {\"k\\u0065y\" : \"long enough to fill words of eight bytes, then \\ud83d\\ude00 and \\/\"} , 0.5E+2 , -0 , false ] ",
    ];
    let alphabet: Vec<char> = "{}[]\":,\\.-+eE0123456789 tfnlu\u{7f}\u{1}é".chars().collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let (mut accepted, mut refused) = (0, 0);
    for n in 0..30_000 {
        let mut chars: Vec<char> = records[n % records.len()].chars().collect();
        for _ in 0..1 + next(3) {
            let at = next(chars.len());
            match next(3) {
                0 => drop(chars.remove(at)),
                1 => chars.insert(at, alphabet[next(alphabet.len())]),
                _ => chars[at] = alphabet[next(alphabet.len())],
            }
        }
        let text: String = chars.into_iter().collect();
        let expected = raw_value_verdict(&text);
        assert_eq!(verdict(&text), expected, "{text}");
        assert_eq!(reader_accepts(&text), expected.is_ok(), "the reader: {text}");
        if expected.is_ok() { accepted += 1 } else { refused += 1 }
    }
    assert!(accepted > 500 && refused > 500, "both sides exercised: {accepted} accepted, {refused} refused");
}

#[test]
fn learns_types_presence_and_nulls_per_path() {
    let mut observer = SchemaObserver::new(None);
    for json in [
        r#"{"id":1,"user":{"login":"a"},"labels":[{"name":"bug"},{"name":null}],"score":1.5}"#,
        r#"{"id":2,"user":null,"labels":[]}"#,
        r#"{"id":3,"user":{"login":"b","id":9}}"#,
    ] {
        assert!(observer.observe(json, None).unwrap().is_empty(), "no baseline, no deviations");
    }
    let schema = observer.finish().schema;
    assert_eq!(schema.records(), 3);
    let field = |path: &str| schema.fields().into_iter().find(|(p, _)| p.as_str() == path).expect(path).1.clone();
    assert_eq!((field("id").present(), field("id").types.types().to_string()), (3, "integer".into()));
    assert_eq!((field("user").present(), field("user").nulls()), (3, 1));
    assert_eq!(field("user.login").present(), 2);
    assert_eq!(field("labels[]").types.count(JsonType::Object), 2, "items are counted one by one");
    assert_eq!((field("labels[].name").present(), field("labels[].name").nulls()), (2, 1));
    assert_eq!(field("score").types.types().to_string(), "number");
}

#[test]
fn an_invalid_record_is_refused_and_not_counted_as_a_record() {
    let mut observer = SchemaObserver::new(None);
    observer.observe(r#"{"a":1}"#, None).unwrap();
    let err = observer.observe(r#"{"a":2} trailing"#, None).unwrap_err();
    assert_eq!(err.0, raw_value_verdict(r#"{"a":2} trailing"#).unwrap_err());
    assert!(observer.observe(r#"{"a":"#, None).is_err());
    assert_eq!(observer.schema().records(), 1);
}

#[test]
fn drift_counts_records_per_change_with_the_first_example() {
    let mut base = SchemaObserver::new(None);
    base.observe(r#"{"id":1,"title":"t","user":{"login":"a","email":"e"},"labels":[{"name":"x"}]}"#, None).unwrap();
    let baseline = base.finish().schema;
    let mut observer = SchemaObserver::new(Some(&baseline));
    let mut rejected_keys = Vec::new();
    for n in 0..10 {
        let id = if n % 4 == 1 { format!("\"{n}\"") } else { n.to_string() };
        let extra = if n >= 7 { r#","reactions":{"up":1,"down":0}"# } else { "" };
        let json = format!(
            r#"{{"id":{id},"title":null,"user":{{"login":"u{n}"}},"labels":[{{"name":"a"}},{{"name":{n}}}]{extra}}}"#
        );
        let deviations = observer.observe(&json, Some(&format!("k{n}"))).unwrap();
        if deviations.iter().any(|d| !matches!(d.change, Change::NowNull)) {
            rejected_keys.push(format!("k{n}"));
        }
        let per_field: Vec<&FieldPath> = deviations.iter().map(|d| &d.path).collect();
        let mut unique = per_field.clone();
        unique.dedup();
        assert_eq!(per_field, unique, "one deviation per field and record");
    }
    assert_eq!(rejected_keys.len(), 10, "every record has labels[].name as an integer");
    let lines: Vec<String> = observer.finish().drift.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        lines,
        [
            "field id changed type from integer to string in 3 records, e.g. record k1",
            "field labels[].name changed type from string to integer in 10 records, e.g. record k0",
            "field reactions added (object) in 3 records, e.g. record k7",
            "field title null in 10 records, never null before, e.g. record k0",
            "field user.email gone: missing from 10 records, e.g. record k0",
        ]
    );
}

#[test]
fn fields_past_the_caps_are_checked_but_not_tracked() {
    let wide = format!("{{{}}}", (0..MAX_FIELDS + 50).map(|i| format!("\"f{i}\":{i}")).collect::<Vec<_>>().join(","));
    let mut observer = SchemaObserver::new(None);
    observer.observe(&wide, None).unwrap();
    observer.observe(r#"{"late":1}"#, None).unwrap();
    let schema = observer.finish().schema;
    assert_eq!(schema.root.fields.len(), MAX_FIELDS, "the first {MAX_FIELDS} fields only");
    assert!(!schema.root.fields.contains_key("late"));

    let mut observer = SchemaObserver::new(None);
    observer.observe(r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}"#, None).unwrap();
    assert!(observer.observe(r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":01}}}}}}}}"#, None).is_err());
    let paths: Vec<String> =
        observer.finish().schema.fields().into_iter().map(|(p, _)| p.as_str().to_string()).collect();
    assert_eq!(paths.last().map(String::as_str), Some("a.b.c.d.e.f"), "{paths:?}");
}

#[test]
fn records_left_to_serde_json_still_count_as_records() {
    let deep = "[".repeat(129) + &"]".repeat(129);
    let mut observer = SchemaObserver::new(None);
    for json in [r#"{"id":1,"e":1e400,"\ud800":2}"#, r#" ["\ud800"]"#, &deep, r#"{"id":2}"#] {
        observer.observe(json, None).unwrap();
    }
    let schema = observer.finish().schema;
    assert_eq!(schema.records(), 4);
    assert_eq!(schema.root.types.types().to_string(), "object|array");
    assert_eq!(schema.root.fields["id"].present(), 2, "learned up to the key left to serde_json");
    assert_eq!(schema.root.fields["e"].types.types().to_string(), "number", "a number beyond f64 is read");
    let items = schema.root.items.as_ref().expect("the arrays' items");
    assert_eq!(items.types.types().to_string(), "string", "a lone surrogate in a string is read");
}

#[test]
fn numbers_are_typed_as_serde_json_reads_them_and_escaped_keys_are_decoded() {
    let mut observer = SchemaObserver::new(None);
    let json = r#"{"big":123456789012345678901234567890,"min":-9223372036854775808,"max":18446744073709551615,
                   "one":1.0,"exp":1e5,"zero":-0,"\u0069d":7,"id":8}"#;
    observer.observe(json, None).unwrap();
    let schema = observer.finish().schema;
    let types = |path: &str| schema.root.fields[path].types.types().to_string();
    assert_eq!(types("big"), "number", "beyond 64 bits serde_json reads a float");
    for integer in ["min", "max"] {
        assert_eq!(types(integer), "integer", "{integer}");
    }
    for number in ["one", "exp", "zero"] {
        assert_eq!(types(number), "number", "{number} (serde_json keeps `-0` a float, for its sign)");
    }
    assert_eq!(schema.root.fields["id"].present(), 2, "`\\u0069d` is `id`");
}
