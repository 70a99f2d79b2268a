//! Instrument metadata from the four venues' instruments endpoints (venues.md §1.5, §2.4, §3.5,
//! §4.5) into [`InstrumentSpec`]s at the wire scale 1e-8.
//!
//! A cold path, run once per connection before any book is synced: serde_json is fine here.
//! Decimal strings are parsed exactly ([`parse_decimal`]); Deribit's JSON numbers are written
//! back in their shortest round-trip form and parsed exactly, as its wire parser does (see
//! `deribit::wire`): every value Deribit writes has far fewer than 15 significant digits.
//!
//! Every spec is [`InstrumentSpec::validate`]d, so a zero tick or a bad step list never reaches a
//! session. [`fetch_instruments`] returns exactly the requested symbols, or an error naming the
//! ones the venue did not list.

use std::sync::Arc;

use hedger_core::fixed::parse_decimal;
use hedger_core::ids::VenueId;
use hedger_core::instrument::{
    ContractKind, Currency, InstrumentError, InstrumentSpec, InstrumentStatus, InstrumentSymbol,
    QtyUnit, TickStep, SPEC_SCALE, TICK_STEPS_MAX,
};
use serde_json::Value;

use crate::ws::http::http_get;
use crate::ws::{with_timeout, Endpoint, TransportError};

/// Largest instruments body accepted (Bybit pages of 1000 linear symbols are ~1.5 MB).
pub const INSTRUMENTS_BODY_BYTES_MAX: usize = 16 << 20;
/// Bybit pages followed at most (`nextPageCursor`); > 500 linear symbols exist (venues.md §2.4).
pub const BYBIT_PAGES_MAX: usize = 10;
/// Timeout of one instruments request.
pub const FETCH_TIMEOUT_MS: u64 = 10_000;

/// Why instrument metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentsError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("venue answered with an error: {0}")]
    Venue(String),
    #[error("{symbol}: missing field {field}")]
    MissingField { symbol: String, field: &'static str },
    #[error("{symbol}: field {field} is not an exact decimal: {text:?}")]
    BadDecimal { symbol: String, field: &'static str, text: String },
    #[error("{symbol}: {source}")]
    BadSpec { symbol: String, source: InstrumentError },
    #[error("symbol or currency too long: {0:?}")]
    TooLong(String),
    #[error("venue does not list: {}", .0.join(","))]
    UnknownSymbols(Vec<String>),
    #[error("no instruments endpoint for venue {0}")]
    UnsupportedVenue(&'static str),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl InstrumentsError {
    /// A stable rule name for JSON error output and counters.
    pub fn rule(&self) -> &'static str {
        match self {
            InstrumentsError::Json(_) => "json",
            InstrumentsError::Venue(_) => "venue_error",
            InstrumentsError::MissingField { .. } => "missing_field",
            InstrumentsError::BadDecimal { .. } => "bad_decimal",
            InstrumentsError::BadSpec { source, .. } => match source {
                InstrumentError::TickNotPositive(_) => "tick_not_positive",
                InstrumentError::LotNotPositive(_) => "lot_not_positive",
                InstrumentError::ContractValueNotPositive(_) => "contract_value_not_positive",
                _ => "bad_spec",
            },
            InstrumentsError::TooLong(_) => "too_long",
            InstrumentsError::UnknownSymbols(_) => "unknown_symbol",
            InstrumentsError::UnsupportedVenue(_) => "unsupported_venue",
            InstrumentsError::Transport(_) => "transport",
        }
    }
}

/// The fields one spec is built from, gathered per venue.
struct Draft<'a> {
    symbol: &'a str,
    tick: i64,
    lot: i64,
    min_qty: i64,
    contract_value: i64,
    currency: &'a str,
    kind: ContractKind,
    qty_unit: QtyUnit,
    trading: bool,
    steps: Vec<TickStep>,
}

