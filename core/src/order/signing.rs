//! Signing and verifying order digests the way the V2 contract accepts them.
//!
//! Signing produces what OpenZeppelin 4.9 `ECDSA.recover` accepts: 65 bytes `r‖s‖v`, low-s
//! (`s <= n/2`), `v ∈ {27, 28}`, deterministic nonces (RFC 6979), so the same key and digest
//! always give the same bytes. Verification applies the same rules in the same order as the
//! contract (length, then high-s, then `ecrecover`, whose only accepted `v` are 27 and 28), then
//! the authorisation rule of `verifyOrder`: the signer must be the benefactor or a delegated
//! signer whose status for that benefactor is `ACCEPTED`. The delegation status is an input
//! (read from chain by the caller); EIP-1271 signatures need an `eth_call` and are modelled here
//! only by the check of its return data.
//!
//! Source: `shared/reference/ethena.md` §3.3 and §7.3. No I/O; the key never reaches `Debug`.

use alloy_primitives::{keccak256, Address, B256, U256};
use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::zeroize::Zeroize;

use super::error::SignatureError;
use super::model::{DelegatedSignerStatus, Signature, SignatureType};

/// Length of an ECDSA `signature_bytes` the contract accepts.
pub const ECDSA_SIGNATURE_BYTES: usize = 65;

/// secp256k1 order `n / 2`; OpenZeppelin rejects any `s` above it (malleability).
pub const SECP256K1_HALF_ORDER: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// `bytes4(keccak256("isValidSignature(bytes32,bytes)"))`, what an EIP-1271 wallet must return.
pub const EIP1271_MAGIC_VALUE: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// A parsed 65-byte ECDSA signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcdsaSignature {
    pub r: B256,
    pub s: B256,
    /// 27 or 28 once produced by [`OrderSigner`] or accepted by [`recover_signer`].
    pub v: u8,
}

impl EcdsaSignature {
    /// `r‖s‖v`, the layout of `Signature.signature_bytes`.
    pub fn to_bytes(&self) -> [u8; ECDSA_SIGNATURE_BYTES] {
        let mut bytes = [0u8; ECDSA_SIGNATURE_BYTES];
        bytes[0..32].copy_from_slice(self.r.as_slice());
        bytes[32..64].copy_from_slice(self.s.as_slice());
        bytes[64] = self.v;
        bytes
    }

    /// Splits `r‖s‖v`; checks only the length (the value rules are in [`recover_signer`]).
    ///
    /// # Errors
    /// [`SignatureError::InvalidLength`] for anything but 65 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        if bytes.len() != ECDSA_SIGNATURE_BYTES {
            return Err(SignatureError::InvalidLength { len_bytes: bytes.len() });
        }
        Ok(Self {
            r: B256::from_slice(&bytes[0..32]),
            s: B256::from_slice(&bytes[32..64]),
            v: bytes[64],
        })
    }
}

/// A secp256k1 key that signs order digests. `Debug` shows only the address.
pub struct OrderSigner {
    key: SigningKey,
    address: Address,
}

impl core::fmt::Debug for OrderSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrderSigner").field("address", &self.address).finish_non_exhaustive()
    }
}

