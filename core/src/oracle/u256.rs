//! A minimal unsigned 256-bit integer for RedStone values (up to 32-byte big-endian words).
//!
//! Only what oracle verification needs: byte conversion, decimal text in and out, ordering and
//! the overflow-free floor average used by the median. Everything is checked; nothing panics.

use std::fmt;

/// Unsigned 256-bit integer. Limbs are most-significant first, so the derived `Ord` is numeric.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U256 {
    limbs: [u64; 4],
}

impl U256 {
    /// Zero.
    pub const ZERO: Self = Self { limbs: [0; 4] };

    /// Interprets up to 32 big-endian bytes (shorter input is left-padded). `None` above 32 bytes.
    pub fn from_be_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 32 {
            return None;
        }
        let mut word = [0u8; 32];
        word[32 - bytes.len()..].copy_from_slice(bytes);
        Some(Self::from_be_bytes(&word))
    }

    /// Interprets a 32-byte big-endian word.
    pub fn from_be_bytes(word: &[u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(word.chunks_exact(8)) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(eight);
        }
        Self { limbs }
    }

    /// The 32-byte big-endian word.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut word = [0u8; 32];
        for (chunk, limb) in word.chunks_exact_mut(8).zip(self.limbs) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        word
    }

    /// From a `u128`.
    pub fn from_u128(value: u128) -> Self {
        Self { limbs: [0, 0, (value >> 64) as u64, value as u64] }
    }

    /// The value as `u128`, or `None` if it does not fit.
    pub fn to_u128(&self) -> Option<u128> {
        if self.limbs[0] != 0 || self.limbs[1] != 0 {
            return None;
        }
        Some((u128::from(self.limbs[2]) << 64) | u128::from(self.limbs[3]))
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.limbs == [0; 4]
    }

    /// `self * factor + addend`, or `None` on overflow.
    pub fn checked_mul_add_small(&self, factor: u64, addend: u64) -> Option<Self> {
        let mut limbs = [0u64; 4];
        let mut carry = u128::from(addend);
        for index in (0..4).rev() {
            let wide = u128::from(self.limbs[index]) * u128::from(factor) + carry;
            limbs[index] = wide as u64;
            carry = wide >> 64;
        }
        (carry == 0).then_some(Self { limbs })
    }

    /// `(self / divisor, self % divisor)`; `None` for a zero divisor.
    pub fn div_rem_small(&self, divisor: u64) -> Option<(Self, u64)> {
        if divisor == 0 {
            return None;
        }
        let mut limbs = [0u64; 4];
        let mut remainder = 0u128;
        for (index, limb) in self.limbs.iter().enumerate() {
            let wide = (remainder << 64) | u128::from(*limb);
            limbs[index] = (wide / u128::from(divisor)) as u64;
            remainder = wide % u128::from(divisor);
        }
        Some((Self { limbs }, remainder as u64))
    }

    /// Parses a non-empty string of ASCII decimal digits; `None` on any other byte or overflow.
    pub fn from_decimal_digits(digits: &str) -> Option<Self> {
        if digits.is_empty() {
            return None;
        }
        digits.bytes().try_fold(Self::ZERO, |acc, byte| {
            let digit = byte.checked_sub(b'0').filter(|d| *d <= 9)?;
            acc.checked_mul_add_small(10, u64::from(digit))
        })
    }

    /// `floor((a + b) / 2)` without overflow (the median of an even count, as in the rust-sdk).
    pub fn floor_average(a: Self, b: Self) -> Self {
        let half_a = a.shr1();
        let half_b = b.shr1();
        let both_odd = (a.limbs[3] & b.limbs[3] & 1) == 1;
        // Cannot overflow: half_a + half_b + 1 <= (2^256 - 1).
        half_a
            .checked_add(half_b)
            .and_then(|sum| sum.checked_mul_add_small(1, u64::from(both_odd)))
            .unwrap_or(half_a)
    }

    fn shr1(&self) -> Self {
        let mut limbs = [0u64; 4];
        let mut carry_in = 0u64;
        for (index, limb) in self.limbs.iter().enumerate() {
            limbs[index] = (limb >> 1) | (carry_in << 63);
            carry_in = limb & 1;
        }
        Self { limbs }
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(&self, other: Self) -> Option<Self> {
        let mut limbs = [0u64; 4];
        let mut carry = false;
        for index in (0..4).rev() {
            let (sum, overflow_a) = self.limbs[index].overflowing_add(other.limbs[index]);
            let (sum, overflow_b) = sum.overflowing_add(u64::from(carry));
            limbs[index] = sum;
            carry = overflow_a || overflow_b;
        }
        (!carry).then_some(Self { limbs })
    }
}

impl fmt::Display for U256 {
    /// Decimal, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 78];
        let mut len = 0;
        let mut value = *self;
        loop {
            let Some((quotient, remainder)) = value.div_rem_small(10) else {
                return Err(fmt::Error);
            };
            digits[len] = b'0' + remainder as u8;
            len += 1;
            value = quotient;
            if value.is_zero() || len == digits.len() {
                break;
            }
        }
        let text: String = digits[..len].iter().rev().map(|d| char::from(*d)).collect();
        f.pad(&text)
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip_including_max() {
        let max = U256::from_be_bytes(&[0xff; 32]);
        let text = max.to_string();
        assert_eq!(
            text,
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(U256::from_decimal_digits(&text), Some(max));
        assert_eq!(U256::from_decimal_digits(&format!("{text}0")), None);
        assert_eq!(U256::from_decimal_digits("12a"), None);
        assert_eq!(U256::ZERO.to_string(), "0");
    }

    #[test]
    fn floor_average_does_not_overflow() {
        let max = U256::from_be_bytes(&[0xff; 32]);
        assert_eq!(U256::floor_average(max, max), max);
        let three = U256::from_u128(3);
        let four = U256::from_u128(4);
        assert_eq!(U256::floor_average(three, four), three);
        assert_eq!(U256::floor_average(three, U256::from_u128(5)), four);
    }

    #[test]
    fn byte_conversions() {
        let value = U256::from_be_slice(&[0x01, 0x02]).unwrap();
        assert_eq!(value.to_u128(), Some(0x0102));
        assert_eq!(value.to_be_bytes()[30..], [0x01, 0x02]);
        assert!(U256::from_be_slice(&[0; 33]).is_none());
        assert!(U256::from_be_bytes(&[0xff; 32]).to_u128().is_none());
    }
}
