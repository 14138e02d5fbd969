//! replisim: deterministic discrete-event simulation of storage replication.
pub mod dist;
pub mod engine;
pub mod markov;
pub mod model;
pub mod scenario;
pub mod stats;
pub mod units;
