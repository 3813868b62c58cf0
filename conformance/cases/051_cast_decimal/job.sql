-- CAST to DECIMAL: rounding to fewer digits, DOUBLE to DECIMAL, INT to DECIMAL.
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
  b1 DECIMAL(10, 1),
  s2 DECIMAL(10, 2),
  a2 DECIMAL(10, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, CAST(balance AS DECIMAL(10, 1)) AS b1, CAST(score AS DECIMAL(10, 2)) AS s2,
       CAST(age AS DECIMAL(10, 2)) AS a2
FROM people;
