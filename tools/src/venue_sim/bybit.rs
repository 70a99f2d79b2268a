//! Bybit v5 linear simulator (venues.md §2): `/v5/public/linear`, `{"op":"subscribe"}` with
//! acks, `{"op":"ping"}` → pong, `orderbook.50.{symbol}` snapshot then deltas with `u` + 1 per
//! update and a cross sequence `seq`, an occasional `u=1` reset snapshot (the `reset_next`
//! fault), `publicTrade` and `tickers`. Runs on the shared [`super::pubsub`] simulator.

use std::sync::Arc;

use hedger_core::fixed::format_decimal;
use hedger_core::ids::VenueId;
use hedger_core::msg::Side;

use super::pubsub::{
    ClientAction, Levels, PubSubSim, PubSubSimConfig, SymbolState, VenueFormat, LEVELS_MAX,
};

const SCALE: u8 = 8;

/// Bybit's message shapes.
pub struct BybitFormat;

pub(crate) fn levels_text(levels: &[(i64, i64)], price_decimals: u8, qty_decimals: u8) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| {
            format!(
                "[\"{}\",\"{}\"]",
                format_decimal(*p, SCALE, price_decimals),
                format_decimal(*q, SCALE, qty_decimals)
            )
        })
        .collect();
    items.join(",")
}

pub(crate) fn book_levels(state: &SymbolState, side: Side) -> Levels {
    state.book.top(side, LEVELS_MAX).iter().map(|l| (l.price_ticks, l.qty_lots)).collect()
}

fn topics_of(text: &str) -> (String, Vec<String>) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let op = v["op"].as_str().unwrap_or("").to_string();
    let args = v["args"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    (op, args)
}

impl VenueFormat for BybitFormat {
    fn venue(&self) -> VenueId {
        VenueId::Bybit
    }

    fn instruments_path(&self) -> &'static str {
        "/v5/market/instruments-info"
    }

    fn ws_path(&self) -> &'static str {
        "/v5/public/linear"
    }

    fn book_topic(&self, symbol: &str) -> String {
        format!("orderbook.50.{symbol}")
    }

    fn book_symbol<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic.strip_prefix("orderbook.50.")
    }

    fn next_seq(&self, seq: u64, _r: u64) -> u64 {
        seq + 1
    }

    fn snapshot(&self, symbol: &str, index: usize, m: &SymbolState, now_ms: u64) -> String {
        let (_, _, pd, qd) = self.tick_lot(index);
        format!(
            r#"{{"topic":"orderbook.50.{symbol}","type":"snapshot","ts":{now_ms},"data":{{"s":"{symbol}","b":[{}],"a":[{}],"u":{},"seq":{}}},"cts":{now_ms}}}"#,
            levels_text(&book_levels(m, Side::Buy), pd, qd),
            levels_text(&book_levels(m, Side::Sell), pd, qd),
            m.seq,
            m.step * 3 + 7_000_000,
        )
    }

    fn delta(
        &self,
        symbol: &str,
        index: usize,
        m: &SymbolState,
        _prev: u64,
        bids: &Levels,
        asks: &Levels,
        now_ms: u64,
    ) -> String {
        let (_, _, pd, qd) = self.tick_lot(index);
        format!(
            r#"{{"topic":"orderbook.50.{symbol}","type":"delta","ts":{now_ms},"data":{{"s":"{symbol}","b":[{}],"a":[{}],"u":{},"seq":{}}},"cts":{now_ms}}}"#,
            levels_text(bids, pd, qd),
            levels_text(asks, pd, qd),
            m.seq,
            m.step * 3 + 7_000_000,
        )
    }

    fn data(
        &self,
        symbol: &str,
        index: usize,
        m: &SymbolState,
        now_ms: u64,
    ) -> Vec<(String, String)> {
        let (_, _, pd, qd) = self.tick_lot(index);
        let (Some(bid), Some(ask)) = (m.book.best_bid(), m.book.best_ask()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if m.step.is_multiple_of(4) {
            let taker_buy = m.step.is_multiple_of(8);
            let (side, px) =
                if taker_buy { ("Buy", ask.price_ticks) } else { ("Sell", bid.price_ticks) };
            out.push((
                format!("publicTrade.{symbol}"),
                format!(
                    r#"{{"topic":"publicTrade.{symbol}","type":"snapshot","ts":{now_ms},"data":[{{"T":{now_ms},"s":"{symbol}","S":"{side}","v":"{}","p":"{}","L":"PlusTick","i":"sim-{}","BT":false,"seq":{}}}]}}"#,
                    format_decimal(bid.qty_lots.min(ask.qty_lots), SCALE, qd),
                    format_decimal(px, SCALE, pd),
                    m.step,
                    m.step,
                ),
            ));
        }
        if m.step.is_multiple_of(10) {
            let mark = format_decimal((bid.price_ticks + ask.price_ticks) / 2, SCALE, pd);
            out.push((
                format!("tickers.{symbol}"),
                format!(
                    r#"{{"topic":"tickers.{symbol}","type":"delta","data":{{"symbol":"{symbol}","markPrice":"{mark}","indexPrice":"{mark}","fundingRate":"0.0001","nextFundingTime":"{}","bid1Price":"{}","ask1Price":"{}"}},"cs":{},"ts":{now_ms}}}"#,
                    (now_ms / 28_800_000 + 1) * 28_800_000,
                    format_decimal(bid.price_ticks, SCALE, pd),
                    format_decimal(ask.price_ticks, SCALE, pd),
                    m.step,
                ),
            ));
        }
        out
    }

    fn on_client(&self, text: &str) -> ClientAction {
        let (op, topics) = topics_of(text);
        let mut action = ClientAction::default();
        let ack = |op: &str, msg: &str| {
            format!(
                r#"{{"success":true,"ret_msg":"{msg}","conn_id":"sim-conn","req_id":"","op":"{op}"}}"#
            )
        };
        match op.as_str() {
            "ping" => action.replies.push(ack("ping", "pong")),
            "subscribe" => {
                action.replies.push(ack("subscribe", ""));
                action.subscribe = topics;
            }
            "unsubscribe" => {
                action.replies.push(ack("unsubscribe", ""));
                action.unsubscribe = topics;
            }
            _ => action.replies.push(format!(
                r#"{{"success":false,"ret_msg":"Invalid request","conn_id":"sim-conn","op":"{op}"}}"#
            )),
        }
        action
    }

    fn unknown_topic(&self, topic: &str) -> Option<String> {
        Some(format!(
            r#"{{"success":false,"ret_msg":"error:handler not found,topic:{topic}","conn_id":"sim-conn","req_id":"","op":"subscribe"}}"#
        ))
    }

    fn resets(&self) -> bool {
        true
    }
}

/// Starts a Bybit simulator.
///
/// # Errors
/// The address cannot be bound or the certificate cannot be made.
pub fn start(cfg: PubSubSimConfig) -> std::io::Result<PubSubSim> {
    PubSubSim::start(cfg, Arc::new(BybitFormat))
}
