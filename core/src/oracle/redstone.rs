//! RedStone signed data packages: the binary payload format, signer recovery and the aggregation
//! rules that turn packages into one price per feed.
//!
//! Payload layout (reference `oracles.md` §2.1), parsed **from the end**:
//! `[package 1] … [package k] [k: u16] [unsigned metadata: L bytes] [L: u24] [marker: 9 bytes]`,
//! each package `[points: n × (32 + V)] [timestamp_ms: 6] [V: 4] [n: 3] [r ‖ s ‖ v: 65]`.
//!
//! Aggregation ([`aggregate`], the rust-sdk rules, §2.4–2.5), in this order:
//! 1. At least one package; every package carries the same timestamp.
//! 2. The timestamp is at most `max_age_ms` old and at most `max_future_ms` ahead of `now_ms`
//!    (both inclusive).
//! 3. Each signature recovers over keccak256(signable bytes) with low s and v ∈ {27, 28}; a
//!    package with a claimed signer (gateway JSON) must recover to that signer.
//! 4. Packages from signers outside the allow-list are skipped (counted); zero values are ignored;
//!    one signer giving one feed twice is an error.
//! 5. A feed needs values from at least `unique_signers_threshold` distinct authorised signers,
//!    else it is left out (reported in `below_threshold`); its value is the median of all values
//!    (even count: floor of the mean of the two middle values). No feed reaching the threshold is
//!    an error.

use std::collections::BTreeMap;
use std::fmt;

use super::bytes::{BackReader, Truncated};
use super::secp::{keccak256, recover_address, EthAddress, SignatureError};
use super::u256::U256;

/// The 9 bytes that end every RedStone payload.
pub const REDSTONE_MARKER: [u8; 9] = [0x00, 0x00, 0x02, 0xed, 0x57, 0x01, 0x1e, 0x00, 0x00];
/// Bytes of a feed id.
pub const FEED_ID_BYTES: usize = 32;
/// Largest value size V.
pub const VALUE_BYTES_MAX: usize = 32;
const SIGNATURE_BYTES: usize = 65;
/// Largest timestamp that fits the 6-byte field.
pub const TIMESTAMP_MS_MAX: u64 = (1 << 48) - 1;

/// The five `redstone-primary-prod` signers hard-coded on chain (`PrimaryProdDataServiceConsumerBase`).
pub const PRIMARY_PROD_SIGNERS: [&str; 5] = [
    "0x8BB8F32Df04c8b654987DAaeD53D6B6091e3B774",
    "0xdEB22f54738d54976C4c0fe5ce6d408E40d88499",
    "0x51Ce04Be4b3E32572C4Ec9135221d0691Ba7d202",
    "0xDD682daEC5A90dD295d14DA4b0bec9281017b5bE",
    "0x9c5AE89C4Af6aA32cE58588DBaF90d18a855B6de",
];

