-- Window join of HOP TVFs (5 s slide, 10 s size): a row joins in each of its two windows.
-- Two input files (persons, auctions), each in time order with a 5 s watermark delay, so no
-- row is late whichever order the two sources are read in.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE persons (
  id BIGINT,
  name STRING,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/persons.json',
  'format' = 'json'
);

CREATE TABLE auctions (
  id BIGINT,
  seller BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}/auctions.json',
  'format' = 'json'
);

CREATE TABLE results (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  name STRING,
  person_id BIGINT,
  auction_id BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT P.window_start, P.window_end, P.name, P.id, A.id
FROM TABLE(HOP(TABLE persons, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) P
INNER JOIN TABLE(HOP(TABLE auctions, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) A
  ON P.window_start = A.window_start AND P.window_end = A.window_end AND P.id = A.seller;