impl OrderSigner {
    /// Parses a private key given as 1–64 hex digits, with or without `0x` (short keys are
    /// left-padded with zeros, as test keys like `0x1DC` are written). Surrounding whitespace
    /// is ignored. The intermediate buffer is zeroised.
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] if the text is not hex of that length or the scalar is 0
    /// or not below the curve order.
    pub fn from_hex(secret_hex: &str) -> Result<Self, SignatureError> {
        let text = secret_hex.trim();
        let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
        if digits.is_empty() || digits.len() > 64 {
            return Err(SignatureError::InvalidKey { reason: "expected 1 to 64 hex digits" });
        }
        let mut scalar = [0u8; 32];
        let result = fill_hex_right_aligned(digits.as_bytes(), &mut scalar)
            .and_then(|()| Self::from_scalar_bytes(&scalar));
        scalar.zeroize();
        result
    }

    /// As [`OrderSigner::from_hex`], taking ownership of the text (e.g. an environment
    /// variable's value) and zeroising it before returning, whatever the outcome.
    ///
    /// # Errors
    /// As [`OrderSigner::from_hex`].
    pub fn from_hex_zeroizing(mut secret_hex: String) -> Result<Self, SignatureError> {
        let result = Self::from_hex(&secret_hex);
        secret_hex.zeroize();
        result
    }

    /// Builds a signer from a 32-byte big-endian scalar.
    ///
    /// # Errors
    /// [`SignatureError::InvalidKey`] if the scalar is 0 or not below the curve order.
    pub fn from_scalar_bytes(scalar: &[u8; 32]) -> Result<Self, SignatureError> {
        let key = SigningKey::from_slice(scalar)
            .map_err(|_| SignatureError::InvalidKey { reason: "scalar is 0 or >= curve order" })?;
        let address = address_of(key.verifying_key());
        Ok(Self { key, address })
    }

    /// The Ethereum address of this key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest (already EIP-712 hashed; no further prefix). The result is
    /// checked by recovering it again (pair assertion), so a returned signature always
    /// verifies to [`OrderSigner::address`].
    ///
    /// # Errors
    /// [`SignatureError::SigningFailed`] if the backend fails or the self-check does not hold.
    pub fn sign_digest(&self, digest: &B256) -> Result<EcdsaSignature, SignatureError> {
        let (signature, recovery_id) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|_| SignatureError::SigningFailed)?;
        // k256 normalises to low-s and adjusts the recovery id; normalise again defensively.
        let (signature, recovery_id) = match signature.normalize_s() {
            Some(low) => (low, RecoveryId::new(!recovery_id.is_y_odd(), false)),
            None => (signature, recovery_id),
        };
        let bytes = signature.to_bytes();
        let ecdsa = EcdsaSignature {
            r: B256::from_slice(&bytes[0..32]),
            s: B256::from_slice(&bytes[32..64]),
            v: 27 + u8::from(recovery_id.is_y_odd()),
        };
        match recover_signer(digest, &ecdsa.to_bytes()) {
            Ok(signer) if signer == self.address => Ok(ecdsa),
            _ => Err(SignatureError::SigningFailed),
        }
    }
}

/// `ECDSA.recover(digest, signature_bytes)` with OpenZeppelin 4.9 rules.
///
/// # Errors
/// `InvalidLength` (≠ 65 bytes), `HighS` (s > n/2), `InvalidV` (v ∉ {27, 28}),
/// `Unrecoverable` (r or s zero or ≥ n, or no point for r).
pub fn recover_signer(digest: &B256, signature_bytes: &[u8]) -> Result<Address, SignatureError> {
    let parsed = EcdsaSignature::from_bytes(signature_bytes)?;
    let s = U256::from_be_bytes(parsed.s.0);
    if s > SECP256K1_HALF_ORDER {
        return Err(SignatureError::HighS { s });
    }
    if parsed.v != 27 && parsed.v != 28 {
        return Err(SignatureError::InvalidV { v: parsed.v });
    }
    let signature = K256Signature::from_scalars(parsed.r.0, parsed.s.0)
        .map_err(|_| SignatureError::Unrecoverable)?;
    let recovery_id = RecoveryId::new(parsed.v == 28, false);
    let key = VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recovery_id)
        .map_err(|_| SignatureError::Unrecoverable)?;
    Ok(address_of(&key))
}

/// Who signed an accepted order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerRole {
    Benefactor,
    /// A delegate whose status for this benefactor is `ACCEPTED`.
    DelegatedSigner,
}

/// A signature that passed recovery and authorisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedSigner {
    pub signer: Address,
    pub role: SignerRole,
}

