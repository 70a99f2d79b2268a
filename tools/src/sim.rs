//! `hedger sim`: simulators of the external systems, on loopback, until interrupted.
//!
//! Built so far: the oracle simulators (`--oracles pyth,redstone`, both by default): a
//! Hermes-compatible server (REST + SSE, PNAU signed by a test guardian set) and a
//! RedStone-gateway-compatible server (packages signed by test nodes). Keys derive from `--seed`,
//! so the same seed always gives the same signer addresses. On start it prints one JSON line with
//! the bound URLs and the signer sets to trust (`--print-config` adds a ready `[oracles]` TOML
//! section). The venue simulators (`--venues`, all four by default) serve each venue's public
//! protocol (instruments, REST snapshot where the venue has one, websocket streams) on their own
//! ports, over TLS with a generated self-signed certificate unless `--plain`.

pub mod faults;
pub mod hermes;
pub mod http;
pub mod market;
pub mod redstone;
pub mod venues;

use std::sync::Arc;
use std::time::{Duration, Instant};

use faults::Fault;
use hermes::{HermesSim, SIM_GUARDIAN_SET_INDEX, SIM_QUORUM};
use http::HttpServer;
use redstone::{RedstoneSim, SIM_THRESHOLD};

/// Arguments of `hedger sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to bind the simulators to (loopback).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Oracle simulators to run: comma-separated `pyth`, `redstone` (both by default; `none`).
    #[arg(long, default_value = "pyth,redstone")]
    pub oracles: String,
    /// Port of the Hermes simulator (0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub pyth_port: u16,
    /// Port of the RedStone gateway simulator (0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub redstone_port: u16,
    /// Seed of the signer keys and the price path.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// SSE event period of the Hermes simulator.
    #[arg(long, default_value_t = 400)]
    pub interval_ms: u64,
    /// Fault to inject from the start, `SOURCE:KIND` (repeatable): SOURCE `pyth`|`redstone`,
    /// KIND `bad-signature`|`too-few-signers`|`stale-timestamp`|`wrong-proof`|`stall`.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Print `[oracles]` and `[venues]` config sections for these simulators after the JSON line.
    #[arg(long)]
    pub print_config: bool,
    /// Stop by itself after this many seconds.
    #[arg(long)]
    pub duration_s: Option<u64>,
    /// Venue simulators to run: comma-separated `binance-usdm`, `bybit`, `okx`, `deribit`, or
    /// `all` (default) or `none`.
    #[arg(long, default_value = "all")]
    pub venues: String,
    /// Port of the Binance USDⓈ-M simulator (REST and websocket on one port; 0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub binance_port: u16,
    /// Port of the Bybit v5 simulator (REST and websocket; 0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub bybit_port: u16,
    /// Port of the OKX v5 simulator (REST and websocket; 0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub okx_port: u16,
    /// Port of the Deribit simulator (REST under /api/v2 and websocket; 0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub deribit_port: u16,
    /// OKX: send the real CRC32 book checksum instead of 0 (production sends 0).
    #[arg(long)]
    pub okx_checksums: bool,
    /// Binance: levels per side in every `depthUpdate` (20 gives the ~950-byte 20×20 update;
    /// 0 = a few random changes an update, a quiet market).
    #[arg(long, default_value_t = 0)]
    pub binance_update_levels: usize,
    /// Binance: levels per side the book starts with (REST snapshots serve up to their limit).
    #[arg(long, default_value_t = 25)]
    pub binance_book_depth: usize,
    /// Venue fault `VENUE:KIND` (repeatable): KIND `gap`|`duplicate`|`reorder`|`bad-checksum`|
    /// `reset`|`disconnect` fire once per `--venue-fault-period-ms`, `stall` stalls every other
    /// period, `drop=PPM` and `latency-us=N` hold for the whole run.
    #[arg(long = "venue-fault")]
    pub venue_faults: Vec<String>,
    /// Serve a `hedger record` journal directory as the venue it was recorded from (each
    /// websocket connection replays it from the start), besides the `--venues` simulators.
    #[arg(long, requires = "replay_venue")]
    pub replay_journal: Option<std::path::PathBuf>,
    /// The venue of `--replay-journal`.
    #[arg(long, value_enum)]
    pub replay_venue: Option<crate::replay::ReplayVenue>,
    /// Pace of the replay: 1 = as recorded, 10 = ten times faster, 0 = flat out.
    #[arg(long, default_value_t = 1.0)]
    pub replay_speed: f64,
    /// Port of the replay simulator (0 = ephemeral).
    #[arg(long, default_value_t = 0)]
    pub replay_port: u16,
    /// Period of the periodic venue faults.
    #[arg(long, default_value_t = 5_000)]
    pub venue_fault_period_ms: u64,
    /// Serve venues over plain TCP instead of TLS (debugging).
    #[arg(long)]
    pub plain: bool,
    /// Write the venue simulators' self-signed certificates (one PEM bundle) here, for
    /// `--ca-cert`.
    #[arg(long)]
    pub cert_out: Option<std::path::PathBuf>,
    /// Serve the oracle simulators over TLS (https, a generated self-signed certificate).
    #[arg(long)]
    pub oracle_tls: bool,
    /// With `--oracle-tls`: write the oracle simulators' certificate (PEM) here; the printed
    /// config names it as `ca_cert_file`.
    #[arg(long)]
    pub oracle_cert_out: Option<std::path::PathBuf>,
}

