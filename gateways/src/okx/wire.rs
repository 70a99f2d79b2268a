//! OKX v5 public wire parser (venues.md §3.2–§3.5, read 2026-11-24) → [`ParsedFrame`].
//!
//! Handled channels (push shape `{"arg":{"channel","instId"},"data":[…]}`):
//! * `books`, `books-l2-tbt`, `books50-l2-tbt`: `action` `snapshot` → [`FrameKind::BookSnapshot`],
//!   `update` → [`FrameKind::BookDelta`]; an update with no levels and `seqId == prevSeqId` is the
//!   ~60 s keep-alive → [`FrameKind::Heartbeat`] (it still carries its ids, so the sequencer checks
//!   its continuity). `ids.last = seqId`, `ids.prev = Some(prevSeqId)`, `ids.checksum` = the
//!   `checksum` field (0 when absent).
//! * `books5`: a 5-level snapshot every 100 ms → [`FrameKind::BookSnapshot`] (`prevSeqId` -1).
//! * `bbo-tbt` and `tickers` → [`FrameKind::Bbo`] (tickers: `bidPx/bidSz/askPx/askSz`).
//! * `trades` → [`FrameKind::Trades`]; `mark-price`, `index-tickers` (symbol = the index id,
//!   e.g. `BTC-USDT`), `funding-rate` → [`FrameKind::MarkFunding`]. For `funding-rate`,
//!   `next_funding_ms` is `fundingTime`, the settlement the current `fundingRate` applies to.
//!   Funding rates are written with up to 16 decimals; they are rounded to [`WIRE_SCALE`]
//!   (see [`rate_at_wire_scale`]).
//!
//! Control: the plain-text `pong` → [`FrameKind::Heartbeat`]; `{"event":"subscribe"|"unsubscribe"|
//! "login"|"notice"|"channel-conn-count",…}` → [`FrameKind::Control`]; `{"event":"error",…}` and
//! REST `{"code":"<non-zero>",…}` → [`WireError::VenueError`]. Other valid messages are `Ignored`.
//!
//! Allocation: none once warm, except the message text of a [`WireError`].

use crate::bybit::wire::text_id;
use crate::venue::json::{
    decimal_str, i64_at, opt_decimal_at, str_at, tv_string_levels, u64_at, JsonScratch, Tv,
};
use crate::venue::{
    FrameKind, ParsedFrame, Symbol, WireError, WireLevel, WireTrade, FRAME_LEVELS_MAX,
    FRAME_TRADES_MAX, WIRE_SCALE,
};
use hedger_core::fixed::{parse_decimal, pow10, DECIMALS_MAX};
use hedger_core::msg::Side;

/// The `prevSeqId` of a snapshot (§3.3 "Sequence rules").
pub const SNAPSHOT_PREV_SEQ_ID: i64 = -1;

/// Parses OKX frames with reused buffers.
pub struct OkxParser {
    scratch: JsonScratch,
    /// Try the single-pass book scanner first (see `super::fast`).
    fast_path: bool,
}

impl Default for OkxParser {
    fn default() -> Self {
        OkxParser::new()
    }
}

impl OkxParser {
    pub fn new() -> OkxParser {
        OkxParser { scratch: JsonScratch::default(), fast_path: true }
    }

    /// The simd-json path only (differential tests and benchmarks).
    pub fn general() -> OkxParser {
        OkxParser { scratch: JsonScratch::default(), fast_path: false }
    }

    /// Parses one frame into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError`] naming the field that is missing or malformed, or
    /// [`WireError::VenueError`] for a venue error reply; `out` is then unspecified.
    pub fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        if self.fast_path && super::fast::scan_books(bytes, out).is_some() {
            return Ok(());
        }
        out.clear();
        if bytes.trim_ascii() == b"pong" {
            out.kind = FrameKind::Heartbeat;
            return Ok(());
        }
        self.scratch.parse_tape(bytes, |root| parse_message(&root, out))
    }
}

