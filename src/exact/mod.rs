//! Exact answers for the Markovian cases: [`markov`] solves small
//! continuous-time Markov chains by uniformization; [`analyze`] builds the
//! chain of one extent from a scenario (`replisim analyze`), refusing what the
//! chain does not represent. The tests use both as oracles.

pub mod analyze;
pub mod markov;
