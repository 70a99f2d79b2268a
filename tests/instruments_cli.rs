//! `hedger instruments` through the binary: sim bodies parse to exact decimal specs; bad input
//! exits 1 with a typed rule.

use std::process::Command;

use hedger_core::ids::VenueId;
use hedger_tools::venue_sim::instruments::instruments_body;

fn run(venue: &str, body: &str, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, body).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hedger"))
        .args(["instruments", "--venue", venue, "--input"])
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn okx_and_deribit_bodies_print_exact_specs_in_requested_order() {
    let body = instruments_body(VenueId::Okx, &["BTC-USDT-SWAP", "ETH-USDT-SWAP"]).unwrap();
    let (code, lines) = run("okx", &body, &["--symbols", "ETH-USDT-SWAP,BTC-USDT-SWAP"]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["symbol"], "ETH-USDT-SWAP");
    assert_eq!(lines[1]["tick_size"], "0.1");
    assert_eq!(lines[1]["lot_size"], "0.01");
    assert_eq!(lines[1]["contract_value"], "0.01");
    assert_eq!(lines[1]["contract_currency"], "BTC");
    assert_eq!(lines[1]["qty_unit"], "contracts");

    let body = instruments_body(VenueId::Deribit, &["BTC-PERPETUAL"]).unwrap();
    let (code, lines) = run("deribit", &body, &[]);
    assert_eq!(code, 0);
    assert_eq!(lines[0]["tick_size"], "0.5");
    assert_eq!(lines[0]["lot_size"], "10");
    assert_eq!(lines[0]["kind"], "inverse");
    assert_eq!(lines[0]["contract_currency"], "USD");
}

#[test]
fn bad_input_exits_1_with_rule() {
    let body = instruments_body(VenueId::BinanceUsdm, &["BTCUSDT"]).unwrap();
    let (code, lines) = run("binance-usdm", &body, &["--symbols", "BTCUSDT,XRPUSDT"]);
    assert_eq!(code, 1);
    assert_eq!(lines[0]["error"]["rule"], "unknown_symbol");
    assert!(lines[0]["error"]["message"].as_str().unwrap().contains("XRPUSDT"));

    let bad = body.replace(r#""tickSize":"0.1""#, r#""tickSize":"0.0""#);
    assert_ne!(bad, body);
    let (code, lines) = run("binance-usdm", &bad, &[]);
    assert_eq!((code, lines[0]["error"]["rule"].as_str()), (1, Some("tick_not_positive")));

    let (code, lines) = run("kraken", &body, &[]);
    assert_eq!((code, lines[0]["error"]["rule"].as_str()), (1, Some("unknown_venue")));
}
