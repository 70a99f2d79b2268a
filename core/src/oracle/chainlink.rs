//! Chainlink `AggregatorV3Interface` return data: ABI decoding of `latestRoundData()` and
//! `decimals()`, and the round checks a consumer must apply.
//!
//! The `eth_call` transport lives in the chain gateway; this module only judges the 32-byte ABI
//! words it returns (reference `oracles.md` §3), so it can be tested without a node. Rules:
//! 1. `latestRoundData()` returns exactly 5 words; `decimals()` exactly 1; every word is in the
//!    range of its declared type (uint80, int256 narrowed to i128, uint256 narrowed to u64, uint8).
//! 2. `answer > 0`.
//! 3. `updatedAt` is set and `|now − updatedAt| ≤ max_age` (heartbeat plus margin, chosen by the
//!    caller per feed).
//! 4. `answeredInRound ≥ roundId` (legacy completeness check).

/// Selector of `latestRoundData()`.
pub const LATEST_ROUND_DATA_SELECTOR: [u8; 4] = [0xfe, 0xaf, 0x96, 0x8c];
/// Selector of `decimals()`.
pub const DECIMALS_SELECTOR: [u8; 4] = [0x31, 0x3c, 0xe5, 0x67];
const WORD_BYTES: usize = 32;
const LATEST_ROUND_DATA_WORDS: usize = 5;

/// Why Chainlink return data or a round was rejected. `rule()` names the failed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainlinkError {
    /// Rule 1: wrong return-data length.
    #[error("return data is {found_bytes} bytes, expected {expected_bytes}")]
    Length {
        /// Expected.
        expected_bytes: usize,
        /// Found.
        found_bytes: usize,
    },
    /// Rule 1: a word is out of its type's range.
    #[error("ABI word `{field}` is out of range for its type")]
    WordRange {
        /// Field name.
        field: &'static str,
    },
    /// Rule 2.
    #[error("answer {answer} is not positive")]
    NonPositiveAnswer {
        /// The answer.
        answer: i128,
    },
    /// Rule 3.
    #[error("updatedAt {updated_at_s} is {age_s} s from now {now_s}, max {max_age_s} s")]
    Stale {
        /// Round update time, unix seconds.
        updated_at_s: u64,
        /// Caller's clock.
        now_s: u64,
        /// `now − updatedAt` (negative: from the future).
        age_s: i128,
        /// Limit.
        max_age_s: u64,
    },
    /// Rule 4.
    #[error("answeredInRound {answered_in_round} < roundId {round_id}")]
    IncompleteRound {
        /// Round id.
        round_id: u128,
        /// Round the answer was computed in.
        answered_in_round: u128,
    },
}

impl ChainlinkError {
    /// Short name of the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length { .. } => "abi_length",
            Self::WordRange { .. } => "abi_word",
            Self::NonPositiveAnswer { .. } => "answer",
            Self::Stale { .. } => "heartbeat",
            Self::IncompleteRound { .. } => "answered_in_round",
        }
    }
}

/// Decoded `latestRoundData()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundData {
    /// uint80 round id.
    pub round_id: u128,
    /// Signed answer, scaled by `decimals()`.
    pub answer: i128,
    /// Round start, unix seconds.
    pub started_at_s: u64,
    /// Last update, unix seconds.
    pub updated_at_s: u64,
    /// uint80 round the answer was computed in.
    pub answered_in_round: u128,
}

fn words(return_data: &[u8], count: usize) -> Result<Vec<[u8; 32]>, ChainlinkError> {
    let expected_bytes = count * WORD_BYTES;
    if return_data.len() != expected_bytes {
        return Err(ChainlinkError::Length { expected_bytes, found_bytes: return_data.len() });
    }
    let mut out = Vec::with_capacity(count);
    for chunk in return_data.chunks_exact(WORD_BYTES) {
        let mut word = [0u8; WORD_BYTES];
        word.copy_from_slice(chunk);
        out.push(word);
    }
    Ok(out)
}

/// An unsigned word that must fit in `bits` bits.
fn uint_word(word: &[u8; 32], bits: u32, field: &'static str) -> Result<u128, ChainlinkError> {
    let range_err = ChainlinkError::WordRange { field };
    if word[..16].iter().any(|b| *b != 0) {
        return Err(range_err);
    }
    let mut low = [0u8; 16];
    low.copy_from_slice(&word[16..]);
    let value = u128::from_be_bytes(low);
    if bits < 128 && value >> bits != 0 {
        return Err(range_err);
    }
    Ok(value)
}

/// A two's-complement int256 word that must fit in i128 (sign-extended high half).
fn int_word(word: &[u8; 32], field: &'static str) -> Result<i128, ChainlinkError> {
    let mut low = [0u8; 16];
    low.copy_from_slice(&word[16..]);
    let value = i128::from_be_bytes(low);
    let extension = if value < 0 { 0xff } else { 0x00 };
    if word[..16].iter().any(|b| *b != extension) {
        return Err(ChainlinkError::WordRange { field });
    }
    Ok(value)
}

