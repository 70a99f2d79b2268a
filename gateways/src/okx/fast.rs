//! A single-pass scanner for OKX's hottest message: `books` / `books-l2-tbt` / `books50-l2-tbt`
//! snapshots and updates in the exact shape the venue sends (venues.md §3.3), straight into
//! [`ParsedFrame`].
//!
//! It accepts only the canonical layout: `arg{channel,instId}`, `action`, and one `data` entry
//! `{asks,bids,ts,checksum,prevSeqId,seqId}` in that order, levels `["p","q","0","orders"]`, no
//! whitespace, no escapes. The keep-alive update (no levels, `seqId == prevSeqId`) becomes a
//! heartbeat as in the general parser. On anything else it returns `None` and the caller falls
//! back to the general simd-json path, so an unusual but valid message is never misread, only
//! read more slowly. A differential test checks that whenever the scanner answers, its answer
//! equals the simd-json path's on the same bytes.

use crate::venue::scan::Cursor;
use crate::venue::{FrameKind, ParsedFrame, Symbol};

/// Scans a canonical book message; `None` means "use the general parser", which also produces
/// every typed error.
pub fn scan_books(bytes: &[u8], out: &mut ParsedFrame) -> Option<()> {
    let mut c = Cursor { bytes, at: 0 };
    c.eat(b"{\"arg\":{\"channel\":\"")?;
    if !matches!(c.string()?, "books" | "books-l2-tbt" | "books50-l2-tbt") {
        return None;
    }
    c.eat(b",\"instId\":\"")?;
    let symbol = c.string()?;
    c.eat(b"},\"action\":\"")?;
    let mut kind = if c.eat(b"update\"").is_some() {
        FrameKind::BookDelta
    } else {
        c.eat(b"snapshot\"")?;
        FrameKind::BookSnapshot
    };
    out.clear();
    c.eat(b",\"data\":[{\"asks\":[")?;
    c.levels_with_extras(&mut out.asks, 2)?;
    c.eat(b",\"bids\":[")?;
    c.levels_with_extras(&mut out.bids, 2)?;
    c.eat(b",\"ts\":\"")?;
    let ts_ms = c.unsigned()?;
    c.eat(b"\",\"checksum\":")?;
    let checksum = c.signed()?;
    c.eat(b",\"prevSeqId\":")?;
    let prev_seq_id = c.signed()?;
    c.eat(b",\"seqId\":")?;
    let seq_id = c.unsigned()?;
    c.eat(b"}]}")?;
    if c.at != bytes.len() {
        return None;
    }
    let empty = out.bids.is_empty() && out.asks.is_empty();
    if kind == FrameKind::BookDelta && empty && i64::try_from(seq_id) == Ok(prev_seq_id) {
        kind = FrameKind::Heartbeat;
    }
    out.kind = kind;
    out.symbol = Symbol::new(symbol);
    out.exchange_ts_ms = ts_ms;
    out.ids.first = seq_id;
    out.ids.last = seq_id;
    out.ids.prev = Some(prev_seq_id);
    out.ids.checksum = checksum;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okx::OkxParser;
    use crate::venue::scan::differential::{self, same};

    fn general(bytes: &[u8]) -> Result<ParsedFrame, String> {
        let mut frame = ParsedFrame::new();
        OkxParser::general().parse(bytes, &mut frame).map(|()| frame).map_err(|e| e.to_string())
    }

    fn sample(i: u64) -> String {
        let level = |p: u64, q: u64| {
            let qty = if q.is_multiple_of(7) { 0 } else { q };
            format!("[\"{}.{:02}\",\"{qty}\",\"0\",\"{}\"]", p / 100, p % 100, q % 13)
        };
        let asks: Vec<String> =
            (0..(i % 21)).map(|k| level(847_698 + k * 5, (i * 31 + k) % 900)).collect();
        let bids: Vec<String> =
            (0..((i / 3) % 21)).map(|k| level(847_697 - k * 5, (i * 17 + k) % 900)).collect();
        let (channel, action) = match i % 4 {
            0 => ("books", "snapshot"),
            1 => ("books-l2-tbt", "update"),
            2 => ("books50-l2-tbt", "update"),
            _ => ("books", "update"),
        };
        let seq = 123_456 + i;
        // Every 9th update is the keep-alive shape when it carries no levels.
        let prev = if i.is_multiple_of(4) {
            -1
        } else if i.is_multiple_of(9) {
            seq as i64
        } else {
            seq as i64 - 1
        };
        let checksum = if i.is_multiple_of(3) { 0 } else { -855_196_043 + i as i64 };
        format!(
            r#"{{"arg":{{"channel":"{channel}","instId":"BTC-USDT-SWAP"}},"action":"{action}","data":[{{"asks":[{}],"bids":[{}],"ts":"{}","checksum":{checksum},"prevSeqId":{prev},"seqId":{seq}}}]}}"#,
            asks.join(","),
            bids.join(","),
            1_597_026_383_085 + i
        )
    }

    /// The reference's examples (with the SWAP instrument) take the fast path and read as the
    /// general parser reads them; the keep-alive update is a heartbeat on both.
    #[test]
    fn reference_examples_and_keep_alive() {
        let snapshot = br#"{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#;
        let mut fast = ParsedFrame::new();
        assert!(scan_books(snapshot, &mut fast).is_some());
        assert!(same(&fast, &general(snapshot).unwrap()));
        assert_eq!(
            (fast.kind, fast.ids.prev, fast.ids.checksum),
            (FrameKind::BookSnapshot, Some(-1), -855_196_043)
        );
        let keep_alive = br#"{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1597026383085","checksum":0,"prevSeqId":123456,"seqId":123456}]}"#;
        assert!(scan_books(keep_alive, &mut fast).is_some());
        assert_eq!(fast.kind, FrameKind::Heartbeat);
        assert!(same(&fast, &general(keep_alive).unwrap()));
        let books5 = br#"{"arg":{"channel":"books5","instId":"BTC-USDT-SWAP"},"data":[{"asks":[],"bids":[],"ts":"1","seqId":1}]}"#;
        assert!(scan_books(books5, &mut fast).is_none(), "books5 has its own shape");
    }

    /// Whenever the scanner answers, the answer equals the general parser's; canonical messages
    /// are answered.
    #[test]
    fn differential_against_the_simd_json_path() {
        let mut general = OkxParser::general();
        let answered =
            differential::check((0..400).map(sample), 60, 0x0bad_cafe, scan_books, |b, f| {
                general.parse(b, f)
            });
        assert!(answered >= 400, "every canonical message must be answered ({answered})");
    }
}
