-- PostgreSQL side of the state-transition CDC demo (state-transition-cdc.sql): the AI
-- service's FSM transition table, shaped after the columns MATIH's CDC job reads. Run it in
-- database ai_service, e.g. on the project's server (scripts/postgres.sh start):
--     export PGHOST=127.0.0.1 PGPORT=54329 PGUSER=weir PGPASSWORD=weir
--     psql -d postgres -c 'CREATE DATABASE ai_service'
--     psql -d ai_service -f sample-jobs/matih/fsm_state_transitions.pg.sql
-- Then transitions are plain INSERTs, for example:
--     INSERT INTO fsm_state_transitions (entity_type, entity_id, tenant_id, from_state, to_state, triggered_by)
--     VALUES ('session_phase', 'session-42', 'tenant-a', 'idle', 'active', 'user-7');

CREATE TABLE IF NOT EXISTS fsm_state_transitions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entity_type     varchar(64)  NOT NULL,
    entity_id       varchar(255) NOT NULL,
    tenant_id       varchar(255) NOT NULL,
    from_state      varchar(64)  NOT NULL,
    to_state        varchar(64)  NOT NULL,
    triggered_by    varchar(255),
    trigger_reason  text,
    metadata        jsonb,
    created_at      timestamptz  NOT NULL DEFAULT now()
);

-- Updates and deletes then carry the whole old row (Flink CDC's prerequisite; Weir needs only
-- the primary key, but -U rows are complete with FULL).
ALTER TABLE fsm_state_transitions REPLICA IDENTITY FULL;

CREATE INDEX IF NOT EXISTS fsm_state_transitions_entity
    ON fsm_state_transitions (tenant_id, entity_type, entity_id, created_at);
