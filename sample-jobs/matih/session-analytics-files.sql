-- Offline variant of MATIH's session-analytics job (sample-jobs/matih/session-analytics.sql reads
-- the Kafka topic): the same query over sample files, used by the studio's first slice and tests.
-- MATIH's session-analytics job (MATIH docs, "Pipelines & Data Engineering > Flink", Job 2:
-- infrastructure/flink/jobs/session-analytics.sql), made runnable on one machine.
-- Swapped, and nothing else:
--   * source: the Kafka topic matih.ai.state-changes -> the JSON-lines files in
--     ../data/state-changes (written by scripts/gen-sample-data.py); malformed lines are
--     skipped ('json.ignore-parse-errors'). Columns and watermark are MATIH's.
--   * sink: the Iceberg table polaris.matih_analytics.session_analytics (Polaris REST
--     catalog) -> the table of the same name in a DuckDB catalog named polaris: the file
--     matih.duckdb in the folder WEIR_OUT_DIR names (default: out/ at the repository's root).
--     catalog.sql declares that catalog and MATIH's four tables, as MATIH's DDL scripts
--     pre-create them (`weir run -i catalog.sql session-analytics-files.sql`); the CREATE CATALOG
--     and CREATE TABLE IF NOT EXISTS below let this script also run on its own, and change
--     nothing after catalog.sql. The table is keyed by (window_start, tenant_id): a re-run
--     replaces its rows instead of adding them.
-- The INSERT INTO ... SELECT is MATIH's, verbatim. Relative paths resolve against this file's
-- folder; `weir run ... -D WEIR_OUT_DIR=/some/dir` (or the environment) moves the output.

SET 'table.local-time-zone' = 'UTC';
SET 'parallelism.default' = '1';

CREATE TEMPORARY TABLE state_changes_source (
    event_id        STRING,
    event_type      STRING,
    tenant_id       STRING NOT NULL,
    entity_type     STRING,
    entity_id       STRING,
    from_state      STRING,
    to_state        STRING,
    triggered_by    STRING,
    metadata        STRING,
    `timestamp`     TIMESTAMP(3),
    WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'filesystem',
    'path' = '../data/state-changes',
    'format' = 'json',
    'json.ignore-parse-errors' = 'true'
);

CREATE CATALOG IF NOT EXISTS polaris WITH (
    'type' = 'duckdb',
    'path' = '${WEIR_OUT_DIR:-../../out}/matih.duckdb'
);

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

INSERT INTO polaris.matih_analytics.session_analytics
SELECT
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
    tenant_id;
