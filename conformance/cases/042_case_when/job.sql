-- CASE in both forms (searched and simple), with and without ELSE, over NULLs.
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
  age_band STRING,
  city_code STRING,
  flag INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       CASE WHEN age IS NULL THEN 'unknown' WHEN age < 20 THEN 'teen' WHEN age < 40 THEN 'adult'
            ELSE 'senior' END AS age_band,
       CASE city WHEN 'Paris' THEN 'PAR' WHEN 'Berlin' THEN 'BER' END AS city_code,
       CASE WHEN active THEN 1 WHEN NOT active THEN 0 ELSE -1 END AS flag
FROM people;