fn parse_message(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    if let Some(event) = v.get("event").and_then(|e| e.as_str()) {
        return event_message(event, v, out);
    }
    if let Some(arg) = v.get("arg") {
        let channel = str_at(&arg, "channel")?;
        if let Some(inst_id) = arg.get("instId").and_then(|i| i.as_str()) {
            out.symbol = Symbol::new(inst_id);
        }
        return push_message(channel, v, out);
    }
    if v.get("code").is_some() {
        return rest_message(v);
    }
    Ok(())
}

/// `{"event":…}` replies (§3.2).
fn event_message(event: &str, v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let code = v.get("code").and_then(|c| c.as_str()).unwrap_or("0");
    let failed = event == "error" || event == "channel-conn-count-error";
    if failed || (event == "login" && code != "0") {
        let msg = v.get("msg").and_then(|m| m.as_str()).unwrap_or("");
        return Err(WireError::VenueError(format!("{event} code {code}: {msg}")));
    }
    out.kind = FrameKind::Control;
    Ok(())
}

/// REST `{"code":"0","msg":"","data":[…]}` (§3.5): errors are typed, bodies are not used here
/// (the REST book has no `seqId` and cannot seed the WS sync).
fn rest_message(v: &Tv<'_, '_>) -> Result<(), WireError> {
    let code = v.get("code").and_then(|c| c.as_str()).unwrap_or("");
    if code == "0" {
        return Ok(());
    }
    let msg = v.get("msg").and_then(|m| m.as_str()).unwrap_or("");
    Err(WireError::VenueError(format!("code {code}: {msg}")))
}

fn push_message(channel: &str, v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let data = v.get("data").filter(|d| d.array_len().is_some());
    let data = data.ok_or(WireError::Field { field: "data" })?;
    match channel {
        "books" | "books-l2-tbt" | "books50-l2-tbt" => {
            let action = str_at(v, "action")?;
            books(action, &only_entry(&data)?, out)
        }
        "books5" => books("snapshot", &only_entry(&data)?, out),
        "bbo-tbt" => bbo_tbt(&only_entry(&data)?, out),
        "tickers" => ticker(&only_entry(&data)?, out),
        "trades" => trades(&data, out),
        "mark-price" | "index-tickers" | "funding-rate" => mark(channel, &only_entry(&data)?, out),
        _ => Ok(()),
    }
}

/// The single element of a book/ticker push (OKX sends one per message for these channels).
fn only_entry<'t, 'i>(data: &Tv<'t, 'i>) -> Result<Tv<'t, 'i>, WireError> {
    if data.array_len().unwrap_or(0) > 1 {
        return Err(WireError::TooMany { what: "data entries", max: 1 });
    }
    data.get_idx(0).ok_or(WireError::Field { field: "data" })
}

/// `books*` entry `{asks, bids, ts, checksum, prevSeqId, seqId}` (§3.3).
fn books(action: &str, d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = match action {
        "snapshot" => FrameKind::BookSnapshot,
        "update" => FrameKind::BookDelta,
        _ => return Err(WireError::Field { field: "action" }),
    };
    out.exchange_ts_ms = u64_at(d, "ts")?;
    if let Some(inst_id) = d.get("instId").and_then(|i| i.as_str()) {
        out.symbol = Symbol::new(inst_id);
    }
    let seq_id = seq_id(d)?;
    let prev_seq_id = match d.get("prevSeqId") {
        Some(_) => i64_at(d, "prevSeqId")?,
        None if out.kind == FrameKind::BookSnapshot => SNAPSHOT_PREV_SEQ_ID,
        None => return Err(WireError::Field { field: "prevSeqId" }),
    };
    out.ids.first = seq_id;
    out.ids.last = seq_id;
    out.ids.prev = Some(prev_seq_id);
    out.ids.checksum = d.get("checksum").and_then(|c| c.as_i64()).unwrap_or(0);
    tv_string_levels(d.get("bids"), "bids", &mut out.bids, FRAME_LEVELS_MAX)?;
    tv_string_levels(d.get("asks"), "asks", &mut out.asks, FRAME_LEVELS_MAX)?;
    let empty = out.bids.is_empty() && out.asks.is_empty();
    if out.kind == FrameKind::BookDelta && empty && i64::try_from(seq_id) == Ok(prev_seq_id) {
        out.kind = FrameKind::Heartbeat; // §3.3: the ~60 s keep-alive update
    }
    Ok(())
}

