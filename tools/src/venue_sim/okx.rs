//! OKX v5 SWAP simulator (venues.md §3.2–§3.3): `/ws/v5/public`, `{"op":"subscribe","args":
//! [{"channel","instId"}]}` with `{"event":"subscribe"}` acks, text `ping` → `pong`, `books`
//! snapshot (`prevSeqId` -1) then updates with `prevSeqId` = the previous `seqId` (ids advance by
//! 1–3), empty updates with `seqId == prevSeqId` as heartbeats on a quiet book, the checksum 0 by
//! default or the real CRC32 (`checksums`), with the `bad_checksum_next` fault; `trades`,
//! `bbo-tbt`, `funding-rate`. Runs on the shared [`super::pubsub`] simulator.

use std::sync::Arc;

use hedger_core::fixed::format_decimal;
use hedger_core::ids::VenueId;
use hedger_core::msg::Side;
use hedger_gateways::okx::checksum::{checksum_text, okx_checksum, CHECKSUM_LEVELS};

use super::bybit::book_levels;
use super::pubsub::{ClientAction, Levels, PubSubSim, PubSubSimConfig, SymbolState, VenueFormat};
use super::Faults;

const SCALE: u8 = 8;

/// OKX's message shapes.
pub struct OkxFormat {
    /// Send the real CRC32 checksum instead of 0.
    pub checksums: bool,
    /// The simulator's faults (for `bad_checksum_next`).
    pub faults: Arc<Faults>,
}

fn levels_text(levels: &[(i64, i64)], pd: u8, qd: u8) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| {
            let count = if *q == 0 { 0 } else { 1 + p.unsigned_abs() % 5 };
            format!(
                "[\"{}\",\"{}\",\"0\",\"{count}\"]",
                format_decimal(*p, SCALE, pd),
                format_decimal(*q, SCALE, qd)
            )
        })
        .collect();
    items.join(",")
}

fn refs(v: &[[String; 2]]) -> Vec<[&str; 2]> {
    v.iter().map(|[p, q]| [p.as_str(), q.as_str()]).collect()
}

impl OkxFormat {
    fn checksum(&self, m: &SymbolState, pd: u8, qd: u8) -> i64 {
        if !self.checksums {
            return 0;
        }
        let strings = |side| -> Vec<[String; 2]> {
            m.book
                .top(side, CHECKSUM_LEVELS)
                .iter()
                .map(|l| {
                    [
                        format_decimal(l.price_ticks, SCALE, pd),
                        format_decimal(l.qty_lots, SCALE, qd),
                    ]
                })
                .collect()
        };
        let (bids, asks) = (strings(Side::Buy), strings(Side::Sell));
        let mut text = Vec::new();
        checksum_text(&refs(&bids), &refs(&asks), &mut text);
        let sum = i64::from(okx_checksum(&text));
        if Faults::take(&self.faults.bad_checksum_next) {
            return if sum == 1 { 2 } else { 1 };
        }
        sum
    }

    #[allow(clippy::too_many_arguments)]
    fn books(
        &self,
        symbol: &str,
        action: &str,
        bids: &str,
        asks: &str,
        prev: i64,
        m: &SymbolState,
        checksum: i64,
        now_ms: u64,
    ) -> String {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"{symbol}"}},"action":"{action}","data":[{{"asks":[{asks}],"bids":[{bids}],"ts":"{now_ms}","checksum":{checksum},"prevSeqId":{prev},"seqId":{}}}]}}"#,
            m.seq
        )
    }
}

impl VenueFormat for OkxFormat {
    fn venue(&self) -> VenueId {
        VenueId::Okx
    }

