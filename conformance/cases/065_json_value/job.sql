-- JSON_VALUE over JSON text stored in a STRING column: nested paths, array elements,
-- bracket keys, numbers and booleans as strings, and NULL for a missing path, an
-- object, a JSON null and text that is not JSON.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE docs (
  id INT,
  payload STRING,
  ts TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  name STRING,
  age STRING,
  city STRING,
  tag0 STRING,
  tag1 STRING,
  score STRING,
  ok STRING,
  user_obj STRING,
  spaced STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       JSON_VALUE(payload, '$.user.name') AS name,
       JSON_VALUE(payload, '$.user.age') AS age,
       JSON_VALUE(payload, '$.user.address.city') AS city,
       JSON_VALUE(payload, '$.tags[0]') AS tag0,
       JSON_VALUE(payload, '$.tags[1]') AS tag1,
       JSON_VALUE(payload, '$.score') AS score,
       JSON_VALUE(payload, '$.ok') AS ok,
       JSON_VALUE(payload, '$.user') AS user_obj,
       JSON_VALUE(payload, '$[''user name'']') AS spaced
FROM docs;
