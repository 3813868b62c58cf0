//! Integration tests of weir-engine: the `.slt` streaming-SQL files, end-to-end runs of
//! scripts over files, and the conformance cases against Flink's golden outputs.

mod conformance;
mod duckdb_tables;
mod kafka;
mod runs;
mod slt;
