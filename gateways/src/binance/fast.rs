//! A single-pass scanner for the hottest Binance message: `depthUpdate` in the exact shape the
//! venue sends (raw, or wrapped as `{"stream":…,"data":…}`), straight into [`ParsedFrame`].
//!
//! It accepts only the canonical layout: the keys `e,E,T,s,U,u,pu,b,a` in that order, no
//! whitespace, no escapes, decimal strings for levels. On anything else it returns `None` and the
//! caller falls back to the general simd-json path, so an unusual but valid message is never
//! misread, only read more slowly. A differential test checks that whenever the scanner answers,
//! its answer equals the simd-json path's on the same bytes.

const POW10: [i64; 9] = [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
const _: () = assert!(WIRE_SCALE == 8, "POW10[d] is 10^(8 - d)");

use crate::venue::{FrameKind, ParsedFrame, Symbol, WireLevel, FRAME_LEVELS_MAX, WIRE_SCALE};

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn eat(&mut self, literal: &[u8]) -> Option<()> {
        let end = self.at.checked_add(literal.len())?;
        if self.bytes.get(self.at..end)? == literal {
            self.at = end;
            Some(())
        } else {
            None
        }
    }

    #[inline(always)]
    fn unsigned(&mut self) -> Option<u64> {
        let start = self.at;
        // JSON forbids leading zeros; leave such input to the general parser to reject.
        if self.bytes.get(start) == Some(&b'0')
            && self.bytes.get(start + 1).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        let mut value: u64 = 0;
        while let Some(&c) = self.bytes.get(self.at) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            value = value.checked_mul(10)?.checked_add(u64::from(d))?;
            self.at += 1;
        }
        (self.at > start && self.at - start <= 19).then_some(value)
    }

    #[inline(always)]
    fn signed(&mut self) -> Option<i64> {
        let negative = self.eat(b"-").is_some();
        let value = i64::try_from(self.unsigned()?).ok()?;
        Some(if negative { -value } else { value })
    }

    /// A string body up to its closing quote; no escapes allowed.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.at += 1,
            }
        }
        let body = &self.bytes[start..self.at];
        self.at += 1;
        Some(body)
    }

    /// A quoted decimal `digits[.digits]"` read in the same pass that finds its closing quote
    /// (the opening quote already consumed): value at [`WIRE_SCALE`] and written decimals.
    /// `None` for anything else (sign, exponent, too many digits): the general path decides.
    #[inline(always)]
    fn decimal(&mut self) -> Option<(i64, u8)> {
        // Two tight digit loops (integer part, fraction after one '.'), then the closing quote:
        // one test and one multiply-add per byte. Wrapping is harmless: > 18 digits is refused.
        let bytes = self.bytes;
        let mut at = self.at;
        let mut value: u64 = 0;
        while let Some(&c) = bytes.get(at) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(d));
            at += 1;
        }
        let int_digits = at - self.at;
        let mut frac_digits = 0;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let frac_start = at;
            while let Some(&c) = bytes.get(at) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                value = value.wrapping_mul(10).wrapping_add(u64::from(d));
                at += 1;
            }
            frac_digits = at - frac_start;
        }
        let digits = int_digits + frac_digits;
        if bytes.get(at) != Some(&b'"')
            || digits == 0
            || digits > 18
            || frac_digits > usize::from(WIRE_SCALE)
        {
            return None;
        }
        self.at = at + 1;
        let scaled = (value as i64).checked_mul(POW10[frac_digits])?;
        Some((scaled, frac_digits as u8))
    }

    /// `[["p","q"],…]` after the opening `[` was consumed; consumes the closing `]`.
    fn levels(&mut self, out: &mut Vec<WireLevel>) -> Option<()> {
        if self.eat(b"]").is_some() {
            return Some(());
        }
        loop {
            self.eat(b"[\"")?;
            let (price, price_decimals) = self.decimal()?;
            self.eat(b",\"")?;
            let (qty, qty_decimals) = self.decimal()?;
            self.eat(b"]")?;
            if out.len() == FRAME_LEVELS_MAX {
                return None;
            }
            out.push(WireLevel { price, qty, price_decimals, qty_decimals });
            if self.eat(b"]").is_some() {
                return Some(());
            }
            self.eat(b",")?;
        }
    }
}

