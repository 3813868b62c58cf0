-- String functions whose edge cases differ between engines: SUBSTRING with a 0 or negative
-- start, a start past the end, a zero length; POSITION and LOCATE (with a start; empty needle);
-- INITCAP (only ASCII letters and digits make words); LPAD/RPAD (truncating, repeating the
-- pad); REPLACE; CONCAT_WS skipping NULLs; TRIM of other characters; CHAR_LENGTH; UPPER/LOWER.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE words (
  id INT,
  s STRING,
  t STRING,
  k INT
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  sub_k STRING,
  sub_k2 STRING,
  sub_from STRING,
  sub_neg STRING,
  sub_zero_len STRING,
  pos INT,
  loc INT,
  loc_k INT,
  cap STRING,
  lpad5 STRING,
  rpad5 STRING,
  lpad_k STRING,
  repl STRING,
  repl_empty STRING,
  cws STRING,
  trim_both STRING,
  trim_lead STRING,
  trim_trail STRING,
  len INT,
  up STRING,
  low STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       SUBSTRING(s, k),
       SUBSTRING(s, k, 2),
       SUBSTRING(s FROM k FOR 3),
       SUBSTRING(s FROM -2),
       SUBSTRING(s, 2, 0),
       POSITION(t IN s),
       LOCATE(t, s),
       LOCATE(t, s, k),
       INITCAP(s),
       LPAD(s, 5, '*-'),
       RPAD(s, 5, '*-'),
       LPAD(s, ABS(k), '0'),
       REPLACE(s, t, '<>'),
       REPLACE(s, '', '.'),
       CONCAT_WS('|', s, t, CAST(k AS STRING)),
       TRIM(BOTH 'x' FROM s),
       TRIM(LEADING 'xy' FROM s),
       TRIM(TRAILING 'x' FROM s),
       CHAR_LENGTH(s),
       UPPER(s),
       LOWER(s)
FROM words;
