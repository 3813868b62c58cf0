-- Stateless filter: IN, NOT IN, IS NULL and IS NOT NULL, combined with AND and OR.
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
  name STRING,
  city STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, name, city
FROM people
WHERE (city IN ('Paris', 'Berlin', 'Lisbon') AND name IS NOT NULL)
   OR (city IS NULL)
   OR (age NOT IN (19, 27, 34) AND active IS NULL);
