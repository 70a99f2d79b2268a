//! Pyth accumulator updates ("PNAU"): full parse, verification against a signer set, price
//! message decoding, staleness and confidence checks.
//!
//! An update is a Wormhole VAA whose payload is a Merkle root, plus messages that each carry a
//! proof into that root. Verification (reference `oracles.md` §1.4), cheapest checks first so a
//! forged input costs little, all of them mandatory (fail closed):
//!
//! 1. Envelope: magic `PNAU`, major version 1 (any minor), trailing header skipped, proof type 0,
//!    no bytes after the last update.
//! 2. VAA body: emitter is Pythnet (chain 26) and the Pyth accumulator address; payload magic
//!    `AUWV`, update type 0 (Merkle root), no trailing payload bytes.
//! 3. Every message's Merkle proof folds to the signed root (keccak-160, sorted pairs).
//! 4. VAA signatures against the configured signer set ([`super::wormhole::verify_signatures`]).
//! 5. Messages decode (price type 0, 85 bytes; TWAP type 1, 101 bytes).
//!
//! Staleness is a separate call ([`check_staleness`]) because it needs the caller's clock.

use super::bytes::{Reader, Truncated};
use super::secp::keccak256;
use super::wormhole::{
    parse_vaa, verify_signatures, SignerSetSource, Vaa, VaaError, PYTHNET_ACCUMULATOR_EMITTER,
    PYTHNET_CHAIN_ID,
};

/// Envelope magic.
pub const PNAU_MAGIC: [u8; 4] = *b"PNAU";
/// VAA payload magic of a Wormhole Merkle root.
pub const AUWV_MAGIC: [u8; 4] = *b"AUWV";
/// The only major version understood.
pub const MAJOR_VERSION: u8 = 1;
/// Bytes of a price message, type byte included.
pub const PRICE_MESSAGE_BYTES: usize = 85;
/// Bytes of a TWAP message, type byte included.
pub const TWAP_MESSAGE_BYTES: usize = 101;
const PROOF_TYPE_WORMHOLE_MERKLE: u8 = 0;
const ROOT_UPDATE_TYPE_MERKLE: u8 = 0;
const MESSAGE_TYPE_PRICE: u8 = 0;
const MESSAGE_TYPE_TWAP: u8 = 1;

/// Why a Pyth update was rejected. `rule()` names the failed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PythError {
    /// The bytes ended early.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// Rule 1: not `PNAU`.
    #[error("magic {found:02x?} is not PNAU")]
    Magic {
        /// First four bytes.
        found: [u8; 4],
    },
    /// Rule 1: major version.
    #[error("major version {major} is not 1")]
    MajorVersion {
        /// Major version found.
        major: u8,
    },
    /// Rule 1: proof type.
    #[error("proof type {proof_type} is not WormholeMerkle (0)")]
    ProofType {
        /// Proof type found.
        proof_type: u8,
    },
    /// Rule 1 or 2: bytes left over.
    #[error("{count_bytes} unexpected trailing bytes in {part}")]
    TrailingBytes {
        /// `update` or `vaa payload`.
        part: &'static str,
        /// How many.
        count_bytes: usize,
    },
    /// Rules 2 and 4: the VAA was rejected.
    #[error("VAA rejected: {0}")]
    Vaa(#[from] VaaError),
    /// Rule 2: payload magic.
    #[error("VAA payload magic {found:02x?} is not AUWV")]
    PayloadMagic {
        /// Payload bytes 0..4.
        found: [u8; 4],
    },
    /// Rule 2: payload update type.
    #[error("VAA payload update type {update_type} is not a Merkle root (0)")]
    PayloadUpdateType {
        /// Type found.
        update_type: u8,
    },
    /// Rule 3.
    #[error("Merkle proof of update {update_index} does not reach the signed root")]
    Merkle {
        /// Position of the update in the envelope.
        update_index: usize,
    },
    /// Rule 5: unknown message type.
    #[error("update {update_index} has unknown message type {message_type}")]
    MessageType {
        /// Position of the update.
        update_index: usize,
        /// Type byte found.
        message_type: u8,
    },
    /// Rule 5: length does not match the type.
    #[error("update {update_index}: message type {message_type} is {length_bytes} bytes")]
    MessageLength {
        /// Position of the update.
        update_index: usize,
        /// Type byte.
        message_type: u8,
        /// Length found.
        length_bytes: usize,
    },
    /// Staleness: `|now − publish_time| > max_age`.
    #[error("feed {feed_id_hex}: publish time {publish_time_s} is {age_s} s from now {now_s}, max {max_age_s} s")]
    Stale {
        /// Feed id, hex.
        feed_id_hex: String,
        /// Publish time, unix seconds.
        publish_time_s: i64,
        /// Caller's clock, unix seconds.
        now_s: i64,
        /// `now − publish_time` (negative: from the future).
        age_s: i64,
        /// Configured limit.
        max_age_s: u64,
    },
    /// Confidence: conf / price above the limit, or a non-positive price.
    #[error("price {price} with conf {conf} exceeds {max_conf_ratio_bps} bps confidence (or is not positive)")]
    Confidence {
        /// Price (same exponent as conf).
        price: i64,
        /// Confidence.
        conf: u64,
        /// Limit in basis points of the price.
        max_conf_ratio_bps: u64,
    },
}

