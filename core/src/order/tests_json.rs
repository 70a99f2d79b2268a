//! Tests of the RFQ API order body parser (`json.rs`).

use alloy_primitives::Address;

use super::json::{order_to_api_json, parse_order_json, ORDER_JSON_BYTES_MAX};
use super::model::{Order, OrderType, UINT120_MAX};
use super::OrderJsonError;

const BENEFACTOR: &str = "0xBb8A8FE4f12953a5840C6570d5e836079329BE46";
const USDT: &str = "0xdAC17F958D2ee523a2206206994597C13D831ec7";

/// A body in the Python client's shape (numbers), with one field replaced by `value` (raw JSON).
fn body_with(field: &str, value: &str) -> String {
    let fields = [
        ("order_id", "\"rfq-0001\"".to_string()),
        ("order_type", "\"MINT\"".to_string()),
        ("expiry", "1735689600".to_string()),
        ("nonce", "1735689600".to_string()),
        ("benefactor", format!("\"{BENEFACTOR}\"")),
        ("beneficiary", format!("\"{BENEFACTOR}\"")),
        ("collateral_asset", format!("\"{USDT}\"")),
        ("collateral_amount", "25000000".to_string()),
        ("usde_amount", "24975000000000000000".to_string()),
    ];
    let members: Vec<String> = fields
        .iter()
        .map(|(name, default)| {
            let raw = if *name == field { value } else { default.as_str() };
            format!("\"{name}\": {raw}")
        })
        .collect();
    format!("{{{}}}", members.join(", "))
}

fn parse(text: &str) -> Result<Order, OrderJsonError> {
    parse_order_json(text.as_bytes())
}

fn base_order() -> Order {
    parse(&body_with("", "")).expect("base body parses")
}

#[test]
fn numbers_and_strings_give_the_same_order() {
    let from_numbers = base_order();
    let as_strings = body_with("usde_amount", "\"24975000000000000000\"")
        .replace("25000000,", "\"25000000\",")
        .replace("\"expiry\": 1735689600", "\"expiry\": \"1735689600\"")
        .replace("\"nonce\": 1735689600", "\"nonce\": \"1735689600\"");
    assert_eq!(parse(&as_strings), Ok(from_numbers.clone()));
    assert_eq!(from_numbers.usde_amount, 24_975_000_000_000_000_000);
    assert_eq!(from_numbers.order_type, OrderType::Mint);
}

#[test]
fn order_type_accepts_names_and_numbers_only() {
    assert_eq!(
        parse(&body_with("order_type", "\"REDEEM\"")).map(|o| o.order_type),
        Ok(OrderType::Redeem)
    );
    assert_eq!(parse(&body_with("order_type", "0")).map(|o| o.order_type), Ok(OrderType::Mint));
    assert_eq!(parse(&body_with("order_type", "1")).map(|o| o.order_type), Ok(OrderType::Redeem));
    for bad in ["\"mint\"", "2", "\"0\"", "1.0", "-0", "true", "null"] {
        let result = parse(&body_with("order_type", bad));
        assert!(
            matches!(
                result,
                Err(OrderJsonError::InvalidValue { field: "order_type", .. }
                    | OrderJsonError::WrongType { field: "order_type", .. })
            ),
            "{bad}: {result:?}"
        );
    }
}

