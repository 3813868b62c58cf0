-- A stateless job over four input files, one of them empty: every row of every file comes
-- out once, with the new functions applied per row (order across files is not compared).
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE traces (
  trace_id STRING,
  agent STRING,
  tools_used ARRAY<STRING>,
  payload STRING,
  started_at TIMESTAMP(3),
  finished_at TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  trace_id STRING,
  agent STRING,
  n_tools INT,
  first_tool STRING,
  uses_sql BOOLEAN,
  tokens INT,
  model_name STRING,
  duration_s INT,
  started_hour TIMESTAMP(3),
  day_text STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT trace_id,
       INITCAP(agent),
       CARDINALITY(tools_used),
       tools_used[1],
       ARRAY_CONTAINS(tools_used, 'sql'),
       JSON_VALUE(payload, '$.usage.tokens' RETURNING INT DEFAULT 0 ON ERROR),
       JSON_VALUE(payload, 'lax $.model' DEFAULT 'unknown' ON EMPTY),
       TIMESTAMPDIFF(SECOND, started_at, finished_at),
       FLOOR(started_at TO HOUR),
       DATE_FORMAT(started_at, 'EEE yyyy-MM-dd')
FROM traces
WHERE agent IS NOT NULL;
