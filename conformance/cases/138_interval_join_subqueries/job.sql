-- LEFT interval join of subqueries that rename and filter: the rowtimes stay time
-- attributes through them, so it is an interval join (append-only) in both engines.
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
SELECT P.name, P.pid, A.aid
FROM (SELECT id AS pid, name, ts AS pts FROM persons WHERE name <> 'erin') P
LEFT JOIN (SELECT seller, id AS aid, ts FROM auctions WHERE id <> 104) A
  ON P.pid = A.seller AND A.ts BETWEEN P.pts - INTERVAL '5' SECOND AND P.pts + INTERVAL '10' SECOND;