    fn instruments_path(&self) -> &'static str {
        "/api/v5/public/instruments"
    }

    fn ws_path(&self) -> &'static str {
        "/ws/v5/public"
    }

    fn book_topic(&self, symbol: &str) -> String {
        format!("books:{symbol}")
    }

    fn book_symbol<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic.strip_prefix("books:")
    }

    fn next_seq(&self, seq: u64, r: u64) -> u64 {
        seq + 1 + r % 3
    }

    fn snapshot(&self, symbol: &str, index: usize, m: &SymbolState, now_ms: u64) -> String {
        let (_, _, pd, qd) = self.tick_lot(index);
        let bids = levels_text(&book_levels(m, Side::Buy), pd, qd);
        let asks = levels_text(&book_levels(m, Side::Sell), pd, qd);
        let checksum = self.checksum(m, pd, qd);
        self.books(symbol, "snapshot", &bids, &asks, -1, m, checksum, now_ms)
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
        let (_, _, pd, qd) = self.tick_lot(index);
        let checksum = self.checksum(m, pd, qd);
        let (bids, asks) = (levels_text(bids, pd, qd), levels_text(asks, pd, qd));
        self.books(symbol, "update", &bids, &asks, prev as i64, m, checksum, now_ms)
    }

    fn idle_book(&self, symbol: &str, m: &SymbolState, now_ms: u64) -> Option<String> {
        // §3.3 rule 4: no change for a while → an update with no levels, seqId == prevSeqId.
        Some(self.books(symbol, "update", "", "", m.seq as i64, m, 0, now_ms))
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
        let px = |p| format_decimal(p, SCALE, pd);
        let sz = |q| format_decimal(q, SCALE, qd);
        let mut out = vec![(
            format!("bbo-tbt:{symbol}"),
            format!(
                r#"{{"arg":{{"channel":"bbo-tbt","instId":"{symbol}"}},"data":[{{"asks":[["{}","{}","0","1"]],"bids":[["{}","{}","0","1"]],"ts":"{now_ms}","seqId":{}}}]}}"#,
                px(ask.price_ticks),
                sz(ask.qty_lots),
                px(bid.price_ticks),
                sz(bid.qty_lots),
                m.seq
            ),
        )];
        if m.step.is_multiple_of(4) {
            let (side, p) = if m.step.is_multiple_of(8) {
                ("buy", ask.price_ticks)
            } else {
                ("sell", bid.price_ticks)
            };
            out.push((
                format!("trades:{symbol}"),
                format!(
                    r#"{{"arg":{{"channel":"trades","instId":"{symbol}"}},"data":[{{"instId":"{symbol}","tradeId":"{}","px":"{}","sz":"{}","side":"{side}","ts":"{now_ms}","count":"1"}}]}}"#,
                    m.step, px(p), sz(bid.qty_lots.min(ask.qty_lots))
                ),
            ));
        }
        if m.step.is_multiple_of(50) {
            out.push((
                format!("funding-rate:{symbol}"),
                format!(
                    r#"{{"arg":{{"channel":"funding-rate","instId":"{symbol}"}},"data":[{{"fundingRate":"0.0001","fundingTime":"{}","instId":"{symbol}","instType":"SWAP","ts":"{now_ms}"}}]}}"#,
                    (now_ms / 28_800_000 + 1) * 28_800_000
                ),
            ));
        }
        out
    }

    fn unknown_topic(&self, topic: &str) -> Option<String> {
        let (channel, inst) = topic.split_once(':').unwrap_or((topic, ""));
        Some(format!(
            r#"{{"event":"error","code":"60018","msg":"Wrong URL or channel:{channel},instId:{inst} doesn't exist","connId":"sim"}}"#
        ))
    }

    fn on_client(&self, text: &str) -> ClientAction {
        let mut action = ClientAction::default();
        if text.trim() == "ping" {
            action.replies.push("pong".to_string());
            return action;
        }
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let op = v["op"].as_str().unwrap_or("");
        let args = v["args"].as_array().cloned().unwrap_or_default();
        if op != "subscribe" && op != "unsubscribe" {
            action.replies.push(
                r#"{"event":"error","code":"60012","msg":"Invalid request","connId":"sim"}"#.into(),
            );
            return action;
        }
        for arg in args {
            let (channel, inst) =
                (arg["channel"].as_str().unwrap_or(""), arg["instId"].as_str().unwrap_or(""));
            action.replies.push(format!(
                r#"{{"event":"{op}","arg":{{"channel":"{channel}","instId":"{inst}"}},"connId":"sim"}}"#
            ));
            let topic = format!("{channel}:{inst}");
            if op == "subscribe" {
                action.subscribe.push(topic)
            } else {
                action.unsubscribe.push(topic)
            }
        }
        action
    }
}

/// Starts an OKX simulator (`checksums`: send real CRC32 checksums instead of 0).
///
/// # Errors
/// The address cannot be bound or the certificate cannot be made.
pub fn start(cfg: PubSubSimConfig, checksums: bool) -> std::io::Result<PubSubSim> {
    let faults = Arc::new(Faults::default());
    let format = OkxFormat { checksums, faults: Arc::clone(&faults) };
    PubSubSim::start_with_faults(cfg, Arc::new(format), faults)
}
