//! Errors of the chain gateway, one enum for the whole boundary (node, contract, keys, config).

use alloy_primitives::B256;

/// Why a chain operation failed. `is_retryable()` says whether the same call may succeed later;
/// `is_terminal()` says the gateway cannot go on without an operator.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC endpoint did not answer within the configured time.
    #[error("rpc {method} timed out after {timeout_ms} ms")]
    Timeout { method: &'static str, timeout_ms: u64 },
    /// Transport or JSON-RPC error other than a revert.
    #[error("rpc {method} failed: {detail}")]
    Rpc { method: &'static str, detail: String },
    /// The node answered with something we cannot use (missing block, bad ABI data).
    #[error("unexpected response to {method}: {detail}")]
    BadResponse { method: &'static str, detail: String },
    /// A call or transaction reverted; `error_name` is the decoded custom error
    /// (`InvalidNonce`, …), the `Error(string)` text, `Panic(..)` or the raw selector.
    #[error("{method} reverted: {error_name}")]
    Reverted { method: &'static str, error_name: String, tx_hash: Option<B256> },
    /// A sent transaction disappeared from the chain (reorged out and not re-included).
    #[error("transaction {tx_hash} was dropped from the chain")]
    Dropped { tx_hash: B256 },
    /// The receipt did not reach the requested confirmations in time.
    #[error("transaction {tx_hash} not confirmed after {waited_ms} ms")]
    ConfirmationTimeout { tx_hash: B256, waited_ms: u64 },
    /// The fee the network asks for is above our configured cap.
    #[error("max fee {needed_wei} wei/gas exceeds the cap {cap_wei}")]
    FeeCapExceeded { needed_wei: u128, cap_wei: u128 },
    /// More transactions in flight than `submissions_in_flight_max`.
    #[error("{in_flight_count} transactions already in flight (max {in_flight_max})")]
    TooManyInFlight { in_flight_count: usize, in_flight_max: usize },
    /// A reorg deeper than the tracked window: our view of the chain cannot be repaired.
    #[error("reorg deeper than {depth_max} blocks below {block_number}")]
    DeepReorg { block_number: u64, depth_max: usize },
    /// The node's chain id differs from the configured one.
    #[error("node chain id {found} differs from configured {expected}")]
    WrongChain { expected: u64, found: u64 },
    /// A key is missing or malformed (the value is never included).
    #[error("key {env_var}: {reason}")]
    Key { env_var: String, reason: &'static str },
    /// The contract would reject the order's signature (checked off-chain by
    /// [`super::verify::verify_order_signature`]; nothing was sent).
    #[error("signature rejected: {0}")]
    SignatureRejected(super::verify::SignatureRejection),
    /// The order cannot be encoded (field out of its calldata width).
    #[error("order cannot be encoded: {0}")]
    Order(#[from] hedger_core::order::OrderFieldError),
    /// Invalid configuration (every problem listed).
    #[error("invalid chain config:\n  - {}", .problems.join("\n  - "))]
    Config { problems: Vec<String> },
    /// The tokio runtime could not be built.
    #[error("cannot start the chain runtime: {0}")]
    Runtime(std::io::Error),
}

impl ChainError {
    /// The same request may succeed if repeated later (node hiccup, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChainError::Timeout { .. } | ChainError::Rpc { .. } | ChainError::BadResponse { .. }
        )
    }

    /// The gateway cannot continue safely; an operator must act.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ChainError::DeepReorg { .. }
                | ChainError::WrongChain { .. }
                | ChainError::Key { .. }
                | ChainError::Config { .. }
                | ChainError::Runtime(_)
        )
    }

    /// What the contract reverts with (or would, for a rejected signature): the decoded revert
    /// name of [`ChainError::Reverted`], or [`super::verify::SignatureRejection::contract_error`].
    pub fn contract_error(&self) -> Option<&str> {
        match self {
            ChainError::Reverted { error_name, .. } => Some(error_name),
            ChainError::SignatureRejected(rejection) => rejection.contract_error(),
            _ => None,
        }
    }

    /// The decoded revert name, if this is a revert.
    pub fn revert_name(&self) -> Option<&str> {
        match self {
            ChainError::Reverted { error_name, .. } => Some(error_name),
            _ => None,
        }
    }
}
