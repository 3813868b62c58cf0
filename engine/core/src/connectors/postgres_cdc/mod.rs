//! The `postgres-cdc` connector, with Flink CDC's option names: a consistent snapshot of one
//! PostgreSQL table, then its changes from a logical replication slot (`pgoutput`), as a
//! changelog (+I, -U, +U, -D). The slot is acknowledged only when Weir commits, so a restarted
//! job resumes after the last committed change. See docs/CONNECTORS.md, "postgres-cdc".

pub mod pgoutput;
mod source;
pub mod values;

use std::time::Duration;

pub use source::PostgresCdcSource;

use super::{opt, Effect::Honoured, Effect::RuntimeOnly, OptionSpec};
use crate::sql::TableDef;
use crate::{Error, Result};

/// The connector's options as Flink CDC 3.x names them.
pub const OPTIONS: &[OptionSpec] = &[
    opt("connector", true, Honoured, "'postgres-cdc'"),
    opt("hostname", true, Honoured, "the PostgreSQL server's host name or address"),
    opt("port", false, Honoured, "the server's port (default 5432)"),
    opt("username", true, Honoured, "a role with the REPLICATION attribute and SELECT on the table"),
    opt("password", true, Honoured, "the role's password"),
    opt("database-name", true, Honoured, "the database"),
    opt("schema-name", true, Honoured, "the table's schema (one name; regular expressions are not supported)"),
    opt("table-name", true, Honoured, "the table (one name; regular expressions are not supported)"),
    opt("slot.name", true, Honoured, "the logical replication slot: lower-case letters, digits and '_'; created when missing, and where a restarted job resumes"),
    opt("decoding.plugin.name", false, Honoured, "only 'pgoutput' (built into PostgreSQL 10 and later; Weir's default)"),
    opt("scan.startup.mode", false, Honoured, "'initial' (snapshot, then changes; default), 'latest-offset' or 'committed-offset' (changes only), 'snapshot' (the snapshot alone, then the input ends)"),
    opt("changelog-mode", false, Honoured, "'all' (+I, -U, +U, -D; default) or 'upsert' (no -U; needs a PRIMARY KEY)"),
    opt("scan.snapshot.fetch.size", false, Honoured, "rows fetched per round trip, and most rows in a batch (default 1024)"),
    opt("connect.timeout", false, Honoured, "how long to wait for the server when connecting (default 30s)"),
    opt("debezium.publication.name", false, Honoured, "the publication to decode with (default: the slot's name); created FOR TABLE when missing"),
    opt("debezium.publication.autocreate.mode", false, Honoured, "'disabled': the publication must exist; otherwise it is created for this table when missing"),
    opt("debezium.*", false, RuntimeOnly, "Debezium engine settings; those that would change the rows are refused"),
    opt("heartbeat.interval.ms", false, Honoured, "when caught up, how often to write a heartbeat into the WAL (pg_logical_emit_message) so that the slot can move past other tables' changes (default 30s; PostgreSQL 14 and later)"),
    opt("scan.incremental.snapshot.*", false, RuntimeOnly, "Weir reads the snapshot in one consistent transaction"),
    opt("scan.incremental.close-idle-reader.enabled", false, RuntimeOnly, "snapshot reader lifecycle"),
    opt("scan.lsn-commit.checkpoints-num-delay", false, RuntimeOnly, "Weir acknowledges the slot when the sink has committed"),
    opt("chunk-meta.group.size", false, RuntimeOnly, "snapshot chunk bookkeeping"),
    opt("chunk-key.even-distribution.factor.*", false, RuntimeOnly, "snapshot chunk splitting"),
    opt("connect.max-retries", false, RuntimeOnly, "connection retries (Weir fails the job; a restart resumes)"),
    opt("connect.pool.size", false, RuntimeOnly, "connection pool size"),
    opt("table-id.include-database", false, RuntimeOnly, "table ids in Flink CDC's pipeline events"),
];

