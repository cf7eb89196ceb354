//! JSONL files: one per stream, `out/<pipeline>/<stream>.jsonl`, appended to. Its position is
//! each file's committed length; recovering cuts files back to it.
//!
//! Each record's JSON is written exactly as the connector produced it; only line breaks (which
//! JSON allows solely as whitespace between tokens) are removed, so one record stays one line.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{PageRef, Position, Sink, SinkError};
use crate::model::Record;

/// Each stream file's write buffer: a page of records reaches the file in a few writes
/// (BufWriter's default of 8 KiB made about 19 a page of 100 records of 1.5 KB), while a
/// pipeline of many streams holds little.
const BUFFER_BYTES: usize = 64 << 10;

/// The JSONL files of one pipeline.
///
/// It knows the length of every file in its folder, so a sync can record how far the output is
/// committed and, after a crash, cut each file back to exactly that.
pub struct JsonlSink {
    dir: PathBuf,
    files: BTreeMap<String, StreamFile>,
    lengths: BTreeMap<String, u64>,
}

struct StreamFile {
    path: PathBuf,
    writer: BufWriter<File>,
    /// Written to since the last sync: only such files are synced (an fsync each).
    dirty: bool,
}

impl JsonlSink {
    /// The sink writing under `dir` (created if needed).
    pub fn open(dir: &Path) -> Result<JsonlSink, SinkError> {
        let error = |source| SinkError::File { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(error)?;
        let mut lengths = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(error)? {
            let entry = entry.map_err(error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stream) = name.strip_suffix(".jsonl") {
                lengths.insert(stream.to_string(), entry.metadata().map_err(error)?.len());
            }
        }
        Ok(JsonlSink { dir: dir.to_path_buf(), files: BTreeMap::new(), lengths })
    }

    /// The file a stream's records go to.
    pub fn path_of(&self, stream: &str) -> PathBuf {
        self.dir.join(format!("{stream}.jsonl"))
    }

    /// The length of every output file, by stream, including what is still buffered.
    pub fn lengths(&self) -> BTreeMap<String, u64> {
        self.lengths.clone()
    }

    /// Cut every file back to its committed length; a file with none was never committed and
    /// is emptied. Used when resuming after a crash.
    pub fn truncate_to(&mut self, committed: &BTreeMap<String, u64>) -> Result<(), SinkError> {
        self.files.clear();
        for (stream, length) in self.lengths.iter_mut() {
            let keep = committed.get(stream).copied().unwrap_or(0);
            if *length > keep {
                let path = self.dir.join(format!("{stream}.jsonl"));
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|source| SinkError::File { path: path.clone(), source })?;
                file.set_len(keep).and_then(|_| file.sync_all()).map_err(|source| SinkError::File { path, source })?;
                *length = keep;
            }
        }
        Ok(())
    }

    /// Append one already validated record to its stream's file.
    pub fn write_line(&mut self, stream: &str, json: &str) -> Result<(), SinkError> {
        let line = one_line(json);
        let file = self.file(stream)?;
        let result = file.writer.write_all(line.as_bytes()).and_then(|_| file.writer.write_all(b"\n"));
        result.map_err(|source| SinkError::File { path: file.path.clone(), source })?;
        file.dirty = true;
        *self.lengths.get_mut(stream).expect("`file` makes the stream's entry") += line.len() as u64 + 1;
        Ok(())
    }

    /// Push buffered records to the files and make them durable, so the lengths can be
    /// committed: only the files written since the last call, each with one fsync. Returns
    /// how many files it synced.
    pub fn sync(&mut self) -> Result<usize, SinkError> {
        let mut synced = 0;
        for file in self.files.values_mut().filter(|f| f.dirty) {
            let result = file.writer.flush().and_then(|_| file.writer.get_ref().sync_data());
            result.map_err(|source| SinkError::File { path: file.path.clone(), source })?;
            file.dirty = false;
            synced += 1;
        }
        Ok(synced)
    }

