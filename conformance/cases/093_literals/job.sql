-- Literals of each type in a projection: strings, integers, decimals, doubles, booleans,
-- NULL cast to a type, and a TIMESTAMP literal.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  user_id STRING,
  amount INT,
  ts TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  user_id STRING,
  s STRING,
  i INT,
  de DECIMAL(5, 2),
  d DOUBLE,
  f BOOLEAN,
  n STRING,
  t TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT user_id, 'lit' AS s, 7 AS i, 1.25 AS de, 2.5e0 AS d, TRUE AS f,
       CAST(NULL AS STRING) AS n, TIMESTAMP '2026-01-01 00:00:00.123' AS t
FROM events
WHERE amount > 6;
