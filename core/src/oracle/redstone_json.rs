//! RedStone gateway JSON: rebuilds each package's signed bytes from the JSON fields so the
//! signature can be checked exactly as for a binary payload, then aggregates per data-package id.
//!
//! The gateway sends values as JSON numbers (f64) with an optional per-point `decimals` (default
//! 8). The node signed `parseUnits(Number(value).toFixed(decimals))`, so the rebuild must copy JS
//! `toFixed`: the exact binary value of the f64, rounded to `decimals` digits, ties to the larger
//! candidate (reference `oracles.md` §2.6). Rust's `{:.8}` rounds ties to even, so the rounding
//! here is done by hand on the exact decimal expansion. String values use decimal half-up
//! (`Decimal(value).toFixed(decimals)`).
//!
//! The gateway's own `isSignatureValid` is ignored; a package whose signature does not recover to
//! its `signerAddress` rejects the whole response (fail closed).

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

use super::redstone::{
    aggregate, AggregatedPrices, DataPoint, FeedId, RedstoneConfig, RedstoneError, SignedPackage,
    TIMESTAMP_MS_MAX,
};
use super::secp::{keccak256, EthAddress};
use super::u256::U256;

/// Default decimals of a numeric data point.
pub const DEFAULT_DECIMALS: u32 = 8;
/// Largest `decimals` accepted (JS `toFixed` allows 0..=100).
pub const DECIMALS_MAX: u32 = 100;
/// JS `toFixed` switches to exponent notation at 1e21, which `parseUnits` rejects.
const JS_TO_FIXED_LIMIT: f64 = 1e21;
/// Digits after the point that make any f64's decimal expansion exact (2^-1074 has 1074).
const EXACT_F64_FRACTION_DIGITS: usize = 1100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonPackage {
    timestamp_milliseconds: JsonNumber,
    signature: String,
    data_points: Vec<JsonDataPoint>,
    #[serde(default)]
    signer_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonDataPoint {
    data_feed_id: String,
    value: JsonScalar,
    #[serde(default)]
    decimals: Option<JsonNumber>,
}

/// Marks a number literal that [`quote_numbers`] turned into a string (a NUL cannot occur
/// unescaped in JSON text, so an original string can only carry it as `\u0000`).
const NUMBER_MARKER: char = '\0';

/// The exact source text of a JSON number literal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct JsonNumber(String);

impl TryFrom<String> for JsonNumber {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.strip_prefix(NUMBER_MARKER) {
            Some(literal) if is_json_number(literal) => Ok(Self(literal.to_owned())),
            _ => Err("expected a JSON number"),
        }
    }
}

impl JsonNumber {
    fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

/// A data point value: a number (exact literal) or a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
enum JsonScalar {
    Number(JsonNumber),
    Text(String),
}

impl From<String> for JsonScalar {
    fn from(text: String) -> Self {
        match JsonNumber::try_from(text.clone()) {
            Ok(number) => Self::Number(number),
            Err(_) => Self::Text(text),
        }
    }
}

/// JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = usize::from(bytes.first() == Some(&b'-'));
    let digits = |from: usize| {
        bytes[from.min(bytes.len())..].iter().take_while(|b| b.is_ascii_digit()).count()
    };
    let integer_digits = digits(index);
    if integer_digits == 0 || (integer_digits > 1 && bytes[index] == b'0') {
        return false;
    }
    index += integer_digits;
    if bytes.get(index) == Some(&b'.') {
        let fraction_digits = digits(index + 1);
        if fraction_digits == 0 {
            return false;
        }
        index += 1 + fraction_digits;
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'+' | b'-')) {
            index += 1;
        }
        let exponent_digits = digits(index);
        if exponent_digits == 0 {
            return false;
        }
        index += exponent_digits;
    }
    index == bytes.len()
}

/// Rewrites every number literal outside strings as a marked string, so the exact literal
/// reaches us: serde_json's default float parser is not correctly rounded for 17-digit values
/// (e.g. `3525.0055575750002`), and one ulp changes the signed `toFixed` result.
fn quote_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if in_string {
            out.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if ch == '-' || ch.is_ascii_digit() {
            out.push_str("\"\\u0000");
            out.push(ch);
            while let Some(next) =
                chars.next_if(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            {
                out.push(next);
            }
            out.push('"');
            continue;
        }
        in_string = ch == '"';
        out.push(ch);
    }
    out
}

