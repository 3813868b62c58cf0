-- MATIH's state-transition CDC archival job (MATIH docs, "Pipelines & Data Engineering > Flink",
-- Job 1: infrastructure/flink/jobs/state-transition-cdc.sql), for Weir. The job text is
-- MATIH's; only where PostgreSQL is and who logs in are variables, with the defaults of the
-- project's test server (scripts/postgres.sh):
--   hostname PG_HOST (127.0.0.1), port PG_PORT (54329), and, as in MATIH's deployment,
--   username DATABASE_USER and password DATABASE_PASSWORD (no defaults: set them in the
--   environment or pass -D DATABASE_USER=... -D DATABASE_PASSWORD=...; the test server's are
--   weir / weir).
-- The source table: sample-jobs/matih/fsm_state_transitions.pg.sql creates it in database
-- ai_service. The sink, the Iceberg table polaris.matih_analytics.state_transition_log, is
-- declared by the catalog script sample-jobs/matih/catalog.sql (keyed by transition_id, so the
-- changelog is applied as upserts and deletes):
--     weir run -i sample-jobs/matih/catalog.sql sample-jobs/matih/state-transition-cdc.sql
-- The job reads a snapshot of the table, then its changes, until stopped; the replication
-- slot flink_fsm_cdc keeps its place between runs (docs/CONNECTORS.md, "postgres-cdc").

CREATE TEMPORARY TABLE fsm_transitions_cdc (
    id              STRING,
    entity_type     STRING NOT NULL,
    entity_id       STRING NOT NULL,
    tenant_id       STRING NOT NULL,
    from_state      STRING NOT NULL,
    to_state        STRING NOT NULL,
    triggered_by    STRING,
    trigger_reason  STRING,
    metadata        STRING,
    created_at      TIMESTAMP(3) NOT NULL,
    PRIMARY KEY (id) NOT ENFORCED
) WITH (
    'connector' = 'postgres-cdc',
    'hostname' = '${PG_HOST:-127.0.0.1}',
    'port' = '${PG_PORT:-54329}',
    'username' = '${DATABASE_USER}',
    'password' = '${DATABASE_PASSWORD}',
    'database-name' = 'ai_service',
    'schema-name' = 'public',
    'table-name' = 'fsm_state_transitions',
    'slot.name' = 'flink_fsm_cdc',
    'decoding.plugin.name' = 'pgoutput'
);

INSERT INTO polaris.matih_analytics.state_transition_log
SELECT
    id              AS transition_id,
    entity_type,
    entity_id,
    tenant_id,
    from_state,
    to_state,
    triggered_by,
    trigger_reason,
    metadata,
    created_at      AS event_timestamp
FROM fsm_transitions_cdc;