impl PythError {
    /// Short name of the rule that failed (used in JSON error output).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "truncated",
            Self::Magic { .. } => "magic",
            Self::MajorVersion { .. } => "major_version",
            Self::ProofType { .. } => "proof_type",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::Vaa(vaa) => vaa.rule(),
            Self::PayloadMagic { .. } => "payload_magic",
            Self::PayloadUpdateType { .. } => "payload_type",
            Self::Merkle { .. } => "merkle",
            Self::MessageType { .. } => "message_type",
            Self::MessageLength { .. } => "message_length",
            Self::Stale { .. } => "staleness",
            Self::Confidence { .. } => "confidence",
        }
    }

    /// True when a later update may pass (staleness, confidence); false for forged or malformed
    /// data, which must quarantine the source.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Stale { .. } | Self::Confidence { .. })
    }
}

/// One message with its Merkle proof, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleUpdate<'a> {
    /// Message bytes (type byte first).
    pub message: &'a [u8],
    /// Sibling hashes, leaf to root.
    pub proof: Vec<[u8; 20]>,
}

/// A parsed, not yet verified, accumulator update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulatorUpdate<'a> {
    /// Major version (always 1 after parsing).
    pub major_version: u8,
    /// Minor version (any).
    pub minor_version: u8,
    /// The VAA carrying the Merkle root.
    pub vaa: Vaa<'a>,
    /// Messages with proofs.
    pub updates: Vec<MerkleUpdate<'a>>,
}

/// The signed Merkle root (VAA payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerkleRoot {
    /// Pythnet slot.
    pub slot: u64,
    /// Accumulator ring size.
    pub ring_size: u32,
    /// Root hash (keccak-160).
    pub root: [u8; 20],
}

/// Parses the envelope (rule 1) and the VAA layout; verifies nothing cryptographic.
///
/// # Errors
/// [`PythError`] for the first malformed field.
pub fn parse_accumulator_update(bytes: &[u8]) -> Result<AccumulatorUpdate<'_>, PythError> {
    let mut reader = Reader::new(bytes);
    let found: [u8; 4] = reader.array("pnau.magic")?;
    if found != PNAU_MAGIC {
        return Err(PythError::Magic { found });
    }
    let major_version = reader.u8("pnau.major_version")?;
    if major_version != MAJOR_VERSION {
        return Err(PythError::MajorVersion { major: major_version });
    }
    let minor_version = reader.u8("pnau.minor_version")?;
    let trailing_header_bytes = usize::from(reader.u8("pnau.trailing_header_len")?);
    reader.take(trailing_header_bytes, "pnau.trailing_header")?;
    let proof_type = reader.u8("pnau.proof_type")?;
    if proof_type != PROOF_TYPE_WORMHOLE_MERKLE {
        return Err(PythError::ProofType { proof_type });
    }
    let vaa_bytes = usize::from(reader.u16("pnau.vaa_len")?);
    let vaa = parse_vaa(reader.take(vaa_bytes, "pnau.vaa")?)?;
    let update_count = usize::from(reader.u8("pnau.update_count")?);
    let mut updates = Vec::with_capacity(update_count);
    for _ in 0..update_count {
        let message_bytes = usize::from(reader.u16("pnau.message_len")?);
        let message = reader.take(message_bytes, "pnau.message")?;
        let proof_count = usize::from(reader.u8("pnau.proof_len")?);
        let mut proof = Vec::with_capacity(proof_count);
        for _ in 0..proof_count {
            proof.push(reader.array::<20>("pnau.proof_hash")?);
        }
        updates.push(MerkleUpdate { message, proof });
    }
    if !reader.remaining().is_empty() {
        return Err(PythError::TrailingBytes {
            part: "update",
            count_bytes: reader.remaining().len(),
        });
    }
    Ok(AccumulatorUpdate { major_version, minor_version, vaa, updates })
}

