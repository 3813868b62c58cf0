-- A WHERE before a window aggregation with several conditions, and a computed argument
-- inside the aggregates.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  user_id STRING,
  amount INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  weighted INT,
  n BIGINT,
  longest INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, SUM(amount * CHAR_LENGTH(user_id)) AS weighted, COUNT(*) AS n,
       MAX(CHAR_LENGTH(user_id)) AS longest
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE user_id IN ('alice', 'carol') AND amount BETWEEN 2 AND 8
GROUP BY window_start, window_end;
