-- A window grouped by an expression (a CASE over the key) with the expression selected.
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
  bucket STRING,
  n BIGINT,
  hi BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, CASE WHEN k = 'x' THEN 'X' ELSE 'other' END AS bucket,
       COUNT(*) AS n, MAX(b) AS hi
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '20' SECOND))
GROUP BY window_start, window_end, CASE WHEN k = 'x' THEN 'X' ELSE 'other' END;
