-- SUM, MIN, MAX and COUNT over INT and BIGINT columns with negatives, NULLs and values
-- beyond 32 bits.
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
  min_i INT,
  max_i INT,
  sum_b BIGINT,
  min_b BIGINT,
  max_b BIGINT,
  cnt_i BIGINT,
  cnt BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, k, SUM(i) AS sum_i, MIN(i) AS min_i, MAX(i) AS max_i,
       SUM(b) AS sum_b, MIN(b) AS min_b, MAX(b) AS max_b, COUNT(i) AS cnt_i, COUNT(*) AS cnt
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
