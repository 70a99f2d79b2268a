//! Unit tests against the shared Ethena vectors (`core/tests/fixtures/ethena-test-vectors.json`,
//! a verbatim copy of `shared/reference/ethena-test-vectors.json`) plus edge cases.

use alloy_primitives::{hex, keccak256, Address, B256, U256};
use serde_json::Value;

use super::eip712::{
    domain_separator, encode_order, encode_order_with_typehash, order_digest, order_id_hash,
    order_struct_hash, order_typehash_v2, typed_data_digest, DOMAIN_NAME, DOMAIN_TYPE,
    DOMAIN_VERSION, ORDER_TYPE_V2, ORDER_TYPE_V2_STRUCT_ORDER,
};
use super::json::parse_order_json;
use super::model::{DelegatedSignerStatus, Order, OrderType};
use super::nonce::{check_nonce_unused, mark_nonce_used, nonces_collide, NonceSlot};
use super::route::Route;
use super::signing::{recover_signer, verify_eip712_signature, OrderSigner, SignerRole};
use super::stables::{check_stables_limit, StablesInput};
use super::{NonceError, RouteError, SignatureError, StablesError};

const VECTORS_JSON: &str = include_str!("../../tests/fixtures/ethena-test-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS_JSON).expect("fixture is valid JSON")
}

/// The raw text of each `"order": {…}` object in the fixture, so big JSON integers reach our
/// own parser untouched (serde_json would round them through f64).
fn raw_fixture_orders() -> Vec<&'static str> {
    let mut orders = Vec::new();
    let mut rest = VECTORS_JSON;
    while let Some(start) = rest.find("\"order\": {") {
        let object = &rest[start + "\"order\": ".len()..];
        let end = object.find('}').expect("flat order object closes");
        orders.push(&object[..=end]);
        rest = &object[end..];
    }
    orders
}

fn b256(text: &str) -> B256 {
    text.parse().expect("fixture hash")
}

fn address(text: &str) -> Address {
    text.parse().expect("fixture address")
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("fixture field {key} is a string"))
}

fn u128_field(value: &Value, key: &str) -> u128 {
    match &value[key] {
        Value::String(text) => text.parse().expect("decimal string"),
        Value::Number(number) => u128::from(number.as_u64().expect("small fixture number")),
        other => panic!("fixture field {key} is not a number: {other}"),
    }
}

fn vector_order() -> Order {
    parse_order_json(raw_fixture_orders()[0].as_bytes()).expect("vector 1 order parses")
}

const V2_MAINNET: &str = "0xe3490297a08d6fC8Da46Edb7B6142E4F461b62D3";

// ---- §1 constants ----

#[test]
fn constants_hash_to_the_vector_values() {
    let vectors = vectors();
    let constants = &vectors["constants"];
    let typehash = |key: &str| {
        let pair = constants[key].as_array().expect("pair");
        (pair[0].as_str().expect("preimage"), b256(pair[1].as_str().expect("hash")))
    };
    let (domain_preimage, domain_hash) = typehash("DOMAIN_TYPEHASH");
    assert_eq!(domain_preimage, DOMAIN_TYPE);
    assert_eq!(keccak256(DOMAIN_TYPE), domain_hash);
    let (order_preimage, order_hash) = typehash("V2_ORDER_TYPEHASH");
    assert_eq!(order_preimage, ORDER_TYPE_V2);
    assert_eq!(order_typehash_v2(), order_hash);
    let (alt_preimage, alt_hash) =
        typehash("V2_ALT_ORDER_TYPEHASH(struct-order string, NOT deployed for USDe)");
    assert_eq!(alt_preimage, ORDER_TYPE_V2_STRUCT_ORDER);
    assert_eq!(keccak256(ORDER_TYPE_V2_STRUCT_ORDER), alt_hash);
    let (_, name_hash) = typehash("NAME_HASH keccak(\"EthenaMinting\")");
    assert_eq!(keccak256(DOMAIN_NAME), name_hash);
    let (_, version_hash) = typehash("VERSION_HASH keccak(\"1\")");
    assert_eq!(keccak256(DOMAIN_VERSION), version_hash);
}

