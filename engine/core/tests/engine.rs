//! Integration tests of weir-engine: the `.slt` streaming-SQL files, end-to-end runs of
//! scripts over files, the conformance cases against Flink's golden outputs, and the
//! connectors against real systems (a Kafka broker, the project's PostgreSQL).

mod conformance;
mod duckdb_tables;
mod kafka;
mod postgres_cdc;
mod runs;
mod slt;
