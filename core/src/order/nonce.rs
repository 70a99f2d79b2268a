//! The contract's per-benefactor nonce bitmap (`verifyNonce` / `_deduplicateOrder`).
//!
//! Rule (`shared/reference/ethena.md` §3.5): nonce 0 is invalid; otherwise
//! `slot = uint64(nonce) >> 8`, `bit = 1 << uint8(nonce)`, and a nonce is used when
//! `bitmap[benefactor][slot] & bit != 0`. Only the **low 64 bits** of the nonce select the bit,
//! so nonces equal modulo 2^64 collide (1 and 2^64 + 1 are the same bit). The bitmap is keyed by
//! the benefactor even when a delegate signs.
//!
//! These are pure functions on one 256-bit word; the caller owns the storage (a mirror of the
//! chain's words, read with `eth_call` or rebuilt from our own submissions).

use alloy_primitives::U256;

use super::error::NonceError;

/// Where one nonce lives in the benefactor's bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NonceSlot {
    /// Index of the 256-bit word: `uint64(nonce) >> 8`.
    pub slot: u64,
    /// Bit within the word: `uint8(nonce)`.
    pub bit_index: u8,
}

impl NonceSlot {
    /// Locates `nonce` in the bitmap.
    ///
    /// # Errors
    /// [`NonceError::Zero`] for nonce 0 (checked on the full value, as the contract does).
    pub fn from_nonce(nonce: u128) -> Result<Self, NonceError> {
        if nonce == 0 {
            return Err(NonceError::Zero);
        }
        // Truncation to the low 64 / low 8 bits is the contract's rule, not an accident.
        let low_64_bits = nonce as u64;
        Ok(Self { slot: low_64_bits >> 8, bit_index: nonce as u8 })
    }

    /// `1 << bit_index` as a 256-bit word.
    pub fn mask(&self) -> U256 {
        U256::from(1u8) << usize::from(self.bit_index)
    }
}

/// Checks that `nonce` is unused given the current bitmap word of its slot.
///
/// # Errors
/// `Zero` for nonce 0, `AlreadyUsed` if the bit is set (both revert `InvalidNonce()`).
pub fn check_nonce_unused(nonce: u128, slot_word: U256) -> Result<NonceSlot, NonceError> {
    let slot = NonceSlot::from_nonce(nonce)?;
    if slot_word & slot.mask() != U256::ZERO {
        return Err(NonceError::AlreadyUsed { nonce, slot: slot.slot, bit_index: slot.bit_index });
    }
    Ok(slot)
}

/// The slot word after using `nonce` (what `_deduplicateOrder` stores).
///
/// # Errors
/// As [`check_nonce_unused`]: a nonce is used at most once.
pub fn mark_nonce_used(nonce: u128, slot_word: U256) -> Result<U256, NonceError> {
    let slot = check_nonce_unused(nonce, slot_word)?;
    Ok(slot_word | slot.mask())
}

/// Whether two nonces occupy the same bit (equal in their low 64 bits).
pub fn nonces_collide(a: u128, b: u128) -> bool {
    a as u64 == b as u64
}
