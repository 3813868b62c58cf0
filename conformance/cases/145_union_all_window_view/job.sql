-- TUMBLE over a UNION ALL view of two tables that both keep their rowtime: a window
-- aggregation over rows of both. The watermark delay (1 minute) is longer than the data, so
-- no row is late in whatever order the two sources interleave.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE a (
  k STRING,
  v INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/a.json',
  'format' = 'json'
);

CREATE TABLE b (
  name STRING,
  n BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/b.json',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  k STRING,
  c BIGINT,
  total BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

CREATE VIEW both_inputs AS
SELECT k, CAST(v AS BIGINT) AS v, ts FROM a
UNION ALL
SELECT name, n, ts FROM b WHERE name IS NOT NULL;

INSERT INTO results
SELECT window_start, window_end, k, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE both_inputs, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
