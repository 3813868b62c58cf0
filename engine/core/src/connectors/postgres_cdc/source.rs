//! The `postgres-cdc` source. It talks to PostgreSQL over an ordinary connection with the SQL
//! interface to logical decoding: the snapshot is a cursor in a REPEATABLE READ transaction,
//! changes are peeked from the slot (`pg_logical_slot_peek_binary_changes`) through a cursor,
//! and the slot moves (`pg_replication_slot_advance`) only in [`Source::commit`].
//!
//! Snapshot and changes meet without loss or duplicates: a temporary slot is created first,
//! then the snapshot is taken, recording which transactions it sees (`pg_current_snapshot()`)
//! and the WAL insert position `L` right after it. Every transaction committed before `L`
//! that the snapshot saw is skipped in the change stream; every other one is delivered. Once
//! the snapshot and the changes up to `L` are committed by Weir, the temporary slot is advanced
//! and copied into the permanent `slot.name`: the permanent slot exists only after a complete
//! snapshot, so a job restarted before that takes the snapshot again.
//!
//! The read position only ever moves to record boundaries the decoder has passed: the end of
//! a decoded commit, or the snapshot's insert position once the flushed WAL reaches it. When
//! it has caught up, the source writes a heartbeat every `heartbeat.interval.ms` (a small
//! transaction with a logical message), whose commit lets the slot move past other tables'
//! changes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow::datatypes::{Field, SchemaRef};
use postgres::error::SqlState;
use postgres::{Client, NoTls, SimpleQueryMessage};
use weir_api::JobMetrics;

use super::pgoutput::{self, Lsn, Message, OldKind, RelationColumn, Value};
use super::values::{self, ChangelogBuilder};
use super::{option_error, CdcOptions, StartupMode};
use crate::connectors::{Poll, Source, SourceOffset};
use crate::operators::group_aggregate::RowKind;
use crate::sql::types::SqlType;
use crate::sql::TableDef;
use crate::{Error, Result};

/// The cursors this source declares in its session.
const SNAPSHOT_CURSOR: &str = "weir_snapshot";
const CHANGES_CURSOR: &str = "weir_changes";
/// Changes (pgoutput messages) a peek asks for beyond those already returned.
const PEEK_CHANGES: u64 = 50_000;
/// How long a caught-up source waits before answering [`Poll::Idle`].
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// The prefix of the heartbeat messages this source writes.
const HEARTBEAT_PREFIX: &str = "weir-heartbeat";

/// Where the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the table's rows through the snapshot cursor.
    Snapshot,
    /// Decoding changes from the slot.
    Stream,
    /// `scan.startup.mode` = 'snapshot': the snapshot has been read.
    Ended,
}

/// What the snapshot saw: transactions it sees were committed before `until` and are in its
/// rows, so their changes are skipped.
#[derive(Debug, Clone)]
struct SnapshotFilter {
    xmin: u64,
    xmax: u64,
    in_progress: Vec<u64>,
    /// The WAL insert position just after the snapshot was taken.
    until: Lsn,
}

impl SnapshotFilter {
    /// Parses `pg_current_snapshot()`'s text, `xmin:xmax:xip,xip,...`.
    fn parse(text: &str, until: Lsn) -> Option<SnapshotFilter> {
        let mut parts = text.split(':');
        let xmin = parts.next()?.parse().ok()?;
        let xmax = parts.next()?.parse().ok()?;
        let in_progress = match parts.next()? {
            "" => vec![],
            list => list
                .split(',')
                .map(|x| x.parse().ok())
                .collect::<Option<Vec<u64>>>()?,
        };
        Some(SnapshotFilter {
            xmin,
            xmax,
            in_progress,
            until,
        })
    }

    /// Whether the snapshot sees the (committed) transaction `xid`, a 32-bit id widened
    /// with the epoch of the snapshot's `xmax`.
    fn sees(&self, xid: u32) -> bool {
        let epoch = self.xmax & !0xFFFF_FFFF;
        let mut full = epoch | u64::from(xid);
        if full > self.xmax && full - self.xmax > (1 << 31) && full >= (1 << 32) {
            full -= 1 << 32;
        }
        full < self.xmin || (full < self.xmax && !self.in_progress.contains(&full))
    }
}

/// The transaction being decoded.
#[derive(Debug, Clone, Copy)]
struct Transaction {
    /// Its changes are not delivered: already returned, or seen by the snapshot.
    skip: bool,
}

/// The open peek of changes.
#[derive(Debug, Clone, Copy)]
struct ChangesCursor {
    /// `upto_nchanges` of the peek.
    limit: u64,
    /// Messages fetched from it.
    rows: u64,
    /// Whether it gave a transaction not returned before.
    new: bool,
    /// The WAL flush position before the peek: it decodes at least up to there.
    flushed: Lsn,
}

