-- LEFT interval join with persons behind their table's watermark: unlike a window, an
-- interval join does not drop them. dave2 (10:00:24, after dave at 10:00:31: 2 s behind the
-- watermark) still matches auction 106 (10:00:29), which is kept until the join's watermark
-- passes 10:00:34; bob2 (10:00:05, after erin at 10:00:45) has no auction in its interval and
-- comes padded, at once or when the watermark passes 10:00:15, whichever way the two
-- sources interleave.
-- Two input files (persons, auctions), in time order but for those two persons, with a 5 s
-- watermark delay. dave2's only match is read before it or kept for it whichever way the
-- two sources interleave; bob2 has none.
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
FROM persons P LEFT JOIN auctions A
  ON P.id = A.seller AND A.ts BETWEEN P.ts - INTERVAL '5' SECOND AND P.ts + INTERVAL '10' SECOND;
