-- JSON_VALUE with RETURNING INT/INTEGER/DOUBLE/BOOLEAN/STRING and DEFAULT/NULL ... ON EMPTY /
-- ON ERROR, in Flink's path modes: without a mode the path is strict (a missing key, an object
-- or text that is not JSON is an error), with 'lax' they are empty; JSON null; a NULL document;
-- numbers as text (integers as written, fractions as Java doubles); JSON_EXISTS on a JSON null;
-- JSON_QUERY on objects and scalars.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE docs (
  id INT,
  payload STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  n_int INT,
  n_err INT,
  n_lax INT,
  n_both INT,
  n_plus INT,
  x_dbl DOUBLE,
  b_bool BOOLEAN,
  b_lax BOOLEAN,
  s_str STRING,
  s_lax STRING,
  s_err STRING,
  n_text STRING,
  x_text STRING,
  n_exists BOOLEAN,
  o_query STRING,
  s_query STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       JSON_VALUE(payload, '$.n' RETURNING INT),
       JSON_VALUE(payload, '$.n' RETURNING INT DEFAULT -1 ON ERROR),
       JSON_VALUE(payload, 'lax $.n' RETURNING INT DEFAULT -2 ON EMPTY),
       JSON_VALUE(payload, 'lax $.n' RETURNING INTEGER DEFAULT -3 ON EMPTY DEFAULT -4 ON ERROR),
       JSON_VALUE(payload, 'strict $.n' RETURNING INT NULL ON EMPTY DEFAULT -5 ON ERROR) + 1,
       JSON_VALUE(payload, '$.x' RETURNING DOUBLE),
       JSON_VALUE(payload, '$.b' RETURNING BOOLEAN),
       JSON_VALUE(payload, 'lax $.b' RETURNING BOOLEAN DEFAULT FALSE ON EMPTY),
       JSON_VALUE(payload, '$.s' RETURNING STRING DEFAULT 'missing' ON ERROR),
       JSON_VALUE(payload, 'lax $.s' DEFAULT 'empty' ON EMPTY),
       JSON_VALUE(payload, '$.s' NULL ON EMPTY DEFAULT 'error' ON ERROR),
       JSON_VALUE(payload, '$.n'),
       JSON_VALUE(payload, '$.x'),
       JSON_EXISTS(payload, '$.n'),
       JSON_QUERY(payload, '$.o'),
       JSON_QUERY(payload, '$.s')
FROM docs;
