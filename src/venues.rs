//! Venue gateways in the pipeline: config, embedded simulators, and the gateway agents that run
//! on the `feed` thread beside the synthetic source (several venues share one gateway thread).
//!
//! The embedded default (`[venues] embedded_sim = true`) starts each configured venue's simulator
//! in-process on a loopback port with a fresh self-signed certificate and points the gateway at it
//! over TLS, so `hedger run` needs nothing outside the process. With `embedded_sim = false` the
//! gateways connect to the configured URLs (the real venue, or a `hedger sim` started elsewhere).
//! Each venue has its own ring `<venue>->hot` and its own range of instrument ids.

use std::sync::Arc;

use anyhow::Context;
use hedger_core::ids::InstrumentId;
use hedger_core::msg::Msg;
use hedger_gateways::binance::session::{BinanceGateway, BinanceSessionConfig};
use hedger_gateways::venue::publish::SessionStats;
use hedger_gateways::venue::stream_session::StreamSessionConfig;
use hedger_gateways::ws::Endpoint;
use hedger_ipc::runtime::Agent;
use hedger_ipc::telemetry::TelemetryFile;
use hedger_ipc::{ring, RingConsumer};
use hedger_tools::venue_sim::binance::{BinanceSim, BinanceSimConfig};
use hedger_tools::venue_sim::pubsub::{PubSubSim, PubSubSimConfig};
use serde::Deserialize;

/// Symbols per venue at most; each venue owns that many instrument ids.
pub const VENUE_SYMBOLS_MAX: usize = 32;

/// The venues `[venues]` can configure, with their config key, ring name and first instrument
/// id (ids below 16 are the synthetic source's).
pub const VENUES: [(&str, &str, u32); 4] = [
    ("binance_usdm", "binance->hot", 16),
    ("bybit", "bybit->hot", 48),
    ("okx", "okx->hot", 80),
    ("deribit", "deribit->hot", 112),
];

/// `[venues]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuesConfig {
    /// Start the venue simulators in-process and connect the gateways to them.
    #[serde(default)]
    pub embedded_sim: bool,
    /// Extra trusted root certificates (PEM, one or a bundle) for every venue connection, e.g.
    /// the file `hedger sim --cert-out` wrote; ignored with `embedded_sim`.
    #[serde(default)]
    pub ca_cert_file: Option<String>,
    /// `[venues.binance_usdm]`; absent = no Binance gateway.
    #[serde(default)]
    pub binance_usdm: Option<VenueConfig>,
    /// `[venues.bybit]` (v5 linear perpetuals); absent = no Bybit gateway.
    #[serde(default)]
    pub bybit: Option<VenueConfig>,
    /// `[venues.okx]` (v5 SWAP); absent = no OKX gateway.
    #[serde(default)]
    pub okx: Option<VenueConfig>,
    /// `[venues.deribit]` (perpetuals); absent = no Deribit gateway.
    #[serde(default)]
    pub deribit: Option<VenueConfig>,
}

/// `[venues.<venue>]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// The venue's symbols, e.g. `["BTCUSDT", "ETHUSDT"]`, `["BTC-USDT-SWAP"]`,
    /// `["BTC-PERPETUAL"]`; instrument ids follow in order from the venue's base (see
    /// [`VENUES`]).
    pub symbols: Vec<String>,
    /// Websocket base (ignored with `embedded_sim`), e.g. `wss://fstream.binance.com`,
    /// `wss://stream.bybit.com`, `wss://ws.okx.com:8443`, `wss://www.deribit.com`.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// REST base (ignored with `embedded_sim`): snapshots (Binance) and instruments, e.g.
    /// `https://fapi.binance.com`, `https://api.bybit.com`, `https://www.okx.com`,
    /// `https://www.deribit.com/api/v2`.
    #[serde(default)]
    pub rest_url: Option<String>,
}

impl VenuesConfig {
    /// The configured venues as `(config key, ring name, first id, config)`.
    pub fn configured(&self) -> Vec<(&'static str, &'static str, u32, &VenueConfig)> {
        let sections = [&self.binance_usdm, &self.bybit, &self.okx, &self.deribit];
        VENUES
            .iter()
            .zip(sections)
            .filter_map(|(&(key, ring, base), cfg)| cfg.as_ref().map(|c| (key, ring, base, c)))
            .collect()
    }

