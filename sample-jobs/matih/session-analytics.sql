-- MATIH's session-analytics job (MATIH docs, "Pipelines & Data Engineering > Flink", Job 2:
-- infrastructure/flink/jobs/session-analytics.sql), as written, against the demo's connections:
--   * 'properties.bootstrap.servers' is ${KAFKA_BOOTSTRAP:-embedded}: Weir's embedded log unless
--     KAFKA_BOOTSTRAP names a broker (MATIH's own value was its Strimzi service);
--   * polaris.matih_analytics.* is the catalog that sample-jobs/matih/catalog.sql declares
--     (run it first: `weir run -i sample-jobs/matih/catalog.sql THIS_FILE`): DuckDB tables in
--     place of Polaris/Iceberg.
-- Everything else is MATIH's text. 'latest-offset' means: start the job, then produce
-- (`weir demo` does it in that order).

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
    'connector' = 'kafka',
    'topic' = 'matih.ai.state-changes',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = 'flink-session-analytics',
    'scan.startup.mode' = 'latest-offset',
    'format' = 'json'
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
