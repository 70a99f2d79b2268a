//! Criterion benchmarks of the Binance normaliser: the full parse (simd-json tape → exact
//! fixed-point levels) against simd-json's tape fill alone, to show where the time goes. The
//! per-message distribution and the serde_json comparison are in `hedger bench feed`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hedger_gateways::binance::BinanceParser;
use hedger_gateways::venue::ParsedFrame;
use hedger_tools::bench::feed::binance_depth_messages;

fn normalise(c: &mut Criterion) {
    let messages = binance_depth_messages();
    let mut group = c.benchmark_group("binance_depth_20x20");
    group.throughput(Throughput::Elements(messages.len() as u64));
    let mut scanner = BinanceParser::new();
    let mut frame = ParsedFrame::new();
    group.bench_function("scanner_to_fixed_point", |b| {
        b.iter(|| {
            for m in &messages {
                let _ = black_box(scanner.parse(black_box(m), &mut frame));
            }
        })
    });
    let mut parser = BinanceParser::general();
    group.bench_function("simd_json_to_fixed_point", |b| {
        b.iter(|| {
            for m in &messages {
                let _ = black_box(parser.parse(black_box(m), &mut frame));
            }
        })
    });
    let mut buffers = simd_json::Buffers::new(4096);
    let mut tape = Some(simd_json::tape::Tape(Vec::with_capacity(1024)));
    let mut input = Vec::with_capacity(2048);
    group.bench_function("simd_json_fill_tape_only", |b| {
        b.iter(|| {
            for m in &messages {
                input.clear();
                input.extend_from_slice(m);
                let mut t =
                    tape.take().unwrap_or_else(|| simd_json::tape::Tape(Vec::new())).reset();
                let _ = black_box(simd_json::fill_tape(&mut input, &mut buffers, &mut t));
                tape = Some(t.reset());
            }
        })
    });
    group.finish();
}

/// The hot side of wire-to-book for one 20×20 delta frame as the gateway publishes it (19
/// `BookLevels` pairs, then the closing `BookDelta`: wire-scale prices do not fit the narrow
/// form), popped from a ring and applied: by the bare
/// `HotBooks` loop that `hedger bench feed` times, and by the real `HotAgent` (books, top-of-book
/// table, venue-mid check on a mapped instrument). The difference is what the bench's
/// wire-to-book rows leave out.
fn hot_apply(c: &mut Criterion) {
    use hedger::pipeline::HotAgent;
    use hedger_core::books::HotBooks;
    use hedger_core::ids::{InstrumentId, VenueId};
    use hedger_core::msg::{BookLevel, Msg, Origin, Side, FLAG_SNAPSHOT_BEGIN};
    use hedger_gateways::synthetic::INSTRUMENTS_MAX;
    use hedger_gateways::venue::publish::pack_batch;
    use hedger_ipc::runtime::Agent;
    use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};

    const INSTRUMENT: u32 = 16;
    // One book: every frame updates the first frame's 40 price levels with its own quantities
    // (10 % of them zero, so levels leave and come back), like a live stream around one mid.
    // Unrelated mids would grow the book to thousands of levels and time array shifts instead.
    let mut first = ParsedFrame::new();
    BinanceParser::new().parse(&binance_depth_messages()[0], &mut first).expect("input parses");
    let parsed: Vec<ParsedFrame> = binance_depth_messages()
        .iter()
        .map(|m| {
            let mut frame = ParsedFrame::new();
            BinanceParser::new().parse(m, &mut frame).expect("bench input parses");
            for (mine, theirs) in frame.bids.iter_mut().zip(&first.bids) {
                mine.price = theirs.price;
            }
            for (mine, theirs) in frame.asks.iter_mut().zip(&first.asks) {
                mine.price = theirs.price;
            }
            frame
        })
        .collect();
    let origin = Origin::new(VenueId::BinanceUsdm, InstrumentId(INSTRUMENT));
    let ids = |frame: &ParsedFrame| (frame.ids.last, frame.ids.prev.unwrap_or(0).max(0) as u64);
    let levels = |frame: &ParsedFrame| -> Vec<BookLevel> {
        let bids = frame.bids.iter().map(|l| (Side::Buy, l));
        let asks = frame.asks.iter().map(|l| (Side::Sell, l));
        bids.chain(asks)
            .map(|(side, l)| BookLevel { side, price_ticks: l.price, qty_lots: l.qty })
            .collect()
    };
    // As the gateway publishes them: two levels a message, the last level closing the batch.
    let frames: Vec<Vec<Msg>> = parsed
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let mut out = Vec::new();
            let first_flags = if i == 0 { FLAG_SNAPSHOT_BEGIN } else { 0 };
            pack_batch(&mut out, origin, levels(frame).into_iter(), ids(frame), first_flags);
            out
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let tel =
        TelemetryFile::create(&dir.path().join("b.tel"), TelemetryLimits::default(), "bench", 1, 0)
            .expect("telemetry");
    let mut group = c.benchmark_group("hot_apply_20x20_frame");
    group.throughput(Throughput::Elements(frames.len() as u64));

    let (mut tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, "bare", 4096).expect("ring");
    let mut books = HotBooks::new(INSTRUMENTS_MAX, 4096);
    let mut batch = vec![Msg::EMPTY; 256];
    group.bench_function("hot_books_loop", |b| {
        b.iter(|| {
            for frame in &frames {
                assert_eq!(tx.push_slice(frame), frame.len());
                let n = rx.pop_into(&mut batch);
                for msg in &batch[..n] {
                    black_box(books.apply(msg));
                }
            }
        })
    });

    let (mut tx, rx) = hedger_ipc::ring::<Msg>(&tel, "agent", 4096).expect("ring");
    let (event_tx, mut event_rx) = hedger_ipc::ring::<Msg>(&tel, "events", 4096).expect("ring");
    let mut asset_of = vec![None; INSTRUMENTS_MAX];
    asset_of[INSTRUMENT as usize] = Some(0);
    let mut agent = HotAgent::new(vec![rx], event_tx, INSTRUMENTS_MAX).with_venue_assets(asset_of);
    group.bench_function("hot_agent", |b| {
        b.iter(|| {
            for frame in &frames {
                assert_eq!(tx.push_slice(frame), frame.len());
                black_box(agent.do_work());
                while event_rx.pop_into(&mut batch) > 0 {}
            }
        })
    });
    group.finish();
}

