//! Each venue's instruments response body, in the real shape (venues.md §1.5, §2.4, §3.5,
//! §4.5), for the simulators' symbols and trading grids.
//!
//! The grids are exported so a simulator quotes on the same tick and lot it advertises, and a
//! gateway that checks levels against the advertised spec sees a consistent venue. Values are
//! the venues' real ones for BTC perps (venues.md; OKX/Deribit values are THIRD-PARTY there);
//! every symbol of a simulator shares its venue's grid.

use hedger_core::fixed::format_decimal;
use hedger_core::ids::VenueId;
use serde_json::{json, Value};

/// One simulated venue's grid, at the wire scale 1e-8, with the decimals the venue writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimGrid {
    pub tick_e8: i64,
    pub lot_e8: i64,
    pub min_qty_e8: i64,
    /// Per contract, in the contract currency (1 base coin for Binance/Bybit linear).
    pub contract_value_e8: i64,
    pub price_decimals: u8,
    pub qty_decimals: u8,
}

/// Binance BTCUSDT: tick 0.1, step 0.001 (the Binance simulator's book).
pub const BINANCE_GRID: SimGrid = SimGrid {
    tick_e8: 10_000_000,
    lot_e8: 100_000,
    min_qty_e8: 100_000,
    contract_value_e8: 100_000_000,
    price_decimals: 1,
    qty_decimals: 3,
};
/// Bybit BTCUSDT (venues.md §2.4 sample): tick 0.10, qtyStep 0.001, minOrderQty 0.001.
pub const BYBIT_GRID: SimGrid = SimGrid {
    tick_e8: 10_000_000,
    lot_e8: 100_000,
    min_qty_e8: 100_000,
    contract_value_e8: 100_000_000,
    price_decimals: 1,
    qty_decimals: 3,
};
/// OKX BTC-USDT-SWAP: tickSz 0.1, lotSz/minSz 0.01 contracts, ctVal 0.01 BTC.
pub const OKX_GRID: SimGrid = SimGrid {
    tick_e8: 10_000_000,
    lot_e8: 1_000_000,
    min_qty_e8: 1_000_000,
    contract_value_e8: 1_000_000,
    price_decimals: 1,
    qty_decimals: 2,
};
/// Deribit BTC-PERPETUAL: tick 0.5, contract_size 10 USD, min_trade_amount 10 (inverse).
pub const DERIBIT_GRID: SimGrid = SimGrid {
    tick_e8: 50_000_000,
    lot_e8: 1_000_000_000,
    min_qty_e8: 1_000_000_000,
    contract_value_e8: 1_000_000_000,
    price_decimals: 1,
    qty_decimals: 0,
};

/// The grid a simulator of `venue` uses.
pub fn grid(venue: VenueId) -> Option<SimGrid> {
    match venue {
        VenueId::BinanceUsdm => Some(BINANCE_GRID),
        VenueId::Bybit => Some(BYBIT_GRID),
        VenueId::Okx => Some(OKX_GRID),
        VenueId::Deribit => Some(DERIBIT_GRID),
        _ => None,
    }
}

fn price(grid: &SimGrid, value_e8: i64) -> String {
    format_decimal(value_e8, 8, grid.price_decimals)
}

fn qty(grid: &SimGrid, value_e8: i64) -> String {
    format_decimal(value_e8, 8, grid.qty_decimals)
}

/// Base coin of a symbol: the first `-` segment (OKX, Deribit) or the part before a USDT/USDC/USD
/// quote suffix (Binance, Bybit).
fn base_coin(symbol: &str) -> &str {
    if let Some((base, _)) = symbol.split_once('-') {
        return base;
    }
    ["USDT", "USDC", "USD"].iter().find_map(|q| symbol.strip_suffix(q)).unwrap_or(symbol)
}

/// `GET /fapi/v1/exchangeInfo`.
pub fn binance_exchange_info(symbols: &[&str]) -> String {
    let g = BINANCE_GRID;
    let list: Vec<Value> = symbols
        .iter()
        .map(|s| {
            json!({
                "symbol": s, "pair": s, "contractType": "PERPETUAL", "deliveryDate": 4_133_404_800_000u64,
                "status": "TRADING", "baseAsset": base_coin(s), "quoteAsset": "USDT", "marginAsset": "USDT",
                "pricePrecision": 2, "quantityPrecision": 3,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": price(&g, g.tick_e8), "maxPrice": "4529764", "tickSize": price(&g, g.tick_e8)},
                    {"filterType": "LOT_SIZE", "minQty": qty(&g, g.min_qty_e8), "maxQty": "1000", "stepSize": qty(&g, g.lot_e8)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": qty(&g, g.min_qty_e8), "maxQty": "120", "stepSize": qty(&g, g.lot_e8)},
                    {"filterType": "MIN_NOTIONAL", "notional": "100"}
                ]
            })
        })
        .collect();
    json!({"timezone": "UTC", "serverTime": 0, "rateLimits": [], "assets": [], "symbols": list})
        .to_string()
}

/// `GET /v5/market/instruments-info?category=linear`: every symbol on one page.
pub fn bybit_instruments_info(symbols: &[&str]) -> String {
    bybit_instruments_info_page(symbols, "")
}

