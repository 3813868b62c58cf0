//! The `filesystem` connector with the `json` format: reads JSON-lines files (a file, or every
//! visible file under a directory, in name order) and writes JSON-lines part files that become
//! visible only when committed, as Flink's file sink does.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, SinkReport};

use super::json::{JsonDecoder, JsonOptions};
use super::{parse_bool, resolve_path, Poll, Sink, Source, SourceOffset};
use crate::format::row_json_object;
use crate::sql::TableDef;
use crate::{Error, Result};

/// Rows per batch a source emits at most; a file's end also ends a batch.
pub const BATCH_ROWS: usize = 8192;

fn json_options(def: &TableDef) -> Result<JsonOptions> {
    super::formats::json_options(def, "")
}

fn table_path(def: &TableDef, base: &Path) -> PathBuf {
    resolve_path(def.option("path").map(|(v, _)| v).unwrap_or_default(), base)
}

/// Reads JSON lines from files. The reading and decoding run on a thread of their own, a
/// batch or two ahead of the job (the job's thread runs the query meanwhile); batches arrive
/// in file order, each with the offset after it.
pub struct FileSource {
    schema: SchemaRef,
    /// The reader, until the first poll hands it to its thread.
    reader: Option<LineReader>,
    prefetch: Option<std::sync::mpsc::Receiver<Result<Chunk>>>,
    offset: SourceOffset,
}

/// Batches a reader thread keeps ready.
const PREFETCH_BATCHES: usize = 2;

/// What the reader thread hands over: a batch (none when a file ended without rows), the
/// offset after it and what it counted.
struct Chunk {
    batch: Option<RecordBatch>,
    offset: SourceOffset,
    rows_read: u64,
    skipped: u64,
}

/// The files, the decoder and where reading is.
struct LineReader {
    files: Vec<PathBuf>,
    decoder: JsonDecoder,
    /// The open file and the number of lines consumed from it.
    reader: Option<(BufReader<File>, u64)>,
    offset: SourceOffset,
    line: String,
}

impl FileSource {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        let options = json_options(def)?;
        let path = table_path(def, base);
        let files = list_files(&path).map_err(|e| {
            let span = def.option("path").map(|(_, s)| s).unwrap_or(def.span);
            Error::Option {
                table: def.name.clone(),
                option: "path".into(),
                message: format!("cannot read '{}': {e}", path.display()),
                span,
            }
        })?;
        let schema = Arc::new(def.arrow_schema());
        let rowtime: Vec<usize> = def
            .watermark
            .as_ref()
            .and_then(|w| def.columns.iter().position(|c| c.name == w.column))
            .into_iter()
            .collect();
        let offset = SourceOffset::File { file: 0, line: 0 };
        Ok(Self {
            reader: Some(LineReader {
                decoder: JsonDecoder::new(schema.clone(), options, &rowtime),
                files,
                reader: None,
                offset: offset.clone(),
                line: String::new(),
            }),
            schema,
            prefetch: None,
            offset,
        })
    }

    /// The channel from the reader thread, started on the first call.
    fn prefetch(&mut self) -> Result<&std::sync::mpsc::Receiver<Result<Chunk>>> {
        if self.prefetch.is_none() {
            let mut reader = self
                .reader
                .take()
                .ok_or_else(|| Error::Internal("file source without a reader".into()))?;
            let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH_BATCHES);
            std::thread::Builder::new()
                .name("weir-file-source".into())
                .spawn(move || loop {
                    let next = reader.next_chunk();
                    let end = !matches!(next, Ok(Some(_)));
                    let sent = match next {
                        Ok(Some(chunk)) => tx.send(Ok(chunk)),
                        // The end: dropping the sender tells the job.
                        Ok(None) => return,
                        Err(e) => tx.send(Err(e)),
                    };
                    // The job is gone (the receiver dropped), or this was the last message.
                    if sent.is_err() || end {
                        return;
                    }
                })
                .map_err(|e| Error::External(format!("cannot start a reader thread: {e}")))?;
            self.prefetch = Some(rx);
        }
        self.prefetch
            .as_ref()
            .ok_or_else(|| Error::Internal("file source without its reader thread".into()))
    }
}

/// The visible files under `path` (itself if it is a file), sorted by name. Hidden files
/// (`.x`, `_x`) are skipped, as Flink skips in-progress part files.
pub fn list_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let p = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Source for FileSource {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn project(&mut self, needed: &[bool]) {
        if let Some(reader) = self.reader.as_mut() {
            let skip: Vec<bool> = needed.iter().map(|n| !n).collect();
            reader.decoder.skip_columns(&skip);
        }
    }

    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        loop {
            let chunk = match self.prefetch()?.recv() {
                Ok(chunk) => chunk?,
                // The thread ended after the last file.
                Err(_) => return Ok(Poll::End),
            };
            metrics.rows_read += chunk.rows_read;
            metrics.parse_errors_skipped += chunk.skipped;
            self.offset = chunk.offset;
            if let Some(batch) = chunk.batch {
                return Ok(Poll::Batch(batch));
            }
        }
    }

    fn offset(&self) -> SourceOffset {
        self.offset.clone()
    }
}

