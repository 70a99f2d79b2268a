//! Bybit frames through the parser, the sequencer and the book keeper together
//! (reliability.md §7 test 4 for this venue), and a mutation test of the parser.

use super::{BybitParser, BybitSequencer};
use crate::venue::keeper::{BookKeeper, KeeperLimits};
use crate::venue::{reason, BookState, KeeperEvent, ParsedFrame};
use hedger_core::book::Level;
use hedger_core::msg::Side;

fn feed(keeper: &mut BookKeeper<BybitSequencer>, text: &str) -> KeeperEvent {
    let mut frame = ParsedFrame::new();
    BybitParser::new().parse(text.as_bytes(), &mut frame).expect("valid frame");
    keeper.on_frame(&frame)
}

fn book(kind: &str, u: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"topic":"orderbook.50.BTCUSDT","type":"{kind}","ts":1672304484978,"data":{{"s":"BTCUSDT","b":[{bids}],"a":[{asks}],"u":{u},"seq":{}}},"cts":1672304484976}}"#,
        7_961_638_724 + u
    )
}

const SNAPSHOT_BIDS: &str = r#"["16493.50","0.006"],["16493.00","0.100"]"#;
const SNAPSHOT_ASKS: &str = r#"["16611.00","0.029"],["16612.00","0.213"]"#;

/// A level from cents and thousandths at the wire scale of 1e8.
fn level(price_cents: i64, qty_thousandths: i64) -> Level {
    Level { price_ticks: price_cents * 1_000_000, qty_lots: qty_thousandths * 100_000 }
}

fn keeper() -> BookKeeper<BybitSequencer> {
    BookKeeper::new(BybitSequencer::new(), KeeperLimits::default())
}

#[test]
fn rules_1_to_3_snapshot_plus_deltas_give_the_exact_book() {
    let mut k = keeper();
    assert_eq!(
        feed(&mut k, &book("snapshot", 100, SNAPSHOT_BIDS, SNAPSHOT_ASKS)),
        KeeperEvent::SnapshotApplied
    );
    // Rule 3: replace 16493.00, insert 16494.00, delete 16611.00 (size "0"), insert 16611.50.
    let delta = book(
        "delta",
        101,
        r#"["16493.00","0.250"],["16494.00","1.5"]"#,
        r#"["16611.00","0"],["16611.50","0.010"]"#,
    );
    assert_eq!(feed(&mut k, &delta), KeeperEvent::Applied);
    // Rule 3: deleting an unknown price is harmless.
    assert_eq!(feed(&mut k, &book("delta", 102, r#"["16000.00","0"]"#, "")), KeeperEvent::Applied);
    let b = k.usable_book().expect("valid");
    assert_eq!(
        b.side(Side::Buy),
        &[level(1_649_400, 1_500), level(1_649_350, 6), level(1_649_300, 250)]
    );
    assert_eq!(b.side(Side::Sell), &[level(1_661_150, 10), level(1_661_200, 213)]);
    assert_eq!(k.sequencer().last_u(), Some(102));
}

#[test]
fn rule_10_gap_invalidates_and_a_new_snapshot_resyncs() {
    let mut k = keeper();
    feed(&mut k, &book("snapshot", 100, SNAPSHOT_BIDS, SNAPSHOT_ASKS));
    assert_eq!(feed(&mut k, &book("delta", 101, "", "")), KeeperEvent::Applied);
    assert_eq!(
        feed(&mut k, &book("delta", 103, r#"["16493.50","9"]"#, "")),
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 102, got: 103 }
    );
    assert_eq!(k.state(), BookState::Invalid { reason_code: reason::GAP });
    assert!(k.usable_book().is_none(), "nothing reads an invalid book");
    // Rule 7: deltas still in flight before the resubscribe's snapshot are dropped.
    assert_eq!(feed(&mut k, &book("delta", 104, "", "")), KeeperEvent::Stale);
    // Rule 1: the resubscribe yields a snapshot; the book is valid again.
    assert_eq!(
        feed(&mut k, &book("snapshot", 200, SNAPSHOT_BIDS, SNAPSHOT_ASKS)),
        KeeperEvent::SnapshotApplied
    );
    assert_eq!(k.state(), BookState::Valid);
    assert_eq!(k.usable_book().unwrap().best_bid(), Some(level(1_649_350, 6)));
    assert_eq!((k.counters().gaps, k.counters().stale_dropped), (1, 1));
}

#[test]
fn rules_8_and_9_duplicate_dropped_regression_invalidates() {
    let mut k = keeper();
    feed(&mut k, &book("snapshot", 100, SNAPSHOT_BIDS, SNAPSHOT_ASKS));
    let first = book("delta", 101, r#"["16493.50","1"]"#, "");
    assert_eq!(feed(&mut k, &first), KeeperEvent::Applied);
    assert_eq!(feed(&mut k, &first), KeeperEvent::Stale, "rule 8: duplicate u=101");
    assert_eq!(k.usable_book().unwrap().best_bid(), Some(level(1_649_350, 1_000)));
    assert!(matches!(
        feed(&mut k, &book("delta", 99, "", "")),
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 102, got: 99 }
    ));
}

#[test]
fn rules_2_and_4_mid_stream_snapshot_and_restart_u1_replace_the_book() {
    let mut k = keeper();
    feed(&mut k, &book("snapshot", 100, SNAPSHOT_BIDS, SNAPSHOT_ASKS));
    feed(&mut k, &book("delta", 101, r#"["16490.00","5"]"#, ""));
    // Rule 2: a new snapshot replaces everything (the 16490.00 level is gone).
    assert_eq!(
        feed(&mut k, &book("snapshot", 150, r#"["16500.00","1"]"#, r#"["16501.00","2"]"#)),
        KeeperEvent::SnapshotApplied
    );
    assert_eq!(k.book().depth(), (1, 1));
    assert_eq!(feed(&mut k, &book("delta", 151, "", "")), KeeperEvent::Applied);
    // Rule 4: u=1 after a restart overwrites, even though 1 < 151.
    assert_eq!(
        feed(&mut k, &book("snapshot", 1, r#"["16400.00","3"]"#, r#"["16401.00","4"]"#)),
        KeeperEvent::SnapshotApplied
    );
    assert_eq!(k.usable_book().unwrap().best_ask(), Some(level(1_640_100, 4_000)));
    assert_eq!(feed(&mut k, &book("delta", 2, r#"["16400.00","0"]"#, "")), KeeperEvent::Applied);
    assert_eq!(k.book().depth(), (0, 1));
    assert_eq!(k.sequencer().restarts(), 1);
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
        book("snapshot", 100, SNAPSHOT_BIDS, SNAPSHOT_ASKS),
        r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","i":"20f4"}]}"#.to_string(),
        r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"1.5","nextFundingTime":"17"},"cs":1,"ts":2}"#.to_string(),
        r#"{"success":false,"ret_msg":"x","op":"subscribe"}"#.to_string(),
    ];
    let mut parser = BybitParser::new();
    let mut out = ParsedFrame::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
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
