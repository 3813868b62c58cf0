-- REGEXP_EXTRACT (whole match by default, a group, no match, a group past the last one);
-- REGEXP_REPLACE (every match; the replacement is literal text, '$1' included); SPLIT_INDEX
-- (0-based; empty pieces; out of range and negative give NULL); IF, COALESCE, NULLIF,
-- IS [NOT] DISTINCT FROM and CASE over NULLs.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE lines (
  id INT,
  s STRING,
  sep STRING,
  k INT,
  a INT,
  b INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  rx_all STRING,
  rx_num STRING,
  rx_group STRING,
  rx_k STRING,
  rx_none STRING,
  rr_digits STRING,
  rr_dollar STRING,
  rr_swap STRING,
  split_k STRING,
  split_0 STRING,
  if_ab INT,
  if_text STRING,
  coalesced INT,
  nullif_ab INT,
  distinct_ab BOOLEAN,
  not_distinct_ab BOOLEAN,
  case_size STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       REGEXP_EXTRACT(s, '[a-z]+([0-9]+)'),
       REGEXP_EXTRACT(s, '[0-9]+', 0),
       REGEXP_EXTRACT(s, '([a-z]+)([0-9]+)', 2),
       REGEXP_EXTRACT(s, '([a-z]+)([0-9]+)', k),
       REGEXP_EXTRACT(s, 'q(z)', 1),
       REGEXP_REPLACE(s, '[0-9]+', '#'),
       REGEXP_REPLACE(s, '[0-9]', '$0'),
       REGEXP_REPLACE(s, '([a-z]+)([0-9]+)', '$2$1'),
       SPLIT_INDEX(s, sep, k),
       SPLIT_INDEX(s, sep, 0),
       IF(a > b, a, b),
       IF(a IS NULL, 'no a', CAST(a AS STRING)),
       COALESCE(a, b, -1),
       NULLIF(a, b),
       a IS DISTINCT FROM b,
       a IS NOT DISTINCT FROM b,
       CASE WHEN a < 0 THEN 'negative' WHEN a < 10 THEN 'small' WHEN a >= 10 THEN 'large' END
FROM lines;
