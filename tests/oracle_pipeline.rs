//! Oracle gateways against the oracle simulators (in-process, ephemeral loopback ports): verified
//! prices reach the hot thread's reference table; forged, stalled and stale sources are
//! quarantined or marked stale within one update and reported to the cold thread; the inspector
//! shows the `oracle->hot` ring of a running pipeline.
//!
//! The agents run on the test thread (as the runtime would run them), so the test can look at
//! their state between steps.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hedger::pipeline::{ColdAgent, HotAgent};
use hedger_core::msg::{Msg, SourceState};
use hedger_core::oracle::reference::{OracleSource, ReferenceError, SourceHealth};
use hedger_gateways::oracle::config::{
    HermesMode, OracleAssetConfig, OraclesConfig, PythConfig, RedstoneSourceConfig,
};
use hedger_gateways::oracle::OracleGateway;
use hedger_ipc::clock::unix_ms;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};
use hedger_tools::sim::faults::{Fault, Faults};
use hedger_tools::sim::{start as start_sims, RunningSims, SimArgs};

const ETH: u32 = 0;
const BTC: u32 = 1;

fn sims(interval_ms: u64) -> RunningSims {
    let args = SimArgs { interval_ms, ..SimArgs::default() };
    start_sims(&args).expect("simulators start")
}

fn config(sims: &RunningSims, mode: HermesMode, max_age_ms: u64) -> OraclesConfig {
    let described = sims.describe();
    let strings = |value: &serde_json::Value| -> Vec<String> {
        value.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
    };
    let mut assets = Vec::new();
    for (name, id) in [
        ("ETH", "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"),
        ("BTC", "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"),
    ] {
        let mut asset = OracleAssetConfig::new(name);
        asset.pyth_feed_id = Some(id.to_owned());
        asset.redstone_feed = Some(name.to_owned());
        asset.max_age_ms = max_age_ms;
        assets.push(asset);
    }
    let pyth = PythConfig {
        url: described["pyth"]["url"].as_str().unwrap().to_owned(),
        mode,
        poll_interval_ms: 200,
        guardian_set: None,
        signers: strings(&described["pyth"]["signers"]),
        guardian_set_index: Some(100),
        quorum: Some(13),
        api_key_env: Some("HEDGER_TEST_PYTH_KEY_UNSET".to_owned()),
        connect_timeout_ms: 500,
        request_timeout_ms: 5_000,
        idle_timeout_ms: 5_000,
        ca_cert_file: None,
        extra_roots_der: Vec::new(),
    };
    let redstone = RedstoneSourceConfig {
        url: described["redstone"]["url"].as_str().unwrap().to_owned(),
        data_service_id: "redstone-primary-prod".to_owned(),
        signers: strings(&described["redstone"]["signers"]),
        threshold: 3,
        poll_interval_ms: 200,
        package_max_age_ms: 180_000,
        package_max_future_ms: 60_000,
        api_key_env: None,
        connect_timeout_ms: 500,
        request_timeout_ms: 5_000,
        ca_cert_file: None,
        extra_roots_der: Vec::new(),
    };
    let cfg = OraclesConfig {
        enabled: true,
        embedded_sim: false,
        quarantine_hold_ms: 300,
        assets,
        pyth: Some(pyth),
        redstone: Some(redstone),
    };
    assert_eq!(cfg.problems(), Vec::<String>::new());
    cfg
}

/// Gateway, hot and cold agents wired with rings, stepped by the test.
struct Rig {
    _dir: tempfile::TempDir,
    gateway: OracleGateway,
    hot: HotAgent,
    cold: ColdAgent,
}

