-- RIGHT interval join with strict bounds (A.ts > P.ts AND A.ts < P.ts + 10 s): an auction
-- exactly 10 s after its seller's row does not match; unmatched auctions come padded once.
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
  auction_id BIGINT,
  seller BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT P.name, A.id, A.seller
FROM persons P RIGHT JOIN auctions A
  ON A.seller = P.id AND A.ts > P.ts AND A.ts < P.ts + INTERVAL '10' SECOND;
