-- MATIH's LLM-operations job (MATIH docs, Job 4: infrastructure/flink/jobs/
-- llm-operations-agg.sql), against the demo's connections (see session-analytics.sql). The
-- docs show the query but not the source's DDL: the columns below are the ones the query reads,
-- typed as the other MATIH sources are, with the same 30-second watermark (the docs: "All
-- Kafka-sourced jobs use a 30-second watermark delay").

CREATE TEMPORARY TABLE llm_ops_source (
    event_id        STRING,
    event_type      STRING,
    tenant_id       STRING NOT NULL,
    request_id      STRING,
    session_id      STRING,
    provider        STRING,
    model           STRING,
    tokens_input    INT,
    tokens_output   INT,
    cost_usd        DOUBLE,
    latency_ms      INT,
    cache_hit       BOOLEAN,
    success         BOOLEAN,
    error_type      STRING,
    `timestamp`     TIMESTAMP(3),
    WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'matih.ai.llm-ops',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = 'flink-llm-ops-agg',
    'scan.startup.mode' = 'latest-offset',
    'format' = 'json'
);

INSERT INTO polaris.matih_analytics.llm_operations_metrics
SELECT
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
    model;