impl Rig {
    fn new(cfg: &OraclesConfig) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let tel = TelemetryFile::create(
            &dir.path().join("o.tel"),
            TelemetryLimits::default(),
            "t",
            1_000_000_000,
            0,
        )
        .unwrap();
        let (oracle_tx, oracle_rx) = hedger_ipc::ring::<Msg>(&tel, "oracle->hot", 1024).unwrap();
        let (event_tx, event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
        let limits = cfg.assets.iter().map(|a| a.limits()).collect();
        let hot = HotAgent::new(Vec::new(), event_tx, 64).with_oracles(vec![oracle_rx], limits);
        let cold = ColdAgent::new(event_rx, Duration::from_secs(3600));
        let gateway = OracleGateway::new(cfg, oracle_tx).unwrap();
        Rig { _dir: dir, gateway, hot, cold }
    }

    fn step(&mut self) {
        let work = self.gateway.do_work() + self.hot.do_work() + self.cold.do_work();
        if work == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Steps until `done` holds; panics with `what` after `timeout_s`.
    fn until(&mut self, what: &str, timeout_s: u64, mut done: impl FnMut(&mut Rig) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(timeout_s);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.step();
        }
    }

    fn health(&self, asset: u32, source: OracleSource) -> SourceHealth {
        self.hot.references().source(asset as usize, source).unwrap().state
    }

    fn both_up(&mut self) {
        self.until("both sources up", 30, |rig| {
            rig.hot
                .references()
                .reference(ETH as usize, unix_ms())
                .is_some_and(|r| r.sources_used == 2)
        });
    }
}

fn pyth_faults(sims: &RunningSims) -> Arc<Faults> {
    Arc::clone(&sims.pyth.as_ref().unwrap().0.faults)
}

fn redstone_faults(sims: &RunningSims) -> Arc<Faults> {
    Arc::clone(&sims.redstone.as_ref().unwrap().0.faults)
}

#[test]
fn verified_prices_from_both_simulators_reach_the_hot_reference() {
    let sims = sims(200);
    let mut rig = Rig::new(&config(&sims, HermesMode::Stream, 10_000));
    rig.both_up();
    let now_ms = unix_ms();
    for (asset, base_e8) in [(ETH, 350_000_000_000i64), (BTC, 6_500_000_000_000)] {
        let reference = rig.hot.references().reference(asset as usize, now_ms).unwrap();
        let off_bps = (reference.price_e8 - base_e8).abs() * 10_000 / base_e8;
        assert!(off_bps <= 10, "asset {asset}: {reference:?}");
        let pyth = rig.hot.references().source(asset as usize, OracleSource::Pyth).unwrap();
        let redstone = rig.hot.references().source(asset as usize, OracleSource::RedStone).unwrap();
        assert_eq!((pyth.signer_count, redstone.signer_count), (13, 5));
        assert!(pyth.conf_e8 > 0);
    }
    let stats = rig.gateway.pyth_stats().unwrap();
    assert!(stats.updates_verified >= 1 && stats.verify_failures == 0, "{stats:?}");
    assert_eq!(rig.gateway.redstone_stats().unwrap().verify_failures, 0);
    // A venue mid 1 bp off passes; 2 % off is refused.
    let reference = rig.hot.references().reference(ETH as usize, now_ms).unwrap();
    let refs = rig.hot.references();
    assert!(refs
        .check_venue_mid(ETH as usize, reference.price_e8 + reference.price_e8 / 10_000, now_ms)
        .is_ok());
    let far = reference.price_e8 + reference.price_e8 / 50;
    assert!(matches!(
        refs.check_venue_mid(ETH as usize, far, now_ms),
        Err(ReferenceError::VenueDeviation { .. })
    ));
}

