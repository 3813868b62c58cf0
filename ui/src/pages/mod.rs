//! The studio's pages: each one lays out components and owns the state they share.
//! One for now: the job editor with its results.

pub mod studio;