impl Default for SimArgs {
    fn default() -> Self {
        SimArgs {
            bind: "127.0.0.1".to_owned(),
            oracles: "pyth,redstone".to_owned(),
            pyth_port: 0,
            redstone_port: 0,
            seed: 7,
            interval_ms: 400,
            faults: Vec::new(),
            print_config: false,
            duration_s: None,
            venues: "all".to_owned(),
            binance_port: 0,
            bybit_port: 0,
            okx_port: 0,
            deribit_port: 0,
            okx_checksums: false,
            binance_update_levels: 0,
            binance_book_depth: 25,
            venue_faults: Vec::new(),
            venue_fault_period_ms: 5_000,
            replay_journal: None,
            replay_venue: None,
            replay_speed: 1.0,
            replay_port: 0,
            plain: false,
            cert_out: None,
            oracle_tls: false,
            oracle_cert_out: None,
        }
    }
}

/// Running simulators; dropping it stops them.
pub struct RunningSims {
    /// The Hermes simulator and its server.
    pub pyth: Option<(Arc<HermesSim>, HttpServer)>,
    /// The RedStone simulator and its server.
    pub redstone: Option<(Arc<RedstoneSim>, HttpServer)>,
    /// The venue simulators.
    pub venues: venues::VenueSims,
    /// The oracle simulators' certificate, with `--oracle-tls`.
    pub oracle_cert: Option<crate::venue_sim::SimCert>,
    /// Where that certificate was written (`--oracle-cert-out`).
    pub oracle_cert_file: Option<std::path::PathBuf>,
}