/// Why a RedStone payload or package set was rejected. `rule()` names the failed rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedstoneError {
    /// The bytes ended early.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// The payload does not end with the marker.
    #[error("payload does not end with the RedStone marker (found {found_hex})")]
    Marker {
        /// Last bytes found, hex.
        found_hex: String,
    },
    /// A package's value size is 0 or above 32.
    #[error("package {package_index}: value size {value_bytes} is not in 1..=32")]
    ValueSize {
        /// Package position (payload order).
        package_index: usize,
        /// V found.
        value_bytes: u64,
    },
    /// Bytes in front of the payload.
    #[error("{count_bytes} bytes remain in front of the payload")]
    PayloadRemainder {
        /// How many.
        count_bytes: usize,
    },
    /// Rule 1: nothing to aggregate.
    #[error("no data packages")]
    NoPackages,
    /// Rule 1.
    #[error("package {package_index} has timestamp {timestamp_ms} ms, others {expected_ms} ms")]
    TimestampMismatch {
        /// Package position.
        package_index: usize,
        /// Its timestamp.
        timestamp_ms: u64,
        /// The first package's timestamp.
        expected_ms: u64,
    },
    /// Rule 2.
    #[error("timestamp {timestamp_ms} ms is more than {max_age_ms} ms before now {now_ms} ms")]
    TimestampTooOld {
        /// Package timestamp.
        timestamp_ms: u64,
        /// Caller's clock.
        now_ms: u64,
        /// Limit.
        max_age_ms: u64,
    },
    /// Rule 2.
    #[error("timestamp {timestamp_ms} ms is more than {max_future_ms} ms after now {now_ms} ms")]
    TimestampTooFuture {
        /// Package timestamp.
        timestamp_ms: u64,
        /// Caller's clock.
        now_ms: u64,
        /// Limit.
        max_future_ms: u64,
    },
    /// Rule 3: v is not 27/28.
    #[error("package {package_index}: signature v = {v} is not 27 or 28")]
    SignatureV {
        /// Package position.
        package_index: usize,
        /// Byte found.
        v: u8,
    },
    /// Rule 3: malformed or high-s signature.
    #[error("package {package_index}: {source}")]
    Signature {
        /// Package position.
        package_index: usize,
        /// What was wrong.
        source: SignatureError,
    },
    /// Rule 3: recovered signer differs from the claimed one.
    #[error(
        "package {package_index}: signature recovers to {recovered}, package claims {claimed}"
    )]
    SignerMismatch {
        /// Package position.
        package_index: usize,
        /// Claimed signer.
        claimed: EthAddress,
        /// Recovered signer.
        recovered: EthAddress,
    },
    /// Rule 4.
    #[error("signer {signer} gives feed {feed} more than once")]
    DuplicateSigner {
        /// Feed.
        feed: FeedId,
        /// Signer.
        signer: EthAddress,
    },
    /// Rule 5: no feed reached the threshold.
    #[error("no feed has {threshold} unique authorised signers (best: {unique_signers_max})")]
    Threshold {
        /// Most unique authorised signers any feed had.
        unique_signers_max: usize,
        /// Required.
        threshold: usize,
    },
    /// Gateway JSON could not be read.
    #[error("gateway JSON: {message}")]
    Json {
        /// Parser message.
        message: String,
    },
    /// A gateway JSON value cannot be rebuilt into signed bytes.
    #[error("package {package_index}, feed {feed}: {reason}")]
    Value {
        /// Package position within its data-package id.
        package_index: usize,
        /// Feed name.
        feed: String,
        /// Why.
        reason: &'static str,
    },
    /// Unusable configuration.
    #[error("configuration: {reason}")]
    Config {
        /// Why.
        reason: &'static str,
    },
}

impl RedstoneError {
    /// Short name of the rule that failed (used in JSON error output).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "truncated",
            Self::Marker { .. } => "marker",
            Self::ValueSize { .. } => "value_size",
            Self::PayloadRemainder { .. } => "payload_remainder",
            Self::NoPackages => "no_packages",
            Self::TimestampMismatch { .. } => "timestamp_mismatch",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::TimestampTooFuture { .. } => "timestamp_too_future",
            Self::SignatureV { .. } => "signature_v",
            Self::Signature { source: SignatureError::HighS, .. } => "high_s",
            Self::Signature { .. } => "signature",
            Self::SignerMismatch { .. } => "signer_mismatch",
            Self::DuplicateSigner { .. } => "duplicate_signer",
            Self::Threshold { .. } => "threshold",
            Self::Json { .. } => "json",
            Self::Value { .. } => "value",
            Self::Config { .. } => "config",
        }
    }

    /// True when a later payload may pass (timestamps); false for forged or malformed data.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::TimestampTooOld { .. } | Self::TimestampTooFuture { .. })
    }
}

/// A RedStone feed id: the UTF-8 name zero-padded to 32 bytes, or keccak256 of names > 31 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedId(pub [u8; 32]);

impl FeedId {
    /// The id of a feed name (`convertStringToBytes32`). Names are case-sensitive.
    pub fn from_name(name: &str) -> Self {
        let bytes = name.as_bytes();
        if bytes.len() > FEED_ID_BYTES - 1 {
            return Self(keccak256(bytes));
        }
        let mut id = [0u8; 32];
        id[..bytes.len()].copy_from_slice(bytes);
        Self(id)
    }

