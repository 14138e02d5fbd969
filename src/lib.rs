//! replisim: deterministic discrete-event simulation of storage replication.
pub mod engine;
pub mod markov;
pub mod stats;
pub mod units;
