-- LEFT interval join, auctions from 5 s before to 10 s after their seller's row (BETWEEN,
-- ends included): several matches per person, in both directions; persons without one
-- (and the NULL id) come once, padded with NULLs, and the result is append-only (the
-- filesystem sink takes it). Both rowtimes are written; Flink refuses to write two rowtime
-- attributes to a sink, so the auction's is cast to a plain TIMESTAMP(3).
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
  person_ts TIMESTAMP(3),
  auction_id BIGINT,
  auction_ts TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT P.name, P.id, P.ts, A.id, CAST(A.ts AS TIMESTAMP(3))
FROM persons P LEFT JOIN auctions A
  ON P.id = A.seller AND A.ts BETWEEN P.ts - INTERVAL '5' SECOND AND P.ts + INTERVAL '10' SECOND;
