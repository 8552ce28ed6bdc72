//! trustmesh-node: the `trustmesh` binary's library.
//!
//! The data directory (team key, profile, RocksDB store) and the command
//! line over the sans-IO core in `trustmesh-protocol` and the file flow in
//! `trustmesh-bootstrap`. The binary is `cli::main()` and nothing else, so
//! tests can build the same program.

pub mod alerts;
pub mod api;
pub mod cli;
mod client;
pub mod config;
mod datadir;
mod demo;
pub mod engine;
pub mod export;
mod gate;
pub mod metrics;
pub mod net;
pub mod peers;
mod run;
mod store;
pub mod views;
pub mod web;

pub use datadir::{DataDir, DataDirError};
pub use store::{RocksStore, StoreError};
