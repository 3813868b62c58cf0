-- Late rows with the legacy GROUP BY TUMBLE syntax and the MATIH-style 30-second
-- watermark delay on 1-minute windows.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  user_id STRING,
  amount INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '30' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  w_start TIMESTAMP(3),
  w_end TIMESTAMP(3),
  user_id STRING,
  total INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w_start,
       TUMBLE_END(ts, INTERVAL '1' MINUTE) AS w_end, user_id, SUM(amount) AS total
FROM events
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), user_id;