    /// Every problem, as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, _, _, venue) in self.configured() {
            if venue.symbols.is_empty() {
                problems.push(format!("venues.{key}.symbols is empty"));
            }
            if venue.symbols.len() > VENUE_SYMBOLS_MAX {
                problems.push(format!(
                    "venues.{key}.symbols has {} symbols; at most {VENUE_SYMBOLS_MAX}",
                    venue.symbols.len()
                ));
            }
            if self.embedded_sim {
                continue;
            }
            for (field, url) in [("ws_url", &venue.ws_url), ("rest_url", &venue.rest_url)] {
                match url {
                    None => problems
                        .push(format!("venues.{key}.{field} is required without embedded_sim")),
                    Some(url) if Endpoint::parse(url).is_err() => problems
                        .push(format!("venues.{key}.{field} {url:?} is not a ws(s)/http(s) URL")),
                    Some(_) => {}
                }
            }
        }
        problems
    }
}

/// An embedded venue simulator (stopped when dropped).
pub enum EmbeddedSim {
    Binance(BinanceSim),
    Stream(PubSubSim),
}

/// What [`start`] built: gateway agents for the feed thread, their rings for the hot thread, and
/// the embedded simulators (kept alive as long as this value).
pub struct Venues {
    pub agents: Vec<Box<dyn Agent>>,
    pub rings: Vec<RingConsumer<Msg>>,
    pub sims: Vec<EmbeddedSim>,
    /// Every venue symbol with its instrument id (the hot side maps them to oracle assets).
    pub instruments: Vec<(String, InstrumentId)>,
    /// Each gateway's live counters, by config key (the cold thread logs them).
    pub stats: Vec<(&'static str, Arc<SessionStats>)>,
}

/// Venue symbols as the venue spells them: Binance and Bybit upper-case; OKX and Deribit
/// instrument names are upper-case too.
fn symbol_ids(venue: &VenueConfig, base: u32) -> Vec<(String, InstrumentId)> {
    venue
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_uppercase(), InstrumentId(base + i as u32)))
        .collect()
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
    let mut venues = Venues {
        agents: Vec::new(),
        rings: Vec::new(),
        sims: Vec::new(),
        instruments: Vec::new(),
        stats: Vec::new(),
    };
    let roots = match (&cfg.ca_cert_file, cfg.embedded_sim) {
        (Some(path), false) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("venues.ca_cert_file {path:?}"))?;
            hedger_tools::venue_sim::pem_certificates(&text)
                .map_err(|e| anyhow::anyhow!("venues.ca_cert_file {path:?}: {e}"))?
        }
        _ => Vec::new(),
    };
    for (key, ring_name, base, venue) in cfg.configured() {
        let symbols = symbol_ids(venue, base);
        venues.instruments.extend(symbols.iter().cloned());
        let (tx, rx) = ring::<Msg>(telemetry, ring_name, ring_capacity.max(1024))?;
        let seed = hedger_ipc::clock::unix_ns() ^ u64::from(base);
        let agent: Box<dyn Agent> = if key == "binance_usdm" {
            let gateway = binance(cfg.embedded_sim, venue, symbols, &roots, tx, &mut venues.sims)?;
            venues.stats.push((key, gateway.stats()));
            Box::new(gateway)
        } else {
            let mut session =
                stream_config(key, cfg.embedded_sim, venue, symbols, &mut venues.sims)?;
            if !cfg.embedded_sim {
                session.tls_roots_der = roots.clone();
            }
            let gateway = match key {
                "bybit" => hedger_gateways::bybit::session::bybit_gateway(session, tx, seed),
                "okx" => hedger_gateways::okx::session::okx_gateway(session, tx, seed),
                _ => hedger_gateways::deribit::session::deribit_gateway(session, tx, seed),
            };
            let gateway = gateway.with_context(|| format!("building the {key} gateway"))?;
            venues.stats.push((key, gateway.stats()));
            Box::new(gateway)
        };
        venues.agents.push(agent);
        venues.rings.push(rx);
    }
    Ok(venues)
}

