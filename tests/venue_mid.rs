//! Rule 5 on the hot thread (`oracles.md` §1.7, `reliability.md` §1.3): every completed venue book
//! batch is checked against its asset's oracle reference; a book whose mid is off the reference
//! (or that has no reference) is refused for pricing and reported to the cold thread once per
//! change. Messages are pushed into the rings by hand, as the gateways would. A counting
//! allocator checks that the hot agent allocates nothing while it does so (and while it applies
//! chain capacity messages).

mod common;

use std::time::Duration;

use hedger::pipeline::{venue_asset_map, ColdAgent, HotAgent};
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Body, BookDelta, ChainEvent, ChainEventKind, GatewayStatus, Msg, OraclePrice, Origin, Side,
    SourceState, FLAG_BATCH_END, FLAG_SNAPSHOT_BEGIN,
};
use hedger_core::oracle::reference::REASON_VENUE_DEVIATION;
use hedger_core::oracle::venue_mid::MidCheck;
use hedger_gateways::oracle::config::OracleAssetConfig;
use hedger_gateways::oracle::OraclesConfig;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_ipc::RingProducer;

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

const E8: i64 = 100_000_000;
const ETH_PERP: u32 = 17;

fn oracles() -> OraclesConfig {
    OraclesConfig {
        enabled: true,
        assets: ["BTC", "ETH"].into_iter().map(OracleAssetConfig::new).collect(),
        ..OraclesConfig::default()
    }
}

fn delta(side: Side, price_e8: i64, qty: i64, seq: u64, flags: u8) -> Msg {
    let body = BookDelta {
        side,
        price_ticks: price_e8,
        qty_lots: qty,
        seq,
        seq_prev: 0,
        batch_flags: flags,
    };
    Msg::new(Origin::new(VenueId::BinanceUsdm, InstrumentId(ETH_PERP)), Body::BookDelta(body))
}

fn push(ring: &mut RingProducer<Msg>, msgs: &[Msg]) {
    for msg in msgs {
        ring.push(*msg).expect("ring has room");
    }
}

#[test]
fn symbols_map_to_oracle_assets_by_their_base() {
    let symbols = [
        ("BTCUSDT".to_owned(), InstrumentId(16)),
        ("ETHUSDT".to_owned(), InstrumentId(17)),
        ("SOLUSDT".to_owned(), InstrumentId(18)),
    ];
    let map = venue_asset_map(&symbols, &oracles());
    assert_eq!((map[16], map[17], map[18], map[0]), (Some(0), Some(1), None, None));
    let off = OraclesConfig { enabled: false, ..oracles() };
    assert!(venue_asset_map(&symbols, &off).iter().all(Option::is_none));
}

#[test]
fn a_venue_mid_off_the_reference_is_refused_and_reported_once_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let tel = TelemetryFile::create(
        &dir.path().join("v.tel"),
        TelemetryLimits::default(),
        "t",
        1_000_000_000,
        0,
    )
    .unwrap();
    let (mut venue_tx, venue_rx) = hedger_ipc::ring::<Msg>(&tel, "binance->hot", 1024).unwrap();
    let (mut oracle_tx, oracle_rx) = hedger_ipc::ring::<Msg>(&tel, "oracle->hot", 1024).unwrap();
    let (event_tx, event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
    let (mut chain_tx, chain_rx) = hedger_ipc::ring::<Msg>(&tel, "chain->hot", 1024).unwrap();
    let cfg = oracles();
    let symbols = [("ETHUSDT".to_owned(), InstrumentId(ETH_PERP))];
    let limits = cfg.assets.iter().map(|a| a.limits()).collect();
    let mut hot = HotAgent::new(vec![venue_rx], event_tx, 64)
        .with_venue_assets(venue_asset_map(&symbols, &cfg))
        .with_oracles(vec![oracle_rx], limits)
        .with_chain(vec![chain_rx], 4);
    let mut cold = ColdAgent::new(event_rx, Duration::from_secs(3600));
    let now_ms = hedger_ipc::clock::unix_ms();
    let price = OraclePrice {
        price_e8: 3_500 * E8,
        conf_e8: E8 as u64,
        publish_time_ms: now_ms,
        signer_count: 13,
    };
    let pyth = Origin::new(VenueId::Pyth, InstrumentId(1));
    push(&mut oracle_tx, &[Msg::new(pyth, Body::OraclePrice(price))]);
    let mut hot_allocations = 0;
    let mut step = |hot: &mut HotAgent, cold: &mut ColdAgent| {
        hot_allocations += common::alloc::counted(|| while hot.do_work() > 0 {});
        while cold.do_work() > 0 {}
    };
    assert_eq!(
        common::alloc::counted(|| drop(std::hint::black_box(Box::new(1u8)))),
        1,
        "the counter counts"
    );
    step(&mut hot, &mut cold);

    // Snapshot with mid 3500: agrees.
    push(
        &mut venue_tx,
        &[
            delta(Side::Buy, 3_499 * E8, 10, 1, FLAG_SNAPSHOT_BEGIN),
            delta(Side::Sell, 3_501 * E8, 10, 1, FLAG_BATCH_END),
        ],
    );
    step(&mut hot, &mut cold);
    assert!(hot.mid_guard().price_ok(ETH_PERP));
    assert_eq!(cold.venue_mid_statuses(), 1);

    // The book moves 3% away in one batch: refused with the deviation reason.
    push(
        &mut venue_tx,
        &[
            delta(Side::Buy, 3_499 * E8, 0, 2, 0),
            delta(Side::Sell, 3_501 * E8, 0, 2, 0),
            delta(Side::Buy, 3_604 * E8, 10, 2, 0),
            delta(Side::Sell, 3_606 * E8, 10, 2, FLAG_BATCH_END),
        ],
    );
    step(&mut hot, &mut cold);
    assert!(!hot.mid_guard().price_ok(ETH_PERP));
    match hot.mid_guard().last(ETH_PERP) {
        MidCheck::Refused(error) => assert_eq!(error.code(), REASON_VENUE_DEVIATION),
        other => panic!("expected a deviation refusal, got {other:?}"),
    }
    assert_eq!(cold.venue_mid_statuses(), 2);

    // Another far batch: same state, nothing more reported.
    push(&mut venue_tx, &[delta(Side::Buy, 3_603 * E8, 5, 3, FLAG_BATCH_END)]);
    step(&mut hot, &mut cold);
    assert_eq!(cold.venue_mid_statuses(), 2, "unchanged state is not reported again");

    // Back near the reference: usable again, reported.
    push(
        &mut venue_tx,
        &[
            delta(Side::Buy, 3_500 * E8, 10, 4, FLAG_SNAPSHOT_BEGIN),
            delta(Side::Sell, 3_502 * E8, 10, 4, FLAG_BATCH_END),
        ],
    );
    step(&mut hot, &mut cold);
    assert!(hot.mid_guard().price_ok(ETH_PERP));
    assert_eq!(cold.venue_mid_statuses(), 3);
    assert_eq!(hot.mid_guard().checks(), 4);

    // Chain capacity and a gatekeeper disable on the same hot loop.
    let chain = |event, amount| {
        let body = ChainEvent { event, block_number: 9, amount, ref_id: 0 };
        Msg::new(Origin::new(VenueId::Chain, InstrumentId(1)), Body::ChainEvent(body))
    };
    let capacity =
        [chain(ChainEventKind::MintCapacity, 700), chain(ChainEventKind::RedeemCapacity, 300)];
    push(&mut chain_tx, &capacity);
    step(&mut hot, &mut cold);
    assert_eq!(hot.capacity().mint_remaining_usde(1, 9), 700);
    push(&mut chain_tx, &[chain(ChainEventKind::MintingDisabled, 0)]);
    step(&mut hot, &mut cold);
    assert_eq!(hot.capacity().mint_remaining_usde(1, 9), 0);
    assert_eq!((hot.chain_msgs(), cold.chain_events()), (3, 1));
    assert_eq!(hot_allocations, 0, "the hot agent allocated");
}

