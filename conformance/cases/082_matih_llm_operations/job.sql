-- MATIH's LLM-operations job (infrastructure/flink/jobs/llm-operations-agg.sql) over
-- hand-written LLM calls: 15-minute windows per tenant, provider and model, NULL provider
-- and model grouped as 'unknown', cache-hit and error rates. The source table is not in
-- the seed; its columns are the ones the SELECT reads. MODEL is a reserved word in
-- Flink 1.20, so `model` is quoted (the seed's unquoted `model` does not parse there).
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE llm_ops_source (
  event_id STRING,
  tenant_id STRING NOT NULL,
  provider STRING,
  `model` STRING,
  cache_hit BOOLEAN,
  tokens_input INT,
  tokens_output INT,
  cost_usd DOUBLE,
  latency_ms INT,
  success BOOLEAN,
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
  provider STRING,
  `model` STRING,
  cache_hit_rate DOUBLE,
  avg_tokens_input DOUBLE,
  avg_tokens_output DOUBLE,
  total_requests BIGINT,
  total_cost_usd DOUBLE,
  avg_latency_ms DOUBLE,
  error_rate DOUBLE,
  event_timestamp TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT
    TUMBLE_START(`timestamp`, INTERVAL '15' MINUTE) AS window_start,
    TUMBLE_END(`timestamp`, INTERVAL '15' MINUTE)   AS window_end,
    tenant_id,
    COALESCE(provider, 'unknown')                    AS provider,
    COALESCE(`model`, 'unknown')                     AS `model`,
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
    `model`;
