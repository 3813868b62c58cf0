-- UPPER, LOWER, CONCAT, ||, SUBSTRING (both forms), CHAR_LENGTH, TRIM, LTRIM, RTRIM on
-- non-NULL strings (with spaces and non-ASCII letters).
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
  up STRING,
  low STRING,
  joined STRING,
  piped STRING,
  sub1 STRING,
  sub2 STRING,
  len INT,
  trimmed STRING,
  ltrimmed STRING,
  rtrimmed STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, UPPER(name) AS up, LOWER(name) AS low, CONCAT(name, '@', city) AS joined,
       name || '/' || city AS piped, SUBSTRING(name FROM 2 FOR 3) AS sub1,
       SUBSTRING(city, 3) AS sub2, CHAR_LENGTH(name) AS len, TRIM(name) AS trimmed,
       LTRIM(name) AS ltrimmed, RTRIM(name) AS rtrimmed
FROM people
WHERE name IS NOT NULL AND city IS NOT NULL;