    fn file(&mut self, stream: &str) -> Result<&mut StreamFile, SinkError> {
        if !self.files.contains_key(stream) {
            let path = self.path_of(stream);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| SinkError::File { path: path.clone(), source })?;
            self.lengths.entry(stream.to_string()).or_insert(0);
            self.files.insert(
                stream.to_string(),
                StreamFile { path, writer: BufWriter::with_capacity(BUFFER_BYTES, file), dirty: false },
            );
        }
        Ok(self.files.get_mut(stream).expect("just inserted"))
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, _page: &PageRef<'_>, records: &[Record]) -> Result<(), SinkError> {
        records.iter().try_for_each(|r| self.write_line(&r.stream, &r.json))
    }

    fn flush(&mut self) -> Result<Position, SinkError> {
        self.sync()?;
        Ok(self.lengths())
    }

    fn position(&self) -> Position {
        self.lengths()
    }

    fn recover(&mut self, committed: &Position) -> Result<(), SinkError> {
        self.truncate_to(committed)
    }

    fn describe(&self, stream: &str) -> String {
        self.path_of(stream).display().to_string()
    }
}

/// The JSON without line breaks: outside strings they are whitespace, inside strings JSON
/// forbids them, so removing them never changes the value.
pub(super) fn one_line(json: &str) -> std::borrow::Cow<'_, str> {
    // memchr's vector search: a `char` pattern walks the text one character at a time.
    match memchr::memchr2(b'\n', b'\r', json.as_bytes()) {
        Some(_) => json.replace(['\n', '\r'], "").into(),
        None => json.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_records_byte_for_byte_one_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = JsonlSink::open(dir.path()).unwrap();
        sink.write_line("items", r#"{"amount":12345678901234567.891,"e":1e400}"#).unwrap();
        sink.write_line("items", "{\n  \"a\": \"\\u00e9\"\n}").unwrap();
        sink.sync().unwrap();
        let text = std::fs::read_to_string(dir.path().join("items.jsonl")).unwrap();
        assert_eq!(text, "{\"amount\":12345678901234567.891,\"e\":1e400}\n{  \"a\": \"\\u00e9\"}\n");
    }

    #[test]
    fn syncs_only_the_files_written_since_the_last_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = JsonlSink::open(dir.path()).unwrap();
        sink.write_line("a", "{\"n\":1}").unwrap();
        sink.write_line("b", "{\"n\":2}").unwrap();
        assert_eq!(sink.sync().unwrap(), 2);
        sink.write_line("b", "{\"n\":3}").unwrap();
        assert_eq!(sink.sync().unwrap(), 1, "`a` has nothing new to make durable");
        assert_eq!(sink.sync().unwrap(), 0);
        assert_eq!(std::fs::read_to_string(dir.path().join("b.jsonl")).unwrap(), "{\"n\":2}\n{\"n\":3}\n");
        assert_eq!(sink.lengths(), BTreeMap::from([("a".to_string(), 8), ("b".to_string(), 16)]));
    }

    #[test]
    fn cuts_files_back_to_their_committed_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = JsonlSink::open(dir.path()).unwrap();
        sink.write_line("a", "{\"n\":1}").unwrap();
        sink.sync().unwrap();
        let committed = sink.lengths();
        sink.write_line("a", "{\"n\":2}").unwrap();
        sink.write_line("b", "{\"n\":3}").unwrap();
        sink.sync().unwrap();
        let mut reopened = JsonlSink::open(dir.path()).unwrap();
        assert_eq!(reopened.lengths()["a"], 16);
        reopened.truncate_to(&committed).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap(), "{\"n\":1}\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("b.jsonl")).unwrap(), "", "never committed: emptied");
        reopened.write_line("a", "{\"n\":4}").unwrap();
        reopened.sync().unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("a.jsonl")).unwrap(), "{\"n\":1}\n{\"n\":4}\n");
    }
}