impl Draft<'_> {
    fn build(self, venue: VenueId) -> Result<InstrumentSpec, InstrumentsError> {
        let symbol = InstrumentSymbol::new(self.symbol)
            .ok_or_else(|| InstrumentsError::TooLong(self.symbol.to_string()))?;
        let contract_currency = Currency::new(self.currency)
            .ok_or_else(|| InstrumentsError::TooLong(self.currency.to_string()))?;
        let bad_spec =
            |source| InstrumentsError::BadSpec { symbol: self.symbol.to_string(), source };
        if self.steps.len() > TICK_STEPS_MAX {
            return Err(bad_spec(InstrumentError::BadTickSteps));
        }
        let mut tick_steps = [TickStep::default(); TICK_STEPS_MAX];
        tick_steps[..self.steps.len()].copy_from_slice(&self.steps);
        let spec = InstrumentSpec {
            venue,
            symbol,
            tick_size_e8: self.tick,
            lot_size_e8: self.lot,
            min_qty_e8: self.min_qty,
            contract_value_e8: self.contract_value,
            contract_currency,
            kind: self.kind,
            qty_unit: self.qty_unit,
            status: if self.trading { InstrumentStatus::Trading } else { InstrumentStatus::Halted },
            tick_steps,
            tick_steps_len: self.steps.len() as u8,
        };
        spec.validate().map_err(bad_spec)?;
        Ok(spec)
    }
}

fn field<'v>(
    v: &'v Value,
    symbol: &str,
    name: &'static str,
) -> Result<&'v Value, InstrumentsError> {
    v.get(name)
        .filter(|f| !f.is_null())
        .ok_or_else(|| InstrumentsError::MissingField { symbol: symbol.to_string(), field: name })
}

fn str_of<'v>(v: &'v Value, symbol: &str, name: &'static str) -> Result<&'v str, InstrumentsError> {
    field(v, symbol, name)?
        .as_str()
        .ok_or_else(|| InstrumentsError::MissingField { symbol: symbol.to_string(), field: name })
}

/// An exact decimal from a string field, or from a JSON number via its shortest text.
fn decimal_of(v: &Value, symbol: &str, name: &'static str) -> Result<i64, InstrumentsError> {
    let value = field(v, symbol, name)?;
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.is_finite() => format!("{f}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    };
    parse_decimal(text.as_bytes(), SPEC_SCALE).map_err(|_| InstrumentsError::BadDecimal {
        symbol: symbol.to_string(),
        field: name,
        text,
    })
}

fn json(body: &[u8]) -> Result<Value, InstrumentsError> {
    serde_json::from_slice(body).map_err(|e| InstrumentsError::Json(e.to_string()))
}

fn array<'v>(v: &'v Value, name: &'static str) -> Result<&'v Vec<Value>, InstrumentsError> {
    v.get(name)
        .and_then(Value::as_array)
        .ok_or(InstrumentsError::MissingField { symbol: String::new(), field: name })
}

/// Parses one instruments response body of `venue` into specs (every instrument listed).
///
/// # Errors
/// Invalid JSON, a venue error envelope, a missing/bad field or an invalid spec.
pub fn parse_instruments(
    venue: VenueId,
    body: &[u8],
) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    match venue {
        VenueId::BinanceUsdm => parse_binance(body),
        VenueId::Bybit => parse_bybit_page(body).map(|(specs, _)| specs),
        VenueId::Okx => parse_okx(body),
        VenueId::Deribit => parse_deribit(body),
        other => Err(InstrumentsError::UnsupportedVenue(other.name())),
    }
}

