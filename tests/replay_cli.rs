//! `hedger replay --format jsonl` on a Binance capture: events, exact summary, determinism.

use std::process::Command;

use serde_json::Value;

fn replay(input: &str) -> (Vec<Value>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["replay", "--venue", "binance-usdm", "--format", "jsonl", "--input", input])
        .output()
        .expect("run hedger replay");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let summary = lines.pop().expect("summary line");
    (lines, summary["summary"].clone())
}

const CAPTURE: &str = "tests/fixtures/venues/binance_btcusdt.jsonl";

#[test]
fn binance_capture_gives_the_exact_book_and_reports_the_gap() {
    let (events, summary) = replay(CAPTURE);
    assert_eq!(summary["messages"], 11);
    assert_eq!(summary["gaps"], 1);
    assert_eq!(summary["checksum_failures"], 0);
    assert_eq!(summary["parse_errors"], 0);
    let book = &summary["books"]["BTCUSDT"];
    assert_eq!(book["best_bid"], serde_json::json!(["65000.00", "1.750"]));
    assert_eq!(book["best_ask"], serde_json::json!(["65001.00", "2.000"]));
    assert_eq!((book["bid_levels"].as_u64(), book["ask_levels"].as_u64()), (Some(2), Some(1)));
    assert_eq!(book["state"], "valid");
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "book_buffered",
            "book_buffered",
            "book_snapshot",
            "trade",
            "book_delta",
            "bbo",
            "mark",
            "book_invalid",
            "book_buffered",
            "book_snapshot",
            "book_delta"
        ]
    );
    let gap = &events[7];
    assert_eq!(
        (gap["reason"].as_str(), gap["expected"].as_i64(), gap["got"].as_i64()),
        (Some("gap"), Some(1010), Some(1012))
    );
    assert_eq!(events[3]["price"], "65000.10", "prices keep the venue's decimals");
}

#[test]
fn the_same_capture_gives_the_same_digest_and_a_changed_one_does_not() {
    let (_, first) = replay(CAPTURE);
    let (_, second) = replay(CAPTURE);
    assert_eq!(first["digest"], second["digest"]);
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed.jsonl");
    let text = std::fs::read_to_string(CAPTURE).unwrap().replace("\"1.750\"", "\"1.760\"");
    std::fs::write(&changed, text).unwrap();
    let (_, third) = replay(changed.to_str().unwrap());
    assert_ne!(first["digest"], third["digest"]);
    assert_eq!(third["books"]["BTCUSDT"]["best_bid"][1], "1.760");
}

#[test]
fn bad_lines_are_counted_and_reported_without_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let good = std::fs::read_to_string(CAPTURE).unwrap();
    std::fs::write(&path, format!("{{\"e\":\"depthUpdate\"\nnot json\n{good}")).unwrap();
    let (events, summary) = replay(path.to_str().unwrap());
    assert_eq!(summary["parse_errors"], 2);
    assert_eq!(summary["messages"], 13);
    assert_eq!(events[0]["event"], "parse_error");
    assert_eq!(events[0]["line"], 1);
    assert_eq!(summary["books"]["BTCUSDT"]["best_bid"][0], "65000.00");
    let out = Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["replay", "--venue", "binance-usdm", "--input", "/nonexistent/capture.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}

fn replay_venue(venue: &str, input: &str) -> (Vec<Value>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["replay", "--venue", venue, "--format", "jsonl", "--input", input])
        .output()
        .expect("run hedger replay");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.pop().unwrap();
    (lines, summary["summary"].clone())
}

#[test]
fn okx_checksum_is_verified_when_present_and_a_new_snapshot_recovers() {
    let (events, summary) = replay_venue("okx", "tests/fixtures/venues/okx_btc_swap.jsonl");
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["book_snapshot", "book_delta", "book_heartbeat", "book_invalid", "trade", "book_snapshot"]
    );
    assert_eq!(events[3]["reason"], "checksum");
    assert_eq!(events[3]["expected"], 12345);
    assert_eq!(summary["checksum_failures"], 1);
    let book = &summary["books"]["BTC-USDT-SWAP"];
    assert_eq!(book["best_ask"], serde_json::json!(["3366.8", "10"]));
    assert_eq!(book["state"], "valid");
}

#[test]
fn bybit_and_deribit_gaps_are_reported_and_snapshots_resync() {
    let (events, summary) = replay_venue("bybit", "tests/fixtures/venues/bybit_btcusdt.jsonl");
    assert_eq!(summary["gaps"], 1, "u jumped from 18521289 to 18521291");
    assert!(events.iter().any(|e| e["event"] == "book_invalid"
        && e["expected"] == 18521290
        && e["got"] == 18521291));
    assert_eq!(summary["books"]["BTCUSDT"]["best_bid"], serde_json::json!(["16494.00", "1.000"]));
    let (events, summary) =
        replay_venue("deribit", "tests/fixtures/venues/deribit_btc_perpetual.jsonl");
    assert_eq!(summary["gaps"], 1, "prev_change_id 297220 != 297218");
    assert!(events.iter().any(|e| e["event"] == "book_invalid" && e["got"] == 297220));
    let book = &summary["books"]["BTC-PERPETUAL"];
    assert_eq!(
        (book["best_bid"].clone(), book["best_ask"].clone()),
        (serde_json::json!(["5042.1", "5"]), serde_json::json!(["5043.3", "40"]))
    );
    assert_eq!(book["state"], "valid");
}
