-- Livepeer's quality gate (seed "System Overview", Flink stages 1-3 and its error handling):
-- every record of `streaming_events` is validated, deduplicated on its event id with a TTL,
-- and routed to one of three places, as Livepeer's Flink pipeline does:
--   schema/validation failure -> DLQ topic        events.dlq.streaming_events.v1
--   duplicate                 -> quarantine topic events.quarantine.streaming_events.v1
--   valid, first of its id    -> the typed table  streaming_events_typed (DuckDB), merged on
--                                the event id so that a replay leaves one row per event
-- Nothing is dropped silently: every record read lands in exactly one of the DLQ or the typed
-- table, and every duplicate is counted in the quarantine.
--
-- Livepeer's settings map to variables: QUALITY_KAFKA_BOOTSTRAP (unset: the embedded log),
-- QUALITY_GROUP_ID, QUALITY_DEDUP_TTL (Livepeer: QUALITY_DEDUP_TTL_MINUTES = 1440). The DuckDB
-- file goes to the folder WEIR_OUT_DIR names (default: out/ at the repository's root).

SET 'table.exec.state.ttl' = '${QUALITY_DEDUP_TTL:-1440 min}';

-- The record as it arrived: the value as text (malformed JSON must still be read), the key
-- (the stream id) and where it sits in the log.
CREATE TABLE streaming_events_raw (
    stream_key        STRING,
    payload           STRING,
    source_partition  INT METADATA FROM 'partition' VIRTUAL,
    source_offset     BIGINT METADATA FROM 'offset' VIRTUAL,
    ingested_at       TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
    proc_time AS PROCTIME()
) WITH (
    'connector' = 'kafka',
    'topic' = 'streaming_events',
    'properties.bootstrap.servers' = '${QUALITY_KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = '${QUALITY_GROUP_ID:-flink-quality-gate-v1}',
    'scan.startup.mode' = 'earliest-offset',
    'key.format' = 'raw',
    'key.fields' = 'stream_key',
    'value.format' = 'raw',
    'value.fields-include' = 'EXCEPT_KEY'
);

-- Validation: the first failed check names the reason (NULL: valid). Envelope fields: id (a
-- UUID), type (a known family), timestamp (epoch milliseconds as text), data (an object with
-- the stream id).
CREATE TEMPORARY VIEW checked AS
SELECT
    stream_key,
    payload,
    source_partition,
    source_offset,
    ingested_at,
    proc_time,
    JSON_VALUE(payload, '$.id') AS event_id,
    CASE
        WHEN payload IS NULL OR NOT JSON_EXISTS(payload, '$') THEN 'invalid_json'
        WHEN JSON_VALUE(payload, '$.id') IS NULL THEN 'missing_field:id'
        WHEN NOT REGEXP(JSON_VALUE(payload, '$.id'),
                 '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'wrong_type:id'
        WHEN JSON_VALUE(payload, '$.type') IS NULL THEN 'missing_field:type'
        WHEN JSON_VALUE(payload, '$.type') NOT IN
                 ('stream_trace', 'ai_stream_status', 'ai_stream_events', 'stream_ingest_metrics',
                  'network_capabilities', 'discovery_results', 'payment_events')
            THEN 'unsupported_type'
        WHEN JSON_VALUE(payload, '$.timestamp') IS NULL THEN 'missing_field:timestamp'
        WHEN TRY_CAST(JSON_VALUE(payload, '$.timestamp') AS BIGINT) IS NULL
            THEN 'wrong_type:timestamp'
        WHEN NOT JSON_EXISTS(payload, '$.data') THEN 'missing_field:data'
        WHEN JSON_QUERY(payload, '$.data') IS NULL THEN 'wrong_type:data'
        WHEN JSON_VALUE(payload, '$.data.stream_id') IS NULL THEN 'missing_field:data.stream_id'
        WHEN NOT REGEXP(JSON_VALUE(payload, '$.data.stream_id'), '^stream-')
            THEN 'wrong_type:data.stream_id'
    END AS reject_reason
FROM streaming_events_raw;

CREATE TEMPORARY VIEW valid_events AS
SELECT * FROM checked WHERE reject_reason IS NULL;

CREATE TABLE events_dlq (
    reason            STRING,
    event_id          STRING,
    stream_key        STRING,
    source_topic      STRING,
    source_partition  INT,
    source_offset     BIGINT,
    ingested_at       TIMESTAMP_LTZ(3),
    payload           STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'events.dlq.streaming_events.v1',
    'properties.bootstrap.servers' = '${QUALITY_KAFKA_BOOTSTRAP:-embedded}',
    'format' = 'json'
);

-- One record per duplicated event id, updated as copies arrive (upsert on the id).
CREATE TABLE events_quarantine (
    event_id          STRING,
    event_type        STRING,
    stream_key        STRING,
    copies            BIGINT,
    first_offset      BIGINT,
    last_offset       BIGINT,
    last_seen         TIMESTAMP_LTZ(3),
    PRIMARY KEY (event_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'events.quarantine.streaming_events.v1',
    'properties.bootstrap.servers' = '${QUALITY_KAFKA_BOOTSTRAP:-embedded}',
    'key.format' = 'json',
    'value.format' = 'json'
);

CREATE TABLE streaming_events_typed (
    event_id              STRING,
    event_type            STRING,
    event_ts              TIMESTAMP_LTZ(3),
    gateway               STRING,
    stream_id             STRING,
    request_id            STRING,
    pipeline              STRING,
    subtype               STRING,
    orchestrator_address  STRING,
    source_partition      INT,
    source_offset         BIGINT,
    PRIMARY KEY (event_id) NOT ENFORCED
) WITH (
    'connector' = 'duckdb',
    'path' = '${WEIR_OUT_DIR:-../../out}/livepeer.duckdb',
    'table-name' = 'streaming_events_typed'
);

EXECUTE STATEMENT SET BEGIN

INSERT INTO events_dlq
SELECT reject_reason, event_id, stream_key, 'streaming_events', source_partition, source_offset,
       ingested_at, payload
FROM checked
WHERE reject_reason IS NOT NULL;

INSERT INTO events_quarantine
SELECT event_id,
       MAX(JSON_VALUE(payload, '$.type')),
       MAX(stream_key),
       COUNT(*),
       MIN(source_offset),
       MAX(source_offset),
       MAX(ingested_at)
FROM valid_events
GROUP BY event_id
HAVING COUNT(*) > 1;

-- Deduplication with TTL: the first record of each id by arrival (Flink's keep-first-row on
-- processing time, an append-only result); state expires after table.exec.state.ttl.
INSERT INTO streaming_events_typed
SELECT event_id,
       JSON_VALUE(payload, '$.type'),
       TO_TIMESTAMP_LTZ(CAST(JSON_VALUE(payload, '$.timestamp') AS BIGINT), 3),
       JSON_VALUE(payload, '$.gateway'),
       JSON_VALUE(payload, '$.data.stream_id'),
       JSON_VALUE(payload, '$.data.request_id'),
       JSON_VALUE(payload, '$.data.pipeline'),
       JSON_VALUE(payload, '$.data.type'),
       NULLIF(JSON_VALUE(payload, '$.data.orchestrator_info.address'), ''),
       source_partition,
       source_offset
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS rn
    FROM valid_events
)
WHERE rn = 1;

END;
