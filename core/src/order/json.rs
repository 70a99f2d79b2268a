//! Parses the RFQ API order body (`POST /order`) into an [`Order`] without losing precision.
//!
//! Why a small parser of our own: amounts in the body arrive as JSON integers larger than
//! `u64` (25 USDe = 25·10^18) from the Python client and as decimal strings from the TypeScript
//! one. `serde_json` without `arbitrary_precision` turns such integers into `f64`, and that
//! feature would change number handling for the whole workspace. The body is a flat object of
//! strings and numbers, so a strict flat-object reader is small and keeps every digit.
//!
//! What it accepts (`shared/reference/ethena.md` §1.3, §1.6):
//! * exactly the nine keys `order_id, order_type, expiry, nonce, benefactor, beneficiary,
//!   collateral_asset, collateral_amount, usde_amount`, each once, in any order; nothing else;
//! * `order_id`: any JSON string (any UTF-8, empty allowed), hashed as its decoded bytes;
//! * `order_type`: `"MINT"` | `"REDEEM"` | `0` | `1`;
//! * `expiry` (≤ uint120), `nonce`, `collateral_amount`, `usde_amount` (≤ uint128): a JSON
//!   integer of any length or a string of decimal digits; no sign, fraction or exponent;
//! * addresses: `0x` + 40 hex digits, all lower, all upper, or mixed case with a valid EIP-55
//!   checksum (a mixed-case address with a wrong checksum is a typo and is refused).
//!
//! Strictness: RFC 8259 syntax, one top-level object, no trailing data, duplicate keys refused
//! (two readers could pick different values of a signed field), at most
//! [`ORDER_JSON_BYTES_MAX`] bytes. Never panics; never recurses.

use alloy_primitives::Address;

use super::error::OrderJsonError;
use super::model::{Order, OrderType, UINT120_MAX};

/// Largest order body accepted; a real one is about 500 bytes.
pub const ORDER_JSON_BYTES_MAX: usize = 64 * 1024;

/// The body's fields, in the order of the contract's struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    OrderId,
    OrderType,
    Expiry,
    Nonce,
    Benefactor,
    Beneficiary,
    CollateralAsset,
    CollateralAmount,
    UsdeAmount,
}

const FIELDS: [Field; 9] = [
    Field::OrderId,
    Field::OrderType,
    Field::Expiry,
    Field::Nonce,
    Field::Benefactor,
    Field::Beneficiary,
    Field::CollateralAsset,
    Field::CollateralAmount,
    Field::UsdeAmount,
];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Self::OrderId => "order_id",
            Self::OrderType => "order_type",
            Self::Expiry => "expiry",
            Self::Nonce => "nonce",
            Self::Benefactor => "benefactor",
            Self::Beneficiary => "beneficiary",
            Self::CollateralAsset => "collateral_asset",
            Self::CollateralAmount => "collateral_amount",
            Self::UsdeAmount => "usde_amount",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        FIELDS.iter().copied().find(|field| field.name() == name)
    }
}

/// One scalar value as it appeared in the body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum RawValue<'a> {
    /// Decoded string contents.
    Text(String),
    /// The number token exactly as written (grammar already checked).
    Number(&'a str),
}

/// Parses one order body.
///
/// # Errors
/// [`OrderJsonError`] naming the first problem found: size, syntax (with byte offset), unknown,
/// duplicate or missing field, wrong JSON type, bad value, out-of-range integer, bad address.
pub fn parse_order_json(input: &[u8]) -> Result<Order, OrderJsonError> {
    if input.len() > ORDER_JSON_BYTES_MAX {
        return Err(OrderJsonError::TooLarge {
            len_bytes: input.len(),
            max_bytes: ORDER_JSON_BYTES_MAX,
        });
    }
    let values = read_flat_object(input)?;
    build_order(values)
}

