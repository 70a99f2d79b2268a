//! Binance USDⓈ-M wire parser: websocket market events (raw or wrapped as
//! `{"stream":…,"data":…}`) and REST depth snapshots → [`ParsedFrame`].
//!
//! Handled: `depthUpdate` (diff and partial depth), REST `GET /fapi/v1/depth` (`lastUpdateId`),
//! `bookTicker`, `aggTrade` and `trade`, `markPriceUpdate`; `{"result":…,"id":…}` acks are
//! control frames, `{"code":…,"msg":…}` errors are [`WireError::VenueError`]. Unknown events are
//! `Ignored` (venues add event types; ignoring them is safe, misreading them is not).

use crate::venue::json::{
    decimal_str, i64_at, opt_decimal_at, str_at, tv_i64, tv_str, tv_string_levels, tv_u64, u64_at,
    JsonScratch, Tv,
};
use crate::venue::{
    FrameKind, ParsedFrame, Symbol, WireError, WireLevel, WireTrade, FRAME_LEVELS_MAX,
};
use hedger_core::msg::Side;

/// Parses Binance frames with reused buffers.
pub struct BinanceParser {
    scratch: JsonScratch,
    /// Try the single-pass `depthUpdate` scanner first (see `super::fast`).
    fast_path: bool,
}

impl Default for BinanceParser {
    fn default() -> Self {
        BinanceParser::new()
    }
}

impl BinanceParser {
    pub fn new() -> BinanceParser {
        BinanceParser { scratch: JsonScratch::default(), fast_path: true }
    }

    /// The simd-json path only (differential tests and benchmarks).
    pub fn general() -> BinanceParser {
        BinanceParser { scratch: JsonScratch::default(), fast_path: false }
    }

    /// Parses one frame into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError`] naming the field that is missing or malformed; `out` is then unspecified.
    pub fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        if self.fast_path && super::fast::scan_depth_update(bytes, out).is_some() {
            return Ok(());
        }
        out.clear();
        self.scratch.parse_tape(bytes, |root| {
            let event = match root.get("data") {
                Some(data) if root.get("stream").is_some() => data,
                _ => root,
            };
            parse_event(&event, out)
        })
    }
}

fn parse_event(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    match v.get("e").and_then(|e| e.as_str()) {
        Some("depthUpdate") => depth_update(v, out),
        Some("bookTicker") => book_ticker(v, out),
        Some("aggTrade") | Some("trade") => trade(v, out),
        Some("markPriceUpdate") => mark_price(v, out),
        Some(_) => Ok(()),
        None if v.get("lastUpdateId").is_some() => rest_snapshot(v, out),
        None if v.get("result").is_some() && v.get("id").is_some() => {
            out.kind = FrameKind::Control;
            Ok(())
        }
        None if v.get("code").is_some() => {
            let msg = v.get("msg").and_then(|m| m.as_str()).unwrap_or("");
            Err(WireError::VenueError(format!("code {}: {msg}", i64_at(v, "code").unwrap_or(0))))
        }
        None => Ok(()),
    }
}

/// One pass over the event's fields (each tape node visited once); every field is required.
fn depth_update(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::BookDelta;
    let (mut s, mut e, mut first, mut last, mut prev, mut b, mut a) =
        (None, None, None, None, None, None, None);
    for (key, value) in v.fields().ok_or(WireError::Field { field: "e" })? {
        let slot = match key {
            "s" => &mut s,
            "E" => &mut e,
            "U" => &mut first,
            "u" => &mut last,
            "pu" => &mut prev,
            "b" => &mut b,
            "a" => &mut a,
            _ => continue,
        };
        // The first occurrence wins, as with a key lookup.
        slot.get_or_insert(value);
    }
    out.symbol = Symbol::new(tv_str(s, "s")?);
    out.exchange_ts_ms = tv_u64(e, "E")?;
    out.ids.first = tv_u64(first, "U")?;
    out.ids.last = tv_u64(last, "u")?;
    out.ids.prev = Some(tv_i64(prev, "pu")?);
    tv_string_levels(b, "b", &mut out.bids, FRAME_LEVELS_MAX)?;
    tv_string_levels(a, "a", &mut out.asks, FRAME_LEVELS_MAX)
}

fn rest_snapshot(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::BookSnapshot;
    // The REST body has no symbol; a recorder may add one, else the caller assigns it.
    if let Some(symbol) = v.get("symbol").and_then(|s| s.as_str()) {
        out.symbol = Symbol::new(symbol);
    }
    out.exchange_ts_ms = v.get("E").and_then(|e| e.as_u64()).unwrap_or(0);
    let id = u64_at(v, "lastUpdateId")?;
    out.ids.first = id;
    out.ids.last = id;
    tv_string_levels(v.get("bids"), "bids", &mut out.bids, FRAME_LEVELS_MAX)?;
    tv_string_levels(v.get("asks"), "asks", &mut out.asks, FRAME_LEVELS_MAX)
}

fn level(v: &Tv<'_, '_>, price: &'static str, qty: &'static str) -> Result<WireLevel, WireError> {
    let (price_value, price_decimals) = decimal_str(str_at(v, price)?, price)?;
    let (qty_value, qty_decimals) = decimal_str(str_at(v, qty)?, qty)?;
    Ok(WireLevel { price: price_value, qty: qty_value, price_decimals, qty_decimals })
}

