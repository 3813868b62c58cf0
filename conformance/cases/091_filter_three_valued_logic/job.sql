-- A stateless filter whose conditions meet NULLs: comparisons with NULL are unknown, NOT
-- of unknown is unknown, OR with a true side is true.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE people (
  id INT,
  name STRING,
  city STRING,
  age INT,
  score DOUBLE,
  balance DECIMAL(10, 2),
  active BOOLEAN,
  ts TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  name STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, name
FROM people
WHERE NOT (age > 30) OR (active AND score > 80) OR name <> 'bob' AND city = 'Berlin';
