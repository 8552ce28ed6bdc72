//! trustmesh-simulations: many nodes of the sans-IO core at once, under a
//! virtual clock and network.
//!
//! Not built yet: the simulator arrives with the replication core it drives
//! (see the "Simulations" issue). Until then this crate only reserves its
//! place in the workspace; it exports nothing.
