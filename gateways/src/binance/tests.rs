//! Binance frames through the parser, the sequencer and the book keeper together
//! (reliability.md §7 tests 1–3 for this venue).

use super::{BinanceParser, BinanceSequencer};
use crate::venue::keeper::{BookKeeper, KeeperLimits};
use crate::venue::{reason, BookState, KeeperEvent, ParsedFrame};
use hedger_core::book::Level;
use hedger_core::msg::Side;

fn feed(keeper: &mut BookKeeper<BinanceSequencer>, text: &str) -> KeeperEvent {
    let mut frame = ParsedFrame::new();
    BinanceParser::new().parse(text.as_bytes(), &mut frame).expect("valid frame");
    keeper.on_frame(&frame)
}

fn depth(first: u64, last: u64, prev: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":{first},"u":{last},"pu":{prev},"b":[{bids}],"a":[{asks}]}}}}"#
    )
}

const SNAPSHOT_1000: &str = r#"{"lastUpdateId":1000,"E":1,"T":1,"bids":[["100.0","1.0"],["99.5","2.0"]],"asks":[["100.5","1.5"],["101.0","3.0"]]}"#;

/// A level from tenths (99.5 → 995) at the wire scale of 1e8.
fn level(price_tenths: i64, qty_tenths: i64) -> Level {
    Level { price_ticks: price_tenths * 10_000_000, qty_lots: qty_tenths * 10_000_000 }
}

