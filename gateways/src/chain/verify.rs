//! Last-look check of a signed order's signature against the chain, exactly as the V2 contract's
//! `verifyOrder` checks it (`ethena.md` §3.3), without sending anything.
//!
//! Why it exists: the RFQ server must refuse an order the contract would revert on before it
//! quotes or hedges. The pure rules live in `hedger_core::order::signing`; the two that need the
//! chain are here:
//! * **EIP-712** (`signature_type` 0): recover the signer with OpenZeppelin 4.9 rules; accept
//!   the benefactor itself, or a signer whose `delegatedSigner(signer, benefactor)` on the
//!   minting contract is `ACCEPTED` (read only when the signer is not the benefactor).
//! * **EIP-1271** (`signature_type` 1): `eth_call` of
//!   `benefactor.isValidSignature(digest, signature_bytes)` with the minting contract as
//!   `msg.sender` (a view call, as the contract makes it); accepted only if the return data is
//!   the magic `0x1626ba7e` ([`check_eip1271_return`]).
//!
//! The digest is computed locally from the configured chain id and contract (the node's chain id
//! is checked at connect), so it equals the contract's `hashOrder`. Only the signature is judged
//! here; whitelists, expiry, amounts and nonces are the other `verifyOrder` / `verifyNonce` rules.
//!
//! Outcomes: `Ok` with who signed; [`ChainError::SignatureRejected`] when the contract would
//! revert (not retryable; [`SignatureRejection::contract_error`] names the revert); any other
//! [`ChainError`] (timeout, transport) says nothing about the signature and may be retried.
//! Every request is bounded by the RPC timeout; at most one `eth_call` per check.

use alloy_network::TransactionBuilder;
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_types_eth::{BlockId, TransactionRequest};
use alloy_sol_types::SolCall;
use hedger_core::order::signing::{check_eip1271_return, verify_eip712_signature, SignerRole};
use hedger_core::order::{
    domain_separator, order_digest, recover_signer, DelegatedSignerStatus, Order, Signature,
    SignatureError, SignatureType,
};

use super::abi::{IErc1271, IEthenaMintingViews};
use super::error::ChainError;
use super::rpc::ChainRpc;

/// Why a signature counts for the order's benefactor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerAuthority {
    /// EIP-712, signed by the benefactor's own key.
    Benefactor,
    /// EIP-712, signed by a delegate whose status for the benefactor is `ACCEPTED`.
    DelegatedSigner,
    /// EIP-1271: the benefactor contract returned the magic value.
    Eip1271Wallet,
}

/// A signature the contract would accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedOrderSignature {
    /// The EIP-712 digest (`hashOrder`) that was verified.
    pub digest: B256,
    /// The recovered key (EIP-712) or the benefactor wallet (EIP-1271).
    pub signer: Address,
    pub authority: SignerAuthority,
}

/// Why the contract would reject a signature; every case is a property of the order, the
/// signature and the chain state read, so retrying the same input against the same state fails
/// the same way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRejection {
    /// A malformed ECDSA signature (length, high s, v, unrecoverable): OpenZeppelin's
    /// `Error(string)` in the contract.
    #[error("{0}")]
    Ecdsa(SignatureError),
    /// EIP-712: the recovered signer is neither the benefactor nor an `ACCEPTED` delegate.
    #[error("signer {signer} is not the benefactor {benefactor} and its delegation is {status:?}")]
    NotAuthorised { signer: Address, benefactor: Address, status: DelegatedSignerStatus },
    /// EIP-1271: the wallet answered with a well-formed `bytes4` other than the magic value.
    #[error(
        "EIP-1271 wallet {wallet} returned {return_data} instead of the magic value 0x1626ba7e"
    )]
    Eip1271Rejected { wallet: Address, return_data: Bytes },
    /// EIP-1271: the answer is not an ABI `bytes4` (no code at the benefactor, short data or
    /// dirty padding); the contract's decoder reverts without data.
    #[error(
        "EIP-1271 benefactor {wallet} returned {return_data}, not an ABI bytes4 (no contract?)"
    )]
    Eip1271Malformed { wallet: Address, return_data: Bytes },
    /// EIP-1271: `isValidSignature` reverted; the contract bubbles the same revert up.
    #[error("EIP-1271 wallet {wallet} reverted: {reason:?}")]
    Eip1271Reverted { wallet: Address, reason: String },
}

