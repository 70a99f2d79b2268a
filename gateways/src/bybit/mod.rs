//! Bybit v5 linear perpetuals (`wss://stream.bybit.com/v5/public/linear`): wire parser and book
//! sequencer (reference: venues.md §2, read 2026-11-24 from the `bybit-exchange/docs` snapshot of
//! 2026-07-24; reliability.md §1.1).
//!
//! Resync is a resubscribe of the `orderbook.{depth}.{symbol}` topic (a fresh `snapshot` follows),
//! so [`BybitSequencer`] never asks for a REST snapshot.

pub mod fast;
pub mod sequencer;
pub mod session;
pub mod wire;

#[cfg(test)]
mod tests;

pub use sequencer::BybitSequencer;
pub use wire::BybitParser;