    /// The name if the id is a zero-padded printable string, else `None` (hashed ids).
    pub fn name(&self) -> Option<&str> {
        let len = self.0.iter().position(|b| *b == 0).unwrap_or(FEED_ID_BYTES);
        if len == 0 || self.0[len..].iter().any(|b| *b != 0) {
            return None;
        }
        let text = std::str::from_utf8(&self.0[..len]).ok()?;
        text.chars().all(|c| !c.is_control()).then_some(text)
    }
}

impl fmt::Display for FeedId {
    /// The name, or `0x…` hex for hashed ids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{}", hex::encode(self.0)),
        }
    }
}

impl fmt::Debug for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One data point: feed and unsigned value (fixed point, 8 decimals unless stated otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataPoint {
    /// Feed.
    pub feed_id: FeedId,
    /// Value.
    pub value: U256,
}

/// A signed data package ready for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPackage {
    /// Package time, unix milliseconds.
    pub timestamp_ms: u64,
    /// Data points in signed order.
    pub points: Vec<DataPoint>,
    /// keccak256 of the signable bytes (everything before the signature).
    pub signable_digest: [u8; 32],
    /// r ‖ s ‖ v.
    pub signature: [u8; 65],
    /// Signer the source claims (gateway JSON `signerAddress`); binary payloads claim none.
    pub claimed_signer: Option<EthAddress>,
}

/// A parsed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Packages in payload order.
    pub packages: Vec<SignedPackage>,
    /// Unsigned metadata bytes (not covered by any signature).
    pub unsigned_metadata: Vec<u8>,
}

/// Parses a payload occupying all of `bytes` (no prefix allowed, as the rust-sdk).
///
/// # Errors
/// [`RedstoneError`] for a missing marker, truncation, a bad value size or a non-empty prefix.
pub fn parse_payload(bytes: &[u8]) -> Result<Payload, RedstoneError> {
    let mut reader = BackReader::new(bytes);
    let marker = reader.take_back(REDSTONE_MARKER.len(), "redstone.marker")?;
    if marker != REDSTONE_MARKER {
        return Err(RedstoneError::Marker { found_hex: hex::encode(marker) });
    }
    let metadata_bytes = reader.uint_back(3, "redstone.metadata_len")?;
    let metadata_bytes = usize::try_from(metadata_bytes).unwrap_or(usize::MAX);
    let unsigned_metadata = reader.take_back(metadata_bytes, "redstone.metadata")?.to_vec();
    let package_count = reader.uint_back(2, "redstone.package_count")?;
    let mut packages = Vec::new();
    for back_index in 0..package_count {
        let package_index = usize::try_from(package_count - 1 - back_index).unwrap_or(usize::MAX);
        packages.push(parse_package_back(&mut reader, package_index)?);
    }
    packages.reverse();
    if !reader.remaining().is_empty() {
        return Err(RedstoneError::PayloadRemainder { count_bytes: reader.remaining().len() });
    }
    Ok(Payload { packages, unsigned_metadata })
}

/// Peels one package off the back of `reader`.
fn parse_package_back(
    reader: &mut BackReader<'_>,
    package_index: usize,
) -> Result<SignedPackage, RedstoneError> {
    let mut signature = [0u8; SIGNATURE_BYTES];
    signature.copy_from_slice(reader.take_back(SIGNATURE_BYTES, "package.signature")?);
    let point_count = reader.uint_back(3, "package.point_count")?;
    let value_bytes = reader.uint_back(4, "package.value_size")?;
    if value_bytes == 0 || value_bytes > VALUE_BYTES_MAX as u64 {
        return Err(RedstoneError::ValueSize { package_index, value_bytes });
    }
    let timestamp_ms = reader.uint_back(6, "package.timestamp")?;
    let point_bytes = FEED_ID_BYTES + value_bytes as usize;
    let points_len = usize::try_from(point_count).unwrap_or(usize::MAX).saturating_mul(point_bytes);
    let points_raw = reader.take_back(points_len, "package.data_points")?;
    let mut points = Vec::with_capacity(points_raw.len() / point_bytes);
    for chunk in points_raw.chunks_exact(point_bytes) {
        let mut feed_id = [0u8; FEED_ID_BYTES];
        feed_id.copy_from_slice(&chunk[..FEED_ID_BYTES]);
        let value = U256::from_be_slice(&chunk[FEED_ID_BYTES..]).unwrap_or(U256::ZERO);
        points.push(DataPoint { feed_id: FeedId(feed_id), value });
    }
    // Signable bytes = everything before the signature, re-assembled from the fields just read.
    let mut signable = Vec::with_capacity(points_raw.len() + 13);
    signable.extend_from_slice(points_raw);
    signable.extend_from_slice(&timestamp_ms.to_be_bytes()[2..]);
    signable.extend_from_slice(&(value_bytes as u32).to_be_bytes());
    signable.extend_from_slice(&(point_count as u32).to_be_bytes()[1..]);
    Ok(SignedPackage {
        timestamp_ms,
        points,
        signable_digest: keccak256(&signable),
        signature,
        claimed_signer: None,
    })
}

