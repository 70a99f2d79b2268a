//! RedStone fixture tests (`core/tests/fixtures/oracles/README.md`) and derived negatives.

use super::*;
use crate::oracle::redstone_json::{aggregate_gateway, parse_gateway_json};
use crate::oracle::secp::keccak256;

const ETH_3SIG: &str =
    include_str!("../../../tests/fixtures/oracles/redstone/ETH_PRIMARY_3sig.hex");
const ETH_3SIG_NEWER: &str =
    include_str!("../../../tests/fixtures/oracles/redstone/ETH_PRIMARY_3sig_newer.hex");
const ETH_2SIG: &str =
    include_str!("../../../tests/fixtures/oracles/redstone/ETH_PRIMARY_2sig.hex");
const AVAX_OLD: &str =
    include_str!("../../../tests/fixtures/oracles/redstone/ETH_BTC_AVAX_5sig_OLD.hex");
const GATEWAY_JSON: &str =
    include_str!("../../../tests/fixtures/oracles/redstone/primary-prod-data-packages.json");

/// Trailer of a payload with empty metadata: count (2) + metadata length (3) + marker (9).
const EMPTY_TRAILER_BYTES: usize = 14;
const ONE_POINT_PACKAGE_BYTES: usize = 142;

fn bytes_of(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text.trim()).unwrap()
}

fn verify(
    hex_text: &str,
    config: &RedstoneConfig,
    now_ms: u64,
) -> Result<AggregatedPrices, RedstoneError> {
    let payload = parse_payload(&bytes_of(hex_text))?;
    aggregate(&payload.packages, config, now_ms)
}

fn feed(prices: &AggregatedPrices, name: &str) -> FeedPrice {
    prices.feeds.get(&FeedId::from_name(name)).cloned().unwrap()
}

fn avalanche_prod() -> RedstoneConfig {
    let signers = [
        "0x109B4a318A4F5ddcbCA6349B45f881B4137deaFB",
        "0x12470f7aba85c8b81d63137dd5925d6ee114952b",
        "0x1ea62d73edf8ac05dfcea1a34b9796e937a29eff",
        "0x83cba8c619fb629b81a65c2e67fe15cf3e3c9747",
        "0x2c59617248994D12816EE1Fa77CE0a64eEB456BF",
    ];
    RedstoneConfig {
        authorised_signers: signers.iter().map(|s| s.parse().unwrap()).collect(),
        ..RedstoneConfig::primary_prod()
    }
}