/// The hot thread's top-of-book table takes venue rows from the L2 book at each batch end: a
/// deleted best level moves the row to the next level (fed level deltas, it kept the deleted
/// price), a level inside a batch is not shown before the batch ends, and a book that stops
/// being in sync reads unknown (0).
#[test]
fn top_of_book_rows_follow_the_book_and_clear_when_it_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let tel = TelemetryFile::create(
        &dir.path().join("t.tel"),
        TelemetryLimits::default(),
        "t",
        1_000_000_000,
        0,
    )
    .unwrap();
    let (mut venue_tx, venue_rx) = hedger_ipc::ring::<Msg>(&tel, "binance->hot", 1024).unwrap();
    let (event_tx, _event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
    let mut hot = HotAgent::new(vec![venue_rx], event_tx, 64);
    let row = |hot: &HotAgent| {
        let r = hot.table().get(ETH_PERP as usize).copied().unwrap();
        (r.bid_price_ticks / E8, r.bid_qty_lots, r.ask_price_ticks / E8, r.ask_qty_lots)
    };
    push(
        &mut venue_tx,
        &[
            delta(Side::Buy, 3_499 * E8, 10, 1, FLAG_SNAPSHOT_BEGIN),
            delta(Side::Buy, 3_498 * E8, 4, 1, 0),
            delta(Side::Sell, 3_501 * E8, 7, 1, 0),
            delta(Side::Sell, 3_502 * E8, 3, 1, FLAG_BATCH_END),
        ],
    );
    while hot.do_work() > 0 {}
    assert_eq!(row(&hot), (3_499, 10, 3_501, 7));

    // Both best levels deleted in one batch.
    push(
        &mut venue_tx,
        &[
            delta(Side::Buy, 3_499 * E8, 0, 2, 0),
            delta(Side::Sell, 3_501 * E8, 0, 2, FLAG_BATCH_END),
        ],
    );
    while hot.do_work() > 0 {}
    assert_eq!(row(&hot), (3_498, 4, 3_502, 3), "the next levels are the best now");

    // A better bid mid-batch is not shown until the batch ends.
    push(&mut venue_tx, &[delta(Side::Buy, 3_500 * E8, 1, 3, 0)]);
    while hot.do_work() > 0 {}
    assert_eq!(row(&hot).0, 3_498);
    push(&mut venue_tx, &[delta(Side::Sell, 3_503 * E8, 1, 3, FLAG_BATCH_END)]);
    while hot.do_work() > 0 {}
    assert_eq!(row(&hot), (3_500, 1, 3_502, 3));

    // A gap: the gateway marks the book resyncing, and the row forgets its quotes.
    let status =
        GatewayStatus { state: SourceState::Resyncing, reason_code: 1, reason_count: 1, detail: 0 };
    let origin = Origin::new(VenueId::BinanceUsdm, InstrumentId(ETH_PERP));
    push(&mut venue_tx, &[Msg::new(origin, Body::GatewayStatus(status))]);
    while hot.do_work() > 0 {}
    assert_eq!(row(&hot), (0, 0, 0, 0));
}
