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
