//! `weir bench`: generates a deterministic data set of MATIH's three event shapes, runs the
//! seed's jobs and Nexmark-like shapes on Weir (one child process per job), on DuckDB (batch,
//! in-process) and optionally on real Flink 1.20.3 (PyFlink, parallelism 1), and prints a table.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::seed;

/// Bumped whenever the generated data changes, so old folders are not reused. 2: the
/// generators of `weir seed` (session lifecycles, metadata as JSON text).
const GENERATOR_VERSION: u32 = 2;
/// Mean gap between two consecutive events (ms): 1M events span about 28 hours.
const MEAN_GAP_MS: u64 = 100;
/// Events are shifted back by up to this much (ms): out of order, never behind the
/// 30 s watermark delay, so no row is late and streaming and batch results agree.
const JITTER_MS: u64 = 2_000;

#[derive(Args)]
pub struct BenchArgs {
    /// Events per stream (each job reads one stream of this many events).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Where the data set and the outputs go (default: weir-bench under the temp folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the generator: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also run the jobs on real Flink 1.20.3 (installs it with scripts/flink.sh).
    #[arg(long)]
    flink: bool,
    /// Only these jobs (comma-separated names; default: all).
    #[arg(long, value_delimiter = ',')]
    jobs: Vec<String>,
    /// Only generate the data set.
    #[arg(long)]
    generate_only: bool,
    /// Runs of each job on Weir and on DuckDB; the table keeps the fastest (the machine's
    /// noise only ever adds time). Flink runs each job once.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measure the `duckdb` sink instead (append and upsert rows/s, `--events` rows per
    /// mode) and print its table.
    #[arg(long)]
    duckdb_sink: bool,
    /// Measure the `postgres-cdc` source instead (snapshot and change stream rows/s, `--events`
    /// rows, on the PostgreSQL WEIR_TEST_PG names, default scripts/postgres.sh's) and print
    /// its table.
    #[arg(long)]
    postgres_cdc: bool,
    /// Measure the `kafka` source instead: `--events` MATIH llm-ops events produced to the
    /// embedded log and `--broker-events` to the broker, read by the source (raw, JSON) and by
    /// MATIH's LLM-operations job; prints one table.
    #[arg(long)]
    kafka_source: bool,
    /// The broker of `--kafka-source` (host:port; default: WEIR_TEST_KAFKA, else
    /// 127.0.0.1:19092 of `scripts/kafka.sh start`).
    #[arg(long)]
    brokers: Option<String>,
    /// Events `--kafka-source` writes to the broker (default: `--events`; 0 skips the broker).
    #[arg(long)]
    broker_events: Option<u64>,
    /// Internal: run one script in this process and print its timing as JSON.
    #[arg(long, hide = true)]
    child_job: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// Deterministic generation (the generators of `weir seed`, written to files)
// ---------------------------------------------------------------------------------------

/// The three event shapes of MATIH's Kafka topics.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stream {
    StateChanges,
    AgentTraces,
    LlmOps,
}

impl Stream {
    const ALL: [Stream; 3] = [Stream::StateChanges, Stream::AgentTraces, Stream::LlmOps];

    fn name(self) -> &'static str {
        match self {
            Stream::StateChanges => "state-changes",
            Stream::AgentTraces => "agent-traces",
            Stream::LlmOps => "llm-ops",
        }
    }

    fn topic(self) -> seed::Topic {
        match self {
            Stream::StateChanges => seed::Topic::StateChanges,
            Stream::AgentTraces => seed::Topic::AgentTraces,
            Stream::LlmOps => seed::Topic::LlmOps,
        }
    }
}

/// The generators' options for the bench: no late, malformed or duplicate records, so
/// streaming and batch results agree.
pub(crate) fn gen_options(seed: u64) -> seed::GenOptions {
    seed::GenOptions {
        seed,
        start_ms: seed::DEFAULT_START_MS,
        interval_ms: MEAN_GAP_MS,
        jitter_ms: JITTER_MS,
        late_ppm: 0,
        malformed_ppm: 0,
        duplicate_ppm: 0,
    }
}

/// Writes `events` events of `stream` to `path` in chunks (never all in memory).
fn generate_stream(stream: Stream, events: u64, seed: u64, path: &Path) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = BufWriter::with_capacity(8 << 20, file);
    let mut source = seed::generator(stream.topic(), &gen_options(seed));
    let mut record = seed::Record::default();
    let mut chunk = String::with_capacity(4 << 20);
    for _ in 0..events {
        source.next_into(&mut record);
        chunk.push_str(&record.value);
        chunk.push('\n');
        if chunk.len() >= (4 << 20) - 4096 {
            writer.write_all(chunk.as_bytes())?;
            chunk.clear();
        }
    }
    writer.write_all(chunk.as_bytes())?;
    writer.flush()?;
    Ok(())
}

