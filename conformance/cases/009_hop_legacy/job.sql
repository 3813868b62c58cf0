-- Legacy HOP(ts, slide, size) with HOP_START, HOP_END and HOP_ROWTIME; COUNT(DISTINCT)
-- merged across the slides of a window.
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
  users BIGINT,
  total INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT HOP_START(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) AS w_start,
       HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) AS w_end,
       HOP_ROWTIME(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND) AS w_rowtime,
       COUNT(DISTINCT user_id) AS users, SUM(amount) AS total
FROM events
GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND);
