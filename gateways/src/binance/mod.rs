//! Binance USDⓈ-M futures: wire parser and book sequencer (reference: venues.md §1, read
//! 2026-11-24 from the venue's docs snapshot of 2026-05).

pub mod fast;
pub mod sequencer;
pub mod session;
pub mod wire;

#[cfg(test)]
mod tests;

pub use sequencer::BinanceSequencer;
pub use wire::BinanceParser;