/// Reads one PostgreSQL table: its snapshot, then its changes.
pub struct PostgresCdcSource {
    /// The Weir table, for errors.
    table: String,
    options: CdcOptions,
    client: Client,
    declared: Vec<(String, SqlType)>,
    builder: ChangelogBuilder,
    table_oid: u32,
    /// For each declared column, its position in the table as the last Relation message
    /// described it, and whether it is part of the replica identity key.
    positions: Option<Vec<(usize, bool)>>,
    /// Base types of type OIDs seen (domains resolved).
    base_types: HashMap<u32, u32>,
    phase: Phase,
    /// The slot being read: the temporary one until the first commit after the snapshot.
    reading_slot: String,
    /// Whether `slot.name` exists (holds the position a restarted job resumes from).
    persisted: bool,
    filter: Option<SnapshotFilter>,
    /// Where the slot has been moved to.
    acked: Lsn,
    /// The end of the last transaction whose changes are all in returned batches, or a WAL
    /// position before which nothing else is to be delivered.
    read_to: Lsn,
    cursor: Option<ChangesCursor>,
    /// Messages of the last peek up to `read_to`, to size the next peek.
    rows_to_read_to: u64,
    /// Extra messages the next peek asks for.
    peek_extra: u64,
    transaction: Option<Transaction>,
    /// How often to write a heartbeat when caught up; `None` when the server cannot decode
    /// logical messages (before PostgreSQL 14) or the user may not write them.
    heartbeat: Option<Duration>,
    last_heartbeat: Option<Instant>,
}

/// An error of the server or the connection while the job runs.
fn external(what: &str, e: postgres::Error) -> Error {
    Error::External(format!("postgres-cdc: {what}: {}", describe(&e)))
}

/// The server's message with its detail and hint, or the client's.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(d) = db.detail() {
                text.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                text.push_str(&format!("; hint: {h}"));
            }
            text
        }
        None => e.to_string(),
    }
}

/// `name` quoted as an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` quoted as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn connect(def: &TableDef, o: &CdcOptions) -> Result<Client> {
    let mut config = postgres::Config::new();
    config
        .host(&o.hostname)
        .port(o.port)
        .user(&o.username)
        .password(o.password.as_bytes())
        .dbname(&o.database)
        .connect_timeout(o.connect_timeout)
        .application_name("weir postgres-cdc");
    let server = format!("{}:{}", o.hostname, o.port);
    config.connect(NoTls).map_err(|e| match e.code() {
        Some(&SqlState::INVALID_PASSWORD) => option_error(
            def,
            "password",
            format!(
                "PostgreSQL at {server} refused the password of user '{}': {}",
                o.username,
                describe(&e)
            ),
        ),
        Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION) => option_error(
            def,
            "username",
            format!(
                "PostgreSQL at {server} refused user '{}': {}",
                o.username,
                describe(&e)
            ),
        ),
        Some(&SqlState::INVALID_CATALOG_NAME) => option_error(
            def,
            "database-name",
            format!("PostgreSQL at {server}: {}", describe(&e)),
        ),
        Some(_) => Error::External(format!(
            "postgres-cdc: connecting to {server}: {}",
            describe(&e)
        )),
        None => option_error(
            def,
            "hostname",
            format!("cannot connect to PostgreSQL at {server}: {}", describe(&e)),
        ),
    })
}

impl PostgresCdcSource {
    /// Connects, checks the table and the server, and starts the snapshot or resumes from the
    /// slot.
    pub fn open(def: &TableDef) -> Result<Self> {
        let options = super::read_options(def)?;
        let mut client = connect(def, &options)?;
        // Text output the value reader relies on; no timeouts on the long snapshot.
        client
            .batch_execute(
                "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; \
                 SET extra_float_digits = 3; SET bytea_output = 'hex'; SET statement_timeout = 0; \
                 SET idle_in_transaction_session_timeout = 0",
            )
            .map_err(|e| external("setting up the session", e))?;
        let fields: Vec<Field> = def
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
            .collect();
        let builder = ChangelogBuilder::new(&fields).ok_or_else(|| Error::Unsupported {
            construct: format!("a column type of table '{}' in postgres-cdc", def.name),
            span: def.span,
        })?;
        let mut source = PostgresCdcSource {
            table: def.name.clone(),
            reading_slot: options.slot.clone(),
            options,
            client,
            declared: def
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect(),
            builder,
            table_oid: 0,
            positions: None,
            base_types: HashMap::new(),
            phase: Phase::Stream,
            persisted: false,
            filter: None,
            acked: Lsn::default(),
            read_to: Lsn::default(),
            cursor: None,
            rows_to_read_to: 0,
            peek_extra: PEEK_CHANGES,
            transaction: None,
            heartbeat: None,
            last_heartbeat: None,
        };
        let streaming = source.options.startup != StartupMode::SnapshotOnly;
        if streaming {
            source.check_wal_level(def)?;
            let version: u32 = source
                .query_text("SHOW server_version_num")?
                .parse()
                .unwrap_or(0);
            if version >= 140_000 {
                source.heartbeat = Some(source.options.heartbeat_interval);
            }
        }
        source.check_table(def, streaming)?;
        if !streaming {
            source.begin_snapshot()?;
            return Ok(source);
        }
        source.lock_slot(def)?;
        match source.existing_slot(def)? {
            Some(confirmed) => {
                // The slot is where the last run was acknowledged: resume there.
                source.check_publication(def, false)?;
                source.persisted = true;
                source.acked = confirmed;
                source.read_to = confirmed;
            }
            None => {
                source.check_publication(def, true)?;
                if source.options.startup == StartupMode::Initial {
                    let temporary = format!(
                        "weir_snapshot_{}",
                        source.query_text("SELECT pg_backend_pid()::text")?
                    );
                    let start = source.create_slot(def, &temporary, true)?;
                    source.reading_slot = temporary;
                    source.acked = start;
                    source.read_to = start;
                    source.begin_snapshot()?;
                } else {
                    let start = source.create_slot(def, &source.options.slot.clone(), false)?;
                    source.persisted = true;
                    source.acked = start;
                    source.read_to = start;
                }
            }
        }
        Ok(source)
    }

