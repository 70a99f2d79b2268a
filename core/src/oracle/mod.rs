//! Oracle price verification (Pyth accumulator updates, RedStone payloads, Chainlink rounds).
//!
//! Why it exists: the hedger prices mints and redemptions against oracle prices and uses them to
//! sanity-check venue prices, so an oracle value is only used after this module has verified who
//! signed it and how fresh it is. Sources and rules: `shared/reference/oracles.md`.
//!
//! What it promises:
//! * Pure functions: no I/O, no clocks (`now_s` / `now_ms` are arguments), no global state.
//! * Untrusted bytes and JSON never panic: every length is checked ([`bytes::Truncated`]).
//! * Fail closed: a malformed field, a bad signature, a missing quorum, a failed Merkle proof or
//!   a stale timestamp is an error naming the rule (`rule()` on each error enum), never a
//!   partially trusted result.
//! * Allocation: parsing allocates small vectors per update/package; this runs on an oracle
//!   gateway thread, off the hot path (verification costs ~13 key recoveries per Pyth update).
//!
//! Modules: [`wormhole`] (VAAs, guardian sets 1..7), [`pyth`] (PNAU), [`hermes`] (Hermes JSON and
//! SSE), [`redstone`] (payloads, aggregation), [`redstone_json`] (gateway JSON), [`chainlink`].

pub mod bytes;
pub mod chainlink;
pub mod encode;
pub mod hermes;
pub mod pyth;
pub mod redstone;
pub mod redstone_json;
pub mod reference;
pub mod secp;
pub mod u256;
pub mod venue_mid;
pub mod wormhole;

pub use secp::EthAddress;
pub use u256::U256;
