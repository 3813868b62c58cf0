-- TUMBLE over a view of an interval join, on the order's rowtime: an interval join keeps
-- both inputs' rowtimes as time attributes, so a window TVF can read its result.
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
  k STRING,
  shipped BIGINT,
  amount INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

CREATE VIEW shipped AS
SELECT o.id, o.k, o.amount, o.ts AS o_ts, s.ts AS s_ts
FROM orders o JOIN shipments s
  ON o.id = s.oid AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '5' SECOND;

INSERT INTO results
SELECT window_start, window_end, k, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE shipped, DESCRIPTOR(o_ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
