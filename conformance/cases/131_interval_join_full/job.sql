-- FULL interval join with the bounds on the left rowtime (P.ts BETWEEN A.ts - 3 s AND A.ts
-- + 3 s): unmatched rows of both sides come padded once.
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
  auction_id BIGINT,
  seller BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT P.name, P.id, A.id, A.seller
FROM persons P FULL JOIN auctions A
  ON P.id = A.seller AND P.ts BETWEEN A.ts - INTERVAL '3' SECOND AND A.ts + INTERVAL '3' SECOND;
