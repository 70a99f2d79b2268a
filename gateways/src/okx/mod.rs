//! OKX v5 SWAP (`wss://ws.okx.com:8443/ws/v5/public`): wire parser, book sequencer and the
//! (deprecated) book checksum (reference: venues.md §3, read 2026-11-24 from the
//! `wcttmf/okx-api-docs` snapshot of 2025-08-17 and the OKX checksum-deprecation notice of
//! 2026-05-21; reliability.md §1.1).
//!
//! Resync is a resubscribe of the `books` channel (a fresh snapshot follows), so
//! [`OkxSequencer`] never asks for a REST snapshot. Checksums are verified only when non-zero
//! (production sends 0 since 2026-06-23; the simulator may send real ones): feed book frames
//! through [`apply_okx_frame`], which runs the keeper and then the checksum.

pub mod checksum;
pub mod fast;
pub mod sequencer;
pub mod session;
pub mod wire;

#[cfg(test)]
mod tests;

pub use checksum::{apply_okx_frame, okx_checksum, OkxBookText};
pub use sequencer::OkxSequencer;
pub use wire::OkxParser;
