//! Deribit JSON-RPC wire parser (venues.md §4.1, §4.3, §4.4, §4.8, read 2026-11-24) →
//! [`ParsedFrame`].
//!
//! Notifications `{"method":"subscription","params":{"channel","data"}}`:
//! * `book.{instrument}.{interval}`: `type` `snapshot` → [`FrameKind::BookSnapshot`], `change` →
//!   [`FrameKind::BookDelta`]; entries `[action, price, amount]` with action `new` / `change`
//!   (absolute amount) or `delete` (quantity 0). `ids.last = change_id`,
//!   `ids.prev = prev_change_id` (None on the snapshot).
//! * `book.{instrument}.{group}.{depth}.{interval}`: no `type`, `[price, amount]` entries, always a
//!   full book → [`FrameKind::BookSnapshot`].
//! * `trades.*` → [`FrameKind::Trades`] (`direction` is the taker side).
//! * `ticker.*` / `incremental_ticker.*` → [`FrameKind::MarkFunding`] with `mark_price`,
//!   `index_price`, `current_funding` **and** `bbo` from `best_bid_*` / `best_ask_*` (a ticker
//!   carries both; absent or null fields stay `None` / 0). `quote.*` → [`FrameKind::Bbo`].
//! * `perpetual.*` (funding `interest`, `index_price`) and `deribit_price_index.*` (symbol = the
//!   index name) → [`FrameKind::MarkFunding`].
//!
//! Control: `{"method":"heartbeat"}` → [`FrameKind::Heartbeat`] — when its `type` is
//! `test_request`, [`DeribitParser::is_test_request`] is true and the session must call
//! `public/test` at once (§4.3); replies with `result` → [`FrameKind::Control`], except a
//! `public/get_order_book` result (it has `change_id` and `bids`) → [`FrameKind::BookSnapshot`];
//! replies with `error` → [`WireError::VenueError`] (code and message).
//!
//! **Numbers.** Prices, amounts and ids are JSON numbers. simd-json only gives them as
//! `u64`/`i64`/`f64`, so the parser locates the bytes Deribit wrote for each number in the raw
//! frame ([`Tv::number_text`]) and parses that text exactly with [`parse_decimal_written`]: no
//! `f64` is involved, so even 16–18 significant digits stay exact. A value needing more than
//! [`WIRE_SCALE`] decimals is an error, as for string venues. The written decimals kept are those
//! of the shortest form (`30.0` on the wire is kept as `30`). Rates (`current_funding`,
//! `interest`) in plain form are cut as [`rate_at_wire_scale`] cuts text; only a rate written
//! with an exponent goes through its shortest `f64` text first.
//!
//! Allocation: none once warm, except the message text of a [`WireError`].

use std::io::Write;

use crate::bybit::wire::text_id;
use crate::okx::wire::rate_at_wire_scale;
use crate::venue::json::{str_at, u64_at, JsonScratch, Tv};
use crate::venue::{
    FrameKind, ParsedFrame, Symbol, WireError, WireLevel, WireTrade, FRAME_LEVELS_MAX,
    FRAME_TRADES_MAX, WIRE_SCALE,
};
use hedger_core::fixed::{parse_decimal_written, pow10, FixedError};
use hedger_core::msg::Side;

/// Bytes of the longest number text accepted (an `f64` in `Display` form beyond this does not
/// fit an `i64` at [`WIRE_SCALE`] anyway).
pub const NUMBER_TEXT_BYTES_MAX: usize = 64;

/// Parses Deribit frames with reused buffers.
pub struct DeribitParser {
    scratch: JsonScratch,
    test_request: bool,
    /// Try the single-pass book scanner first (see `super::fast`).
    fast_path: bool,
}

impl Default for DeribitParser {
    fn default() -> Self {
        DeribitParser::new()
    }
}

impl DeribitParser {
    pub fn new() -> DeribitParser {
        DeribitParser { scratch: JsonScratch::default(), test_request: false, fast_path: true }
    }

    /// The simd-json path only (differential tests and benchmarks).
    pub fn general() -> DeribitParser {
        DeribitParser { fast_path: false, ..DeribitParser::new() }
    }

