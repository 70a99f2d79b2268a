//! Chain gateway: EthenaMinting V2 on an Ethereum node over JSON-RPC (alloy), on the cold thread.
//!
//! Why it exists: the hot thread prices mints and redeems against the contract's per-block
//! capacity and hedges after each Mint/Redeem; the cold thread submits signed orders with the
//! minter key. This module is the only place that talks to the node (`ethena.md` §3, §7).
//!
//! ```text
//! node --JSON-RPC--> [cold thread: ChainGateway agent] --chain->hot ring--> hot
//!                    tracker (reorgs, confirmations)     ChainEvent | OraclePrice | GatewayStatus
//!                    capacity, events, submissions,
//!                    Chainlink reads                 --> ChainRecord queue (journal, reconciliation)
//! ```
//!
//! * [`rpc`] — the session: bounded requests, reverts decoded to custom error names.
//! * [`abi`] — getters, events, Chainlink reads, the revert decoder (embedded V2 ABI).
//! * [`events`] — log decoding (wire).
//! * [`tracker`] — canonical chain, confirmations and reorgs (sequencer, pure).
//! * [`capacity`] — remaining per-block capacity and the gatekeeper-disable check.
//! * [`submit`] — `mint`/`mintWETH`/`redeem`: preflight, gas, nonce, send, receipts.
//! * [`verify`] — last-look signature check: EIP-712 with on-chain delegated signers, EIP-1271
//!   through `eth_call` of `isValidSignature`.
//! * [`chainlink`] — `latestRoundData()`/`decimals()` via `eth_call`, validated and scaled.
//! * [`gateway`] — [`ChainCore`], the async library (poll steps, records, messages).
//! * [`agent`] — [`ChainGateway`], the synchronous cold-thread [`Agent`] around it.
//! * [`keys`] — transaction keys from the environment, redacted in `Debug`.
//!
//! Promises: no panic on any node response; every request bounded in time; every queue bounded;
//! keys never reach `Debug` or logs. Not for the hot thread (it allocates and does I/O).
//!
//! [`Agent`]: hedger_ipc::runtime::Agent

pub mod abi;
pub mod agent;
pub mod capacity;
pub mod chainlink;
pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod keys;
pub mod rpc;
pub mod submit;
pub mod tracker;
pub mod verify;

#[cfg(test)]
mod tests;

pub use agent::ChainGateway;
pub use config::{ChainAssetConfig, ChainConfig};
pub use error::ChainError;
pub use gateway::{ChainCore, ChainKeys, ChainOutput, ChainRecord, ChainStats};
pub use keys::TxKey;
pub use rpc::{BlockRef, ChainRpc};
pub use verify::{SignatureRejection, SignerAuthority, VerifiedOrderSignature};

/// Re-exports so callers (tests, tools) use the same alloy versions as the gateway.
pub mod reexport {
    pub use alloy_network;
    pub use alloy_primitives;
    pub use alloy_provider;
    pub use alloy_rpc_types_eth;
    pub use alloy_sol_types;
}