/// Parses the VAA payload as a Merkle root (rule 2, payload part).
///
/// # Errors
/// [`PythError::PayloadMagic`], [`PythError::PayloadUpdateType`], truncation, trailing bytes.
pub fn parse_merkle_root(payload: &[u8]) -> Result<MerkleRoot, PythError> {
    let mut reader = Reader::new(payload);
    let found: [u8; 4] = reader.array("auwv.magic")?;
    if found != AUWV_MAGIC {
        return Err(PythError::PayloadMagic { found });
    }
    let update_type = reader.u8("auwv.update_type")?;
    if update_type != ROOT_UPDATE_TYPE_MERKLE {
        return Err(PythError::PayloadUpdateType { update_type });
    }
    let root = MerkleRoot {
        slot: reader.u64("auwv.slot")?,
        ring_size: reader.u32("auwv.ring_size")?,
        root: reader.array("auwv.root")?,
    };
    if !reader.remaining().is_empty() {
        let count_bytes = reader.remaining().len();
        return Err(PythError::TrailingBytes { part: "vaa payload", count_bytes });
    }
    Ok(root)
}

/// First 20 bytes of keccak-256 over `prefix ‖ parts…`.
fn keccak160(prefix: u8, parts: &[&[u8]]) -> [u8; 20] {
    let total_bytes = 1 + parts.iter().map(|part| part.len()).sum::<usize>();
    let mut preimage = Vec::with_capacity(total_bytes);
    preimage.push(prefix);
    for part in parts {
        preimage.extend_from_slice(part);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(&keccak256(&preimage)[..20]);
    out
}

/// True when `proof` folds `message` up to `root`: leaf = H(0x00 ‖ m), node = H(0x01 ‖ min ‖ max).
pub fn verify_merkle_proof(message: &[u8], proof: &[[u8; 20]], root: &[u8; 20]) -> bool {
    let leaf = keccak160(0x00, &[message]);
    let folded = proof.iter().fold(leaf, |hash, sibling| {
        let (low, high) = if hash <= *sibling { (hash, *sibling) } else { (*sibling, hash) };
        keccak160(0x01, &[&low, &high])
    });
    &folded == root
}

/// A Pyth aggregate price (message type 0). Real value = `price × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceMessage {
    /// Feed id.
    pub feed_id: [u8; 32],
    /// Aggregate price.
    pub price: i64,
    /// Confidence (same exponent).
    pub conf: u64,
    /// Decimal exponent.
    pub exponent: i32,
    /// Publish time, unix seconds (use this for staleness).
    pub publish_time_s: i64,
    /// Publish time of the previous aggregate; may equal `publish_time_s`.
    pub prev_publish_time_s: i64,
    /// EMA price.
    pub ema_price: i64,
    /// EMA confidence.
    pub ema_conf: u64,
}

/// A Pyth TWAP accumulator message (type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwapMessage {
    /// Feed id.
    pub feed_id: [u8; 32],
    /// Cumulative price.
    pub cumulative_price: i128,
    /// Cumulative confidence.
    pub cumulative_conf: u128,
    /// Slots without an aggregate.
    pub num_down_slots: u64,
    /// Decimal exponent.
    pub exponent: i32,
    /// Publish time, unix seconds.
    pub publish_time_s: i64,
    /// Previous publish time, unix seconds.
    pub prev_publish_time_s: i64,
    /// Pythnet slot of publication.
    pub publish_slot: u64,
}

/// A decoded accumulator message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythMessage {
    /// Type 0.
    Price(PriceMessage),
    /// Type 1.
    Twap(TwapMessage),
}

