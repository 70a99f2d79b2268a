//! Exact decimal text ⇄ fixed-point integers.
//!
//! Venues send prices and sizes as decimal text ("25.35190000", or JSON numbers on Deribit). The
//! hot path keeps them as `i64` at a fixed number of decimals per instrument. Parsing is exact:
//! a value with more significant decimals than the scale holds, or one that overflows `i64`, is an
//! error — never rounded, never routed through `f64`.

/// Most decimals a scale may have (10^18 still fits in `i64`).
pub const DECIMALS_MAX: u8 = 18;

const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// 10^`decimals` (`decimals <= 18`).
pub fn pow10(decimals: u8) -> i64 {
    POW10[usize::from(decimals.min(DECIMALS_MAX))]
}

/// Why decimal text could not be represented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FixedError {
    #[error("not a decimal number")]
    Syntax,
    #[error("{decimals} significant decimals do not fit a scale of {scale}")]
    TooPrecise { decimals: u8, scale: u8 },
    #[error("value overflows a 64-bit fixed-point integer")]
    Overflow,
}

/// Parses decimal text at `scale` and also returns the decimals written after the point.
///
/// The common venue shape (`[-]digits[.digits]`, at most 18 digits) is read in one pass with no
/// branches per digit beyond the digit test; anything else goes through [`parse_decimal`].
///
/// # Errors
/// As [`parse_decimal`].
#[inline]
pub fn parse_decimal_written(text: &[u8], scale: u8) -> Result<(i64, u8), FixedError> {
    match parse_decimal_simple(text, scale) {
        Some(read) => Ok(read),
        None => parse_decimal(text, scale).map(|value| (value, written_decimals(text))),
    }
}

/// Accumulates the ASCII digits of `bytes` from `at` onto `value` (times ten plus the digit, one
/// test and one multiply-add per byte); returns where the digits end and the value. Wrapping:
/// callers bound the digit count (at most 18 keeps it exact).
#[inline(always)]
pub fn accumulate_digits(bytes: &[u8], mut at: usize, mut value: u64) -> (usize, u64) {
    while let Some(&c) = bytes.get(at) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        at += 1;
    }
    (at, value)
}

/// The fast path of [`parse_decimal_written`]: `[-]digits[.digits]` with at most 18 digits and
/// at most `scale` of them after the point; `None` for anything else (including overflow), which
/// [`parse_decimal_written`] then reads or rejects with a typed error.
///
/// Two tight digit loops (integer part, then the fraction after one '.'): each byte costs one
/// test and one multiply-add, with no per-digit bookkeeping. Returning an `Option` keeps the
/// result in registers when inlined into a level loop.
#[inline(always)]
pub fn parse_decimal_simple(text: &[u8], scale: u8) -> Option<(i64, u8)> {
    let scale = scale.min(DECIMALS_MAX);
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let n = body.len();
    let (mut at, mut value) = accumulate_digits(body, 0, 0);
    let int_digits = at;
    let mut frac_digits = 0;
    if body.get(at) == Some(&b'.') {
        let frac_start = at + 1;
        (at, value) = accumulate_digits(body, frac_start, value);
        frac_digits = at - frac_start;
    }
    let digits = int_digits + frac_digits;
    if at != n || digits == 0 || digits > 18 || frac_digits > usize::from(scale) {
        return None;
    }
    let scaled = i64::try_from(value).ok()?.checked_mul(pow10(scale - frac_digits as u8))?;
    Some((if negative { -scaled } else { scaled }, frac_digits as u8))
}

/// Parses `[-]digits[.digits][e[+-]digits]` into an integer at `scale` decimals.
///
/// Trailing zeros beyond the scale are fine ("1.2300" at scale 2 is 123); a non-zero digit beyond
/// it is [`FixedError::TooPrecise`].
///
/// # Errors
/// [`FixedError`] for bad syntax, lost precision or overflow.
pub fn parse_decimal(text: &[u8], scale: u8) -> Result<i64, FixedError> {
    let scale = scale.min(DECIMALS_MAX);
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match body.iter().position(|b| *b == b'e' || *b == b'E') {
        Some(at) => (&body[..at], parse_exponent(&body[at + 1..])?),
        None => (body, 0),
    };
    let mut value: i64 = 0;
    let mut digits = 0usize;
    let mut frac_digits: i32 = 0;
    let mut seen_point = false;
    let mut dropped_nonzero = false;
    for &b in mantissa {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if seen_point {
                    frac_digits += 1;
                }
                value = accumulate(
                    value,
                    b - b'0',
                    seen_point,
                    frac_digits,
                    exponent,
                    scale,
                    &mut dropped_nonzero,
                )?;
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(FixedError::Syntax),
        }
    }
    if digits == 0 {
        return Err(FixedError::Syntax);
    }
    if dropped_nonzero {
        let decimals = u8::try_from((frac_digits - exponent).max(0)).unwrap_or(u8::MAX);
        return Err(FixedError::TooPrecise { decimals, scale });
    }
    let kept_frac = (i32::from(scale) + exponent).clamp(0, frac_digits);
    let shift = i32::from(scale) - kept_frac + exponent;
    let scaled = if shift >= 0 {
        let shift = u8::try_from(shift).map_err(|_| FixedError::Overflow)?;
        if shift > DECIMALS_MAX {
            if value == 0 {
                0
            } else {
                return Err(FixedError::Overflow);
            }
        } else {
            value.checked_mul(pow10(shift)).ok_or(FixedError::Overflow)?
        }
    } else {
        let down = u8::try_from(-shift).unwrap_or(u8::MAX);
        let too_precise = FixedError::TooPrecise { decimals: u8::MAX, scale };
        if down > DECIMALS_MAX {
            if value != 0 {
                return Err(too_precise);
            }
            0
        } else if value % pow10(down) != 0 {
            return Err(too_precise);
        } else {
            value / pow10(down)
        }
    };
    Ok(if negative { -scaled } else { scaled })
}