fn binance(
    embedded_sim: bool,
    venue: &VenueConfig,
    symbols: Vec<(String, InstrumentId)>,
    roots: &[Vec<u8>],
    tx: hedger_ipc::RingProducer<Msg>,
    sims: &mut Vec<EmbeddedSim>,
) -> anyhow::Result<BinanceGateway> {
    let mut session = if embedded_sim {
        let sim_cfg = BinanceSimConfig {
            symbols: symbols.iter().map(|(s, _)| s.clone()).collect(),
            ..BinanceSimConfig::default()
        };
        let sim = BinanceSim::start(sim_cfg).context("starting the embedded Binance simulator")?;
        let mut session = BinanceSessionConfig::new(&sim.ws_url(), &sim.rest_url(), symbols);
        session.tls_roots_der = vec![sim.cert_der.clone()];
        tracing::info!(ws = %sim.ws_url(), "embedded Binance simulator");
        sims.push(EmbeddedSim::Binance(sim));
        session
    } else {
        let ws = venue.ws_url.as_deref().context("venues.binance_usdm.ws_url")?;
        let rest = venue.rest_url.as_deref().context("venues.binance_usdm.rest_url")?;
        let mut session = BinanceSessionConfig::new(ws, rest, symbols);
        session.tls_roots_der = roots.to_vec();
        session
    };
    session.backoff_ms_min = 100;
    BinanceGateway::new(session, tx, hedger_ipc::clock::unix_ns())
        .context("building the Binance gateway")
}

/// The session config of a stream venue (Bybit, OKX, Deribit), starting its simulator first
/// with `embedded_sim`.
fn stream_config(
    key: &'static str,
    embedded_sim: bool,
    venue: &VenueConfig,
    symbols: Vec<(String, InstrumentId)>,
    sims: &mut Vec<EmbeddedSim>,
) -> anyhow::Result<StreamSessionConfig> {
    if !embedded_sim {
        let ws = venue.ws_url.as_deref().with_context(|| format!("venues.{key}.ws_url"))?;
        let mut session = StreamSessionConfig::new(ws, symbols);
        session.rest_url = venue.rest_url.clone();
        return Ok(session);
    }
    let names: Vec<&str> = symbols.iter().map(|(s, _)| s.as_str()).collect();
    let mut sim_cfg = PubSubSimConfig::new(&names);
    // One update per symbol every 10 ms, as the Binance simulator's pace.
    sim_cfg.tick_interval_ms = 10;
    let sim = match key {
        "bybit" => hedger_tools::venue_sim::bybit::start(sim_cfg),
        "okx" => hedger_tools::venue_sim::okx::start(sim_cfg, false),
        _ => hedger_tools::venue_sim::deribit::start(sim_cfg, 1_000),
    }
    .with_context(|| format!("starting the embedded {key} simulator"))?;
    let mut session = StreamSessionConfig::new(&sim.ws_url(), symbols);
    session.rest_url = Some(sim.rest_url());
    session.tls_roots_der = vec![sim.cert_der.clone()];
    tracing::info!(venue = key, ws = %sim.ws_url(), "embedded venue simulator");
    sims.push(EmbeddedSim::Stream(sim));
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> VenuesConfig {
        toml::from_str(text).expect("venues section")
    }

    #[test]
    fn four_venues_get_disjoint_instrument_ranges() {
        let cfg = parse(
            r#"embedded_sim = true
            binance_usdm = { symbols = ["BTCUSDT"] }
            bybit = { symbols = ["BTCUSDT", "ETHUSDT"] }
            okx = { symbols = ["BTC-USDT-SWAP"] }
            deribit = { symbols = ["BTC-PERPETUAL"] }"#,
        );
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        let mut ids = Vec::new();
        for (key, ring, base, venue) in cfg.configured() {
            assert_eq!(ring, format!("{}->hot", key.trim_end_matches("_usdm")));
            ids.extend(symbol_ids(venue, base).into_iter().map(|(_, id)| id.0));
        }
        assert_eq!(ids, [16, 48, 49, 80, 112]);
        let last = VENUES[3].2 as usize + VENUE_SYMBOLS_MAX;
        assert!(last <= hedger_gateways::synthetic::INSTRUMENTS_MAX);
    }

    #[test]
    fn every_venue_section_is_checked() {
        let cfg = parse(
            r#"okx = { symbols = ["BTC-USDT-SWAP"], ws_url = "wss://ws.okx.com:8443" }
            deribit = { symbols = [] , ws_url = "ftp://x", rest_url = "https://www.deribit.com/api/v2" }"#,
        );
        let problems = cfg.problems();
        assert!(problems.contains(&"venues.okx.rest_url is required without embedded_sim".into()));
        assert!(problems.contains(&"venues.deribit.symbols is empty".into()));
        assert!(problems.iter().any(|p| p.starts_with("venues.deribit.ws_url \"ftp://x\"")));
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
