-- CONCAT with a NULL argument (and ||, UPPER, CHAR_LENGTH, TRIM over NULLs).
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
  joined STRING,
  piped STRING,
  up STRING,
  len INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, CONCAT(name, '-', city) AS joined, name || city AS piped, UPPER(city) AS up,
       CHAR_LENGTH(TRIM(city)) AS len
FROM people
WHERE name IS NULL OR city IS NULL;