impl LineReader {
    /// Reads up to a batch of rows; `None` once every file is read.
    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        let (mut rows_read, mut skipped) = (0, 0);
        loop {
            let SourceOffset::File { file, line } = self.offset else {
                return Err(Error::Internal("file source with a foreign offset".into()));
            };
            if file >= self.files.len() {
                return Ok(None);
            }
            let path = &self.files[file];
            if self.reader.is_none() {
                let f = File::open(path)
                    .map_err(|e| Error::External(format!("cannot open {}: {e}", path.display())))?;
                let mut reader = BufReader::new(f);
                // Resume inside a file (after a restore): skip the lines already read.
                let mut passed = 0;
                while passed < line {
                    self.line.clear();
                    if reader.read_line(&mut self.line)? == 0 {
                        break;
                    }
                    passed += 1;
                }
                self.reader = Some((reader, line));
            }
            let Some((reader, consumed)) = self.reader.as_mut() else {
                continue;
            };
            let mut end_of_file = false;
            while self.decoder.buffered_rows() < BATCH_ROWS {
                self.line.clear();
                let n = match reader.read_line(&mut self.line) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        // read_line consumed the line; it is not UTF-8, so it is a malformed row.
                        *consumed += 1;
                        if self.decoder.ignores_parse_errors() {
                            skipped += 1;
                            continue;
                        }
                        return Err(Error::Data(format!(
                            "{}:{}: the line is not valid UTF-8 (set 'json.ignore-parse-errors' = 'true' to skip such rows)",
                            path.display(),
                            consumed
                        )));
                    }
                    Err(e) => return Err(e.into()),
                };
                if n == 0 {
                    end_of_file = true;
                    break;
                }
                *consumed += 1;
                let text = self.line.trim();
                if text.is_empty() {
                    continue;
                }
                match self.decoder.decode_line(text) {
                    Ok(true) => rows_read += 1,
                    Ok(false) => skipped += 1,
                    Err(e) => {
                        return Err(Error::Data(format!(
                        "{}:{}: {e} (set 'json.ignore-parse-errors' = 'true' to skip such rows)",
                        path.display(),
                        consumed
                    )))
                    }
                }
            }
            let consumed_now = *consumed;
            self.offset = if end_of_file {
                self.reader = None;
                SourceOffset::File {
                    file: file + 1,
                    line: 0,
                }
            } else {
                SourceOffset::File {
                    file,
                    line: consumed_now,
                }
            };
            let batch = if self.decoder.buffered_rows() > 0 {
                Some(self.decoder.flush()?)
            } else {
                None
            };
            if batch.is_some() || skipped > 0 {
                return Ok(Some(Chunk {
                    batch,
                    offset: self.offset.clone(),
                    rows_read,
                    skipped,
                }));
            }
        }
    }
}

/// Writes JSON lines into a part file under the table's directory; the file is hidden
/// (`.part-...inprogress`) until [`Sink::finish`] commits it.
pub struct FileSink {
    table: String,
    dir: PathBuf,
    in_progress: Option<(PathBuf, BufWriter<File>)>,
    ignore_null_fields: bool,
    rows: u64,
}

impl FileSink {
    pub fn open(def: &TableDef, base: &Path) -> Result<Self> {
        json_options(def)?;
        let dir = table_path(def, base);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::External(format!("cannot create {}: {e}", dir.display())))?;
        let ignore_null_fields = def
            .option("json.encode.ignore-null-fields")
            .and_then(|(v, _)| parse_bool(v))
            .unwrap_or(false);
        Ok(Self {
            table: def.name.clone(),
            dir,
            in_progress: None,
            ignore_null_fields,
            rows: 0,
        })
    }

    fn part_name() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("part-{nanos:024}-{}-0.json", std::process::id())
    }
}

impl Sink for FileSink {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if crate::operators::group_aggregate::is_changelog(batch) {
            return Err(Error::Internal(format!(
                "the append-only table '{}' was given an updating result",
                self.table
            )));
        }
        if self.in_progress.is_none() {
            let name = Self::part_name();
            let path = self.dir.join(format!(".{name}.inprogress"));
            let file = File::create(&path)
                .map_err(|e| Error::External(format!("cannot create {}: {e}", path.display())))?;
            self.in_progress = Some((path, BufWriter::new(file)));
        }
        let Some((_, writer)) = self.in_progress.as_mut() else {
            return Ok(());
        };
        for row in 0..batch.num_rows() {
            let mut value = row_json_object(batch, row);
            if self.ignore_null_fields {
                if let serde_json::Value::Object(map) = &mut value {
                    map.retain(|_, v| !v.is_null());
                }
            }
            serde_json::to_writer(&mut *writer, &value)
                .map_err(|e| Error::Internal(format!("json encoding failed: {e}")))?;
            writer.write_all(b"\n")?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some((path, mut writer)) = self.in_progress.take() {
            writer.flush()?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.strip_suffix(".inprogress"))
                .map(str::to_string)
                .ok_or_else(|| Error::Internal("bad in-progress file name".into()))?;
            std::fs::rename(&path, self.dir.join(name))?;
        }
        Ok(())
    }

    fn report(&self) -> SinkReport {
        SinkReport {
            table: self.table.clone(),
            connector: "filesystem".into(),
            rows_written: self.rows,
            duckdb: None,
        }
    }
}