/// Why the simulators could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("--oracles: unknown component {0:?} (pyth, redstone, none)")]
    Component(String),
    #[error(transparent)]
    Venue(#[from] venues::VenueSimError),
    #[error("--cert-out {path}: {source}")]
    CertOut { path: std::path::PathBuf, source: std::io::Error },
    #[error("--fault {0:?}: expected SOURCE:KIND with SOURCE pyth|redstone and KIND bad-signature|too-few-signers|stale-timestamp|wrong-proof|stall")]
    Fault(String),
    #[error("--bind {0:?}: simulators bind to loopback only")]
    NotLoopback(String),
    #[error("cannot bind {what}: {source}")]
    Bind { what: &'static str, source: std::io::Error },
    #[error("oracle TLS certificate: {0}")]
    Tls(String),
}

fn start_venues(args: &SimArgs, running: &mut RunningSims) -> Result<(), SimError> {
    let ip = if args.bind == "localhost" { "127.0.0.1" } else { args.bind.as_str() };
    let ip: std::net::IpAddr = ip.parse().map_err(|_| SimError::NotLoopback(args.bind.clone()))?;
    let faults = venues::parse_faults(&args.venue_faults)?;
    let venue_args = venues::VenueSimArgs {
        ip,
        list: &args.venues,
        ports: [args.binance_port, args.bybit_port, args.okx_port, args.deribit_port],
        tls: !args.plain,
        seed: args.seed,
        okx_checksums: args.okx_checksums,
        binance_update_levels: args.binance_update_levels,
        binance_book_depth: args.binance_book_depth,
    };
    running.venues = venues::VenueSims::start(&venue_args)?;
    if let (Some(journal), Some(venue)) = (&args.replay_journal, args.replay_venue) {
        let cfg = crate::venue_sim::replay::ReplaySimConfig {
            bind: std::net::SocketAddr::new(ip, args.replay_port),
            tls: !args.plain,
            venue,
            journal: journal.clone(),
            speed: args.replay_speed.max(0.0),
        };
        let sim =
            crate::venue_sim::replay::ReplaySim::start(cfg).map_err(venues::VenueSimError::from)?;
        running.venues.replay = Some(sim);
    }
    running.venues.faults = faults;
    running.venues.arm();
    if let Some(path) = &args.cert_out {
        std::fs::write(path, running.venues.cert_bundle_pem())
            .map_err(|source| SimError::CertOut { path: path.clone(), source })?;
    }
    Ok(())
}

/// Starts the selected simulators.
///
/// # Errors
/// [`SimError`] for a bad flag or a port that cannot be bound.
pub fn start(args: &SimArgs) -> Result<RunningSims, SimError> {
    let loopback = args.bind.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || args.bind == "localhost";
    if !loopback {
        return Err(SimError::NotLoopback(args.bind.clone()));
    }
    let (mut want_pyth, mut want_redstone) = (false, false);
    for component in args.oracles.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        match component {
            "pyth" => want_pyth = true,
            "redstone" => want_redstone = true,
            "none" => {}
            other => return Err(SimError::Component(other.to_owned())),
        }
    }
    let faults = parse_faults(&args.faults)?;
    let mut running = RunningSims {
        pyth: None,
        redstone: None,
        venues: venues::VenueSims::default(),
        oracle_cert: None,
        oracle_cert_file: None,
    };
    start_venues(args, &mut running)?;
    let tls = oracle_tls(args, &mut running)?;
    let serve = |port, handler, what| {
        match &tls {
            Some(config) => HttpServer::start_tls(&args.bind, port, handler, Arc::clone(config)),
            None => HttpServer::start(&args.bind, port, handler),
        }
        .map_err(|source| SimError::Bind { what, source })
    };
    if want_pyth {
        let sim = Arc::new(HermesSim::new(args.seed, market::default_assets(), args.interval_ms));
        apply_faults(&sim.faults, &faults, "pyth");
        let server = serve(args.pyth_port, sim.handler(), "the Hermes simulator")?;
        running.pyth = Some((sim, server));
    }
    if want_redstone {
        let sim = Arc::new(RedstoneSim::new(args.seed, market::default_assets()));
        apply_faults(&sim.faults, &faults, "redstone");
        let server = serve(args.redstone_port, sim.handler(), "the RedStone simulator")?;
        running.redstone = Some((sim, server));
    }
    Ok(running)
}

/// With `--oracle-tls`: a fresh certificate (written to `--oracle-cert-out`) and its server
/// config.
fn oracle_tls(
    args: &SimArgs,
    running: &mut RunningSims,
) -> Result<Option<Arc<rustls::ServerConfig>>, SimError> {
    if !args.oracle_tls {
        return Ok(None);
    }
    let cert = crate::venue_sim::generate_cert().map_err(|e| SimError::Tls(e.to_string()))?;
    let config = http::tls_server_config(&cert).map_err(|e| SimError::Tls(e.to_string()))?;
    if let Some(path) = &args.oracle_cert_out {
        std::fs::write(path, &cert.cert_pem)
            .map_err(|source| SimError::CertOut { path: path.clone(), source })?;
        running.oracle_cert_file = Some(path.clone());
    }
    running.oracle_cert = Some(cert);
    Ok(Some(config))
}

fn parse_faults(texts: &[String]) -> Result<Vec<(String, Fault)>, SimError> {
    texts
        .iter()
        .map(|text| {
            let (source, kind) =
                text.split_once(':').ok_or_else(|| SimError::Fault(text.clone()))?;
            let fault = Fault::parse(kind).ok_or_else(|| SimError::Fault(text.clone()))?;
            if source != "pyth" && source != "redstone" {
                return Err(SimError::Fault(text.clone()));
            }
            Ok((source.to_owned(), fault))
        })
        .collect()
}

fn apply_faults(target: &faults::Faults, faults: &[(String, Fault)], source: &str) {
    for (_, fault) in faults.iter().filter(|(s, _)| s == source) {
        target.set(*fault, true);
    }
}

