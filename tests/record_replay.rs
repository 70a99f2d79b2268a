//! `hedger record` against the Binance simulator over TLS, then `hedger replay --format
//! journal`: deterministic digests, a valid book, and a torn tail repaired on the next record.

use std::process::Command;

use hedger_tools::venue_sim::binance::{BinanceSim, BinanceSimConfig};
use serde_json::Value;

const HEDGER: &str = env!("CARGO_BIN_EXE_hedger");

fn record(sim: &BinanceSim, dir: &std::path::Path, cert: &std::path::Path) -> Value {
    let out = Command::new(HEDGER)
        .args([
            "record",
            "--venue",
            "binance-usdm",
            "--ws-url",
            &sim.ws_url(),
            "--rest-url",
            &sim.rest_url(),
        ])
        .args(["--symbols", "BTCUSDT,ETHUSDT", "--duration-s", "1", "--output"])
        .arg(dir.join("journal"))
        .arg("--ca-cert")
        .arg(cert)
        .output()
        .expect("run hedger record");
    assert!(out.status.success(), "record failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("record report")
}

fn replay(dir: &std::path::Path) -> Value {
    let out = Command::new(HEDGER)
        .args([
            "replay",
            "--venue",
            "binance-usdm",
            "--format",
            "journal",
            "--summary-only",
            "--input",
        ])
        .arg(dir.join("journal"))
        .output()
        .expect("run hedger replay");
    assert!(out.status.success(), "replay failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str::<Value>(text.lines().last().unwrap()).expect("summary JSON")["summary"]
        .clone()
}

#[test]
fn recorded_session_replays_deterministically_and_survives_a_torn_tail() {
    let sim =
        BinanceSim::start(BinanceSimConfig { tick_interval_ms: 5, ..BinanceSimConfig::default() })
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("sim.pem");
    std::fs::write(&cert, &sim.cert_pem).unwrap();

    let report = record(&sim, dir.path(), &cert);
    assert_eq!(report["snapshots"], 2);
    assert!(report["frames"].as_u64().unwrap() > 50, "{report}");
    let first = replay(dir.path());
    let second = replay(dir.path());
    assert_eq!(first["digest"], second["digest"], "replay must be deterministic");
    assert_eq!(first["gaps"], 0);
    assert_eq!(first["parse_errors"], 0);
    for symbol in ["BTCUSDT", "ETHUSDT"] {
        assert_eq!(first["books"][symbol]["state"], "valid", "{first}");
        assert!(first["books"][symbol]["bid_levels"].as_u64().unwrap() > 10);
    }

    // Tear the last record, as a crash mid-append would.
    let segment =
        std::fs::read_dir(dir.path().join("journal")).unwrap().next().unwrap().unwrap().path();
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&segment).unwrap().set_len(len - 7).unwrap();
    let torn = replay(dir.path());
    assert_eq!(torn["messages"].as_u64().unwrap() + 1, first["messages"].as_u64().unwrap());
    let again = record(&sim, dir.path(), &cert);
    assert!(again["torn_bytes_truncated"].as_u64().unwrap() > 0, "{again}");
    let after = replay(dir.path());
    assert!(after["messages"].as_u64().unwrap() > torn["messages"].as_u64().unwrap());
}

/// `hedger sim` as a separate process: its Binance simulator serves `hedger record` over TLS
/// with the certificate it wrote out.
#[test]
fn hedger_sim_serves_binance_to_hedger_record() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("sim.pem");
    let mut sim = Command::new(HEDGER)
        .args(["sim", "--oracles", "none", "--duration-s", "20", "--cert-out"])
        .arg(&cert)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn hedger sim");
    let mut line = String::new();
    std::io::BufReader::new(sim.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let described: Value = serde_json::from_str(&line).expect("sim prints its addresses");
    let binance = &described["binance-usdm"];
    assert_eq!(binance["tls"], true);
    let out = Command::new(HEDGER)
        .args(["record", "--venue", "binance-usdm", "--symbols", "BTCUSDT", "--duration-s", "1"])
        .args([
            "--ws-url",
            binance["ws_url"].as_str().unwrap(),
            "--rest-url",
            binance["rest_url"].as_str().unwrap(),
        ])
        .arg("--output")
        .arg(dir.path().join("journal"))
        .arg("--ca-cert")
        .arg(&cert)
        .output()
        .unwrap();
    sim.kill().unwrap();
    sim.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = replay(dir.path());
    assert_eq!(summary["books"]["BTCUSDT"]["state"], "valid", "{summary}");
    let unknown = Command::new(HEDGER)
        .args(["sim", "--venues", "kraken", "--oracles", "none"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown venue \"kraken\""));
}

/// `hedger record` of each stream venue (its own subscribe messages, pings and Deribit
/// `test_request` answers) against its simulator over TLS; the journal replays to the same digest
/// twice, with both books valid and no gap.
#[test]
fn stream_venues_record_and_replay_deterministically() {
    use hedger_tools::venue_sim::pubsub::PubSubSimConfig;
    use hedger_tools::venue_sim::{bybit, deribit, okx};
    for venue in ["bybit", "okx", "deribit"] {
        let symbols = hedger_tools::sim::venues::sim_symbols(venue);
        let mut cfg = PubSubSimConfig::new(&symbols);
        cfg.tick_interval_ms = 5;
        let sim = match venue {
            "bybit" => bybit::start(cfg),
            "okx" => okx::start(cfg, true),
            // A test_request every 200 ms: unanswered, the simulator would close the socket.
            _ => deribit::start(cfg, 20),
        }
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("sim.pem");
        std::fs::write(&cert, &sim.cert_pem).unwrap();
        let out = Command::new(HEDGER)
            .args(["record", "--venue", venue, "--ws-url", &sim.ws_url()])
            .args(["--symbols", &symbols.join(","), "--duration-s", "2", "--output"])
            .arg(dir.path().join("journal"))
            .arg("--ca-cert")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(out.status.success(), "{venue}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report["frames"].as_u64().unwrap() > 100, "{venue}: {report}");
        assert_eq!(report["snapshots"], 0, "{venue}: the snapshot comes from the stream");
        let replay = |dir: &std::path::Path| -> Value {
            let out = Command::new(HEDGER)
                .args(["replay", "--venue", venue, "--format", "journal", "--summary-only"])
                .arg("--input")
                .arg(dir.join("journal"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{venue}: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str::<Value>(text.lines().last().unwrap()).unwrap()["summary"].clone()
        };
        let (first, second) = (replay(dir.path()), replay(dir.path()));
        assert_eq!(first["digest"], second["digest"], "{venue}: replay must be deterministic");
        assert_eq!(first["gaps"], 0, "{venue}: {first}");
        assert_eq!(first["checksum_failures"], 0, "{venue}: {first}");
        for symbol in symbols {
            assert_eq!(first["books"][symbol]["state"], "valid", "{venue}: {first}");
            assert!(first["books"][symbol]["bid_levels"].as_u64().unwrap() > 10, "{first}");
        }
        if venue == "deribit" {
            let answered = sim.counters.tests_answered.load(std::sync::atomic::Ordering::Relaxed);
            assert!(answered >= 3, "the recorder answers test_request ({answered})");
        }
    }
}
