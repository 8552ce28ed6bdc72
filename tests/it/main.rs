//! End-to-end tests: real `trustmesh` processes, real data directories.

mod cli_flow;
mod kill;
mod mesh;
mod support;