fn book_ticker(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Bbo;
    out.symbol = Symbol::new(str_at(v, "s")?);
    out.exchange_ts_ms = v.get("E").and_then(|e| e.as_u64()).unwrap_or(0);
    out.ids.last = u64_at(v, "u")?;
    out.bbo.bid = level(v, "b", "B")?;
    out.bbo.ask = level(v, "a", "A")?;
    Ok(())
}

fn trade(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Trades;
    out.symbol = Symbol::new(str_at(v, "s")?);
    out.exchange_ts_ms = u64_at(v, "E")?;
    let (price, price_decimals) = decimal_str(str_at(v, "p")?, "p")?;
    let (qty, qty_decimals) = decimal_str(str_at(v, "q")?, "q")?;
    let buyer_is_maker =
        v.get("m").and_then(|m| m.as_bool()).ok_or(WireError::Field { field: "m" })?;
    let trade_id = if v.get("a").is_some() { u64_at(v, "a")? } else { u64_at(v, "t")? };
    out.trades.push(WireTrade {
        price,
        qty,
        price_decimals,
        qty_decimals,
        // `m` = buyer is maker, so the aggressor sold.
        aggressor: Some(if buyer_is_maker { Side::Sell } else { Side::Buy }),
        trade_id,
        ts_ms: u64_at(v, "T")?,
    });
    Ok(())
}

fn mark_price(v: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.symbol = Symbol::new(str_at(v, "s")?);
    out.exchange_ts_ms = u64_at(v, "E")?;
    out.mark.mark_price = opt_decimal_at(v, "p")?;
    out.mark.index_price = opt_decimal_at(v, "i")?;
    out.mark.funding_rate = opt_decimal_at(v, "r")?;
    out.mark.next_funding_ms = v.get("T").and_then(|t| t.as_u64()).filter(|t| *t > 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedFrame, WireError> {
        let mut frame = ParsedFrame::new();
        BinanceParser::new().parse(text.as_bytes(), &mut frame).map(|()| frame)
    }

    #[test]
    fn depth_update_raw_and_wrapped() {
        let raw = r#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
        for text in [raw.to_string(), format!(r#"{{"stream":"btcusdt@depth","data":{raw}}}"#)] {
            let f = parse(&text).unwrap();
            assert_eq!(f.kind, FrameKind::BookDelta);
            assert_eq!(f.symbol.as_str(), "BTCUSDT");
            assert_eq!((f.ids.first, f.ids.last, f.ids.prev), (157, 160, Some(149)));
            assert_eq!((f.bids[0].price, f.bids[0].qty), (240_000, 1_000_000_000));
            assert_eq!(f.asks[0].price, 260_000);
            assert_eq!(f.exchange_ts_ms, 123456789);
        }
    }

    #[test]
    fn rest_snapshot_ticker_trade_and_mark() {
        let snap = parse(r#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#).unwrap();
        assert_eq!(
            (snap.kind, snap.ids.last, snap.bids.len(), snap.asks[0].price),
            (FrameKind::BookSnapshot, 1027024, 1, 400_000_200)
        );
        let bbo = parse(r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#).unwrap();
        assert_eq!(
            (bbo.kind, bbo.bbo.bid.price, bbo.bbo.ask.qty),
            (FrameKind::Bbo, 2_535_190_000, 4_066_000_000)
        );
        let t = parse(r#"{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","nq":"100","f":100,"l":105,"T":123456785,"m":true}"#).unwrap();
        assert_eq!(
            t.trades[0].aggressor,
            Some(Side::Sell),
            "m=true: buyer is maker, aggressor sold"
        );
        assert_eq!(
            (t.trades[0].trade_id, t.trades[0].price, t.trades[0].ts_ms),
            (5933014, 100_000, 123456785)
        );
        let m = parse(r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","ap":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}"#).unwrap();
        assert_eq!(m.mark.mark_price, Some(1_179_415_000_000));
        assert_eq!(m.mark.funding_rate, Some(38_167));
        assert_eq!(m.mark.next_funding_ms, Some(1562306400000));
    }

    #[test]
    fn control_errors_and_bad_input_are_typed() {
        assert_eq!(parse(r#"{"result":null,"id":1}"#).unwrap().kind, FrameKind::Control);
        assert!(
            matches!(parse(r#"{"code":2,"msg":"Invalid request"}"#), Err(WireError::VenueError(m)) if m.contains("Invalid request"))
        );
        assert_eq!(parse(r#"{"e":"forceOrder","E":1}"#).unwrap().kind, FrameKind::Ignored);
        assert!(matches!(
            parse(r#"{"e":"depthUpdate","s":"X","E":1,"U":1,"u":2,"b":[],"a":[]}"#),
            Err(WireError::Field { field: "pu" })
        ));
        assert!(matches!(
            parse(
                r#"{"e":"depthUpdate","s":"X","E":1,"U":1,"u":2,"pu":0,"b":[["1.5x","1"]],"a":[]}"#
            ),
            Err(WireError::Number { field: "b", .. })
        ));
        assert!(matches!(parse("not json"), Err(WireError::Json(_))));
    }
}
