//! A single-pass scanner for Deribit's hottest message: `book.{instrument}.{interval}`
//! snapshot and change notifications in the exact shape the venue sends (venues.md §4.4),
//! straight into [`ParsedFrame`].
//!
//! It accepts only the canonical layout: `jsonrpc,method,params{channel,data}` with `data`
//! `{type,timestamp,[prev_change_id,]instrument_name,change_id,bids,asks}` in that order, entries
//! `["new"|"change"|"delete",price,amount]`, plain JSON numbers (no sign, no exponent), no
//! whitespace, no escapes. Numbers are read exactly from the text with the decimals of their
//! shortest form, as the general parser reads them. On anything else it returns `None` and the
//! caller falls back to the general simd-json path, so an unusual but valid message is never
//! misread, only read more slowly. A differential test checks that whenever the scanner answers,
//! its answer equals the simd-json path's on the same bytes.

use crate::venue::scan::Cursor;
use crate::venue::{FrameKind, ParsedFrame, Symbol, WireLevel, FRAME_LEVELS_MAX};

/// Scans a canonical book notification; `None` means "use the general parser", which also
/// produces every typed error.
pub fn scan_book(bytes: &[u8], out: &mut ParsedFrame) -> Option<()> {
    let mut c = Cursor { bytes, at: 0 };
    c.eat(b"{\"jsonrpc\":\"2.0\",\"method\":\"subscription\",\"params\":{\"channel\":\"book.")?;
    c.string()?;
    c.eat(b",\"data\":{\"type\":\"")?;
    let (kind, has_prev) = if c.eat(b"change\"").is_some() {
        (FrameKind::BookDelta, true)
    } else {
        c.eat(b"snapshot\"")?;
        (FrameKind::BookSnapshot, false)
    };
    c.eat(b",\"timestamp\":")?;
    let ts_ms = c.unsigned()?;
    let prev = if has_prev {
        c.eat(b",\"prev_change_id\":")?;
        Some(c.signed()?)
    } else {
        None
    };
    c.eat(b",\"instrument_name\":\"")?;
    let symbol = c.string()?;
    c.eat(b",\"change_id\":")?;
    let change_id = c.unsigned()?;
    out.clear();
    c.eat(b",\"bids\":[")?;
    entries(&mut c, &mut out.bids)?;
    c.eat(b",\"asks\":[")?;
    entries(&mut c, &mut out.asks)?;
    c.eat(b"}}}")?;
    if c.at != bytes.len() {
        return None;
    }
    out.kind = kind;
    out.symbol = Symbol::new(symbol);
    out.exchange_ts_ms = ts_ms;
    out.ids.first = change_id;
    out.ids.last = change_id;
    out.ids.prev = prev;
    Some(())
}

/// `["new"|"change"|"delete",price,amount],…]` after the opening `[`; a delete is quantity 0
/// (its amount is read as a number and not kept, as the general parser ignores it).
fn entries(c: &mut Cursor<'_>, out: &mut Vec<WireLevel>) -> Option<()> {
    if c.eat(b"]").is_some() {
        return Some(());
    }
    loop {
        c.eat(b"[\"")?;
        let delete = if c.eat(b"delete\",").is_some() {
            true
        } else if c.eat(b"change\",").is_some() || c.eat(b"new\",").is_some() {
            false
        } else {
            return None;
        };
        let (price, price_decimals) = c.json_decimal()?;
        c.eat(b",")?;
        let (qty, qty_decimals) = c.json_decimal()?;
        c.eat(b"]")?;
        if out.len() == FRAME_LEVELS_MAX {
            return None;
        }
        let (qty, qty_decimals) = if delete { (0, 0) } else { (qty, qty_decimals) };
        out.push(WireLevel { price, qty, price_decimals, qty_decimals });
        if c.eat(b"]").is_some() {
            return Some(());
        }
        c.eat(b",")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deribit::DeribitParser;
    use crate::venue::scan::differential::{self, same};

    fn general(bytes: &[u8]) -> Result<ParsedFrame, String> {
        let mut frame = ParsedFrame::new();
        DeribitParser::general().parse(bytes, &mut frame).map(|()| frame).map_err(|e| e.to_string())
    }

    fn sample(i: u64) -> String {
        let entry = |action: &str, p: u64, q: u64| {
            let qty = match q % 4 {
                0 => format!("{}", q),
                1 => format!("{}.{}", q / 10, q % 10),
                2 => format!("{}.0", q),
                _ => format!("{}.{:03}", q / 1000, q % 1000),
            };
            format!("[\"{action}\",{}.{},{qty}]", p / 100, p % 100)
        };
        let actions = ["new", "change", "delete"];
        let snapshot = i.is_multiple_of(4);
        let side = |n: u64, base: u64, step: i64| -> Vec<String> {
            (0..n)
                .map(|k| {
                    let action = if snapshot { "new" } else { actions[((i + k) % 3) as usize] };
                    entry(action, (base as i64 + step * k as i64) as u64, (i * 31 + k) % 9_000)
                })
                .collect()
        };
        let bids = side(i % 21, 504_234, -10);
        let asks = side((i / 3) % 21, 504_264, 10);
        let change_id = 297_217 + i;
        let (kind, prev) = if snapshot {
            ("snapshot", String::new())
        } else {
            ("change", format!(",\"prev_change_id\":{}", change_id - 1))
        };
        format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"book.BTC-PERPETUAL.100ms","data":{{"type":"{kind}","timestamp":{}{prev},"instrument_name":"BTC-PERPETUAL","change_id":{change_id},"bids":[{}],"asks":[{}]}}}}}}"#,
            1_554_373_962_454 + i,
            bids.join(","),
            asks.join(",")
        )
    }

    /// The reference's examples take the fast path and read as the general parser reads them.
    #[test]
    fn reference_examples() {
        let snapshot = br#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1554373962454,"instrument_name":"BTC-PERPETUAL","change_id":297217,"bids":[["new",5042.34,30],["new",5041.94,20]],"asks":[["new",5042.64,40],["new",5043.3,40]]}}}"#;
        let change = br#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"change","timestamp":1554373911330,"prev_change_id":297217,"instrument_name":"BTC-PERPETUAL","change_id":297218,"bids":[["delete",5041.94,0],["change",5042.34,10]],"asks":[]}}}"#;
        for bytes in [&snapshot[..], &change[..]] {
            let mut fast = ParsedFrame::new();
            assert!(scan_book(bytes, &mut fast).is_some(), "{}", String::from_utf8_lossy(bytes));
            assert!(same(&fast, &general(bytes).unwrap()));
        }
        let mut fast = ParsedFrame::new();
        scan_book(change, &mut fast).unwrap();
        assert_eq!(
            (fast.ids.prev, fast.bids[0].qty, fast.bids[1].qty),
            (Some(297_217), 0, 1_000_000_000)
        );
        let exponent = br#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1,"instrument_name":"BTC-PERPETUAL","change_id":1,"bids":[["new",5e3,1]],"asks":[]}}}"#;
        assert!(scan_book(exponent, &mut fast).is_none(), "exponents go to the general parser");
    }

    /// Whenever the scanner answers, the answer equals the general parser's; canonical messages
    /// are answered.
    #[test]
    fn differential_against_the_simd_json_path() {
        let mut general = DeribitParser::general();
        let answered =
            differential::check((0..400).map(sample), 60, 0x5eed_d00d, scan_book, |b, f| {
                general.parse(b, f)
            });
        assert!(answered >= 400, "every canonical message must be answered ({answered})");
    }
}
