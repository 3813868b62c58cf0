-- Legacy group window with no key besides the window; the window bounds are not
-- selected first, and an aggregate feeds arithmetic.
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
  n BIGINT,
  total INT,
  w_end TIMESTAMP(3),
  doubled INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT COUNT(*) AS n, SUM(amount) AS total, TUMBLE_END(ts, INTERVAL '15' SECOND) AS w_end,
       SUM(amount) * 2 AS doubled
FROM events
GROUP BY TUMBLE(ts, INTERVAL '15' SECOND);
