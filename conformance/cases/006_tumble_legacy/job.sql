-- Legacy group window: GROUP BY TUMBLE(ts, ...) with TUMBLE_START, TUMBLE_END and
-- TUMBLE_ROWTIME.
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
  w_start TIMESTAMP(3),
  w_end TIMESTAMP(3),
  w_rowtime TIMESTAMP(3),
  user_id STRING,
  total INT,
  n BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS w_start,
       TUMBLE_END(ts, INTERVAL '10' SECOND) AS w_end,
       TUMBLE_ROWTIME(ts, INTERVAL '10' SECOND) AS w_rowtime,
       user_id, SUM(amount) AS total, COUNT(*) AS n
FROM events
GROUP BY TUMBLE(ts, INTERVAL '10' SECOND), user_id;
