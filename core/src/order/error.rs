//! Typed errors of the order module, one enum per boundary.
//!
//! Every error is a property of its input (re-trying the same input fails the same way), so none
//! is retryable. Each has a stable `rule()` name for machine-readable output (the CLI prints it)
//! and, where the contract has one, `contract_error()` names the custom error the EthenaMinting V2
//! contract would revert with for the same input, so an off-chain rejection and an on-chain revert
//! can be compared by name.

use alloy_primitives::U256;

/// A field value the contract's struct cannot carry or a wallet cannot sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderFieldError {
    #[error("{field} does not fit uint{bits}")]
    OutOfRange { field: &'static str, bits: u16 },
}

impl OrderFieldError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::OutOfRange { .. } => "field_out_of_range",
        }
    }
}

/// Why an RFQ-API order body was refused. `offset_bytes` is where in the input the parser stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderJsonError {
    #[error("order body is {len_bytes} bytes, more than the {max_bytes} allowed")]
    TooLarge { len_bytes: usize, max_bytes: usize },
    #[error("malformed JSON at byte {offset_bytes}: {reason}")]
    Syntax { offset_bytes: usize, reason: &'static str },
    #[error("unknown field {name:?}")]
    UnknownField { name: String },
    #[error("field {field} appears more than once")]
    DuplicateField { field: &'static str },
    #[error("field {field} is missing")]
    MissingField { field: &'static str },
    #[error("field {field} has the wrong JSON type: {reason}")]
    WrongType { field: &'static str, reason: &'static str },
    #[error("field {field} is not a valid value: {reason}")]
    InvalidValue { field: &'static str, reason: &'static str },
    #[error("field {field} does not fit uint{bits}")]
    OutOfRange { field: &'static str, bits: u16 },
    #[error("field {field} is not a valid address: {reason}")]
    InvalidAddress { field: &'static str, reason: &'static str },
}

impl OrderJsonError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "json_too_large",
            Self::Syntax { .. } => "json_syntax",
            Self::UnknownField { .. } => "json_unknown_field",
            Self::DuplicateField { .. } => "json_duplicate_field",
            Self::MissingField { .. } => "json_missing_field",
            Self::WrongType { .. } => "json_wrong_type",
            Self::InvalidValue { .. } => "json_invalid_value",
            Self::OutOfRange { .. } => "field_out_of_range",
            Self::InvalidAddress { .. } => "json_invalid_address",
        }
    }
}

/// Why a signature would not be accepted, or could not be produced.
///
/// The first four mirror OpenZeppelin 4.9 `ECDSA.recover` (used by the contract): those revert
/// with an `Error(string)` ("ECDSA: invalid signature …"), not a custom error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is {len_bytes} bytes, expected 65 (r||s||v)")]
    InvalidLength { len_bytes: usize },
    #[error("signature s is in the upper half of the curve order (malleable high-s)")]
    HighS { s: U256 },
    #[error("signature v is {v}, expected 27 or 28")]
    InvalidV { v: u8 },
    #[error("signature does not recover to any public key")]
    Unrecoverable,
    #[error(
        "recovered signer {signer} is neither the benefactor nor an accepted delegated signer"
    )]
    WrongSigner { signer: alloy_primitives::Address },
    #[error("EIP-1271 isValidSignature did not return the magic value 0x1626ba7e")]
    Eip1271Rejected,
    #[error("signature type {signature_type} is unknown (expected 0 = EIP712, 1 = EIP1271)")]
    UnknownSignatureType { signature_type: u8 },
    #[error("private key is not a valid secp256k1 scalar: {reason}")]
    InvalidKey { reason: &'static str },
    #[error("signing failed")]
    SigningFailed,
}

