//! replisim: deterministic discrete-event simulation of storage replication.
//!
//! The folders are the stages of one flow, each importing only the stages
//! before it (ARCHITECTURE.md, "Who may import whom"):
//! [`scenario`] (file → validated [`model::System`]) → [`model`] (one trial
//! of the storage system, run on the [`engine`]) → [`exact`] (the Markovian
//! cases solved exactly) → [`estimate`] (trials → numbers) → [`report`]
//! (tables, JSON, CSV, charts, `report.html`) → [`cli`] (the commands).
//! [`units`], [`dist`], [`stats`] and [`cache`] are leaves shared by all.

// Shared leaves.
pub mod cache;
pub mod dist;
pub mod stats;
pub mod units;

// The stages, in the order of the flow.
pub mod cli;
pub mod engine;
pub mod estimate;
pub mod exact;
pub mod model;
pub mod report;
pub mod scenario;