/// Debezium settings that change which rows or values come out: refused unless harmless.
const REFUSED_DEBEZIUM: &[(&str, &str)] = &[
    ("debezium.snapshot.mode", "use 'scan.startup.mode'"),
    ("debezium.snapshot.select.statement.overrides", "Weir snapshots the whole table"),
    ("debezium.skipped.operations", "Weir captures inserts, updates and deletes, and skips TRUNCATE as Debezium's default 't' does"),
    ("debezium.slot.drop.on.stop", "the slot is where a restarted job resumes; drop it yourself with pg_drop_replication_slot"),
    ("debezium.column.include.list", "the declared columns are read"),
    ("debezium.column.exclude.list", "the declared columns are read"),
    ("debezium.column.mask", "values are read unchanged"),
    ("debezium.column.truncate", "values are read unchanged"),
    ("debezium.message.key.columns", "the replica identity is the key"),
    ("debezium.database.sslmode", "Weir connects without TLS"),
];

/// How the source starts when its slot does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupMode {
    /// A snapshot of the table, then the changes after it.
    Initial,
    /// Changes from the slot's creation on.
    LatestOffset,
    /// The snapshot alone; the input then ends (no slot).
    SnapshotOnly,
}

/// The options of one `postgres-cdc` table, read and checked.
#[derive(Debug, Clone)]
pub struct CdcOptions {
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub database: String,
    pub schema: String,
    pub table: String,
    pub slot: String,
    pub publication: String,
    /// Which option named the publication, for errors.
    pub publication_option: &'static str,
    pub create_publication: bool,
    pub startup: StartupMode,
    pub upsert: bool,
    pub fetch_size: usize,
    pub connect_timeout: Duration,
    pub heartbeat_interval: Duration,
}

fn option_error(def: &TableDef, key: &str, message: String) -> Error {
    Error::Option {
        table: def.name.clone(),
        option: key.to_string(),
        message,
        span: def.option(key).map(|(_, s)| s).unwrap_or(def.span),
    }
}

/// Characters that make a Flink CDC schema or table name a regular expression.
fn looks_like_regex(name: &str) -> bool {
    name.contains([
        '*', '|', '[', ']', '(', ')', '?', '+', '^', '$', '\\', '{', '}',
    ]) || name.contains(".*")
}

