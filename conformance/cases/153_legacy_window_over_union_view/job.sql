-- Legacy GROUP BY HOP over a UNION ALL view whose inputs both keep their rowtime. The
-- watermark delay (1 minute) is longer than the data, so no row is late in whatever order
-- the two sources interleave.
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
  window_end TIMESTAMP(3),
  what STRING,
  c BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

CREATE VIEW events AS
SELECT 'order' AS what, ts FROM orders
UNION ALL
SELECT 'shipment', ts FROM shipments;

INSERT INTO results
SELECT HOP_END(ts, INTERVAL '10' SECOND, INTERVAL '20' SECOND), what, COUNT(*)
FROM events GROUP BY HOP(ts, INTERVAL '10' SECOND, INTERVAL '20' SECOND), what;
