-- EXTRACT(unit FROM x) for every unit Flink has, and YEAR(), QUARTER(), MONTH(), WEEK(),
-- DAYOFYEAR(), DAYOFMONTH(), DAYOFWEEK(), HOUR(), MINUTE(), SECOND() (all BIGINT): ISO weeks,
-- DOW with Sunday = 1, fractions of a second, DATE arguments and NULL (times before 1970: 110).
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
  e_year BIGINT,
  e_quarter BIGINT,
  e_month BIGINT,
  e_week BIGINT,
  e_day BIGINT,
  e_hour BIGINT,
  e_minute BIGINT,
  e_second BIGINT,
  e_dow BIGINT,
  e_isodow BIGINT,
  e_doy BIGINT,
  e_isoyear BIGINT,
  e_ms BIGINT,
  e_us BIGINT,
  e_epoch BIGINT,
  e_decade BIGINT,
  e_century BIGINT,
  e_millennium BIGINT,
  e_date_year BIGINT,
  e_date_dow BIGINT,
  f_year BIGINT,
  f_quarter BIGINT,
  f_month BIGINT,
  f_week BIGINT,
  f_doy BIGINT,
  f_dom BIGINT,
  f_dow BIGINT,
  f_hour BIGINT,
  f_minute BIGINT,
  f_second BIGINT,
  f_date_month BIGINT,
  e_half BIGINT
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       EXTRACT(YEAR FROM ts), EXTRACT(QUARTER FROM ts), EXTRACT(MONTH FROM ts),
       EXTRACT(WEEK FROM ts), EXTRACT(DAY FROM ts), EXTRACT(HOUR FROM ts),
       EXTRACT(MINUTE FROM ts), EXTRACT(SECOND FROM ts), EXTRACT(DOW FROM ts),
       EXTRACT(ISODOW FROM ts), EXTRACT(DOY FROM ts), EXTRACT(ISOYEAR FROM ts),
       EXTRACT(MILLISECOND FROM ts), EXTRACT(MICROSECOND FROM ts), EXTRACT(EPOCH FROM ts),
       EXTRACT(DECADE FROM ts), EXTRACT(CENTURY FROM ts), EXTRACT(MILLENNIUM FROM ts),
       EXTRACT(YEAR FROM d), EXTRACT(DOW FROM d),
       YEAR(ts), QUARTER(ts), MONTH(ts), WEEK(ts), DAYOFYEAR(ts), DAYOFMONTH(ts),
       DAYOFWEEK(ts), HOUR(ts), MINUTE(ts), SECOND(ts), MONTH(d),
       EXTRACT(SECOND FROM ts) / 2
FROM times;
