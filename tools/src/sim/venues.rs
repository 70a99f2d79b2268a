//! The venue part of `hedger sim`: which venue simulators to start (`--venues`), their ports,
//! and the fault knobs an operator can turn on from the command line (`--venue-fault`).
//!
//! Countdown faults (a gap, a duplicate, a reorder, a bad checksum, a Bybit reset, a
//! disconnect) fire once per `--venue-fault-period-ms`; `stall` stalls the feed for every other
//! period; `drop=PPM` and `latency-us=N` hold for the whole run.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::venue_sim::binance::{BinanceSim, BinanceSimConfig};
use crate::venue_sim::pubsub::{PubSubSim, PubSubSimConfig};
use crate::venue_sim::Faults;

/// Venue names `--venues` accepts (as `hedger replay --venue` spells them).
pub const VENUE_NAMES: [&str; 4] = ["binance-usdm", "bybit", "okx", "deribit"];

/// The symbols each simulator serves (BTC and ETH perpetuals).
pub fn sim_symbols(venue: &str) -> [&'static str; 2] {
    match venue {
        "okx" => ["BTC-USDT-SWAP", "ETH-USDT-SWAP"],
        "deribit" => ["BTC-PERPETUAL", "ETH-PERPETUAL"],
        _ => ["BTCUSDT", "ETHUSDT"],
    }
}

/// One fault from `--venue-fault VENUE:KIND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueFault {
    Gap,
    Duplicate,
    Reorder,
    BadChecksum,
    Reset,
    Disconnect,
    Stall,
    DropPpm(u32),
    LatencyUs(u64),
}

impl VenueFault {
    /// Parses `gap`, `duplicate`, `reorder`, `bad-checksum`, `reset`, `disconnect`, `stall`,
    /// `drop=PPM`, `latency-us=N`.
    pub fn parse(kind: &str) -> Option<VenueFault> {
        if let Some(ppm) = kind.strip_prefix("drop=") {
            return ppm.parse().ok().filter(|p| *p <= 1_000_000).map(VenueFault::DropPpm);
        }
        if let Some(us) = kind.strip_prefix("latency-us=") {
            return us.parse().ok().map(VenueFault::LatencyUs);
        }
        Some(match kind {
            "gap" => VenueFault::Gap,
            "duplicate" => VenueFault::Duplicate,
            "reorder" => VenueFault::Reorder,
            "bad-checksum" => VenueFault::BadChecksum,
            "reset" => VenueFault::Reset,
            "disconnect" => VenueFault::Disconnect,
            "stall" => VenueFault::Stall,
            _ => return None,
        })
    }

    /// Sets a whole-run fault now (drop rate, latency); the periodic ones are left alone.
    pub fn arm(self, faults: &Faults) {
        match self {
            VenueFault::DropPpm(ppm) => faults.drop_ppm.store(ppm, Ordering::Release),
            VenueFault::LatencyUs(us) => faults.latency_us.store(us, Ordering::Release),
            _ => {}
        }
    }

    /// Fires a periodic fault for period number `period`.
    pub fn fire(self, faults: &Faults, period: u64) {
        let once = |counter: &std::sync::atomic::AtomicU32| {
            counter.fetch_add(1, Ordering::AcqRel);
        };
        match self {
            VenueFault::Gap => once(&faults.gap_next),
            VenueFault::Duplicate => once(&faults.duplicate_next),
            VenueFault::Reorder => once(&faults.reorder_next),
            VenueFault::BadChecksum => once(&faults.bad_checksum_next),
            VenueFault::Reset => once(&faults.reset_next),
            VenueFault::Disconnect => {
                faults.disconnect_generation.fetch_add(1, Ordering::AcqRel);
            }
            VenueFault::Stall => faults.stalled.store(period % 2 == 1, Ordering::Release),
            VenueFault::DropPpm(_) | VenueFault::LatencyUs(_) => {}
        }
    }
}

/// The running venue simulators of `hedger sim`.
#[derive(Default)]
pub struct VenueSims {
    pub binance: Option<BinanceSim>,
    pub bybit: Option<PubSubSim>,
    pub okx: Option<PubSubSim>,
    pub deribit: Option<PubSubSim>,
    /// A simulator replaying a recording (`--replay-journal`).
    pub replay: Option<crate::venue_sim::replay::ReplaySim>,
    /// `(venue, fault)` from `--venue-fault`, applied by [`VenueSims::tick`].
    pub faults: Vec<(String, VenueFault)>,
}

