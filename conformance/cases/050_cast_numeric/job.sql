-- CAST between numbers and from strings: DOUBLE to INT truncates, INT to DOUBLE,
-- DECIMAL to DOUBLE, STRING to INT and DOUBLE, INT to BIGINT.
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
  score_int INT,
  age_double DOUBLE,
  balance_double DOUBLE,
  parsed_int INT,
  parsed_double DOUBLE,
  id_big BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, CAST(score AS INT) AS score_int, CAST(age AS DOUBLE) AS age_double,
       CAST(balance AS DOUBLE) AS balance_double, CAST('42' AS INT) + id AS parsed_int,
       CAST('2.5' AS DOUBLE) * id AS parsed_double, CAST(id AS BIGINT) * 10000000000 AS id_big
FROM people;
