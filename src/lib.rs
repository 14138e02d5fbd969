//! replisim: deterministic discrete-event simulation of storage replication.
//!
//! The flow runs one way: [`scenario`] (file → validated [`model::System`]) →
//! [`model::world`] (one trial, on the [`engine`]) → [`estimate`] (trials →
//! numbers, via [`stats`]) → [`report`] (table, JSON, CSV). [`markov`] solves
//! the Markovian cases exactly, as an oracle.
pub mod analyze;
pub mod cache;
pub mod compare;
pub mod dist;
pub mod engine;
pub mod estimate;
pub mod expect;
pub mod figures;
pub mod html;
pub mod markov;
pub mod model;
pub mod plot;
pub mod rare;
pub mod report;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod sweep;
pub mod trace;
pub mod units;