/// Scans a canonical `depthUpdate`; `None` means "not canonical (or a number it does not take),
/// use the general parser", which also produces every typed error.
pub fn scan_depth_update(bytes: &[u8], out: &mut ParsedFrame) -> Option<()> {
    let mut c = Cursor { bytes, at: 0 };
    let wrapped = c.eat(b"{\"stream\":\"").is_some();
    if wrapped {
        c.string()?;
        c.eat(b",\"data\":")?;
    }
    c.eat(b"{\"e\":\"depthUpdate\",\"E\":")?;
    let event_ms = c.unsigned()?;
    c.eat(b",\"T\":")?;
    c.unsigned()?;
    c.eat(b",\"s\":\"")?;
    let symbol = std::str::from_utf8(c.string()?).ok()?;
    c.eat(b",\"U\":")?;
    let first = c.unsigned()?;
    c.eat(b",\"u\":")?;
    let last = c.unsigned()?;
    c.eat(b",\"pu\":")?;
    let prev = c.signed()?;
    out.clear();
    c.eat(b",\"b\":[")?;
    c.levels(&mut out.bids)?;
    c.eat(b",\"a\":[")?;
    c.levels(&mut out.asks)?;
    c.eat(b"}")?;
    if wrapped {
        c.eat(b"}")?;
    }
    if c.at != bytes.len() {
        return None;
    }
    out.kind = FrameKind::BookDelta;
    out.symbol = Symbol::new(symbol);
    out.exchange_ts_ms = event_ms;
    out.ids.first = first;
    out.ids.last = last;
    out.ids.prev = Some(prev);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binance::BinanceParser;

    fn general(bytes: &[u8]) -> Result<ParsedFrame, String> {
        let mut frame = ParsedFrame::new();
        BinanceParser::general().parse(bytes, &mut frame).map(|()| frame).map_err(|e| e.to_string())
    }

    fn same(a: &ParsedFrame, b: &ParsedFrame) -> bool {
        a.kind == b.kind
            && a.symbol == b.symbol
            && a.exchange_ts_ms == b.exchange_ts_ms
            && a.ids == b.ids
            && a.bids == b.bids
            && a.asks == b.asks
    }

    fn sample(i: u64) -> String {
        let level = |p: u64, q: u64| {
            format!("[\"{}.{:02}\",\"{}.{:03}\"]", p / 100, p % 100, q / 1000, q % 1000)
        };
        let bids: Vec<String> =
            (0..(i % 21)).map(|k| level(350_000 - k * 5, (i * 31 + k) % 9_000)).collect();
        let asks: Vec<String> =
            (0..((i / 3) % 21)).map(|k| level(350_005 + k * 5, (i * 17 + k) % 9_000)).collect();
        let body = format!(
            r#"{{"e":"depthUpdate","E":{},"T":{},"s":"ETHUSDT","U":{},"u":{},"pu":{},"b":[{}],"a":[{}]}}"#,
            1_700_000_000_000 + i,
            1_700_000_000_000 + i,
            i * 10 + 1,
            i * 10 + 9,
            i as i64 * 10 - 1,
            bids.join(","),
            asks.join(",")
        );
        if i.is_multiple_of(2) {
            format!(r#"{{"stream":"ethusdt@depth@100ms","data":{body}}}"#)
        } else {
            body
        }
    }

    /// Whenever the scanner answers, the answer equals the general parser's; canonical messages
    /// are answered.
    #[test]
    fn differential_against_the_simd_json_path() {
        let mut seed = 0x1234_5678u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut answered = 0;
        for i in 0..400u64 {
            let canonical = sample(i);
            let mut inputs = vec![canonical.clone().into_bytes()];
            for _ in 0..30 {
                let mut m = canonical.clone().into_bytes();
                match next() % 4 {
                    0 => m.truncate((next() % m.len() as u64) as usize),
                    1 => {
                        let at = (next() % m.len() as u64) as usize;
                        m[at] = b"0123456789.,\"[]{}-e:x \\"[(next() % 23) as usize];
                    }
                    2 => {
                        let at = (next() % m.len() as u64) as usize;
                        m.insert(at, b"0123456789.,\"[]{}-e: "[(next() % 21) as usize]);
                    }
                    _ => {
                        let at = (next() % m.len() as u64) as usize;
                        m.remove(at);
                    }
                }
                inputs.push(m);
            }
            for bytes in inputs {
                let mut fast = ParsedFrame::new();
                let slow = general(&bytes);
                if scan_depth_update(&bytes, &mut fast).is_some() {
                    answered += 1;
                    let slow = slow.unwrap_or_else(|e| {
                        panic!(
                            "scanner accepted what simd-json rejects ({e}): {}",
                            String::from_utf8_lossy(&bytes)
                        )
                    });
                    assert!(
                        same(&fast, &slow),
                        "frames differ for {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
        assert!(
            answered >= 400,
            "every canonical message must be answered by the scanner ({answered})"
        );
    }
}