// ---- §2 domain separators ----

#[test]
fn domain_separators_match_every_vector() {
    let vectors = vectors();
    let separators = vectors["domain_separators"].as_object().expect("object");
    assert_eq!(separators.len(), 4);
    for (label, expected) in separators {
        // Labels look like "V2 mainnet chainId=1 0xe349…".
        let chain_id: u64 = label
            .split("chainId=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|digits| digits.parse().ok())
            .expect("chain id in label");
        let contract = address(label.rsplit(' ').next().expect("address in label"));
        let expected = b256(expected.as_str().expect("hex"));
        assert_eq!(domain_separator(chain_id, contract), expected, "{label}");
    }
}

// ---- §3 keys ----

#[test]
fn test_keys_map_to_their_addresses() {
    let vectors = vectors();
    let keys = &vectors["keys"];
    let cases = [
        ("0x1DC", "0x1DC (Foundry test \"benefactor\" key)"),
        ("0x1DAC", "0x1DAC (Foundry test \"beneficiary\" key)"),
        (
            "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4",
            "keccak256(\"cow\") (EIP-712 spec key)",
        ),
    ];
    for (key_hex, label) in cases {
        let signer = OrderSigner::from_hex(key_hex).expect("valid key");
        assert_eq!(signer.address(), address(str_field(keys, label)), "{label}");
    }
    assert_eq!(keccak256("cow"), b256(cases[2].0));
}

// ---- §4 vector 1 ----

#[test]
fn vector1_encoding_struct_hash_and_digest_are_byte_exact() {
    let vectors = vectors();
    let expected = &vectors["orders"][0];
    let order = vector_order();
    assert_eq!(order.order_id, "rfq-0001");
    assert_eq!(order.usde_amount, 24_975_000_000_000_000_000);
    let separator = domain_separator(1, address(V2_MAINNET));
    assert_eq!(separator, b256(str_field(expected, "domainSeparator")));
    let encoded = encode_order(&order);
    assert_eq!(hex::encode_prefixed(encoded), str_field(expected, "encodeOrder"));
    assert_eq!(order_struct_hash(&order), b256(str_field(expected, "structHash")));
    assert_eq!(order_digest(separator, &order), b256(str_field(expected, "digest(hashOrder)")));
}

#[test]
fn vector1_signature_is_byte_exact_low_s_and_recovers() {
    let vectors = vectors();
    let expected = &vectors["orders"][0];
    let order = vector_order();
    let digest = order_digest(domain_separator(1, address(V2_MAINNET)), &order);
    let signer = OrderSigner::from_hex(str_field(expected, "signer_key")).expect("key");
    assert_eq!(signer.address(), address(str_field(expected, "signer")));
    let signature = signer.sign_digest(&digest).expect("signs");
    assert_eq!(signature.r, b256(str_field(expected, "r")));
    assert_eq!(signature.s, b256(str_field(expected, "s")));
    assert_eq!(u64::from(signature.v), expected["v"].as_u64().expect("v"));
    let bytes = signature.to_bytes();
    assert_eq!(hex::encode_prefixed(bytes), str_field(expected, "signature_bytes"));
    let recovered = recover_signer(&digest, &bytes).expect("recovers");
    assert_eq!(recovered, address(str_field(expected, "recovered")));
    let verified = verify_eip712_signature(&digest, &bytes, order.benefactor, |_| {
        panic!("delegation must not be consulted for the benefactor itself")
    })
    .expect("benefactor signature verifies");
    assert_eq!(verified.role, SignerRole::Benefactor);
}

#[test]
fn vector1_topic1_is_keccak_of_order_id() {
    let vectors = vectors();
    let pair = vectors["event_topics"]
        ["V2 Mint topic1 for order_id \"rfq-0001\" = keccak256(bytes(order_id))"]
        .as_array()
        .expect("pair");
    assert_eq!(order_id_hash(pair[0].as_str().expect("id")), b256(pair[1].as_str().expect("h")));
}

// ---- §4 vector 3: negative control ----

#[test]
fn negative_control_differs_and_is_reproduced_only_with_the_wrong_string() {
    let vectors = vectors();
    let control = &vectors["orders"][1];
    let raw_orders = raw_fixture_orders();
    assert_eq!(raw_orders.len(), 2);
    let order = parse_order_json(raw_orders[1].as_bytes()).expect("control order parses");
    assert_eq!(order, vector_order());
    let separator = domain_separator(1, address(V2_MAINNET));
    let wrong = encode_order_with_typehash(&order, keccak256(ORDER_TYPE_V2_STRUCT_ORDER));
    assert_eq!(hex::encode_prefixed(wrong), str_field(control, "encodeOrder"));
    let wrong_struct_hash = keccak256(wrong);
    assert_eq!(wrong_struct_hash, b256(str_field(control, "structHash")));
    let wrong_digest = typed_data_digest(separator, wrong_struct_hash);
    assert_eq!(wrong_digest, b256(str_field(control, "digest(hashOrder)")));
    // What we produce is not the control.
    let digest = order_digest(separator, &order);
    assert_ne!(digest, wrong_digest);
    assert_ne!(order_struct_hash(&order), wrong_struct_hash);
    // A signature over the wrong digest does not verify as the benefactor's on the real one.
    let control_bytes = hex::decode(str_field(control, "signature_bytes")).expect("hex");
    let result = verify_eip712_signature(&digest, &control_bytes, order.benefactor, |_| {
        DelegatedSignerStatus::Rejected
    });
    assert!(matches!(result, Err(SignatureError::WrongSigner { .. })), "{result:?}");
    assert_eq!(result.unwrap_err().contract_error(), Some("InvalidEIP712Signature"));
}

/// Cross-check: alloy's own EIP-712 implementation over a struct declared with the deployed
/// string's widths gives our struct hash; declared with the struct widths it gives the control.
#[test]
fn alloy_sol_types_eip712_agrees() {
    mod deployed {
        alloy_sol_types::sol! {
            struct Order { string order_id; uint8 order_type; uint128 expiry; uint120 nonce;
                address benefactor; address beneficiary; address collateral_asset;
                uint128 collateral_amount; uint128 usde_amount; }
        }
    }
    mod struct_order {
        alloy_sol_types::sol! {
            struct Order { string order_id; uint8 order_type; uint120 expiry; uint128 nonce;
                address benefactor; address beneficiary; address collateral_asset;
                uint128 collateral_amount; uint128 usde_amount; }
        }
    }
    use alloy_primitives::aliases::U120;
    use alloy_sol_types::SolStruct;
    let order = vector_order();
    let deployed_order = deployed::Order {
        order_id: order.order_id.clone(),
        order_type: 0,
        expiry: order.expiry_unix_s,
        nonce: U120::from(order.nonce),
        benefactor: order.benefactor,
        beneficiary: order.beneficiary,
        collateral_asset: order.collateral_asset,
        collateral_amount: order.collateral_amount,
        usde_amount: order.usde_amount,
    };
    assert_eq!(deployed_order.eip712_type_hash(), order_typehash_v2());
    assert_eq!(deployed_order.eip712_hash_struct(), order_struct_hash(&order));
    let struct_order = struct_order::Order {
        order_id: order.order_id.clone(),
        order_type: 0,
        expiry: U120::from(order.expiry_unix_s),
        nonce: order.nonce,
        benefactor: order.benefactor,
        beneficiary: order.beneficiary,
        collateral_asset: order.collateral_asset,
        collateral_amount: order.collateral_amount,
        usde_amount: order.usde_amount,
    };
    assert_ne!(struct_order.eip712_hash_struct(), order_struct_hash(&order));
    let domain = alloy_sol_types::eip712_domain! {
        name: "EthenaMinting", version: "1", chain_id: 1, verifying_contract: address(V2_MAINNET),
    };
    assert_eq!(domain.separator(), domain_separator(1, address(V2_MAINNET)));
    assert_eq!(
        deployed_order.eip712_signing_hash(&domain),
        order_digest(domain.separator(), &order)
    );
}

// ---- signature rules (OpenZeppelin 4.9 ECDSA.recover) ----

/// secp256k1 group order n.
const CURVE_ORDER: U256 =
    U256::from_be_bytes(hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"));

fn vector_signature_bytes() -> (B256, [u8; 65]) {
    let order = vector_order();
    let digest = order_digest(domain_separator(1, address(V2_MAINNET)), &order);
    let signer = OrderSigner::from_hex("0x1dc").expect("key");
    (digest, signer.sign_digest(&digest).expect("signs").to_bytes())
}

#[test]
fn high_s_twin_is_rejected_although_it_is_mathematically_valid() {
    let (digest, bytes) = vector_signature_bytes();
    let s = U256::from_be_slice(&bytes[32..64]);
    let mut twin = bytes;
    twin[32..64].copy_from_slice(&(CURVE_ORDER - s).to_be_bytes::<32>());
    twin[64] = if bytes[64] == 27 { 28 } else { 27 };
    let result = recover_signer(&digest, &twin);
    assert!(matches!(result, Err(SignatureError::HighS { .. })), "{result:?}");
}

#[test]
fn v_other_than_27_or_28_is_rejected() {
    let (digest, bytes) = vector_signature_bytes();
    for v in [0u8, 1, 26, 29, 255] {
        let mut altered = bytes;
        altered[64] = v;
        assert_eq!(recover_signer(&digest, &altered), Err(SignatureError::InvalidV { v }));
    }
}

#[test]
fn lengths_other_than_65_are_rejected() {
    let (digest, bytes) = vector_signature_bytes();
    for len_bytes in [0usize, 63, 64, 66] {
        let mut altered = bytes.to_vec();
        altered.resize(len_bytes, 0);
        assert_eq!(
            recover_signer(&digest, &altered),
            Err(SignatureError::InvalidLength { len_bytes })
        );
    }
}

#[test]
fn zero_r_or_s_is_unrecoverable() {
    let (digest, bytes) = vector_signature_bytes();
    let mut zero_r = bytes;
    zero_r[0..32].fill(0);
    assert_eq!(recover_signer(&digest, &zero_r), Err(SignatureError::Unrecoverable));
    let mut zero_s = bytes;
    zero_s[32..64].fill(0);
    assert_eq!(recover_signer(&digest, &zero_s), Err(SignatureError::Unrecoverable));
}

#[test]
fn delegate_needs_accepted_status() {
    let order = vector_order();
    let digest = order_digest(domain_separator(1, address(V2_MAINNET)), &order);
    let delegate = OrderSigner::from_hex("0x1DAC").expect("key");
    let bytes = delegate.sign_digest(&digest).expect("signs").to_bytes();
    for status in [DelegatedSignerStatus::Rejected, DelegatedSignerStatus::Pending] {
        let result = verify_eip712_signature(&digest, &bytes, order.benefactor, |_| status);
        assert_eq!(result, Err(SignatureError::WrongSigner { signer: delegate.address() }));
    }
    let verified = verify_eip712_signature(&digest, &bytes, order.benefactor, |signer| {
        assert_eq!(signer, delegate.address());
        DelegatedSignerStatus::Accepted
    })
    .expect("accepted delegate verifies");
    assert_eq!(verified.role, SignerRole::DelegatedSigner);
    assert_eq!(verified.signer, delegate.address());
}

#[test]
fn eip1271_return_must_be_the_clean_magic_word() {
    use super::signing::{check_eip1271_return, EIP1271_MAGIC_VALUE};
    let vectors = vectors();
    let magic = vectors["constants"]["EIP1271_MAGICVALUE"][1].as_str().expect("magic");
    assert_eq!(hex::encode_prefixed(EIP1271_MAGIC_VALUE), magic);
    assert_eq!(&keccak256("isValidSignature(bytes32,bytes)")[0..4], EIP1271_MAGIC_VALUE.as_slice());
    let mut word = [0u8; 32];
    word[0..4].copy_from_slice(&EIP1271_MAGIC_VALUE);
    assert_eq!(check_eip1271_return(&word), Ok(()));
    assert_eq!(check_eip1271_return(&word[0..4]), Err(SignatureError::Eip1271Rejected));
    let mut dirty = word;
    dirty[31] = 1;
    assert_eq!(check_eip1271_return(&dirty), Err(SignatureError::Eip1271Rejected));
    assert_eq!(check_eip1271_return(&[0u8; 32]), Err(SignatureError::Eip1271Rejected));
}

#[test]
fn signing_keys_parse_strictly_and_never_show_in_debug() {
    let signer = OrderSigner::from_hex("  0x1dc\n").expect("whitespace is trimmed");
    assert_eq!(signer.address(), OrderSigner::from_hex("1DC").expect("no prefix").address());
    let debug = format!("{signer:?}");
    assert!(!debug.contains("1dc") && !debug.contains("1DC") && debug.contains("address"));
    let zero = "0x0";
    let order_n = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    for bad in ["", "0x", zero, order_n, "0xzz", &"1".repeat(65)] {
        let result = OrderSigner::from_hex(bad);
        assert!(matches!(result, Err(SignatureError::InvalidKey { .. })), "{bad}: {result:?}");
    }
}

// ---- §7 nonce bitmap ----

#[test]
fn nonce_bitmap_matches_every_vector() {
    let vectors = vectors();
    let cases = vectors["nonce_bitmap"].as_array().expect("array");
    assert_eq!(cases.len(), 9);
    for case in cases {
        let nonce = u128_field(case, "nonce");
        let slot = NonceSlot::from_nonce(nonce).expect("non-zero nonce");
        assert_eq!(u128::from(slot.slot), u128_field(case, "slot"), "nonce {nonce}");
        assert_eq!(u64::from(slot.bit_index), case["bit_index"].as_u64().expect("bit"));
        let mask: U256 = str_field(case, "mask").parse().expect("mask");
        assert_eq!(slot.mask(), mask, "nonce {nonce}");
    }
}

#[test]
fn nonce_zero_is_invalid_and_low_64_bits_collide() {
    assert_eq!(NonceSlot::from_nonce(0), Err(NonceError::Zero));
    // 2^64 is not zero, so it is valid, and it shares slot 0 bit 0 with nothing smaller.
    assert_eq!(NonceSlot::from_nonce(1 << 64), Ok(NonceSlot { slot: 0, bit_index: 0 }));
    assert!(nonces_collide(1, (1 << 64) + 1));
    assert!(nonces_collide(1_735_689_600, (1 << 64) + 1_735_689_600));
    assert!(!nonces_collide(1, 2));
    let word = mark_nonce_used(1, U256::ZERO).expect("first use");
    assert_eq!(word, U256::from(2u8));
    assert_eq!(
        check_nonce_unused((1 << 64) + 1, word),
        Err(NonceError::AlreadyUsed { nonce: (1 << 64) + 1, slot: 0, bit_index: 1 })
    );
    assert!(check_nonce_unused(2, word).is_ok());
    assert_eq!(mark_nonce_used(0, word), Err(NonceError::Zero));
    assert_eq!(NonceError::Zero.contract_error(), Some("InvalidNonce"));
}

// ---- §8 route split ----

fn custodians(count: usize) -> Vec<Address> {
    (1..=count).map(|index| Address::with_last_byte(index as u8)).collect()
}

#[test]
fn route_split_matches_every_vector() {
    let vectors = vectors();
    let cases = vectors["route_split"].as_array().expect("array");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let amount = u128_field(case, "amount");
        let ratios: Vec<u128> = case["ratios"]
            .as_array()
            .expect("ratios")
            .iter()
            .map(|ratio| u128::from(ratio.as_u64().expect("ratio")))
            .collect();
        let expected: Vec<u128> = case["transfers"]
            .as_array()
            .expect("transfers")
            .iter()
            .map(|leg| u128::from(leg.as_u64().expect("leg")))
            .collect();
        let route = Route { addresses: custodians(ratios.len()), ratios_bps: ratios };
        route.validate(|_| true).expect("vector routes are valid");
        let (legs, split) = route.split(amount).expect("splits");
        assert_eq!(legs, expected, "amount {amount}");
        assert_eq!(split.remainder, u128_field(case, "remainder_added_to_last"));
        assert_eq!(legs.iter().sum::<u128>(), amount);
    }
}

#[test]
fn route_validation_rejects_each_broken_rule() {
    let two = custodians(2);
    let route = |addresses: Vec<Address>, ratios_bps: Vec<u128>| Route { addresses, ratios_bps };
    let all = |_: &Address| true;
    assert_eq!(route(vec![], vec![]).validate(all), Err(RouteError::Empty));
    assert_eq!(
        route(two.clone(), vec![10_000]).validate(all),
        Err(RouteError::LengthMismatch { addresses_count: 2, ratios_count: 1 })
    );
    assert_eq!(
        route(vec![two[0], Address::ZERO], vec![5_000, 5_000]).validate(all),
        Err(RouteError::ZeroAddress { leg_index: 1 })
    );
    assert_eq!(
        route(two.clone(), vec![5_000, 5_000]).validate(|a| *a == two[0]),
        Err(RouteError::NotCustodian { leg_index: 1 })
    );
    assert_eq!(
        route(two.clone(), vec![10_000, 0]).validate(all),
        Err(RouteError::ZeroRatio { leg_index: 1 })
    );
    assert_eq!(
        route(two.clone(), vec![5_000, 4_999]).validate(all),
        Err(RouteError::RatioSum { sum_bps: 9_999 })
    );
    assert_eq!(
        route(two.clone(), vec![u128::MAX, 2]).validate(all),
        Err(RouteError::RatioSum { sum_bps: u128::MAX })
    );
    let many = custodians(super::route::ROUTE_LEGS_MAX + 1);
    let ratios = vec![1; many.len()];
    assert!(matches!(route(many, ratios).validate(all), Err(RouteError::TooManyLegs { .. })));
    assert_eq!(RouteError::Empty.contract_error(), Some("InvalidRoute"));
}

#[test]
fn route_split_overflow_and_buffer_errors() {
    let route = Route { addresses: custodians(2), ratios_bps: vec![5_000, 5_000] };
    assert_eq!(route.split(u128::MAX), Err(RouteError::SplitOverflow { leg_index: 0 }));
    let mut short = [0u128; 1];
    assert_eq!(
        route.split_into(7, &mut short),
        Err(RouteError::OutputLength { len: 1, legs_count: 2 })
    );
    // The largest amount that does not overflow with a 10 000 bps leg.
    let single = Route { addresses: custodians(1), ratios_bps: vec![10_000] };
    let max_amount = u128::MAX / 10_000;
    assert_eq!(single.split(max_amount).expect("fits").0, vec![max_amount]);
}

// ---- §9 stables limit ----

#[test]
fn stables_limit_matches_every_vector() {
    let vectors = vectors();
    let cases = vectors["stables_limit"].as_array().expect("array");
    assert_eq!(cases.len(), 7);
    for case in cases {
        let order_type = match str_field(case, "order_type") {
            "MINT" => OrderType::Mint,
            _ => OrderType::Redeem,
        };
        let input = StablesInput {
            order_type,
            collateral_amount: u128_field(case, "collateral_amount"),
            collateral_decimals: case["collateral_decimals"].as_u64().expect("decimals") as u8,
            usde_amount: u128_field(case, "usde_amount"),
            limit_bps: u128_field(case, "stablesDeltaLimit"),
        };
        let expected_bps = u128_field(case, "differenceInBps");
        match check_stables_limit(&input) {
            Ok(check) => {
                assert!(case["passes"].as_bool().expect("passes"), "{case}");
                assert_eq!(check.difference_bps, expected_bps);
                assert_eq!(check.normalized_collateral_amount, u128_field(case, "normalized"));
            }
            Err(StablesError::LimitExceeded { difference_bps, limit_bps }) => {
                assert!(!case["passes"].as_bool().expect("passes"), "{case}");
                assert_eq!(difference_bps, expected_bps);
                assert_eq!(limit_bps, input.limit_bps);
            }
            Err(other) => panic!("unexpected {other:?} for {case}"),
        }
    }
}

#[test]
fn stables_limit_edge_cases() {
    let input = |collateral_amount, collateral_decimals, usde_amount| StablesInput {
        order_type: OrderType::Mint,
        collateral_amount,
        collateral_decimals,
        usde_amount,
        limit_bps: 0,
    };
    assert_eq!(check_stables_limit(&input(1, 6, 0)), Err(StablesError::ZeroUsdeAmount));
    assert_eq!(check_stables_limit(&input(u128::MAX, 6, 1)), Err(StablesError::Overflow));
    assert_eq!(check_stables_limit(&input(1, 255, 1)), Err(StablesError::Overflow));
    // 20 decimals scale down with floor: 100 -> 1.
    let check = check_stables_limit(&input(100, 20, 1)).expect("passes");
    assert_eq!(check.normalized_collateral_amount, 1);
    // Sub-bp rounding passes at limit 0: 1e18 + 1e13 USDe for 1 USDC-unit scaled is < 1 bp.
    let check = check_stables_limit(&input(1_000_000, 6, 1_000_010_000_000_000_000)).expect("ok");
    assert_eq!(check.difference_bps, 0);
    assert_eq!(
        StablesError::LimitExceeded { difference_bps: 1, limit_bps: 0 }.contract_error(),
        Some("InvalidStablePrice")
    );
}

// ---- §6 selectors (calldata uses struct widths) ----

#[test]
fn calldata_selectors_match_the_vectors() {
    use super::abi::IEthenaMintingV2 as V2;
    use alloy_sol_types::SolCall;
    let vectors = vectors();
    let selectors = &vectors["selectors"];
    let order = "(string,uint8,uint120,uint128,address,address,address,uint128,uint128)";
    let cases: [(&str, [u8; 4]); 11] = [
        ("mint", V2::mintCall::SELECTOR),
        ("mintWETH", V2::mintWETHCall::SELECTOR),
        ("redeem", V2::redeemCall::SELECTOR),
        ("hashOrder", V2::hashOrderCall::SELECTOR),
        ("encodeOrder", V2::encodeOrderCall::SELECTOR),
        ("verifyOrder", V2::verifyOrderCall::SELECTOR),
        ("verifyNonce", V2::verifyNonceCall::SELECTOR),
        ("verifyRoute", V2::verifyRouteCall::SELECTOR),
        ("verifyStablesLimit", V2::verifyStablesLimitCall::SELECTOR),
        ("transferToCustody", V2::transferToCustodyCall::SELECTOR),
        ("getDomainSeparator", V2::getDomainSeparatorCall::SELECTOR),
    ];
    let signatures = [
        format!("mint({order},(address[],uint128[]),(uint8,bytes))"),
        format!("mintWETH({order},(address[],uint128[]),(uint8,bytes))"),
        format!("redeem({order},(uint8,bytes))"),
        format!("hashOrder({order})"),
        format!("encodeOrder({order})"),
        format!("verifyOrder({order},(uint8,bytes))"),
        "verifyNonce(address,uint128)".to_string(),
        "verifyRoute((address[],uint128[]))".to_string(),
        "verifyStablesLimit(uint128,uint128,address,uint8)".to_string(),
        "transferToCustody(address,address,uint128)".to_string(),
        "getDomainSeparator()".to_string(),
    ];
    for ((name, selector), signature) in cases.iter().zip(&signatures) {
        let expected = str_field(selectors, &format!("V2 {signature}"));
        assert_eq!(hex::encode_prefixed(selector), expected, "{name}");
    }
    let disable = str_field(selectors, "common disableMintRedeem()");
    assert_eq!(hex::encode_prefixed(V2::disableMintRedeemCall::SELECTOR), disable);
}

#[test]
fn order_call_keeps_every_field_and_checks_expiry_width() {
    use super::abi::order_call;
    let order = vector_order();
    let call = order_call(&order).expect("fits");
    assert_eq!(call.order_id, order.order_id);
    assert_eq!(u128::try_from(call.expiry).expect("fits"), order.expiry_unix_s);
    assert_eq!(call.nonce, order.nonce);
    let too_late = Order { expiry_unix_s: 1 << 120, ..order };
    assert!(order_call(&too_late).is_err());
}
