-- FLOOR(x TO unit) and CEIL(x TO unit) on TIMESTAMP(3) and DATE for SECOND to YEAR: weeks
-- start on Sunday, values already on a boundary stay, NULL (times before 1970 and CEIL of
-- a time on the first day of a month or week: 110).
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE times (
  id INT,
  ts TIMESTAMP(3),
  d DATE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  f_s TIMESTAMP(3),
  f_mi TIMESTAMP(3),
  f_h TIMESTAMP(3),
  f_d TIMESTAMP(3),
  f_w TIMESTAMP(3),
  f_mo TIMESTAMP(3),
  f_q TIMESTAMP(3),
  f_y TIMESTAMP(3),
  c_s TIMESTAMP(3),
  c_mi TIMESTAMP(3),
  c_h TIMESTAMP(3),
  c_d TIMESTAMP(3),
  c_w TIMESTAMP(3),
  c_mo TIMESTAMP(3),
  c_q TIMESTAMP(3),
  c_y TIMESTAMP(3),
  fd_mo DATE,
  cd_mo DATE,
  fd_y DATE,
  cd_w DATE
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       FLOOR(ts TO SECOND), FLOOR(ts TO MINUTE), FLOOR(ts TO HOUR), FLOOR(ts TO DAY),
       FLOOR(ts TO WEEK), FLOOR(ts TO MONTH), FLOOR(ts TO QUARTER), FLOOR(ts TO YEAR),
       CEIL(ts TO SECOND), CEIL(ts TO MINUTE), CEIL(ts TO HOUR), CEIL(ts TO DAY),
       CEIL(ts TO WEEK), CEIL(ts TO MONTH), CEIL(ts TO QUARTER), CEIL(ts TO YEAR),
       FLOOR(d TO MONTH), CEIL(d TO MONTH), FLOOR(d TO YEAR), CEIL(d TO WEEK)
FROM times;
