//! Bybit, OKX and Deribit gateways against their simulators over TLS on loopback: the hot-side
//! book rebuilt from the gateway's ring messages equals the simulator's book after N updates,
//! after an injected gap (detected within one message: a Resyncing status with reason gap),
//! after a disconnect and reconnect, after a Bybit `u=1` reset; an OKX checksum mismatch is
//! detected when the simulator sends checksums; a stalled feed is reported Stale.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hedger_core::books::HotBooks;
use hedger_core::ids::InstrumentId;
use hedger_core::msg::{Body, Msg, Side, SourceState};
use hedger_gateways::venue::publish::SessionStats;
use hedger_gateways::venue::reason;
use hedger_gateways::venue::stream_session::{StreamGateway, StreamSessionConfig};
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::venue_sim::pubsub::{BookView, PubSubSim, PubSubSimConfig};

#[derive(Clone, Copy, PartialEq)]
enum Venue {
    Bybit,
    Okx { checksums: bool },
    Deribit,
}

fn symbols(venue: Venue) -> [&'static str; 2] {
    match venue {
        Venue::Bybit => ["BTCUSDT", "ETHUSDT"],
        Venue::Okx { .. } => ["BTC-USDT-SWAP", "ETH-USDT-SWAP"],
        Venue::Deribit => ["BTC-PERPETUAL", "ETH-PERPETUAL"],
    }
}

/// A book message on the ring: a delta's seq, or a status (state, reason).
type BookEvent = Result<u64, (SourceState, u32)>;

struct Harness {
    venue: Venue,
    sim: PubSubSim,
    rx: hedger_ipc::RingConsumer<Msg>,
    books: HotBooks,
    statuses: Vec<(u32, SourceState, u32)>,
    /// Every book message in ring order: (instrument, delta seq, or the status).
    log: Vec<(u32, BookEvent)>,
    stop: Arc<AtomicBool>,
    gateway_thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<SessionStats>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn start(venue: Venue, silence_ms_max: u64) -> Harness {
        Harness::start_with(venue, silence_ms_max, &symbols(venue), true)
    }