/// Builds a payload (empty metadata) from raw package bytes.
fn build_payload(packages: &[&[u8]]) -> Vec<u8> {
    let mut out: Vec<u8> = packages.concat();
    out.extend_from_slice(&u16::try_from(packages.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&REDSTONE_MARKER);
    out
}

fn packages_of(hex_text: &str) -> Vec<Vec<u8>> {
    let bytes = bytes_of(hex_text);
    bytes[..bytes.len() - EMPTY_TRAILER_BYTES]
        .chunks(ONE_POINT_PACKAGE_BYTES)
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn eth_primary_3sig_gives_the_expected_median() {
    let prices = verify(ETH_3SIG, &RedstoneConfig::primary_prod(), 1_744_563_500_000).unwrap();
    assert_eq!(prices.timestamp_ms, 1_744_563_500_000);
    let eth = feed(&prices, "ETH");
    assert_eq!(eth.value, U256::from_u128(159_504_422_175));
    let signers: Vec<String> = eth.signers.iter().map(ToString::to_string).collect();
    assert_eq!(
        signers,
        [
            "0x51ce04be4b3e32572c4ec9135221d0691ba7d202",
            "0x9c5ae89c4af6aa32ce58588dbaf90d18a855b6de",
            "0xdd682daec5a90dd295d14da4b0bec9281017b5be"
        ]
    );
    assert_eq!(prices.unknown_signer_packages, 0);
}

#[test]
fn eth_primary_3sig_newer_gives_the_median_of_three() {
    let prices =
        verify(ETH_3SIG_NEWER, &RedstoneConfig::primary_prod(), 1_744_563_600_000).unwrap();
    assert_eq!(feed(&prices, "ETH").value, U256::from_u128(159_526_674_144));
    assert_eq!(prices.timestamp_ms, 1_744_563_600_000);
}

#[test]
fn eth_primary_2sig_fails_the_threshold() {
    let err = verify(ETH_2SIG, &RedstoneConfig::primary_prod(), 1_744_563_670_000).unwrap_err();
    assert_eq!(err, RedstoneError::Threshold { unique_signers_max: 2, threshold: 3 });
    assert_eq!(err.rule(), "threshold");
}

#[test]
fn avax_old_verifies_with_avalanche_signers_only() {
    let now_ms = 1_707_738_270_000;
    let prices = verify(AVAX_OLD, &avalanche_prod(), now_ms).unwrap();
    assert_eq!(feed(&prices, "ETH").value, U256::from_u128(248_111_446_713));
    assert_eq!(feed(&prices, "BTC").value, U256::from_u128(4_783_856_731_782));
    assert_eq!(feed(&prices, "AVAX").value, U256::from_u128(3_859_000_000));
    let err = verify(AVAX_OLD, &RedstoneConfig::primary_prod(), now_ms).unwrap_err();
    assert_eq!(err.rule(), "threshold");
}

#[test]
fn fixtures_are_stale_against_a_later_clock() {
    let timestamp_ms = 1_744_563_500_000;
    let config = RedstoneConfig::primary_prod();
    assert!(verify(ETH_3SIG, &config, timestamp_ms + DEFAULT_MAX_AGE_MS).is_ok());
    let err = verify(ETH_3SIG, &config, timestamp_ms + DEFAULT_MAX_AGE_MS + 1).unwrap_err();
    assert_eq!(err.rule(), "timestamp_too_old");
    assert!(err.is_retryable());
    assert!(verify(ETH_3SIG, &config, timestamp_ms - DEFAULT_MAX_FUTURE_MS).is_ok());
    let err = verify(ETH_3SIG, &config, timestamp_ms - DEFAULT_MAX_FUTURE_MS - 1).unwrap_err();
    assert_eq!(err.rule(), "timestamp_too_future");
    // A wall clock of 2026-11-24 is far past the 2025 fixture.
    assert_eq!(
        verify(ETH_3SIG, &config, 1_795_000_000_000).unwrap_err().rule(),
        "timestamp_too_old"
    );
}

#[test]
fn unknown_signers_are_skipped_not_fatal() {
    // Drop 0x9c5a… from the allow-list: its package is skipped and ETH keeps two signers.
    let mut config = RedstoneConfig::primary_prod();
    config
        .authorised_signers
        .retain(|s| s.to_string() != "0x9c5ae89c4af6aa32ce58588dbaf90d18a855b6de");
    let err = verify(ETH_3SIG, &config, 1_744_563_500_000).unwrap_err();
    assert_eq!(err, RedstoneError::Threshold { unique_signers_max: 2, threshold: 3 });
    config.unique_signers_threshold = 2;
    let prices = verify(ETH_3SIG, &config, 1_744_563_500_000).unwrap();
    assert_eq!(prices.unknown_signer_packages, 1);
    assert_eq!(feed(&prices, "ETH").signers.len(), 2);
}

#[test]
fn a_flipped_value_byte_changes_the_signer() {
    let packages = packages_of(ETH_3SIG);
    let mut forged = packages[0].clone();
    forged[63] ^= 1; // last byte of the value
    let payload = build_payload(&[&forged, &packages[1], &packages[2]]);
    let parsed = parse_payload(&payload).unwrap();
    let err = aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000);
    assert_eq!(err.unwrap_err().rule(), "threshold");
}

#[test]
fn high_s_and_bad_v_are_rejected() {
    let packages = packages_of(ETH_3SIG);
    let mut high_s = packages[1].clone();
    let s_start = ONE_POINT_PACKAGE_BYTES - 33;
    let s: [u8; 32] = high_s[s_start..s_start + 32].try_into().unwrap();
    high_s[s_start..s_start + 32].copy_from_slice(&crate::oracle::secp::tests::negate_scalar(&s));
    let v_index = ONE_POINT_PACKAGE_BYTES - 1;
    high_s[v_index] = if high_s[v_index] == 27 { 28 } else { 27 };
    let payload = build_payload(&[&packages[0], &high_s, &packages[2]]);
    let parsed = parse_payload(&payload).unwrap();
    let err = aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000)
        .unwrap_err();
    assert_eq!(err.rule(), "high_s");
    let mut bad_v = packages[1].clone();
    bad_v[ONE_POINT_PACKAGE_BYTES - 1] = 1;
    let payload = build_payload(&[&packages[0], &bad_v, &packages[2]]);
    let parsed = parse_payload(&payload).unwrap();
    let err = aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000)
        .unwrap_err();
    assert_eq!(err, RedstoneError::SignatureV { package_index: 1, v: 1 });
}