    /// Parses one frame into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError`] naming the field that is missing or malformed, or
    /// [`WireError::VenueError`] for a JSON-RPC error reply; `out` is then unspecified.
    pub fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError> {
        if self.fast_path && super::fast::scan_book(bytes, out).is_some() {
            self.test_request = false;
            return Ok(());
        }
        out.clear();
        let mut test_request = false;
        let result =
            self.scratch.parse_tape(bytes, |root| parse_message(&root, out, &mut test_request));
        self.test_request = test_request;
        result
    }

    /// The last parsed frame was a `heartbeat` of type `test_request`: answer with `public/test`.
    pub fn is_test_request(&self) -> bool {
        self.test_request
    }
}

fn parse_message(
    v: &Tv<'_, '_>,
    out: &mut ParsedFrame,
    test_request: &mut bool,
) -> Result<(), WireError> {
    match v.get("method").and_then(|m| m.as_str()) {
        Some("subscription") => {
            let params = v.get("params").ok_or(WireError::Field { field: "params" })?;
            let channel = str_at(&params, "channel")?;
            let data = params.get("data").ok_or(WireError::Field { field: "data" })?;
            return notification(channel, &data, out);
        }
        Some("heartbeat") => {
            out.kind = FrameKind::Heartbeat;
            let kind = v.get("params").and_then(|p| p.get("type")).and_then(|t| t.as_str());
            *test_request = kind == Some("test_request");
            return Ok(());
        }
        _ => {}
    }
    if let Some(error) = v.get("error") {
        let code = error.get("code").and_then(|c| c.as_i64()).unwrap_or(0);
        let message = error.get("message").and_then(|m| m.as_str()).unwrap_or("");
        return Err(WireError::VenueError(format!("code {code}: {message}")));
    }
    match v.get("result") {
        Some(result) if result.get("change_id").is_some() && result.get("bids").is_some() => {
            book(&result, out)
        }
        Some(_) => {
            out.kind = FrameKind::Control;
            Ok(())
        }
        None => Ok(()),
    }
}

fn notification(channel: &str, data: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    let prefix = channel.split('.').next().unwrap_or("");
    match prefix {
        "book" => book(data, out),
        "trades" => trades(data, out),
        "ticker" | "incremental_ticker" => ticker(data, out),
        "quote" => quote(data, out),
        "perpetual" => perpetual(channel, data, out),
        "deribit_price_index" => price_index(data, out),
        _ => Ok(()),
    }
}

/// `{type, timestamp, instrument_name, change_id, prev_change_id?, bids, asks}` (§4.4), or a
/// `public/get_order_book` result / grouped book without `type` (a full snapshot).
fn book(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = match d.get("type").and_then(|t| t.as_str()) {
        None | Some("snapshot") => FrameKind::BookSnapshot,
        Some("change") => FrameKind::BookDelta,
        Some(_) => return Err(WireError::Field { field: "type" }),
    };
    out.symbol = Symbol::new(str_at(d, "instrument_name")?);
    out.exchange_ts_ms = u64_at(d, "timestamp")?;
    let change_id = u64_at(d, "change_id")?;
    out.ids.first = change_id;
    out.ids.last = change_id;
    out.ids.prev = match d.get("prev_change_id") {
        None => None,
        Some(p) if p.is_null() => None,
        Some(p) => Some(p.as_i64().ok_or(WireError::Field { field: "prev_change_id" })?),
    };
    book_levels(d.get("bids"), "bids", &mut out.bids)?;
    book_levels(d.get("asks"), "asks", &mut out.asks)
}

/// `[["new"|"change"|"delete", price, amount], …]` or `[[price, amount], …]`.
fn book_levels(
    v: Option<Tv<'_, '_>>,
    field: &'static str,
    out: &mut Vec<WireLevel>,
) -> Result<(), WireError> {
    let array = v.and_then(|a| a.elements()).ok_or(WireError::Field { field })?;
    if v.and_then(|a| a.array_len()).unwrap_or(0) > FRAME_LEVELS_MAX {
        return Err(WireError::TooMany { what: "levels", max: FRAME_LEVELS_MAX });
    }
    for entry in array {
        out.push(book_entry(&entry, field)?);
    }
    Ok(())
}

