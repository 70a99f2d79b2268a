//! A single-pass scanner for Bybit's hottest message: `orderbook.{depth}.{symbol}` snapshots and
//! deltas in the exact shape the venue sends (venues.md §2.3), straight into [`ParsedFrame`].
//!
//! It accepts only the canonical layout: `topic,type,ts,data{s,b,a,u,seq}` and an optional
//! trailing `cts`, in that order, no whitespace, no escapes, decimal strings for levels. Depth 1
//! (the BBO stream) is left to the general parser, which reads it as a BBO. On anything else it
//! returns `None` and the caller falls back to the general simd-json path, so an unusual but
//! valid message is never misread, only read more slowly. A differential test checks that
//! whenever the scanner answers, its answer equals the simd-json path's on the same bytes.

use crate::venue::scan::Cursor;
use crate::venue::{FrameKind, ParsedFrame, Symbol};

/// Scans a canonical order-book message; `None` means "use the general parser", which also
/// produces every typed error.
pub fn scan_orderbook(bytes: &[u8], out: &mut ParsedFrame) -> Option<()> {
    let mut c = Cursor { bytes, at: 0 };
    c.eat(b"{\"topic\":\"orderbook.")?;
    if c.unsigned()? == 1 {
        return None;
    }
    c.eat(b".")?;
    c.string()?;
    c.eat(b",\"type\":\"")?;
    let kind = if c.eat(b"delta\"").is_some() {
        FrameKind::BookDelta
    } else {
        c.eat(b"snapshot\"")?;
        FrameKind::BookSnapshot
    };
    c.eat(b",\"ts\":")?;
    let ts_ms = c.unsigned()?;
    c.eat(b",\"data\":{\"s\":\"")?;
    let symbol = c.string()?;
    out.clear();
    c.eat(b",\"b\":[")?;
    c.levels(&mut out.bids)?;
    c.eat(b",\"a\":[")?;
    c.levels(&mut out.asks)?;
    c.eat(b",\"u\":")?;
    let update_id = c.unsigned()?;
    c.eat(b",\"seq\":")?;
    let cross_seq = c.unsigned()?;
    c.eat(b"}")?;
    if c.eat(b",\"cts\":").is_some() {
        c.unsigned()?;
    }
    c.eat(b"}")?;
    if c.at != bytes.len() {
        return None;
    }
    out.kind = kind;
    out.symbol = Symbol::new(symbol);
    out.exchange_ts_ms = ts_ms;
    out.ids.first = update_id;
    out.ids.last = update_id;
    out.ids.cross_seq = cross_seq;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bybit::BybitParser;
    use crate::venue::scan::differential::{self, same};

    fn general(bytes: &[u8]) -> Result<ParsedFrame, String> {
        let mut frame = ParsedFrame::new();
        BybitParser::general().parse(bytes, &mut frame).map(|()| frame).map_err(|e| e.to_string())
    }

    fn sample(i: u64) -> String {
        let level = |p: u64, q: u64| {
            let qty = if q.is_multiple_of(7) {
                "0".to_string()
            } else {
                format!("{}.{:03}", q / 1000, q % 1000)
            };
            format!("[\"{}.{:02}\",\"{qty}\"]", p / 100, p % 100)
        };
        let bids: Vec<String> =
            (0..(i % 21)).map(|k| level(3_024_720 - k * 10, (i * 31 + k) % 9_000)).collect();
        let asks: Vec<String> =
            (0..((i / 3) % 21)).map(|k| level(3_024_870 + k * 10, (i * 17 + k) % 9_000)).collect();
        let (depth, kind) = match i % 4 {
            0 => (50, "snapshot"),
            1 => (200, "delta"),
            2 => (1000, "delta"),
            _ => (50, "delta"),
        };
        let cts = if i.is_multiple_of(5) {
            String::new()
        } else {
            format!(",\"cts\":{}", 1_687_940_967_464 + i)
        };
        format!(
            r#"{{"topic":"orderbook.{depth}.BTCUSDT","type":"{kind}","ts":{},"data":{{"s":"BTCUSDT","b":[{}],"a":[{}],"u":{},"seq":{}}}{cts}}}"#,
            1_687_940_967_466 + i,
            bids.join(","),
            asks.join(","),
            177_400_507 + i,
            66_544_703_342 + i * 3
        )
    }

    /// The reference's own examples take the fast path and read as the general parser reads
    /// them; depth 1 (the BBO stream) does not.
    #[test]
    fn reference_examples_and_depth_one() {
        let delta = br#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30240.00","0"]],"a":[["30248.70","0"],["30249.30","0.892"]],"u":177400507,"seq":66544703342},"cts":1687940967464}"#;
        let mut fast = ParsedFrame::new();
        assert!(scan_orderbook(delta, &mut fast).is_some());
        assert!(same(&fast, &general(delta).unwrap()));
        assert_eq!(
            (fast.kind, fast.ids.last, fast.ids.cross_seq),
            (FrameKind::BookDelta, 177_400_507, 66_544_703_342)
        );
        let bbo = br#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["1.0","1"]],"a":[["2.0","1"]],"u":1,"seq":1},"cts":1}"#;
        assert!(scan_orderbook(bbo, &mut fast).is_none(), "depth 1 is the BBO stream");
    }

    /// Whenever the scanner answers, the answer equals the general parser's; canonical messages
    /// are answered.
    #[test]
    fn differential_against_the_simd_json_path() {
        let mut general = BybitParser::general();
        let answered =
            differential::check((0..400).map(sample), 60, 0x8765_4321, scan_orderbook, |b, f| {
                general.parse(b, f)
            });
        assert!(answered >= 400, "every canonical message must be answered ({answered})");
    }
}
