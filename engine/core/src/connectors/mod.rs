//! Connectors: each declares its options once (name, whether required, what it does), is
//! validated before a job starts so errors name the bad option and its position, and opens
//! typed sources and sinks. The registry is explicit: [`CONNECTORS`].

pub mod blackhole;
pub mod datagen;
pub mod filesystem;
pub mod formats;
pub mod json;
pub mod kafka;
pub mod postgres_cdc;
pub mod print;

use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use weir_api::{JobMetrics, SinkReport, Span};

use crate::sql::TableDef;
use crate::{Error, Result};

/// What an option does in Weir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Weir honours it.
    Honoured,
    /// It tunes only Flink's runtime (rolling policy, parallelism...): accepted, no effect.
    RuntimeOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The option's key; a key ending in `.*` stands for every key with that prefix.
    pub key: &'static str,
    pub required: bool,
    pub effect: Effect,
    pub help: &'static str,
}

const fn opt(key: &'static str, required: bool, effect: Effect, help: &'static str) -> OptionSpec {
    OptionSpec {
        key,
        required,
        effect,
        help,
    }
}

/// Which results a sink takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Inserts only.
    Appends,
    /// Changelogs too (`+I`, `-U`, `+U`, `-D`).
    Updates,
    /// Changelogs when the table declares a PRIMARY KEY (an upsert sink); appends otherwise.
    UpdatesWithPrimaryKey,
}

/// A connector's declaration.
#[derive(Debug)]
pub struct ConnectorSpec {
    pub name: &'static str,
    pub source: bool,
    pub sink: bool,
    /// What its sink takes.
    pub takes: Takes,
    /// Whether its source emits a changelog (updates and deletes), not only inserts.
    pub changelog: bool,
    pub options: &'static [OptionSpec],
    /// Checks of option values (and columns) beyond presence, run by [`validate`].
    pub check: Option<fn(&TableDef) -> Result<()>>,
    /// The metadata a table of this connector may declare as `METADATA` columns.
    pub metadata: &'static [MetadataSpec],
}

/// One metadata key of a connector (`col TYPE METADATA FROM 'key'`).
#[derive(Debug, Clone, Copy)]
pub struct MetadataSpec {
    pub key: &'static str,
    /// Flink's type of the value.
    pub ty: &'static str,
    /// Whether a sink writes it (otherwise a sink table must declare the column VIRTUAL).
    pub writable: bool,
}

impl ConnectorSpec {
    /// The declaration of connector `name`.
    pub fn find(name: &str) -> Option<&'static ConnectorSpec> {
        CONNECTORS.iter().find(|c| c.name == name)
    }
}

use Effect::{Honoured, RuntimeOnly};

const JSON_OPTIONS: &[OptionSpec] = &[
    opt(
        "json.fail-on-missing-field",
        false,
        Honoured,
        "fail the job when a field is missing (default false: null)",
    ),
    opt(
        "json.ignore-parse-errors",
        false,
        Honoured,
        "skip and count malformed rows instead of failing (default false)",
    ),
    opt(
        "json.timestamp-format.standard",
        false,
        Honoured,
        "'SQL' (2026-02-12 10:30:00.000, default) or 'ISO-8601'",
    ),
    opt(
        "json.map-null-key.mode",
        false,
        RuntimeOnly,
        "how null map keys are written",
    ),
    opt(
        "json.map-null-key.literal",
        false,
        RuntimeOnly,
        "the literal for null map keys",
    ),
    opt(
        "json.encode.decimal-as-plain-number",
        false,
        RuntimeOnly,
        "write decimals without exponent",
    ),
    opt(
        "json.encode.ignore-null-fields",
        false,
        Honoured,
        "leave null fields out when writing",
    ),
];

const KAFKA_ALL: &[OptionSpec] = &concat_specs::<
    { kafka::COMMON.len() + kafka::KAFKA_OPTIONS.len() },
