-- UNION ALL of two tables, each filtered and projected, with different column names and
-- types (INT and BIGINT: the union's BIGINT); NULLs pass. Stateless: every row of both.
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
  who STRING,
  amount BIGINT,
  src STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT k, v * 10, 'a' FROM a WHERE v > 1
UNION ALL
SELECT name, n, 'b' FROM b;
