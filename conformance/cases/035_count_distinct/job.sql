-- COUNT(DISTINCT) over several columns in one window, NULLs not counted, next to COUNT(*).
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
  keys BIGINT,
  ints BIGINT,
  bigs BIGINT,
  decs BIGINT,
  n BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, COUNT(DISTINCT k) AS keys, COUNT(DISTINCT i) AS ints,
       COUNT(DISTINCT b) AS bigs, COUNT(DISTINCT m) AS decs, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '20' SECOND))
GROUP BY window_start, window_end;