    /// The single text value of a one-row query.
    fn query_text(&mut self, sql: &str) -> Result<String> {
        let rows = self
            .client
            .simple_query(sql)
            .map_err(|e| external(sql, e))?;
        rows.iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .ok_or_else(|| Error::External(format!("postgres-cdc: {sql} returned no row")))
    }

    fn check_wal_level(&mut self, def: &TableDef) -> Result<()> {
        let level = self.query_text("SHOW wal_level")?;
        if level != "logical" {
            return Err(option_error(
                def,
                "hostname",
                format!(
                    "the PostgreSQL server at {}:{} has wal_level = '{level}'; change data capture needs wal_level = logical (ALTER SYSTEM SET wal_level = logical; then restart the server)",
                    self.options.hostname, self.options.port
                ),
            ));
        }
        Ok(())
    }

    /// The base type of a type (domains resolved), from the catalog once per type.
    fn base_type(&mut self, oid: u32) -> Result<u32> {
        if let Some(base) = self.base_types.get(&oid) {
            return Ok(*base);
        }
        let mut current = oid;
        for _ in 0..16 {
            let row = self
                .client
                .query_opt(
                    "SELECT typtype::text, typbasetype FROM pg_catalog.pg_type WHERE oid = $1",
                    &[&current],
                )
                .map_err(|e| external("reading pg_type", e))?;
            match row {
                Some(r) if r.get::<_, String>(0) == "d" => current = r.get(1),
                _ => break,
            }
        }
        self.base_types.insert(oid, current);
        Ok(current)
    }

