//! The Binance session fetches exchangeInfo before its snapshots: a configured symbol the venue
//! does not list must not pass silently — no book is published, the books are reported Down with
//! reason INSTRUMENTS, and the session keeps retrying with backoff.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hedger_core::ids::InstrumentId;
use hedger_core::msg::{Body, Msg, SourceState};
use hedger_gateways::binance::session::{BinanceGateway, BinanceSessionConfig};
use hedger_gateways::venue::reason;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::venue_sim::binance::{BinanceSim, BinanceSimConfig};

#[test]
fn unlisted_symbol_reports_down_with_instruments_reason_and_retries() {
    let sim =
        BinanceSim::start(BinanceSimConfig { tick_interval_ms: 5, ..BinanceSimConfig::default() })
            .expect("sim");
    let dir = tempfile::tempdir().unwrap();
    let tel =
        TelemetryFile::create(&dir.path().join("g.tel"), TelemetryLimits::default(), "test", 1, 0)
            .unwrap();
    let (tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, "binance->hot", 65_536).unwrap();
    let symbols =
        vec![("BTCUSDT".to_string(), InstrumentId(0)), ("NOPEUSDT".to_string(), InstrumentId(1))];
    let mut cfg = BinanceSessionConfig::new(&sim.ws_url(), &sim.rest_url(), symbols);
    cfg.tls_roots_der = vec![sim.cert_der.clone()];
    cfg.backoff_ms_min = 20;
    cfg.backoff_ms_max = 50;
    let mut gateway = BinanceGateway::new(cfg, tx, 42).expect("gateway");
    let stats = gateway.stats();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut downs, mut deltas) = (0usize, 0usize);
    while Instant::now() < deadline && stats.instrument_errors.load(Ordering::Acquire) < 3 {
        if gateway.do_work() == 0 {
            std::thread::yield_now();
        }
        while let Some(msg) = rx.pop() {
            match msg.body() {
                Ok(Body::GatewayStatus(s)) if s.state == SourceState::Down => {
                    assert_eq!(s.reason_code, reason::INSTRUMENTS);
                    downs += 1;
                }
                Ok(Body::BookDelta(_) | Body::BookLevels(_) | Body::BookLevelsNarrow(_)) => {
                    deltas += 1
                }
                _ => {}
            }
        }
    }
    assert!(stats.instrument_errors.load(Ordering::Acquire) >= 3, "the session retries the fetch");
    assert_eq!(stats.snapshots.load(Ordering::Acquire), 0, "no snapshot without metadata");
    assert_eq!(deltas, 0, "no book is published without metadata");
    assert!(downs >= 2, "each failed fetch reports the books Down, got {downs}");
}