/// Decodes `latestRoundData()` return data (5 words).
///
/// # Errors
/// [`ChainlinkError::Length`] or [`ChainlinkError::WordRange`].
pub fn decode_latest_round_data(return_data: &[u8]) -> Result<RoundData, ChainlinkError> {
    let words = words(return_data, LATEST_ROUND_DATA_WORDS)?;
    let narrow =
        |value: u128, field| u64::try_from(value).map_err(|_| ChainlinkError::WordRange { field });
    Ok(RoundData {
        round_id: uint_word(&words[0], 80, "roundId")?,
        answer: int_word(&words[1], "answer")?,
        started_at_s: narrow(uint_word(&words[2], 128, "startedAt")?, "startedAt")?,
        updated_at_s: narrow(uint_word(&words[3], 128, "updatedAt")?, "updatedAt")?,
        answered_in_round: uint_word(&words[4], 80, "answeredInRound")?,
    })
}

/// Decodes `decimals()` return data (1 word, uint8).
///
/// # Errors
/// [`ChainlinkError::Length`] or [`ChainlinkError::WordRange`].
pub fn decode_decimals(return_data: &[u8]) -> Result<u8, ChainlinkError> {
    let words = words(return_data, 1)?;
    let value = uint_word(&words[0], 8, "decimals")?;
    u8::try_from(value).map_err(|_| ChainlinkError::WordRange { field: "decimals" })
}

/// Rules 2–4 for a decoded round.
///
/// # Errors
/// The first [`ChainlinkError`] that applies.
pub fn validate_round(round: &RoundData, now_s: u64, max_age_s: u64) -> Result<(), ChainlinkError> {
    if round.answer <= 0 {
        return Err(ChainlinkError::NonPositiveAnswer { answer: round.answer });
    }
    if round.updated_at_s == 0 || round.updated_at_s.abs_diff(now_s) > max_age_s {
        return Err(ChainlinkError::Stale {
            updated_at_s: round.updated_at_s,
            now_s,
            age_s: i128::from(now_s) - i128::from(round.updated_at_s),
            max_age_s,
        });
    }
    if round.answered_in_round < round.round_id {
        return Err(ChainlinkError::IncompleteRound {
            round_id: round.round_id,
            answered_in_round: round.answered_in_round,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word_u(value: u128) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[16..].copy_from_slice(&value.to_be_bytes());
        word
    }

    fn word_i(value: i128) -> [u8; 32] {
        let mut word = [if value < 0 { 0xff } else { 0 }; 32];
        word[16..].copy_from_slice(&value.to_be_bytes());
        word
    }

    fn return_data(answer: i128, updated_at_s: u128) -> Vec<u8> {
        let round_id = (1u128 << 64) | 12_345; // phase 1, aggregator round 12345
        [
            word_u(round_id),
            word_i(answer),
            word_u(updated_at_s - 5),
            word_u(updated_at_s),
            word_u(round_id),
        ]
        .concat()
    }

    #[test]
    fn decodes_and_validates_a_fresh_round() {
        let round = decode_latest_round_data(&return_data(348_695_203_485, 1_719_856_900)).unwrap();
        assert_eq!(round.answer, 348_695_203_485);
        assert_eq!(round.updated_at_s, 1_719_856_900);
        assert!(validate_round(&round, 1_719_856_900 + 3600, 3600).is_ok());
        let err = validate_round(&round, 1_719_856_900 + 3601, 3600).unwrap_err();
        assert_eq!(err.rule(), "heartbeat");
        assert_eq!(decode_decimals(&word_u(8)), Ok(8));
    }

    #[test]
    fn rejects_non_positive_answers_and_incomplete_rounds() {
        let round = decode_latest_round_data(&return_data(-1, 1_000)).unwrap();
        assert_eq!(validate_round(&round, 1_000, 60).unwrap_err().rule(), "answer");
        let round = decode_latest_round_data(&return_data(0, 1_000)).unwrap();
        assert_eq!(validate_round(&round, 1_000, 60).unwrap_err().rule(), "answer");
        let mut round = decode_latest_round_data(&return_data(5, 1_000)).unwrap();
        round.answered_in_round -= 1;
        assert_eq!(validate_round(&round, 1_000, 60).unwrap_err().rule(), "answered_in_round");
        round.updated_at_s = 0;
        assert_eq!(validate_round(&round, 1_000, 60).unwrap_err().rule(), "heartbeat");
    }

    #[test]
    fn rejects_bad_abi() {
        assert_eq!(decode_latest_round_data(&[0; 159]).unwrap_err().rule(), "abi_length");
        let mut data = return_data(5, 1_000);
        data[0] = 1; // roundId above uint80
        assert_eq!(decode_latest_round_data(&data).unwrap_err().rule(), "abi_word");
        let mut data = return_data(5, 1_000);
        data[32] = 0x80; // answer beyond i128
        assert_eq!(decode_latest_round_data(&data).unwrap_err().rule(), "abi_word");
        assert_eq!(decode_decimals(&word_u(256)).unwrap_err().rule(), "abi_word");
        assert_eq!(decode_decimals(&[]).unwrap_err().rule(), "abi_length");
    }
}