/// `seqId`, which is never negative (§3.3: "smallest possible seqId otherwise is 0"); 0 when
/// absent (`books5` may omit it).
fn seq_id(d: &Tv<'_, '_>) -> Result<u64, WireError> {
    match d.get("seqId") {
        None => Ok(0),
        Some(_) => u64_at(d, "seqId"),
    }
}

fn bbo_tbt(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Bbo;
    out.exchange_ts_ms = u64_at(d, "ts")?;
    let seq_id = seq_id(d)?;
    out.ids.first = seq_id;
    out.ids.last = seq_id;
    tv_string_levels(d.get("bids"), "bids", &mut out.bids, FRAME_LEVELS_MAX)?;
    tv_string_levels(d.get("asks"), "asks", &mut out.asks, FRAME_LEVELS_MAX)?;
    out.bbo.bid = out.bids.first().copied().unwrap_or_default();
    out.bbo.ask = out.asks.first().copied().unwrap_or_default();
    Ok(())
}

fn ticker(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Bbo;
    out.exchange_ts_ms = u64_at(d, "ts")?;
    out.symbol = Symbol::new(str_at(d, "instId")?);
    out.bbo.bid = opt_level(d, "bidPx", "bidSz")?;
    out.bbo.ask = opt_level(d, "askPx", "askSz")?;
    Ok(())
}

/// A level from two optional decimal-string fields; absent or empty parts stay 0.
fn opt_level(
    v: &Tv<'_, '_>,
    price: &'static str,
    qty: &'static str,
) -> Result<WireLevel, WireError> {
    let mut level = WireLevel::default();
    if let Some(text) = v.get(price).and_then(|p| p.as_str()).filter(|t| !t.is_empty()) {
        (level.price, level.price_decimals) = decimal_str(text, price)?;
    }
    if let Some(text) = v.get(qty).and_then(|q| q.as_str()).filter(|t| !t.is_empty()) {
        (level.qty, level.qty_decimals) = decimal_str(text, qty)?;
    }
    Ok(level)
}

fn trades(data: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Trades;
    let entries = data.elements().ok_or(WireError::Field { field: "data" })?;
    if data.array_len().unwrap_or(0) > FRAME_TRADES_MAX {
        return Err(WireError::TooMany { what: "trades", max: FRAME_TRADES_MAX });
    }
    for t in entries {
        out.symbol = Symbol::new(str_at(&t, "instId")?);
        let trade = one_trade(&t)?;
        out.exchange_ts_ms = out.exchange_ts_ms.max(trade.ts_ms);
        out.trades.push(trade);
    }
    Ok(())
}

/// `{"instId","tradeId","px","sz","side","ts",…}`; `side` is the taker side (§3.4).
fn one_trade(t: &Tv<'_, '_>) -> Result<WireTrade, WireError> {
    let (price, price_decimals) = decimal_str(str_at(t, "px")?, "px")?;
    let (qty, qty_decimals) = decimal_str(str_at(t, "sz")?, "sz")?;
    let aggressor = match str_at(t, "side")? {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    };
    Ok(WireTrade {
        price,
        qty,
        price_decimals,
        qty_decimals,
        aggressor,
        trade_id: text_id(str_at(t, "tradeId")?),
        ts_ms: u64_at(t, "ts")?,
    })
}

fn mark(channel: &str, d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.exchange_ts_ms = u64_at(d, "ts")?;
    out.symbol = Symbol::new(str_at(d, "instId")?);
    match channel {
        "mark-price" => out.mark.mark_price = opt_decimal_at(d, "markPx")?,
        "index-tickers" => out.mark.index_price = opt_decimal_at(d, "idxPx")?,
        _ => {
            out.mark.funding_rate = match d.get("fundingRate").and_then(|r| r.as_str()) {
                None | Some("") => None,
                Some(text) => Some(rate_at_wire_scale(text, "fundingRate")?),
            };
            out.mark.next_funding_ms = d.get("fundingTime").and_then(|t| {
                t.as_u64().or_else(|| t.as_str().and_then(|s| s.parse::<u64>().ok()))
            });
        }
    }
    Ok(())
}