fn book_entry(entry: &Tv<'_, '_>, field: &'static str) -> Result<WireLevel, WireError> {
    let bad = WireError::Field { field };
    let mut parts = entry.elements().ok_or(WireError::Field { field })?;
    let action = match entry.array_len() {
        Some(3) => parts.next().and_then(|a| a.as_str()).ok_or(bad)?,
        Some(2) => "new",
        _ => return Err(WireError::Field { field }),
    };
    let price = parts.next().ok_or(WireError::Field { field })?;
    let amount = parts.next().ok_or(WireError::Field { field })?;
    let (price, price_decimals) = exact_number(&price, field)?;
    let (qty, qty_decimals) = match action {
        "new" | "change" => exact_number(&amount, field)?,
        "delete" => (0, 0),
        _ => return Err(WireError::Field { field }),
    };
    Ok(WireLevel { price, qty, price_decimals, qty_decimals })
}

/// A JSON number at [`WIRE_SCALE`], parsed exactly from the bytes Deribit wrote, with the
/// decimals of its shortest form (see the module documentation).
///
/// # Errors
/// [`WireError::Field`] if `v` is not a number; [`WireError::Number`] if it needs more than
/// [`WIRE_SCALE`] decimals or overflows.
pub fn exact_number(v: &Tv<'_, '_>, field: &'static str) -> Result<(i64, u8), WireError> {
    let text = v.number_text().ok_or(WireError::Field { field })?;
    let (value, written) = parse_decimal_written(text, WIRE_SCALE)
        .map_err(|source| WireError::Number { field, source })?;
    let shortest = if text.iter().any(|b| matches!(b, b'e' | b'E')) {
        shortest_decimals(value)
    } else {
        written - trailing_fraction_zeros(text, written)
    };
    Ok((value, shortest))
}

/// Decimals needed to write `value` (at [`WIRE_SCALE`]) with no trailing fractional zero.
fn shortest_decimals(value: i64) -> u8 {
    let mut decimals = WIRE_SCALE;
    while decimals > 0 && value % pow10(WIRE_SCALE - decimals + 1) == 0 {
        decimals -= 1;
    }
    decimals
}

/// How many of the last `written` fraction digits of `text` (no exponent) are zeros, counted
/// from the end (`"30.50"` → 1, `"30.0"` → 1, `"30"` → 0).
fn trailing_fraction_zeros(text: &[u8], written: u8) -> u8 {
    let fraction = &text[text.len() - usize::from(written)..];
    fraction.iter().rev().take_while(|b| **b == b'0').count() as u8
}

/// Writes the shortest round-trip decimal text of `float` (Rust `Display`: no exponent);
/// None if it does not fit `out`.
fn shortest_text(float: f64, out: &mut [u8; NUMBER_TEXT_BYTES_MAX]) -> Option<usize> {
    let mut cursor: &mut [u8] = &mut out[..];
    write!(cursor, "{float}").ok()?;
    Some(NUMBER_TEXT_BYTES_MAX - cursor.len())
}

/// An optional number field: absent or `null` is None.
fn opt_number(v: &Tv<'_, '_>, field: &'static str) -> Result<Option<(i64, u8)>, WireError> {
    match v.get(field) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => exact_number(&n, field).map(Some),
    }
}

/// An optional rate (funding, interest) rounded to [`WIRE_SCALE`] as
/// [`rate_at_wire_scale`] documents.
fn opt_rate(v: &Tv<'_, '_>, field: &'static str) -> Result<Option<i64>, WireError> {
    let Some(n) = v.get(field).filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    if let Some(integer) = n.as_i64() {
        return integer
            .checked_mul(pow10(WIRE_SCALE))
            .map(Some)
            .ok_or(WireError::Number { field, source: FixedError::Overflow });
    }
    let raw = n.number_text().ok_or(WireError::Field { field })?;
    if !raw.iter().any(|b| matches!(b, b'e' | b'E')) {
        let text = std::str::from_utf8(raw).map_err(|_| WireError::Field { field })?;
        return rate_at_wire_scale(text, field).map(Some);
    }
    // Exponent form: its shortest plain text, so that the 18-decimal cut applies as to text.
    let float = n.as_f64().ok_or(WireError::Field { field })?;
    let mut text = [0u8; NUMBER_TEXT_BYTES_MAX];
    let len = shortest_text(float, &mut text)
        .ok_or(WireError::Number { field, source: FixedError::Overflow })?;
    let text = std::str::from_utf8(&text[..len]).map_err(|_| WireError::Field { field })?;
    rate_at_wire_scale(text, field).map(Some)
}

