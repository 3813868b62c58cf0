-- An ARRAY<STRING> column passes through a stateless query to an ARRAY<STRING> sink
-- column, NULL and empty arrays included.
SET 'parallelism.default' = '1';
SET 'table.local-time-zone' = 'UTC';
SET 'execution.checkpointing.interval' = '1s';

CREATE TABLE traces (
  id INT,
  tools_used ARRAY<STRING>
) WITH (
  'connector' = 'filesystem',
  'path' = '${INPUT}',
  'format' = 'json'
);

CREATE TABLE results (
  id INT,
  tools_used ARRAY<STRING>
) WITH (
  'connector' = 'filesystem',
  'path' = '${OUTPUT}',
  'format' = 'json',
  'sink.rolling-policy.rollover-interval' = '1s'
);

INSERT INTO results
SELECT id, tools_used
FROM traces;
