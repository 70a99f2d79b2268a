//! Deribit frames through the parser, the sequencer and the book keeper together
//! (reliability.md §7 test 5), and a mutation test of the parser.

use super::{DeribitParser, DeribitSequencer};
use crate::venue::keeper::{BookKeeper, KeeperLimits};
use crate::venue::{reason, BookState, KeeperEvent, ParsedFrame};
use hedger_core::book::Level;
use hedger_core::msg::Side;

fn feed(keeper: &mut BookKeeper<DeribitSequencer>, text: &str) -> KeeperEvent {
    let mut frame = ParsedFrame::new();
    DeribitParser::new().parse(text.as_bytes(), &mut frame).expect("valid frame");
    keeper.on_frame(&frame)
}

fn book(kind: &str, prev: Option<u64>, id: u64, bids: &str, asks: &str) -> String {
    let prev = prev.map(|p| format!(r#""prev_change_id":{p},"#)).unwrap_or_default();
    format!(
        r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"book.BTC-PERPETUAL.100ms","data":{{"type":"{kind}","timestamp":1554373962454,{prev}"instrument_name":"BTC-PERPETUAL","change_id":{id},"bids":[{bids}],"asks":[{asks}]}}}}}}"#
    )
}

/// venues.md §4.4 snapshot levels.
fn snapshot(id: u64) -> String {
    book(
        "snapshot",
        None,
        id,
        r#"["new",5042.34,30],["new",5041.94,20]"#,
        r#"["new",5042.64,40],["new",5043.3,40]"#,
    )
}

/// A level from cents and USD at the wire scale of 1e8.
fn level(price_cents: i64, usd: i64) -> Level {
    Level { price_ticks: price_cents * 1_000_000, qty_lots: usd * 100_000_000 }
}

fn keeper() -> BookKeeper<DeribitSequencer> {
    BookKeeper::new(DeribitSequencer::new(), KeeperLimits::default())
}

#[test]
fn rules_1_to_3_snapshot_plus_changes_give_the_exact_book() {
    let mut k = keeper();
    assert_eq!(feed(&mut k, &snapshot(297217)), KeeperEvent::SnapshotApplied);
    // The §4.4 change: delete 5041.94, change 5042.34 to 10.
    let first =
        book("change", Some(297217), 297218, r#"["delete",5041.94,0],["change",5042.34,10]"#, "");
    assert_eq!(feed(&mut k, &first), KeeperEvent::Applied);
    let second = book(
        "change",
        Some(297218),
        297219,
        r#"["new",5040.1,0.5]"#,
        r#"["delete",5042.64,0],["new",5042.9,1e-8]"#,
    );
    assert_eq!(feed(&mut k, &second), KeeperEvent::Applied);
    let b = k.usable_book().expect("valid");
    assert_eq!(
        b.side(Side::Buy),
        &[level(504_234, 10), Level { price_ticks: 504_010_000_000, qty_lots: 50_000_000 }]
    );
    assert_eq!(
        b.side(Side::Sell),
        &[Level { price_ticks: 504_290_000_000, qty_lots: 1 }, level(504_330, 40)]
    );
}

#[test]
fn rule_3_gap_invalidates_and_a_resubscribe_snapshot_resyncs() {
    let mut k = keeper();
    feed(&mut k, &snapshot(297217));
    assert_eq!(feed(&mut k, &book("change", Some(297217), 297218, "", "")), KeeperEvent::Applied);
    assert_eq!(
        feed(&mut k, &book("change", Some(297220), 297221, r#"["new",5042.5,7]"#, "")),
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 297218, got: 297220 }
    );
    assert_eq!(k.state(), BookState::Invalid { reason_code: reason::GAP });
    assert!(k.usable_book().is_none(), "quoting blocked until the new snapshot");
    assert_eq!(
        feed(&mut k, &book("change", Some(297221), 297222, "", "")),
        KeeperEvent::Stale,
        "rule 4"
    );
    assert_eq!(feed(&mut k, &snapshot(297300)), KeeperEvent::SnapshotApplied);
    assert_eq!(k.state(), BookState::Valid);
    assert_eq!(k.usable_book().unwrap().best_ask(), Some(level(504_264, 40)));
    assert_eq!(k.counters().gaps, 1);
}

#[test]
fn rule_5_duplicate_change_is_dropped() {
    let mut k = keeper();
    feed(&mut k, &snapshot(297217));
    let first = book("change", Some(297217), 297218, r#"["change",5042.34,10]"#, "");
    assert_eq!(feed(&mut k, &first), KeeperEvent::Applied);
    assert_eq!(feed(&mut k, &first), KeeperEvent::Stale);
    assert_eq!(feed(&mut k, &snapshot(297217)), KeeperEvent::SnapshotApplied, "rule 6");
    assert_eq!(k.counters().stale_dropped, 1);
    assert_eq!(k.usable_book().unwrap().best_bid(), Some(level(504_234, 30)));
}

fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Truncations and byte flips of valid frames: the parser returns Ok or Err, never panics.
#[test]
fn mutated_frames_never_panic() {
    let frames = [
        snapshot(297217),
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms","data":{"best_ask_amount":100,"best_ask_price":36443,"best_bid_amount":5000,"best_bid_price":36442.5,"current_funding":1.5e-05,"index_price":36441.64,"instrument_name":"BTC-PERPETUAL","mark_price":36446.51,"timestamp":1623060194301}}}"#.to_string(),
        r#"{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":[{"trade_id":"48079269","timestamp":1,"price":8950,"instrument_name":"BTC-PERPETUAL","direction":"sell","amount":10}]}}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":42,"error":{"code":10028,"message":"too_many_requests"}}"#.to_string(),
    ];
    let mut parser = DeribitParser::new();
    let mut out = ParsedFrame::new();
    let mut seed = 0x853c_49e6_748f_ea9bu64;
    for frame in &frames {
        let bytes = frame.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parser.parse(&bytes[..cut], &mut out);
        }
        for _ in 0..500 {
            let mut mutated = bytes.to_vec();
            for _ in 0..1 + next_random(&mut seed) % 4 {
                let at = (next_random(&mut seed) % mutated.len() as u64) as usize;
                mutated[at] = next_random(&mut seed) as u8;
            }
            let _ = parser.parse(&mutated, &mut out);
        }
    }
    assert!(parser.parse(frames[0].as_bytes(), &mut out).is_ok(), "still parses after garbage");
}
