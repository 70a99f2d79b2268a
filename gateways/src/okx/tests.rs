//! OKX frames through the parser, the sequencer, the book keeper and the checksum together
//! (reliability.md §7 test 3), and a mutation test of the parser.

use super::checksum::{checksum_text, okx_checksum};
use super::{apply_okx_frame, OkxBookText, OkxParser, OkxSequencer};
use crate::venue::keeper::{BookKeeper, KeeperLimits};
use crate::venue::{reason, BookState, KeeperEvent, ParsedFrame};
use hedger_core::book::Level;
use hedger_core::msg::Side;

struct Book {
    keeper: BookKeeper<OkxSequencer>,
    text: OkxBookText,
    parser: OkxParser,
    frame: ParsedFrame,
}

impl Book {
    fn new() -> Book {
        let limits = KeeperLimits::default();
        Book {
            keeper: BookKeeper::new(OkxSequencer::new(), limits),
            text: OkxBookText::new(limits.levels_max),
            parser: OkxParser::new(),
            frame: ParsedFrame::new(),
        }
    }

    fn feed(&mut self, text: &str) -> KeeperEvent {
        self.parser.parse(text.as_bytes(), &mut self.frame).expect("valid frame");
        apply_okx_frame(&mut self.keeper, &mut self.text, &self.frame)
    }
}

fn books(action: &str, prev: i64, seq: u64, checksum: i64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT-SWAP"}},"action":"{action}","data":[{{"asks":[{asks}],"bids":[{bids}],"ts":"1597026383085","checksum":{checksum},"prevSeqId":{prev},"seqId":{seq}}}]}}"#
    )
}

fn snapshot(seq: u64, checksum: i64) -> String {
    books(
        "snapshot",
        -1,
        seq,
        checksum,
        r#"["3366.1","7","0","1"],["3366","6","0","2"]"#,
        r#"["3366.8","9","0","1"],["3368","8","0","3"]"#,
    )
}

/// A level from tenths of a price and whole contracts at the wire scale of 1e8.
fn level(price_tenths: i64, contracts: i64) -> Level {
    Level { price_ticks: price_tenths * 10_000_000, qty_lots: contracts * 100_000_000 }
}

#[test]
fn rules_2_3_snapshot_plus_updates_give_the_exact_book_and_checksum_0_is_ignored() {
    let mut b = Book::new();
    assert_eq!(b.feed(&snapshot(10, 0)), KeeperEvent::SnapshotApplied);
    let update = books(
        "update",
        10,
        15,
        0,
        r#"["3366","0","0","0"],["3365.5","4","0","1"]"#,
        r#"["3367","2","0","1"]"#,
    );
    assert_eq!(b.feed(&update), KeeperEvent::Applied);
    let book = b.keeper.usable_book().expect("valid");
    assert_eq!(book.side(Side::Buy), &[level(33_661, 7), level(33_655, 4)]);
    assert_eq!(book.side(Side::Sell), &[level(33_668, 9), level(33_670, 2), level(33_680, 8)]);
    assert_eq!(b.keeper.counters().checksum_failures, 0, "checksum 0 means absent");
}