#[test]
fn mixed_timestamps_and_duplicate_signers_are_rejected() {
    let older = packages_of(ETH_3SIG);
    let newer = packages_of(ETH_3SIG_NEWER);
    let payload = build_payload(&[&older[0], &newer[1], &newer[2]]);
    let parsed = parse_payload(&payload).unwrap();
    let err = aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000)
        .unwrap_err();
    assert_eq!(err.rule(), "timestamp_mismatch");
    let payload = build_payload(&[&older[0], &older[1], &older[1], &older[2]]);
    let parsed = parse_payload(&payload).unwrap();
    let err = aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000)
        .unwrap_err();
    assert_eq!(err.rule(), "duplicate_signer");
}

#[test]
fn malformed_payloads_are_rejected() {
    let bytes = bytes_of(ETH_3SIG);
    let mut bad_marker = bytes.clone();
    *bad_marker.last_mut().unwrap() = 1;
    assert_eq!(parse_payload(&bad_marker).unwrap_err().rule(), "marker");
    let mut prefixed = vec![0xab];
    prefixed.extend_from_slice(&bytes);
    assert_eq!(
        parse_payload(&prefixed).unwrap_err(),
        RedstoneError::PayloadRemainder { count_bytes: 1 }
    );
    for cut in [5, 13, 20, 141, 300] {
        assert!(parse_payload(&bytes[cut..]).is_err(), "cut {cut}");
    }
    // A metadata length larger than the input.
    let mut long_metadata = bytes.clone();
    let len_index = long_metadata.len() - 12;
    long_metadata[len_index] = 0xff;
    assert_eq!(parse_payload(&long_metadata).unwrap_err().rule(), "truncated");
    // Value size 0.
    let packages = packages_of(ETH_3SIG);
    let mut zero_size = packages[0].clone();
    zero_size[ONE_POINT_PACKAGE_BYTES - 65 - 4..ONE_POINT_PACKAGE_BYTES - 65]
        .copy_from_slice(&[0; 4]);
    let err = parse_payload(&build_payload(&[&zero_size])).unwrap_err();
    assert_eq!(err.rule(), "value_size");
    assert_eq!(
        aggregate(&[], &RedstoneConfig::primary_prod(), 0).unwrap_err().rule(),
        "no_packages"
    );
}

#[test]
fn unsigned_metadata_is_skipped() {
    let packages = packages_of(ETH_3SIG);
    let mut payload: Vec<u8> = packages.concat();
    payload.extend_from_slice(&3u16.to_be_bytes());
    payload.extend_from_slice(b"hello");
    payload.extend_from_slice(&[0, 0, 5]);
    payload.extend_from_slice(&REDSTONE_MARKER);
    let parsed = parse_payload(&payload).unwrap();
    assert_eq!(parsed.unsigned_metadata, b"hello");
    assert!(aggregate(&parsed.packages, &RedstoneConfig::primary_prod(), 1_744_563_500_000).is_ok());
}

/// Signs a one-point-per-feed package with a test key (v = 27/28) and returns its bytes.
fn signed_package(
    key_byte: u8,
    timestamp_ms: u64,
    points: &[(&str, u128)],
) -> (Vec<u8>, EthAddress) {
    let key = k256::ecdsa::SigningKey::from_bytes(&[key_byte; 32].into()).unwrap();
    let xy: [u8; 64] =
        key.verifying_key().to_encoded_point(false).as_bytes()[1..].try_into().unwrap();
    let mut sorted: Vec<(FeedId, u128)> =
        points.iter().map(|(n, v)| (FeedId::from_name(n), *v)).collect();
    sorted.sort();
    let mut bytes = Vec::new();
    for (feed_id, value) in &sorted {
        bytes.extend_from_slice(&feed_id.0);
        bytes.extend_from_slice(&U256::from_u128(*value).to_be_bytes());
    }
    bytes.extend_from_slice(&timestamp_ms.to_be_bytes()[2..]);
    bytes.extend_from_slice(&32u32.to_be_bytes());
    bytes.extend_from_slice(&u32::try_from(sorted.len()).unwrap().to_be_bytes()[1..]);
    let (signature, recovery) = key.sign_prehash_recoverable(&keccak256(&bytes)).unwrap();
    bytes.extend_from_slice(&signature.to_bytes());
    bytes.push(27 + recovery.to_byte());
    (bytes, EthAddress::from_public_key(&xy))
}