impl SignatureRejection {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Ecdsa(error) => error.rule(),
            Self::NotAuthorised { .. } => "signature_wrong_signer",
            Self::Eip1271Rejected { .. } => "signature_eip1271_rejected",
            Self::Eip1271Malformed { .. } => "signature_eip1271_malformed",
            Self::Eip1271Reverted { .. } => "signature_eip1271_reverted",
        }
    }

    /// What the contract's revert decodes to for the same input, in the form
    /// [`ChainError::Reverted::error_name`] carries it: the custom error name
    /// (`InvalidEIP712Signature`, `InvalidEIP1271Signature`), OpenZeppelin's message for
    /// malformed ECDSA, the wallet's own revert for a reverting wallet, `""` when the contract
    /// reverts without data ([`SignatureRejection::Eip1271Malformed`], as the revert decoder
    /// names empty data). Always `Some` today; `Option` for parity with the core errors.
    pub fn contract_error(&self) -> Option<&str> {
        match self {
            Self::Ecdsa(SignatureError::InvalidLength { .. }) => {
                Some("ECDSA: invalid signature length")
            }
            Self::Ecdsa(SignatureError::HighS { .. }) => Some("ECDSA: invalid signature 's' value"),
            Self::Ecdsa(SignatureError::InvalidV { .. } | SignatureError::Unrecoverable) => {
                Some("ECDSA: invalid signature")
            }
            Self::Ecdsa(other) => other.contract_error(),
            Self::NotAuthorised { .. } => Some("InvalidEIP712Signature"),
            Self::Eip1271Rejected { .. } => Some("InvalidEIP1271Signature"),
            Self::Eip1271Malformed { .. } => Some(""),
            Self::Eip1271Reverted { reason, .. } => Some(reason),
        }
    }
}

impl From<SignatureRejection> for ChainError {
    fn from(rejection: SignatureRejection) -> Self {
        ChainError::SignatureRejected(rejection)
    }
}

/// Verifies `signature` for `order` as the minting contract at `minting_contract` on
/// `chain_id` would, reading chain state at `block`.
///
/// # Errors
/// [`ChainError::SignatureRejected`] when the contract would revert; [`ChainError::Order`] when
/// a field does not fit its calldata width; transport errors (retryable) otherwise.
pub async fn verify_order_signature(
    rpc: &ChainRpc,
    chain_id: u64,
    minting_contract: Address,
    order: &Order,
    signature: &Signature,
    block: BlockId,
) -> Result<VerifiedOrderSignature, ChainError> {
    order.check_widths()?;
    let digest = order_digest(domain_separator(chain_id, minting_contract), order);
    let benefactor = order.benefactor;
    let bytes = &signature.signature_bytes;
    match signature.signature_type {
        SignatureType::Eip712 => {
            let signer = recover_signer(&digest, bytes).map_err(SignatureRejection::Ecdsa)?;
            let status = if signer == benefactor {
                DelegatedSignerStatus::Rejected // not consulted for the benefactor itself
            } else {
                delegation_status(rpc, minting_contract, signer, benefactor, block).await?
            };
            let verified = verify_eip712_signature(&digest, bytes, benefactor, |_| status)
                .map_err(|error| match error {
                    SignatureError::WrongSigner { signer } => {
                        SignatureRejection::NotAuthorised { signer, benefactor, status }
                    }
                    other => SignatureRejection::Ecdsa(other),
                })?;
            let authority = match verified.role {
                SignerRole::Benefactor => SignerAuthority::Benefactor,
                SignerRole::DelegatedSigner => SignerAuthority::DelegatedSigner,
            };
            Ok(VerifiedOrderSignature { digest, signer: verified.signer, authority })
        }
        SignatureType::Eip1271 => {
            let call = IErc1271::isValidSignatureCall {
                hash: digest,
                signature: Bytes::copy_from_slice(bytes),
            };
            let request = TransactionRequest::default()
                .with_from(minting_contract)
                .with_to(benefactor)
                .with_input(Bytes::from(call.abi_encode()));
            let return_data = match rpc.call_request(request, block).await {
                Ok(data) => data,
                Err(ChainError::Reverted { error_name, .. }) => {
                    let reason = error_name;
                    return Err(
                        SignatureRejection::Eip1271Reverted { wallet: benefactor, reason }.into()
                    );
                }
                Err(other) => return Err(other),
            };
            check_eip1271_return(&return_data)
                .map_err(|_| eip1271_rejection(benefactor, return_data))?;
            Ok(VerifiedOrderSignature {
                digest,
                signer: benefactor,
                authority: SignerAuthority::Eip1271Wallet,
            })
        }
    }
}

/// `delegatedSigner(signer, benefactor)` on the minting contract.
async fn delegation_status(
    rpc: &ChainRpc,
    minting_contract: Address,
    signer: Address,
    benefactor: Address,
    block: BlockId,
) -> Result<DelegatedSignerStatus, ChainError> {
    let call = IEthenaMintingViews::delegatedSignerCall { signer, delegator: benefactor };
    let value = rpc.call(minting_contract, &call, block).await?;
    DelegatedSignerStatus::from_u8(value).ok_or_else(|| ChainError::BadResponse {
        method: "eth_call",
        detail: format!("delegatedSigner returned {value}, not a DelegatedSignerStatus"),
    })
}

/// Splits a non-magic answer the way the contract's decoder does: a clean ABI `bytes4` is a
/// rejection (`InvalidEIP1271Signature`), anything else fails decoding (revert without data).
pub(crate) fn eip1271_rejection(wallet: Address, return_data: Bytes) -> SignatureRejection {
    let well_formed =
        return_data.get(0..32).is_some_and(|word| word[4..].iter().all(|byte| *byte == 0));
    if well_formed {
        SignatureRejection::Eip1271Rejected { wallet, return_data }
    } else {
        SignatureRejection::Eip1271Malformed { wallet, return_data }
    }
}