    /// Finds the table, checks the declared columns against it, and its replica identity.
    fn check_table(&mut self, def: &TableDef, streaming: bool) -> Result<()> {
        let (schema, table) = (self.options.schema.clone(), self.options.table.clone());
        let qualified = format!("{schema}.{table}");
        let found = self
            .client
            .query_opt(
                "SELECT c.oid, c.relkind::text, c.relreplident::text FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &table],
            )
            .map_err(|e| external("looking up the table", e))?;
        let Some(found) = found else {
            let schema_exists = self
                .client
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
                    &[&schema],
                )
                .map_err(|e| external("looking up the schema", e))?
                .is_some();
            return Err(if schema_exists {
                option_error(
                    def,
                    "table-name",
                    format!(
                        "database '{}' has no table {qualified}",
                        self.options.database
                    ),
                )
            } else {
                option_error(
                    def,
                    "schema-name",
                    format!(
                        "database '{}' has no schema '{schema}'",
                        self.options.database
                    ),
                )
            });
        };
        let oid: u32 = found.get(0);
        let kind: String = found.get(1);
        let identity: String = found.get(2);
        match kind.as_str() {
            "r" => {}
            "p" => {
                return Err(Error::Unsupported {
                    construct: format!("capturing the partitioned table {qualified}"),
                    span: def.option("table-name").map(|(_, s)| s).unwrap_or(def.span),
                })
            }
            _ => {
                return Err(option_error(
                    def,
                    "table-name",
                    format!("{qualified} is not a table (a view or another kind of relation)"),
                ))
            }
        }
        self.table_oid = oid;
        let columns = self
            .client
            .query(
                "SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) \
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 \
                 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&oid],
            )
            .map_err(|e| external("reading the table's columns", e))?;
        let mut present = Vec::new();
        for r in &columns {
            let name: String = r.get(0);
            let type_oid: u32 = r.get(1);
            let type_name: String = r.get(2);
            present.push((name, type_oid, type_name));
        }
        for c in &def.columns {
            let Some((_, type_oid, type_name)) = present.iter().find(|p| p.0 == c.name) else {
                let names: Vec<&str> = present.iter().map(|p| p.0.as_str()).collect();
                return Err(Error::Sql {
                    message: format!(
                        "column '{}' is not in PostgreSQL table {qualified} (it has: {})",
                        c.name,
                        names.join(", ")
                    ),
                    span: c.span,
                });
            };
            let base = self.base_type(*type_oid)?;
            if !values::compatible(&c.ty, base) {
                return Err(Error::Sql {
                    message: format!(
                        "column '{}' is declared {} but is {type_name} in PostgreSQL table {qualified}",
                        c.name,
                        SqlType::flink_name_of(&c.ty.to_arrow())
                    ),
                    span: c.span,
                });
            }
        }
        if !streaming {
            return Ok(());
        }
        // UPDATE and DELETE carry the old row's key only with a replica identity; without one,
        // PostgreSQL would even refuse the application's UPDATEs once the table is published.
        let fix = format!("ALTER TABLE {} REPLICA IDENTITY FULL", self.pg_table());
        let key_filter = match identity.as_str() {
            "f" => return Ok(()),
            "d" => "i.indisprimary",
            "i" => "i.indisreplident",
            _ => {
                return Err(option_error(
                    def,
                    "table-name",
                    format!("{qualified} has REPLICA IDENTITY NOTHING: its updates and deletes cannot be captured; run {fix}"),
                ))
            }
        };
        let key: Vec<String> = self
            .client
            .query(
                &format!(
                    "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a \
                     ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = $1 AND {key_filter}"
                ),
                &[&oid],
            )
            .map_err(|e| external("reading the table's key", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if key.is_empty() {
            return Err(option_error(
                def,
                "table-name",
                format!("{qualified} has no primary key, so PostgreSQL logs no old row for its updates and deletes (and refuses them once the table is published); add a primary key or run {fix}"),
            ));
        }
        if let Some(missing) = key.iter().find(|k| def.column(k).is_none()) {
            return Err(Error::Sql {
                message: format!(
                    "the replica identity of PostgreSQL table {qualified} is ({}): declare column '{missing}' so that updates and deletes carry their key, or run {fix}",
                    key.join(", ")
                ),
                span: def.span,
            });
        }
        Ok(())
    }

    fn pg_table(&self) -> String {
        format!(
            "{}.{}",
            ident(&self.options.schema),
            ident(&self.options.table)
        )
    }

    /// Takes a session advisory lock on the slot's name: through the SQL interface a slot is
    /// busy only during each call, so two jobs could otherwise read (and move) the same slot.
    fn lock_slot(&mut self, def: &TableDef) -> Result<()> {
        let key = format!("weir postgres-cdc slot {}", self.options.slot);
        let locked: bool = self
            .client
            .query_one(
                "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0))",
                &[&key],
            )
            .map_err(|e| external("locking the slot name", e))?
            .get(0);
        if !locked {
            return Err(option_error(
                def,
                "slot.name",
                format!(
                    "replication slot '{}' is being read by another Weir job; each job needs its own slot",
                    self.options.slot
                ),
            ));
        }
        Ok(())
    }

    /// The confirmed position of `slot.name` if it exists, after checking it is ours to use.
    fn existing_slot(&mut self, def: &TableDef) -> Result<Option<Lsn>> {
        let slot = self.options.slot.clone();
        let row = self
            .client
            .query_opt(
                "SELECT s.slot_type::text, coalesce(s.plugin::text, ''), coalesce(s.database::text, ''), \
                 s.active, coalesce(s.active_pid, 0), coalesce(s.confirmed_flush_lsn::text, '') \
                 FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = $1",
                &[&slot],
            )
            .map_err(|e| external("looking up the replication slot", e))?;
        let Some(row) = row else { return Ok(None) };
        let slot_type: String = row.get(0);
        let plugin: String = row.get(1);
        let database: String = row.get(2);
        let active: bool = row.get(3);
        let pid: i32 = row.get(4);
        let confirmed: String = row.get(5);
        let problem = if slot_type != "logical" || plugin != "pgoutput" {
            Some(format!(
                "is a {slot_type} slot with plugin '{plugin}', not a logical 'pgoutput' slot"
            ))
        } else if database != self.options.database {
            Some(format!("belongs to database '{database}'"))
        } else if active {
            Some(format!(
                "is in use by another connection (PID {pid}); each job needs its own slot"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(option_error(
                def,
                "slot.name",
                format!("replication slot '{slot}' {problem}"),
            ));
        }
        let lsn = Lsn::parse(&confirmed).ok_or_else(|| {
            Error::External(format!(
                "postgres-cdc: slot '{slot}' has no confirmed position ('{confirmed}')"
            ))
        })?;
        Ok(Some(lsn))
    }

    /// Makes sure the publication exists and publishes the table; creates it when allowed.
    fn check_publication(&mut self, def: &TableDef, may_create: bool) -> Result<()> {
        let name = self.options.publication.clone();
        let option = self.options.publication_option;
        let exists = self
            .client
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1",
                &[&name],
            )
            .map_err(|e| external("looking up the publication", e))?
            .is_some();
        let qualified = format!("{}.{}", self.options.schema, self.options.table);
        if exists {
            let publishes = self
                .client
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                    &[&name, &self.options.schema, &self.options.table],
                )
                .map_err(|e| external("reading the publication", e))?
                .is_some();
            if !publishes {
                return Err(option_error(
                    def,
                    option,
                    format!("publication '{name}' does not publish {qualified}: ALTER PUBLICATION {} ADD TABLE {}", ident(&name), self.pg_table()),
                ));
            }
            return Ok(());
        }
        if !may_create || !self.options.create_publication {
            return Err(option_error(
                def,
                option,
                format!(
                    "publication '{name}' does not exist: CREATE PUBLICATION {} FOR TABLE {}",
                    ident(&name),
                    self.pg_table()
                ),
            ));
        }
        // TRUNCATE is not published: Flink CDC skips it too.
        let sql = format!(
            "CREATE PUBLICATION {} FOR TABLE {} WITH (publish = 'insert, update, delete')",
            ident(&name),
            self.pg_table()
        );
        self.client.batch_execute(&sql).map_err(|e| {
            if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
                option_error(
                    def,
                    "username",
                    format!("user '{}' cannot create publication '{name}' ({}): have the table's owner run {sql}", self.options.username, describe(&e)),
                )
            } else {
                external("creating the publication", e)
            }
        })
    }

