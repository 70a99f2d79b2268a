//! A single-pass scanner for the hottest Binance message: `depthUpdate` in the exact shape the
//! venue sends (raw, or wrapped as `{"stream":…,"data":…}`), straight into [`ParsedFrame`].
//!
//! It accepts only the canonical layout: the keys `e,E,T,s,U,u,pu,b,a` in that order, no
//! whitespace, no escapes, decimal strings for levels. On anything else it returns `None` and the
//! caller falls back to the general simd-json path, so an unusual but valid message is never
//! misread, only read more slowly. A differential test checks that whenever the scanner answers,
//! its answer equals the simd-json path's on the same bytes.

use crate::venue::scan::Cursor;
use crate::venue::{FrameKind, ParsedFrame, Symbol};

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
    let symbol = c.string()?;
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
    use crate::venue::scan::differential;

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
        let mut general = BinanceParser::general();
        let answered = differential::check(
            (0..400).map(sample),
            60,
            0x1234_5678,
            scan_depth_update,
            |b, f| general.parse(b, f),
        );
        assert!(answered >= 400, "every canonical message must be answered ({answered})");
    }
}