fn opt_level(
    v: &Tv<'_, '_>,
    price: &'static str,
    qty: &'static str,
) -> Result<WireLevel, WireError> {
    let mut level = WireLevel::default();
    if let Some((value, decimals)) = opt_number(v, price)? {
        (level.price, level.price_decimals) = (value, decimals);
    }
    if let Some((value, decimals)) = opt_number(v, qty)? {
        (level.qty, level.qty_decimals) = (value, decimals);
    }
    Ok(level)
}

fn trades(data: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Trades;
    let array = data.elements().ok_or(WireError::Field { field: "data" })?;
    if data.array_len().unwrap_or(0) > FRAME_TRADES_MAX {
        return Err(WireError::TooMany { what: "trades", max: FRAME_TRADES_MAX });
    }
    for t in array {
        out.symbol = Symbol::new(str_at(&t, "instrument_name")?);
        let trade = one_trade(&t)?;
        out.exchange_ts_ms = out.exchange_ts_ms.max(trade.ts_ms);
        out.trades.push(trade);
    }
    Ok(())
}

/// `{trade_id, timestamp, price, amount, direction, …}`; `direction` is the taker side (§4.4).
fn one_trade(t: &Tv<'_, '_>) -> Result<WireTrade, WireError> {
    let price = t.get("price").ok_or(WireError::Field { field: "price" })?;
    let amount = t.get("amount").ok_or(WireError::Field { field: "amount" })?;
    let (price, price_decimals) = exact_number(&price, "price")?;
    let (qty, qty_decimals) = exact_number(&amount, "amount")?;
    let aggressor = match str_at(t, "direction")? {
        "buy" => Some(Side::Buy),
        "sell" => Some(Side::Sell),
        _ => None,
    };
    let trade_id = match t.get("trade_id") {
        Some(id) => match id.as_u64() {
            Some(number) => number,
            None => text_id(id.as_str().ok_or(WireError::Field { field: "trade_id" })?),
        },
        None => return Err(WireError::Field { field: "trade_id" }),
    };
    Ok(WireTrade {
        price,
        qty,
        price_decimals,
        qty_decimals,
        aggressor,
        trade_id,
        ts_ms: u64_at(t, "timestamp")?,
    })
}

fn ticker(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.symbol = Symbol::new(str_at(d, "instrument_name")?);
    out.exchange_ts_ms = u64_at(d, "timestamp")?;
    out.mark.mark_price = opt_number(d, "mark_price")?.map(|(value, _)| value);
    out.mark.index_price = opt_number(d, "index_price")?.map(|(value, _)| value);
    out.mark.funding_rate = opt_rate(d, "current_funding")?;
    out.bbo.bid = opt_level(d, "best_bid_price", "best_bid_amount")?;
    out.bbo.ask = opt_level(d, "best_ask_price", "best_ask_amount")?;
    Ok(())
}

fn quote(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::Bbo;
    out.symbol = Symbol::new(str_at(d, "instrument_name")?);
    out.exchange_ts_ms = u64_at(d, "timestamp")?;
    out.bbo.bid = opt_level(d, "best_bid_price", "best_bid_amount")?;
    out.bbo.ask = opt_level(d, "best_ask_price", "best_ask_amount")?;
    Ok(())
}

/// `perpetual.{instrument}.{interval}`: `{interest, index_price, timestamp}`; the instrument comes
/// from the channel name.
fn perpetual(channel: &str, d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.symbol = Symbol::new(channel.split('.').nth(1).unwrap_or(""));
    out.exchange_ts_ms = u64_at(d, "timestamp")?;
    out.mark.funding_rate = opt_rate(d, "interest")?;
    out.mark.index_price = opt_number(d, "index_price")?.map(|(value, _)| value);
    Ok(())
}

