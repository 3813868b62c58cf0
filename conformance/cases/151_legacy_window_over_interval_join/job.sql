-- Legacy GROUP BY TUMBLE over a subquery joining (an interval join), on the shipment's
-- rowtime, with TUMBLE_START and TUMBLE_END.
-- Two input files (orders, shipments), each in time order with a 5 s watermark delay: the
-- interval join finds the same matches whichever order Flink's two sources interleave in, and
-- the join's output watermark, held back by the interval's reach (5 s), is never past a row
-- it emits, so no row is late for the window after it.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE orders (
  id BIGINT,
  k STRING,
  amount INT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/orders.json',
  'format' = 'json'
);

CREATE TABLE shipments (
  oid BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/shipments.json',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  shipments BIGINT,
  orders BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT TUMBLE_START(s_ts, INTERVAL '10' SECOND), TUMBLE_END(s_ts, INTERVAL '10' SECOND),
  COUNT(*), COUNT(DISTINCT id)
FROM (
  SELECT o.id, s.ts AS s_ts
  FROM orders o JOIN shipments s
    ON o.id = s.oid AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '5' SECOND
) GROUP BY TUMBLE(s_ts, INTERVAL '10' SECOND);