impl SignatureError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::InvalidLength { .. } => "signature_length",
            Self::HighS { .. } => "signature_high_s",
            Self::InvalidV { .. } => "signature_v",
            Self::Unrecoverable => "signature_unrecoverable",
            Self::WrongSigner { .. } => "signature_wrong_signer",
            Self::Eip1271Rejected => "signature_eip1271_rejected",
            Self::UnknownSignatureType { .. } => "signature_unknown_type",
            Self::InvalidKey { .. } => "signing_key_invalid",
            Self::SigningFailed => "signing_failed",
        }
    }

    /// The V2 custom error for the same input, if the contract reverts with one. The malformed
    /// ECDSA cases revert with OpenZeppelin's `Error(string)` instead, hence `None`.
    pub fn contract_error(&self) -> Option<&'static str> {
        match self {
            Self::WrongSigner { .. } => Some("InvalidEIP712Signature"),
            Self::Eip1271Rejected => Some("InvalidEIP1271Signature"),
            Self::UnknownSignatureType { .. } => Some("UnknownSignatureType"),
            _ => None,
        }
    }
}

/// Why a nonce cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("nonce 0 is never valid")]
    Zero,
    #[error("nonce {nonce} is already used (slot {slot}, bit {bit_index})")]
    AlreadyUsed { nonce: u128, slot: u64, bit_index: u8 },
}

impl NonceError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Zero => "nonce_zero",
            Self::AlreadyUsed { .. } => "nonce_used",
        }
    }

    /// Both cases revert `InvalidNonce()`.
    pub fn contract_error(&self) -> Option<&'static str> {
        Some("InvalidNonce")
    }
}

/// Why a custody route is refused (`verifyRoute` returns false → `InvalidRoute()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route has no legs")]
    Empty,
    #[error("route has {addresses_count} addresses but {ratios_count} ratios")]
    LengthMismatch { addresses_count: usize, ratios_count: usize },
    #[error("route has {legs_count} legs, more than our limit of {legs_max}")]
    TooManyLegs { legs_count: usize, legs_max: usize },
    #[error("route leg {leg_index} is the zero address")]
    ZeroAddress { leg_index: usize },
    #[error("route leg {leg_index} is not a whitelisted custodian")]
    NotCustodian { leg_index: usize },
    #[error("route leg {leg_index} has ratio 0")]
    ZeroRatio { leg_index: usize },
    #[error("route ratios sum to {sum_bps} bps, expected exactly 10000")]
    RatioSum { sum_bps: u128 },
    #[error("route leg {leg_index}: amount * ratio overflows uint128")]
    SplitOverflow { leg_index: usize },
    #[error("output buffer has {len} slots, route has {legs_count} legs")]
    OutputLength { len: usize, legs_count: usize },
}

impl RouteError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Empty => "route_empty",
            Self::LengthMismatch { .. } => "route_length_mismatch",
            Self::TooManyLegs { .. } => "route_too_many_legs",
            Self::ZeroAddress { .. } => "route_zero_address",
            Self::NotCustodian { .. } => "route_not_custodian",
            Self::ZeroRatio { .. } => "route_zero_ratio",
            Self::RatioSum { .. } => "route_ratio_sum",
            Self::SplitOverflow { .. } => "route_split_overflow",
            Self::OutputLength { .. } => "route_output_length",
        }
    }

    /// The V2 revert for the same route. `TooManyLegs` and `OutputLength` are our own limits.
    pub fn contract_error(&self) -> Option<&'static str> {
        match self {
            Self::TooManyLegs { .. } | Self::OutputLength { .. } => None,
            Self::SplitOverflow { .. } => Some("Panic(0x11)"),
            _ => Some("InvalidRoute"),
        }
    }
}

/// Why a STABLE-collateral order fails `verifyStablesLimit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StablesError {
    #[error("usde_amount is 0 (the contract would divide by zero)")]
    ZeroUsdeAmount,
    #[error("decimal normalisation overflows uint128")]
    Overflow,
    #[error("price is {difference_bps} bps better than 1:1 for the user, limit {limit_bps} bps")]
    LimitExceeded { difference_bps: u128, limit_bps: u128 },
}

impl StablesError {
    /// Stable machine-readable name.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ZeroUsdeAmount => "stables_zero_usde",
            Self::Overflow => "stables_overflow",
            Self::LimitExceeded { .. } => "stables_limit",
        }
    }

    /// The V2 revert for the same amounts.
    pub fn contract_error(&self) -> Option<&'static str> {
        match self {
            Self::ZeroUsdeAmount => Some("Panic(0x12)"),
            Self::Overflow => Some("Panic(0x11)"),
            Self::LimitExceeded { .. } => Some("InvalidStablePrice"),
        }
    }
}