    /// Creates a logical slot with pgoutput; returns its start position.
    fn create_slot(&mut self, def: &TableDef, name: &str, temporary: bool) -> Result<Lsn> {
        let row = self
            .client
            .query_one(
                "SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput', $2)",
                &[&name, &temporary],
            )
            .map_err(|e| match e.code() {
                Some(&SqlState::INSUFFICIENT_PRIVILEGE) => option_error(
                    def,
                    "username",
                    format!("user '{}' may not create replication slots ({}): ALTER ROLE {} REPLICATION", self.options.username, describe(&e), ident(&self.options.username)),
                ),
                Some(&SqlState::CONFIGURATION_LIMIT_EXCEEDED) => option_error(
                    def,
                    "slot.name",
                    format!("cannot create replication slot '{name}': {} (raise max_replication_slots on the server)", describe(&e)),
                ),
                _ => external("creating the replication slot", e),
            })?;
        let text: String = row.get(0);
        Lsn::parse(&text)
            .ok_or_else(|| Error::External(format!("postgres-cdc: bad slot position '{text}'")))
    }

    /// Opens the snapshot: a REPEATABLE READ transaction with a cursor over the table; records
    /// what the snapshot sees for the change stream's filter.
    fn begin_snapshot(&mut self) -> Result<()> {
        let columns: Vec<String> = self.declared.iter().map(|(n, _)| ident(n)).collect();
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| external("starting the snapshot", e))?;
        let seen = self.query_text(
            "SELECT pg_catalog.pg_current_snapshot()::text || ' ' || pg_catalog.pg_current_wal_insert_lsn()::text",
        )?;
        let filter = seen
            .split_once(' ')
            .and_then(|(snapshot, lsn)| SnapshotFilter::parse(snapshot, Lsn::parse(lsn)?))
            .ok_or_else(|| {
                Error::External(format!("postgres-cdc: cannot read the snapshot '{seen}'"))
            })?;
        self.filter = Some(filter);
        let sql = format!(
            "DECLARE {SNAPSHOT_CURSOR} NO SCROLL CURSOR FOR SELECT {} FROM {}",
            columns.join(", "),
            self.pg_table()
        );
        self.client
            .batch_execute(&sql)
            .map_err(|e| external("reading the table", e))?;
        self.phase = Phase::Snapshot;
        Ok(())
    }

    /// The next rows of the snapshot, as inserts.
    fn poll_snapshot(
        &mut self,
        metrics: &mut JobMetrics,
    ) -> Result<Option<arrow::record_batch::RecordBatch>> {
        let fetch = self.options.fetch_size;
        let messages = self
            .client
            .simple_query(&format!("FETCH {fetch} FROM {SNAPSHOT_CURSOR}"))
            .map_err(|e| external("reading the table", e))?;
        let mut rows = 0;
        for m in &messages {
            if let SimpleQueryMessage::Row(row) = m {
                self.builder
                    .push(RowKind::Insert, |i| row.get(i).map(str::as_bytes))
                    .map_err(|bad| self.bad_value(bad))?;
                rows += 1;
            }
        }
        if rows < fetch {
            self.client
                .batch_execute(&format!("CLOSE {SNAPSHOT_CURSOR}; COMMIT"))
                .map_err(|e| external("ending the snapshot", e))?;
            self.phase = if self.options.startup == StartupMode::SnapshotOnly {
                Phase::Ended
            } else {
                Phase::Stream
            };
        }
        self.take_batch(metrics)
    }

    fn take_batch(
        &mut self,
        metrics: &mut JobMetrics,
    ) -> Result<Option<arrow::record_batch::RecordBatch>> {
        if self.builder.rows() == 0 {
            return Ok(None);
        }
        metrics.rows_read += self.builder.rows() as u64;
        self.builder.finish().map(Some)
    }

    fn bad_value(&self, bad: values::BadValue) -> Error {
        let (name, ty) = self
            .declared
            .get(bad.column)
            .map(|(n, t)| (n.as_str(), SqlType::flink_name_of(&t.to_arrow())))
            .unwrap_or(("?", String::new()));
        Error::Data(format!(
            "table '{}': column '{name}' ({ty}) cannot hold PostgreSQL's value '{}'",
            self.table, bad.text
        ))
    }

    /// Peeks the slot's changes through a cursor (in a transaction).
    fn open_changes_cursor(&mut self) -> Result<()> {
        let limit = self.rows_to_read_to + self.peek_extra;
        self.client
            .batch_execute("BEGIN")
            .map_err(|e| external("reading changes", e))?;
        let flushed = self.query_text("SELECT pg_catalog.pg_current_wal_flush_lsn()::text")?;
        let flushed = Lsn::parse(&flushed).ok_or_else(|| {
            Error::External(format!("postgres-cdc: bad WAL position '{flushed}'"))
        })?;
        let messages = if self.heartbeat.is_some() {
            ", 'messages', 'true'"
        } else {
            ""
        };
        let sql = format!(
            "DECLARE {CHANGES_CURSOR} NO SCROLL CURSOR FOR SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes({}, NULL, {limit}, 'proto_version', '1', 'publication_names', {}{messages})",
            literal(&self.reading_slot),
            literal(&self.options.publication)
        );
        self.client
            .batch_execute(&sql)
            .map_err(|e| external("reading changes", e))?;
        self.cursor = Some(ChangesCursor {
            limit,
            rows: 0,
            new: false,
            flushed,
        });
        self.transaction = None;
        Ok(())
    }

    /// The next changes; `Ok(None)` with nothing new in the WAL.
    fn poll_stream(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        let fetch = self.options.fetch_size;
        loop {
            if self.cursor.is_none() {
                self.open_changes_cursor()?;
            }
            let rows = self
                .client
                .query(&format!("FETCH {fetch} FROM {CHANGES_CURSOR}"), &[])
                .map_err(|e| external("reading changes", e))?;
            for row in &rows {
                let data: &[u8] = row
                    .try_get(0)
                    .map_err(|e| external("reading a change", e))?;
                if let Some(c) = self.cursor.as_mut() {
                    c.rows += 1;
                }
                self.apply(data)?;
            }
            if rows.len() < fetch {
                // The peek is read to its end, which is a transaction boundary.
                let done = self.cursor.take();
                self.client
                    .batch_execute(&format!("CLOSE {CHANGES_CURSOR}; COMMIT"))
                    .map_err(|e| external("reading changes", e))?;
                let Some(done) = done else { continue };
                if done.rows < done.limit {
                    // The end of the WAL: every record before the flush position seen first
                    // has been decoded.
                    if let Some(f) = &self.filter {
                        if done.flushed >= f.until {
                            self.read_to = self.read_to.max(f.until);
                        }
                    }
                    self.peek_extra = PEEK_CHANGES;
                    if done.flushed > self.read_to {
                        self.maybe_heartbeat();
                    }
                    if let Some(b) = self.take_batch(metrics)? {
                        return Ok(Poll::Batch(b));
                    }
                    // Caught up: wait a little before saying so, as sources do.
                    std::thread::sleep(IDLE_WAIT);
                    return Ok(Poll::Idle);
                }
                if done.new {
                    self.peek_extra = PEEK_CHANGES;
                } else {
                    // The limit was used up by changes returned before: look further.
                    self.peek_extra = self.peek_extra.saturating_mul(2);
                }
            }
            if self.builder.rows() >= fetch {
                if let Some(b) = self.take_batch(metrics)? {
                    return Ok(Poll::Batch(b));
                }
            }
        }
    }

    /// Decodes one message and appends the rows it makes.
    fn apply(&mut self, data: &[u8]) -> Result<()> {
        let message =
            pgoutput::decode(data).map_err(|e| Error::Internal(format!("postgres-cdc: {e}")))?;
        match message {
            Message::Begin { final_lsn, xid } => {
                let delivered = final_lsn < self.read_to;
                let seen = self
                    .filter
                    .as_ref()
                    .is_some_and(|f| final_lsn < f.until && f.sees(xid));
                self.transaction = Some(Transaction {
                    skip: delivered || seen,
                });
            }
            Message::Commit { end_lsn, .. } => {
                self.transaction = None;
                if end_lsn > self.read_to {
                    self.read_to = end_lsn;
                    if let Some(c) = self.cursor.as_mut() {
                        c.new = true;
                    }
                }
                if let Some(c) = &self.cursor {
                    self.rows_to_read_to = c.rows;
                }
            }
            Message::Relation { oid, columns, .. } if oid == self.table_oid => {
                self.set_relation(&columns)?;
            }
            Message::Insert { oid, new } if oid == self.table_oid && !self.skipping() => {
                self.push_tuple(RowKind::Insert, &new, None)?;
            }
            Message::Update { oid, old, new } if oid == self.table_oid && !self.skipping() => {
                let full_old = match &old {
                    Some((OldKind::Full, o)) => Some(o.as_slice()),
                    _ => None,
                };
                if !self.options.upsert {
                    match &old {
                        Some((_, o)) => self.push_tuple(RowKind::UpdateBefore, o, None)?,
                        // The key did not change: the new row's key is the old row's.
                        None => self.push_key(RowKind::UpdateBefore, &new)?,
                    }
                }
                self.push_tuple(RowKind::UpdateAfter, &new, full_old)?;
            }
            Message::Delete { oid, old: (_, old) } if oid == self.table_oid && !self.skipping() => {
                self.push_tuple(RowKind::Delete, &old, None)?;
            }
            // TRUNCATE is skipped, as Flink CDC does; other tables and messages are ignored.
            _ => {}
        }
        Ok(())
    }

    /// Writes a heartbeat if the interval has passed: a transaction holding only a logical
    /// message, committed synchronously (decoding reads flushed WAL only). The next peek decodes
    /// its commit, which moves the read position past everything before it.
    fn maybe_heartbeat(&mut self) {
        let Some(interval) = self.heartbeat else {
            return;
        };
        if self.last_heartbeat.is_some_and(|t| t.elapsed() < interval) {
            return;
        }
        self.last_heartbeat = Some(Instant::now());
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit = on; \
             SELECT pg_catalog.pg_logical_emit_message(true, {}, ''); COMMIT",
            literal(HEARTBEAT_PREFIX)
        );
        if self.client.batch_execute(&sql).is_err() {
            // Not allowed (or a standby): the slot then moves with this table's changes only.
            let _ = self.client.batch_execute("ROLLBACK");
            self.heartbeat = None;
        }
    }

    fn skipping(&self) -> bool {
        self.transaction.is_none_or(|t| t.skip)
    }

    /// Maps the declared columns onto the table as PostgreSQL now describes it.
    fn set_relation(&mut self, columns: &[RelationColumn]) -> Result<()> {
        let mut positions = Vec::with_capacity(self.declared.len());
        let declared = self.declared.clone();
        for (name, ty) in &declared {
            let Some(p) = columns.iter().position(|c| &c.name == name) else {
                return Err(Error::Data(format!(
                    "table '{}': column '{name}' is no longer in PostgreSQL table {}.{} (dropped or renamed while the job ran)",
                    self.table, self.options.schema, self.options.table
                )));
            };
            let base = self.base_type(columns[p].type_oid)?;
            if !values::compatible(ty, base) {
                return Err(Error::Data(format!(
                    "table '{}': column '{name}' of PostgreSQL table {}.{} changed to type OID {} while the job ran, which {} cannot hold",
                    self.table,
                    self.options.schema,
                    self.options.table,
                    columns[p].type_oid,
                    SqlType::flink_name_of(&ty.to_arrow())
                )));
            }
            positions.push((p, columns[p].key));
        }
        self.positions = Some(positions);
        Ok(())
    }

    fn positions(&self) -> Result<&[(usize, bool)]> {
        self.positions.as_deref().ok_or_else(|| {
            Error::Internal("postgres-cdc: a change arrived before its table's description".into())
        })
    }

    /// Appends a tuple; an unchanged TOASTed value is taken from `old` (REPLICA IDENTITY FULL).
    fn push_tuple(&mut self, kind: RowKind, tuple: &[Value], old: Option<&[Value]>) -> Result<()> {
        let positions = self.positions()?;
        let mut row: Vec<Option<&[u8]>> = Vec::with_capacity(positions.len());
        for (i, (p, _)) in positions.iter().enumerate() {
            let value = match (tuple.get(*p), old.and_then(|o| o.get(*p))) {
                (Some(Value::UnchangedToast), Some(previous)) => Some(*previous),
                (value, _) => value.copied(),
            };
            row.push(match value {
                Some(Value::Text(t)) => Some(t),
                Some(Value::Null) | None => None,
                Some(Value::UnchangedToast) => {
                    return Err(Error::Data(format!(
                        "table '{}': PostgreSQL did not send the unchanged large value of column '{}' with an update; run ALTER TABLE {} REPLICA IDENTITY FULL so that it does",
                        self.table,
                        self.declared.get(i).map(|d| d.0.as_str()).unwrap_or("?"),
                        self.pg_table()
                    )))
                }
            });
        }
        self.builder
            .push(kind, |i| row[i])
            .map_err(|bad| self.bad_value(bad))
    }

    /// Appends the key columns of `tuple` (other columns NULL).
    fn push_key(&mut self, kind: RowKind, tuple: &[Value]) -> Result<()> {
        let keyed: Vec<Value> = {
            let positions = self.positions()?;
            let mut keyed = vec![Value::Null; tuple.len()];
            for (p, key) in positions {
                if *key {
                    if let (Some(slot), Some(v)) = (keyed.get_mut(*p), tuple.get(*p)) {
                        *slot = *v;
                    }
                }
            }
            keyed
        };
        self.push_tuple(kind, &keyed, None)
    }

    /// Makes the temporary slot permanent once the snapshot and the changes it overlapped are
    /// all committed by Weir.
    fn persist(&mut self) -> Result<()> {
        if self.filter.as_ref().is_some_and(|f| self.read_to < f.until) {
            return Ok(());
        }
        let temporary = self.reading_slot.clone();
        let slot = self.options.slot.clone();
        let target = self.read_to.to_string();
        let sql = format!(
            "SELECT pg_catalog.pg_replication_slot_advance({t}, {lsn}::pg_lsn); \
             SELECT pg_catalog.pg_copy_logical_replication_slot({t}, {s}, false); \
             SELECT pg_catalog.pg_drop_replication_slot({t})",
            t = literal(&temporary),
            s = literal(&slot),
            lsn = literal(&target)
        );
        self.client
            .batch_execute(&sql)
            .map_err(|e| external(&format!("creating replication slot '{slot}'"), e))?;
        self.reading_slot = slot;
        self.persisted = true;
        self.filter = None;
        self.acked = self.read_to;
        self.rows_to_read_to = 0;
        Ok(())
    }
}

