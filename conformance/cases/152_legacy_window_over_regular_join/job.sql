-- Legacy GROUP BY TUMBLE over a subquery with a regular join: Flink runs it (it checks the
-- time column before the join materialises it; a window TVF over the same join is refused),
-- driven by the join's watermark, the smaller of its inputs'. The watermark delay (1 minute)
-- is longer than the data, so no row is late in whatever order the two sources interleave.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE orders (
  id BIGINT,
  k STRING,
  amount INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/orders.json',
  'format' = 'json'
);

CREATE TABLE shipments (
  oid BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/shipments.json',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  k STRING,
  shipments BIGINT,
  amount INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT TUMBLE_START(o_ts, INTERVAL '10' SECOND), k, COUNT(*), SUM(amount)
FROM (
  SELECT o.k, o.amount, o.ts AS o_ts FROM orders o JOIN shipments s ON o.id = s.oid
) GROUP BY TUMBLE(o_ts, INTERVAL '10' SECOND), k;
