-- Where Flink 1.20.3's time functions disagree with the calendar (known difference, see
-- known-difference.md): EXTRACT, FLOOR and CEIL of a TIMESTAMP before 1970 with a time of
-- day; CEIL(... TO MONTH/WEEK) of a time after midnight on the first day of a month or week;
-- TO_DATE(text, pattern) and UNIX_TIMESTAMP(text) on text the pattern does not match.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE times (
  id INT,
  ts TIMESTAMP(3),
  s STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  e_year BIGINT,
  e_day BIGINT,
  e_hour BIGINT,
  e_ms BIGINT,
  e_epoch BIGINT,
  f_d TIMESTAMP(3),
  f_mo TIMESTAMP(3),
  f_y TIMESTAMP(3),
  c_d TIMESTAMP(3),
  c_w TIMESTAMP(3),
  c_mo TIMESTAMP(3),
  to_d_fmt DATE,
  unix_s BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       EXTRACT(YEAR FROM ts), EXTRACT(DAY FROM ts), EXTRACT(HOUR FROM ts),
       EXTRACT(MILLISECOND FROM ts), EXTRACT(EPOCH FROM ts),
       FLOOR(ts TO DAY), FLOOR(ts TO MONTH), FLOOR(ts TO YEAR),
       CEIL(ts TO DAY), CEIL(ts TO WEEK), CEIL(ts TO MONTH),
       TO_DATE(s, 'yyyy-MM-dd HH:mm:ss'),
       UNIX_TIMESTAMP(s)
FROM times;
