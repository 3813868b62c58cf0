-- Aggregates over groups whose values are all NULL: SUM, MIN, MAX and AVG are NULL and
-- COUNT(column) is 0.
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
  sum_i INT,
  min_d DOUBLE,
  max_m DECIMAL(10, 2),
  avg_d DOUBLE,
  cnt_b BIGINT,
  n BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, k, SUM(i) AS sum_i, MIN(d) AS min_d, MAX(m) AS max_m, AVG(d) AS avg_d,
       COUNT(b) AS cnt_b, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY window_start, window_end, k;
