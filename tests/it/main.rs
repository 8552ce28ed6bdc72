//! End-to-end tests: real `trustmesh` processes, real data directories.

mod byzantine;
mod cli_flow;
mod confidentiality;
mod csaf_provider;
mod datadir;
mod deb;
mod disk;
mod exports;
mod foreign;
mod fuzz_corpus;
mod identity;
mod kill;
mod large;
mod liveness;
mod load;
mod mesh;
mod misp;
mod netns;
mod ops;
mod real_stack;
mod relay;
mod support;
mod taxii;
mod web;
