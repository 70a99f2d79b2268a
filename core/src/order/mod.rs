//! Ethena minting orders: the V2 order model, EIP-712 hashing, signing and verification.
//!
//! Why it exists: our RFQ server last-look validates orders that users sign for the EthenaMinting
//! V2 contract, and the cold thread submits them with the minter key. Any byte of difference from
//! the contract's own hashing or checks turns into an on-chain revert, so this module mirrors the
//! deployed contract rule by rule (`shared/reference/ethena.md` §3, §7) and is tested against the
//! shared vectors byte for byte.
//!
//! What it promises: pure functions, no I/O, no clocks, no panics on any input; typed errors that
//! name the contract's custom error where there is one. Hashing and verification do not allocate
//! (the order's `order_id` string is the only heap data); parsing and `Route::split` do.
//!
//! * [`model`] — `Order`, `OrderType`, `Signature`, `SignatureType`, `DelegatedSignerStatus`.
//! * [`eip712`] — domain separator, the deployed type string, struct hash, digest.
//! * [`signing`] — low-s / v 27|28 / 65-byte signing, OpenZeppelin-equivalent recovery,
//!   benefactor-or-accepted-delegate authorisation, EIP-1271 magic value.
//! * [`nonce`] — the per-benefactor bitmap (low 64 bits, nonce 0 invalid).
//! * [`route`] — `verifyRoute` and the integer split with the remainder on the last leg.
//! * [`stables`] — `verifyStablesLimit`.
//! * [`json`] — the RFQ API order body, lossless for integers of any size.
//! * [`abi`] — calldata structs (struct widths) for the chain gateway.

pub mod abi;
pub mod eip712;
pub mod error;
pub mod json;
pub mod model;
pub mod nonce;
pub mod route;
pub mod signing;
pub mod stables;

pub use eip712::{domain_separator, order_digest, order_struct_hash};
pub use error::{
    NonceError, OrderFieldError, OrderJsonError, RouteError, SignatureError, StablesError,
};
pub use json::parse_order_json;
pub use model::{DelegatedSignerStatus, Order, OrderType, Signature, SignatureType};
pub use route::Route;
pub use signing::{recover_signer, verify_eip712_signature, EcdsaSignature, OrderSigner};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_json;
