-- AppHub's streaming demo (AppHub docs, "Flink Streaming Runtime > Sample Job"): consumes
-- apphub.streaming.input, aggregates each user_id over 1-minute tumbling windows, and writes
-- the aggregates to apphub.streaming.aggregates through an upsert-kafka sink. The docs name the
-- topics, the window and the sink but not the SQL template's text; this is that job in Flink
-- SQL. Against Redpanda set KAFKA_BOOTSTRAP=host:port; unset, the embedded log.

CREATE TABLE apphub_input (
    user_id     STRING,
    event_type  STRING,
    `value`     DOUBLE,
    event_time  TIMESTAMP(3),
    WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'apphub.streaming.input',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = 'apphub-streaming-sample',
    'scan.startup.mode' = 'latest-offset',
    'format' = 'json'
);

CREATE TABLE apphub_aggregates (
    user_id       STRING,
    window_start  TIMESTAMP(3),
    window_end    TIMESTAMP(3),
    event_count   BIGINT,
    total_value   DOUBLE,
    PRIMARY KEY (user_id, window_start) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'apphub.streaming.aggregates',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'key.format' = 'json',
    'value.format' = 'json'
);

INSERT INTO apphub_aggregates
SELECT
    user_id,
    window_start,
    window_end,
    COUNT(*)      AS event_count,
    SUM(`value`)  AS total_value
FROM TABLE(TUMBLE(TABLE apphub_input, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY user_id, window_start, window_end;
