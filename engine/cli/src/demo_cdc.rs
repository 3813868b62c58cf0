//! The PostgreSQL side of `weir demo --postgres`: MATIH's AI service writes each FSM state
//! transition to its `fsm_state_transitions` table (in database `ai_service`) and publishes
//! it to `matih.ai.state-changes`; MATIH's CDC job archives the table. The demo prepares the
//! table, and writes into it the same transitions `weir seed` publishes to the topic.

use std::str::FromStr;

use anyhow::{Context, Result};
use postgres::{Client, Config, NoTls};

use crate::seed::{generator, GenOptions, Kind, Record, Topic};

/// The database and slot of sample-jobs/matih/state-transition-cdc.sql.
const DATABASE: &str = "ai_service";
const SLOT: &str = "flink_fsm_cdc";

/// A prepared server: the variables the CDC job's `${...}` need.
pub struct Prepared {
    pub vars: Vec<(String, String)>,
    config: Config,
}

fn connect(config: &Config, database: &str) -> Result<Client> {
    let mut config = config.clone();
    config.dbname(database);
    config
        .connect(NoTls)
        .with_context(|| format!("cannot connect to PostgreSQL database '{database}'"))
}

/// Creates `ai_service` and its transitions table (empty), and drops the CDC job's slot
/// left by an earlier demo, so the job starts from a clean snapshot.
pub fn prepare(connection: &str, pg_sql: &str) -> Result<Prepared> {
    let config = Config::from_str(connection)
        .with_context(|| format!("--postgres: not a libpq connection string: '{connection}'"))?;
    let admin_db = config.get_dbname().unwrap_or("postgres").to_string();
    let mut admin = connect(&config, &admin_db)?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&DATABASE])?
        .is_some();
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {DATABASE}"))?;
    }
    let mut db = connect(&config, DATABASE)?;
    db.batch_execute(&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
          WHERE slot_name = '{SLOT}' AND NOT active"
    ))?;
    db.batch_execute(pg_sql)
        .context("cannot create fsm_state_transitions")?;
    db.batch_execute("TRUNCATE fsm_state_transitions")?;
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            #[allow(unreachable_patterns)]
            _ => "127.0.0.1".to_string(),
        })
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    Ok(Prepared {
        vars: vec![
            ("PG_HOST".into(), host),
            ("PG_PORT".into(), port.to_string()),
            (
                "DATABASE_USER".into(),
                config.get_user().unwrap_or("postgres").to_string(),
            ),
            ("DATABASE_PASSWORD".into(), password),
        ],
        config,
    })
}

impl Prepared {
    /// Writes the transitions of `events` state-change events (as `weir seed` generates them
    /// with `options`) into the table, in event order, one statement per 500 rows; returns how
    /// many rows it wrote.
    pub fn write_transitions(&self, options: &GenOptions, events: u64) -> Result<u64> {
        let mut db = connect(&self.config, DATABASE)?;
        let mut source = generator(Topic::StateChanges, options);
        let mut rec = Record::default();
        let mut rows: Vec<serde_json::Value> = Vec::new();
        let mut written = 0;
        for _ in 0..events {
            source.next_into(&mut rec);
            if rec.kind == Kind::Duplicate {
                continue;
            }
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&rec.value) else {
                continue;
            };
            rows.push(event);
            if rows.len() == 500 {
                written += insert(&mut db, &rows)?;
                rows.clear();
            }
        }
        written += insert(&mut db, &rows)?;
        Ok(written)
    }
}

fn insert(db: &mut Client, rows: &[serde_json::Value]) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let text = |k: &str| -> Vec<Option<String>> {
        rows.iter()
            .map(|v| v.get(k).and_then(|x| x.as_str()).map(str::to_string))
            .collect()
    };
    // The first transition of an entity has no state before it.
    let from: Vec<Option<String>> = text("from_state")
        .into_iter()
        .map(|f| f.or_else(|| Some("none".into())))
        .collect();
    // One statement per batch: the columns as arrays, unnested into rows in their order.
    db.execute(
        "INSERT INTO fsm_state_transitions
           (entity_type, entity_id, tenant_id, from_state, to_state, triggered_by, trigger_reason, metadata, created_at)
         SELECT t.entity_type, t.entity_id, t.tenant_id, t.from_state, t.to_state, t.triggered_by,
                t.trigger_reason, t.metadata::jsonb, t.created_at::timestamp AT TIME ZONE 'UTC'
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
             AS t(entity_type, entity_id, tenant_id, from_state, to_state, triggered_by,
                  trigger_reason, metadata, created_at, n)
          ORDER BY t.n",
        &[
            &text("entity_type"),
            &text("entity_id"),
            &text("tenant_id"),
            &from,
            &text("to_state"),
            &text("triggered_by"),
            &text("event_type"),
            &text("metadata"),
            &text("timestamp"),
        ],
    )?;
    Ok(rows.len() as u64)
}