/// Settings `hedger sim` passes for the venue simulators.
pub struct VenueSimArgs<'a> {
    pub ip: std::net::IpAddr,
    /// `binance-usdm,bybit,okx,deribit`, `all` or `none`.
    pub list: &'a str,
    pub ports: [u16; 4],
    pub tls: bool,
    pub seed: u64,
    pub okx_checksums: bool,
    /// Binance `depthUpdate` levels per side (0: a quiet market's few).
    pub binance_update_levels: usize,
    /// Binance book depth at start, levels per side.
    pub binance_book_depth: usize,
}

/// Why a venue simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum VenueSimError {
    #[error("--venues: unknown venue {0:?} (binance-usdm, bybit, okx, deribit, all, none)")]
    Unknown(String),
    #[error("--venue-fault {0:?}: expected VENUE:KIND with VENUE binance-usdm|bybit|okx|deribit and KIND gap|duplicate|reorder|bad-checksum|reset|disconnect|stall|drop=PPM|latency-us=N")]
    Fault(String),
    #[error("--replay-journal: {0}")]
    Replay(#[from] crate::venue_sim::replay::ReplaySimError),
    #[error("cannot bind the {venue} simulator: {source}")]
    Bind { venue: &'static str, source: std::io::Error },
}

/// The venues a `--venues` value names, in [`VENUE_NAMES`] order.
///
/// # Errors
/// [`VenueSimError::Unknown`] for a name that is not a venue.
pub fn parse_list(list: &str) -> Result<Vec<&'static str>, VenueSimError> {
    let mut wanted = [false; 4];
    for item in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match item {
            "all" => wanted = [true; 4],
            "none" => {}
            name => match VENUE_NAMES.iter().position(|v| *v == name) {
                Some(i) => wanted[i] = true,
                None => return Err(VenueSimError::Unknown(name.to_owned())),
            },
        }
    }
    Ok(VENUE_NAMES.iter().zip(wanted).filter(|(_, w)| *w).map(|(v, _)| *v).collect())
}

/// Parses every `--venue-fault`.
///
/// # Errors
/// [`VenueSimError::Fault`] naming the first bad one.
pub fn parse_faults(texts: &[String]) -> Result<Vec<(String, VenueFault)>, VenueSimError> {
    texts
        .iter()
        .map(|text| {
            let bad = || VenueSimError::Fault(text.clone());
            let (venue, kind) = text.split_once(':').ok_or_else(bad)?;
            if !VENUE_NAMES.contains(&venue) {
                return Err(bad());
            }
            Ok((venue.to_owned(), VenueFault::parse(kind).ok_or_else(bad)?))
        })
        .collect()
}

fn pubsub_config(args: &VenueSimArgs<'_>, venue: &str, port: u16) -> PubSubSimConfig {
    let mut cfg = PubSubSimConfig::new(&sim_symbols(venue));
    cfg.bind = std::net::SocketAddr::new(args.ip, port);
    cfg.tls = args.tls;
    cfg.seed = args.seed;
    cfg
}

impl VenueSims {
    /// Starts the simulators `args.list` names.
    ///
    /// # Errors
    /// [`VenueSimError`] for an unknown name or a port that cannot be bound.
    pub fn start(args: &VenueSimArgs<'_>) -> Result<VenueSims, VenueSimError> {
        let mut sims = VenueSims::default();
        for venue in parse_list(args.list)? {
            let bind = |venue, source| VenueSimError::Bind { venue, source };
            match venue {
                "binance-usdm" => {
                    let cfg = BinanceSimConfig {
                        bind: std::net::SocketAddr::new(args.ip, args.ports[0]),
                        tls: args.tls,
                        seed: args.seed,
                        update_levels: args.binance_update_levels,
                        book_levels: args.binance_book_depth,
                        ..Default::default()
                    };
                    sims.binance = Some(BinanceSim::start(cfg).map_err(|e| bind(venue, e))?);
                }
                "bybit" => {
                    let cfg = pubsub_config(args, venue, args.ports[1]);
                    let sim = crate::venue_sim::bybit::start(cfg).map_err(|e| bind(venue, e))?;
                    sims.bybit = Some(sim);
                }
                "okx" => {
                    let cfg = pubsub_config(args, venue, args.ports[2]);
                    let sim = crate::venue_sim::okx::start(cfg, args.okx_checksums)
                        .map_err(|e| bind(venue, e))?;
                    sims.okx = Some(sim);
                }
                _ => {
                    let cfg = pubsub_config(args, venue, args.ports[3]);
                    let sim = crate::venue_sim::deribit::start(cfg, 1_000)
                        .map_err(|e| bind("deribit", e))?;
                    sims.deribit = Some(sim);
                }
            }
        }
        Ok(sims)
    }

