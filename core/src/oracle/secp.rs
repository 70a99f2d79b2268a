//! keccak-256 and secp256k1 public-key recovery: the one signature scheme shared by Wormhole
//! guardians (and Pyth routers) and RedStone nodes.
//!
//! Both vendors identify a signer by its Ethereum address (last 20 bytes of keccak-256 of the
//! uncompressed public key), so verification is "recover the key from (digest, r, s, recovery
//! id), hash it, compare addresses". High-s signatures are rejected: they are the malleated twin of
//! a low-s signature and no honest signer in either network produces them.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::Signature;
use sha3::{Digest, Keccak256};

/// keccak-256 of `data` (the Ethereum variant, not NIST SHA3-256).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A 20-byte Ethereum-style signer address. Displays as lower-case `0x…`; parses either case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EthAddress(pub [u8; 20]);

impl EthAddress {
    /// The address of an uncompressed public key given without its `0x04` prefix.
    pub fn from_public_key(uncompressed_xy: &[u8; 64]) -> Self {
        let hash = keccak256(uncompressed_xy);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Self(out)
    }
}

impl fmt::Display for EthAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for EthAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Text that is not a 20-byte hex address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a 20-byte hex address: {text:?}")]
pub struct AddressParseError {
    /// The rejected text (addresses are public, so keeping it is harmless).
    pub text: String,
}

impl FromStr for EthAddress {
    type Err = AddressParseError;

    /// Parses `0x`-prefixed or bare hex, case-insensitively (sources mix checksum and lower case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || AddressParseError { text: text.to_owned() };
        let bytes = super::bytes::decode_hex(text).map_err(|_| err())?;
        let array: [u8; 20] = bytes.try_into().map_err(|_| err())?;
        Ok(Self(array))
    }
}

/// Why a signature could not be turned into a signer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `r` or `s` is zero or not below the curve order.
    #[error("signature scalars r/s are zero or out of range")]
    InvalidScalars,
    /// `s` is above n/2 (malleated signature).
    #[error("signature s is high (s > n/2); only low-s signatures are accepted")]
    HighS,
    /// The recovery id is not one this scheme allows.
    #[error("recovery byte v = {v} is not allowed")]
    InvalidRecoveryId {
        /// The byte as found on the wire.
        v: u8,
    },
    /// No public key recovers from this signature and digest.
    #[error("public key recovery failed")]
    RecoveryFailed,
}

/// Recovers the signer address of a 32-byte prehashed `digest`.
///
/// `recovery_id` must be 0 or 1 here; callers map their wire convention (Wormhole 0/1,
/// RedStone 27/28) first.
///
/// # Errors
/// [`SignatureError`] when the scalars are invalid, `s` is high, the id is out of range or no key
/// recovers.
pub fn recover_address(
    digest: &[u8; 32],
    r: &[u8; 32],
    s: &[u8; 32],
    recovery_id: u8,
) -> Result<EthAddress, SignatureError> {
    if recovery_id > 1 {
        return Err(SignatureError::InvalidRecoveryId { v: recovery_id });
    }
    let signature = Signature::from_scalars(k256::FieldBytes::from(*r), k256::FieldBytes::from(*s))
        .map_err(|_| SignatureError::InvalidScalars)?;
    if signature.normalize_s().is_some() {
        return Err(SignatureError::HighS);
    }
    // k256 validated the scalars and the low-s rule above; libsecp256k1 does the recovery.
    let recovery = secp256k1::ecdsa::RecoveryId::try_from(i32::from(recovery_id))
        .map_err(|_| SignatureError::InvalidRecoveryId { v: recovery_id })?;
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(r);
    compact[32..].copy_from_slice(s);
    let recoverable = secp256k1::ecdsa::RecoverableSignature::from_compact(&compact, recovery)
        .map_err(|_| SignatureError::InvalidScalars)?;
    let key = secp256k1::SECP256K1
        .recover_ecdsa(&secp256k1::Message::from_digest(*digest), &recoverable)
        .map_err(|_| SignatureError::RecoveryFailed)?;
    let point = key.serialize_uncompressed();
    let xy: &[u8; 64] = point
        .get(1..)
        .and_then(|tail| tail.try_into().ok())
        .ok_or(SignatureError::RecoveryFailed)?;
    Ok(EthAddress::from_public_key(xy))
}

/// The secp256k1 group order n, big-endian (used by tests that build high-s signatures).
pub const SECP256K1_ORDER: [u8; 32] =
    super::bytes::hex_array("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k256::ecdsa::SigningKey;

    /// n − s, for building the malleated twin of a signature in tests.
    pub(crate) fn negate_scalar(s: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for index in (0..32).rev() {
            let mut diff = i16::from(SECP256K1_ORDER[index]) - i16::from(s[index]) - borrow;
            borrow = i16::from(diff < 0);
            if diff < 0 {
                diff += 256;
            }
            out[index] = diff as u8;
        }
        out
    }

    #[test]
    fn recovers_the_signing_address_and_rejects_high_s() {
        let key = SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
        let xy: [u8; 64] =
            key.verifying_key().to_encoded_point(false).as_bytes()[1..].try_into().unwrap();
        let expected = EthAddress::from_public_key(&xy);
        let digest = keccak256(b"hello");
        let (signature, recovery) = key.sign_prehash_recoverable(&digest).unwrap();
        let bytes = signature.to_bytes();
        let r: [u8; 32] = bytes[..32].try_into().unwrap();
        let s: [u8; 32] = bytes[32..].try_into().unwrap();
        assert_eq!(recover_address(&digest, &r, &s, recovery.to_byte()), Ok(expected));
        let high_s = negate_scalar(&s);
        let flipped = recovery.to_byte() ^ 1;
        assert_eq!(recover_address(&digest, &r, &high_s, flipped), Err(SignatureError::HighS));
        assert_eq!(
            recover_address(&digest, &r, &s, 2),
            Err(SignatureError::InvalidRecoveryId { v: 2 })
        );
        assert_eq!(recover_address(&digest, &[0; 32], &s, 0), Err(SignatureError::InvalidScalars));
    }

    #[test]
    fn address_parses_either_case_and_displays_lower() {
        let address: EthAddress = "0x8BB8F32Df04c8b654987DAaeD53D6B6091e3B774".parse().unwrap();
        assert_eq!(address.to_string(), "0x8bb8f32df04c8b654987daaed53d6b6091e3b774");
        assert!("0x8BB8".parse::<EthAddress>().is_err());
    }
}
