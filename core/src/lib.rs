//! Pure domain logic for hedger.
//!
//! Nothing in this crate performs I/O, spawns threads or reads clocks: every entry point takes the
//! time (`now_ns`) and the state it works on as arguments, so the same code runs live, in replay and
//! in simulation, and is deterministic under test.
#![forbid(unsafe_code)]

pub mod book;
pub mod books;
pub mod capacity;
pub mod fixed;
pub mod ids;
pub mod instrument;
pub mod msg;
pub mod oracle;
pub mod order;
pub mod tob;

/// A small deterministic generator for the crate's property-style tests (no extra crates).
#[cfg(test)]
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
