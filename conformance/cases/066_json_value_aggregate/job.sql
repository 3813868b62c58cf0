-- JSON_VALUE cast to DOUBLE and INT inside window aggregates, as MATIH's jobs do.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE docs (
  id INT,
  payload STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  avg_score DOUBLE,
  max_age INT,
  named BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start,
       AVG(CAST(JSON_VALUE(payload, '$.score') AS DOUBLE)) AS avg_score,
       MAX(CAST(JSON_VALUE(payload, '$.user.age') AS INT)) AS max_age,
       COUNT(JSON_VALUE(payload, '$.user.name')) AS named
FROM TABLE(TUMBLE(TABLE docs, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
