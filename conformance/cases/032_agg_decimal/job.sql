-- SUM, AVG, MIN and MAX over DECIMAL(10, 2) (SUM is DECIMAL(38, 2), AVG DECIMAL(38, 6)).
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE nums (
  k STRING,
  i INT,
  b BIGINT,
  d DOUBLE,
  m DECIMAL(10, 2),
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  k STRING,
  sum_m DECIMAL(38, 2),
  avg_m DECIMAL(38, 6),
  min_m DECIMAL(10, 2),
  max_m DECIMAL(10, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, k, SUM(m) AS sum_m, AVG(m) AS avg_m, MIN(m) AS min_m, MAX(m) AS max_m
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