/// Decodes one message (rule 5). `update_index` is only used in errors.
///
/// # Errors
/// [`PythError::MessageType`] or [`PythError::MessageLength`].
pub fn decode_message(message: &[u8], update_index: usize) -> Result<PythMessage, PythError> {
    let mut reader = Reader::new(message);
    let message_type = reader.u8("message.type")?;
    let expected_bytes = match message_type {
        MESSAGE_TYPE_PRICE => PRICE_MESSAGE_BYTES,
        MESSAGE_TYPE_TWAP => TWAP_MESSAGE_BYTES,
        _ => return Err(PythError::MessageType { update_index, message_type }),
    };
    if message.len() != expected_bytes {
        let length_bytes = message.len();
        return Err(PythError::MessageLength { update_index, message_type, length_bytes });
    }
    let feed_id = reader.array("message.feed_id")?;
    if message_type == MESSAGE_TYPE_PRICE {
        return Ok(PythMessage::Price(PriceMessage {
            feed_id,
            price: reader.i64("price.price")?,
            conf: reader.u64("price.conf")?,
            exponent: reader.i32("price.exponent")?,
            publish_time_s: reader.i64("price.publish_time")?,
            prev_publish_time_s: reader.i64("price.prev_publish_time")?,
            ema_price: reader.i64("price.ema_price")?,
            ema_conf: reader.u64("price.ema_conf")?,
        }));
    }
    Ok(PythMessage::Twap(TwapMessage {
        feed_id,
        cumulative_price: reader.i128("twap.cumulative_price")?,
        cumulative_conf: reader.u128("twap.cumulative_conf")?,
        num_down_slots: reader.u64("twap.num_down_slots")?,
        exponent: reader.i32("twap.exponent")?,
        publish_time_s: reader.i64("twap.publish_time")?,
        prev_publish_time_s: reader.i64("twap.prev_publish_time")?,
        publish_slot: reader.u64("twap.publish_slot")?,
    }))
}

/// A fully verified accumulator update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUpdate {
    /// Guardian set that signed the root.
    pub guardian_set_index: u32,
    /// Valid signatures (all present; verification fails closed).
    pub signatures_valid: usize,
    /// Quorum that was required.
    pub quorum: usize,
    /// Pythnet slot of the root.
    pub slot: u64,
    /// VAA observation time, unix seconds (not for staleness: use `publish_time_s`).
    pub vaa_timestamp_s: u32,
    /// VAA emitter sequence.
    pub sequence: u64,
    /// Messages in envelope order.
    pub messages: Vec<PythMessage>,
}

impl VerifiedUpdate {
    /// The price messages only.
    pub fn prices(&self) -> impl Iterator<Item = &PriceMessage> {
        self.messages.iter().filter_map(|message| match message {
            PythMessage::Price(price) => Some(price),
            PythMessage::Twap(_) => None,
        })
    }
}

/// Parses and verifies an accumulator update (rules 1–5 of the module docs).
///
/// # Errors
/// The [`PythError`] of the first rule that fails.
pub fn verify_accumulator_update(
    bytes: &[u8],
    signers: &impl SignerSetSource,
) -> Result<VerifiedUpdate, PythError> {
    let update = parse_accumulator_update(bytes)?;
    update.vaa.require_emitter(PYTHNET_CHAIN_ID, &PYTHNET_ACCUMULATOR_EMITTER)?;
    let root = parse_merkle_root(update.vaa.payload)?;
    for (update_index, merkle_update) in update.updates.iter().enumerate() {
        if !verify_merkle_proof(merkle_update.message, &merkle_update.proof, &root.root) {
            return Err(PythError::Merkle { update_index });
        }
    }
    let signatures = verify_signatures(&update.vaa, signers)?;
    let messages = update
        .updates
        .iter()
        .enumerate()
        .map(|(update_index, merkle_update)| decode_message(merkle_update.message, update_index))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifiedUpdate {
        guardian_set_index: signatures.guardian_set_index,
        signatures_valid: signatures.signatures_valid,
        quorum: signatures.quorum,
        slot: root.slot,
        vaa_timestamp_s: update.vaa.timestamp_s,
        sequence: update.vaa.sequence,
        messages,
    })
}

