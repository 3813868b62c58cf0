-- TO_TIMESTAMP_LTZ from epoch seconds (precision 0) and milliseconds (precision 3) of INT,
-- BIGINT, DOUBLE and DECIMAL columns; DATE_FORMAT of a TIMESTAMP with Java pattern letters
-- (text, 12-hour clocks, fractions, weeks, quarters, quoted text), of a TIMESTAMP_LTZ, and of
-- a STRING (read leniently as yyyy-MM-dd HH:mm:ss); TO_DATE and TO_TIMESTAMP of strings
-- (TO_DATE with a pattern on text that does not match it: 110).
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE events (
  id INT,
  secs INT,
  millis BIGINT,
  secs_d DOUBLE,
  millis_m DECIMAL(16, 3),
  ts TIMESTAMP(3),
  s STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  ltz_s STRING,
  ltz_ms STRING,
  ltz_ts TIMESTAMP(3),
  ltz_d STRING,
  ltz_dm STRING,
  ltz_m STRING,
  fmt_full STRING,
  fmt_text STRING,
  fmt_long STRING,
  fmt_clock STRING,
  fmt_frac STRING,
  fmt_quoted STRING,
  fmt_ltz STRING,
  fmt_str STRING,
  to_d DATE,
  to_ts TIMESTAMP(3),
  to_ts_fmt TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       CAST(TO_TIMESTAMP_LTZ(secs, 0) AS STRING),
       CAST(TO_TIMESTAMP_LTZ(millis, 3) AS STRING),
       CAST(TO_TIMESTAMP_LTZ(millis, 3) AS TIMESTAMP(3)),
       CAST(TO_TIMESTAMP_LTZ(secs_d, 0) AS STRING),
       CAST(TO_TIMESTAMP_LTZ(secs_d, 3) AS STRING),
       CAST(TO_TIMESTAMP_LTZ(millis_m, 3) AS STRING),
       DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS'),
       DATE_FORMAT(ts, 'EEE MMM d, yy h:mm a'),
       DATE_FORMAT(ts, 'EEEE MMMM D, w W Q QQ'),
       DATE_FORMAT(ts, 'hh KK kk HH H:m:s'),
       DATE_FORMAT(ts, 'S|SS|SSSS u'),
       DATE_FORMAT(ts, 'yyyy-MM-dd''T''HH:mm:ss''Z'' ''''q'),
       DATE_FORMAT(TO_TIMESTAMP_LTZ(millis, 3), 'yyyy/MM/dd HH:mm:ss.SSS'),
       DATE_FORMAT(s, 'yyyy/MM/dd HH:mm:ss'),
       TO_DATE(s),
       TO_TIMESTAMP(s),
       TO_TIMESTAMP(s, 'yyyy-MM-dd HH:mm:ss')
FROM events;
