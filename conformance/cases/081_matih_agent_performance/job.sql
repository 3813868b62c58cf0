-- MATIH's agent-performance job (infrastructure/flink/jobs/agent-performance-agg.sql)
-- over hand-written agent traces: 5-minute tumbling windows per tenant and agent, rates,
-- token and cost sums, NULL percentile columns.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE agent_traces_source (
  event_id STRING,
  event_type STRING,
  tenant_id STRING NOT NULL,
  trace_id STRING,
  agent_id STRING NOT NULL,
  action STRING,
  session_id STRING,
  latency_ms INT,
  tokens_input INT,
  tokens_output INT,
  cost_usd DOUBLE,
  tools_used ARRAY<STRING>,
  error_message STRING,
  `timestamp` TIMESTAMP(3),
  WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  tenant_id STRING,
  agent_id STRING,
  agent_name STRING,
  success_rate DOUBLE,
  avg_latency_ms DOUBLE,
  p50_latency_ms BIGINT,
  p95_latency_ms BIGINT,
  p99_latency_ms BIGINT,
  total_traces BIGINT,
  total_tokens BIGINT,
  total_cost_usd DOUBLE,
  error_rate DOUBLE,
  escalation_rate DOUBLE,
  event_timestamp TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
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
    agent_id;