/// A rate written with more decimals than [`WIRE_SCALE`] (OKX `fundingRate`
/// "0.0001875391284828"; Deribit `current_funding`), at [`WIRE_SCALE`].
///
/// Rounding: decimals beyond the 18th are cut (toward zero), then the value is rounded to
/// [`WIRE_SCALE`] decimals half away from zero. Rates are not book values; exactness is kept for
/// prices and sizes only.
///
/// # Errors
/// [`WireError::Number`] for text that is not a decimal or a rate of 10 or more in magnitude.
pub fn rate_at_wire_scale(text: &str, field: &'static str) -> Result<i64, WireError> {
    let bytes = text.as_bytes();
    let cut = match bytes.iter().position(|b| *b == b'.') {
        Some(point) if !bytes.contains(&b'e') && !bytes.contains(&b'E') => {
            bytes.len().min(point + 1 + usize::from(DECIMALS_MAX))
        }
        _ => bytes.len(),
    };
    let fine = parse_decimal(&bytes[..cut], DECIMALS_MAX)
        .map_err(|source| WireError::Number { field, source })?;
    let unit = pow10(DECIMALS_MAX - WIRE_SCALE);
    let (quotient, remainder) = (fine / unit, fine % unit);
    let away = i64::from(remainder.abs() * 2 >= unit);
    Ok(quotient + away * fine.signum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedFrame, WireError> {
        let mut frame = ParsedFrame::new();
        OkxParser::new().parse(text.as_bytes(), &mut frame).map(|()| frame)
    }

    /// venues.md §3.3 `books` examples, verbatim.
    #[test]
    fn books_snapshot_and_update_from_the_reference() {
        let snap = parse(r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#).unwrap();
        assert_eq!(snap.kind, FrameKind::BookSnapshot);
        assert_eq!(snap.symbol.as_str(), "BTC-USDT");
        assert_eq!(
            (snap.ids.last, snap.ids.prev, snap.ids.checksum),
            (123456, Some(-1), -855196043)
        );
        assert_eq!(
            snap.asks[1],
            WireLevel {
                price: 847_700_000_000,
                qty: 700_000_000,
                price_decimals: 0,
                qty_decimals: 0
            }
        );
        assert_eq!(snap.exchange_ts_ms, 1597026383085);
        let update = parse(r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8475.55","0","0","0"]],"ts":"1597026383185","checksum":0,"prevSeqId":123456,"seqId":123457}]}"#).unwrap();
        assert_eq!(update.kind, FrameKind::BookDelta);
        assert_eq!(
            (update.ids.last, update.ids.prev, update.ids.checksum),
            (123457, Some(123456), 0)
        );
        assert_eq!(update.bids[0].qty, 0);
    }

    #[test]
    fn keep_alive_update_is_a_heartbeat_with_ids() {
        let hb = parse(r#"{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":0,"prevSeqId":15,"seqId":15}]}"#).unwrap();
        assert_eq!((hb.kind, hb.ids.last, hb.ids.prev), (FrameKind::Heartbeat, 15, Some(15)));
        let pong = parse("pong").unwrap();
        assert_eq!((pong.kind, pong.ids.prev), (FrameKind::Heartbeat, None));
    }

    #[test]
    fn bbo_trades_tickers_mark_index_funding_from_the_reference() {
        let bbo = parse(r#"{"arg":{"channel":"bbo-tbt","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"]],"bids":[["111.05","57745","0","2"]],"ts":"1670324386802","seqId":363996337}]}"#).unwrap();
        assert_eq!((bbo.kind, bbo.symbol.as_str()), (FrameKind::Bbo, "BCH-USDT-SWAP"));
        assert_eq!(
            (bbo.bbo.bid.price, bbo.bbo.ask.qty, bbo.ids.last),
            (11_105_000_000, 5_515_400_000_000, 363996337)
        );
        let t = parse(r#"{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"130639474","px":"42219.9","sz":"12","side":"buy","ts":"1630048897897","count":"3","seqId":1234}]}"#).unwrap();
        let trade = t.trades[0];
        assert_eq!(
            (trade.price, trade.qty, trade.aggressor),
            (4_221_990_000_000, 1_200_000_000, Some(Side::Buy))
        );
        assert_eq!(
            (trade.trade_id, trade.ts_ms, t.exchange_ts_ms),
            (130639474, 1630048897897, 1630048897897)
        );
        let tick = parse(r#"{"arg":{"channel":"tickers","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","last":"9999.99","lastSz":"1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222","sodUtc8":"2222","ts":"1597026383085"}]}"#).unwrap();
        assert_eq!(
            (tick.kind, tick.bbo.bid.price, tick.bbo.ask.qty),
            (FrameKind::Bbo, 888_888_000_000, 1_100_000_000)
        );
        let m = parse(r#"{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1597026383085"}]}"#).unwrap();
        assert_eq!(
            (m.kind, m.mark.mark_price, m.mark.index_price),
            (FrameKind::MarkFunding, Some(4_231_060_000_000), None)
        );
        let i = parse(r#"{"arg":{"channel":"index-tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","idxPx":"42300.1","high24h":"1","low24h":"1","open24h":"1","sodUtc0":"1","sodUtc8":"1","ts":"1597026383085"}]}"#).unwrap();
        assert_eq!((i.symbol.as_str(), i.mark.index_price), ("BTC-USDT", Some(4_230_010_000_000)));
        let f = parse(r#"{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"","instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"","method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001233824646391","settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}]}"#).unwrap();
        assert_eq!(f.mark.funding_rate, Some(18_754), "0.00018753|91… rounds half away from zero");
        assert_eq!(f.mark.next_funding_ms, Some(1700726400000));
    }

    #[test]
    fn rates_round_half_away_from_zero() {
        assert_eq!(rate_at_wire_scale("0.000000015", "r"), Ok(2));
        assert_eq!(rate_at_wire_scale("-0.000000015", "r"), Ok(-2));
        assert_eq!(rate_at_wire_scale("-0.0000000149999", "r"), Ok(-1));
        assert_eq!(rate_at_wire_scale("0.0001", "r"), Ok(10_000));
        assert_eq!(rate_at_wire_scale("0.1234567890123456789999", "r"), Ok(12_345_679));
        assert!(rate_at_wire_scale("1e-3x", "r").is_err());
    }

    #[test]
    fn control_and_errors() {
        let ack = r#"{"id":"1512","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}"#;
        assert_eq!(parse(ack).unwrap().kind, FrameKind::Control);
        let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
        assert_eq!(parse(notice).unwrap().kind, FrameKind::Control);
        let error = r#"{"id":"1512","event":"error","code":"60012","msg":"Invalid request: {...}","connId":"a4d3ae55"}"#;
        assert!(matches!(parse(error), Err(WireError::VenueError(m)) if m.contains("60012")));
        assert!(matches!(
            parse(r#"{"code":"50011","msg":"Too Many Requests","data":[]}"#),
            Err(WireError::VenueError(_))
        ));
        assert_eq!(parse(r#"{"code":"0","msg":"","data":[]}"#).unwrap().kind, FrameKind::Ignored);
        assert_eq!(
            parse(r#"{"arg":{"channel":"open-interest","instId":"X"},"data":[]}"#).unwrap().kind,
            FrameKind::Ignored
        );
        assert!(matches!(
            parse(
                r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","seqId":3}]}"#
            ),
            Err(WireError::Field { field: "prevSeqId" })
        ));
        assert!(matches!(
            parse(
                r#"{"arg":{"channel":"books","instId":"X"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","prevSeqId":1,"seqId":-3}]}"#
            ),
            Err(WireError::Field { field: "seqId" })
        ));
    }
}
