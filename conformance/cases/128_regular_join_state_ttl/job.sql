-- Regular INNER join (append-only: a filesystem sink takes it) with a condition beyond the
-- key, under table.exec.state.ttl = 1 h, far longer than the job: every match is kept.
-- Outer regular joins are updating, which Flink's filesystem sink refuses: they are
-- covered by engine/core/tests/slt/11_joins.slt instead.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';
SET 'table.exec.state.ttl' = '1 h';

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
  ON P.id = A.seller AND A.ts >= P.ts;