>(kafka::COMMON, kafka::KAFKA_OPTIONS);
const UPSERT_KAFKA_ALL: &[OptionSpec] = &concat_specs::<
    { kafka::COMMON.len() + kafka::UPSERT_KAFKA_OPTIONS.len() },
>(kafka::COMMON, kafka::UPSERT_KAFKA_OPTIONS);

/// Two option lists as one, at compile time.
const fn concat_specs<const N: usize>(a: &[OptionSpec], b: &[OptionSpec]) -> [OptionSpec; N] {
    let mut out = [opt("", false, Honoured, ""); N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    out
}

/// The registry of connectors Weir runs.
pub const CONNECTORS: &[ConnectorSpec] = &[
    ConnectorSpec {
        name: "filesystem",
        source: true,
        sink: true,
        takes: Takes::Appends,
        changelog: false,
        check: None,
        metadata: &[],
        options: &[
            opt("connector", true, Honoured, "'filesystem'"),
            opt("path", true, Honoured, "a file or directory; relative paths resolve against the script's folder; file:// URLs accepted"),
            opt("format", true, Honoured, "'json'"),
            opt("source.monitor-interval", false, RuntimeOnly, "directory monitoring (Weir reads bounded input)"),
            opt("source.path.regex-pattern", false, RuntimeOnly, "file filter"),
            opt("partition.default-name", false, RuntimeOnly, "partition name for nulls"),
            opt("sink.rolling-policy.file-size", false, RuntimeOnly, "part file size"),
            opt("sink.rolling-policy.rollover-interval", false, RuntimeOnly, "part file age"),
            opt("sink.rolling-policy.check-interval", false, RuntimeOnly, "rolling check interval"),
            opt("sink.rolling-policy.inactivity-interval", false, RuntimeOnly, "rolling on inactivity"),
            opt("sink.parallelism", false, RuntimeOnly, "sink parallelism"),
            opt("auto-compaction", false, RuntimeOnly, "compaction of small files"),
            opt("compaction.file-size", false, RuntimeOnly, "compaction target size"),
            opt("sink.partition-commit.trigger", false, RuntimeOnly, "partition commit trigger"),
            opt("sink.partition-commit.delay", false, RuntimeOnly, "partition commit delay"),
            opt("sink.partition-commit.policy.kind", false, RuntimeOnly, "partition commit policy"),
        ],
    },
    ConnectorSpec {
        name: "print",
        source: false,
        sink: true,
        takes: Takes::Updates,
        changelog: false,
        check: None,
        metadata: &[],
        options: &[
            opt("connector", true, Honoured, "'print'"),
            opt("print-identifier", false, Honoured, "a prefix for every printed row"),
            opt("standard-error", false, Honoured, "print to standard error instead of standard output"),
            opt("sink.parallelism", false, RuntimeOnly, "sink parallelism"),
        ],
    },
    ConnectorSpec {
        name: "kafka",
        source: true,
        sink: true,
        takes: Takes::Appends,
        changelog: false,
        check: None,
        options: KAFKA_ALL,
        metadata: kafka::METADATA,
    },
    ConnectorSpec {
        name: "upsert-kafka",
        source: false,
        sink: true,
        takes: Takes::UpdatesWithPrimaryKey,
        changelog: false,
        check: None,
        options: UPSERT_KAFKA_ALL,
        metadata: kafka::METADATA,
    },
    ConnectorSpec {
        name: "duckdb",
        source: true,
        sink: true,
        takes: Takes::UpdatesWithPrimaryKey,
        changelog: false,
        check: None,
        metadata: &[],
        options: &[
            opt("connector", true, Honoured, "'duckdb'"),
            opt("path", true, Honoured, "the database file; created by a sink if missing; relative paths resolve against the script's folder"),
            opt("table-name", true, Honoured, "the table, optionally schema-qualified; a sink creates it if missing (with the DDL's PRIMARY KEY); a source reads it whole"),
            opt("sink.buffer-flush.max-rows", false, Honoured, "with a PRIMARY KEY: changes staged before they are merged into the table (default 100000; every commit merges too)"),
            opt("sink.parallelism", false, RuntimeOnly, "sink parallelism"),
        ],
    },
    ConnectorSpec {
        name: "blackhole",
        source: false,
        sink: true,
        takes: Takes::Updates,
        changelog: false,
        check: None,
        metadata: &[],
        options: &[opt("connector", true, Honoured, "'blackhole'")],
    },
    ConnectorSpec {
        name: "datagen",
        source: true,
        sink: false,
        takes: Takes::Appends,
        changelog: false,
        check: Some(datagen::check),
        metadata: &[],
        options: datagen::OPTIONS,
    },
    ConnectorSpec {
        name: "postgres-cdc",
        source: true,
        sink: false,
        takes: Takes::Appends,
        changelog: true,
        check: Some(postgres_cdc::check),
        metadata: &[],
        options: postgres_cdc::OPTIONS,
    },
];

/// Connectors Flink has that Weir will run but does not yet.
const PLANNED: &[&str] = &["jdbc", "iceberg"];

/// Whether a table is read or written by the statement at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Sink,
}

