-- A stateless query over a table with a watermark: out-of-order rows are not dropped
-- (only windows drop late rows) and computed columns are written.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  user_id STRING,
  amount INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  user_id STRING,
  amount_x10 INT,
  ts TIMESTAMP(3),
  big BOOLEAN
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT UPPER(user_id) AS user_id, amount * 10 AS amount_x10, ts, amount >= 5 AS big
FROM events
WHERE user_id <> 'bob';
