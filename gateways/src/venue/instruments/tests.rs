//! Table-driven parser tests on response shapes from venues.md, and a loopback fetch.

use super::*;

/// venues.md §1.5 shape (fields a gateway needs, filters as decimal strings).
const BINANCE: &str = r#"{"timezone":"UTC","serverTime":1700000000000,"rateLimits":[],"assets":[],
 "symbols":[
  {"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
   "status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT",
   "pricePrecision":2,"quantityPrecision":3,
   "filters":[{"filterType":"PRICE_FILTER","minPrice":"556.80","maxPrice":"4529764","tickSize":"0.10"},
              {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"},
              {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"120","stepSize":"0.001"},
              {"filterType":"MIN_NOTIONAL","notional":"100"}]},
  {"symbol":"ETHUSDT","pair":"ETHUSDT","contractType":"PERPETUAL","status":"SETTLING",
   "baseAsset":"ETH","quoteAsset":"USDT",
   "filters":[{"filterType":"PRICE_FILTER","minPrice":"39.86","maxPrice":"306177","tickSize":"0.01"},
              {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"10000","stepSize":"0.001"}]}]}"#;

/// venues.md §2.4 instrument sample, plus an inverse perp.
const BYBIT: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","nextPageCursor":"",
 "list":[
  {"symbol":"BTCUSDT","symbolId":5,"contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC",
   "quoteCoin":"USDT","launchTime":"1585526400000","deliveryTime":"0","priceScale":"2",
   "priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"},
   "lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001",
                    "postOnlyMaxOrderQty":"1190.000","maxMktOrderQty":"500.000","minNotionalValue":"5"},
   "fundingInterval":480,"settleCoin":"USDT"},
  {"symbol":"BTCUSD","contractType":"InversePerpetual","status":"PreLaunch","baseCoin":"BTC",
   "quoteCoin":"USD","priceFilter":{"minPrice":"0.50","maxPrice":"999999.00","tickSize":"0.50"},
   "lotSizeFilter":{"maxOrderQty":"100000000","minOrderQty":"1","qtyStep":"1"}}]},
 "retExtInfo":{},"time":1671017382656}"#;

/// venues.md §3.5 fields with the documented contract values.
const OKX: &str = r#"{"code":"0","msg":"","data":[
  {"instType":"SWAP","instId":"BTC-USDT-SWAP","uly":"BTC-USDT","instFamily":"BTC-USDT","settleCcy":"USDT",
   "ctVal":"0.01","ctMult":"1","ctValCcy":"BTC","ctType":"linear","tickSz":"0.1","lotSz":"0.01",
   "minSz":"0.01","maxLmtSz":"100000000","lever":"100","listTime":"1611916828000","expTime":"",
   "state":"live","ruleType":"normal"},
  {"instType":"SWAP","instId":"BTC-USD-SWAP","settleCcy":"BTC","ctVal":"100","ctMult":"1",
   "ctValCcy":"USD","ctType":"inverse","tickSz":"0.1","lotSz":"1","minSz":"1","state":"suspend"}]}"#;

/// venues.md §4.5 fields and the THIRD-PARTY BTC-PERPETUAL values; numbers are JSON numbers.
const DERIBIT: &str = r#"{"jsonrpc":"2.0","usIn":1,"usOut":2,"usDiff":1,"testnet":false,"result":[
  {"instrument_name":"BTC-PERPETUAL","instrument_id":124972,"kind":"future","instrument_type":"reversed",
   "settlement_period":"perpetual","settlement_currency":"BTC","base_currency":"BTC","quote_currency":"USD",
   "counter_currency":"USD","tick_size":0.5,"tick_size_steps":[],"contract_size":10,
   "min_trade_amount":10,"maker_commission":0.0,"taker_commission":0.0005,"is_active":true,
   "creation_timestamp":1534242287000,"expiration_timestamp":32503708800000},
  {"instrument_name":"BTC-27DEC24","kind":"future","instrument_type":"reversed","base_currency":"BTC",
   "quote_currency":"USD","tick_size":2.5,"tick_size_steps":[{"above_price":100000,"tick_size":5}],
   "contract_size":10,"min_trade_amount":10,"is_active":false}]}"#;

struct Expect {
    symbol: &'static str,
    tick_e8: i64,
    lot_e8: i64,
    min_e8: i64,
    value_e8: i64,
    currency: &'static str,
    kind: ContractKind,
    unit: QtyUnit,
    status: InstrumentStatus,
}