/// The folder of a stream's data (one JSON-lines file), generated unless already there with
/// the same parameters.
fn ensure_stream(data: &Path, stream: Stream, events: u64, seed: u64) -> Result<PathBuf> {
    let dir = data.join(stream.name());
    let marker = data.join(format!("{}.done", stream.name()));
    let stamp = format!("generator={GENERATOR_VERSION} seed={seed} events={events}\n");
    if dir.join("part-0.json").is_file()
        && fs::read_to_string(&marker).ok().as_deref() == Some(&stamp)
    {
        eprintln!("bench: reusing {}", dir.display());
        return Ok(dir);
    }
    let _ = fs::remove_file(&marker);
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    let tmp = data.join(format!("{}.tmp", stream.name()));
    let t0 = Instant::now();
    generate_stream(stream, events, seed, &tmp)?;
    fs::rename(&tmp, dir.join("part-0.json"))?;
    fs::write(&marker, stamp)?;
    let size = fs::metadata(dir.join("part-0.json"))?.len();
    eprintln!(
        "bench: generated {events} {} events ({:.0} MB) in {:.1} s",
        stream.name(),
        size as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok(dir)
}

// ---------------------------------------------------------------------------------------
// The jobs
// ---------------------------------------------------------------------------------------

/// The source table of a stream, as in the seed (Kafka swapped for the generated files).
fn source_ddl(stream: Stream, dir: &Path) -> String {
    let (table, columns) = match stream {
        Stream::StateChanges => (
            "state_changes_source",
            "    event_id        STRING,
    event_type      STRING,
    tenant_id       STRING NOT NULL,
    entity_type     STRING,
    entity_id       STRING,
    from_state      STRING,
    to_state        STRING,
    triggered_by    STRING,
    metadata        STRING,",
        ),
        Stream::AgentTraces => (
            "agent_traces_source",
            "    event_id        STRING,
    event_type      STRING,
    tenant_id       STRING NOT NULL,
    trace_id        STRING,
    agent_id        STRING NOT NULL,
    action          STRING,
    session_id      STRING,
    latency_ms      INT,
    tokens_input    INT,
    tokens_output   INT,
    cost_usd        DOUBLE,
    tools_used      ARRAY<STRING>,
    error_message   STRING,",
        ),
        // The seed shows no DDL for llm-ops: these are the columns its query uses. `model`
        // is quoted: MODEL is a keyword in Flink 1.20's DDL (CREATE MODEL).
        Stream::LlmOps => (
            "llm_ops_source",
            "    event_id        STRING,
    event_type      STRING,
    tenant_id       STRING NOT NULL,
    provider        STRING,
    `model`         STRING,
    tokens_input    INT,
    tokens_output   INT,
    cost_usd        DOUBLE,
    latency_ms      INT,
    cache_hit       BOOLEAN,
    success         BOOLEAN,",
        ),
    };
    format!(
        "CREATE TEMPORARY TABLE {table} (
{columns}
    `timestamp`     TIMESTAMP(3),
    WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '{}',
    'format' = 'json'
);
",
        dir.display()
    )
}

/// DuckDB's reader of the same file, with explicit columns and Flink's timestamp format.
fn duckdb_source(stream: Stream, dir: &Path) -> String {
    let columns = match stream {
        Stream::StateChanges => "event_id: 'VARCHAR', event_type: 'VARCHAR', tenant_id: 'VARCHAR', entity_type: 'VARCHAR', entity_id: 'VARCHAR', from_state: 'VARCHAR', to_state: 'VARCHAR', triggered_by: 'VARCHAR', metadata: 'VARCHAR'",
        Stream::AgentTraces => "event_id: 'VARCHAR', event_type: 'VARCHAR', tenant_id: 'VARCHAR', trace_id: 'VARCHAR', agent_id: 'VARCHAR', action: 'VARCHAR', session_id: 'VARCHAR', latency_ms: 'INTEGER', tokens_input: 'INTEGER', tokens_output: 'INTEGER', cost_usd: 'DOUBLE', tools_used: 'VARCHAR[]', error_message: 'VARCHAR'",
        Stream::LlmOps => "event_id: 'VARCHAR', event_type: 'VARCHAR', tenant_id: 'VARCHAR', provider: 'VARCHAR', model: 'VARCHAR', tokens_input: 'INTEGER', tokens_output: 'INTEGER', cost_usd: 'DOUBLE', latency_ms: 'INTEGER', cache_hit: 'BOOLEAN', success: 'BOOLEAN'",
    };
    format!(
        "read_ndjson('{}/*.json', columns = {{{columns}, \"timestamp\": 'TIMESTAMP'}}, timestampformat = '%Y-%m-%d %H:%M:%S.%g')",
        dir.display()
    )
}

struct Job {
    name: &'static str,
    stream: Stream,
    /// The sink's columns (Flink SQL types).
    sink_columns: &'static str,
    /// The INSERT's query, after `INSERT INTO bench_sink`.
    query: &'static str,
    /// The same result as a DuckDB batch query over `src`.
    duckdb: &'static str,
    /// Whether real Flink 1.20 can run it.
    flink: bool,
}