fn price_index(d: &Tv<'_, '_>, out: &mut ParsedFrame) -> Result<(), WireError> {
    out.kind = FrameKind::MarkFunding;
    out.symbol = Symbol::new(str_at(d, "index_name")?);
    out.exchange_ts_ms = u64_at(d, "timestamp")?;
    out.mark.index_price = opt_number(d, "price")?.map(|(value, _)| value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParsedFrame, WireError> {
        let mut frame = ParsedFrame::new();
        DeribitParser::new().parse(text.as_bytes(), &mut frame).map(|()| frame)
    }

    fn notification(channel: &str, data: &str) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{channel}","data":{data}}}}}"#
        )
    }

    /// venues.md §4.4 order book examples, verbatim.
    #[test]
    fn book_snapshot_and_change_from_the_reference() {
        let snap = parse(r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"snapshot","timestamp":1554373962454,"instrument_name":"BTC-PERPETUAL","change_id":297217,"bids":[["new",5042.34,30],["new",5041.94,20]],"asks":[["new",5042.64,40],["new",5043.3,40]]}}}"#).unwrap();
        assert_eq!((snap.kind, snap.symbol.as_str()), (FrameKind::BookSnapshot, "BTC-PERPETUAL"));
        assert_eq!((snap.ids.last, snap.ids.prev), (297217, None));
        assert_eq!(
            snap.bids[0],
            WireLevel {
                price: 504_234_000_000,
                qty: 3_000_000_000,
                price_decimals: 2,
                qty_decimals: 0
            }
        );
        assert_eq!((snap.asks[1].price, snap.asks[1].price_decimals), (504_330_000_000, 1));
        let change = parse(r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"type":"change","timestamp":1554373911330,"prev_change_id":297217,"instrument_name":"BTC-PERPETUAL","change_id":297218,"bids":[["delete",5041.94,0],["change",5042.34,10]],"asks":[]}}}"#).unwrap();
        assert_eq!(
            (change.kind, change.ids.last, change.ids.prev),
            (FrameKind::BookDelta, 297218, Some(297217))
        );
        assert_eq!((change.bids[0].qty, change.bids[1].qty), (0, 1_000_000_000), "delete → 0");
        assert_eq!(change.exchange_ts_ms, 1554373911330);
    }

    /// §0.2 rule 1 / §4.1: JSON numbers read exactly, not via a lossy f64 × 10^8.
    #[test]
    fn numbers_are_exact() {
        let cases: [(&str, i64, u8); 9] = [
            ("0.1", 10_000_000, 1),
            ("16493.5", 1_649_350_000_000, 1),
            ("1e-8", 1, 8),
            ("1E-8", 1, 8),
            ("0.29", 29_000_000, 2), // 0.29 × 1e8 in f64 is 28999999.999999996
            ("4.35", 435_000_000, 2), // 4.35 × 1e8 in f64 is 434999999.99999994
            ("36442.5", 3_644_250_000_000, 1),
            ("30", 3_000_000_000, 0),
            ("-0.00038167", -38_167, 8),
        ];
        for (text, value, decimals) in cases {
            let data = format!(
                r#"{{"instrument_name":"X","timestamp":1,"best_bid_price":{text},"best_bid_amount":1,"best_ask_price":1,"best_ask_amount":1}}"#
            );
            let f = parse(&notification("quote.X", &data)).unwrap();
            assert_eq!((f.bbo.bid.price, f.bbo.bid.price_decimals), (value, decimals), "{text}");
        }
        assert_ne!((0.29f64 * 1e8) as i64, 29_000_000, "the naive path would be wrong");
        let too_fine = notification(
            "quote.X",
            r#"{"instrument_name":"X","timestamp":1,"best_bid_price":1e-9}"#,
        );
        assert!(matches!(parse(&too_fine), Err(WireError::Number { field: "best_bid_price", .. })));
        let huge = notification(
            "quote.X",
            r#"{"instrument_name":"X","timestamp":1,"best_bid_price":1e300}"#,
        );
        assert!(matches!(parse(&huge), Err(WireError::Number { .. })));
    }

    /// §4.1: numbers are read from the bytes Deribit wrote, so values with more significant
    /// digits than an `f64` holds (16–18) stay exact; the old float round trip rounded them.
    #[test]
    fn numbers_beyond_f64_precision_are_exact() {
        let cases: [(&str, i64, u8); 3] = [
            ("12345678.12345678", 1_234_567_812_345_678, 8),
            ("9007199254.7409931", 900_719_925_474_099_310, 7),
            ("-0.10000000", -10_000_000, 1),
        ];
        for (text, value, decimals) in cases {
            let data = format!(
                r#"{{"instrument_name":"X","timestamp":1,"best_bid_price":{text},"best_bid_amount":1}}"#
            );
            let f = parse(&notification("quote.X", &data)).unwrap();
            assert_eq!((f.bbo.bid.price, f.bbo.bid.price_decimals), (value, decimals), "{text}");
        }
        assert_ne!(
            ("9007199254.7409931".parse::<f64>().unwrap() * 1e8) as i64,
            900_719_925_474_099_310,
            "an f64 cannot hold this value"
        );
    }

    /// Differential: for random numbers of up to 15 significant digits and up to 8 decimals, the
    /// JSON-number path gives the same value as exact parsing of the text.
    #[test]
    fn number_path_equals_the_text_path() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut parser = DeribitParser::new();
        let mut out = ParsedFrame::new();
        for _ in 0..5_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let decimals = (seed % 9) as u8;
            // At most 15 significant digits, and below 10^10 so it fits i64 at 10^-8.
            let digits_max = (10 + u32::from(decimals)).min(15);
            let mantissa = ((seed >> 8) % 10u64.pow(digits_max)) as i64;
            let text = hedger_core::fixed::format_decimal(mantissa, decimals, decimals);
            let data =
                format!(r#"{{"instrument_name":"X","timestamp":1,"best_bid_price":{text}}}"#);
            parser.parse(notification("quote.X", &data).as_bytes(), &mut out).unwrap();
            let expected = hedger_core::fixed::parse_decimal(text.as_bytes(), WIRE_SCALE).unwrap();
            assert_eq!(out.bbo.bid.price, expected, "{text}");
        }
    }

    #[test]
    fn trades_ticker_quote_perpetual_index_from_the_reference() {
        let t = parse(&notification("trades.BTC-PERPETUAL.100ms", r#"[{"trade_seq":30289442,"trade_id":"48079269","timestamp":1590484512188,"tick_direction":2,"price":8950,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"sell","amount":10}]"#)).unwrap();
        let trade = t.trades[0];
        assert_eq!(
            (t.kind, trade.price, trade.qty),
            (FrameKind::Trades, 895_000_000_000, 1_000_000_000)
        );
        assert_eq!(
            (trade.aggressor, trade.trade_id, trade.ts_ms),
            (Some(Side::Sell), 48079269, 1590484512188)
        );
        let tick = parse(&notification("ticker.BTC-PERPETUAL.100ms", r#"{"best_ask_amount":100,"best_ask_price":36443,"best_bid_amount":5000,"best_bid_price":36442.5,"current_funding":0,"estimated_delivery_price":36441.64,"funding_8h":2.11e-05,"index_price":36441.64,"instrument_name":"BTC-PERPETUAL","interest_value":1.7362511643080387,"last_price":36457.5,"mark_price":36446.51,"max_price":36991.72,"min_price":35898.37,"open_interest":502097590,"settlement_price":36169.49,"state":"open","stats":{"high":36824.5,"low":35213.5,"price_change":0.7229,"volume":7871.02139035,"volume_usd":284061480},"timestamp":1623060194301}"#)).unwrap();
        assert_eq!(tick.kind, FrameKind::MarkFunding);
        assert_eq!(tick.mark.mark_price, Some(3_644_651_000_000));
        assert_eq!(tick.mark.index_price, Some(3_644_164_000_000));
        assert_eq!(tick.mark.funding_rate, Some(0));
        assert_eq!(
            (tick.bbo.bid.price, tick.bbo.bid.qty, tick.bbo.ask.price),
            (3_644_250_000_000, 500_000_000_000, 3_644_300_000_000)
        );
        let q = parse(&notification("quote.BTC-PERPETUAL", r#"{"best_ask_amount":50,"best_ask_price":3996.61,"best_bid_amount":40,"best_bid_price":3914.97,"instrument_name":"BTC-PERPETUAL","timestamp":1550658624149}"#)).unwrap();
        assert_eq!(
            (q.kind, q.bbo.ask.price, q.bbo.bid.qty),
            (FrameKind::Bbo, 399_661_000_000, 4_000_000_000)
        );
        let p = parse(&notification(
            "perpetual.BTC-PERPETUAL.100ms",
            r#"{"interest":0.004999511380756577,"timestamp":1571386349530,"index_price":7872.88}"#,
        ))
        .unwrap();
        assert_eq!(
            (p.symbol.as_str(), p.mark.funding_rate, p.mark.index_price),
            ("BTC-PERPETUAL", Some(499_951), Some(787_288_000_000))
        );
        let i = parse(&notification(
            "deribit_price_index.btc_usd",
            r#"{"index_name":"btc_usd","price":3937.89,"timestamp":1550588002899}"#,
        ))
        .unwrap();
        assert_eq!((i.symbol.as_str(), i.mark.index_price), ("btc_usd", Some(393_789_000_000)));
    }

    #[test]
    fn control_heartbeat_errors_and_rest_book() {
        let mut parser = DeribitParser::new();
        let mut f = ParsedFrame::new();
        parser
            .parse(
                br#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#,
                &mut f,
            )
            .unwrap();
        assert!(f.kind == FrameKind::Heartbeat && parser.is_test_request());
        parser
            .parse(
                br#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#,
                &mut f,
            )
            .unwrap();
        assert!(f.kind == FrameKind::Heartbeat && !parser.is_test_request());
        let ack = r#"{"jsonrpc":"2.0","id":42,"result":["book.BTC-PERPETUAL.100ms"],"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;
        assert_eq!(parse(ack).unwrap().kind, FrameKind::Control);
        let error = r#"{"jsonrpc":"2.0","id":42,"error":{"code":13778,"message":"raw_subscriptions_not_available_for_unauthorized"},"usIn":1,"usOut":2,"usDiff":1}"#;
        assert!(matches!(parse(error), Err(WireError::VenueError(m)) if m.contains("13778")));
        let rest = r#"{"jsonrpc":"2.0","id":7,"result":{"timestamp":1,"instrument_name":"BTC-PERPETUAL","change_id":5,"bids":[[5042.34,30]],"asks":[[5042.64,40]],"state":"open"}}"#;
        let book = parse(rest).unwrap();
        assert_eq!(
            (book.kind, book.ids.last, book.asks[0].price),
            (FrameKind::BookSnapshot, 5, 504_264_000_000)
        );
        let grouped = notification(
            "book.BTC-PERPETUAL.1.10.100ms",
            r#"{"timestamp":1,"instrument_name":"BTC-PERPETUAL","change_id":9,"bids":[[5042,30]],"asks":[[5043,40]]}"#,
        );
        assert_eq!(parse(&grouped).unwrap().kind, FrameKind::BookSnapshot);
        let bad_action = notification(
            "book.X.100ms",
            r#"{"type":"change","timestamp":1,"instrument_name":"X","change_id":2,"prev_change_id":1,"bids":[["move",1,1]],"asks":[]}"#,
        );
        assert!(matches!(parse(&bad_action), Err(WireError::Field { field: "bids" })));
        let text_price = notification(
            "book.X.100ms",
            r#"{"type":"change","timestamp":1,"instrument_name":"X","change_id":2,"prev_change_id":1,"bids":[["new","1",1]],"asks":[]}"#,
        );
        assert!(matches!(parse(&text_price), Err(WireError::Field { field: "bids" })));
        assert_eq!(
            parse(&notification("platform_state", r#"{"locked":false}"#)).unwrap().kind,
            FrameKind::Ignored
        );
    }
}
