-- MATIH's Polaris catalog and its four sink tables, for Weir. MATIH's Flink jobs write to
-- Iceberg tables in polaris.matih_analytics (Polaris REST catalog), "pre-created via DDL
-- scripts before the Flink jobs start" (MATIH docs, Flink > Iceberg Sink Configuration).
-- Here the catalog is a DuckDB file, and this script is that DDL: pass it as an init file,
--     weir run -i sample-jobs/matih/catalog.sql sample-jobs/matih/<job>.sql
-- as Flink's SQL client takes `sql-client.sh -i catalog.sql -f job.sql`.
--
-- Each table is keyed: state_transition_log by the transition's id, the window tables by
-- (window start, tenant[, agent | provider, model]). A keyed table is an upsert sink: a row
-- with a key already present replaces it, so re-running a job over the same events leaves
-- one row per window and key (the seed's `mode: merge_on_key` for event-sourced views).
-- Columns are those the seed's INSERT queries produce, in their order. The file goes to the
-- folder WEIR_OUT_DIR names (default: out/ at the repository's root).

CREATE CATALOG IF NOT EXISTS polaris WITH (
    'type' = 'duckdb',
    'path' = '${WEIR_OUT_DIR:-../../out}/matih.duckdb'
);

CREATE DATABASE IF NOT EXISTS polaris.matih_analytics;

-- Job 1, State Transition CDC archival: one row per FSM transition.
CREATE TABLE IF NOT EXISTS polaris.matih_analytics.state_transition_log (
    transition_id   STRING,
    entity_type     STRING,
    entity_id       STRING,
    tenant_id       STRING,
    from_state      STRING,
    to_state        STRING,
    triggered_by    STRING,
    trigger_reason  STRING,
    metadata        STRING,
    event_timestamp TIMESTAMP(3),
    PRIMARY KEY (transition_id) NOT ENFORCED
);

-- Job 2, Session Analytics: 15-minute tumbling windows per tenant.
CREATE TABLE IF NOT EXISTS polaris.matih_analytics.session_analytics (
    window_start    TIMESTAMP(3),
    window_end      TIMESTAMP(3),
    tenant_id       STRING,
    total_sessions  BIGINT,
    avg_duration_ms DOUBLE,
    avg_turns       DOUBLE,
    completion_rate DOUBLE,
    unique_users    BIGINT,
    event_timestamp TIMESTAMP(3),
    PRIMARY KEY (window_start, tenant_id) NOT ENFORCED
);

-- Job 3, Agent Performance: 5-minute tumbling windows per tenant and agent.
CREATE TABLE IF NOT EXISTS polaris.matih_analytics.agent_performance_metrics (
    window_start    TIMESTAMP(3),
    window_end      TIMESTAMP(3),
    tenant_id       STRING,
    agent_id        STRING,
    agent_name      STRING,
    success_rate    DOUBLE,
    avg_latency_ms  DOUBLE,
    p50_latency_ms  BIGINT,
    p95_latency_ms  BIGINT,
    p99_latency_ms  BIGINT,
    total_traces    BIGINT,
    total_tokens    BIGINT,
    total_cost_usd  DOUBLE,
    error_rate      DOUBLE,
    escalation_rate DOUBLE,
    event_timestamp TIMESTAMP(3),
    PRIMARY KEY (window_start, tenant_id, agent_id) NOT ENFORCED
);

-- Job 4, LLM Operations: 15-minute tumbling windows per tenant, provider and model
-- (`model` is quoted: a keyword in Flink 1.20).
CREATE TABLE IF NOT EXISTS polaris.matih_analytics.llm_operations_metrics (
    window_start      TIMESTAMP(3),
    window_end        TIMESTAMP(3),
    tenant_id         STRING,
    provider          STRING,
    `model`           STRING,
    cache_hit_rate    DOUBLE,
    avg_tokens_input  DOUBLE,
    avg_tokens_output DOUBLE,
    total_requests    BIGINT,
    total_cost_usd    DOUBLE,
    avg_latency_ms    DOUBLE,
    error_rate        DOUBLE,
    event_timestamp   TIMESTAMP(3),
    PRIMARY KEY (window_start, tenant_id, provider, `model`) NOT ENFORCED
);