const SESSION_ANALYTICS: &str = "SELECT
    TUMBLE_START(`timestamp`, INTERVAL '15' MINUTE) AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '15' MINUTE)   AS window_end,
    tenant_id,
    COUNT(DISTINCT entity_id)                         AS total_sessions,
    AVG(CAST(JSON_VALUE(metadata, '$.duration_ms') AS DOUBLE)) AS avg_duration_ms,
    AVG(CAST(JSON_VALUE(metadata, '$.turn_count') AS DOUBLE))  AS avg_turns,
    CAST(SUM(CASE WHEN to_state = 'completed' THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(DISTINCT entity_id), 1)     AS completion_rate,
    COUNT(DISTINCT triggered_by)                      AS unique_users,
    TUMBLE_END(`timestamp`, INTERVAL '15' MINUTE)    AS event_timestamp
FROM state_changes_source
WHERE entity_type = 'session_phase'
GROUP BY
    TUMBLE(`timestamp`, INTERVAL '15' MINUTE),
    tenant_id";

const AGENT_PERFORMANCE: &str = "SELECT
    TUMBLE_START(`timestamp`, INTERVAL '5' MINUTE)  AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '5' MINUTE)    AS window_end,
    tenant_id,
    agent_id,
    CAST(NULL AS STRING)                             AS agent_name,
    -- Success rate
    CAST(SUM(CASE WHEN action = 'completed' AND error_message IS NULL THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS success_rate,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE))    AS avg_latency_ms,
    CAST(NULL AS BIGINT)                             AS p50_latency_ms,
    CAST(NULL AS BIGINT)                             AS p95_latency_ms,
    CAST(NULL AS BIGINT)                             AS p99_latency_ms,
    COUNT(*)                                          AS total_traces,
    SUM(CAST(COALESCE(tokens_input, 0) + COALESCE(tokens_output, 0) AS BIGINT)) AS total_tokens,
    SUM(COALESCE(cost_usd, 0.0))                     AS total_cost_usd,
    -- Error rate
    CAST(SUM(CASE WHEN error_message IS NOT NULL THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS error_rate,
    0.0                                               AS escalation_rate,
    TUMBLE_END(`timestamp`, INTERVAL '5' MINUTE)     AS event_timestamp
FROM agent_traces_source
WHERE action IN ('completed', 'failed')
GROUP BY
    TUMBLE(`timestamp`, INTERVAL '5' MINUTE),
    tenant_id,
    agent_id";

const AGENT_PERFORMANCE_PCT: &str = "SELECT
    TUMBLE_START(`timestamp`, INTERVAL '5' MINUTE)  AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '5' MINUTE)    AS window_end,
    tenant_id,
    agent_id,
    CAST(NULL AS STRING)                             AS agent_name,
    -- Success rate
    CAST(SUM(CASE WHEN action = 'completed' AND error_message IS NULL THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS success_rate,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE))    AS avg_latency_ms,
    CAST(PERCENTILE_APPROX(latency_ms, 0.5) AS BIGINT)  AS p50_latency_ms,
    CAST(PERCENTILE_APPROX(latency_ms, 0.95) AS BIGINT) AS p95_latency_ms,
    CAST(PERCENTILE_APPROX(latency_ms, 0.99) AS BIGINT) AS p99_latency_ms,
    COUNT(*)                                          AS total_traces,
    SUM(CAST(COALESCE(tokens_input, 0) + COALESCE(tokens_output, 0) AS BIGINT)) AS total_tokens,
    SUM(COALESCE(cost_usd, 0.0))                     AS total_cost_usd,
    -- Error rate
    CAST(SUM(CASE WHEN error_message IS NOT NULL THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS error_rate,
    0.0                                               AS escalation_rate,
    TUMBLE_END(`timestamp`, INTERVAL '5' MINUTE)     AS event_timestamp
FROM agent_traces_source
WHERE action IN ('completed', 'failed')
GROUP BY
    TUMBLE(`timestamp`, INTERVAL '5' MINUTE),
    tenant_id,
    agent_id";

const LLM_OPERATIONS: &str = "SELECT
    TUMBLE_START(`timestamp`, INTERVAL '15' MINUTE) AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '15' MINUTE)   AS window_end,
    tenant_id,
    COALESCE(provider, 'unknown')                    AS provider,
    COALESCE(model, 'unknown')                       AS model,
    -- Cache hit rate
    CAST(SUM(CASE WHEN cache_hit = TRUE THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS cache_hit_rate,
    AVG(CAST(COALESCE(tokens_input, 0) AS DOUBLE))  AS avg_tokens_input,
    AVG(CAST(COALESCE(tokens_output, 0) AS DOUBLE)) AS avg_tokens_output,
    COUNT(*)                                          AS total_requests,
    SUM(COALESCE(cost_usd, 0.0))                     AS total_cost_usd,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE))    AS avg_latency_ms,
    -- Error rate
    CAST(SUM(CASE WHEN success = FALSE THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS error_rate,
    TUMBLE_END(`timestamp`, INTERVAL '15' MINUTE)    AS event_timestamp
FROM llm_ops_source
GROUP BY
    TUMBLE(`timestamp`, INTERVAL '15' MINUTE),
    tenant_id,
    provider,
    model";

const AGENT_SINK: &str = "window_start TIMESTAMP(3), window_end TIMESTAMP(3), tenant_id STRING, agent_id STRING, agent_name STRING, success_rate DOUBLE, avg_latency_ms DOUBLE, p50_latency_ms BIGINT, p95_latency_ms BIGINT, p99_latency_ms BIGINT, total_traces BIGINT, total_tokens BIGINT, total_cost_usd DOUBLE, error_rate DOUBLE, escalation_rate DOUBLE, event_timestamp TIMESTAMP(3)";

const AGENT_DUCKDB: &str = "SELECT time_bucket(INTERVAL '5 minutes', \"timestamp\") AS window_start,
    time_bucket(INTERVAL '5 minutes', \"timestamp\") + INTERVAL '5 minutes' AS window_end,
    tenant_id, agent_id, CAST(NULL AS VARCHAR) AS agent_name,
    CAST(SUM(CASE WHEN action = 'completed' AND error_message IS NULL THEN 1 ELSE 0 END) AS DOUBLE) / GREATEST(COUNT(*), 1) AS success_rate,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE)) AS avg_latency_ms,
    {P50} AS p50_latency_ms, {P95} AS p95_latency_ms, {P99} AS p99_latency_ms,
    COUNT(*) AS total_traces,
    SUM(CAST(COALESCE(tokens_input, 0) + COALESCE(tokens_output, 0) AS BIGINT)) AS total_tokens,
    SUM(COALESCE(cost_usd, 0.0)) AS total_cost_usd,
    CAST(SUM(CASE WHEN error_message IS NOT NULL THEN 1 ELSE 0 END) AS DOUBLE) / GREATEST(COUNT(*), 1) AS error_rate,
    0.0 AS escalation_rate,
    time_bucket(INTERVAL '5 minutes', \"timestamp\") + INTERVAL '5 minutes' AS event_timestamp
FROM src WHERE action IN ('completed', 'failed')
GROUP BY ALL";

const LLM_COLUMNS: &str = "event_id STRING, event_type STRING, tenant_id STRING, provider STRING, `model` STRING, tokens_input INT, tokens_output INT, cost_usd DOUBLE, latency_ms INT, cache_hit BOOLEAN, success BOOLEAN, `timestamp` TIMESTAMP(3)";

fn jobs() -> Vec<Job> {
    vec![
        Job {
            name: "session-analytics",
            stream: Stream::StateChanges,
            sink_columns: "window_start TIMESTAMP(3), window_end TIMESTAMP(3), tenant_id STRING, total_sessions BIGINT, avg_duration_ms DOUBLE, avg_turns DOUBLE, completion_rate DOUBLE, unique_users BIGINT, event_timestamp TIMESTAMP(3)",
            query: SESSION_ANALYTICS,
            duckdb: "SELECT time_bucket(INTERVAL '15 minutes', \"timestamp\") AS window_start,
    time_bucket(INTERVAL '15 minutes', \"timestamp\") + INTERVAL '15 minutes' AS window_end,
    tenant_id,
    COUNT(DISTINCT entity_id) AS total_sessions,
    AVG(CAST(json_extract_string(metadata, '$.duration_ms') AS DOUBLE)) AS avg_duration_ms,
    AVG(CAST(json_extract_string(metadata, '$.turn_count') AS DOUBLE)) AS avg_turns,
    CAST(SUM(CASE WHEN to_state = 'completed' THEN 1 ELSE 0 END) AS DOUBLE) / GREATEST(COUNT(DISTINCT entity_id), 1) AS completion_rate,
    COUNT(DISTINCT triggered_by) AS unique_users,
    time_bucket(INTERVAL '15 minutes', \"timestamp\") + INTERVAL '15 minutes' AS event_timestamp
FROM src WHERE entity_type = 'session_phase'
GROUP BY ALL",
            flink: true,
        },
        Job {
            name: "agent-performance",
            stream: Stream::AgentTraces,
            sink_columns: AGENT_SINK,
            query: AGENT_PERFORMANCE,
            duckdb: AGENT_DUCKDB,
            flink: true,
        },
        Job {
            name: "agent-performance-pct",
            stream: Stream::AgentTraces,
            sink_columns: AGENT_SINK,
            query: AGENT_PERFORMANCE_PCT,
            duckdb: AGENT_DUCKDB,
            // Flink 1.20 has no PERCENTILE_APPROX (MATIH's own reason for the NULLs).
            flink: false,
        },
        Job {
            name: "llm-operations",
            stream: Stream::LlmOps,
            sink_columns: "window_start TIMESTAMP(3), window_end TIMESTAMP(3), tenant_id STRING, provider STRING, `model` STRING, cache_hit_rate DOUBLE, avg_tokens_input DOUBLE, avg_tokens_output DOUBLE, total_requests BIGINT, total_cost_usd DOUBLE, avg_latency_ms DOUBLE, error_rate DOUBLE, event_timestamp TIMESTAMP(3)",
            query: LLM_OPERATIONS,
            duckdb: "SELECT time_bucket(INTERVAL '15 minutes', \"timestamp\") AS window_start,
    time_bucket(INTERVAL '15 minutes', \"timestamp\") + INTERVAL '15 minutes' AS window_end,
    tenant_id, COALESCE(provider, 'unknown') AS provider, COALESCE(model, 'unknown') AS model,
    CAST(SUM(CASE WHEN cache_hit = TRUE THEN 1 ELSE 0 END) AS DOUBLE) / GREATEST(COUNT(*), 1) AS cache_hit_rate,
    AVG(CAST(COALESCE(tokens_input, 0) AS DOUBLE)) AS avg_tokens_input,
    AVG(CAST(COALESCE(tokens_output, 0) AS DOUBLE)) AS avg_tokens_output,
    COUNT(*) AS total_requests,
    SUM(COALESCE(cost_usd, 0.0)) AS total_cost_usd,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE)) AS avg_latency_ms,
    CAST(SUM(CASE WHEN success = FALSE THEN 1 ELSE 0 END) AS DOUBLE) / GREATEST(COUNT(*), 1) AS error_rate,
    time_bucket(INTERVAL '15 minutes', \"timestamp\") + INTERVAL '15 minutes' AS event_timestamp
FROM src
GROUP BY time_bucket(INTERVAL '15 minutes', \"timestamp\"), tenant_id, provider, model",
            flink: true,
        },
        Job {
            name: "q0-passthrough",
            stream: Stream::LlmOps,
            sink_columns: LLM_COLUMNS,
            query: "SELECT * FROM llm_ops_source",
            duckdb: "SELECT * FROM src",
            flink: true,
        },
        Job {
            name: "q1-projection",
            stream: Stream::LlmOps,
            sink_columns: "event_id STRING, tenant_id STRING, `model` STRING, cost_eur DOUBLE, tokens BIGINT, `timestamp` TIMESTAMP(3)",
            query: "SELECT event_id, tenant_id, `model`, cost_usd * 0.908 AS cost_eur, CAST(tokens_input AS BIGINT) + tokens_output AS tokens, `timestamp` FROM llm_ops_source",
            duckdb: "SELECT event_id, tenant_id, model, cost_usd * 0.908 AS cost_eur, CAST(tokens_input AS BIGINT) + tokens_output AS tokens, \"timestamp\" FROM src",
            flink: true,
        },
        Job {
            name: "q2-filter",
            stream: Stream::LlmOps,
            sink_columns: "event_id STRING, tenant_id STRING, `model` STRING, latency_ms INT, `timestamp` TIMESTAMP(3)",
            query: "SELECT event_id, tenant_id, `model`, latency_ms, `timestamp` FROM llm_ops_source WHERE latency_ms > 4000",
            duckdb: "SELECT event_id, tenant_id, model, latency_ms, \"timestamp\" FROM src WHERE latency_ms > 4000",
            flink: true,
        },
        Job {
            name: "q5-hop-count",
            stream: Stream::LlmOps,
            sink_columns: "window_start TIMESTAMP(3), window_end TIMESTAMP(3), `model` STRING, requests BIGINT",
            query: "SELECT window_start, window_end, `model`, COUNT(*) AS requests
FROM TABLE(HOP(TABLE llm_ops_source, DESCRIPTOR(`timestamp`), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, `model`",
            duckdb: "SELECT ws AS window_start, ws + INTERVAL '5 minutes' AS window_end, model, COUNT(*) AS requests
FROM (SELECT time_bucket(INTERVAL '1 minute', \"timestamp\") - to_minutes(k) AS ws, model FROM src, range(5) AS r(k))
GROUP BY ALL",
            flink: true,
        },
        Job {
            name: "q7-tumble-max",
            stream: Stream::LlmOps,
            sink_columns: "window_start TIMESTAMP(3), window_end TIMESTAMP(3), max_cost_usd DOUBLE",
            query: "SELECT window_start, window_end, MAX(cost_usd) AS max_cost_usd
FROM TABLE(TUMBLE(TABLE llm_ops_source, DESCRIPTOR(`timestamp`), INTERVAL '10' SECOND))
GROUP BY window_start, window_end",
            duckdb: "SELECT time_bucket(INTERVAL '10 seconds', \"timestamp\") AS window_start,
    time_bucket(INTERVAL '10 seconds', \"timestamp\") + INTERVAL '10 seconds' AS window_end,
    MAX(cost_usd) AS max_cost_usd
FROM src GROUP BY ALL",
            flink: true,
        },
        Job {
            name: "scan-only",
            stream: Stream::LlmOps,
            sink_columns: "event_id STRING",
            query: "SELECT event_id FROM llm_ops_source WHERE latency_ms < 0",
            duckdb: "SELECT event_id FROM src WHERE latency_ms < 0",
            flink: true,
        },
    ]
}

impl Job {
    /// The whole script: the same text runs on Weir and on Flink.
    fn script(&self, data: &Path, sink: &Path) -> String {
        format!(
            "SET 'table.local-time-zone' = 'UTC';
SET 'parallelism.default' = '1';
SET 'execution.checkpointing.interval' = '1s';
{}
CREATE TEMPORARY TABLE bench_sink ({}) WITH (
    'connector' = 'filesystem',
    'path' = '{}',
    'format' = 'json',
    'sink.rolling-policy.rollover-interval' = '1s'
);
INSERT INTO bench_sink
{};
",
            source_ddl(self.stream, &data.join(self.stream.name())),
            self.sink_columns,
            sink.display(),
            self.query
        )
    }

    fn duckdb_sql(&self, data: &Path, out: &Path) -> String {
        let pct = self.name.ends_with("-pct");
        let query = self
            .duckdb
            .replace(
                "{P50}",
                if pct {
                    "CAST(approx_quantile(latency_ms, 0.5) AS BIGINT)"
                } else {
                    "CAST(NULL AS BIGINT)"
                },
            )
            .replace(
                "{P95}",
                if pct {
                    "CAST(approx_quantile(latency_ms, 0.95) AS BIGINT)"
                } else {
                    "CAST(NULL AS BIGINT)"
                },
            )
            .replace(
                "{P99}",
                if pct {
                    "CAST(approx_quantile(latency_ms, 0.99) AS BIGINT)"
                } else {
                    "CAST(NULL AS BIGINT)"
                },
            );
        format!(
            "COPY (WITH src AS (SELECT * FROM {}) {query}) TO '{}' (FORMAT json)",
            duckdb_source(self.stream, &data.join(self.stream.name())),
            out.display()
        )
    }
}

// ---------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------

/// One engine's run of one job.
#[derive(Clone, Debug, Default)]
struct Measured {
    seconds: f64,
    /// CPU time (user + system, all threads) the run took, where it was measured.
    cpu_seconds: Option<f64>,
    rows_out: u64,
    peak_mb: Option<f64>,
}

impl Measured {
    /// The faster of two runs.
    fn best(self, other: Self) -> Self {
        if other.seconds < self.seconds {
            other
        } else {
            self
        }
    }
}

/// CPU time (user + system) of process `pid` (`self` for this one) so far, from
/// `/proc/<pid>/stat` (in clock ticks of 1/100 s, Linux's USER_HZ).
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `weir bench --child-job script`: runs it here, prints one JSON line.
fn child_job(script: &Path) -> Result<()> {
    let text = fs::read_to_string(script)?;
    let options = weir_engine::RunOptions {
        base_dir: script.parent().map(Path::to_path_buf).unwrap_or_default(),
        preview_rows: 0,
        print_to_stdout: false,
        vars: Default::default(),
        control: Default::default(),
    };
    let cpu0 = cpu_seconds("self");
    let t0 = Instant::now();
    let report =
        weir_engine::run_script(&text, &options).map_err(|e| anyhow::anyhow!("{}", e.to_api()))?;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self").zip(cpu0).map(|(b, a)| b - a);
    let out = serde_json::json!({
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows_read": report.metrics.rows_read,
        "rows_written": report.metrics.rows_written,
        "late_rows_dropped": report.metrics.late_rows_dropped,
        "peak_mb": peak_rss_mb(),
    });
    println!("{out}");
    Ok(())
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    Ok(())
}

/// Lines in the visible files of a sink folder (Flink's uncommitted files are hidden).
fn count_rows(dir: &Path) -> Result<u64> {
    let mut rows = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') || !entry.file_type()?.is_file() {
            continue;
        }
        rows += BufReader::new(File::open(entry.path())?).lines().count() as u64;
    }
    Ok(rows)
}

fn run_weir(job: &Job, data: &Path, work: &Path) -> Result<(Measured, u64)> {
    let sink = work.join("weir").join(job.name);
    fresh_dir(&sink)?;
    let script = work.join("scripts").join(format!("{}.sql", job.name));
    fs::write(&script, job.script(data, &sink))?;
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .arg("bench")
        .arg("--child-job")
        .arg(&script)
        .output()?;
    if !output.status.success() {
        bail!(
            "weir failed on {}: {}",
            job.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("bad child output: {stdout}"))?;
    let late = v["late_rows_dropped"].as_u64().unwrap_or(0);
    if late > 0 {
        eprintln!("bench: {}: {late} late row(s) dropped by Weir", job.name);
    }
    Ok((
        Measured {
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            cpu_seconds: v["cpu_seconds"].as_f64(),
            rows_out: count_rows(&sink)?,
            peak_mb: v["peak_mb"].as_f64(),
        },
        v["rows_read"].as_u64().unwrap_or(0),
    ))
}

fn run_duckdb(job: &Job, data: &Path, work: &Path, threads: Option<usize>) -> Result<Measured> {
    let dir = work.join("duckdb");
    fs::create_dir_all(&dir)?;
    let out = dir.join(format!("{}.json", job.name));
    let conn = duckdb::Connection::open_in_memory()?;
    if let Some(t) = threads {
        conn.execute_batch(&format!("SET threads = {t}"))?;
    }
    let sql = job.duckdb_sql(data, &out);
    let t0 = Instant::now();
    let rows = conn
        .execute(&sql, [])
        .with_context(|| format!("DuckDB failed on {}:\n{sql}", job.name))?;
    Ok(Measured {
        seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: None,
        rows_out: rows as u64,
        peak_mb: None,
    })
}

/// The repository's root (for scripts/), from the working folder or the build's.
fn repo_root() -> PathBuf {
    if Path::new("scripts/flink.sh").exists() {
        return PathBuf::from(".");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_flink(jobs: &[&Job], data: &Path, work: &Path) -> Result<Vec<Option<Measured>>> {
    let root = repo_root();
    eprintln!("bench: scripts/flink.sh (installs Flink 1.20.3 when missing)");
    let out = Command::new("bash")
        .arg(root.join("scripts/flink.sh"))
        .output()?;
    if !out.status.success() {
        bail!(
            "scripts/flink.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let python = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut spec = Vec::new();
    for job in jobs.iter().filter(|j| j.flink) {
        let sink = work.join("flink").join(job.name);
        fresh_dir(&sink)?;
        // MATIH's llm-operations query does not parse on Flink 1.20 as written: MODEL is a
        // reserved keyword there. Flink gets it with `model` quoted; Weir runs it verbatim.
        let script = job
            .script(data, &sink)
            .replace("COALESCE(model, 'unknown')", "COALESCE(`model`, 'unknown')")
            .replace("AS model,", "AS `model`,")
            .replace("    provider,\n    model;", "    provider,\n    `model`;");
        spec.push(serde_json::json!({ "name": job.name, "script": script }));
    }
    let spec_path = work.join("scripts").join("flink-jobs.json");
    fs::write(&spec_path, serde_json::to_string_pretty(&spec)?)?;
    eprintln!(
        "bench: running {} job(s) on Flink (JVM start not timed)",
        spec.len()
    );
    let output = Command::new(python)
        .arg(root.join("scripts/bench_flink.py"))
        .arg(&spec_path)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !output.status.success() {
        eprintln!("bench: scripts/bench_flink.py failed: the Flink column says so");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut results = Vec::new();
    for job in jobs {
        let line = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("BENCH "))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["name"] == job.name);
        results.push(match line {
            Some(v) if v.get("error").is_none() => Some(Measured {
                seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
                cpu_seconds: v["cpu"].as_f64(),
                rows_out: count_rows(&work.join("flink").join(job.name))?,
                peak_mb: None,
            }),
            _ => None,
        });
    }
    Ok(results)
}

pub(crate) fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("machine: {cpus} core(s) (nproc), {model}{mem}")
}

fn fmt_rate(events: u64, seconds: f64) -> String {
    let rate = events as f64 / seconds;
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else {
        format!("{:.0}k", rate / 1e3)
    }
}

struct Row {
    job: String,
    events: u64,
    weir: Measured,
    duckdb: Measured,
    duckdb1: Measured,
    flink: Option<Measured>,
    flink_note: &'static str,
}

fn print_results(rows: &[Row]) {
    let headers = [
        "job",
        "events",
        "Weir s",
        "Weir CPU s",
        "Weir ev/s/core",
        "Weir peak MB",
        "DuckDB s",
        "Weir/DuckDB",
        "DuckDB 1T s",
        "Flink s",
        "Flink CPU s",
        "Flink ev/s/core",
        "Weir/Flink per core",
        "Flink/Weir wall",
        "rows W/D/F",
    ];
    let cpu = |m: &Measured| {
        m.cpu_seconds
            .map(|c| format!("{c:.2}"))
            .unwrap_or_else(|| "?".into())
    };
    // Per core: events over the CPU time the engine used (all its threads), where measured.
    let per_core = |m: &Measured| m.cpu_seconds.unwrap_or(m.seconds);
    let mut cells: Vec<Vec<String>> = Vec::new();
    for r in rows {
        let w = &r.weir;
        let (fs_, fcpu, frate, fratio, fwall, frows) = match &r.flink {
            Some(f) => (
                format!("{:.2}", f.seconds),
                cpu(f),
                fmt_rate(r.events, per_core(f)),
                format!("{:.1}x", per_core(f) / per_core(w)),
                format!("{:.1}x", f.seconds / w.seconds),
                f.rows_out.to_string(),
            ),
            None => (
                r.flink_note.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        cells.push(vec![
            r.job.clone(),
            r.events.to_string(),
            format!("{:.2}", w.seconds),
            cpu(w),
            fmt_rate(r.events, per_core(w)),
            w.peak_mb
                .map(|m| format!("{m:.0}"))
                .unwrap_or_else(|| "?".into()),
            format!("{:.2}", r.duckdb.seconds),
            format!("{:.1}x", w.seconds / r.duckdb.seconds),
            format!("{:.2}", r.duckdb1.seconds),
            fs_,
            fcpu,
            frate,
            fratio,
            fwall,
            format!("{}/{}/{}", w.rows_out, r.duckdb.rows_out, frows),
        ]);
    }
    print_markdown(&headers, &cells);
}

pub fn bench(args: BenchArgs) -> Result<()> {
    if let Some(script) = &args.child_job {
        return child_job(script);
    }
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("weir-bench"));
    if args.duckdb_sink {
        return crate::bench_sink::bench_duckdb_sink(args.events, &root.join("sink"));
    }
    if args.postgres_cdc {
        return crate::bench_cdc::bench_postgres_cdc(args.events, &root);
    }
    if args.kafka_source {
        return crate::bench_kafka::bench_kafka_source(
            args.events,
            args.broker_events.unwrap_or(args.events),
            &args
                .brokers
                .clone()
                .unwrap_or_else(crate::bench_kafka::default_broker),
            args.seed,
            &root.join("kafka-source"),
        );
    }
    let data = root.join(format!("data-e{}-s{}", args.events, args.seed));
    let work = root.join("out");
    fs::create_dir_all(&data)?;
    fs::create_dir_all(work.join("scripts"))?;
    let all = jobs();
    for name in &args.jobs {
        if !all.iter().any(|j| j.name == name) {
            bail!(
                "unknown job '{name}'; jobs: {}",
                all.iter().map(|j| j.name).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let selected: Vec<&Job> = all
        .iter()
        .filter(|j| args.jobs.is_empty() || args.jobs.iter().any(|n| n == j.name))
        .collect();
    for stream in Stream::ALL {
        if selected.iter().any(|j| j.stream == stream) {
            ensure_stream(&data, stream, args.events, args.seed)?;
        }
    }
    if args.generate_only {
        println!("data in {}", data.display());
        return Ok(());
    }
    let data = fs::canonicalize(&data)?;
    let work = fs::canonicalize(&work)?;
    let mut rows = Vec::new();
    for job in &selected {
        let runs = args.runs.max(1);
        eprintln!("bench: {} on Weir ({runs} run(s))", job.name);
        let (mut weir, events) = run_weir(job, &data, &work)?;
        for _ in 1..runs {
            weir = weir.best(run_weir(job, &data, &work)?.0);
        }
        eprintln!("bench: {} on DuckDB", job.name);
        let mut duckdb = run_duckdb(job, &data, &work, None)?;
        let mut duckdb1 = run_duckdb(job, &data, &work, Some(1))?;
        for _ in 1..runs {
            duckdb = duckdb.best(run_duckdb(job, &data, &work, None)?);
            duckdb1 = duckdb1.best(run_duckdb(job, &data, &work, Some(1))?);
        }
        rows.push(Row {
            job: job.name.to_string(),
            events,
            weir,
            duckdb,
            duckdb1,
            flink: None,
            flink_note: if !args.flink {
                "not run"
            } else if job.flink {
                "failed"
            } else {
                "n/a"
            },
        });
    }
    if args.flink {
        let results = run_flink(&selected, &data, &work)?;
        for (row, result) in rows.iter_mut().zip(results) {
            row.flink = result;
        }
    }
    println!();
    print_results(&rows);
    println!();
    println!("{}", machine());
    println!(
        "Weir runs each job in a child process (the query on one thread, a filesystem source's reading and \
         decoding on another); the fastest of {} run(s) (DuckDB too). \
         CPU s: user + system time of all the engine's threads during the job; ev/s/core = events / CPU s. \
         Peak MB is Weir's process VmHWM. DuckDB: batch, in-process, all cores (1T: SET threads = 1). \
         Flink: parallelism 1, local MiniCluster, one run, job time without the JVM start; its CPU s is \
         the JVM's from submission to the result. Data: {}",
        args.runs.max(1),
        data.display()
    );
    Ok(())
}

/// Prints rows as a Markdown table, columns padded to their widest cell (what the bench
/// commands print and docs/BENCHMARKS.md keeps).
pub(crate) fn print_markdown<H: AsRef<str>>(headers: &[H], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(String::len)
                .chain([headers[i].as_ref().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |items: Vec<&str>| {
        let cols: Vec<String> = items
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        format!("| {} |", cols.join(" | "))
    };
    println!("{}", line(headers.iter().map(AsRef::as_ref).collect()));
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in rows {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // main.rs denies it crate-wide; tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_flink_sql_format() {
        let mut s = String::new();
        seed::push_timestamp(&mut s, seed::DEFAULT_START_MS + 30 * 60_000 + 7);
        assert_eq!(s, "2026-02-12 10:30:00.007");
        s.clear();
        seed::push_timestamp(&mut s, 951_782_400_000); // 2000-02-29 00:00:00 UTC
        assert_eq!(s, "2000-02-29 00:00:00.000");
    }

    #[test]
    fn generation_is_deterministic_and_ordered_within_the_jitter() {
        let dir = tempfile::tempdir().unwrap();
        for stream in Stream::ALL {
            let a = dir.path().join("a.json");
            let b = dir.path().join("b.json");
            generate_stream(stream, 2_000, 7, &a).unwrap();
            generate_stream(stream, 2_000, 7, &b).unwrap();
            let text = fs::read_to_string(&a).unwrap();
            assert_eq!(text, fs::read_to_string(&b).unwrap());
            let mut max_seen = 0;
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let ts = v["timestamp"].as_str().unwrap();
                assert_eq!(ts.len(), 23, "{ts}");
                assert!(ts.starts_with("2026-02-12 "), "{ts}");
                let part = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
                let ms = part(11..13) * 3_600_000
                    + part(14..16) * 60_000
                    + part(17..19) * 1000
                    + part(20..23);
                // Out of order by less than the jitter, far below the 30 s watermark delay.
                assert!(max_seen - ms < JITTER_MS as i64, "{ts}");
                max_seen = max_seen.max(ms);
            }
            assert_eq!(text.lines().count(), 2_000);
        }
    }
}