/// Reads and checks the options (no connection is made).
pub fn read_options(def: &TableDef) -> Result<CdcOptions> {
    let get = |key: &str| def.option(key).map(|(v, _)| v.to_string());
    let required = |key: &str| get(key).ok_or_else(|| option_error(def, key, "is required".into()));
    for (key, value, span) in &def.options {
        if let Some((_, why)) = REFUSED_DEBEZIUM
            .iter()
            .find(|(k, _)| key == k || key.starts_with(&format!("{k}.")))
        {
            let harmless = match key.as_str() {
                "debezium.skipped.operations" => value.trim() == "t",
                "debezium.slot.drop.on.stop" => value.trim() == "false",
                "debezium.database.sslmode" => {
                    ["disable", "allow", "prefer"].contains(&value.trim())
                }
                "debezium.snapshot.mode" => value.trim() == "initial",
                _ => false,
            };
            if !harmless {
                return Err(Error::Unsupported {
                    construct: format!("'{key}' = '{value}' on table '{}' ({why})", def.name),
                    span: *span,
                });
            }
        }
    }
    let port = match get("port") {
        None => 5432,
        Some(p) => p
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                option_error(def, "port", format!("expected a port number, found '{p}'"))
            })?,
    };
    let slot = required("slot.name")?;
    if slot.is_empty()
        || slot.len() > 63
        || !slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(option_error(
            def,
            "slot.name",
            format!("'{slot}' is not a replication slot name: use 1 to 63 lower-case letters, digits and '_'"),
        ));
    }
    if let Some(plugin) = get("decoding.plugin.name") {
        if plugin != "pgoutput" {
            return Err(option_error(
                def,
                "decoding.plugin.name",
                format!("Weir decodes only 'pgoutput' (built into PostgreSQL 10 and later), not '{plugin}'"),
            ));
        }
    }
    let startup = match get("scan.startup.mode").as_deref().map(str::trim) {
        None | Some("initial") => StartupMode::Initial,
        Some("latest-offset") | Some("committed-offset") => StartupMode::LatestOffset,
        Some("snapshot") => StartupMode::SnapshotOnly,
        Some(other) => {
            return Err(option_error(
                def,
                "scan.startup.mode",
                format!("expected 'initial', 'latest-offset', 'committed-offset' or 'snapshot', found '{other}'"),
            ))
        }
    };
    let upsert = match get("changelog-mode").as_deref().map(str::trim) {
        None | Some("all") => false,
        Some("upsert") => true,
        Some(other) => {
            return Err(option_error(
                def,
                "changelog-mode",
                format!("expected 'all' or 'upsert', found '{other}'"),
            ))
        }
    };
    if upsert && def.primary_key.is_empty() {
        return Err(option_error(
            def,
            "changelog-mode",
            "'upsert' needs a PRIMARY KEY (...) NOT ENFORCED on the table, as in Flink CDC".into(),
        ));
    }
    let fetch_size = match get("scan.snapshot.fetch.size") {
        None => 1024,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                option_error(
                    def,
                    "scan.snapshot.fetch.size",
                    format!("expected a positive number of rows, found '{v}'"),
                )
            })?,
    };
    let connect_timeout = match get("connect.timeout") {
        None => Duration::from_secs(30),
        Some(v) => crate::session::parse_duration_ms(&v)
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64))
            .ok_or_else(|| {
                option_error(
                    def,
                    "connect.timeout",
                    format!("expected a duration such as '30s', found '{v}'"),
                )
            })?,
    };
    let heartbeat_interval = match get("heartbeat.interval.ms") {
        None => Duration::from_secs(30),
        Some(v) => crate::session::parse_duration_ms(&v)
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64))
            .ok_or_else(|| {
                option_error(
                    def,
                    "heartbeat.interval.ms",
                    format!("expected a duration such as '30s', found '{v}'"),
                )
            })?,
    };
    let schema = required("schema-name")?;
    let table = required("table-name")?;
    for (key, value) in [("schema-name", &schema), ("table-name", &table)] {
        if looks_like_regex(value) {
            return Err(Error::Unsupported {
                construct: format!(
                    "a regular expression in '{key}' ('{value}'): Weir reads one table per CREATE TABLE"
                ),
                span: def.option(key).map(|(_, s)| s).unwrap_or(def.span),
            });
        }
    }
    let (publication, publication_option) = match get("debezium.publication.name") {
        Some(p) => (p, "debezium.publication.name"),
        None => (slot.clone(), "slot.name"),
    };
    let create_publication =
        get("debezium.publication.autocreate.mode").is_none_or(|m| m.trim() != "disabled");
    Ok(CdcOptions {
        hostname: required("hostname")?,
        port,
        username: required("username")?,
        password: required("password")?,
        database: required("database-name")?,
        schema,
        table,
        slot,
        publication,
        publication_option,
        create_publication,
        startup,
        upsert,
        fetch_size,
        connect_timeout,
        heartbeat_interval,
    })
}

