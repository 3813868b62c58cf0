-- Event sourcing: MATIH's order-events-pipeline (seed "Event Sourcing"). Order events on
-- domain.orders.events (the seed's envelope: event_id, event_type, entity_id, tenant_id,
-- timestamp, version, data, metadata) are folded per order into its current state, merged on
-- order_id into the projection table (the seed's `mode: merge_on_key`, `merge_keys:
-- [order_id]`). The seed's fold function, in SQL:
--     OrderPlaced    -> {status: placed, amount}
--     OrderCancelled -> {...state, status: cancelled}
--     other          -> {...state, status: event_type.lower().replace("order", "")}
-- The latest event is the one with the highest version ("arg max" as MAX over
-- version-prefixed text, which any Flink runs); the amount is the OrderPlaced event's.
--
-- Replay (the seed's POST /replay): run this file again with another consumer group, e.g.
--     weir run -D ORDER_GROUP=order-projection-replay-v1 sample-jobs/orders/order-projection.sql
-- It reads the topic from the earliest offset and rebuilds the same table: the projection is
-- a pure function of the log, and merging on the key makes the rebuild idempotent. Snapshots
-- of the fold's state are the job's checkpoints (every 30 s, as the seed's orchestration says).
--
-- Against Kafka/Redpanda set KAFKA_BOOTSTRAP=host:port; unset, the embedded log. The DuckDB
-- file goes to the folder WEIR_OUT_DIR names (default: out/ at the repository's root).

SET 'execution.checkpointing.interval' = '30s';

CREATE TABLE order_events (
    event_id     STRING,
    event_type   STRING,
    entity_type  STRING,
    entity_id    STRING,
    tenant_id    STRING,
    `timestamp`  TIMESTAMP_LTZ(3),
    version      INT,
    data         STRING,
    `metadata`   STRING
) WITH (
    'connector' = 'kafka',
    'topic' = 'domain.orders.events',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP:-embedded}',
    'properties.group.id' = '${ORDER_GROUP:-order-projection-v1}',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json',
    'json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE order_current_state (
    order_id      STRING,
    tenant_id     STRING,
    customer_id   STRING,
    status        STRING,
    amount        DECIMAL(12, 2),
    currency      STRING,
    version       INT,
    events        BIGINT,
    placed_at     TIMESTAMP_LTZ(3),
    updated_at    TIMESTAMP_LTZ(3),
    PRIMARY KEY (order_id) NOT ENFORCED
) WITH (
    'connector' = 'duckdb',
    'path' = '${WEIR_OUT_DIR:-../../out}/orders.duckdb',
    'table-name' = 'order_current_state'
);

CREATE TEMPORARY VIEW order_folds AS
SELECT
    entity_id                                                            AS order_id,
    MAX(tenant_id)                                                       AS tenant_id,
    MAX(CASE WHEN event_type = 'OrderPlaced'
             THEN JSON_VALUE(data, '$.customer_id') END)                 AS customer_id,
    -- The type of the highest-version event.
    SUBSTRING(MAX(LPAD(CAST(version AS STRING), 9, '0') || event_type) FROM 10)
                                                                         AS last_type,
    MAX(CASE WHEN event_type = 'OrderPlaced'
             THEN CAST(JSON_VALUE(data, '$.amount') AS DECIMAL(12, 2)) END) AS amount,
    MAX(CASE WHEN event_type = 'OrderPlaced'
             THEN JSON_VALUE(data, '$.currency') END)                    AS currency,
    MAX(version)                                                         AS version,
    COUNT(*)                                                             AS events,
    MIN(CASE WHEN event_type = 'OrderPlaced' THEN `timestamp` END)       AS placed_at,
    MAX(`timestamp`)                                                     AS updated_at
FROM order_events
WHERE entity_type = 'Order'
GROUP BY entity_id;

INSERT INTO order_current_state
SELECT
    order_id,
    tenant_id,
    customer_id,
    CASE last_type
        WHEN 'OrderPlaced' THEN 'placed'
        WHEN 'OrderCancelled' THEN 'cancelled'
        ELSE LOWER(REPLACE(last_type, 'Order', ''))
    END AS status,
    amount,
    currency,
    version,
    events,
    placed_at,
    updated_at
FROM order_folds;