/// `now − publish_time` in seconds (negative when the price claims to be from the future).
pub fn age_s(publish_time_s: i64, now_s: i64) -> i64 {
    now_s.saturating_sub(publish_time_s)
}

/// Pyth staleness: rejects when `|now − publish_time| > max_age` (the absolute difference, as
/// `getPriceNoOlderThan`: a price from the future beyond `max_age` is rejected too).
///
/// # Errors
/// [`PythError::Stale`].
pub fn check_staleness(price: &PriceMessage, now_s: i64, max_age_s: u64) -> Result<(), PythError> {
    if price.publish_time_s.abs_diff(now_s) <= max_age_s {
        return Ok(());
    }
    Err(PythError::Stale {
        feed_id_hex: hex::encode(price.feed_id),
        publish_time_s: price.publish_time_s,
        now_s,
        age_s: age_s(price.publish_time_s, now_s),
        max_age_s,
    })
}

/// Confidence check: requires `price > 0` and `conf / price ≤ max_conf_ratio_bps / 10 000`
/// (compared exactly in integers: `conf × 10 000 ≤ price × bps`).
///
/// # Errors
/// [`PythError::Confidence`].
pub fn check_confidence(price: i64, conf: u64, max_conf_ratio_bps: u64) -> Result<(), PythError> {
    let within = u128::try_from(price).ok().filter(|p| *p > 0).is_some_and(|price_abs| {
        u128::from(conf) * 10_000 <= price_abs * u128::from(max_conf_ratio_bps)
    });
    if within {
        return Ok(());
    }
    Err(PythError::Confidence { price, conf, max_conf_ratio_bps })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::wormhole::{GuardianSets, SignerSet};
    use base64::Engine;

    const BTC_B64: &str =
        include_str!("../../tests/fixtures/oracles/pyth/pnau_btc_2023-07-28_gs3.b64");
    const TRUMP_HEX: &str =
        include_str!("../../tests/fixtures/oracles/pyth/pnau_trump_2025-04-02.hex");

    fn btc_bytes() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(BTC_B64.trim()).unwrap()
    }

    fn trump_bytes() -> Vec<u8> {
        hex::decode(TRUMP_HEX.trim()).unwrap()
    }

    fn only_price(update: &VerifiedUpdate) -> PriceMessage {
        assert_eq!(update.messages.len(), 1);
        *update.prices().next().unwrap()
    }

    #[test]
    fn btc_fixture_verifies_against_guardian_set_3() {
        let sets = GuardianSets::mainnet().unwrap();
        let bytes = btc_bytes();
        let parsed = parse_accumulator_update(&bytes).unwrap();
        assert_eq!(parsed.updates[0].proof.len(), 8);
        let update = verify_accumulator_update(&bytes, &sets).unwrap();
        assert_eq!(
            (update.guardian_set_index, update.signatures_valid, update.quorum),
            (3, 13, 13)
        );
        assert_eq!(update.slot, 85_480_034);
        let price = only_price(&update);
        assert_eq!(
            hex::encode(price.feed_id),
            "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"
        );
        assert_eq!((price.price, price.conf, price.exponent), (2_931_999_000_000, 705_950_551, -8));
        assert_eq!(
            (price.publish_time_s, price.prev_publish_time_s),
            (1_690_576_635, 1_690_576_634)
        );
        assert_eq!((price.ema_price, price.ema_conf), (2_929_734_300_000, 625_449_400));
    }

    #[test]
    fn trump_fixture_verifies_against_guardian_set_4() {
        let sets = GuardianSets::mainnet().unwrap();
        let bytes = trump_bytes();
        assert_eq!(parse_accumulator_update(&bytes).unwrap().updates[0].proof.len(), 12);
        let update = verify_accumulator_update(&bytes, &sets).unwrap();
        assert_eq!(
            (update.guardian_set_index, update.signatures_valid, update.quorum),
            (4, 13, 13)
        );
        assert_eq!(update.slot, 208_075_477);
        let price = only_price(&update);
        assert_eq!(
            hex::encode(price.feed_id),
            "879551021853eec7a7dc827578e8e69da7e4fa8148339aa0d3d5296405be4b1a"
        );
        assert_eq!((price.price, price.conf, price.exponent), (960_310_184, 11_022_234, -8));
        assert_eq!(
            (price.publish_time_s, price.prev_publish_time_s),
            (1_743_631_834, 1_743_631_834)
        );
        assert_eq!((price.ema_price, price.ema_conf), (1_022_389_000, 2_406_225));
    }

    #[test]
    fn a_configured_set_with_the_wrong_index_is_an_unknown_guardian_set() {
        let sets = GuardianSets::mainnet().unwrap();
        let set4 = sets.get(4).unwrap().clone();
        let err = verify_accumulator_update(&btc_bytes(), &set4).unwrap_err();
        assert_eq!(err.rule(), "guardian_set");
        // Set 4 keys under an index-free configuration: index 0 differs from set 3, whose
        // guardian 0 signed the BTC update.
        let unindexed = SignerSet::new(None, set4.addresses.clone(), None).unwrap();
        let err = verify_accumulator_update(&btc_bytes(), &unindexed).unwrap_err();
        assert_eq!(err.rule(), "signer_mismatch");
        let set3_unindexed =
            SignerSet::new(None, sets.get(3).unwrap().addresses.clone(), None).unwrap();
        assert!(verify_accumulator_update(&btc_bytes(), &set3_unindexed).is_ok());
    }

    #[test]
    fn unknown_guardian_set_is_rejected() {
        let mut bytes = btc_bytes();
        let vaa_start = 4 + 3 + usize::from(bytes[6]) + 1 + 2;
        bytes[vaa_start + 4] = 9; // guardian_set_index = 9
        let err = verify_accumulator_update(&bytes, &GuardianSets::mainnet().unwrap()).unwrap_err();
        assert_eq!(err, PythError::Vaa(VaaError::UnknownGuardianSet { guardian_set_index: 9 }));
    }

    #[test]
    fn flipped_message_byte_fails_the_merkle_check() {
        let mut bytes = btc_bytes();
        let last_price_byte = bytes.len() - 1 - 8 * 20 - 1 - 20; // inside the price message
        bytes[last_price_byte] ^= 0x01;
        let err = verify_accumulator_update(&bytes, &GuardianSets::mainnet().unwrap()).unwrap_err();
        assert_eq!(err, PythError::Merkle { update_index: 0 });
        let mut bytes = trump_bytes();
        let proof_byte = bytes.len() - 5;
        bytes[proof_byte] ^= 0x80;
        let err = verify_accumulator_update(&bytes, &GuardianSets::mainnet().unwrap()).unwrap_err();
        assert_eq!(err.rule(), "merkle");
    }

    /// Rewrites the VAA inside `bytes` keeping only the first `keep` signatures.
    fn keep_signatures(bytes: &[u8], keep: usize) -> Vec<u8> {
        let header_end = 4 + 3 + usize::from(bytes[6]) + 1;
        let vaa_len = usize::from(u16::from_be_bytes([bytes[header_end], bytes[header_end + 1]]));
        let vaa = &bytes[header_end + 2..header_end + 2 + vaa_len];
        let count = usize::from(vaa[5]);
        let mut new_vaa = vaa[..5].to_vec();
        new_vaa.push(u8::try_from(keep).unwrap());
        new_vaa.extend_from_slice(&vaa[6..6 + keep * 66]);
        new_vaa.extend_from_slice(&vaa[6 + count * 66..]);
        let mut out = bytes[..header_end].to_vec();
        out.extend_from_slice(&u16::try_from(new_vaa.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&new_vaa);
        out.extend_from_slice(&bytes[header_end + 2 + vaa_len..]);
        out
    }

    #[test]
    fn too_few_signatures_fail_the_quorum() {
        let sets = GuardianSets::mainnet().unwrap();
        let bytes = keep_signatures(&btc_bytes(), 12);
        let err = verify_accumulator_update(&bytes, &sets).unwrap_err();
        assert_eq!(err, PythError::Vaa(VaaError::Quorum { signatures_valid: 12, quorum: 13 }));
        // The same 12 pass a configured quorum of 12.
        let set12 = sets.get(3).unwrap().with_quorum(12).unwrap();
        assert_eq!(verify_accumulator_update(&bytes, &set12).unwrap().signatures_valid, 12);
    }

    #[test]
    fn a_corrupted_or_reordered_signature_fails_closed() {
        let sets = GuardianSets::mainnet().unwrap();
        let original = btc_bytes();
        let vaa_start = 4 + 3 + usize::from(original[6]) + 1 + 2;
        let mut bytes = original.clone();
        bytes[vaa_start + 6 + 66 + 10] ^= 1; // r of the second signature
        let rule = verify_accumulator_update(&bytes, &sets).unwrap_err().rule();
        assert!(rule == "signer_mismatch" || rule == "signature", "{rule}");
        let mut bytes = original.clone();
        bytes[vaa_start + 6 + 66] = bytes[vaa_start + 6]; // duplicate the first guardian index
        assert_eq!(verify_accumulator_update(&bytes, &sets).unwrap_err().rule(), "signer_order");
        let mut bytes = original;
        let s_start = vaa_start + 6 + 1 + 32;
        let s: [u8; 32] = bytes[s_start..s_start + 32].try_into().unwrap();
        bytes[s_start..s_start + 32]
            .copy_from_slice(&crate::oracle::secp::tests::negate_scalar(&s));
        bytes[s_start + 32] ^= 1;
        assert_eq!(verify_accumulator_update(&bytes, &sets).unwrap_err().rule(), "high_s");
    }

    #[test]
    fn envelope_rules_are_enforced() {
        let sets = GuardianSets::mainnet().unwrap();
        let mut bytes = btc_bytes();
        bytes[0] = b'X';
        assert_eq!(verify_accumulator_update(&bytes, &sets).unwrap_err().rule(), "magic");
        let mut bytes = btc_bytes();
        bytes[4] = 2;
        assert_eq!(
            verify_accumulator_update(&bytes, &sets).unwrap_err(),
            PythError::MajorVersion { major: 2 }
        );
        let mut bytes = btc_bytes();
        bytes.push(0);
        assert_eq!(verify_accumulator_update(&bytes, &sets).unwrap_err().rule(), "trailing_bytes");
        let bytes = btc_bytes();
        for cut in [0, 3, 10, 200, bytes.len() - 1] {
            assert!(verify_accumulator_update(&bytes[..cut], &sets).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn a_higher_minor_version_is_accepted() {
        let mut bytes = btc_bytes();
        bytes[5] = bytes[5].wrapping_add(1);
        assert!(verify_accumulator_update(&bytes, &GuardianSets::mainnet().unwrap()).is_ok());
    }

    #[test]
    fn staleness_uses_the_absolute_difference() {
        let update =
            verify_accumulator_update(&trump_bytes(), &GuardianSets::mainnet().unwrap()).unwrap();
        let price = only_price(&update);
        let publish_time_s = price.publish_time_s;
        assert!(check_staleness(&price, publish_time_s + 10, 10).is_ok());
        assert!(check_staleness(&price, publish_time_s - 10, 10).is_ok());
        let err = check_staleness(&price, publish_time_s + 11, 10).unwrap_err();
        assert_eq!(err.rule(), "staleness");
        assert!(err.is_retryable());
        assert!(check_staleness(&price, publish_time_s - 11, 10).is_err());
        assert_eq!(age_s(publish_time_s, publish_time_s - 3), -3);
    }

    #[test]
    fn confidence_ratio_is_checked_exactly() {
        // BTC fixture: conf/price = 705950551 / 2931999000000 ≈ 2.4 bps.
        assert!(check_confidence(2_931_999_000_000, 705_950_551, 3).is_ok());
        assert!(check_confidence(2_931_999_000_000, 705_950_551, 2).is_err());
        assert!(check_confidence(100, 1, 100).is_ok());
        assert!(check_confidence(0, 0, 100).is_err());
        assert!(check_confidence(-5, 0, 100).is_err());
    }

    #[test]
    fn unknown_message_types_and_lengths_are_rejected() {
        assert_eq!(decode_message(&[7; 85], 0).unwrap_err().rule(), "message_type");
        assert_eq!(decode_message(&[0; 84], 1).unwrap_err().rule(), "message_length");
        assert!(matches!(decode_message(&[1; 101], 0), Ok(PythMessage::Twap(_))));
        assert!(decode_message(&[], 0).is_err());
    }
}
