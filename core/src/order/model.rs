//! The EthenaMinting V2 order, route and signature as plain Rust values.
//!
//! Field widths follow the *Solidity struct* (what calldata carries): `expiry` is `uint120`,
//! `nonce` is `uint128`, the two amounts are `uint128`. The signed EIP-712 type string swaps the
//! expiry/nonce widths (see [`super::eip712`]); hashing only depends on 32-byte words, so the same
//! value hashes the same either way. `Order::check_widths` enforces the struct widths, which is
//! what the contract can receive at all.
//!
//! Source: `shared/reference/ethena.md` §3.2–§3.4 (read 2025).

use alloy_primitives::Address;

use super::error::OrderFieldError;

/// `2^120 - 1`: the largest `uint120` (struct width of `expiry`, signed width of `nonce`).
pub const UINT120_MAX: u128 = (1u128 << 120) - 1;

/// `enum OrderType { MINT, REDEEM }` of the contract; encodes as `uint8` 0/1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Collateral in, USDe out.
    Mint = 0,
    /// USDe in (burned), collateral out of the contract's own balance.
    Redeem = 1,
}

impl OrderType {
    /// The `uint8` the contract sees.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Inverse of [`OrderType::as_u8`]; `None` for anything but 0 or 1.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Mint),
            1 => Some(Self::Redeem),
            _ => None,
        }
    }

    /// The RFQ API spelling (`"MINT"` / `"REDEEM"`).
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::Mint => "MINT",
            Self::Redeem => "REDEEM",
        }
    }
}

/// A V2 order exactly as the benefactor signs it and the minter submits it.
///
/// Amounts are token base units (`usde_amount` in 1e-18 USDe, `collateral_amount` in the
/// collateral's own decimals). `expiry_unix_s` is the RFQ API's `expiry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// RFQ id echoed back; hashed as raw UTF-8 bytes (no normalisation, empty allowed).
    pub order_id: String,
    pub order_type: OrderType,
    /// Unix seconds after which the contract reverts `SignatureExpired`; `uint120` in calldata.
    pub expiry_unix_s: u128,
    /// Per-benefactor replay guard; `uint128` in calldata, only the low 64 bits index the bitmap.
    pub nonce: u128,
    pub benefactor: Address,
    pub beneficiary: Address,
    pub collateral_asset: Address,
    pub collateral_amount: u128,
    pub usde_amount: u128,
}

impl Order {
    /// Checks the fields against their calldata (struct) widths: `expiry < 2^120`. The other
    /// integer fields are `uint128` and always fit a `u128`.
    ///
    /// # Errors
    /// [`OrderFieldError::OutOfRange`] naming the field.
    pub fn check_widths(&self) -> Result<(), OrderFieldError> {
        if self.expiry_unix_s > UINT120_MAX {
            return Err(OrderFieldError::OutOfRange { field: "expiry", bits: 120 });
        }
        Ok(())
    }

    /// Checks what a standards-following EIP-712 wallet needs to sign this order with the
    /// deployed type string: the nonce must fit the string's `uint120` (the contract itself
    /// would accept up to `uint128`, but such an order cannot be produced by a normal wallet).
    ///
    /// # Errors
    /// [`OrderFieldError::OutOfRange`] naming the field.
    pub fn check_signable(&self) -> Result<(), OrderFieldError> {
        self.check_widths()?;
        if self.nonce > UINT120_MAX {
            return Err(OrderFieldError::OutOfRange { field: "nonce", bits: 120 });
        }
        Ok(())
    }
}

/// `enum SignatureType { EIP712, EIP1271 }` of the V2 contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// 65-byte ECDSA `r‖s‖v` over the EIP-712 digest, recovered with `ecrecover`.
    Eip712 = 0,
    /// Opaque bytes checked by `IERC1271(benefactor).isValidSignature(digest, bytes)`.
    Eip1271 = 1,
}

/// `struct Signature { SignatureType signature_type; bytes signature_bytes; }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub signature_type: SignatureType,
    pub signature_bytes: Vec<u8>,
}

/// `enum DelegatedSignerStatus { REJECTED, PENDING, ACCEPTED }`; only `Accepted` lets a
/// delegate sign for a benefactor (getter `delegatedSigner(signer, benefactor)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DelegatedSignerStatus {
    Rejected = 0,
    Pending = 1,
    Accepted = 2,
}

impl DelegatedSignerStatus {
    /// Decodes the `uint8` the getter returns; `None` for values the enum cannot hold.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Rejected),
            1 => Some(Self::Pending),
            2 => Some(Self::Accepted),
            _ => None,
        }
    }
}
