//! Bybit v5 public wire parser (venues.md §2.2–§2.4, read 2026-11-24) → [`ParsedFrame`].
//!
//! Handled topics: `orderbook.{depth}.{symbol}` (`snapshot`/`delta`; depth 1 is the BBO stream and
//! becomes a [`FrameKind::Bbo`] frame), `publicTrade.{symbol}`, `tickers.{symbol}` (mark, index,
//! funding and bid1/ask1 as a [`FrameKind::MarkFunding`] frame whose `bbo` is also filled).
//! Control: `{"op":…,"success":…}` acks are [`FrameKind::Control`], pongs (public
//! `"ret_msg":"pong"` and private `"op":"pong"`) are [`FrameKind::Heartbeat`], `"success":false`
//! and REST `retCode != 0` are [`WireError::VenueError`]. A REST `GET /v5/market/orderbook` body
//! is a [`FrameKind::BookSnapshot`] (for replay captures; its `u` belongs to the 1000-level stream,
//! §2.3, so only an `orderbook.1000` book may take it). Unknown topics are `Ignored`.
//!
//! Ticker deltas only carry changed fields (§2.3 "merge deltas into the last snapshot"): merging
//! is the caller's job; a field absent here is `None` in `mark`, and a zero price in `bbo`.
//!
//! Allocation: none once warm, except the message text of a [`WireError`].

use crate::venue::json::{
    decimal_str, opt_decimal_at, str_at, tv_string_levels, u64_at, JsonScratch, Tv,
};
use crate::venue::{
    FrameKind, ParsedFrame, Symbol, WireError, WireLevel, WireTrade, FRAME_LEVELS_MAX,
    FRAME_TRADES_MAX,
};
use hedger_core::msg::Side;

/// Parses Bybit frames with reused buffers.
pub struct BybitParser {
    scratch: JsonScratch,
    /// Try the single-pass order-book scanner first (see `super::fast`).
    fast_path: bool,
}

impl Default for BybitParser {
    fn default() -> Self {
        BybitParser::new()
    }
}

impl BybitParser {
    pub fn new() -> BybitParser {
        BybitParser { scratch: JsonScratch::default(), fast_path: true }
    }

    /// The simd-json path only (differential tests and benchmarks).
    pub fn general() -> BybitParser {
        BybitParser { scratch: JsonScratch::default(), fast_path: false }
    }

    /// Parses one frame into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError`] naming the field that is missing or malformed, or
    /// [`WireError::VenueError`] for a venue error reply; `out` is then unspecified.
    pub fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        if self.fast_path && super::fast::scan_orderbook(bytes, out).is_some() {
            return Ok(());
        }
        out.clear();
        self.scratch.parse_tape(bytes, |root| parse_message(&root, out))
    }
}

fn parse_message(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    if let Some(topic) = v.get("topic").and_then(|t| t.as_str()) {
        return topic_message(topic, v, out);
    }
    if v.get("op").is_some() {
        return op_message(v, out);
    }
    if v.get("retCode").is_some() {
        return rest_message(v, out);
    }
    Ok(())
}

fn topic_message(topic: &str, v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let (channel, rest) = topic.split_once('.').unwrap_or((topic, ""));
    match channel {
        "orderbook" if rest.starts_with("1.") => orderbook_bbo(v, out),
        "orderbook" => orderbook(v, out),
        "publicTrade" => trades(v, out),
        "tickers" => tickers(v, out),
        _ => Ok(()),
    }
}

/// `{"op":"subscribe","success":true,…}`, pongs, and failed requests.
fn op_message(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let op = v.get("op").and_then(|o| o.as_str()).unwrap_or("");
    let ret_msg = v.get("ret_msg").and_then(|m| m.as_str()).unwrap_or("");
    if v.get("success").and_then(|s| s.as_bool()) == Some(false) {
        return Err(WireError::VenueError(format!("op {op}: {ret_msg}")));
    }
    out.kind =
        if op == "pong" || ret_msg == "pong" { FrameKind::Heartbeat } else { FrameKind::Control };
    Ok(())
}

