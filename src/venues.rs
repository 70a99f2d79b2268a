//! Venue gateways in the pipeline: config, embedded simulators, and the gateway agents that run
//! on the `feed` thread beside the synthetic source (several venues share one gateway thread).
//!
//! The embedded default (`[venues] embedded_sim = true`) starts the Binance simulator in-process
//! on a loopback port with a fresh self-signed certificate and points the gateway at it over TLS,
//! so `hedger run` needs nothing outside the process. With `embedded_sim = false` the gateway
//! connects to the configured URLs (the real venue, or a `hedger sim` started elsewhere).

use std::sync::Arc;

use anyhow::Context;
use hedger_core::ids::InstrumentId;
use hedger_core::msg::Msg;
use hedger_gateways::binance::session::{BinanceGateway, BinanceSessionConfig};
use hedger_gateways::ws::Endpoint;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::TelemetryFile;
use hedger_ipc::{ring, RingConsumer};
use hedger_tools::venue_sim::binance::{BinanceSim, BinanceSimConfig};
use serde::Deserialize;

/// First instrument id given to venue symbols (ids below are the synthetic source's).
pub const VENUE_INSTRUMENT_BASE: u32 = 16;

/// `[venues]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuesConfig {
    /// Start the venue simulators in-process and connect the gateways to them.
    #[serde(default)]
    pub embedded_sim: bool,
    /// `[venues.binance_usdm]`; absent = no Binance gateway.
    #[serde(default)]
    pub binance_usdm: Option<BinanceVenueConfig>,
}

/// `[venues.binance_usdm]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceVenueConfig {
    /// Upper-case symbols, e.g. `["BTCUSDT", "ETHUSDT"]`; instrument ids follow in order from
    /// [`VENUE_INSTRUMENT_BASE`].
    pub symbols: Vec<String>,
    /// Websocket base (ignored with `embedded_sim`), e.g. `wss://fstream.binance.com`.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// REST base (ignored with `embedded_sim`), e.g. `https://fapi.binance.com`.
    #[serde(default)]
    pub rest_url: Option<String>,
}

impl VenuesConfig {
    /// Every problem, as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(b) = &self.binance_usdm {
            if b.symbols.is_empty() {
                problems.push("venues.binance_usdm.symbols is empty".to_string());
            }
            if b.symbols.len() > 32 {
                problems.push(format!(
                    "venues.binance_usdm.symbols has {} symbols; at most 32",
                    b.symbols.len()
                ));
            }
            if !self.embedded_sim {
                for (key, url) in [("ws_url", &b.ws_url), ("rest_url", &b.rest_url)] {
                    match url {
                        None => problems.push(format!(
                            "venues.binance_usdm.{key} is required without embedded_sim"
                        )),
                        Some(url) if Endpoint::parse(url).is_err() => problems.push(format!(
                            "venues.binance_usdm.{key} {url:?} is not a ws(s)/http(s) URL"
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
        problems
    }
}

/// What [`start`] built: gateway agents for the feed thread, their rings for the hot thread, and
/// the embedded simulators (kept alive as long as this value).
pub struct Venues {
    pub agents: Vec<Box<dyn Agent>>,
    pub rings: Vec<RingConsumer<Msg>>,
    pub sims: Vec<BinanceSim>,
    /// Every venue symbol with its instrument id (the hot side maps them to oracle assets).
    pub instruments: Vec<(String, InstrumentId)>,
}

/// Builds the configured gateways (and simulators).
///
/// # Errors
/// A simulator that cannot bind, a ring without a telemetry slot, a bad URL.
pub fn start(
    cfg: &VenuesConfig,
    telemetry: &Arc<TelemetryFile>,
    ring_capacity: usize,
) -> anyhow::Result<Venues> {
    let mut venues =
        Venues { agents: Vec::new(), rings: Vec::new(), sims: Vec::new(), instruments: Vec::new() };
    let Some(binance) = &cfg.binance_usdm else { return Ok(venues) };
    let symbols: Vec<(String, InstrumentId)> = binance
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_uppercase(), InstrumentId(VENUE_INSTRUMENT_BASE + i as u32)))
        .collect();
    venues.instruments.extend(symbols.iter().cloned());
    let mut session = if cfg.embedded_sim {
        let sim_cfg = BinanceSimConfig {
            symbols: symbols.iter().map(|(s, _)| s.clone()).collect(),
            ..BinanceSimConfig::default()
        };
        let sim = BinanceSim::start(sim_cfg).context("starting the embedded Binance simulator")?;
        let mut session = BinanceSessionConfig::new(&sim.ws_url(), &sim.rest_url(), symbols);
        session.tls_roots_der = vec![sim.cert_der.clone()];
        tracing::info!(ws = %sim.ws_url(), "embedded Binance simulator");
        venues.sims.push(sim);
        session
    } else {
        let ws = binance.ws_url.as_deref().context("venues.binance_usdm.ws_url")?;
        let rest = binance.rest_url.as_deref().context("venues.binance_usdm.rest_url")?;
        BinanceSessionConfig::new(ws, rest, symbols)
    };
    session.backoff_ms_min = 100;
    let (tx, rx) = ring::<Msg>(telemetry, "binance->hot", ring_capacity.max(1024))?;
    let gateway = BinanceGateway::new(session, tx, hedger_ipc::clock::unix_ns())
        .context("building the Binance gateway")?;
    venues.agents.push(Box::new(gateway));
    venues.rings.push(rx);
    Ok(venues)
}