/// Checks a table's options against its connector's declaration.
pub fn validate(def: &TableDef, role: Role) -> Result<&'static ConnectorSpec> {
    let option_error = |option: &str, message: String, span: Span| Error::Option {
        table: def.name.clone(),
        option: option.to_string(),
        message,
        span,
    };
    let (name, name_span) = def
        .option("connector")
        .ok_or_else(|| option_error("connector", "is required".into(), def.span))?;
    let Some(spec) = CONNECTORS.iter().find(|c| c.name == name) else {
        let available: Vec<&str> = CONNECTORS.iter().map(|c| c.name).collect();
        return Err(if PLANNED.contains(&name) {
            Error::Unsupported {
                construct: format!("the '{name}' connector"),
                span: name_span,
            }
        } else {
            option_error(
                "connector",
                format!(
                    "unknown connector '{name}'; Weir has: {}",
                    available.join(", ")
                ),
                name_span,
            )
        });
    };
    match role {
        Role::Source if !spec.source => {
            return Err(option_error(
                "connector",
                format!("'{name}' can only be written to, not read"),
                name_span,
            ))
        }
        Role::Sink if !spec.sink => {
            return Err(option_error(
                "connector",
                format!("'{name}' can only be read, not written to"),
                name_span,
            ))
        }
        _ => {}
    }
    // Format options are accepted under the prefix of the option that chose the format:
    // `json.x` with 'format', `value.json.x` with 'value.format', `key.json.x` with 'key.format'.
    let mut format_specs: Vec<(String, &OptionSpec)> = Vec::new();
    for (format_key, prefix) in [
        ("format", ""),
        ("value.format", "value."),
        ("key.format", "key."),
    ] {
        if let Some((f, _)) = def.option(format_key) {
            for o in formats::format_options(f) {
                format_specs.push((format!("{prefix}{}", o.key), o));
            }
        }
    }
    for (key, value, span) in &def.options {
        let direct = spec
            .options
            .iter()
            .find(|o| o.key == key || o.key.strip_suffix('*').is_some_and(|p| key.starts_with(p)));
        let found = direct.or_else(|| format_specs.iter().find(|(k, _)| k == key).map(|(_, o)| *o));
        let Some(found) = found else {
            let mut keys: Vec<&str> = spec
                .options
                .iter()
                .map(|o| o.key)
                .chain(format_specs.iter().map(|(k, _)| k.as_str()))
                .collect();
            keys.sort_unstable();
            let hint = match keys.iter().min_by_key(|k| edit_distance(k, key)) {
                Some(best) if edit_distance(best, key) <= 3 => format!("did you mean '{best}'? "),
                _ => String::new(),
            };
            return Err(option_error(
                key,
                format!(
                    "not an option of the '{name}' connector; {hint}it takes: {}",
                    keys.join(", ")
                ),
                *span,
            ));
        };
        let is_flag = found.effect == Honoured
            && (found.key.starts_with("json.") || found.key.starts_with("csv."))
            && !matches!(
                found.key,
                "json.timestamp-format.standard"
                    | "csv.field-delimiter"
                    | "csv.quote-character"
                    | "csv.null-literal"
            );
        if is_flag {
            parse_bool(value).ok_or_else(|| {
                option_error(
                    key,
                    format!("expected 'true' or 'false', found '{value}'"),
                    *span,
                )
            })?;
        }
    }
    for required in spec.options.iter().filter(|o| o.required) {
        if def.option(required.key).is_none() {
            return Err(option_error(
                required.key,
                format!("is required ({})", required.help),
                def.span,
            ));
        }
    }
    let readable: &[&str] = if spec.name == "filesystem" {
        &["json"]
    } else {
        formats::FORMATS
    };
    for format_key in ["format", "value.format", "key.format"] {
        if let Some((f, span)) = def.option(format_key) {
            if !readable.contains(&f) {
                return Err(if formats::FORMATS.contains(&f) {
                    Error::Unsupported {
                        construct: format!("the '{f}' format with the '{name}' connector"),
                        span,
                    }
                } else {
                    option_error(
                        format_key,
                        format!("unknown format '{f}'; Weir has: {}", readable.join(", ")),
                        span,
                    )
                });
            }
        }
    }
    validate_metadata(def, spec, role)?;
    if let Some(check) = spec.check {
        check(def)?;
    }
    Ok(spec)
}