/// REST envelope `{"retCode":0,"retMsg":"OK","result":{…}}` (§2.4).
fn rest_message(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let code =
        v.get("retCode").and_then(|c| c.as_i64()).ok_or(WireError::Field { field: "retCode" })?;
    if code != 0 {
        let msg = v.get("retMsg").and_then(|m| m.as_str()).unwrap_or("");
        return Err(WireError::VenueError(format!("retCode {code}: {msg}")));
    }
    match v.get("result") {
        Some(result) if result.get("b").is_some() && result.get("u").is_some() => {
            out.kind = FrameKind::BookSnapshot;
            book_body(&result, out)?;
            out.exchange_ts_ms = result.get("ts").and_then(|t| t.as_u64()).unwrap_or(0);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn book_type(v: &Tv<'_, '_>) -> Result<FrameKind, WireError> {
    match str_at(v, "type")? {
        "snapshot" => Ok(FrameKind::BookSnapshot),
        "delta" => Ok(FrameKind::BookDelta),
        _ => Err(WireError::Field { field: "type" }),
    }
}

/// `data: {s, b, a, u, seq}` of a book message or a REST book result.
fn book_body(data: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.symbol = Symbol::new(str_at(data, "s")?);
    let update_id = u64_at(data, "u")?;
    out.ids.first = update_id;
    out.ids.last = update_id;
    out.ids.cross_seq = data.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
    tv_string_levels(data.get("b"), "b", &mut out.bids, FRAME_LEVELS_MAX)?;
    tv_string_levels(data.get("a"), "a", &mut out.asks, FRAME_LEVELS_MAX)
}

fn orderbook(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = book_type(v)?;
    out.exchange_ts_ms = u64_at(v, "ts")?;
    let data = v.get("data").ok_or(WireError::Field { field: "data" })?;
    book_body(&data, out)
}

/// `orderbook.1.{symbol}`: snapshot-only depth 1 (§2.3 rule 5), read as the BBO. The single
/// levels also stay in `bids`/`asks`; an empty side leaves a zero level in `bbo`.
fn orderbook_bbo(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    book_type(v)?;
    out.exchange_ts_ms = u64_at(v, "ts")?;
    let data = v.get("data").ok_or(WireError::Field { field: "data" })?;
    book_body(&data, out)?;
    out.kind = FrameKind::Bbo;
    out.bbo.bid = out.bids.first().copied().unwrap_or_default();
    out.bbo.ask = out.asks.first().copied().unwrap_or_default();
    Ok(())
}

fn trades(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Trades;
    out.exchange_ts_ms = u64_at(v, "ts")?;
    let data = v.get("data").ok_or(WireError::Field { field: "data" })?;
    let trades = data.elements().ok_or(WireError::Field { field: "data" })?;
    if data.array_len().unwrap_or(0) > FRAME_TRADES_MAX {
        return Err(WireError::TooMany { what: "trades", max: FRAME_TRADES_MAX });
    }
    for trade in trades {
        out.symbol = Symbol::new(str_at(&trade, "s")?);
        out.trades.push(one_trade(&trade)?);
    }
    Ok(())
}

/// `{"T","s","S","v","p","i",…}`; `S` is the taker side (§2.3 public trades).
fn one_trade(t: &Tv<'_, '_>) -> Result<WireTrade, WireError> {
    let (price, price_decimals) = decimal_str(str_at(t, "p")?, "p")?;
    let (qty, qty_decimals) = decimal_str(str_at(t, "v")?, "v")?;
    let aggressor = match str_at(t, "S")? {
        "Buy" => Some(Side::Buy),
        "Sell" => Some(Side::Sell),
        _ => None,
    };
    Ok(WireTrade {
        price,
        qty,
        price_decimals,
        qty_decimals,
        aggressor,
        trade_id: text_id(str_at(t, "i")?),
        ts_ms: u64_at(t, "T")?,
    })
}

/// `tickers.{symbol}` snapshot or delta: only the fields present are read (§2.3 tickers).
fn tickers(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.exchange_ts_ms = u64_at(v, "ts")?;
    out.ids.cross_seq = v.get("cs").and_then(|c| c.as_u64()).unwrap_or(0);
    let data = v.get("data").ok_or(WireError::Field { field: "data" })?;
    out.symbol = Symbol::new(str_at(&data, "symbol")?);
    out.mark.mark_price = opt_decimal_at(&data, "markPrice")?;
    out.mark.index_price = opt_decimal_at(&data, "indexPrice")?;
    out.mark.funding_rate = opt_decimal_at(&data, "fundingRate")?;
    out.mark.next_funding_ms = match data.get("nextFundingTime").and_then(|t| t.as_str()) {
        None | Some("") | Some("0") => None,
        Some(text) => {
            Some(text.parse::<u64>().map_err(|_| WireError::Field { field: "nextFundingTime" })?)
        }
    };
    out.bbo.bid = opt_level(&data, "bid1Price", "bid1Size")?;
    out.bbo.ask = opt_level(&data, "ask1Price", "ask1Size")?;
    Ok(())
}

/// A level from two optional decimal-string fields; absent parts stay 0.
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

/// A trade id as a number: decimal text as is, anything else (Bybit's UUID-like `i`) as its
/// FNV-1a 64 hash. Shared by the OKX and Deribit parsers.
pub fn text_id(text: &str) -> u64 {
    if let Ok(id) = text.parse::<u64>() {
        return id;
    }
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedFrame, WireError> {
        let mut frame = ParsedFrame::new();
        BybitParser::new().parse(text.as_bytes(), &mut frame).map(|()| frame)
    }

    /// venues.md §2.3 order book examples, verbatim.
    #[test]
    fn orderbook_snapshot_and_delta_from_the_reference() {
        let snap = parse(r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#).unwrap();
        assert_eq!(snap.kind, FrameKind::BookSnapshot);
        assert_eq!(snap.symbol.as_str(), "BTCUSDT");
        assert_eq!((snap.ids.first, snap.ids.last, snap.ids.prev), (18521288, 18521288, None));
        assert_eq!(snap.ids.cross_seq, 7961638724);
        assert_eq!(
            snap.bids[0],
            WireLevel {
                price: 1_649_350_000_000,
                qty: 600_000,
                price_decimals: 2,
                qty_decimals: 3
            }
        );
        assert_eq!(snap.asks[1].price, 1_661_200_000_000);
        assert_eq!(snap.exchange_ts_ms, 1672304484978);
        let delta = parse(r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30240.00","0"]],"a":[["30248.70","0"],["30249.30","0.892"]],"u":177400507,"seq":66544703342},"cts":1687940967464}"#).unwrap();
        assert_eq!(delta.kind, FrameKind::BookDelta);
        assert_eq!(delta.ids.last, 177400507);
        assert_eq!((delta.bids[1].qty, delta.asks[0].qty), (0, 0), "size 0 deletes (rule 3)");
    }

    #[test]
    fn rule_6_key_order_does_not_matter_and_depth_1_is_the_bbo() {
        let bbo = parse(r#"{"topic":"orderbook.1.BTCUSDT","ts":1672304484978,"type":"snapshot","data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":42,"seq":7}}"#).unwrap();
        assert_eq!(bbo.kind, FrameKind::Bbo);
        assert_eq!((bbo.bbo.bid.price, bbo.bbo.ask.qty), (1_649_350_000_000, 2_900_000));
        assert_eq!(bbo.ids.last, 42);
    }

    #[test]
    fn trades_and_tickers_from_the_reference() {
        let t = parse(r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"RPI":false,"seq":1783284617}]}"#).unwrap();
        assert_eq!(t.kind, FrameKind::Trades);
        let trade = t.trades[0];
        assert_eq!(
            (trade.price, trade.qty, trade.aggressor),
            (1_657_850_000_000, 100_000, Some(Side::Buy))
        );
        assert_eq!(trade.trade_id, text_id("20f43950-d8dd-5b31-9112-a178eb6023af"));
        assert_eq!(trade.ts_ms, 1672304486865);
        let m = parse(r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"MinusTick","price24hPcnt":"-0.158315","lastPrice":"66666.60","prevPrice24h":"79206.20","highPrice24h":"79266.30","lowPrice24h":"65076.90","prevPrice1h":"66666.60","markPrice":"66666.60","indexPrice":"115418.19","openInterest":"492373.72","openInterestValue":"32824881841.75","turnover24h":"4936790807.6521","volume24h":"73191.3870","fundingIntervalHour":"8","fundingCap":"0.005","nextFundingTime":"1760342400000","fundingRate":"-0.005","bid1Price":"66666.60","bid1Size":"23789.165","ask1Price":"66666.70","ask1Size":"23775.469","preOpenPrice":"","preQty":"","curPreListingPhase":""},"cs":9532239429,"ts":1760325052630}"#).unwrap();
        assert_eq!(m.kind, FrameKind::MarkFunding);
        assert_eq!(m.mark.mark_price, Some(6_666_660_000_000));
        assert_eq!(m.mark.index_price, Some(11_541_819_000_000));
        assert_eq!(m.mark.funding_rate, Some(-500_000));
        assert_eq!(m.mark.next_funding_ms, Some(1760342400000));
        assert_eq!((m.bbo.bid.qty, m.bbo.ask.price), (2_378_916_500_000, 6_666_670_000_000));
        assert_eq!(m.ids.cross_seq, 9532239429);
        // A delta carries only what changed (§2.3): absent fields are None / zero.
        let d = parse(r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"66667.10","bid1Price":"66666.90"},"cs":9532239430,"ts":1760325052730}"#).unwrap();
        assert_eq!((d.mark.mark_price, d.mark.index_price), (Some(6_666_710_000_000), None));
        assert_eq!((d.bbo.bid.price, d.bbo.bid.qty, d.bbo.ask.price), (6_666_690_000_000, 0, 0));
    }

    #[test]
    fn control_pong_errors_and_rest_book() {
        let ack = r#"{"success":true,"ret_msg":"","conn_id":"3cd84cb1-4d06-4a05-930a-2efe5fc70f0f","req_id":"","op":"subscribe"}"#;
        assert_eq!(parse(ack).unwrap().kind, FrameKind::Control);
        let public_pong =
            r#"{"success":true,"ret_msg":"pong","conn_id":"465772b1","req_id":"","op":"ping"}"#;
        assert_eq!(parse(public_pong).unwrap().kind, FrameKind::Heartbeat);
        let private_pong = r#"{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}"#;
        assert_eq!(parse(private_pong).unwrap().kind, FrameKind::Heartbeat);
        let refused = r#"{"success":false,"ret_msg":"error:handler not found","conn_id":"x","req_id":"","op":"subscribe"}"#;
        assert!(
            matches!(parse(refused), Err(WireError::VenueError(m)) if m.contains("handler not found"))
        );
        let rest_error =
            r#"{"retCode":10001,"retMsg":"params error","result":{},"retExtInfo":{},"time":1}"#;
        assert!(matches!(parse(rest_error), Err(WireError::VenueError(m)) if m.contains("10001")));
        let rest_book = r#"{"retCode":0,"retMsg":"OK","result":{"s":"BTCUSDT","b":[["65485.47","47.081829"]],"a":[["65557.7","16.606555"]],"ts":1716863719031,"u":230704,"seq":1432604333,"cts":1716863718905},"retExtInfo":{},"time":1716863719382}"#;
        let f = parse(rest_book).unwrap();
        assert_eq!(
            (f.kind, f.ids.last, f.asks[0].price_decimals),
            (FrameKind::BookSnapshot, 230704, 1)
        );
        assert_eq!(
            parse(r#"{"topic":"kline.1.BTCUSDT","data":[]}"#).unwrap().kind,
            FrameKind::Ignored
        );
        assert!(matches!(
            parse(r#"{"topic":"orderbook.50.BTCUSDT","type":"full","ts":1,"data":{}}"#),
            Err(WireError::Field { field: "type" })
        ));
        assert!(matches!(
            parse(
                r#"{"topic":"orderbook.50.X","type":"delta","ts":1,"data":{"s":"X","b":[["1.5x","1"]],"a":[],"u":2}}"#
            ),
            Err(WireError::Number { field: "b", .. })
        ));
    }

    #[test]
    fn text_ids_are_numbers_or_stable_hashes() {
        assert_eq!(text_id("130639474"), 130639474);
        assert_eq!(text_id("abc"), text_id("abc"));
        assert_ne!(text_id("abc"), text_id("abd"));
    }
}
