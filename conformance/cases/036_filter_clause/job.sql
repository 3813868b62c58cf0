-- Aggregates with FILTER (WHERE ...): COUNT(*), SUM and COUNT(DISTINCT) each over a
-- different subset of the window's rows.
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
  pos BIGINT,
  sum_pos INT,
  big_keys BIGINT,
  dsum DOUBLE,
  n BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start,
       COUNT(*) FILTER (WHERE i > 0) AS pos,
       SUM(i) FILTER (WHERE i > 0) AS sum_pos,
       COUNT(DISTINCT k) FILTER (WHERE b > 4) AS big_keys,
       SUM(d) FILTER (WHERE k IN ('x', 'z')) AS dsum,
       COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE nums, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