/// The packages the gateway returned under one data-package id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayGroup {
    /// `dataPackageId` (usually the feed name; `__FRAXTAL__`-style ids carry several feeds).
    pub data_package_id: String,
    /// Packages with rebuilt signable digests and claimed signers.
    pub packages: Vec<SignedPackage>,
}

/// Parses a gateway response (`{ "<dataPackageId>": [package, …], … }`), rebuilding every package.
///
/// # Errors
/// [`RedstoneError::Json`] for malformed JSON or fields, [`RedstoneError::Value`] for a value
/// that cannot be reproduced as signed bytes.
pub fn parse_gateway_json(text: &str) -> Result<Vec<GatewayGroup>, RedstoneError> {
    let response: BTreeMap<String, Vec<JsonPackage>> =
        serde_json::from_str(&quote_numbers(text))
            .map_err(|err| RedstoneError::Json { message: err.to_string() })?;
    response
        .into_iter()
        .map(|(data_package_id, packages)| {
            let packages = packages
                .iter()
                .enumerate()
                .map(|(package_index, package)| rebuild_package(package, package_index))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(GatewayGroup { data_package_id, packages })
        })
        .collect()
}

/// Rebuilds one JSON package into the bytes its signer signed.
fn rebuild_package(
    package: &JsonPackage,
    package_index: usize,
) -> Result<SignedPackage, RedstoneError> {
    let json_err = |message: &str| RedstoneError::Json {
        message: format!("package {package_index}: {message}"),
    };
    let timestamp_ms = package
        .timestamp_milliseconds
        .as_u64()
        .filter(|ms| *ms <= TIMESTAMP_MS_MAX)
        .ok_or_else(|| json_err("timestamp is not an integer that fits 6 bytes"))?;
    let signature_bytes = base64::engine::general_purpose::STANDARD
        .decode(package.signature.trim())
        .map_err(|_| json_err("signature is not base64"))?;
    let signature: [u8; 65] =
        signature_bytes.try_into().map_err(|_| json_err("signature is not 65 bytes"))?;
    let claimed_signer = match &package.signer_address {
        Some(text) => Some(text.parse::<EthAddress>().map_err(|_| json_err("bad signerAddress"))?),
        None => None,
    };
    let mut points = package
        .data_points
        .iter()
        .map(|point| rebuild_point(point, package_index))
        .collect::<Result<Vec<_>, _>>()?;
    points.sort_by_key(|point| point.feed_id);
    if points.windows(2).any(|pair| pair[0].feed_id == pair[1].feed_id) {
        return Err(json_err("duplicate data feed id"));
    }
    let point_count = u32::try_from(points.len())
        .ok()
        .filter(|count| *count < (1 << 24))
        .ok_or_else(|| json_err("too many data points"))?;
    let mut signable = Vec::with_capacity(points.len() * 64 + 13);
    for point in &points {
        signable.extend_from_slice(&point.feed_id.0);
        signable.extend_from_slice(&point.value.to_be_bytes());
    }
    signable.extend_from_slice(&timestamp_ms.to_be_bytes()[2..]);
    signable.extend_from_slice(&32u32.to_be_bytes());
    signable.extend_from_slice(&point_count.to_be_bytes()[1..]);
    Ok(SignedPackage {
        timestamp_ms,
        points,
        signable_digest: keccak256(&signable),
        signature,
        claimed_signer,
    })
}

