-- Input split over three files (read in an order neither engine promises; the watermark
-- delay exceeds the data's time span, so no row is late in any order). HOP windows merge
-- per-pane partial aggregates: AVG of INT, BIGINT and SMALLINT columns stays an integer
-- truncated toward zero (Flink types AVG by its input), next to SUM, COUNT, MIN and MAX.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE readings (
  k STRING,
  v INT,
  big BIGINT,
  small SMALLINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' HOUR
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  k STRING,
  avg_v INT,
  avg_big BIGINT,
  avg_small SMALLINT,
  sum_v INT,
  n BIGINT,
  min_v INT,
  max_v INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT window_start, window_end, k,
       AVG(v), AVG(big), AVG(small),
       SUM(v), COUNT(*), MIN(v), MAX(v)
FROM TABLE(HOP(TABLE readings, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
