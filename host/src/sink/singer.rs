//! Singer messages, one per line, for any Singer target (`apiary run p.toml --output singer |
//! target-postgres`): a `SCHEMA` before a stream's first `RECORD` (and again whenever its
//! schema grows), each `RECORD` with its `time_extracted`, and a `STATE` carrying every
//! stream's bookmark after the records it covers.
//!
//! A record's JSON is embedded as the connector wrote it (line breaks removed), so every digit
//! arrives. Messages are buffered and written at each flush, before the store commits the
//! batch: after a crash the pages between the two are sent again, which targets absorb by
//! upserting on `key_properties` (Singer itself is at-least-once).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::jsonl::one_line;
use super::{PageRef, Position, Sink, SinkError, StreamSpecs};
use crate::model::Record;
use crate::schema::StreamSchema;

/// Singer messages to a writer (stdout for `apiary run`).
pub struct SingerSink {
    out: Box<dyn Write + Send>,
    streams: StreamSpecs,
    /// Each stream's schema so far, and the JSON Schema last announced for it.
    schemas: BTreeMap<String, (StreamSchema, Value)>,
    bookmarks: BTreeMap<String, Box<RawValue>>,
    buffer: Vec<u8>,
}

impl SingerSink {
    /// Messages to standard output.
    pub fn stdout(streams: StreamSpecs) -> SingerSink {
        SingerSink::to(Box::new(std::io::stdout()), streams)
    }

    /// Messages to `out`.
    pub fn to(out: Box<dyn Write + Send>, streams: StreamSpecs) -> SingerSink {
        SingerSink { out, streams, schemas: BTreeMap::new(), bookmarks: BTreeMap::new(), buffer: Vec::new() }
    }

    /// Announce `stream`'s schema grown by `records` when it changed (or was never announced).
    fn announce(&mut self, stream: &str, records: &[Record]) -> Result<(), SinkError> {
        let page = StreamSchema::infer(records.iter().map(|r| r.json.as_str()))
            .map_err(|e| SinkError::Destination(format!("a record of stream {stream} is not JSON: {e}")))?;
        let spec = self.streams.get(stream).cloned().unwrap_or_default();
        let (schema, announced) = self
            .schemas
            .entry(stream.to_string())
            .or_insert_with(|| (spec.baseline.clone().unwrap_or_default(), Value::Null));
        schema.merge(&page);
        let json_schema = schema.to_json_schema();
        if *announced == json_schema {
            return Ok(());
        }
        let mut message = json!({
            "type": "SCHEMA",
            "stream": stream,
            "schema": json_schema,
            "key_properties": spec.primary_key,
        });
        if let Some(cursor) = &spec.cursor_field {
            message["bookmark_properties"] = json!([cursor]);
        }
        *announced = json_schema;
        self.line(&message.to_string());
        Ok(())
    }

    fn line(&mut self, text: &str) {
        self.buffer.extend_from_slice(text.as_bytes());
        self.buffer.push(b'\n');
    }
}

impl Sink for SingerSink {
    fn write(&mut self, page: &PageRef<'_>, records: &[Record]) -> Result<(), SinkError> {
        self.announce(page.stream, records)?;
        let stream = serde_json::to_string(page.stream).expect("a string serialises");
        let extracted = jiff::Timestamp::from_millisecond(page.fetched_at_ms as i64)
            .map_err(|e| SinkError::Destination(format!("fetch time of stream {}: {e}", page.stream)))?;
        for record in records {
            let line = format!(
                "{{\"type\":\"RECORD\",\"stream\":{stream},\"record\":{},\"time_extracted\":\"{extracted}\"}}",
                one_line(&record.json)
            );
            self.line(&line);
        }
        Ok(())
    }

    fn checkpoint(&mut self, stream: &str, value: &str) -> Result<(), SinkError> {
        let bookmark = match serde_json::from_str::<Box<RawValue>>(value) {
            Ok(raw) if raw.get().trim_start().starts_with('{') => raw,
            _ => RawValue::from_string(json!({ "checkpoint": value }).to_string()).expect("valid JSON"),
        };
        self.bookmarks.insert(stream.to_string(), bookmark);
        let state = json!({ "type": "STATE", "value": { "bookmarks": &self.bookmarks } });
        self.line(&state.to_string());
        Ok(())
    }

    fn flush(&mut self) -> Result<Position, SinkError> {
        let written = self.out.write_all(&self.buffer).and_then(|_| self.out.flush());
        self.buffer.clear();
        written.map_err(|e| SinkError::Destination(format!("cannot write Singer messages to standard output: {e}")))?;
        Ok(Position::new())
    }

    fn recover(&mut self, _committed: &Position) -> Result<(), SinkError> {
        self.buffer.clear();
        Ok(())
    }

    fn describe(&self, stream: &str) -> String {
        format!("Singer messages of stream {stream} on standard output")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::model::ConnectorIdentity;
    use crate::sink::StreamSpec;
    use crate::store::RunId;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn schema_before_records_state_after_and_digits_kept() {
        let out = Shared::default();
        let spec =
            StreamSpec { primary_key: vec!["id".into()], cursor_field: Some("updated".into()), ..Default::default() };
        let mut sink = SingerSink::to(Box::new(out.clone()), StreamSpecs::from([("items".to_string(), spec)]));
        let identity = ConnectorIdentity::default();
        let page = PageRef {
            run: RunId(1),
            entry: None,
            exchange: None,
            stream: "items",
            fetched_at_ms: 1_700_000_000_123,
            connector: &identity,
        };
        let record = |json: &str| Record { stream: "items".into(), key: None, json: json.into() };
        sink.write(&page, &[record("{\"id\":1,\"amount\":12345678901234567.891,\"x\":null}")]).unwrap();
        sink.checkpoint("items", "{\"since\":\"2024\"}").unwrap();
        sink.write(&page, &[record("{\"id\":2,\"x\":\"now a string\"}")]).unwrap();
        assert!(out.0.lock().unwrap().is_empty(), "nothing before the flush");
        sink.flush().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let types: Vec<String> =
            lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].as_str().unwrap().into()).collect();
        assert_eq!(types, ["SCHEMA", "RECORD", "STATE", "SCHEMA", "RECORD"], "{text}");
        let schema: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(
            (schema["key_properties"].clone(), schema["bookmark_properties"].clone()),
            (json!(["id"]), json!(["updated"]))
        );
        assert!(lines[1].contains("\"amount\":12345678901234567.891"), "{}", lines[1]);
        assert!(lines[1].ends_with("\"time_extracted\":\"2023-11-14T22:13:20.123Z\"}"), "{}", lines[1]);
        assert_eq!(lines[2], r#"{"type":"STATE","value":{"bookmarks":{"items":{"since":"2024"}}}}"#);
    }
}