/// One page of `GET /v5/market/instruments-info?category=linear`, with `next_cursor` as its
/// `nextPageCursor` (empty on the last page).
pub fn bybit_instruments_info_page(symbols: &[&str], next_cursor: &str) -> String {
    let g = BYBIT_GRID;
    let list: Vec<Value> = symbols
        .iter()
        .map(|s| {
            json!({
                "symbol": s, "contractType": "LinearPerpetual", "status": "Trading",
                "baseCoin": base_coin(s), "quoteCoin": "USDT", "settleCoin": "USDT",
                "priceScale": g.price_decimals.to_string(),
                "priceFilter": {"minPrice": price(&g, g.tick_e8), "maxPrice": "1999999.8", "tickSize": price(&g, g.tick_e8)},
                "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": qty(&g, g.min_qty_e8),
                                  "qtyStep": qty(&g, g.lot_e8), "maxMktOrderQty": "500.000", "minNotionalValue": "5"},
                "fundingInterval": 480
            })
        })
        .collect();
    json!({"retCode": 0, "retMsg": "OK",
           "result": {"category": "linear", "list": list, "nextPageCursor": next_cursor},
           "retExtInfo": {}, "time": 0})
    .to_string()
}

/// `GET /api/v5/public/instruments?instType=SWAP`.
pub fn okx_instruments(symbols: &[&str]) -> String {
    let g = OKX_GRID;
    let list: Vec<Value> = symbols
        .iter()
        .map(|s| {
            let base = base_coin(s);
            json!({
                "instType": "SWAP", "instId": s, "uly": format!("{base}-USDT"), "instFamily": format!("{base}-USDT"),
                "settleCcy": "USDT", "ctVal": format_decimal(g.contract_value_e8, 8, 2), "ctMult": "1",
                "ctValCcy": base, "ctType": "linear", "tickSz": price(&g, g.tick_e8),
                "lotSz": qty(&g, g.lot_e8), "minSz": qty(&g, g.min_qty_e8), "maxLmtSz": "100000000",
                "lever": "100", "listTime": "1611916828000", "expTime": "", "state": "live", "ruleType": "normal"
            })
        })
        .collect();
    json!({"code": "0", "msg": "", "data": list}).to_string()
}

/// `public/get_instruments?currency=…&kind=future` (JSON numbers, as Deribit sends).
pub fn deribit_get_instruments(symbols: &[&str]) -> String {
    let g = DERIBIT_GRID;
    let list: Vec<Value> = symbols
        .iter()
        .map(|s| {
            json!({
                "instrument_name": s, "kind": "future", "instrument_type": "reversed",
                "settlement_period": "perpetual", "settlement_currency": base_coin(s),
                "base_currency": base_coin(s), "quote_currency": "USD", "counter_currency": "USD",
                "tick_size": g.tick_e8 as f64 / 1e8, "tick_size_steps": [],
                "contract_size": g.contract_value_e8 / 100_000_000,
                "min_trade_amount": g.min_qty_e8 / 100_000_000,
                "maker_commission": 0.0, "taker_commission": 0.0005, "is_active": true
            })
        })
        .collect();
    json!({"jsonrpc": "2.0", "result": list, "usIn": 0, "usOut": 0, "usDiff": 0, "testnet": false})
        .to_string()
}

/// The instruments body of `venue` for `symbols`.
pub fn instruments_body(venue: VenueId, symbols: &[&str]) -> Option<String> {
    match venue {
        VenueId::BinanceUsdm => Some(binance_exchange_info(symbols)),
        VenueId::Bybit => Some(bybit_instruments_info(symbols)),
        VenueId::Okx => Some(okx_instruments(symbols)),
        VenueId::Deribit => Some(deribit_get_instruments(symbols)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedger_core::instrument::{ContractKind, InstrumentStatus, QtyUnit};
    use hedger_gateways::venue::instruments::{parse_instruments, select};

    #[test]
    fn gateway_parses_every_sim_body_back_to_the_sim_grid() {
        let cases: [(VenueId, [&str; 2], ContractKind, QtyUnit); 4] = [
            (VenueId::BinanceUsdm, ["BTCUSDT", "ETHUSDT"], ContractKind::Linear, QtyUnit::Currency),
            (VenueId::Bybit, ["BTCUSDT", "ETHUSDT"], ContractKind::Linear, QtyUnit::Currency),
            (
                VenueId::Okx,
                ["BTC-USDT-SWAP", "ETH-USDT-SWAP"],
                ContractKind::Linear,
                QtyUnit::Contracts,
            ),
            (
                VenueId::Deribit,
                ["BTC-PERPETUAL", "ETH-PERPETUAL"],
                ContractKind::Inverse,
                QtyUnit::Currency,
            ),
        ];
        for (venue, symbols, kind, unit) in cases {
            let body = instruments_body(venue, &symbols).unwrap();
            let specs =
                select(&parse_instruments(venue, body.as_bytes()).unwrap(), &symbols).unwrap();
            let g = grid(venue).unwrap();
            for (spec, symbol) in specs.iter().zip(symbols) {
                assert_eq!(spec.symbol.as_str(), symbol);
                assert_eq!(
                    (spec.tick_size_e8, spec.lot_size_e8, spec.min_qty_e8, spec.contract_value_e8),
                    (g.tick_e8, g.lot_e8, g.min_qty_e8, g.contract_value_e8),
                    "{venue:?}"
                );
                assert_eq!(
                    (spec.kind, spec.qty_unit, spec.status),
                    (kind, unit, InstrumentStatus::Trading)
                );
                let currency = if kind == ContractKind::Inverse { "USD" } else { &symbol[..3] };
                assert_eq!(spec.contract_currency.as_str(), currency, "{venue:?}");
            }
        }
    }

    #[test]
    fn base_coin_of_each_symbol_style() {
        assert_eq!(base_coin("BTCUSDT"), "BTC");
        assert_eq!(base_coin("ETH-USDT-SWAP"), "ETH");
        assert_eq!(base_coin("BTC-PERPETUAL"), "BTC");
        assert_eq!(base_coin("SOLUSDC"), "SOL");
    }
}
