-- A JSON object and array in the input read into STRING columns become their JSON text;
-- JSON_VALUE reads that text.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE docs (
  id INT,
  meta STRING,
  list STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  meta STRING,
  list STRING,
  b STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, meta, list, JSON_VALUE(meta, '$.a.b') AS b
FROM docs;