#[test]
fn rule_2_to_6_snapshot_plus_buffered_and_live_diffs_give_the_exact_book() {
    let mut k = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    // Step 2: events before the snapshot are buffered, the book is not usable.
    assert_eq!(feed(&mut k, &depth(990, 995, 985, r#"["99.0","9.0"]"#, "")), KeeperEvent::Buffered);
    assert_eq!(
        feed(&mut k, &depth(996, 1003, 995, r#"["100.0","0"]"#, r#"["100.5","2.5"]"#)),
        KeeperEvent::Buffered
    );
    assert!(k.usable_book().is_none());
    // Steps 3-5: the snapshot applies, 995 is dropped (step 4), 996..1003 bridges (step 5).
    assert_eq!(feed(&mut k, SNAPSHOT_1000), KeeperEvent::SnapshotApplied);
    assert_eq!(k.counters().stale_dropped, 1);
    // Step 6: live continuity.
    assert_eq!(
        feed(&mut k, &depth(1004, 1010, 1003, r#"["99.8","4.0"]"#, r#"["101.0","0"]"#)),
        KeeperEvent::Applied
    );
    let book = k.usable_book().expect("valid book");
    assert_eq!(
        book.side(hedger_core::msg::Side::Buy),
        &[Level { price_ticks: 9_980_000_000, qty_lots: 400_000_000 }, level(995, 20)]
    );
    assert_eq!(
        book.side(hedger_core::msg::Side::Sell),
        &[Level { price_ticks: 10_050_000_000, qty_lots: 250_000_000 }]
    );
}

#[test]
fn rule_6_gap_invalidates_on_the_same_frame_and_a_new_snapshot_resyncs() {
    let mut k = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    feed(&mut k, SNAPSHOT_1000);
    assert_eq!(feed(&mut k, &depth(996, 1003, 995, "", "")), KeeperEvent::Applied);
    let gap = feed(&mut k, &depth(1015, 1020, 1012, r#"["100.0","7.0"]"#, ""));
    assert_eq!(
        gap,
        KeeperEvent::Invalidated { reason_code: reason::GAP, expected: 1003, got: 1012 }
    );
    assert_eq!(k.state(), BookState::Invalid { reason_code: reason::GAP });
    assert!(k.usable_book().is_none(), "nothing reads an invalid book");
    assert_eq!(k.book().depth(), (0, 0), "the broken book is discarded, not patched");
    // Resync from step 3: events after the gap buffer, then a fresh snapshot bridges them.
    assert_eq!(
        feed(&mut k, &depth(1021, 1030, 1020, r#"["100.0","5.0"]"#, "")),
        KeeperEvent::Buffered
    );
    let snapshot = SNAPSHOT_1000.replace("1000", "1025");
    assert_eq!(feed(&mut k, &snapshot), KeeperEvent::SnapshotApplied);
    assert_eq!(k.usable_book().unwrap().best_bid(), Some(level(1000, 50)));
    assert_eq!(k.counters().gaps, 1);
}

#[test]
fn duplicates_are_dropped_and_crossed_books_are_quarantined_after_repeated_failures() {
    let limits = KeeperLimits { resync_attempts_max: 1, ..KeeperLimits::default() };
    let mut k = BookKeeper::new(BinanceSequencer::new(), limits);
    feed(&mut k, SNAPSHOT_1000);
    let first = depth(996, 1003, 995, r#"["99.9","1.0"]"#, "");
    assert_eq!(feed(&mut k, &first), KeeperEvent::Applied);
    assert_eq!(feed(&mut k, &first), KeeperEvent::Stale, "duplicate u=1003 dropped");
    let crossing = depth(1004, 1005, 1003, r#"["100.6","1.0"]"#, "");
    assert!(matches!(
        feed(&mut k, &crossing),
        KeeperEvent::Invalidated { reason_code: reason::CROSSED, .. }
    ));
    feed(&mut k, SNAPSHOT_1000);
    feed(&mut k, &first);
    assert_eq!(
        feed(&mut k, &crossing),
        KeeperEvent::Quarantined { reason_code: reason::RESYNC_EXHAUSTED }
    );
    assert_eq!(
        feed(&mut k, SNAPSHOT_1000),
        KeeperEvent::Quarantined { reason_code: reason::RESYNC_EXHAUSTED },
        "stays quarantined"
    );
    k.reset_quarantine();
    assert_eq!(feed(&mut k, SNAPSHOT_1000), KeeperEvent::SnapshotApplied);
}

#[test]
fn sync_buffer_is_bounded_and_overflow_restarts_the_sync() {
    let limits = KeeperLimits { sync_buffer_frames_max: 2, ..KeeperLimits::default() };
    let mut k = BookKeeper::new(BinanceSequencer::new(), limits);
    feed(&mut k, &depth(1, 2, 0, "", ""));
    feed(&mut k, &depth(3, 4, 2, "", ""));
    assert!(matches!(
        feed(&mut k, &depth(5, 6, 4, "", "")),
        KeeperEvent::Invalidated { reason_code: reason::BUFFER_OVERFLOW, .. }
    ));
    assert_eq!(k.counters().buffer_overflows, 1);
}

/// The exchangeInfo grid of the Binance simulator: tick 0.5 here to make 100.25 off-grid.
fn grid_spec() -> hedger_core::instrument::InstrumentSpec {
    let body = r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","filters":[
        {"filterType":"PRICE_FILTER","minPrice":"0.5","maxPrice":"100000","tickSize":"0.5"},
        {"filterType":"LOT_SIZE","minQty":"0.1","maxQty":"1000","stepSize":"0.1"}]}]}"#;
    crate::venue::instruments::parse_binance(body.as_bytes()).unwrap()[0]
}

#[test]
fn price_filter_and_lot_size_steps_off_grid_levels_invalidate_with_bad_level() {
    // venues.md §1.5: PRICE_FILTER "(price - minPrice) % tickSize == 0"; LOT_SIZE "same modulo
    // rule on quantity". A book level breaking either is venue data we cannot trust.
    let mut k = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    k.set_spec(Some(grid_spec()));
    assert_eq!(feed(&mut k, SNAPSHOT_1000), KeeperEvent::SnapshotApplied);
    assert_eq!(feed(&mut k, &depth(996, 1003, 995, r#"["99.0","0.3"]"#, "")), KeeperEvent::Applied);
    let off_tick = feed(&mut k, &depth(1004, 1010, 1003, r#"["100.25","1.0"]"#, ""));
    assert_eq!(
        off_tick,
        KeeperEvent::Invalidated {
            reason_code: reason::BAD_LEVEL,
            expected: 10_025_000_000,
            got: 100_000_000
        }
    );
    assert_eq!(k.state(), BookState::Invalid { reason_code: reason::BAD_LEVEL });
    // Resync, then a quantity off the 0.1 step.
    let snapshot = SNAPSHOT_1000.replace("1000", "1010");
    assert_eq!(feed(&mut k, &snapshot), KeeperEvent::SnapshotApplied);
    let off_lot = feed(&mut k, &depth(1006, 1012, 1005, "", r#"["101.5","0.25"]"#));
    assert!(matches!(off_lot, KeeperEvent::Invalidated { reason_code: reason::BAD_LEVEL, .. }));
    assert_eq!(k.counters().bad_levels, 2);
    // Without a spec the same level applies (the wire scale alone allows it).
    let mut plain = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    feed(&mut plain, SNAPSHOT_1000);
    assert_eq!(
        feed(&mut plain, &depth(996, 1003, 995, r#"["100.25","1.0"]"#, "")),
        KeeperEvent::Applied
    );
}

/// A frame through `on_frame_deferred` and then `commit`, as the Binance session feeds them:
/// (the event published first, the late event after the levels went out).
fn feed_deferred(
    keeper: &mut BookKeeper<BinanceSequencer>,
    text: &str,
) -> (KeeperEvent, Option<KeeperEvent>) {
    let mut frame = ParsedFrame::new();
    BinanceParser::new().parse(text.as_bytes(), &mut frame).expect("valid frame");
    let first = keeper.on_frame_deferred(&frame);
    (first, keeper.commit(&frame))
}

#[test]
fn deferred_apply_gives_the_same_books_and_reports_a_cross_after_the_levels() {
    // The session publishes an accepted delta before the keeper's book takes it; every rule
    // must still hold: the same books as `on_frame`, gaps and stale frames judged before
    // anything goes out, off-grid levels refused before anything goes out, a cross reported
    // right after.
    let frames = [
        depth(990, 995, 985, r#"["99.0","9.0"]"#, ""),
        depth(996, 1003, 995, r#"["100.0","0"]"#, r#"["100.5","2.5"]"#),
        SNAPSHOT_1000.to_string(),
        depth(1004, 1010, 1003, r#"["99.8","4.0"]"#, r#"["101.0","0"]"#),
        depth(1004, 1010, 1003, r#"["99.8","4.0"]"#, ""),
        depth(1011, 1012, 1010, r#"["99.5","0"],["99.9","1.5"]"#, r#"["100.5","3.5"]"#),
        depth(1020, 1021, 1018, r#"["99.0","1.0"]"#, ""),
    ];
    let mut direct = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    let mut deferred = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    for (i, text) in frames.iter().enumerate() {
        let want = feed(&mut direct, text);
        let (got, late) = feed_deferred(&mut deferred, text);
        assert_eq!((got, late), (want, None), "frame {i}");
        assert_eq!(deferred.book().side(Side::Buy), direct.book().side(Side::Buy), "frame {i}");
        assert_eq!(deferred.book().side(Side::Sell), direct.book().side(Side::Sell), "frame {i}");
        assert_eq!(deferred.state(), direct.state(), "frame {i}");
    }

    // A cross: the frame is accepted (its levels go out), and the commit invalidates.
    let mut k = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    feed(&mut k, SNAPSHOT_1000);
    let (first, late) = feed_deferred(&mut k, &depth(996, 1003, 995, r#"["100.6","1.0"]"#, ""));
    assert_eq!(first, KeeperEvent::Applied);
    assert!(
        matches!(late, Some(KeeperEvent::Invalidated { reason_code: reason::CROSSED, .. })),
        "{late:?}"
    );
    assert!(k.usable_book().is_none());

    // Off the grid: refused before anything goes out, nothing left to commit.
    let mut k = BookKeeper::new(BinanceSequencer::new(), KeeperLimits::default());
    k.set_spec(Some(grid_spec()));
    feed(&mut k, SNAPSHOT_1000);
    let (first, late) = feed_deferred(&mut k, &depth(996, 1003, 995, r#"["100.25","1.0"]"#, ""));
    assert!(
        matches!(first, KeeperEvent::Invalidated { reason_code: reason::BAD_LEVEL, .. }),
        "{first:?}"
    );
    assert_eq!(late, None);
    assert_eq!(k.book().depth(), (0, 0), "the broken book is discarded");
}