/// Binance `GET /fapi/v1/exchangeInfo` (venues.md §1.5): PRICE_FILTER `tickSize`, LOT_SIZE
/// `stepSize`/`minQty`; USDⓈ-M quantities are base coin, so the contract value is 1 `baseAsset`.
pub fn parse_binance(body: &[u8]) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    let root = json(body)?;
    if let (Some(code), Some(msg)) = (root.get("code"), root.get("msg")) {
        return Err(InstrumentsError::Venue(format!("{code}: {msg}")));
    }
    let mut specs = Vec::new();
    for s in array(&root, "symbols")? {
        let symbol = str_of(s, "", "symbol")?;
        let filters = field(s, symbol, "filters")?.as_array().cloned().unwrap_or_default();
        let filter = |kind: &'static str| {
            filters
                .iter()
                .find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind))
                .ok_or(InstrumentsError::MissingField { symbol: symbol.to_string(), field: kind })
        };
        let price_filter = filter("PRICE_FILTER")?;
        let lot_filter = filter("LOT_SIZE")?;
        specs.push(
            Draft {
                symbol,
                tick: decimal_of(price_filter, symbol, "tickSize")?,
                lot: decimal_of(lot_filter, symbol, "stepSize")?,
                min_qty: decimal_of(lot_filter, symbol, "minQty")?,
                contract_value: 100_000_000,
                // `baseAsset` is documented (§1.5) but the simulator's older body lacked it:
                // fall back to no currency rather than reject (the unit is still base coin).
                currency: s.get("baseAsset").and_then(Value::as_str).unwrap_or(""),
                kind: ContractKind::Linear,
                qty_unit: QtyUnit::Currency,
                trading: str_of(s, symbol, "status")? == "TRADING",
                steps: Vec::new(),
            }
            .build(VenueId::BinanceUsdm)?,
        );
    }
    Ok(specs)
}

/// Bybit `GET /v5/market/instruments-info` (venues.md §2.4), one page: the specs and the
/// `nextPageCursor` (empty on the last page). Linear qty is base coin; inverse qty is USD
/// ("1 contract = 1 USD").
pub fn parse_bybit_page(body: &[u8]) -> Result<(Vec<InstrumentSpec>, String), InstrumentsError> {
    let root = json(body)?;
    let code = root.get("retCode").and_then(Value::as_i64);
    if code != Some(0) {
        let msg = root.get("retMsg").map(Value::to_string).unwrap_or_default();
        return Err(InstrumentsError::Venue(format!("retCode {code:?}: {msg}")));
    }
    let result = root
        .get("result")
        .ok_or(InstrumentsError::MissingField { symbol: String::new(), field: "result" })?;
    let mut specs = Vec::new();
    for s in array(result, "list")? {
        let symbol = str_of(s, "", "symbol")?;
        let price = field(s, symbol, "priceFilter")?;
        let lot = field(s, symbol, "lotSizeFilter")?;
        let contract = str_of(s, symbol, "contractType")?;
        let inverse = contract.starts_with("Inverse");
        specs.push(
            Draft {
                symbol,
                tick: decimal_of(price, symbol, "tickSize")?,
                lot: decimal_of(lot, symbol, "qtyStep")?,
                min_qty: decimal_of(lot, symbol, "minOrderQty")?,
                contract_value: 100_000_000,
                currency: if inverse { "USD" } else { str_of(s, symbol, "baseCoin")? },
                kind: if inverse { ContractKind::Inverse } else { ContractKind::Linear },
                qty_unit: QtyUnit::Currency,
                trading: str_of(s, symbol, "status")? == "Trading",
                steps: Vec::new(),
            }
            .build(VenueId::Bybit)?,
        );
    }
    let cursor = result.get("nextPageCursor").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((specs, cursor))
}

