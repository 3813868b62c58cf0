-- TIMESTAMPDIFF and TIMESTAMPADD for every unit from SECOND to YEAR: truncation toward zero,
-- month arithmetic that clamps to the month's last day, the time-of-day rule for whole months,
-- DATE arguments, negative amounts, NULLs, and INT overflow of a large SECOND difference.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE pairs (
  id INT,
  t1 TIMESTAMP(3),
  t2 TIMESTAMP(3),
  n INT,
  d DATE
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  diff_s INT,
  diff_mi INT,
  diff_h INT,
  diff_d INT,
  diff_w INT,
  diff_mo INT,
  diff_q INT,
  diff_y INT,
  diff_dates INT,
  add_s TIMESTAMP(3),
  add_mi TIMESTAMP(3),
  add_h TIMESTAMP(3),
  add_d TIMESTAMP(3),
  add_w TIMESTAMP(3),
  add_mo TIMESTAMP(3),
  add_q TIMESTAMP(3),
  add_y TIMESTAMP(3),
  add_date DATE,
  add_date_mo DATE
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       TIMESTAMPDIFF(SECOND, t1, t2),
       TIMESTAMPDIFF(MINUTE, t1, t2),
       TIMESTAMPDIFF(HOUR, t1, t2),
       TIMESTAMPDIFF(DAY, t1, t2),
       TIMESTAMPDIFF(WEEK, t1, t2),
       TIMESTAMPDIFF(MONTH, t1, t2),
       TIMESTAMPDIFF(QUARTER, t1, t2),
       TIMESTAMPDIFF(YEAR, t1, t2),
       TIMESTAMPDIFF(DAY, d, CAST(t2 AS DATE)),
       TIMESTAMPADD(SECOND, n, t1),
       TIMESTAMPADD(MINUTE, n, t1),
       TIMESTAMPADD(HOUR, n, t1),
       TIMESTAMPADD(DAY, n, t1),
       TIMESTAMPADD(WEEK, n, t1),
       TIMESTAMPADD(MONTH, n, t1),
       TIMESTAMPADD(QUARTER, n, t1),
       TIMESTAMPADD(YEAR, n, t1),
       TIMESTAMPADD(DAY, n, d),
       TIMESTAMPADD(MONTH, n, d)
FROM pairs;