/// Checks `METADATA` columns against what the connector offers.
fn validate_metadata(def: &TableDef, spec: &ConnectorSpec, role: Role) -> Result<()> {
    for c in &def.columns {
        let Some(m) = &c.metadata else { continue };
        let Some(found) = spec.metadata.iter().find(|k| k.key == m.key) else {
            let keys: Vec<String> = spec
                .metadata
                .iter()
                .map(|k| format!("'{}' {}", k.key, k.ty))
                .collect();
            return Err(Error::Sql {
                message: format!(
                    "column '{}' of table '{}': the '{}' connector has no metadata key '{}'; {}",
                    c.name,
                    def.name,
                    spec.name,
                    m.key,
                    if keys.is_empty() {
                        "it offers no metadata".to_string()
                    } else {
                        format!("it offers: {}", keys.join(", "))
                    }
                ),
                span: m.span,
            });
        };
        if role == Role::Sink && !m.virtual_ && !found.writable {
            return Err(Error::Sql {
                message: format!(
                    "column '{}' of table '{}': the '{}' connector cannot write metadata '{}'; declare the column METADATA ... VIRTUAL to leave it out of INSERTs",
                    c.name, def.name, spec.name, m.key
                ),
                span: m.span,
            });
        }
    }
    Ok(())
}