    /// The gateway asks for `gateway_symbols` (the simulator lists `symbols(venue)`), checking
    /// them against the instruments endpoint first if `check_instruments`.
    fn start_with(
        venue: Venue,
        silence_ms_max: u64,
        gateway_symbols: &[&str],
        check_instruments: bool,
    ) -> Harness {
        let mut sim_cfg = PubSubSimConfig::new(&symbols(venue));
        sim_cfg.tick_interval_ms = 5;
        let sim = match venue {
            Venue::Bybit => hedger_tools::venue_sim::bybit::start(sim_cfg),
            Venue::Okx { checksums } => hedger_tools::venue_sim::okx::start(sim_cfg, checksums),
            // Heartbeat "seconds" of 20 ms: a test_request every 200 ms.
            Venue::Deribit => hedger_tools::venue_sim::deribit::start(sim_cfg, 20),
        }
        .expect("sim");
        let dir = tempfile::tempdir().unwrap();
        let tel = TelemetryFile::create(
            &dir.path().join("g.tel"),
            TelemetryLimits::default(),
            "test",
            1,
            0,
        )
        .unwrap();
        let (tx, rx) = hedger_ipc::ring::<Msg>(&tel, "venue->hot", 65_536).unwrap();
        let ids = gateway_symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), InstrumentId(i as u32)))
            .collect();
        let mut cfg = StreamSessionConfig::new(&sim.ws_url(), ids);
        cfg.tls_roots_der = vec![sim.cert_der.clone()];
        if check_instruments {
            cfg.rest_url = Some(sim.rest_url());
        }
        cfg.backoff_ms_min = 20;
        cfg.silence_ms_max = silence_ms_max;
        let gateway = match venue {
            Venue::Bybit => hedger_gateways::bybit::session::bybit_gateway(cfg, tx, 42),
            Venue::Okx { .. } => hedger_gateways::okx::session::okx_gateway(cfg, tx, 42),
            Venue::Deribit => hedger_gateways::deribit::session::deribit_gateway(cfg, tx, 42),
        };
        let mut gateway: StreamGateway = gateway.expect("gateway");
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
            venue,
            sim,
            rx,
            books: HotBooks::new(2, 4096),
            statuses: Vec::new(),
            log: Vec::new(),
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
                    self.statuses.push((msg.instrument.0, s.state, s.reason_code));
                    self.log.push((msg.instrument.0, Err((s.state, s.reason_code))));
                }
                Ok(Body::BookDelta(d)) => self.log.push((msg.instrument.0, Ok(d.seq))),
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
        self.sim.faults.paused.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(20);
        let names = symbols(self.venue);
        loop {
            self.drain();
            let equal = (0..names.len()).all(|i| {
                let theirs = self.sim.book(names[i]).expect("sim book");
                self.ours(i as u32).is_some_and(|ours| {
                    ours.1 == theirs.1 && ours.2 == theirs.2 && ours.0 == theirs.0
                })
            });
            if equal {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: books never converged; stats {:?}; statuses {:?}",
                self.stats,
                &self.statuses[self.statuses.len().saturating_sub(12)..]
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

    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}: timed out; stats {:?}", self.stats);
            self.run_for(Duration::from_millis(10));
        }
    }

    fn resyncing_with(&self, reason_code: u32) -> bool {
        self.statuses.iter().any(|(_, s, r)| *s == SourceState::Resyncing && *r == reason_code)
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

/// The shared scenario: N updates → equal; gap → detected at once (Resyncing, reason gap) →
/// resubscribed → equal; duplicates dropped, a reorder is a gap; disconnect → reconnect →
/// equal.
fn books_equal_through_faults(venue: Venue) {
    let mut h = Harness::start(venue, 30_000);
    h.run_for(Duration::from_millis(500));
    h.assert_books_converge("after the first updates");
    assert!(h.stats.frames.load(Ordering::Relaxed) > 20, "updates flowed");

    // An injected gap is detected on the next book message of that topic: no update past the
    // skipped one is applied before the Resyncing status (reason gap) of that book.
    let gaps = h.stats.gaps.load(Ordering::Relaxed);
    let mark = h.log.len();
    h.sim.faults.gap_next.store(1, Ordering::Release);
    h.wait_for("gap detected", |h| h.stats.gaps.load(Ordering::Relaxed) > gaps);
    h.drain();
    assert!(h.resyncing_with(reason::GAP), "{:?}", h.statuses);
    let (symbol, skipped) = h.sim.last_gap().expect("the simulator skipped an update");
    let gapped = symbols(venue).iter().position(|s| *s == symbol).unwrap() as u32;
    let after: Vec<_> = h.log[mark..].iter().filter(|(i, _)| *i == gapped).collect();
    let detected = after
        .iter()
        .position(|(_, e)| *e == Err((SourceState::Resyncing, reason::GAP)))
        .expect("Resyncing(gap) for the gapped book");
    for (_, event) in &after[..detected] {
        if let Ok(seq) = event {
            assert!(*seq < skipped, "update {seq} past the gap at {skipped} was applied");
        }
    }
    assert!(h.stats.resubscribes.load(Ordering::Relaxed) > 0, "resync is a resubscribe");
    h.assert_books_converge("after a gap");

    h.sim.faults.duplicate_next.store(3, Ordering::Release);
    h.run_for(Duration::from_millis(200));
    h.assert_books_converge("after duplicates");
    let gaps = h.stats.gaps.load(Ordering::Relaxed);
    h.sim.faults.reorder_next.store(1, Ordering::Release);
    h.wait_for("reorder is a gap", |h| h.stats.gaps.load(Ordering::Relaxed) > gaps);
    h.assert_books_converge("after a reorder");

    let connects = h.stats.connects.load(Ordering::Relaxed);
    h.sim.faults.disconnect_generation.fetch_add(1, Ordering::AcqRel);
    h.wait_for("reconnect", |h| h.stats.connects.load(Ordering::Relaxed) > connects);
    assert!(h.statuses.iter().any(|(_, s, _)| *s == SourceState::Down));
    h.assert_books_converge("after a reconnect");
    assert_eq!(h.books.rejected(), 0);
    assert_eq!(h.stats.parse_errors.load(Ordering::Relaxed), 0);
    // Every connection fetched the instruments first and every level sat on the grid.
    assert!(h.stats.instrument_fetches.load(Ordering::Relaxed) >= 2);
    assert_eq!(h.stats.instrument_errors.load(Ordering::Relaxed), 0);
    assert!(!h.statuses.iter().any(|(_, _, r)| *r == reason::BAD_LEVEL), "{:?}", h.statuses);
}

/// A symbol the venue's instruments endpoint does not list: the attempt ends Down with reason
/// `instruments` (no book is built without its spec) and is retried with backoff.
fn unknown_symbol_is_down_instruments(venue: Venue, unknown: &str) {
    let names = symbols(venue);
    let mut h = Harness::start_with(venue, 30_000, &[names[0], unknown], true);
    h.wait_for("instruments failures", |h| h.stats.instrument_errors.load(Ordering::Relaxed) >= 2);
    h.drain();
    assert!(
        h.statuses.iter().any(|(_, s, r)| *s == SourceState::Down && *r == reason::INSTRUMENTS),
        "{:?}",
        h.statuses
    );
    assert_eq!(h.stats.connects.load(Ordering::Relaxed), 0, "no websocket without specs");
    assert!(h.books.usable(0).is_none());
}

fn stall_is_stale(venue: Venue) {
    let mut h = Harness::start(venue, 600);
    h.assert_books_converge("before the stall");
    h.sim.faults.stalled.store(true, Ordering::Release);
    h.wait_for("stale reported", |h| {
        h.statuses.iter().any(|(_, s, r)| *s == SourceState::Stale && *r == reason::STALE_FEED)
    });
    assert!(h.books.usable(0).is_none(), "a stale book is not usable");
    // Half the silence limit without a frame: an idle ping went out first.
    assert!(h.stats.pings.load(Ordering::Relaxed) > 0);
    h.sim.faults.stalled.store(false, Ordering::Release);
    h.assert_books_converge("after the stall");
}

#[test]
fn bybit_books_equal_through_gaps_faults_and_reconnects() {
    books_equal_through_faults(Venue::Bybit);
}

/// Bybit §2.3 rule 4: a `snapshot` with u=1 (service restart) replaces the book; ids continue.
#[test]
fn bybit_u1_reset_snapshot_replaces_the_book() {
    let mut h = Harness::start(Venue::Bybit, 30_000);
    h.assert_books_converge("before the reset");
    let gaps = h.stats.gaps.load(Ordering::Relaxed);
    h.sim.faults.reset_next.store(1, Ordering::Release);
    h.wait_for("reset seen", |h| h.sim.book("BTCUSDT").is_some_and(|b| b.0 < 100));
    h.assert_books_converge("after the reset");
    assert_eq!(h.stats.gaps.load(Ordering::Relaxed), gaps, "a reset is not a gap");
}

#[test]
fn bybit_unknown_symbol_is_down_with_reason_instruments() {
    unknown_symbol_is_down_instruments(Venue::Bybit, "SOLUSDT");
}

#[test]
fn okx_unknown_symbol_is_down_with_reason_instruments() {
    unknown_symbol_is_down_instruments(Venue::Okx { checksums: false }, "SOL-USDT-SWAP");
}

#[test]
fn deribit_unknown_symbol_is_down_with_reason_instruments() {
    unknown_symbol_is_down_instruments(Venue::Deribit, "SOL-PERPETUAL");
}

/// Bounded resync when the snapshot never comes: each (re)subscribe that gets no snapshot within
/// `snapshot_timeout_ms` is a failed attempt (Resyncing, reason snapshot_timeout, resubscribed);
/// after the keeper's limit the book is quarantined and nothing is resubscribed any more.
fn missing_snapshot_is_retried_then_quarantined(venue: Venue) {
    let mut sim_cfg = PubSubSimConfig::new(&symbols(venue));
    sim_cfg.tick_interval_ms = 5;
    let faults = Arc::new(hedger_tools::venue_sim::Faults::default());
    faults.withhold_snapshots.store(true, Ordering::Release);
    let format: Arc<dyn hedger_tools::venue_sim::pubsub::VenueFormat> = match venue {
        Venue::Bybit => Arc::new(hedger_tools::venue_sim::bybit::BybitFormat),
        _ => Arc::new(hedger_tools::venue_sim::deribit::DeribitFormat { heartbeat_scale_ms: 1000 }),
    };
    let sim = PubSubSim::start_with_faults(sim_cfg, format, faults).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tel =
        TelemetryFile::create(&dir.path().join("g.tel"), TelemetryLimits::default(), "t", 1, 0)
            .unwrap();
    let (tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, "venue->hot", 65_536).unwrap();
    let ids = vec![(symbols(venue)[0].to_string(), InstrumentId(0))];
    let mut cfg = StreamSessionConfig::new(&sim.ws_url(), ids);
    cfg.tls_roots_der = vec![sim.cert_der.clone()];
    cfg.snapshot_timeout_ms = 150;
    let limit = cfg.keeper.resync_attempts_max;
    let mut gateway = match venue {
        Venue::Bybit => hedger_gateways::bybit::session::bybit_gateway(cfg, tx, 5),
        _ => hedger_gateways::deribit::session::deribit_gateway(cfg, tx, 5),
    }
    .unwrap();
    let stats = gateway.stats();
    let (mut timeouts, mut quarantined) = (0u32, false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !quarantined {
        gateway.do_work();
        while let Some(msg) = rx.pop() {
            if let Ok(Body::GatewayStatus(s)) = msg.body() {
                match (s.state, s.reason_code) {
                    (SourceState::Resyncing, reason::SNAPSHOT_TIMEOUT) => timeouts += 1,
                    (SourceState::Quarantined, reason::RESYNC_EXHAUSTED) => quarantined = true,
                    other => panic!("unexpected status {other:?}"),
                }
            }
        }
        assert!(Instant::now() < deadline, "never quarantined: {timeouts} timeouts, {stats:?}");
    }
    assert_eq!(timeouts, limit, "every attempt up to the limit is reported");
    assert_eq!(stats.resubscribes.load(Ordering::Relaxed), u64::from(limit));
    // Quarantined: no more resubscribes however long the snapshot stays away.
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        gateway.do_work();
        while rx.pop().is_some() {}
    }
    assert_eq!(stats.resubscribes.load(Ordering::Relaxed), u64::from(limit));
}

#[test]
fn bybit_missing_snapshot_is_retried_then_quarantined() {
    missing_snapshot_is_retried_then_quarantined(Venue::Bybit);
}

#[test]
fn deribit_missing_snapshot_is_retried_then_quarantined() {
    missing_snapshot_is_retried_then_quarantined(Venue::Deribit);
}

/// Without the instruments check (no REST base), a symbol the venue does not list is refused
/// on subscribe: the venue's error reply is counted as a venue error (not a parse error), the
/// listed book syncs regardless, and the refused one never becomes usable.
fn refused_subscribe_is_a_venue_error(venue: Venue, unknown: &str) {
    let mut h = Harness::start_with(venue, 30_000, &[symbols(venue)[0], unknown], false);
    h.wait_for("venue error", |h| h.stats.venue_errors.load(Ordering::Relaxed) > 0);
    h.wait_for("listed book", |h| h.books.usable(0).is_some());
    assert!(h.books.usable(1).is_none());
    assert_eq!(h.stats.parse_errors.load(Ordering::Relaxed), 0);
}

#[test]
fn bybit_refused_subscribe_is_a_venue_error() {
    refused_subscribe_is_a_venue_error(Venue::Bybit, "SOLUSDT");
}

#[test]
fn okx_refused_subscribe_is_a_venue_error() {
    refused_subscribe_is_a_venue_error(Venue::Okx { checksums: false }, "SOL-USDT-SWAP");
}

#[test]
fn bybit_stall_is_stale() {
    stall_is_stale(Venue::Bybit);
}

#[test]
fn okx_books_equal_through_gaps_faults_and_reconnects() {
    books_equal_through_faults(Venue::Okx { checksums: false });
}

/// OKX §3.3: a non-zero checksum is verified; a wrong one invalidates the book (reason
/// checksum) and the resubscribe brings it back.
#[test]
fn okx_checksums_verified_and_a_bad_one_detected() {
    let mut h = Harness::start(Venue::Okx { checksums: true }, 30_000);
    h.run_for(Duration::from_millis(400));
    h.assert_books_converge("with checksums");
    assert_eq!(h.stats.checksum_failures.load(Ordering::Relaxed), 0, "real checksums match");
    h.sim.faults.bad_checksum_next.store(1, Ordering::Release);
    h.wait_for("bad checksum", |h| h.stats.checksum_failures.load(Ordering::Relaxed) > 0);
    h.drain();
    assert!(h.resyncing_with(reason::CHECKSUM), "{:?}", h.statuses);
    h.assert_books_converge("after a bad checksum");
}

#[test]
fn okx_stall_is_stale() {
    stall_is_stale(Venue::Okx { checksums: false });
}

#[test]
fn deribit_books_equal_through_gaps_faults_and_reconnects() {
    books_equal_through_faults(Venue::Deribit);
}

/// Deribit §4.3: every `test_request` is answered with `public/test` (the simulator closes the
/// connection otherwise), so the one connection survives many of them.
#[test]
fn deribit_test_requests_are_answered() {
    let mut h = Harness::start(Venue::Deribit, 30_000);
    h.wait_for("test requests", |h| h.sim.counters.test_requests.load(Ordering::Relaxed) >= 4);
    assert!(h.sim.counters.tests_answered.load(Ordering::Relaxed) >= 3);
    assert_eq!(h.stats.connects.load(Ordering::Relaxed), 1, "never closed for silence");
    h.assert_books_converge("with heartbeats");
}

#[test]
fn deribit_stall_is_stale() {
    stall_is_stale(Venue::Deribit);
}

/// `hedger sim` as a separate process serves all three stream venues (and Binance) with one
/// certificate bundle; each gateway syncs both books from the printed URLs, and a periodic
/// `--venue-fault okx:gap` is detected and resynced.
#[test]
fn hedger_sim_serves_every_venue_to_its_gateway() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("venues.pem");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["sim", "--oracles", "none", "--venues", "all", "--duration-s", "60"])
        .args(["--venue-fault", "okx:gap", "--venue-fault-period-ms", "700", "--cert-out"])
        .arg(&cert)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn hedger sim");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let described: serde_json::Value = serde_json::from_str(&line).expect("sim prints its URLs");
    let roots = hedger_tools::venue_sim::pem_certificates(&std::fs::read_to_string(&cert).unwrap())
        .unwrap();
    assert_eq!(roots.len(), 4, "one certificate per venue simulator");
    for venue in ["binance-usdm", "bybit", "okx", "deribit"] {
        assert!(described[venue]["ws_url"].as_str().unwrap().starts_with("wss://"), "{venue}");
    }
    let dir2 = tempfile::tempdir().unwrap();
    let tel =
        TelemetryFile::create(&dir2.path().join("g.tel"), TelemetryLimits::default(), "test", 1, 0)
            .unwrap();
    for (venue, name) in [
        (Venue::Bybit, "bybit"),
        (Venue::Okx { checksums: false }, "okx"),
        (Venue::Deribit, "deribit"),
    ] {
        let (tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, &format!("{name}->hot"), 65_536).unwrap();
        let info = &described[name];
        let ids: Vec<(String, InstrumentId)> = info["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str().unwrap().to_string(), InstrumentId(i as u32)))
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].0, symbols(venue)[0]);
        let mut cfg = StreamSessionConfig::new(info["ws_url"].as_str().unwrap(), ids);
        cfg.rest_url = Some(info["rest_url"].as_str().unwrap().to_string());
        cfg.tls_roots_der = roots.clone();
        let mut gateway = match venue {
            Venue::Bybit => hedger_gateways::bybit::session::bybit_gateway(cfg, tx, 1),
            Venue::Okx { .. } => hedger_gateways::okx::session::okx_gateway(cfg, tx, 1),
            Venue::Deribit => hedger_gateways::deribit::session::deribit_gateway(cfg, tx, 1),
        }
        .unwrap();
        let stats = gateway.stats();
        let mut books = HotBooks::new(2, 4096);
        let mut resynced_gap = false;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            gateway.do_work();
            while let Some(msg) = rx.pop() {
                books.apply(&msg);
                if let Ok(Body::GatewayStatus(s)) = msg.body() {
                    resynced_gap |=
                        s.state == SourceState::Resyncing && s.reason_code == reason::GAP;
                }
            }
            let synced = books.usable(0).is_some() && books.usable(1).is_some();
            if synced && (name != "okx" || resynced_gap) {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: not synced; stats {stats:?}");
        }
        assert_eq!(stats.instrument_errors.load(Ordering::Relaxed), 0);
        assert_eq!(books.rejected(), 0, "{name}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A simulator driven by a recording: `hedger record` of the Bybit simulator, then the journal
/// served by `ReplaySim` (recorded instruments included); the gateway fed by the replay ends with
/// the book `hedger replay --format journal` computes offline from the same journal.
#[test]
fn replay_simulator_serves_a_recording_to_the_gateway() {
    use hedger_core::fixed::parse_decimal;
    use hedger_tools::replay::ReplayVenue;
    use hedger_tools::venue_sim::replay::{ReplaySim, ReplaySimConfig};
    let mut sim_cfg = PubSubSimConfig::new(&symbols(Venue::Bybit));
    sim_cfg.tick_interval_ms = 5;
    // One symbol per instruments page: the recorder must follow the cursor as the gateway
    // does, and the replay simulator must serve the recorded pages by their cursors.
    sim_cfg.instruments_page_max = 1;
    let sim = hedger_tools::venue_sim::bybit::start(sim_cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("sim.pem");
    std::fs::write(&cert, &sim.cert_pem).unwrap();
    let journal = dir.path().join("journal");
    let hedger = env!("CARGO_BIN_EXE_hedger");
    let out = std::process::Command::new(hedger)
        .args(["record", "--venue", "bybit", "--ws-url", &sim.ws_url(), "--rest-url"])
        .args([&sim.rest_url(), "--symbols", "BTCUSDT,ETHUSDT", "--duration-s", "2", "--output"])
        .arg(&journal)
        .arg("--ca-cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["instruments"], 2, "two pages of one symbol each: {report}");
    drop(sim);

    let offline = std::process::Command::new(hedger)
        .args(["replay", "--venue", "bybit", "--format", "journal", "--summary-only", "--input"])
        .arg(&journal)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&offline.stdout);
    let summary: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(text.lines().last().unwrap()).unwrap()["summary"]
            .clone();

    let replay = ReplaySim::start(ReplaySimConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: true,
        venue: ReplayVenue::Bybit,
        journal,
        speed: 0.0,
    })
    .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let tel =
        TelemetryFile::create(&dir2.path().join("g.tel"), TelemetryLimits::default(), "t", 1, 0)
            .unwrap();
    let (tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, "bybit->hot", 1 << 20).unwrap();
    let ids =
        vec![("BTCUSDT".to_string(), InstrumentId(0)), ("ETHUSDT".to_string(), InstrumentId(1))];
    let mut cfg = StreamSessionConfig::new(&replay.ws_url(), ids);
    cfg.rest_url = Some(replay.rest_url());
    cfg.tls_roots_der = vec![replay.cert_der.clone()];
    let mut gateway = hedger_gateways::bybit::session::bybit_gateway(cfg, tx, 3).unwrap();
    let stats = gateway.stats();
    let mut books = HotBooks::new(2, 4096);
    let deadline = Instant::now() + Duration::from_secs(30);
    let frames = replay.frames as u64;
    while stats.frames.load(Ordering::Relaxed) < frames {
        gateway.do_work();
        while let Some(msg) = rx.pop() {
            books.apply(&msg);
        }
        assert!(Instant::now() < deadline, "replay not consumed: {stats:?}");
    }
    while let Some(msg) = rx.pop() {
        books.apply(&msg);
    }
    assert_eq!(stats.instrument_errors.load(Ordering::Relaxed), 0);
    assert_eq!(stats.gaps.load(Ordering::Relaxed), 0);
    let e8 = |v: &serde_json::Value| parse_decimal(v.as_str().unwrap().as_bytes(), 8).unwrap();
    for (i, symbol) in ["BTCUSDT", "ETHUSDT"].iter().enumerate() {
        let expected = &summary["books"][symbol];
        let book = books.usable(i as u32).expect("book valid after the replay");
        let (bid, ask) = (book.best_bid().unwrap(), book.best_ask().unwrap());
        assert_eq!(bid.price_ticks, e8(&expected["best_bid"][0]), "{symbol}");
        assert_eq!(bid.qty_lots, e8(&expected["best_bid"][1]), "{symbol}");
        assert_eq!(ask.price_ticks, e8(&expected["best_ask"][0]), "{symbol}");
        assert_eq!(book.depth().0 as u64, expected["bid_levels"].as_u64().unwrap(), "{symbol}");
        assert_eq!(book.depth().1 as u64, expected["ask_levels"].as_u64().unwrap(), "{symbol}");
    }
}