impl Source for PostgresCdcSource {
    /// The declared columns, then the row kind ([`crate::operators::group_aggregate::OP_COLUMN`]).
    fn schema(&self) -> SchemaRef {
        self.builder.schema()
    }

    fn poll_batch(&mut self, metrics: &mut JobMetrics) -> Result<Poll> {
        loop {
            match self.phase {
                Phase::Ended => return Ok(Poll::End),
                Phase::Snapshot => {
                    if let Some(batch) = self.poll_snapshot(metrics)? {
                        return Ok(Poll::Batch(batch));
                    }
                }
                Phase::Stream => return self.poll_stream(metrics),
            }
        }
    }

    fn offset(&self) -> SourceOffset {
        SourceOffset::Postgres {
            lsn: self.read_to.0,
        }
    }

    /// Moves the slot to the end of the last transaction fully returned: PostgreSQL may then
    /// recycle the WAL before it, and a restarted job resumes after it.
    fn commit(&mut self) -> Result<()> {
        if self.phase != Phase::Stream {
            // Nothing is durable before the snapshot is read: a restart takes it again.
            return Ok(());
        }
        if !self.persisted {
            return self.persist();
        }
        if self.read_to > self.acked {
            let sql = format!(
                "SELECT pg_catalog.pg_replication_slot_advance({}, {}::pg_lsn)",
                literal(&self.reading_slot),
                literal(&self.read_to.to_string())
            );
            self.client
                .batch_execute(&sql)
                .map_err(|e| external("acknowledging changes", e))?;
            self.acked = self.read_to;
            self.rows_to_read_to = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_visibility_follows_xmin_xmax_and_in_progress() {
        let f = SnapshotFilter::parse("100:105:101,103", Lsn(0)).unwrap();
        assert!(f.sees(99) && f.sees(100) && f.sees(102) && f.sees(104));
        assert!(!f.sees(101) && !f.sees(103), "in progress when taken");
        assert!(!f.sees(105) && !f.sees(200), "started after");
        let empty = SnapshotFilter::parse("737:737:", Lsn(0)).unwrap();
        assert!(empty.sees(736) && !empty.sees(737));
        assert!(SnapshotFilter::parse("1:x:", Lsn(0)).is_none());
    }

    #[test]
    fn xids_are_widened_with_the_snapshot_epoch() {
        // Epoch 1: xmax 2^32 + 10. A 32-bit xid 5 is 2^32 + 5 (seen); a 32-bit xid near 2^32
        // is from epoch 0 (long committed, seen).
        let base = 1u64 << 32;
        let f = SnapshotFilter {
            xmin: base + 8,
            xmax: base + 10,
            in_progress: vec![base + 9],
            until: Lsn(0),
        };
        assert!(f.sees(5));
        assert!(!f.sees(9) && !f.sees(10));
        assert!(f.sees(u32::MAX - 3));
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
