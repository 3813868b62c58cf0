-- GREATEST and LEAST over INT, DOUBLE and STRING arguments without NULLs.
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
  g INT,
  l INT,
  gd DOUBLE,
  ls STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, GREATEST(id, 4, 2) AS g, LEAST(id * 3, 10) AS l,
       GREATEST(score, 50.0) AS gd, LEAST(city, 'M') AS ls
FROM people
WHERE score IS NOT NULL AND city IS NOT NULL;