/// Turns `fault` on at `faults`, and checks that the source is quarantined by the first update
/// that fails verification (never a forged price published), reported to the cold thread, and
/// restored after the fault clears.
fn quarantine_round(rig: &mut Rig, faults: &Faults, fault: Fault, source: OracleSource) {
    let stats = |rig: &Rig| match source {
        OracleSource::Pyth => rig.gateway.pyth_stats().unwrap(),
        _ => rig.gateway.redstone_stats().unwrap(),
    };
    let gateway_state = |rig: &Rig| match source {
        OracleSource::Pyth => rig.gateway.pyth_state(ETH),
        _ => rig.gateway.redstone_state(ETH),
    };
    let failures_before = stats(rig).verify_failures;
    let reported_before = rig.cold.oracle_statuses();
    faults.set(fault, true);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        rig.step();
        let failures = stats(rig).verify_failures - failures_before;
        if failures >= 1 {
            // Within one update: the first failure has already quarantined the source.
            assert_eq!(gateway_state(rig), Some(SourceState::Quarantined), "{fault:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{fault:?} never failed verification");
    }
    rig.until("hot sees the quarantine", 5, |rig| {
        rig.health(ETH, source) == SourceHealth::Quarantined
            && rig.health(BTC, source) == SourceHealth::Quarantined
    });
    rig.until("cold is told", 5, |rig| rig.cold.oracle_statuses() >= reported_before + 2);
    // Pricing does not use the quarantined source: only the other one remains.
    let reference = rig.hot.references().reference(ETH as usize, unix_ms());
    assert!(reference.is_none_or(|r| r.sources_used == 1), "{fault:?}: {reference:?}");
    faults.set(fault, false);
    rig.until("recovery after the fault clears", 30, |rig| {
        rig.health(ETH, source) == SourceHealth::Up
    });
}

#[test]
fn forged_pyth_updates_are_quarantined_within_one_update_and_reported() {
    let sims = sims(150);
    let faults = pyth_faults(&sims);
    let mut rig = Rig::new(&config(&sims, HermesMode::Stream, 10_000));
    rig.both_up();
    for fault in [Fault::BadSignature, Fault::TooFewSigners, Fault::WrongProof] {
        quarantine_round(&mut rig, &faults, fault, OracleSource::Pyth);
    }
    assert_eq!(rig.health(ETH, OracleSource::RedStone), SourceHealth::Up);
}

#[test]
fn forged_redstone_packages_are_quarantined_within_one_update_and_reported() {
    let sims = sims(200);
    let faults = redstone_faults(&sims);
    let mut rig = Rig::new(&config(&sims, HermesMode::Poll, 10_000));
    rig.both_up();
    for fault in [Fault::BadSignature, Fault::TooFewSigners, Fault::WrongProof] {
        quarantine_round(&mut rig, &faults, fault, OracleSource::RedStone);
    }
}

#[test]
fn stalled_and_stale_sources_go_stale_and_the_reference_follows() {
    let sims = sims(150);
    let mut rig = Rig::new(&config(&sims, HermesMode::Stream, 1_500));
    rig.both_up();
    // Pyth stream stall: only keep-alives arrive; stale after max age, RedStone carries on.
    let pyth = pyth_faults(&sims);
    pyth.set(Fault::Stall, true);
    rig.until("pyth stale after a stall", 10, |rig| {
        rig.health(ETH, OracleSource::Pyth) == SourceHealth::Stale
    });
    assert_eq!(rig.gateway.pyth_state(ETH), Some(SourceState::Stale));
    let reference = rig.hot.references().reference(ETH as usize, unix_ms()).unwrap();
    assert_eq!(reference.sources_used, 1);
    // RedStone frozen server and stale timestamps: no trustworthy source left.
    let redstone = redstone_faults(&sims);
    redstone.set(Fault::StaleTimestamp, true);
    rig.until("redstone stale", 10, |rig| {
        rig.health(ETH, OracleSource::RedStone) == SourceHealth::Stale
    });
    assert!(rig.hot.references().reference(ETH as usize, unix_ms()).is_none());
    assert!(rig.cold.oracle_statuses() >= 4);
    pyth.clear();
    redstone.clear();
    rig.both_up();
    redstone.set(Fault::Stall, true);
    rig.until("redstone stale after a stall", 10, |rig| {
        rig.health(ETH, OracleSource::RedStone) == SourceHealth::Stale
    });
}

