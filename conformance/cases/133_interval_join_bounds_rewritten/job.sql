-- INNER interval join whose bounds have intervals on both sides of each comparison and the
-- left rowtime on either side: P.ts - 2 s <= A.ts + 3 s (P.ts - A.ts <= 5 s) and A.ts - 1 min
-- < P.ts - 50 s (P.ts - A.ts > -10 s).
-- Two input files (persons, auctions), each in time order with a 5 s watermark delay: an
-- interval join then finds the same matches whichever order Flink's two sources interleave
-- in (a row is forgotten only once the other side's watermark is past its interval, and a
-- file in time order brings nothing behind its own watermark).
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
SELECT P.name, P.id, A.id
FROM persons P JOIN auctions A
  ON P.ts - INTERVAL '2' SECOND <= A.ts + INTERVAL '3' SECOND
  AND P.id = A.seller
  AND A.ts - INTERVAL '1' MINUTE < P.ts - INTERVAL '50' SECOND;