/// Allow-list, threshold and timestamp tolerance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedstoneConfig {
    /// Authorised signers; packages from others are skipped.
    pub authorised_signers: Vec<EthAddress>,
    /// Distinct authorised signers a feed needs.
    pub unique_signers_threshold: usize,
    /// Oldest accepted package, ms before now (inclusive).
    pub max_age_ms: u64,
    /// Furthest accepted package, ms after now (inclusive).
    pub max_future_ms: u64,
}

/// EVM connector default: 3 minutes back.
pub const DEFAULT_MAX_AGE_MS: u64 = 3 * 60 * 1000;
/// EVM connector default: 1 minute ahead.
pub const DEFAULT_MAX_FUTURE_MS: u64 = 60 * 1000;

impl RedstoneConfig {
    /// `redstone-primary-prod`: the five on-chain signers, threshold 3, EVM time tolerance.
    pub fn primary_prod() -> Self {
        let authorised_signers =
            PRIMARY_PROD_SIGNERS.iter().filter_map(|text| text.parse().ok()).collect();
        Self {
            authorised_signers,
            unique_signers_threshold: 3,
            max_age_ms: DEFAULT_MAX_AGE_MS,
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`RedstoneError::Config`] for an empty allow-list or a threshold of 0 or above its size.
    pub fn validate(&self) -> Result<(), RedstoneError> {
        if self.authorised_signers.is_empty() {
            return Err(RedstoneError::Config { reason: "no authorised signers" });
        }
        if self.unique_signers_threshold == 0 {
            return Err(RedstoneError::Config { reason: "threshold must be at least 1" });
        }
        if self.unique_signers_threshold > self.authorised_signers.len() {
            return Err(RedstoneError::Config {
                reason: "threshold exceeds the number of signers",
            });
        }
        Ok(())
    }
}

/// One aggregated feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPrice {
    /// Median value.
    pub value: U256,
    /// Distinct authorised signers that contributed, sorted.
    pub signers: Vec<EthAddress>,
}

/// The result of [`aggregate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatedPrices {
    /// Common package timestamp, unix ms.
    pub timestamp_ms: u64,
    /// Feeds that reached the threshold.
    pub feeds: BTreeMap<FeedId, FeedPrice>,
    /// Feeds that did not, with their count of distinct authorised signers.
    pub below_threshold: BTreeMap<FeedId, usize>,
    /// Packages skipped because their signer is not authorised.
    pub unknown_signer_packages: usize,
}

