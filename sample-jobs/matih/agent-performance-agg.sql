-- MATIH's agent-performance job (MATIH docs, Job 3: infrastructure/flink/jobs/
-- agent-performance-agg.sql), as written, against the demo's connections (see
-- session-analytics.sql: the bootstrap servers and the polaris catalog are the only changes).
-- One change: MATIH left p50/p95/p99 NULL because Flink has no PERCENTILE_APPROX (the seed says
-- so); Weir has it, so the three columns are computed here. Flink would reject this line.

CREATE TEMPORARY TABLE agent_traces_source (
    event_id        STRING,
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
    error_message   STRING,
    `timestamp`     TIMESTAMP(3),
    WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'matih.ai.agent-traces',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = 'flink-agent-perf-agg',
    'scan.startup.mode' = 'latest-offset',
    'format' = 'json'
);

INSERT INTO polaris.matih_analytics.agent_performance_metrics
SELECT
    TUMBLE_START(`timestamp`, INTERVAL '5' MINUTE)  AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '5' MINUTE)    AS window_end,
    tenant_id,
    agent_id,
    CAST(NULL AS STRING)                             AS agent_name,
    -- Success rate
    CAST(SUM(CASE WHEN action = 'completed' AND error_message IS NULL THEN 1 ELSE 0 END) AS DOUBLE)
        / GREATEST(COUNT(*), 1)                      AS success_rate,
    AVG(CAST(COALESCE(latency_ms, 0) AS DOUBLE))    AS avg_latency_ms,
    CAST(PERCENTILE_APPROX(latency_ms, 0.50) AS BIGINT) AS p50_latency_ms,
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
    agent_id;
