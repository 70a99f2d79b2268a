//! Deribit (JSON-RPC 2.0 over `wss://www.deribit.com/ws/api/v2`): wire parser and book sequencer
//! (reference: venues.md §4, read 2026-11-24 from the `knowak1999sen/docs` copy of the Deribit
//! API v2.1.1 specification, 2025-11-12; reliability.md §1.1).
//!
//! Resync is an unsubscribe + resubscribe of `book.{instrument}.{interval}` (a new snapshot
//! follows), so [`DeribitSequencer`] never asks for a REST snapshot. Prices and amounts are JSON
//! numbers; see [`wire`] for how they are read exactly.

pub mod fast;
pub mod sequencer;
pub mod session;
pub mod wire;

#[cfg(test)]
mod tests;

pub use sequencer::DeribitSequencer;
pub use wire::DeribitParser;