fn rebuild_point(point: &JsonDataPoint, package_index: usize) -> Result<DataPoint, RedstoneError> {
    let value_err =
        |reason| RedstoneError::Value { package_index, feed: point.data_feed_id.clone(), reason };
    let decimals = match &point.decimals {
        Some(number) => number.as_u64().ok_or_else(|| value_err("decimals is not an integer"))?,
        None => u64::from(DEFAULT_DECIMALS),
    };
    let decimals = u32::try_from(decimals)
        .ok()
        .filter(|d| *d <= DECIMALS_MAX)
        .ok_or_else(|| value_err("decimals above 100"))?;
    let value = match &point.value {
        JsonScalar::Number(number) => {
            // Rust's f64 parsing is correctly rounded, like JSON.parse.
            let float: f64 =
                number.0.parse().map_err(|_| value_err("number is not representable"))?;
            f64_to_fixed(float, decimals)
                .ok_or_else(|| value_err("number out of range for toFixed"))?
        }
        JsonScalar::Text(text) => decimal_str_to_fixed(text, decimals)
            .ok_or_else(|| value_err("string is not a decimal"))?,
    };
    Ok(DataPoint { feed_id: FeedId::from_name(&point.data_feed_id), value })
}

/// `parseUnits(Number(x).toFixed(decimals), decimals)`: the exact value of `x` rounded to
/// `decimals` digits, ties to the larger magnitude. `None` for negative, non-finite or ≥ 1e21
/// inputs, `decimals > 100`, or a result above 2^256 − 1.
pub fn f64_to_fixed(value: f64, decimals: u32) -> Option<U256> {
    if !(0.0..JS_TO_FIXED_LIMIT).contains(&value) || decimals > DECIMALS_MAX {
        return None;
    }
    // Rust prints the exact binary value when asked for enough digits; 1100 covers every f64.
    let exact = format!("{:.*}", EXACT_F64_FRACTION_DIGITS, value.abs());
    let (integer_digits, fraction_digits) = exact.split_once('.')?;
    round_half_up_to_fixed(integer_digits, fraction_digits, decimals)
}

/// `parseUnits(Decimal(text).toFixed(decimals), decimals)` for a plain non-negative decimal
/// string (`123`, `0.5`); half-up rounding. `None` for anything else.
pub fn decimal_str_to_fixed(text: &str, decimals: u32) -> Option<U256> {
    if decimals > DECIMALS_MAX {
        return None;
    }
    let (integer_digits, fraction_digits) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if integer_digits.is_empty() || !all_digits(integer_digits) || !all_digits(fraction_digits) {
        return None;
    }
    if text.contains('.') && fraction_digits.is_empty() {
        return None;
    }
    round_half_up_to_fixed(integer_digits, fraction_digits, decimals)
}

/// `integer.fraction` rounded half-up to `decimals` digits, as an integer scaled by 10^decimals.
fn round_half_up_to_fixed(
    integer_digits: &str,
    fraction_digits: &str,
    decimals: u32,
) -> Option<U256> {
    let decimals = usize::try_from(decimals).ok()?;
    let kept_fraction: String =
        fraction_digits.chars().chain(std::iter::repeat('0')).take(decimals).collect();
    let round_up = fraction_digits.as_bytes().get(decimals).is_some_and(|digit| *digit >= b'5');
    let scaled = U256::from_decimal_digits(&format!("{integer_digits}{kept_fraction}"))?;
    scaled.checked_add(U256::from_u128(u128::from(round_up)))
}

/// Per data-package id results of [`aggregate_gateway`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPrices {
    /// Groups that produced at least one feed.
    pub groups: BTreeMap<String, AggregatedPrices>,
    /// Groups where no feed reached the threshold, with the most unique signers any feed had.
    pub below_threshold: BTreeMap<String, usize>,
}

impl GatewayPrices {
    /// One value per feed: a feed's own single-feed group wins over multi-feed groups (such as
    /// `__FRAXTAL__`); otherwise the first group (by id) that carries it.
    pub fn feeds(&self) -> BTreeMap<FeedId, &super::redstone::FeedPrice> {
        let mut feeds = BTreeMap::new();
        for (group_id, prices) in &self.groups {
            for (feed_id, price) in &prices.feeds {
                if feed_id.name() == Some(group_id.as_str()) {
                    feeds.insert(*feed_id, price);
                }
            }
        }
        for prices in self.groups.values() {
            for (feed_id, price) in &prices.feeds {
                feeds.entry(*feed_id).or_insert(price);
            }
        }
        feeds
    }

    /// Oldest common timestamp among the groups, unix ms.
    pub fn timestamp_ms(&self) -> Option<u64> {
        self.groups.values().map(|prices| prices.timestamp_ms).min()
    }
}

