//! trustmesh-node: the `trustmesh` binary's library.
//!
//! The node in layers, each depending only on those below it:
//!
//! ```text
//! cli/      the command line: one module per command group, the demo,
//!           `trustmesh run` (which composes the layers below), the client
//! http/     one router: the JSON API, the web page, metrics, auth
//! engine/   the event loop driving the sans-IO core over the network
//! net/      the libp2p behaviour: admission gate, codec, swarm
//! alerts    rules and the at-least-once dispatcher
//! export/   pure conversions to and from CSAF, STIX, contacts JSON
//! api       the local API's request and response types
//! config, datadir, store   settings, the data directory, RocksDB
//! ```
//!
//! The binary is `cli::main()` and nothing else, so tests can build the
//! same program.

pub mod alerts;
pub mod api;
pub mod cli;
pub mod config;
mod datadir;
pub mod engine;
pub mod export;
pub mod http;
pub mod net;
mod store;

pub use datadir::{DataDir, DataDirError, NodeInfo};
pub use store::{RocksStore, StoreError};