#[test]
fn order_id_is_any_utf8_including_empty_and_escapes() {
    assert_eq!(parse(&body_with("order_id", "\"\"")).map(|o| o.order_id), Ok(String::new()));
    let escaped = parse(&body_with("order_id", r#""caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n""#));
    assert_eq!(escaped.map(|o| o.order_id), Ok("café 😀 \"q\" \\ / \n".to_string()));
    let raw_utf8 = parse(&body_with("order_id", "\"café 😀\""));
    assert_eq!(raw_utf8.map(|o| o.order_id), Ok("café 😀".to_string()));
    for bad in [r#""\ud83d""#, r#""\ude00""#, r#""\x41""#, "\"a\u{1}b\"", r#""\u12""#] {
        let result = parse(&body_with("order_id", bad));
        assert!(matches!(result, Err(OrderJsonError::Syntax { .. })), "{bad}: {result:?}");
    }
    let number = parse(&body_with("order_id", "5"));
    assert!(matches!(number, Err(OrderJsonError::WrongType { field: "order_id", .. })));
    let invalid_utf8 = [b"{\"order_id\": \"".as_slice(), &[0xff, 0xfe], b"\"}"].concat();
    assert!(matches!(parse_order_json(&invalid_utf8), Err(OrderJsonError::Syntax { .. })));
}

#[test]
fn integers_use_their_full_solidity_width() {
    let max_u128 = u128::MAX.to_string();
    let order = parse(&body_with("usde_amount", &max_u128)).expect("uint128 max fits");
    assert_eq!(order.usde_amount, u128::MAX);
    let over = "340282366920938463463374607431768211456"; // 2^128
    assert_eq!(
        parse(&body_with("usde_amount", over)),
        Err(OrderJsonError::OutOfRange { field: "usde_amount", bits: 128 })
    );
    assert_eq!(
        parse(&body_with("collateral_amount", &format!("\"{over}\""))),
        Err(OrderJsonError::OutOfRange { field: "collateral_amount", bits: 128 })
    );
    let expiry_max = parse(&body_with("expiry", &UINT120_MAX.to_string())).expect("fits");
    assert_eq!(expiry_max.expiry_unix_s, UINT120_MAX);
    assert_eq!(
        parse(&body_with("expiry", &(UINT120_MAX + 1).to_string())),
        Err(OrderJsonError::OutOfRange { field: "expiry", bits: 120 })
    );
    let nonce = parse(&body_with("nonce", &max_u128)).expect("nonce is uint128 in calldata");
    assert_eq!(nonce.nonce, u128::MAX);
    assert!(nonce.check_signable().is_err(), "but above the signed uint120");
    let leading_zero_string = parse(&body_with("nonce", "\"007\"")).expect("string digits");
    assert_eq!(leading_zero_string.nonce, 7);
}

#[test]
fn integers_refuse_signs_fractions_exponents_and_junk() {
    let cases = [
        ("-1", "negative"),
        ("1.5", "not an integer"),
        ("1e3", "not an integer"),
        ("1E3", "not an integer"),
        ("\"-1\"", "expected decimal digits only"),
        ("\"+1\"", "expected decimal digits only"),
        ("\" 1\"", "expected decimal digits only"),
        ("\"1.0\"", "expected decimal digits only"),
        ("\"\"", "expected decimal digits only"),
        ("\"0x10\"", "expected decimal digits only"),
    ];
    for (raw, reason) in cases {
        assert_eq!(
            parse(&body_with("collateral_amount", raw)),
            Err(OrderJsonError::InvalidValue { field: "collateral_amount", reason }),
            "{raw}"
        );
    }
    for raw in ["01", "1.", ".5", "1e", "--1", "+1", "0x10"] {
        let result = parse(&body_with("collateral_amount", raw));
        assert!(matches!(result, Err(OrderJsonError::Syntax { .. })), "{raw}: {result:?}");
    }
    for raw in ["[1]", "{\"a\":1}", "true", "null"] {
        let result = parse(&body_with("collateral_amount", raw));
        assert!(matches!(result, Err(OrderJsonError::WrongType { .. })), "{raw}: {result:?}");
    }
}

#[test]
fn addresses_in_any_case_but_mixed_case_must_be_checksummed() {
    let expected: Address = BENEFACTOR.parse().expect("address");
    for text in [
        BENEFACTOR.to_string(),
        BENEFACTOR.to_lowercase(),
        format!("0x{}", BENEFACTOR[2..].to_uppercase()),
    ] {
        let order = parse(&body_with("benefactor", &format!("\"{text}\""))).expect("accepted");
        assert_eq!(order.benefactor, expected, "{text}");
    }
    let bad_checksum = BENEFACTOR.replace("Bb8A", "bB8A");
    let cases = [
        (format!("\"{bad_checksum}\""), "bad EIP-55 checksum"),
        (format!("\"{}\"", &BENEFACTOR[2..]), "missing 0x prefix"),
        (format!("\"0X{}\"", &BENEFACTOR[2..]), "missing 0x prefix"),
        (format!("\"{}\"", &BENEFACTOR[..41]), "expected 40 hex digits"),
        (format!("\"{BENEFACTOR}0\""), "expected 40 hex digits"),
        ("\"0xgg8A8FE4f12953a5840C6570d5e836079329BE46\"".to_string(), "expected 40 hex digits"),
    ];
    for (raw, reason) in cases {
        assert_eq!(
            parse(&body_with("benefactor", &raw)),
            Err(OrderJsonError::InvalidAddress { field: "benefactor", reason }),
            "{raw}"
        );
    }
    assert!(matches!(
        parse(&body_with("beneficiary", "1")),
        Err(OrderJsonError::WrongType { field: "beneficiary", .. })
    ));
}

#[test]
fn object_shape_is_strict() {
    let base = body_with("", "");
    let duplicate = base.replacen('{', "{\"nonce\": 5, ", 1);
    assert_eq!(parse(&duplicate), Err(OrderJsonError::DuplicateField { field: "nonce" }));
    let unknown = base.replacen('{', "{\"signature\": \"0x\", ", 1);
    assert_eq!(parse(&unknown), Err(OrderJsonError::UnknownField { name: "signature".into() }));
    let missing = base.replace(", \"usde_amount\": 24975000000000000000", "");
    assert_eq!(parse(&missing), Err(OrderJsonError::MissingField { field: "usde_amount" }));
    assert_eq!(parse("{}"), Err(OrderJsonError::MissingField { field: "order_id" }));
    for bad in [
        format!("{base} x"),
        format!("{base}{{}}"),
        base.replacen('}', ",}", 1),
        base.replacen(':', "", 1),
        format!("[{base}]"),
        String::new(),
        "   ".to_string(),
        "\u{feff}{}".to_string(),
    ] {
        let result = parse(&bad);
        assert!(matches!(result, Err(OrderJsonError::Syntax { .. })), "{bad:?}: {result:?}");
    }
    let spaced = format!("\n\t {} \r\n", base.replace(": ", " :\n "));
    assert_eq!(parse(&spaced), Ok(base_order()));
}

#[test]
fn every_prefix_and_every_single_byte_change_is_handled_without_panic() {
    let base = body_with("order_id", r#""id-\u00e9""#);
    let bytes = base.as_bytes();
    for end in 0..bytes.len() {
        assert!(parse_order_json(&bytes[..end]).is_err(), "prefix {end} must not parse");
    }
    for index in 0..bytes.len() {
        for replacement in [b'"', b'\\', b'{', b'}', b',', b':', b'0', b'x', 0x80, 0] {
            let mut altered = bytes.to_vec();
            altered[index] = replacement;
            let _ = parse_order_json(&altered);
        }
    }
}

#[test]
fn oversized_bodies_are_refused_before_parsing() {
    let padding = " ".repeat(ORDER_JSON_BYTES_MAX);
    let big = format!("{}{padding}", body_with("", ""));
    assert_eq!(
        parse(&big),
        Err(OrderJsonError::TooLarge { len_bytes: big.len(), max_bytes: ORDER_JSON_BYTES_MAX })
    );
}

#[test]
fn api_json_round_trips() {
    let mut order = base_order();
    order.order_id = "weird \"id\" \u{1} é".to_string();
    order.order_type = OrderType::Redeem;
    order.usde_amount = u128::MAX;
    let text = order_to_api_json(&order);
    assert!(text.contains("\"usde_amount\":\"340282366920938463463374607431768211455\""));
    assert!(text.contains(BENEFACTOR), "addresses are checksummed");
    assert_eq!(parse(&text), Ok(order));
}
