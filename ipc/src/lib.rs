//! Inter-thread plumbing for hedger: SPSC rings, shared-memory telemetry and the pinned-thread
//! runtime.
//!
//! This crate holds the project's `unsafe` (TSC reads, the mmapped telemetry file, CPU pinning);
//! every block says why it is sound. Everything a pinned thread calls in steady state is
//! allocation-free and lock-free: counters are single-writer stores with `Release` ordering,
//! never locked read-modify-write instructions.

pub mod clock;
pub mod hist;
pub mod journal;
pub mod ring;
pub mod runtime;
pub mod telemetry;

pub use ring::{ring, ring_sampled, HopStamped, RingConsumer, RingProducer, HOP_SAMPLE_EVERY};
