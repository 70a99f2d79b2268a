//! Deribit simulator (venues.md §4.3–§4.4): `/ws/api/v2`, JSON-RPC `public/subscribe` /
//! `public/unsubscribe` (result: the channels), `public/set_heartbeat` then a `test_request`
//! heartbeat every interval that must be answered with `public/test` (else the connection is
//! closed), `book.{instrument}.100ms` snapshot then `change` notifications with
//! `prev_change_id`, `trades` and `ticker`. Runs on the shared [`super::pubsub`] simulator.

use std::sync::Arc;

use hedger_core::fixed::format_decimal;
use hedger_core::ids::VenueId;
use hedger_core::msg::Side;

use super::bybit::book_levels;
use super::pubsub::{ClientAction, Levels, PubSubSim, PubSubSimConfig, SymbolState, VenueFormat};

/// Deribit's REST base path (the instruments endpoint lives under it).
pub const REST_BASE_PATH: &str = "/api/v2";

const SCALE: u8 = 8;

/// Deribit's message shapes. `heartbeat_scale_ms`: milliseconds per heartbeat "second" (1000 on
/// the venue; tests shrink it so `test_request`s come quickly).
pub struct DeribitFormat {
    pub heartbeat_scale_ms: u64,
}

fn entries(levels: &[(i64, i64)], pd: u8, new_book: bool) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| {
            let action = if *q == 0 {
                "delete"
            } else if new_book {
                "new"
            } else {
                "change"
            };
            format!(
                r#"["{action}",{},{}]"#,
                format_decimal(*p, SCALE, pd),
                format_decimal(*q, SCALE, 0)
            )
        })
        .collect();
    items.join(",")
}

fn notification(channel: &str, data: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{channel}","data":{data}}}}}"#
    )
}

impl VenueFormat for DeribitFormat {
    fn venue(&self) -> VenueId {
        VenueId::Deribit
    }

    fn instruments_path(&self) -> &'static str {
        "/api/v2/public/get_instruments"
    }

    fn rest_base_path(&self) -> &'static str {
        REST_BASE_PATH
    }

    fn ws_path(&self) -> &'static str {
        "/ws/api/v2"
    }

    fn book_topic(&self, symbol: &str) -> String {
        format!("book.{symbol}.100ms")
    }

    fn book_symbol<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic.strip_prefix("book.")?.strip_suffix(".100ms")
    }

    fn next_seq(&self, seq: u64, r: u64) -> u64 {
        seq + 1 + r % 3
    }

    fn snapshot(&self, symbol: &str, index: usize, m: &SymbolState, now_ms: u64) -> String {
        let (_, _, pd, _) = self.tick_lot(index);
        let data = format!(
            r#"{{"type":"snapshot","timestamp":{now_ms},"instrument_name":"{symbol}","change_id":{},"bids":[{}],"asks":[{}]}}"#,
            m.seq,
            entries(&book_levels(m, Side::Buy), pd, true),
            entries(&book_levels(m, Side::Sell), pd, true)
        );
        notification(&self.book_topic(symbol), &data)
    }

    fn delta(
        &self,
        symbol: &str,
        index: usize,
        m: &SymbolState,
        prev: u64,
        bids: &Levels,
        asks: &Levels,
        now_ms: u64,
    ) -> String {
        let (_, _, pd, _) = self.tick_lot(index);
        let data = format!(
            r#"{{"type":"change","timestamp":{now_ms},"prev_change_id":{prev},"instrument_name":"{symbol}","change_id":{},"bids":[{}],"asks":[{}]}}"#,
            m.seq,
            entries(bids, pd, false),
            entries(asks, pd, false)
        );
        notification(&self.book_topic(symbol), &data)
    }

    fn data(
        &self,
        symbol: &str,
        index: usize,
        m: &SymbolState,
        now_ms: u64,
    ) -> Vec<(String, String)> {
        let (_, _, pd, _) = self.tick_lot(index);
        let (Some(bid), Some(ask)) = (m.book.best_bid(), m.book.best_ask()) else {
            return Vec::new();
        };
        let px = |p| format_decimal(p, SCALE, pd);
        let mut out = Vec::new();
        if m.step.is_multiple_of(4) {
            let (dir, p) = if m.step.is_multiple_of(8) {
                ("buy", ask.price_ticks)
            } else {
                ("sell", bid.price_ticks)
            };
            let channel = format!("trades.{symbol}.100ms");
            let data = format!(
                r#"[{{"trade_id":"sim-{}","timestamp":{now_ms},"price":{},"instrument_name":"{symbol}","direction":"{dir}","amount":{}}}]"#,
                m.step,
                px(p),
                format_decimal(bid.qty_lots.min(ask.qty_lots), SCALE, 0)
            );
            out.push((channel.clone(), notification(&channel, &data)));
        }
        if m.step.is_multiple_of(10) {
            let channel = format!("ticker.{symbol}.100ms");
            let mid = px((bid.price_ticks + ask.price_ticks) / 2);
            let data = format!(
                r#"{{"best_ask_amount":{},"best_ask_price":{},"best_bid_amount":{},"best_bid_price":{},"current_funding":0.00001,"index_price":{mid},"instrument_name":"{symbol}","mark_price":{mid},"timestamp":{now_ms}}}"#,
                format_decimal(ask.qty_lots, SCALE, 0),
                px(ask.price_ticks),
                format_decimal(bid.qty_lots, SCALE, 0),
                px(bid.price_ticks)
            );
            out.push((channel.clone(), notification(&channel, &data)));
        }
        out
    }

    fn on_client(&self, text: &str) -> ClientAction {
        let mut action = ClientAction::default();
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let id = v["id"].as_u64().unwrap_or(0);
        let method = v["method"].as_str().unwrap_or("");
        let channels: Vec<String> = v["params"]["channels"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let reply = |result: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
        let quoted = || {
            let q: Vec<String> = channels.iter().map(|c| format!("\"{c}\"")).collect();
            format!("[{}]", q.join(","))
        };
        match method {
            "public/subscribe" => {
                action.replies.push(reply(&quoted()));
                action.subscribe = channels.clone();
            }
            "public/unsubscribe" => {
                action.replies.push(reply(&quoted()));
                action.unsubscribe = channels.clone();
            }
            "public/set_heartbeat" => {
                let seconds = v["params"]["interval"].as_u64().unwrap_or(10).max(10);
                action.heartbeat_ms = Some(seconds * self.heartbeat_scale_ms);
                action.replies.push(reply("\"ok\""));
            }
            "public/test" => {
                action.test_answered = true;
                action.replies.push(reply(r#"{"version":"1.2.26"}"#));
            }
            _ => action.replies.push(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"Method not found"}}}}"#
            )),
        }
        action
    }

    fn test_request(&self) -> Option<String> {
        Some(
            r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#
                .to_string(),
        )
    }
}

/// Starts a Deribit simulator (`heartbeat_scale_ms`: 1000 = the venue's seconds).
///
/// # Errors
/// The address cannot be bound or the certificate cannot be made.
pub fn start(cfg: PubSubSimConfig, heartbeat_scale_ms: u64) -> std::io::Result<PubSubSim> {
    PubSubSim::start(cfg, Arc::new(DeribitFormat { heartbeat_scale_ms }))
}