/// One 20×20 frame applied to an `OrderBook` whose sides are 25 deep (the simulator's) or 1 000
/// deep (a Binance REST snapshot), every change within 20 ticks of the best price: updates,
/// deletes and inserts at the top, where real feeds churn. A sorted array moves every level
/// behind an insert or delete, so the deep book shows what that move costs.
fn book_depth(c: &mut Criterion) {
    use hedger_core::book::OrderBook;
    use hedger_core::msg::Side;

    const MID: i64 = 1_000_000;
    let mut group = c.benchmark_group("book_apply_20x20_frame");
    for depth in [25i64, 1_000] {
        let mut book = OrderBook::new(2_048);
        for k in 1..=depth {
            book.set(Side::Buy, MID - k, 1 + k % 7).expect("level");
            book.set(Side::Sell, MID + k, 1 + k % 5).expect("level");
        }
        // 256 frames of 40 changes, seeded: one third deletes, the rest set a quantity (an
        // update where the level exists, an insert where it does not).
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let frames: Vec<Vec<(Side, i64, i64)>> = (0..256)
            .map(|_| {
                (0..40)
                    .map(|i| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let k = 1 + (rng % 20) as i64;
                        let qty = if rng >> 32 & 3 == 0 { 0 } else { 1 + (rng >> 40) as i64 % 9 };
                        if i < 20 {
                            (Side::Buy, MID - k, qty)
                        } else {
                            (Side::Sell, MID + k, qty)
                        }
                    })
                    .collect()
            })
            .collect();
        // As a venue sends a side: sorted best first, each price once (the last change wins).
        use hedger_core::book::Level;
        let sides: Vec<[Vec<Level>; 2]> = frames
            .iter()
            .map(|frame| {
                let side = |want: Side| {
                    let mut levels: std::collections::BTreeMap<i64, i64> = Default::default();
                    for &(_, price, qty) in frame.iter().filter(|l| l.0 == want) {
                        levels.insert(price, qty);
                    }
                    let mut out: Vec<Level> = levels
                        .into_iter()
                        .map(|(price_ticks, qty_lots)| Level { price_ticks, qty_lots })
                        .collect();
                    if want == Side::Buy {
                        out.reverse();
                    }
                    out
                };
                [side(Side::Buy), side(Side::Sell)]
            })
            .collect();
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function(format!("depth_{depth}"), |b| {
            b.iter(|| {
                for [bids, asks] in &sides {
                    for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
                        for l in levels {
                            let _ = black_box(book.set(side, l.price_ticks, l.qty_lots));
                        }
                    }
                }
            })
        });
        group.bench_function(format!("depth_{depth}_merged"), |b| {
            b.iter(|| {
                for [bids, asks] in &sides {
                    let _ = black_box(book.apply_sorted(Side::Buy, bids));
                    let _ = black_box(book.apply_sorted(Side::Sell, asks));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, normalise, hot_apply, book_depth);
criterion_main!(benches);
