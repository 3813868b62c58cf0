//! Integration tests of weir-engine: the `.slt` streaming-SQL files and end-to-end runs of
//! scripts over files.

mod runs;
mod slt;