/// Option checks run by [`super::validate`] before a job starts.
pub fn check(def: &TableDef) -> Result<()> {
    read_options(def)?;
    for c in &def.columns {
        if !values::supported(&c.ty) {
            return Err(Error::Unsupported {
                construct: format!(
                    "column '{}' of type {}: postgres-cdc reads scalar columns (declare it STRING to read PostgreSQL's text of it)",
                    c.name,
                    crate::sql::types::SqlType::flink_name_of(&c.ty.to_arrow())
                ),
                span: c.span,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::{parse_script, Statement};
    use std::collections::HashMap;

    /// The table with base options, `extra` replacing or adding some.
    fn def(extra: &[(&str, &str)]) -> TableDef {
        let mut options = vec![
            ("connector", "postgres-cdc"),
            ("hostname", "h"),
            ("username", "u"),
            ("password", "p"),
            ("database-name", "d"),
            ("schema-name", "public"),
            ("table-name", "x"),
            ("slot.name", "s1"),
        ];
        for (k, v) in extra {
            match options.iter_mut().find(|(key, _)| key == k) {
                Some(o) => o.1 = v,
                None => options.push((k, v)),
            }
        }
        let with: Vec<String> = options
            .iter()
            .map(|(k, v)| format!("'{k}' = '{v}'"))
            .collect();
        let sql = format!(
            "CREATE TABLE t (id STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (\n{})",
            with.join(",\n")
        );
        match parse_script(&sql, &HashMap::new()).unwrap().remove(0) {
            Statement::CreateTable(t) => *t,
            other => panic!("{other:?}"),
        }
    }

    fn err(extra: &[(&str, &str)]) -> Error {
        read_options(&def(extra)).unwrap_err()
    }

    #[test]
    fn defaults_follow_flink_cdc_except_the_plugin() {
        let o = read_options(&def(&[])).unwrap();
        assert_eq!(o.port, 5432);
        assert_eq!(o.startup, StartupMode::Initial);
        assert_eq!(
            (o.publication.as_str(), o.publication_option),
            ("s1", "slot.name")
        );
        assert!(o.create_publication && !o.upsert);
        assert_eq!(o.fetch_size, 1024);
        assert_eq!(o.connect_timeout, Duration::from_secs(30));
        let o = read_options(&def(&[
            ("scan.startup.mode", "latest-offset"),
            ("changelog-mode", "upsert"),
            ("debezium.publication.name", "pub"),
            ("debezium.publication.autocreate.mode", "disabled"),
            ("connect.timeout", "2s"),
        ]))
        .unwrap();
        assert_eq!(o.startup, StartupMode::LatestOffset);
        assert!(o.upsert && !o.create_publication);
        assert_eq!(o.publication, "pub");
        assert_eq!(o.connect_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_their_option_and_position() {
        let e = err(&[("port", "x")]);
        assert!(
            e.to_string()
                .contains("option 'port': expected a port number"),
            "{e}"
        );
        assert_eq!(e.span().map(|s| s.line), Some(10), "the line of 'port'");
        for (key, value, says) in [
            (
                "decoding.plugin.name",
                "decoderbufs",
                "Weir decodes only 'pgoutput'",
            ),
            ("scan.startup.mode", "timestamp", "expected 'initial'"),
            ("changelog-mode", "x", "expected 'all' or 'upsert'"),
            (
                "scan.snapshot.fetch.size",
                "0",
                "expected a positive number",
            ),
            ("connect.timeout", "soon", "expected a duration"),
            (
                "slot.name",
                "Bad-Name",
                "'Bad-Name' is not a replication slot name",
            ),
        ] {
            let e = err(&[(key, value)]).to_string();
            assert!(e.contains(&format!("option '{key}': {says}")), "{e}");
        }
        let mut d = def(&[]);
        d.options.retain(|(k, _, _)| k != "password");
        assert!(read_options(&d)
            .unwrap_err()
            .to_string()
            .contains("option 'password': is required"));
    }

    #[test]
    fn result_changing_debezium_settings_are_refused_harmless_ones_accepted() {
        for (key, value, says) in [
            ("debezium.snapshot.mode", "never", "use 'scan.startup.mode'"),
            ("debezium.database.sslmode", "require", "without TLS"),
            (
                "debezium.snapshot.select.statement.overrides.public.x",
                "select 1",
                "whole table",
            ),
        ] {
            let e = err(&[(key, value)]);
            assert_eq!(e.code(), "sql.unsupported");
            assert!(e.to_string().contains(says), "{e}");
        }
        read_options(&def(&[
            ("debezium.skipped.operations", "t"),
            ("debezium.database.sslmode", "disable"),
            ("debezium.tombstones.on.delete", "false"),
        ]))
        .unwrap();
    }

    #[test]
    fn regular_expressions_and_upsert_without_key_are_refused() {
        assert!(err(&[("table-name", "orders_.*")])
            .to_string()
            .contains("regular expression in 'table-name'"));
        let mut d = def(&[("changelog-mode", "upsert")]);
        d.primary_key.clear();
        assert!(read_options(&d)
            .unwrap_err()
            .to_string()
            .contains("'upsert' needs a PRIMARY KEY"));
    }
}