impl RunningSims {
    /// The JSON line `hedger sim` prints: URLs and the signer sets to trust.
    pub fn describe(&self) -> serde_json::Value {
        let mut out = serde_json::json!({});
        if let Some((sim, server)) = &self.pyth {
            let set = sim.signer_set();
            out["pyth"] = serde_json::json!({
                "url": server.url(),
                "guardian_set_index": SIM_GUARDIAN_SET_INDEX,
                "quorum": SIM_QUORUM,
                "signers": set.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
        }
        self.venues.describe(&mut out);
        if let Some((sim, server)) = &self.redstone {
            out["redstone"] = serde_json::json!({
                "url": server.url(),
                "threshold": SIM_THRESHOLD,
                "signers": sim.signers().iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
        }
        out
    }

    /// A `[venues]` TOML section that points `hedger run` at these venue simulators (trusting
    /// the `--cert-out` bundle when one was written).
    pub fn venues_toml(&self, cert_out: Option<&std::path::Path>) -> String {
        let mut text = String::from("[venues]\nembedded_sim = false\n");
        if let Some(path) = cert_out {
            text.push_str(&format!("ca_cert_file = {:?}\n", path.display().to_string()));
        }
        let described = self.describe();
        for (name, key) in [
            ("binance-usdm", "binance_usdm"),
            ("bybit", "bybit"),
            ("okx", "okx"),
            ("deribit", "deribit"),
        ] {
            let venue = &described[name];
            let (Some(ws), Some(rest)) = (venue["ws_url"].as_str(), venue["rest_url"].as_str())
            else {
                continue;
            };
            text.push_str(&format!(
                "\n[venues.{key}]\nsymbols = {}\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n",
                venue["symbols"]
            ));
        }
        text
    }

    /// An `[oracles]` TOML section that trusts these simulators.
    pub fn oracles_toml(&self) -> String {
        let list = |items: Vec<String>| {
            items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
        };
        let mut text = String::from("[oracles]\nenabled = true\n");
        let ca_line = self
            .oracle_cert_file
            .as_ref()
            .map(|path| format!("ca_cert_file = {:?}\n", path.display().to_string()))
            .unwrap_or_default();
        for asset in market::default_assets() {
            text.push_str(&format!(
                "\n[[oracles.assets]]\nname = \"{}\"\npyth_feed_id = \"{}\"\nredstone_feed = \"{}\"\n",
                asset.name,
                hedger_core::oracle::bytes::encode_hex(&asset.pyth_feed_id),
                asset.name
            ));
        }
        if let Some((sim, server)) = &self.pyth {
            let signers = sim.signer_set().addresses.iter().map(ToString::to_string).collect();
            text.push_str(&format!(
                "\n[oracles.pyth]\nurl = \"{}\"\nmode = \"stream\"\nguardian_set_index = {SIM_GUARDIAN_SET_INDEX}\nquorum = {SIM_QUORUM}\nsigners = [{}]\n{ca_line}",
                server.url(),
                list(signers)
            ));
        }
        if let Some((sim, server)) = &self.redstone {
            let signers = sim.signers().iter().map(ToString::to_string).collect();
            text.push_str(&format!(
                "\n[oracles.redstone]\nurl = \"{}\"\nthreshold = {SIM_THRESHOLD}\nsigners = [{}]\n{ca_line}",
                server.url(),
                list(signers)
            ));
        }
        text
    }
}

/// Runs the simulators until interrupted (or `--duration-s`); returns the exit code.
pub fn run(args: &SimArgs) -> i32 {
    let running = match start(args) {
        Ok(running) => running,
        Err(error) => {
            eprintln!("hedger sim: {error}");
            return 2;
        }
    };
    println!("{}", running.describe());
    if args.print_config {
        println!("{}", running.oracles_toml());
        println!("{}", running.venues_toml(args.cert_out.as_deref()));
    }
    let started = Instant::now();
    let period = Duration::from_millis(args.venue_fault_period_ms.max(1));
    let mut periods = 0u64;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let due = (started.elapsed().as_millis() / period.as_millis()) as u64;
        while periods < due {
            periods += 1;
            running.venues.tick(periods);
        }
        if args.duration_s.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            return 0;
        }
    }
}