/// Reads `{ "key": scalar, … }` into one slot per known field.
fn read_flat_object(input: &[u8]) -> Result<[Option<RawValue<'_>>; 9], OrderJsonError> {
    let mut cursor = Cursor { bytes: input, pos: 0 };
    let mut values: [Option<RawValue<'_>>; 9] = Default::default();
    cursor.skip_whitespace();
    cursor.expect(b'{', "expected '{' at the start of the order")?;
    cursor.skip_whitespace();
    if cursor.peek() == Some(b'}') {
        cursor.pos += 1;
    } else {
        loop {
            read_member(&mut cursor, &mut values)?;
            cursor.skip_whitespace();
            match cursor.next() {
                Some(b',') => cursor.skip_whitespace(),
                Some(b'}') => break,
                _ => return Err(cursor.syntax_before("expected ',' or '}' after a value")),
            }
        }
    }
    cursor.skip_whitespace();
    if cursor.pos != input.len() {
        return Err(cursor.syntax("trailing data after the order object"));
    }
    Ok(values)
}

/// Reads one `"key": value` pair and stores it.
fn read_member<'a>(
    cursor: &mut Cursor<'a>,
    values: &mut [Option<RawValue<'a>>; 9],
) -> Result<(), OrderJsonError> {
    if cursor.peek() != Some(b'"') {
        return Err(cursor.syntax("expected a string key"));
    }
    let name = cursor.read_string()?;
    let field = Field::from_name(&name).ok_or(OrderJsonError::UnknownField { name })?;
    cursor.skip_whitespace();
    cursor.expect(b':', "expected ':' after a key")?;
    cursor.skip_whitespace();
    let value = match cursor.peek() {
        Some(b'"') => RawValue::Text(cursor.read_string()?),
        Some(b'-' | b'0'..=b'9') => RawValue::Number(cursor.read_number()?),
        Some(b'{' | b'[' | b't' | b'f' | b'n') => {
            return Err(OrderJsonError::WrongType {
                field: field.name(),
                reason: "expected a string or a number",
            })
        }
        _ => return Err(cursor.syntax("expected a value")),
    };
    let slot = &mut values[field as usize];
    if slot.is_some() {
        return Err(OrderJsonError::DuplicateField { field: field.name() });
    }
    *slot = Some(value);
    Ok(())
}

/// Converts the raw fields into an [`Order`].
fn build_order(values: [Option<RawValue<'_>>; 9]) -> Result<Order, OrderJsonError> {
    let [order_id, order_type, expiry, nonce, benefactor, beneficiary, collateral_asset, collateral_amount, usde_amount] =
        values;
    let order_id = match take(order_id, Field::OrderId)? {
        RawValue::Text(text) => text,
        RawValue::Number(_) => {
            return Err(OrderJsonError::WrongType {
                field: "order_id",
                reason: "expected a string",
            })
        }
    };
    Ok(Order {
        order_id,
        order_type: parse_order_type(take(order_type, Field::OrderType)?)?,
        expiry_unix_s: parse_uint(take(expiry, Field::Expiry)?, Field::Expiry, 120)?,
        nonce: parse_uint(take(nonce, Field::Nonce)?, Field::Nonce, 128)?,
        benefactor: parse_address(take(benefactor, Field::Benefactor)?, Field::Benefactor)?,
        beneficiary: parse_address(take(beneficiary, Field::Beneficiary)?, Field::Beneficiary)?,
        collateral_asset: parse_address(
            take(collateral_asset, Field::CollateralAsset)?,
            Field::CollateralAsset,
        )?,
        collateral_amount: parse_uint(
            take(collateral_amount, Field::CollateralAmount)?,
            Field::CollateralAmount,
            128,
        )?,
        usde_amount: parse_uint(take(usde_amount, Field::UsdeAmount)?, Field::UsdeAmount, 128)?,
    })
}

fn take(value: Option<RawValue<'_>>, field: Field) -> Result<RawValue<'_>, OrderJsonError> {
    value.ok_or(OrderJsonError::MissingField { field: field.name() })
}

fn parse_order_type(value: RawValue<'_>) -> Result<OrderType, OrderJsonError> {
    let parsed = match &value {
        RawValue::Text(text) if text == "MINT" => Some(OrderType::Mint),
        RawValue::Text(text) if text == "REDEEM" => Some(OrderType::Redeem),
        RawValue::Number("0") => Some(OrderType::Mint),
        RawValue::Number("1") => Some(OrderType::Redeem),
        _ => None,
    };
    parsed.ok_or(OrderJsonError::InvalidValue {
        field: "order_type",
        reason: "expected \"MINT\", \"REDEEM\", 0 or 1",
    })
}

/// An unsigned integer of at most `bits` bits, from a JSON integer or a decimal string.
fn parse_uint(value: RawValue<'_>, field: Field, bits: u16) -> Result<u128, OrderJsonError> {
    let name = field.name();
    let digits: &str = match &value {
        RawValue::Number(token) => {
            if token.starts_with('-') {
                return Err(OrderJsonError::InvalidValue { field: name, reason: "negative" });
            }
            if token.contains(['.', 'e', 'E']) {
                return Err(OrderJsonError::InvalidValue { field: name, reason: "not an integer" });
            }
            token
        }
        RawValue::Text(text) => text.as_str(),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(OrderJsonError::InvalidValue {
            field: name,
            reason: "expected decimal digits only",
        });
    }
    let out_of_range = OrderJsonError::OutOfRange { field: name, bits };
    let mut result: u128 = 0;
    for byte in digits.bytes() {
        result = result
            .checked_mul(10)
            .and_then(|scaled| scaled.checked_add(u128::from(byte - b'0')))
            .ok_or(out_of_range.clone())?;
    }
    if bits == 120 && result > UINT120_MAX {
        return Err(out_of_range);
    }
    Ok(result)
}

/// An address field: a JSON string accepted by [`parse_address_text`].
fn parse_address(value: RawValue<'_>, field: Field) -> Result<Address, OrderJsonError> {
    let name = field.name();
    match value {
        RawValue::Text(text) => parse_address_text(&text)
            .map_err(|reason| OrderJsonError::InvalidAddress { field: name, reason }),
        RawValue::Number(_) => {
            Err(OrderJsonError::WrongType { field: name, reason: "expected a string" })
        }
    }
}

/// Parses `0x` + 40 hex digits: all lower case, all upper case, or mixed case with a valid
/// EIP-55 checksum (mixed case with a wrong checksum is a typo and is refused).
///
/// # Errors
/// A short reason: missing prefix, wrong length or digit, bad checksum.
pub fn parse_address_text(text: &str) -> Result<Address, &'static str> {
    let hex = text.strip_prefix("0x").ok_or("missing 0x prefix")?;
    if hex.len() != 40 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err("expected 40 hex digits");
    }
    let has_lower = hex.bytes().any(|byte| byte.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|byte| byte.is_ascii_uppercase());
    if has_lower && has_upper {
        return Address::parse_checksummed(text, None).map_err(|_| "bad EIP-55 checksum");
    }
    let mut bytes = [0u8; 20];
    for (index, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
        bytes[index] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
    }
    Ok(Address::from(bytes))
}

/// Value of one ASCII hex digit (caller checked `is_ascii_hexdigit`).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// Position in the input; every read is bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn syntax(&self, reason: &'static str) -> OrderJsonError {
        OrderJsonError::Syntax { offset_bytes: self.pos, reason }
    }

    /// Syntax error pointing at the byte just consumed.
    fn syntax_before(&self, reason: &'static str) -> OrderJsonError {
        OrderJsonError::Syntax { offset_bytes: self.pos.saturating_sub(1), reason }
    }

    fn expect(&mut self, wanted: u8, reason: &'static str) -> Result<(), OrderJsonError> {
        if self.peek() == Some(wanted) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(reason))
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Reads a JSON number token (RFC 8259 grammar) and returns it unchanged.
    fn read_number(&mut self) -> Result<&'a str, OrderJsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next() {
            Some(b'0') => {
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.syntax("leading zeros are not allowed in JSON numbers"));
                }
            }
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.syntax_before("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.require_digits()?;
        }
        // The token is ASCII by construction.
        core::str::from_utf8(&self.bytes[start..self.pos])
            .map_err(|_| OrderJsonError::Syntax { offset_bytes: start, reason: "invalid number" })
    }

    fn skip_digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Result<(), OrderJsonError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.syntax("expected a digit"));
        }
        self.skip_digits();
        Ok(())
    }

    /// Reads a JSON string starting at its opening quote and returns the decoded text.
    fn read_string(&mut self) -> Result<String, OrderJsonError> {
        let start = self.pos;
        self.expect(b'"', "expected '\"'")?;
        let mut decoded: Vec<u8> = Vec::new();
        loop {
            match self.next() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => self.read_escape(&mut decoded)?,
                Some(byte) if byte < 0x20 => {
                    return Err(self.syntax_before("control character in string"))
                }
                Some(byte) => decoded.push(byte),
            }
        }
        String::from_utf8(decoded)
            .map_err(|_| OrderJsonError::Syntax { offset_bytes: start, reason: "invalid UTF-8" })
    }

    fn read_escape(&mut self, decoded: &mut Vec<u8>) -> Result<(), OrderJsonError> {
        let simple = match self.next() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let character = self.read_unicode_escape()?;
                let mut buffer = [0u8; 4];
                decoded.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                return Ok(());
            }
            _ => return Err(self.syntax_before("invalid escape")),
        };
        decoded.push(simple);
        Ok(())
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` for a surrogate pair.
    fn read_unicode_escape(&mut self) -> Result<char, OrderJsonError> {
        let first = self.read_hex4()?;
        let code_point = match first {
            0xD800..=0xDBFF => {
                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                    return Err(self.syntax_before("unpaired surrogate"));
                }
                let second = self.read_hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.syntax_before("unpaired surrogate"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.syntax_before("unpaired surrogate")),
            other => other,
        };
        char::from_u32(code_point).ok_or(self.syntax_before("invalid code point"))
    }

    fn read_hex4(&mut self) -> Result<u32, OrderJsonError> {
        let mut value: u32 = 0;
        for _ in 0..4 {
            match self.next() {
                Some(digit) if digit.is_ascii_hexdigit() => {
                    value = (value << 4) | u32::from(hex_value(digit));
                }
                _ => return Err(self.syntax_before("expected 4 hex digits after \\u")),
            }
        }
        Ok(value)
    }
}

/// Serialises an order as the TypeScript client sends it: `order_type` as `"MINT"`/`"REDEEM"`,
/// `expiry`/`nonce` as JSON integers, amounts as decimal strings, addresses checksummed.
/// [`parse_order_json`] reads it back to the same order.
pub fn order_to_api_json(order: &Order) -> String {
    let order_id = serde_json::Value::String(order.order_id.clone()).to_string();
    format!(
        "{{\"order_id\":{},\"order_type\":\"{}\",\"expiry\":{},\"nonce\":{},\"benefactor\":\"{}\",\
         \"beneficiary\":\"{}\",\"collateral_asset\":\"{}\",\"collateral_amount\":\"{}\",\
         \"usde_amount\":\"{}\"}}",
        order_id,
        order.order_type.as_api_str(),
        order.expiry_unix_s,
        order.nonce,
        order.benefactor.to_checksum(None),
        order.beneficiary.to_checksum(None),
        order.collateral_asset.to_checksum(None),
        order.collateral_amount,
        order.usde_amount,
    )
}
