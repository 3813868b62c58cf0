-- Stateless filter: LIKE with % and _, NOT LIKE, BETWEEN and NOT BETWEEN.
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
  age INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, name, age
FROM people
WHERE (name LIKE 'a%' OR name LIKE '_ve%' OR city LIKE '%is%')
  AND name NOT LIKE '%z'
  AND age BETWEEN 20 AND 60
  AND id NOT BETWEEN 6 AND 6;
