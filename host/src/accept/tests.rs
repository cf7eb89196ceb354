use super::*;
use crate::model::{Method, Reject};
use crate::schema::StreamSchema;

fn origin(request: &Request) -> PageOrigin<'_> {
    PageOrigin { stream: "items", request, exchange: ExchangeId(7) }
}

fn request() -> Request {
    Request { endpoint: "items".into(), method: Method::Get, url: "/items".into(), headers: vec![], body: None }
}

fn record(json: &str) -> Record {
    Record { stream: "items".into(), key: None, json: json.into() }
}

/// Judge a page of `records` with `observer`, `contract` and `declared`.
fn judge_page(
    records: &[&str],
    observer: &mut SchemaObserver,
    contract: Contract,
    declared: Option<&DeclaredSchema>,
) -> Accepted {
    let req = request();
    let page = Page { records: records.iter().map(|r| record(r)).collect(), ..Page::default() };
    let mut check = SchemaCheck { observer: Some(observer), contract, declared };
    let Verdict::Accept(accepted) = judge(origin(&req), Ok(Ok(page)), &ConnectorLimits::default(), &mut check) else {
        panic!("accepted")
    };
    accepted
}

fn errors(accepted: &Accepted) -> Vec<&str> {
    accepted.letters.iter().map(|l| l.error.as_str()).collect()
}

#[test]
fn invalid_records_and_rejects_become_record_letters_with_their_payloads() {
    let page = Page {
        records: vec![record("{\"id\":1}"), record("{\"id\":")],
        rejects: vec![Reject { reason: "no id".into(), payload: "{}".into() }],
        next: vec![],
        checkpoint: Some("c".into()),
    };
    let req = request();
    let mut observer = SchemaObserver::new(None);
    let mut check = SchemaCheck { observer: Some(&mut observer), contract: Contract::Evolve, declared: None };
    let Verdict::Accept(a) = judge(origin(&req), Ok(Ok(page)), &ConnectorLimits::default(), &mut check) else {
        panic!()
    };
    assert_eq!(a.records.len(), 1);
    let errors = errors(&a);
    assert!(errors[0].starts_with("record is not valid JSON") && errors[1] == "no id", "{errors:?}");
    assert!(a.letters.iter().all(|l| l.stage == Stage::Record && l.exchange == Some(ExchangeId(7))));
    assert_eq!(a.checkpoint.as_deref(), Some("c"));
    assert_eq!(observer.schema().records(), 1, "the valid record was learned from");
}

#[test]
fn limits_fatal_errors_and_refetches_are_told_apart() {
    let req = request();
    let limits = ConnectorLimits { max_records: 1, ..ConnectorLimits::default() };
    let mut check = SchemaCheck { observer: None, contract: Contract::Evolve, declared: None };
    let page = Page { records: vec![record("{}"), record("{}")], ..Page::default() };
    let full = judge(origin(&req), Ok(Ok(page)), &limits, &mut check);
    assert!(matches!(full, Verdict::Fail(m) if m.contains("max-records")));
    let later = judge(origin(&req), Ok(Err(ParseError::RetryLater(1500))), &limits, &mut check);
    assert!(matches!(later, Verdict::Refetch { asked: Some(d), .. } if d == Duration::from_millis(1500)));
    let fatal = judge(origin(&req), Ok(Err(ParseError::Fatal("gone".into()))), &limits, &mut check);
    assert!(matches!(fatal, Verdict::Fail(m) if m == "connector could not parse the response: gone"));
}

#[test]
fn a_frozen_stream_holds_exactly_the_records_with_new_fields_or_types_naming_each() {
    let baseline = StreamSchema::infer([r#"{"id":1,"n":2}"#]).unwrap();
    let mut observer = SchemaObserver::new(Some(&baseline));
    let records = [r#"{"id":2,"n":3}"#, r#"{"id":3,"n":"4"}"#, r#"{"id":4,"extra":true}"#, r#"{"id":5}"#];
    let accepted = judge_page(&records, &mut observer, Contract::Freeze, None);
    assert_eq!(accepted.records.len(), 2, "the unchanged record and the one missing a field");
    assert_eq!(
        errors(&accepted),
        [
            "schema contract freeze refuses the record: field n changed type from integer to string (accept the observed schema to load it)",
            "schema contract freeze refuses the record: field extra is new (boolean) (accept the observed schema to load it)",
        ]
    );
    assert_eq!(accepted.letters[0].payload.as_deref(), Some(records[1]), "the letter holds the record");
    let drift = observer.finish().drift;
    assert_eq!(drift.changes.len(), 2, "held records still count in the drift: {drift}");

    let mut evolving = SchemaObserver::new(Some(&baseline));
    assert_eq!(judge_page(&records, &mut evolving, Contract::Evolve, None).records.len(), 4, "evolve loads all");
}

#[test]
fn a_declared_schema_makes_each_record_that_fails_it_a_letter_with_the_validators_message() {
    let declared = DeclaredSchema::compile(
        "items",
        r#"{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}"#,
    )
    .unwrap();
    let mut observer = SchemaObserver::new(Some(declared.shape()));
    let accepted =
        judge_page(&[r#"{"id":1}"#, r#"{"id":"one"}"#, r#"{}"#], &mut observer, Contract::Evolve, Some(&declared));
    assert_eq!(accepted.records.len(), 1);
    let errors = errors(&accepted);
    assert!(errors[0].starts_with("record does not match the declared schema at /id:"), "{errors:?}");
    assert!(errors[0].contains("integer") && !errors[0].contains("one"), "the value is masked: {errors:?}");
    assert!(errors[1].starts_with("record does not match the declared schema at (record):"), "{errors:?}");
}

#[test]
fn records_for_another_stream_are_checked_but_not_learned_from() {
    let mut observer = SchemaObserver::new(None);
    let req = request();
    let mut foreign = record(r#"{"other":1}"#);
    foreign.stream = "others".into();
    let page = Page { records: vec![record(r#"{"id":1}"#), foreign, record_of("../x")], ..Page::default() };
    let mut check = SchemaCheck { observer: Some(&mut observer), contract: Contract::Freeze, declared: None };
    let Verdict::Accept(a) = judge(origin(&req), Ok(Ok(page)), &ConnectorLimits::default(), &mut check) else {
        panic!()
    };
    assert_eq!(a.records.len(), 2);
    assert!(errors(&a)[0].contains("not a valid stream name"), "{:?}", errors(&a));
    let paths: Vec<String> = observer.schema().fields().iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(paths, ["id"], "only the page's own stream is learned");
}

fn record_of(stream: &str) -> Record {
    Record { stream: stream.into(), key: None, json: "{}".into() }
}

#[test]
fn checking_with_and_without_inference_accepts_and_refuses_alike() {
    let mut observer = SchemaObserver::new(None);
    for (stream, json) in [("items", "{\"a\":"), ("../etc", "{}"), ("items", "[1,]"), ("items", "{\"a\":1e400}")] {
        let inferred = check_record(stream, json, None, Some(&mut observer)).map(drop);
        assert_eq!(inferred, check_record(stream, json, None, None).map(drop), "{stream} {json}");
    }
    assert!(matches!(check_record("items", "{\"a\":", None, None), Err(InvalidRecord::NotJson(_))));
    assert!(matches!(check_record("../etc", "{}", None, None), Err(InvalidRecord::BadStream(_))));
    assert_eq!(observer.schema().records(), 1, "only the valid record is counted");
}