/// Adds one digit, dropping digits that fall beyond the scale (remembering if any was non-zero).
fn accumulate(
    value: i64,
    digit: u8,
    fractional: bool,
    frac_digits: i32,
    exponent: i32,
    scale: u8,
    dropped_nonzero: &mut bool,
) -> Result<i64, FixedError> {
    if fractional && frac_digits - exponent > i32::from(scale) {
        if digit != 0 {
            *dropped_nonzero = true;
        }
        return Ok(value);
    }
    value.checked_mul(10).and_then(|v| v.checked_add(i64::from(digit))).ok_or(FixedError::Overflow)
}

fn parse_exponent(text: &[u8]) -> Result<i32, FixedError> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FixedError::Syntax);
    }
    let magnitude = digits.iter().fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    Ok(if negative { -magnitude } else { magnitude })
}

/// Decimals written after the point in `text` (ignoring any exponent); 0 for an integer.
pub fn written_decimals(text: &[u8]) -> u8 {
    let mantissa = text.split(|b| *b == b'e' || *b == b'E').next().unwrap_or(text);
    match mantissa.iter().position(|b| *b == b'.') {
        Some(at) => u8::try_from(mantissa.len() - at - 1).unwrap_or(u8::MAX),
        None => 0,
    }
}

/// Formats `value` at `scale` decimals with exactly `decimals` digits after the point
/// (`decimals <= scale`; digits beyond it must be zero, which exact parsing guarantees).
pub fn format_decimal(value: i64, scale: u8, decimals: u8) -> String {
    let scale = scale.min(DECIMALS_MAX);
    let decimals = decimals.min(scale);
    let magnitude = value.unsigned_abs();
    let unit = pow10(scale) as u64;
    let (int_part, frac_part) = (magnitude / unit, magnitude % unit);
    let sign = if value < 0 { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{int_part}");
    }
    let frac = frac_part / pow10(scale - decimals) as u64;
    format!("{sign}{int_part}.{frac:0width$}", width = usize::from(decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_at_the_scale() {
        assert_eq!(parse_decimal(b"25.35190000", 8), Ok(2_535_190_000));
        assert_eq!(parse_decimal(b"0.0024", 8), Ok(240_000));
        assert_eq!(parse_decimal(b"10", 3), Ok(10_000));
        assert_eq!(parse_decimal(b"-0.00038167", 8), Ok(-38_167));
        assert_eq!(parse_decimal(b"1.2300", 2), Ok(123));
        assert_eq!(parse_decimal(b"0", 8), Ok(0));
        assert_eq!(parse_decimal(b"3.5e2", 1), Ok(3_500));
        assert_eq!(parse_decimal(b"1E-3", 4), Ok(10));
        assert_eq!(parse_decimal(b"92233720368.54775807", 8), Ok(i64::MAX));
    }

    #[test]
    fn refuses_to_round_or_overflow() {
        assert_eq!(
            parse_decimal(b"1.239", 2),
            Err(FixedError::TooPrecise { decimals: 3, scale: 2 })
        );
        assert_eq!(parse_decimal(b"92233720368.54775808", 8), Err(FixedError::Overflow));
        assert_eq!(parse_decimal(b"1e40", 8), Err(FixedError::Overflow));
        assert!(matches!(parse_decimal(b"5e-20", 8), Err(FixedError::TooPrecise { .. })));
        assert_eq!(parse_decimal(b"500e-10", 8), Ok(5));
        for bad in [&b""[..], b"-", b".", b"1.2.3", b"1,5", b"abc", b"1e", b"NaN"] {
            assert_eq!(parse_decimal(bad, 8), Err(FixedError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        let cases = [
            "25.35190000",
            "0.0024",
            "10",
            "-0.00038167",
            "0",
            "0.000",
            "1.",
            "1.239",
            "1e3",
            "-",
            "",
            ".5",
            "92233720368.54775807",
            "92233720368.54775808",
            "123456789012345678",
            "1234567890123456789",
            "00012.500",
            "1.2.3",
            "+1",
            "abc",
            "99999999999.99999999",
            ".",
            "-.",
            "1..",
            "1.-2",
            "1.5e2",
            "0.123456789",
            "-1234567890.12345678",
        ];
        for text in cases {
            let fast = parse_decimal_written(text.as_bytes(), 8);
            let slow =
                parse_decimal(text.as_bytes(), 8).map(|v| (v, written_decimals(text.as_bytes())));
            assert_eq!(fast, slow, "{text:?}");
        }
        let mut seed = 7u64;
        for _ in 0..20_000 {
            crate::xorshift(&mut seed);
            let text = format!(
                "{}.{:0w$}",
                seed % 1_000_000,
                (seed >> 20) % 10_000,
                w = ((seed >> 40) % 5) as usize
            );
            let fast = parse_decimal_written(text.as_bytes(), 8);
            let slow =
                parse_decimal(text.as_bytes(), 8).map(|v| (v, written_decimals(text.as_bytes())));
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    #[test]
    fn formats_with_the_written_decimals() {
        for text in ["25.35190000", "0.0024", "10", "-0.00038167", "0.000", "123.4"] {
            let value = parse_decimal(text.as_bytes(), 8).unwrap();
            let decimals = written_decimals(text.as_bytes());
            assert_eq!(format_decimal(value, 8, decimals), text);
        }
    }
}
