-- ARRAY<STRING> read from JSON arrays (NULL elements, empty and NULL arrays): CARDINALITY,
-- element access (1-based; 0, negative and past-the-end indexes give NULL), ARRAY_CONTAINS
-- (a NULL needle finds NULL elements), the ARRAY[...] constructor, and CAST to STRING.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE traces (
  id INT,
  tools_used ARRAY<STRING>,
  i INT,
  needle STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  n_tools INT,
  first_tool STRING,
  second_tool STRING,
  tool_i STRING,
  uses_sql BOOLEAN,
  uses_needle BOOLEAN,
  tools_text STRING,
  built ARRAY<STRING>,
  built_n INT,
  built_text STRING,
  built_first STRING
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id,
       CARDINALITY(tools_used),
       tools_used[1],
       tools_used[2],
       tools_used[i],
       ARRAY_CONTAINS(tools_used, 'sql'),
       ARRAY_CONTAINS(tools_used, needle),
       CAST(tools_used AS STRING),
       ARRAY['agent', needle],
       CARDINALITY(ARRAY['a', 'b', needle]),
       CAST(ARRAY[needle, 'z'] AS STRING),
       ARRAY[needle, 'z'][1]
FROM traces;