/// OKX `GET /api/v5/public/instruments?instType=SWAP` (venues.md §3.5): `tickSz`, `lotSz` and
/// `minSz` in contracts, contract value `ctVal × ctMult` in `ctValCcy`, `ctType`.
/// `ctMult` absent or empty is taken as 1 (guess: venues.md says "normally `1`").
pub fn parse_okx(body: &[u8]) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    let root = json(body)?;
    let code = root.get("code").and_then(Value::as_str);
    if code != Some("0") {
        let msg = root.get("msg").map(Value::to_string).unwrap_or_default();
        return Err(InstrumentsError::Venue(format!("code {code:?}: {msg}")));
    }
    let mut specs = Vec::new();
    for s in array(&root, "data")? {
        let symbol = str_of(s, "", "instId")?;
        let ct_val = decimal_of(s, symbol, "ctVal")?;
        let ct_mult = match s.get("ctMult").and_then(Value::as_str) {
            None | Some("") => 100_000_000,
            Some(_) => decimal_of(s, symbol, "ctMult")?,
        };
        let contract_value = mul_e8(ct_val, ct_mult).ok_or(InstrumentsError::BadSpec {
            symbol: symbol.to_string(),
            source: InstrumentError::TooPrecise,
        })?;
        let inverse = str_of(s, symbol, "ctType")? == "inverse";
        specs.push(
            Draft {
                symbol,
                tick: decimal_of(s, symbol, "tickSz")?,
                lot: decimal_of(s, symbol, "lotSz")?,
                min_qty: decimal_of(s, symbol, "minSz")?,
                contract_value,
                currency: str_of(s, symbol, "ctValCcy")?,
                kind: if inverse { ContractKind::Inverse } else { ContractKind::Linear },
                qty_unit: QtyUnit::Contracts,
                trading: str_of(s, symbol, "state")? == "live",
                steps: Vec::new(),
            }
            .build(VenueId::Okx)?,
        );
    }
    Ok(specs)
}

/// Exact product of two 1e-8 values, if it has at most 8 decimals and fits.
fn mul_e8(a: i64, b: i64) -> Option<i64> {
    let product = i128::from(a) * i128::from(b);
    let unit = 100_000_000i128;
    (product % unit == 0).then(|| i64::try_from(product / unit).ok()).flatten()
}

/// Deribit `public/get_instruments` (venues.md §4.5): `tick_size`, `tick_size_steps`,
/// `contract_size`, `min_trade_amount`, `instrument_type` (`reversed` = inverse). The book and
/// order `amount` is USD for inverse perps/futures (coin for linear), a multiple of
/// `contract_size` (§4.6), so the lot is `contract_size` and the qty unit is the currency.
/// Inverse currency is `quote_currency` (USD), linear is `base_currency`.
pub fn parse_deribit(body: &[u8]) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    let root = json(body)?;
    if let Some(error) = root.get("error") {
        return Err(InstrumentsError::Venue(error.to_string()));
    }
    let mut specs = Vec::new();
    for s in array(&root, "result")? {
        let symbol = str_of(s, "", "instrument_name")?;
        let inverse = str_of(s, symbol, "instrument_type")? == "reversed";
        let mut steps = Vec::new();
        if let Some(list) = s.get("tick_size_steps").and_then(Value::as_array) {
            for step in list {
                steps.push(TickStep {
                    above_price_e8: decimal_of(step, symbol, "above_price")?,
                    tick_size_e8: decimal_of(step, symbol, "tick_size")?,
                });
            }
        }
        let contract_size = decimal_of(s, symbol, "contract_size")?;
        let currency_field = if inverse { "quote_currency" } else { "base_currency" };
        let is_active = field(s, symbol, "is_active")?.as_bool().unwrap_or(false);
        specs.push(
            Draft {
                symbol,
                tick: decimal_of(s, symbol, "tick_size")?,
                lot: contract_size,
                min_qty: decimal_of(s, symbol, "min_trade_amount")?,
                contract_value: contract_size,
                currency: str_of(s, symbol, currency_field)?,
                kind: if inverse { ContractKind::Inverse } else { ContractKind::Linear },
                qty_unit: QtyUnit::Currency,
                trading: is_active,
                steps,
            }
            .build(VenueId::Deribit)?,
        );
    }
    Ok(specs)
}

/// Keeps the specs of `symbols`, in that order.
///
/// # Errors
/// [`InstrumentsError::UnknownSymbols`] naming every requested symbol the venue did not list.
pub fn select(
    specs: &[InstrumentSpec],
    symbols: &[&str],
) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    let mut missing = Vec::new();
    let mut out = Vec::with_capacity(symbols.len());
    for wanted in symbols {
        match specs.iter().find(|s| s.symbol.as_str() == *wanted) {
            Some(spec) => out.push(*spec),
            None => missing.push((*wanted).to_string()),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(InstrumentsError::UnknownSymbols(missing))
    }
}