/// The EIP-712 path of `verifyOrder`: recover, then accept the benefactor itself or a delegate
/// with `delegated_signer_status(signer) == ACCEPTED` (the caller reads
/// `delegatedSigner(signer, benefactor)`; it is only asked when the signer is not the benefactor).
///
/// # Errors
/// Any [`recover_signer`] error, or `WrongSigner` (→ `InvalidEIP712Signature`).
pub fn verify_eip712_signature(
    digest: &B256,
    signature_bytes: &[u8],
    benefactor: Address,
    delegated_signer_status: impl FnOnce(Address) -> DelegatedSignerStatus,
) -> Result<VerifiedSigner, SignatureError> {
    let signer = recover_signer(digest, signature_bytes)?;
    if signer == benefactor {
        return Ok(VerifiedSigner { signer, role: SignerRole::Benefactor });
    }
    if delegated_signer_status(signer) == DelegatedSignerStatus::Accepted {
        return Ok(VerifiedSigner { signer, role: SignerRole::DelegatedSigner });
    }
    Err(SignatureError::WrongSigner { signer })
}

/// Outcome of checking a [`Signature`] offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    Verified(VerifiedSigner),
    /// EIP-1271: call `benefactor.isValidSignature(digest, signature_bytes)` and pass the
    /// return data to [`check_eip1271_return`].
    NeedsEip1271Call {
        benefactor: Address,
        digest: B256,
    },
}

/// Dispatches on `signature_type` like `verifyOrder`.
///
/// # Errors
/// As [`verify_eip712_signature`] for EIP-712; none for EIP-1271 (checked later).
pub fn verify_order_signature(
    digest: &B256,
    signature: &Signature,
    benefactor: Address,
    delegated_signer_status: impl FnOnce(Address) -> DelegatedSignerStatus,
) -> Result<SignatureCheck, SignatureError> {
    match signature.signature_type {
        SignatureType::Eip712 => verify_eip712_signature(
            digest,
            &signature.signature_bytes,
            benefactor,
            delegated_signer_status,
        )
        .map(SignatureCheck::Verified),
        SignatureType::Eip1271 => {
            Ok(SignatureCheck::NeedsEip1271Call { benefactor, digest: *digest })
        }
    }
}

/// Decodes a `uint8` signature type from calldata or the API.
///
/// # Errors
/// `UnknownSignatureType` for anything but 0 or 1.
pub fn signature_type_from_u8(value: u8) -> Result<SignatureType, SignatureError> {
    match value {
        0 => Ok(SignatureType::Eip712),
        1 => Ok(SignatureType::Eip1271),
        other => Err(SignatureError::UnknownSignatureType { signature_type: other }),
    }
}

/// Checks the return data of `isValidSignature(bytes32,bytes)`: a single ABI word holding the
/// `bytes4` magic value left-aligned with zero padding (Solidity's decoder rejects dirty
/// padding and short data, so we do too).
///
/// # Errors
/// `Eip1271Rejected` for anything else.
pub fn check_eip1271_return(return_data: &[u8]) -> Result<(), SignatureError> {
    let word = return_data.get(0..32).ok_or(SignatureError::Eip1271Rejected)?;
    let magic_ok = word[0..4] == EIP1271_MAGIC_VALUE;
    let padding_clean = word[4..32].iter().all(|byte| *byte == 0);
    if magic_ok && padding_clean {
        Ok(())
    } else {
        Err(SignatureError::Eip1271Rejected)
    }
}

/// `address(uint160(uint256(keccak256(uncompressed_pubkey[1..]))))`.
fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    Address::from_slice(&hash[12..])
}

/// Decodes hex digits into the low end of `out` (big-endian, left zero padding).
fn fill_hex_right_aligned(digits: &[u8], out: &mut [u8; 32]) -> Result<(), SignatureError> {
    let first_nibble_index = 64 - digits.len();
    for (nibble_index, digit) in (first_nibble_index..).zip(digits) {
        let value = (*digit as char)
            .to_digit(16)
            .ok_or(SignatureError::InvalidKey { reason: "not hexadecimal" })?
            as u8;
        let shift = if nibble_index & 1 == 0 { 4 } else { 0 };
        out[nibble_index / 2] |= value << shift;
    }
    Ok(())
}
