-- HOP over a view with a column list that renames the rowtime, read through a second view;
-- the TVF's rows carry the view's columns then the window columns.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  k STRING,
  v INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  who STRING,
  total INT,
  last_seen TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

CREATE VIEW renamed (who, amount, event_time) AS SELECT k, v, ts FROM events;
CREATE VIEW not_c AS SELECT * FROM renamed WHERE who <> 'c';

INSERT INTO results
SELECT w.window_start, w.window_end, w.who, SUM(w.amount), MAX(w.event_time)
FROM TABLE(HOP(TABLE not_c, DESCRIPTOR(event_time), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) AS w
GROUP BY w.window_start, w.window_end, w.who;