/// Verifies and aggregates each data-package id separately (each is what a client would put in
/// one payload, so the same signer may legitimately sign a feed in two groups).
///
/// # Errors
/// Any [`RedstoneError`] other than a threshold miss rejects the whole response; a threshold
/// miss only drops its group, unless every group misses.
pub fn aggregate_gateway(
    groups: &[GatewayGroup],
    config: &RedstoneConfig,
    now_ms: u64,
) -> Result<GatewayPrices, RedstoneError> {
    let mut result = GatewayPrices { groups: BTreeMap::new(), below_threshold: BTreeMap::new() };
    let mut best_below = 0;
    for group in groups {
        match aggregate(&group.packages, config, now_ms) {
            Ok(prices) => {
                result.groups.insert(group.data_package_id.clone(), prices);
            }
            Err(RedstoneError::Threshold { unique_signers_max, .. }) => {
                best_below = best_below.max(unique_signers_max);
                result.below_threshold.insert(group.data_package_id.clone(), unique_signers_max);
            }
            Err(err) => return Err(err),
        }
    }
    if result.groups.is_empty() {
        if groups.is_empty() {
            return Err(RedstoneError::NoPackages);
        }
        let threshold = config.unique_signers_threshold;
        return Err(RedstoneError::Threshold { unique_signers_max: best_below, threshold });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_fixed_rounds_ties_up_unlike_rust_formatting() {
        // 0.001953125 = 2^-9 is an exact tie at 8 decimals: JS gives 0.00195313.
        assert_eq!(f64_to_fixed(0.001953125, 8), Some(U256::from_u128(195_313)));
        assert_eq!(format!("{:.8}", 0.001953125), "0.00195312");
        // 1.005 is really 1.00499999999999989…: rounds down at 2 decimals, as in JS.
        assert_eq!(f64_to_fixed(1.005, 2), Some(U256::from_u128(100)));
        assert_eq!(f64_to_fixed(1595.04422175, 8), Some(U256::from_u128(159_504_422_175)));
        assert_eq!(f64_to_fixed(0.0, 8), Some(U256::ZERO));
        assert_eq!(f64_to_fixed(2.5, 0), Some(U256::from_u128(3)));
        assert_eq!(f64_to_fixed(-1.0, 8), None);
        assert_eq!(f64_to_fixed(1e21, 8), None);
        assert_eq!(f64_to_fixed(f64::NAN, 8), None);
        assert_eq!(f64_to_fixed(1.0, 101), None);
    }

    #[test]
    fn number_literals_reach_the_rounding_exactly() {
        let quoted = quote_numbers(r#"{"a":[-1.5e3,0,"x\"1",true],"b":3525.0055575750002}"#);
        assert_eq!(
            quoted,
            r#"{"a":["\u0000-1.5e3","\u00000","x\"1",true],"b":"\u00003525.0055575750002"}"#
        );
        let value: JsonScalar = serde_json::from_str(&quote_numbers("3525.0055575750002")).unwrap();
        let JsonScalar::Number(number) = value else { panic!("not a number") };
        let float: f64 = number.0.parse().unwrap();
        // serde_json's default parser lands one ulp lower and would sign ...757.
        assert_eq!(f64_to_fixed(float, 8), Some(U256::from_u128(352_500_555_758)));
        let text: JsonScalar = serde_json::from_str(r#""1.25""#).unwrap();
        assert_eq!(text, JsonScalar::Text("1.25".to_owned()));
        for good in ["0", "-0", "1.5", "1e5", "1E-5", "-12.34e+2"] {
            assert!(is_json_number(good), "{good}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1-2", "--1", "1.2.3"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn decimal_strings_round_half_up() {
        assert_eq!(decimal_str_to_fixed("0.123456785", 8), Some(U256::from_u128(12_345_679)));
        assert_eq!(decimal_str_to_fixed("0.123456784999", 8), Some(U256::from_u128(12_345_678)));
        assert_eq!(decimal_str_to_fixed("12", 2), Some(U256::from_u128(1200)));
        for bad in ["", ".5", "5.", "-1", "1e5", "0x10", "1.2.3"] {
            assert_eq!(decimal_str_to_fixed(bad, 8), None, "{bad:?}");
        }
    }
}