/// Verifies and aggregates packages (rules 1–5 of the module docs).
///
/// # Errors
/// The [`RedstoneError`] of the first rule that fails.
pub fn aggregate(
    packages: &[SignedPackage],
    config: &RedstoneConfig,
    now_ms: u64,
) -> Result<AggregatedPrices, RedstoneError> {
    config.validate()?;
    let timestamp_ms = common_timestamp_ms(packages)?;
    check_timestamp(timestamp_ms, now_ms, config)?;
    let mut values: BTreeMap<FeedId, Vec<(EthAddress, U256)>> = BTreeMap::new();
    let mut unknown_signer_packages = 0;
    for (package_index, package) in packages.iter().enumerate() {
        let signer = recover_package_signer(package, package_index)?;
        if !config.authorised_signers.contains(&signer) {
            unknown_signer_packages += 1;
            continue;
        }
        for point in package.points.iter().filter(|point| !point.value.is_zero()) {
            let entries = values.entry(point.feed_id).or_default();
            if entries.iter().any(|(existing, _)| *existing == signer) {
                return Err(RedstoneError::DuplicateSigner { feed: point.feed_id, signer });
            }
            entries.push((signer, point.value));
        }
    }
    let mut result = AggregatedPrices {
        timestamp_ms,
        feeds: BTreeMap::new(),
        below_threshold: BTreeMap::new(),
        unknown_signer_packages,
    };
    for (feed_id, entries) in values {
        if entries.len() < config.unique_signers_threshold {
            result.below_threshold.insert(feed_id, entries.len());
            continue;
        }
        let mut signers: Vec<EthAddress> = entries.iter().map(|(signer, _)| *signer).collect();
        signers.sort();
        let value = median(entries.iter().map(|(_, value)| *value).collect());
        result.feeds.insert(feed_id, FeedPrice { value, signers });
    }
    if result.feeds.is_empty() {
        let unique_signers_max = result.below_threshold.values().copied().max().unwrap_or(0);
        let threshold = config.unique_signers_threshold;
        return Err(RedstoneError::Threshold { unique_signers_max, threshold });
    }
    Ok(result)
}

/// Rule 1: the timestamp every package shares.
fn common_timestamp_ms(packages: &[SignedPackage]) -> Result<u64, RedstoneError> {
    let expected_ms = packages.first().ok_or(RedstoneError::NoPackages)?.timestamp_ms;
    for (package_index, package) in packages.iter().enumerate() {
        if package.timestamp_ms != expected_ms {
            let timestamp_ms = package.timestamp_ms;
            return Err(RedstoneError::TimestampMismatch {
                package_index,
                timestamp_ms,
                expected_ms,
            });
        }
    }
    Ok(expected_ms)
}

/// Rule 2, both bounds inclusive.
///
/// # Errors
/// [`RedstoneError::TimestampTooOld`] or [`RedstoneError::TimestampTooFuture`].
pub fn check_timestamp(
    timestamp_ms: u64,
    now_ms: u64,
    config: &RedstoneConfig,
) -> Result<(), RedstoneError> {
    if now_ms.saturating_sub(timestamp_ms) > config.max_age_ms {
        let max_age_ms = config.max_age_ms;
        return Err(RedstoneError::TimestampTooOld { timestamp_ms, now_ms, max_age_ms });
    }
    if timestamp_ms.saturating_sub(now_ms) > config.max_future_ms {
        let max_future_ms = config.max_future_ms;
        return Err(RedstoneError::TimestampTooFuture { timestamp_ms, now_ms, max_future_ms });
    }
    Ok(())
}

/// Rule 3: recovers the signer (v ∈ {27, 28}, low s) and checks the claimed signer.
///
/// # Errors
/// [`RedstoneError::SignatureV`], [`RedstoneError::Signature`], [`RedstoneError::SignerMismatch`].
pub fn recover_package_signer(
    package: &SignedPackage,
    package_index: usize,
) -> Result<EthAddress, RedstoneError> {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&package.signature[..32]);
    s.copy_from_slice(&package.signature[32..64]);
    let v = package.signature[64];
    if v != 27 && v != 28 {
        return Err(RedstoneError::SignatureV { package_index, v });
    }
    let recovered = recover_address(&package.signable_digest, &r, &s, v - 27)
        .map_err(|source| RedstoneError::Signature { package_index, source })?;
    match package.claimed_signer {
        Some(claimed) if claimed != recovered => {
            Err(RedstoneError::SignerMismatch { package_index, claimed, recovered })
        }
        _ => Ok(recovered),
    }
}

/// Median as the rust-sdk: odd count → middle value; even → floor of the mean of the middle two.
/// An empty input yields zero (callers only pass feeds that met a threshold ≥ 1).
pub fn median(mut values: Vec<U256>) -> U256 {
    values.sort_unstable();
    let middle_index = values.len() / 2;
    match (values.len() % 2, values.get(middle_index)) {
        (1, Some(value)) => *value,
        (_, Some(upper)) => match middle_index.checked_sub(1).and_then(|i| values.get(i)) {
            Some(lower) => U256::floor_average(*lower, *upper),
            None => *upper,
        },
        _ => U256::ZERO,
    }
}

#[cfg(test)]
mod tests;