    /// The fault knobs of `venue`'s simulator, if it runs.
    pub fn faults_of(&self, venue: &str) -> Option<Arc<Faults>> {
        match venue {
            "binance-usdm" => self.binance.as_ref().map(|s| Arc::clone(&s.faults)),
            "bybit" => self.bybit.as_ref().map(|s| Arc::clone(&s.faults)),
            "okx" => self.okx.as_ref().map(|s| Arc::clone(&s.faults)),
            "deribit" => self.deribit.as_ref().map(|s| Arc::clone(&s.faults)),
            _ => None,
        }
    }

    /// Arms the whole-run faults (call once after start).
    pub fn arm(&self) {
        for (venue, fault) in &self.faults {
            if let Some(faults) = self.faults_of(venue) {
                fault.arm(&faults);
            }
        }
    }

    /// Fires the periodic faults for period `period` (1, 2, …).
    pub fn tick(&self, period: u64) {
        for (venue, fault) in &self.faults {
            if let Some(faults) = self.faults_of(venue) {
                fault.fire(&faults, period);
            }
        }
    }

    /// Every running simulator's certificate, as one PEM bundle (for `--ca-cert`).
    pub fn cert_bundle_pem(&self) -> String {
        let mut pems: Vec<&str> = Vec::new();
        if let Some(sim) = &self.binance {
            pems.push(&sim.cert_pem);
        }
        for sim in [&self.bybit, &self.okx, &self.deribit].into_iter().flatten() {
            pems.push(&sim.cert_pem);
        }
        if let Some(sim) = &self.replay {
            pems.push(&sim.cert_pem);
        }
        pems.concat()
    }

    /// The JSON objects `hedger sim` prints per venue: URLs, TLS, symbols (and `replay` for a
    /// recording being served).
    pub fn describe(&self, out: &mut serde_json::Value) {
        if let Some(sim) = &self.replay {
            out["replay"] = serde_json::json!({
                "venue": sim.venue.name(),
                "ws_url": sim.ws_url(),
                "rest_url": sim.rest_url(),
                "tls": sim.tls,
                "symbols": sim.symbols,
                "frames": sim.frames,
            });
        }
        if let Some(sim) = &self.binance {
            out["binance-usdm"] = serde_json::json!({
                "ws_url": sim.ws_url(),
                "rest_url": sim.rest_url(),
                "tls": sim.tls,
                "symbols": sim_symbols("binance-usdm"),
            });
        }
        for (venue, sim) in [("bybit", &self.bybit), ("okx", &self.okx), ("deribit", &self.deribit)]
        {
            if let Some(sim) = sim {
                out[venue] = serde_json::json!({
                    "ws_url": sim.ws_url(),
                    "rest_url": sim.rest_url(),
                    "tls": sim.tls,
                    "symbols": sim_symbols(venue),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_lists() {
        assert_eq!(parse_list("all").unwrap(), VENUE_NAMES.to_vec());
        assert!(parse_list("none").unwrap().is_empty());
        assert_eq!(parse_list("okx, binance-usdm").unwrap(), vec!["binance-usdm", "okx"]);
        assert!(matches!(parse_list("kraken"), Err(VenueSimError::Unknown(v)) if v == "kraken"));
    }

    #[test]
    fn the_binance_simulator_takes_its_book_depth_from_the_args() {
        let args = VenueSimArgs {
            ip: std::net::IpAddr::from([127, 0, 0, 1]),
            list: "binance-usdm",
            ports: [0; 4],
            tls: false,
            seed: 7,
            okx_checksums: false,
            binance_update_levels: 20,
            binance_book_depth: 1_000,
        };
        let sims = VenueSims::start(&args).expect("starts");
        let sim = sims.binance.as_ref().expect("binance runs");
        let (_, bids, asks) = sim.book("BTCUSDT").expect("book");
        assert!(bids.len() >= 990 && asks.len() >= 990, "{} bids, {} asks", bids.len(), asks.len());
    }

    #[test]
    fn venue_faults() {
        let parsed = parse_faults(&["okx:bad-checksum".into(), "bybit:drop=500".into()]).unwrap();
        assert_eq!(parsed[0], ("okx".to_string(), VenueFault::BadChecksum));
        assert_eq!(parsed[1], ("bybit".to_string(), VenueFault::DropPpm(500)));
        for bad in ["okx", "kraken:gap", "okx:explode", "bybit:drop=2000000"] {
            assert!(parse_faults(&[bad.to_string()]).is_err(), "{bad}");
        }
        let faults = Faults::default();
        VenueFault::Gap.fire(&faults, 1);
        VenueFault::Stall.fire(&faults, 1);
        assert_eq!(faults.gap_next.load(Ordering::Acquire), 1);
        assert!(faults.stalled.load(Ordering::Acquire));
        VenueFault::Stall.fire(&faults, 2);
        assert!(!faults.stalled.load(Ordering::Acquire));
    }
}