#[test]
fn parses_each_venue_shape_into_exact_specs() {
    use ContractKind::{Inverse, Linear};
    use InstrumentStatus::{Halted, Trading};
    use QtyUnit::{Contracts, Currency as Ccy};
    #[rustfmt::skip]
    let table: [(VenueId, &str, Vec<Expect>); 4] = [
        (VenueId::BinanceUsdm, BINANCE, vec![
            Expect { symbol: "BTCUSDT", tick_e8: 10_000_000, lot_e8: 100_000, min_e8: 100_000, value_e8: 100_000_000, currency: "BTC", kind: Linear, unit: Ccy, status: Trading },
            Expect { symbol: "ETHUSDT", tick_e8: 1_000_000, lot_e8: 100_000, min_e8: 100_000, value_e8: 100_000_000, currency: "ETH", kind: Linear, unit: Ccy, status: Halted },
        ]),
        (VenueId::Bybit, BYBIT, vec![
            Expect { symbol: "BTCUSDT", tick_e8: 10_000_000, lot_e8: 100_000, min_e8: 100_000, value_e8: 100_000_000, currency: "BTC", kind: Linear, unit: Ccy, status: Trading },
            Expect { symbol: "BTCUSD", tick_e8: 50_000_000, lot_e8: 100_000_000, min_e8: 100_000_000, value_e8: 100_000_000, currency: "USD", kind: Inverse, unit: Ccy, status: Halted },
        ]),
        (VenueId::Okx, OKX, vec![
            Expect { symbol: "BTC-USDT-SWAP", tick_e8: 10_000_000, lot_e8: 1_000_000, min_e8: 1_000_000, value_e8: 1_000_000, currency: "BTC", kind: Linear, unit: Contracts, status: Trading },
            Expect { symbol: "BTC-USD-SWAP", tick_e8: 10_000_000, lot_e8: 100_000_000, min_e8: 100_000_000, value_e8: 10_000_000_000, currency: "USD", kind: Inverse, unit: Contracts, status: Halted },
        ]),
        (VenueId::Deribit, DERIBIT, vec![
            Expect { symbol: "BTC-PERPETUAL", tick_e8: 50_000_000, lot_e8: 1_000_000_000, min_e8: 1_000_000_000, value_e8: 1_000_000_000, currency: "USD", kind: Inverse, unit: Ccy, status: Trading },
            Expect { symbol: "BTC-27DEC24", tick_e8: 250_000_000, lot_e8: 1_000_000_000, min_e8: 1_000_000_000, value_e8: 1_000_000_000, currency: "USD", kind: Inverse, unit: Ccy, status: Halted },
        ]),
    ];
    for (venue, body, expected) in table {
        let specs = parse_instruments(venue, body.as_bytes()).unwrap();
        assert_eq!(specs.len(), expected.len(), "{venue:?}");
        for (spec, e) in specs.iter().zip(&expected) {
            let got = (
                spec.symbol.as_str(),
                spec.tick_size_e8,
                spec.lot_size_e8,
                spec.min_qty_e8,
                spec.contract_value_e8,
                spec.contract_currency.as_str(),
                spec.kind,
                spec.qty_unit,
                spec.status,
            );
            let want = (
                e.symbol, e.tick_e8, e.lot_e8, e.min_e8, e.value_e8, e.currency, e.kind, e.unit,
                e.status,
            );
            assert_eq!(got, want, "{venue:?}");
            assert_eq!(spec.venue, venue);
        }
    }
}

#[test]
fn deribit_tick_size_steps_are_kept() {
    let specs = parse_deribit(DERIBIT.as_bytes()).unwrap();
    assert_eq!(specs[0].steps(), &[]);
    let steps = specs[1].steps();
    assert_eq!(
        steps,
        &[TickStep { above_price_e8: 10_000_000_000_000, tick_size_e8: 500_000_000 }]
    );
    assert!(specs[1].is_on_tick(10_000_250_000_000 - 250_000_000)); // 99997.5 below the step
    assert!(!specs[1].is_on_tick(10_000_250_000_000)); // 100002.5 above it (tick 5)
}