#[test]
fn rule_6_gap_invalidates_and_a_new_snapshot_resyncs() {
    let mut b = Book::new();
    b.feed(&snapshot(10, 0));
    assert_eq!(b.feed(&books("update", 10, 15, 0, "", "")), KeeperEvent::Applied);
    assert_eq!(
        b.feed(&books("update", 17, 20, 0, r#"["3366.1","1","0","1"]"#, "")),
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 15, got: 17 }
    );
    assert!(b.keeper.usable_book().is_none(), "nothing reads an invalid book");
    // Rule 7: updates still in flight before the resubscribe's snapshot are dropped.
    assert_eq!(b.feed(&books("update", 20, 21, 0, "", "")), KeeperEvent::Stale);
    assert_eq!(b.feed(&snapshot(30, 0)), KeeperEvent::SnapshotApplied);
    assert_eq!(b.keeper.state(), BookState::Valid);
    assert_eq!(b.keeper.usable_book().unwrap().best_bid(), Some(level(33_661, 7)));
    assert_eq!(b.keeper.counters().gaps, 1);
}

#[test]
fn rules_4_5_8_keep_alive_reset_and_duplicate_through_the_keeper() {
    let mut b = Book::new();
    b.feed(&snapshot(10, 0));
    let first = books("update", 10, 15, 0, r#"["3366.1","8","0","1"]"#, "");
    assert_eq!(b.feed(&first), KeeperEvent::Applied);
    assert_eq!(b.feed(&first), KeeperEvent::Stale, "rule 8: duplicate (10,15)");
    assert_eq!(b.feed(&books("update", 15, 15, 0, "", "")), KeeperEvent::Heartbeat, "rule 4");
    assert_eq!(b.feed("pong"), KeeperEvent::Heartbeat, "connection pong leaves the sequence alone");
    let reset = books("update", 15, 3, 0, r#"["3366.1","9","0","1"]"#, "");
    assert_eq!(b.feed(&reset), KeeperEvent::Applied, "rule 5: seqId < prevSeqId is valid");
    assert_eq!(
        b.feed(&books("update", 3, 5, 0, "", r#"["3366.8","1","0","1"]"#)),
        KeeperEvent::Applied
    );
    let book = b.keeper.usable_book().expect("still valid");
    assert_eq!(book.best_bid(), Some(level(33_661, 9)));
    assert_eq!(book.best_ask(), Some(level(33_668, 1)));
    assert_eq!((b.keeper.sequencer().resets(), b.keeper.counters().stale_dropped), (1, 1));
    assert!(matches!(
        b.feed(&books("update", 7, 9, 0, "", "")),
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 5, got: 7 }
    ));
}

/// Checksum rules 1–4 through the keeper, with venues.md §8 O4 then O5.
#[test]
fn checksum_verified_when_present_and_mismatch_invalidates() {
    let mut b = Book::new();
    assert_eq!(b.feed(&snapshot(10, -1_881_014_294)), KeeperEvent::SnapshotApplied, "O4");
    assert_eq!(b.keeper.book().depth(), (2, 2));
    // Removing bid 3366 and adding ask 3372 gives the O5 book.
    let o5 =
        books("update", 10, 11, 831_078_360, r#"["3366","0","0","0"]"#, r#"["3372","8","0","1"]"#);
    assert_eq!(b.feed(&o5), KeeperEvent::Applied, "O5");
    assert_eq!(b.text.last_text(), b"3366.1:7:3366.8:9:3368:8:3372:8");
    let wrong = books("update", 11, 12, 12_345, r#"["3366.1","5","0","1"]"#, "");
    assert_eq!(
        b.feed(&wrong),
        KeeperEvent::Invalidated {
            reason_code: reason::CHECKSUM,
            expected: 12_345,
            got: i64::from(okx_checksum(b"3366.1:5:3366.8:9:3368:8:3372:8")),
        }
    );
    assert_eq!(b.keeper.counters().checksum_failures, 1);
    assert!(b.keeper.usable_book().is_none());
    // The doc's own snapshot prints -855196043, which does not match its levels (§3.3 note).
    let doc_snapshot = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"],["8477.34","85","0","1"],["8477.56","1","0","1"],["8505.84","8","0","1"],["8506.37","85","0","1"],["8506.49","2","0","1"],["8506.96","100","0","2"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"],["8475.54","100","0","1"],["8475.3","1","0","1"],["8447.32","6","0","1"],["8447.02","246","0","1"],["8446.83","24","0","1"],["8446","95","0","3"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#;
    assert!(matches!(
        b.feed(doc_snapshot),
        KeeperEvent::Invalidated {
            reason_code: reason::CHECKSUM,
            expected: -855_196_043,
            got: -2_102_840_145
        }
    ));
    assert_eq!(
        b.feed(&doc_snapshot.replace("-855196043", "-2102840145")),
        KeeperEvent::SnapshotApplied,
        "O6"
    );
}

#[test]
fn checksum_text_keeps_each_level_as_written() {
    let mut b = Book::new();
    let mut expected_text = Vec::new();
    checksum_text(&[["3366.10", "7.0"]], &[["3366.8", "0.50"]], &mut expected_text);
    let crc = i64::from(okx_checksum(&expected_text));
    let snap = books(
        "snapshot",
        -1,
        1,
        crc,
        r#"["3366.10","7.0","0","1"]"#,
        r#"["3366.8","0.50","0","1"]"#,
    );
    assert_eq!(b.feed(&snap), KeeperEvent::SnapshotApplied);
    assert_eq!(b.text.last_text(), b"3366.10:7.0:3366.8:0.50");
    // Price and size re-written with other decimals: the latest text counts.
    checksum_text(&[["3366.1", "7"]], &[["3366.8", "0.50"]], &mut expected_text);
    let crc = i64::from(okx_checksum(&expected_text));
    assert_eq!(
        b.feed(&books("update", 1, 2, crc, r#"["3366.1","7","0","1"]"#, "")),
        KeeperEvent::Applied
    );
    assert_eq!(b.text.last_text(), b"3366.1:7:3366.8:0.50");
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
        snapshot(10, -1_881_014_294),
        r#"{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"130639474","px":"42219.9","sz":"12","side":"buy","ts":"1630048897897"}]}"#.to_string(),
        r#"{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"fundingRate":"0.0001875391284828","fundingTime":"1700726400000","instId":"BTC-USD-SWAP","ts":"1700724675402"}]}"#.to_string(),
        r#"{"id":"1512","event":"error","code":"60012","msg":"Invalid request"}"#.to_string(),
    ];
    let mut parser = OkxParser::new();
    let mut out = ParsedFrame::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
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
