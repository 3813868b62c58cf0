-- COALESCE with two and three arguments and NULLIF.
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
  who STRING,
  place STRING,
  age0 INT,
  not_berlin STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, COALESCE(name, 'anonymous') AS who, COALESCE(city, name, '?') AS place,
       COALESCE(age, 0) AS age0, NULLIF(city, 'Berlin') AS not_berlin
FROM people;