/// The request targets (path + query) for `symbols` on `venue`, under the REST base's path
/// (Deribit's base is `…/api/v2`). Deribit needs one request per currency (the symbol prefix).
pub fn request_targets(venue: VenueId, base_path: &str, symbols: &[&str]) -> Vec<String> {
    let base = base_path.trim_end_matches('/');
    match venue {
        VenueId::BinanceUsdm => vec![format!("{base}/fapi/v1/exchangeInfo")],
        VenueId::Bybit => {
            vec![format!("{base}/v5/market/instruments-info?category=linear&limit=1000")]
        }
        VenueId::Okx => vec![format!("{base}/api/v5/public/instruments?instType=SWAP")],
        VenueId::Deribit => {
            let mut currencies: Vec<&str> =
                symbols.iter().map(|s| s.split('-').next().unwrap_or(s)).collect();
            currencies.sort_unstable();
            currencies.dedup();
            currencies
                .iter()
                .map(|c| format!("{base}/public/get_instruments?currency={c}&kind=future"))
                .collect()
        }
        _ => Vec::new(),
    }
}

async fn get(
    base: &Endpoint,
    target: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Vec<u8>, InstrumentsError> {
    let endpoint = base.with_target(target);
    let body = with_timeout(
        &endpoint.authority(),
        FETCH_TIMEOUT_MS,
        http_get(&endpoint, tls, INSTRUMENTS_BODY_BYTES_MAX),
    )
    .await?;
    Ok(body)
}

/// One instruments response body, with the index of its request target in
/// [`request_targets`] (Bybit: one body per page, in page order).
#[derive(Clone, Debug)]
pub struct InstrumentsBody {
    pub target: usize,
    pub body: Vec<u8>,
    /// The specs the body lists (already parsed to follow Bybit's cursor).
    pub specs: Vec<InstrumentSpec>,
}

/// Every instruments body `venue` answers from `rest_url`, following Bybit's `nextPageCursor`
/// for at most [`BYBIT_PAGES_MAX`] pages. The gateway and `hedger record` both read through
/// this, so a recording holds exactly the pages a gateway would have read.
///
/// # Errors
/// Transport failures and parse errors (a body that does not parse is not returned).
pub async fn fetch_instrument_bodies(
    venue: VenueId,
    rest_url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    symbols: &[&str],
) -> Result<Vec<InstrumentsBody>, InstrumentsError> {
    let base = Endpoint::parse(rest_url.trim_end_matches('/'))?;
    let targets = request_targets(venue, &base.target, symbols);
    if targets.is_empty() {
        return Err(InstrumentsError::UnsupportedVenue(venue.name()));
    }
    let mut bodies = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        if venue != VenueId::Bybit {
            let body = get(&base, target, tls).await?;
            let specs = parse_instruments(venue, &body)?;
            bodies.push(InstrumentsBody { target: index, body, specs });
            continue;
        }
        let mut cursor = String::new();
        for _ in 0..BYBIT_PAGES_MAX {
            let page = if cursor.is_empty() {
                target.clone()
            } else {
                format!("{target}&cursor={cursor}")
            };
            let body = get(&base, &page, tls).await?;
            let (specs, next) = parse_bybit_page(&body)?;
            bodies.push(InstrumentsBody { target: index, body, specs });
            if next.is_empty() {
                break;
            }
            cursor = next;
        }
    }
    Ok(bodies)
}

/// Fetches `venue`'s instruments from `rest_url` and returns the specs of `symbols`, in order.
///
/// # Errors
/// Transport failures, parse errors, or [`InstrumentsError::UnknownSymbols`] naming the
/// symbols the venue did not list.
pub async fn fetch_instruments(
    venue: VenueId,
    rest_url: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    symbols: &[&str],
) -> Result<Vec<InstrumentSpec>, InstrumentsError> {
    let bodies = fetch_instrument_bodies(venue, rest_url, tls, symbols).await?;
    let all: Vec<InstrumentSpec> = bodies.into_iter().flat_map(|b| b.specs).collect();
    select(&all, symbols)
}

#[cfg(test)]
mod tests;