#[test]
fn zero_values_are_ignored_and_even_counts_take_the_floor_mean() {
    let timestamp_ms = 1_700_000_000_000;
    let (a, signer_a) = signed_package(1, timestamp_ms, &[("ETH", 100), ("BTC", 0)]);
    let (b, signer_b) = signed_package(2, timestamp_ms, &[("ETH", 0), ("BTC", 0)]);
    let (c, signer_c) = signed_package(3, timestamp_ms, &[("ETH", 301), ("BTC", 7)]);
    let config = RedstoneConfig {
        authorised_signers: vec![signer_a, signer_b, signer_c],
        unique_signers_threshold: 2,
        ..RedstoneConfig::primary_prod()
    };
    let parsed = parse_payload(&build_payload(&[&a, &b, &c])).unwrap();
    let prices = aggregate(&parsed.packages, &config, timestamp_ms).unwrap();
    let eth = feed(&prices, "ETH");
    assert_eq!(eth.value, U256::from_u128(200)); // floor((100 + 301) / 2)
    assert_eq!(eth.signers.len(), 2);
    assert!(!eth.signers.contains(&signer_b));
    assert_eq!(prices.below_threshold.get(&FeedId::from_name("BTC")), Some(&1));
}

#[test]
fn median_matches_the_rust_sdk() {
    let values = |xs: &[u128]| xs.iter().map(|x| U256::from_u128(*x)).collect::<Vec<_>>();
    assert_eq!(median(values(&[3, 1, 2])), U256::from_u128(2));
    assert_eq!(median(values(&[4, 1, 2, 3])), U256::from_u128(2));
    assert_eq!(median(values(&[1, 4])), U256::from_u128(2));
    assert_eq!(median(values(&[7])), U256::from_u128(7));
    assert_eq!(median(values(&[])), U256::ZERO);
}

#[test]
fn feed_ids_pad_short_names_and_hash_long_ones() {
    let eth = FeedId::from_name("ETH");
    assert_eq!(&eth.0[..4], b"ETH\0");
    assert_eq!(eth.to_string(), "ETH");
    let long_name = "A".repeat(32);
    let hashed = FeedId::from_name(&long_name);
    assert_eq!(hashed.0, crate::oracle::secp::keccak256(long_name.as_bytes()));
    assert!(hashed.to_string().starts_with("0x"));
    assert_eq!(FeedId::from_name(&"B".repeat(31)).name(), Some("B".repeat(31).as_str()));
}

#[test]
fn gateway_json_rebuilds_every_package_and_gives_the_expected_medians() {
    let groups = parse_gateway_json(GATEWAY_JSON).unwrap();
    assert_eq!(groups.len(), 129);
    assert_eq!(groups.iter().map(|g| g.packages.len()).sum::<usize>(), 645);
    let prices =
        aggregate_gateway(&groups, &RedstoneConfig::primary_prod(), 1_719_856_900_000).unwrap();
    assert!(prices.below_threshold.is_empty(), "{:?}", prices.below_threshold);
    assert_eq!(prices.groups.len(), 129);
    assert_eq!(prices.timestamp_ms(), Some(1_719_856_900_000));
    let feeds = prices.feeds();
    let expected = [
        ("ETH", 348_695_203_485u128),
        ("BTC", 6_359_779_995_623),
        ("USDT", 99_877_775),
        ("USDC", 99_988_697),
        ("stETH", 348_566_049_560),
        ("USDe", 99_845_969),
    ];
    for (name, value) in expected {
        let price = feeds.get(&FeedId::from_name(name)).unwrap();
        assert_eq!(price.value, U256::from_u128(value), "{name}");
        assert_eq!(price.signers.len(), 5, "{name}");
    }
    // USDC.DAI uses decimals 14 and still verifies (it is in the result at all).
    assert!(feeds.contains_key(&FeedId::from_name("USDC.DAI")));
}

#[test]
fn gateway_json_with_a_tampered_value_fails_closed() {
    let tampered =
        GATEWAY_JSON.replacen("\"value\": 1.03280834076226,", "\"value\": 1.03280835076226,", 1);
    assert_ne!(tampered, GATEWAY_JSON);
    let groups = parse_gateway_json(&tampered).unwrap();
    let err =
        aggregate_gateway(&groups, &RedstoneConfig::primary_prod(), 1_719_856_900_000).unwrap_err();
    assert_eq!(err.rule(), "signer_mismatch");
    assert_eq!(parse_gateway_json("{").unwrap_err().rule(), "json");
    assert_eq!(parse_gateway_json("[]").unwrap_err().rule(), "json");
}

#[test]
fn gateway_json_is_stale_against_the_wall_clock() {
    let groups = parse_gateway_json(GATEWAY_JSON).unwrap();
    let err =
        aggregate_gateway(&groups, &RedstoneConfig::primary_prod(), 1_795_000_000_000).unwrap_err();
    assert_eq!(err.rule(), "timestamp_too_old");
}
