//! Binance gateway against the Binance simulator over TLS on loopback: the hot-side book built
//! from the gateway's messages equals the simulator's book; an injected gap is detected and
//! resynced; a disconnect reconnects and resyncs; duplicates and reorders never corrupt the book.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hedger_core::books::HotBooks;
use hedger_core::ids::InstrumentId;
use hedger_core::msg::{Body, Msg, Side, SourceState};
use hedger_gateways::binance::session::{BinanceGateway, BinanceSessionConfig};
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::venue_sim::binance::{BinanceSim, BinanceSimConfig, BookView};

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

struct Harness {
    sim: BinanceSim,
    rx: hedger_ipc::RingConsumer<Msg>,
    books: HotBooks,
    statuses: Vec<(u32, SourceState, u32)>,
    /// `BookLevels` and `BookLevelsNarrow` messages seen (levels packed into slots).
    packed_msgs: usize,
    stop: Arc<AtomicBool>,
    gateway_thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<hedger_gateways::binance::session::SessionStats>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn start(silence_ms_max: u64) -> Harness {
        Harness::start_with(silence_ms_max, BinanceSimConfig::default())
    }

    fn start_with(silence_ms_max: u64, sim_cfg: BinanceSimConfig) -> Harness {
        let sim =
            BinanceSim::start(BinanceSimConfig { tick_interval_ms: 5, ..sim_cfg }).expect("sim");
        let dir = tempfile::tempdir().unwrap();
        let tel = TelemetryFile::create(
            &dir.path().join("g.tel"),
            TelemetryLimits::default(),
            "test",
            1,
            0,
        )
        .unwrap();
        let (tx, rx) = hedger_ipc::ring::<Msg>(&tel, "binance->hot", 65_536).unwrap();
        let symbols = SYMBOLS
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), InstrumentId(i as u32)))
            .collect();
        let mut cfg = BinanceSessionConfig::new(&sim.ws_url(), &sim.rest_url(), symbols);
        cfg.tls_roots_der = vec![sim.cert_der.clone()];
        cfg.backoff_ms_min = 20;
        cfg.silence_ms_max = silence_ms_max;
        let mut gateway = BinanceGateway::new(cfg, tx, 42).expect("gateway");
        let stats = gateway.stats();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let gateway_thread = std::thread::spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                if gateway.do_work() == 0 {
                    std::thread::yield_now();
                }
            }
        });
        Harness {
            sim,
            rx,
            books: HotBooks::new(2, 4096),
            statuses: Vec::new(),
            packed_msgs: 0,
            stop,
            gateway_thread: Some(gateway_thread),
            stats,
            _dir: dir,
        }
    }

    fn drain(&mut self) {
        while let Some(msg) = self.rx.pop() {
            self.books.apply(&msg);
            match msg.body() {
                Ok(Body::GatewayStatus(s)) => {
                    self.statuses.push((msg.instrument.0, s.state, s.reason_code))
                }
                Ok(Body::BookLevels(_) | Body::BookLevelsNarrow(_)) => self.packed_msgs += 1,
                _ => {}
            }
        }
    }

    fn ours(&self, instrument: u32) -> Option<BookView> {
        let book = self.books.usable(instrument)?;
        let side = |s| book.side(s).iter().map(|l| (l.price_ticks, l.qty_lots)).collect();
        Some((self.books.status(instrument)?.seq, side(Side::Buy), side(Side::Sell)))
    }

    /// Pauses the market and waits until every hot-side book equals the simulator's.
    fn assert_books_converge(&mut self, what: &str) {
        self.assert_tops_converge(what, usize::MAX);
    }

    /// [`Harness::assert_books_converge`] on the best `depth` levels a side: a REST snapshot
    /// holds only its `limit` (1 000) best levels, so a deeper simulated book is known only
    /// down to there.
    fn assert_tops_converge(&mut self, what: &str, depth: usize) {
        self.sim.faults.paused.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.drain();
            let equal = (0..SYMBOLS.len()).all(|i| {
                let theirs = self.sim.book(SYMBOLS[i]).expect("sim book");
                let top = |l: &Vec<(i64, i64)>| l[..l.len().min(depth)].to_vec();
                self.ours(i as u32).is_some_and(|ours| {
                    top(&ours.1) == top(&theirs.1)
                        && top(&ours.2) == top(&theirs.2)
                        && ours.0 == theirs.0
                })
            });
            if equal {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: books never converged; stats {:?}; statuses {:?}",
                self.stats,
                &self.statuses[..self.statuses.len().min(12)]
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.sim.faults.paused.store(false, Ordering::Release);
    }

    fn run_for(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.drain();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.gateway_thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn busy_20x20_updates_on_a_1000_level_book_keep_the_books_equal_through_a_gap() {
    let cfg = BinanceSimConfig { update_levels: 20, book_levels: 1_000, ..Default::default() };
    let mut h = Harness::start_with(30_000, cfg);
    h.run_for(Duration::from_millis(500));
    h.assert_tops_converge("after 20x20 updates", 900);
    let (_, bids, asks) = h.ours(0).expect("usable");
    assert!(bids.len() >= 900 && asks.len() >= 900, "{} bids, {} asks", bids.len(), asks.len());
    assert!(h.packed_msgs > 1_000, "levels went packed: {} messages", h.packed_msgs);
    let gaps_before = h.stats.gaps.load(Ordering::Relaxed);
    h.sim.faults.gap_next.store(1, Ordering::Release);
    h.run_for(Duration::from_millis(300));
    assert!(h.stats.gaps.load(Ordering::Relaxed) > gaps_before, "gap not detected");
    h.assert_tops_converge("after a gap in 20x20 updates", 900);
    assert_eq!(h.books.rejected(), 0);
    assert_eq!(h.stats.parse_errors.load(Ordering::Relaxed), 0);
}

#[test]
fn gateway_book_equals_simulator_book_through_gaps_faults_and_reconnects() {
    let mut h = Harness::start(30_000);
    h.run_for(Duration::from_millis(500));
    h.assert_books_converge("after the first updates");
    assert!(h.stats.frames.load(Ordering::Relaxed) > 20, "updates flowed");

    // Injected gap: detected (a Resyncing status with reason gap), resynced, equal again.
    let gaps_before = h.stats.gaps.load(Ordering::Relaxed);
    h.sim.faults.gap_next.store(1, Ordering::Release);
    h.run_for(Duration::from_millis(300));
    assert!(h.stats.gaps.load(Ordering::Relaxed) > gaps_before, "gap not detected");
    assert!(
        h.statuses
            .iter()
            .any(|(_, state, reason)| *state == SourceState::Resyncing && *reason == 1),
        "{:?}",
        h.statuses
    );
    h.assert_books_converge("after a gap");

    // Duplicates are dropped; a reorder is a gap; both end with equal books.
    h.sim.faults.duplicate_next.store(3, Ordering::Release);
    h.run_for(Duration::from_millis(200));
    h.assert_books_converge("after duplicates");
    let gaps_before_reorder = h.stats.gaps.load(Ordering::Relaxed);
    h.sim.faults.reorder_next.store(1, Ordering::Release);
    h.run_for(Duration::from_millis(300));
    assert!(h.stats.gaps.load(Ordering::Relaxed) > gaps_before_reorder, "a reorder is a gap");
    h.assert_books_converge("after a reorder");

    // Disconnect: the gateway reconnects, resyncs, and the books converge again.
    let connects = h.stats.connects.load(Ordering::Relaxed);
    h.sim.faults.disconnect_generation.fetch_add(1, Ordering::AcqRel);
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.stats.connects.load(Ordering::Relaxed) == connects {
        assert!(Instant::now() < deadline, "never reconnected");
        h.run_for(Duration::from_millis(10));
    }
    assert!(h
        .statuses
        .iter()
        .any(|(_, state, _)| *state == SourceState::Down || *state == SourceState::Stale));
    h.assert_books_converge("after a reconnect");
    assert_eq!(h.books.rejected(), 0);
    assert_eq!(h.stats.parse_errors.load(Ordering::Relaxed), 0);
}

#[test]
fn a_silent_feed_is_reported_stale_with_its_reason_and_recovers() {
    let mut h = Harness::start(400);
    h.run_for(Duration::from_millis(300));
    h.sim.faults.stalled.store(true, Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.statuses.iter().any(|(_, state, reason)| *state == SourceState::Stale && *reason == 4)
    {
        assert!(Instant::now() < deadline, "stall never reported: {:?}", h.statuses);
        h.run_for(Duration::from_millis(20));
    }
    assert!(h.books.usable(0).is_none(), "a stale book is not usable");
    h.sim.faults.stalled.store(false, Ordering::Release);
    h.assert_books_converge("after the stall");
}