#[test]
fn sse_error_events_reconnect_and_sources_that_disagree_give_no_reference() {
    let sims = sims(100);
    let pyth = pyth_faults(&sims);
    pyth.close_after_events.store(3, std::sync::atomic::Ordering::Release);
    let mut rig = Rig::new(&config(&sims, HermesMode::Stream, 10_000));
    rig.both_up();
    rig.until("a reconnect after an error event", 30, |rig| {
        let stats = rig.gateway.pyth_stats().unwrap();
        stats.stream_closes >= 2 && stats.connects >= 3
    });
    assert_eq!(rig.gateway.pyth_stats().unwrap().verify_failures, 0);
    redstone_faults(&sims).price_offset_bps.store(300, std::sync::atomic::Ordering::Release);
    rig.until("disagreement", 20, |rig| {
        matches!(
            rig.hot.references().evaluate(ETH as usize, unix_ms()),
            Err(ReferenceError::SourcesDisagree { .. })
        )
    });
}

#[test]
fn the_inspector_shows_the_oracle_ring_of_a_running_pipeline() {
    let sims = sims(200);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = hedger::config::AppConfig::profile("compact").unwrap();
    cfg.oracles = config(&sims, HermesMode::Stream, 10_000);
    let path = dir.path().join("hedger-oracle.tel");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pipeline = hedger::pipeline::start(&cfg, "test", &path, Arc::clone(&stop)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let report = hedger_tools::inspect::sample(&path, 100).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        let ring =
            json["rings"].as_array().unwrap().iter().find(|r| r["name"] == "oracle->hot").cloned();
        if ring.as_ref().is_some_and(|r| r["pushed"].as_u64() > Some(2)) {
            break json;
        }
        assert!(Instant::now() < deadline, "oracle->hot never carried messages: {json}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let names: Vec<&str> =
        report["threads"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"oracle"), "{names:?}");
    pipeline.runtime.stop();
    pipeline.runtime.join().unwrap();
    let report = serde_json::to_value(hedger_tools::inspect::sample(&path, 0).unwrap()).unwrap();
    let ring =
        report["rings"].as_array().unwrap().iter().find(|r| r["name"] == "oracle->hot").unwrap();
    assert_eq!(ring["pushed"], ring["popped"], "oracle ring drained on shutdown: {ring}");
}

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

#[test]
fn the_hot_thread_applies_oracle_messages_without_allocating() {
    use hedger_core::ids::{InstrumentId, VenueId};
    use hedger_core::msg::{Body, GatewayStatus, OraclePrice, Origin};
    use hedger_core::oracle::reference::AssetLimits;

    let dir = tempfile::tempdir().unwrap();
    let tel =
        TelemetryFile::create(&dir.path().join("a.tel"), TelemetryLimits::default(), "t", 1, 0)
            .unwrap();
    let (mut oracle_tx, oracle_rx) = hedger_ipc::ring::<Msg>(&tel, "oracle->hot", 1024).unwrap();
    let (event_tx, event_rx) = hedger_ipc::ring::<Msg>(&tel, "hot->cold", 1024).unwrap();
    let mut hot = HotAgent::new(Vec::new(), event_tx, 8)
        .with_oracles(vec![oracle_rx], vec![AssetLimits::default(); 2]);
    let mut cold = ColdAgent::new(event_rx, Duration::from_secs(3600));
    let now_ms = unix_ms();
    let mut batch = Vec::new();
    for step in 0..64u64 {
        for (venue, asset) in [(VenueId::Pyth, 0), (VenueId::RedStone, 1)] {
            let origin = Origin::new(venue, InstrumentId(asset));
            let state = if step % 8 == 0 { SourceState::Quarantined } else { SourceState::Up };
            let status = GatewayStatus { state, reason_code: 22, reason_count: step, detail: 0 };
            batch.push(Msg::new(origin, Body::GatewayStatus(status)));
            let price = OraclePrice {
                price_e8: 300_000_000_000,
                conf_e8: 1_000,
                publish_time_ms: now_ms + step,
                signer_count: 13,
            };
            batch.push(Msg::new(origin, Body::OraclePrice(price)));
        }
    }
    let mut applied = 0;
    for round in 0..200 {
        assert_eq!(oracle_tx.push_slice(&batch), batch.len());
        common::alloc::set_armed(round > 10);
        while hot.do_work() > 0 {}
        let reference = hot.references().reference(0, now_ms);
        common::alloc::set_armed(false);
        assert!(reference.is_some());
        applied += batch.len();
        while cold.do_work() > 0 {}
    }
    assert_eq!(hot.oracle_msgs(), applied as u64);
    assert!(cold.oracle_statuses() > 0);
    assert_eq!(
        common::alloc::allocations(),
        0,
        "the hot thread allocated while applying oracle messages"
    );
}

#[test]
fn hedger_sim_prints_its_addresses_and_a_config_that_validates() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["sim", "--duration-s", "1", "--print-config", "--seed", "9"])
        .output()
        .expect("run hedger sim");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (line, toml_text) = stdout.split_once('\n').unwrap();
    let described: serde_json::Value = serde_json::from_str(line).unwrap();
    for source in ["pyth", "redstone"] {
        assert!(described[source]["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    }
    assert_eq!(described["pyth"]["signers"].as_array().unwrap().len(), 19);
    assert_eq!(described["redstone"]["signers"].as_array().unwrap().len(), 5);
    let profile = include_str!("../src/profiles/compact.toml");
    let text = profile.replace("[oracles]\nenabled = false\n", toml_text);
    let cfg = hedger::config::AppConfig::parse(&text, "sim.toml").unwrap();
    assert!(cfg.oracles.enabled);
    cfg.validate("sim.toml", &[0, 1]).unwrap();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["sim", "--fault", "pyth:sideways"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn tls_sources_verify_through_https_and_an_untrusted_certificate_is_refused() {
    let args = SimArgs { interval_ms: 200, oracle_tls: true, ..SimArgs::default() };
    let sims = start_sims(&args).expect("TLS simulators start");
    let described = sims.describe();
    for source in ["pyth", "redstone"] {
        let url = described[source]["url"].as_str().unwrap();
        assert!(url.starts_with("https://127.0.0.1:"), "{source}: {url}");
    }
    let cert_der = sims.oracle_cert.as_ref().unwrap().cert_der.clone();
    let mut trusted = config(&sims, HermesMode::Stream, 10_000);
    trusted.pyth.as_mut().unwrap().extra_roots_der = vec![cert_der.clone()];
    trusted.redstone.as_mut().unwrap().extra_roots_der = vec![cert_der];
    let mut rig = Rig::new(&trusted);
    rig.both_up();
    assert!(rig.gateway.pyth_stats().unwrap().updates_verified >= 1);

    // The same servers, not trusted: both sources go down with the TLS reason, no price.
    let untrusted = config(&sims, HermesMode::Poll, 10_000);
    let mut rig = Rig::new(&untrusted);
    rig.until("TLS refusal reported", 20, |rig| {
        rig.health(ETH, OracleSource::Pyth) == SourceHealth::Stale
            && rig.health(ETH, OracleSource::RedStone) == SourceHealth::Stale
    });
    for source in [OracleSource::Pyth, OracleSource::RedStone] {
        let slot = rig.hot.references().source(ETH as usize, source).unwrap();
        assert_eq!(slot.reason_code, hedger_gateways::oracle::reason::TLS, "{source:?}");
        assert_eq!(slot.prices_accepted, 0);
    }
    assert!(rig.hot.references().reference(ETH as usize, unix_ms()).is_none());
}
