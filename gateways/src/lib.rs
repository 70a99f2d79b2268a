//! Gateways turn external bytes into core messages and core commands back into bytes.
//!
//! Each external system gets a module with `wire` (parse/encode), `sequencer` (sync rules) and
//! `session` (connect, auth, retry). The first gateway is the synthetic feed used by the foundation
//! pipeline; venue, oracle and chain gateways follow in their own issues.

pub mod binance;
pub mod bybit;
pub mod chain;
pub mod deribit;
pub mod okx;
pub mod oracle;
pub mod synthetic;
pub mod venue;
pub mod ws;