/// Whether reading `def` gives a changelog (its connector captures updates and deletes).
pub fn produces_changelog(def: &TableDef) -> bool {
    let connector = def.option("connector").map(|(c, _)| c);
    CONNECTORS
        .iter()
        .any(|c| Some(c.name) == connector && c.changelog)
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A `path` option made absolute: `file://` stripped, relative paths against `base`.
pub fn resolve_path(value: &str, base: &Path) -> PathBuf {
    let raw = value.strip_prefix("file://").unwrap_or(value);
    let p = Path::new(raw);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Where a source is in its input, so that a checkpoint can store it and a restore resume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SourceOffset {
    /// The next line to read: file index in the sorted listing and line number (0-based).
    File { file: usize, line: u64 },
    /// Values sources have a single batch.
    Values { emitted: bool },
    /// A log (Kafka or the embedded log): the next offset to read of each partition.
    Log { positions: Vec<PartitionOffset> },
    /// Sources that read a table whole (DuckDB): the rows emitted so far.
    Rows { emitted: u64 },
    /// A PostgreSQL CDC source: the WAL position after the last transaction it returned (the
    /// replication slot moves there on commit).
    Postgres { lsn: u64 },
}

/// The next offset to read of one topic partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What a source has for the job now.
#[derive(Debug)]
pub enum Poll {
    /// Rows of the source's only partition (or of a source whose watermark is not per
    /// partition).
    Batch(RecordBatch),
    /// Rows all from one partition of a partitioned source (index below
    /// [`Source::partitions`]); watermarks are generated per partition and the source's is the
    /// smallest of its partitions', as Flink does for Kafka splits.
    PartitionBatch(usize, RecordBatch),
    /// Nothing new now: an unbounded source has caught up. The job may stop here when it was
    /// asked to drain.
    Idle,
    /// The end of bounded input.
    End,
}

/// A bounded or unbounded producer of record batches.
pub trait Source: Send {
    fn schema(&self) -> SchemaRef;
    /// The next rows; waits a little (at most ~100 ms) before answering [`Poll::Idle`].
    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll>;
    /// The position to resume from after the batches returned so far.
    fn offset(&self) -> SourceOffset;
    /// How many partitions feed watermarks of their own (1 unless the source says
    /// [`Poll::PartitionBatch`]).
    fn partitions(&self) -> usize {
        1
    }
    /// Tells the source which columns of its schema later operators read (`needed[i]`),
    /// before the first poll: it may leave the others NULL rather than decode them (a
    /// projection pushed into the format, as Flink's json format takes one).
    fn project(&mut self, _needed: &[bool]) {}
    /// Whether an unbounded source has read everything there is now (a drain stops here).
    fn caught_up(&mut self) -> Result<bool> {
        Ok(true)
    }
    /// Called when the sink has committed every row read so far: the source may acknowledge
    /// them upstream (commit a consumer group's offsets, advance a replication slot).
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A consumer of record batches.
pub trait Sink: Send {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Flushes and commits everything written (end of input or a checkpoint).
    fn finish(&mut self) -> Result<()>;
    fn report(&self) -> SinkReport;
}

/// Opens the source of a validated table.
pub fn open_source(def: &TableDef, base: &Path) -> Result<Box<dyn Source>> {
    let spec = validate(def, Role::Source)?;
    match spec.name {
        "filesystem" => Ok(Box::new(filesystem::FileSource::open(def, base)?)),
        "duckdb" => Ok(Box::new(crate::duckdb_sink::DuckDbSource::open(def, base)?)),
        "kafka" => Ok(Box::new(kafka::KafkaSource::open(def, base)?)),
        "postgres-cdc" => Ok(Box::new(postgres_cdc::PostgresCdcSource::open(def)?)),
        "datagen" => Ok(Box::new(datagen::DatagenSource::open(def)?)),
        other => Err(Error::Internal(format!(
            "connector '{other}' has no source"
        ))),
    }
}

/// Opens the sink of a validated table.
pub fn open_sink(def: &TableDef, base: &Path, print_to_stdout: bool) -> Result<Box<dyn Sink>> {
    let spec = validate(def, Role::Sink)?;
    match spec.name {
        "filesystem" => Ok(Box::new(filesystem::FileSink::open(def, base)?)),
        "print" => Ok(Box::new(print::PrintSink::open(def, print_to_stdout))),
        "blackhole" => Ok(Box::new(blackhole::BlackholeSink::open(def))),
        "duckdb" => Ok(Box::new(crate::duckdb_sink::DuckDbSink::open(def, base)?)),
        "kafka" | "upsert-kafka" => Ok(Box::new(kafka::KafkaSink::open(def, base)?)),
        other => Err(Error::Internal(format!("connector '{other}' has no sink"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::{parse_script, Statement};
    use std::collections::HashMap;

    fn def(sql: &str) -> TableDef {
        match parse_script(sql, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => *t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_option_is_named_with_its_position() {
        let t = def("CREATE TABLE t (a STRING) WITH (\n 'connector' = 'filesystem',\n 'path' = '/x',\n 'format' = 'json',\n 'pth' = 'y')");
        let err = validate(&t, Role::Source).unwrap_err();
        assert_eq!(err.span(), Some(Span { line: 5, column: 2 }));
        assert!(
            err.to_string().contains(
                "option 'pth': not an option of the 'filesystem' connector; did you mean 'path'?"
            ),
            "{err}"
        );
    }

    #[test]
    fn runtime_only_options_are_accepted() {
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'filesystem', 'path' = '/x', 'format' = 'json', 'sink.rolling-policy.rollover-interval' = '1s', 'json.ignore-parse-errors' = 'true')");
        assert_eq!(validate(&t, Role::Sink).unwrap().name, "filesystem");
    }

    #[test]
    fn bad_boolean_and_missing_required() {
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'filesystem', 'path' = '/x', 'format' = 'json', 'json.ignore-parse-errors' = 'yes')");
        assert!(validate(&t, Role::Source)
            .unwrap_err()
            .to_string()
            .contains("expected 'true' or 'false'"));
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'duckdb', 'path' = '/x')");
        assert!(validate(&t, Role::Sink)
            .unwrap_err()
            .to_string()
            .contains("option 'table-name': is required"));
    }

    #[test]
    fn planned_connectors_are_unsupported_and_unknown_ones_rejected() {
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'jdbc')");
        assert_eq!(
            validate(&t, Role::Source).unwrap_err().code(),
            "sql.unsupported"
        );
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'kafak')");
        assert!(validate(&t, Role::Source)
            .unwrap_err()
            .to_string()
            .contains("unknown connector 'kafak'"));
        let t = def("CREATE TABLE t (a STRING) WITH ('connector' = 'print')");
        assert!(validate(&t, Role::Source)
            .unwrap_err()
            .to_string()
            .contains("can only be written to"));
    }

    #[test]
    fn metadata_columns_are_checked_against_the_connector() {
        let kafka = "'connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'embedded', 'format' = 'json'";
        let t = def(&format!(
            "CREATE TABLE t (a STRING, o BIGINT METADATA FROM 'offst' VIRTUAL) WITH ({kafka})"
        ));
        let err = validate(&t, Role::Source).unwrap_err();
        assert!(
            err.to_string().contains("column 'o' of table 't': the 'kafka' connector has no metadata key 'offst'; it offers: 'topic' STRING NOT NULL"),
            "{err}"
        );
        assert_eq!(
            err.span(),
            Some(Span {
                line: 1,
                column: 36
            })
        );
        // Read-only metadata must be VIRTUAL in a table that is written.
        let t = def(&format!(
            "CREATE TABLE t (a STRING, o BIGINT METADATA FROM 'offset', ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp') WITH ({kafka})"
        ));
        assert_eq!(validate(&t, Role::Source).unwrap().name, "kafka");
        assert!(validate(&t, Role::Sink)
            .unwrap_err()
            .to_string()
            .contains("cannot write metadata 'offset'; declare the column METADATA ... VIRTUAL"));
        // The key defaults to the column's name; VIRTUAL columns are not written.
        let t = def(&format!(
            "CREATE TABLE t (a STRING, `offset` BIGINT METADATA VIRTUAL, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp') WITH ({kafka})"
        ));
        assert_eq!(validate(&t, Role::Sink).unwrap().name, "kafka");
        assert_eq!(t.columns[1].metadata.as_ref().unwrap().key, "offset");
        let writable: Vec<&str> = t.writable_columns().map(|c| c.name.as_str()).collect();
        assert_eq!(writable, ["a", "ts"]);
        let t = def("CREATE TABLE t (a STRING, o BIGINT METADATA FROM 'offset') WITH ('connector' = 'filesystem', 'path' = '/x', 'format' = 'json')");
        assert!(validate(&t, Role::Source)
            .unwrap_err()
            .to_string()
            .contains("it offers no metadata"));
    }

    #[test]
    fn paths_resolve_against_the_script() {
        assert_eq!(
            resolve_path("file:///a/b", Path::new("/x")),
            PathBuf::from("/a/b")
        );
        assert_eq!(
            resolve_path("../d", Path::new("/x/y")),
            PathBuf::from("/x/y/../d")
        );
    }
}
