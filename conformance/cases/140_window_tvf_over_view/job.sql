-- A view inside a window TVF: TUMBLE over a view that filters and projects a table and
-- keeps its rowtime unchanged. The window columns follow the view's columns; a row behind the
-- watermark in a fired window (b at 10:00:08) is dropped, one in an open window counts.
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
  window_time TIMESTAMP(3),
  k STRING,
  total INT,
  n BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

CREATE VIEW big AS SELECT k, v * 10 AS v10, ts FROM events WHERE v > 1;

INSERT INTO results
SELECT window_start, window_end, window_time, k, SUM(v10) AS total, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE big, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, window_time, k;
