//! The `hedger` application: configuration, thread wiring and the pipeline agents. The binary
//! (`src/main.rs`) is a thin CLI over this library so integration tests can drive the same code.

pub mod chain;
pub mod config;
pub mod oracles;
pub mod pipeline;
pub mod venues;