#[test]
fn okx_contract_value_includes_ct_mult() {
    let body = OKX.replacen(r#""ctMult":"1""#, r#""ctMult":"10""#, 1);
    let specs = parse_okx(body.as_bytes()).unwrap();
    assert_eq!(specs[0].contract_value_e8, 10_000_000); // 0.01 × 10 = 0.1 BTC
    assert_eq!(specs[0].base_qty_e8(300_000_000), Ok(30_000_000)); // 3 contracts = 0.3 BTC
}

/// Each row: venue, body edit (from, to), expected rule.
#[test]
fn bad_bodies_give_typed_errors() {
    #[rustfmt::skip]
    let table: [(VenueId, &str, &str, &str, &str); 9] = [
        (VenueId::BinanceUsdm, BINANCE, r#""tickSize":"0.10""#, r#""tickSize":"0""#, "tick_not_positive"),
        (VenueId::BinanceUsdm, BINANCE, r#""stepSize":"0.001""#, r#""stepSize":"0.0o1""#, "bad_decimal"),
        (VenueId::BinanceUsdm, BINANCE, r#""filterType":"LOT_SIZE""#, r#""filterType":"X""#, "missing_field"),
        (VenueId::Bybit, BYBIT, r#""retCode":0"#, r#""retCode":10001"#, "venue_error"),
        (VenueId::Bybit, BYBIT, r#""qtyStep":"0.001""#, r#""qtyStep":"-0.001""#, "lot_not_positive"),
        (VenueId::Okx, OKX, r#""ctVal":"0.01""#, r#""ctVal":"""#, "bad_decimal"),
        (VenueId::Okx, OKX, r#""tickSz":"0.1""#, r#""tickSz":"0.000000001""#, "bad_decimal"),
        (VenueId::Deribit, DERIBIT, r#""contract_size":10,"min"#, r#""min"#, "missing_field"),
        (VenueId::Deribit, DERIBIT, r#"{"jsonrpc"#, r#"]]{"jsonrpc"#, "json"),
    ];
    for (venue, body, from, to, rule) in table {
        assert!(body.contains(from), "fixture lacks {from}");
        let bad = body.replacen(from, to, 1);
        let err = parse_instruments(venue, bad.as_bytes()).unwrap_err();
        assert_eq!(err.rule(), rule, "{venue:?} {from} -> {to}: {err}");
    }
}

#[test]
fn select_returns_requested_order_or_names_the_missing() {
    let specs = parse_okx(OKX.as_bytes()).unwrap();
    let picked = select(&specs, &["BTC-USD-SWAP", "BTC-USDT-SWAP"]).unwrap();
    assert_eq!(picked[0].symbol.as_str(), "BTC-USD-SWAP");
    assert_eq!(picked[1].symbol.as_str(), "BTC-USDT-SWAP");
    match select(&specs, &["BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP"]) {
        Err(InstrumentsError::UnknownSymbols(missing)) => {
            assert_eq!(missing, vec!["ETH-USDT-SWAP".to_string(), "SOL-USDT-SWAP".to_string()])
        }
        other => panic!("expected UnknownSymbols, got {other:?}"),
    }
}

#[test]
fn deribit_requests_one_target_per_currency_under_the_base_path() {
    let targets = request_targets(
        VenueId::Deribit,
        "/api/v2/",
        &["BTC-PERPETUAL", "ETH-PERPETUAL", "BTC-27DEC24"],
    );
    assert_eq!(
        targets,
        vec![
            "/api/v2/public/get_instruments?currency=BTC&kind=future".to_string(),
            "/api/v2/public/get_instruments?currency=ETH&kind=future".to_string(),
        ]
    );
    assert_eq!(
        request_targets(VenueId::BinanceUsdm, "/", &[]),
        vec!["/fapi/v1/exchangeInfo".to_string()]
    );
}

/// Serves `pages` in order to successive plain-HTTP connections; returns the base URL and the
/// request lines seen.
fn serve(pages: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for page in pages {
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&head).to_string();
            requests.push(text.lines().next().unwrap_or("").to_string());
            let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{page}", page.len());
            conn.write_all(reply.as_bytes()).unwrap();
        }
        requests
    });
    (url, handle)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let std::task::Poll::Ready(out) = crate::ws::poll_once(future.as_mut()) {
            return out;
        }
        assert!(std::time::Instant::now() < deadline, "fetch did not finish");
        std::thread::yield_now();
    }
}

#[test]
fn fetch_follows_bybit_cursor_and_names_missing_symbols() {
    let first = BYBIT.replacen(r#""nextPageCursor":"""#, r#""nextPageCursor":"page2""#, 1);
    let second = BYBIT.replace("BTCUSDT", "ETHUSDT").replace(r#""BTCUSD""#, r#""ETHUSD""#);
    let (url, server) = serve(vec![first, second]);
    let specs =
        block_on(fetch_instruments(VenueId::Bybit, &url, None, &["ETHUSDT", "BTCUSDT"])).unwrap();
    assert_eq!(specs[0].symbol.as_str(), "ETHUSDT");
    assert_eq!(specs[1].symbol.as_str(), "BTCUSDT");
    let requests = server.join().unwrap();
    assert_eq!(requests[0], "GET /v5/market/instruments-info?category=linear&limit=1000 HTTP/1.1");
    assert_eq!(
        requests[1],
        "GET /v5/market/instruments-info?category=linear&limit=1000&cursor=page2 HTTP/1.1"
    );

    let (url, server) = serve(vec![BINANCE.to_string()]);
    let err =
        block_on(fetch_instruments(VenueId::BinanceUsdm, &url, None, &["BTCUSDT", "XRPUSDT"]))
            .unwrap_err();
    assert!(
        matches!(&err, InstrumentsError::UnknownSymbols(m) if m == &["XRPUSDT".to_string()]),
        "{err}"
    );
    server.join().unwrap();
}
