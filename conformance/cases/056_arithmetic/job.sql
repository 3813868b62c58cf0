-- Arithmetic: + - * / on INT (integer division), DOUBLE and DECIMAL, %, ABS and unary
-- minus.
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
  plus INT,
  idiv INT,
  imod INT,
  neg INT,
  dmul DOUBLE,
  ddiv DOUBLE,
  dec_add DECIMAL(12, 2),
  absb DECIMAL(10, 2)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, age + id AS plus, age / 7 AS idiv, age % 7 AS imod, -id AS neg,
       score * 1.5e0 AS dmul, score / 4.0e0 AS ddiv, balance + balance AS dec_add,
       ABS(balance) AS absb
FROM people;
