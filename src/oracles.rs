//! Embedded oracle simulators: with `[oracles] embedded_sim = true` (the default profiles)
//! `hedger run` starts the Hermes and RedStone simulators in-process on ephemeral loopback ports
//! and generates the `[oracles]` sources and assets that trust their test signers, exactly the
//! section `hedger sim --oracle-tls --print-config` prints, over TLS (https, a fresh self-signed
//! certificate trusted only by this process). Same seed as the embedded chain's aggregators, so
//! Pyth, RedStone and Chainlink quote one market.

use anyhow::Context;
use hedger_gateways::oracle::OraclesConfig;
use hedger_tools::sim::{RunningSims, SimArgs};

/// The effective oracle config and the simulators it points at (stopped when dropped).
pub struct EmbeddedOracles {
    pub config: OraclesConfig,
    pub sims: Option<RunningSims>,
}

/// `cfg` as given, or, with `embedded_sim`, the generated config plus the running simulators.
/// `quarantine_hold_ms` and `enabled` are kept from `cfg`.
///
/// # Errors
/// A simulator that cannot bind, or a generated config that does not validate.
pub fn prepare(cfg: &OraclesConfig, seed: u64) -> anyhow::Result<EmbeddedOracles> {
    if !cfg.enabled || !cfg.embedded_sim {
        return Ok(EmbeddedOracles { config: cfg.clone(), sims: None });
    }
    let args = SimArgs {
        oracles: "pyth,redstone".to_owned(),
        venues: "none".to_owned(),
        oracle_tls: true,
        seed,
        ..SimArgs::default()
    };
    let sims =
        hedger_tools::sim::start(&args).context("starting the embedded oracle simulators")?;
    #[derive(serde::Deserialize)]
    struct Section {
        oracles: OraclesConfig,
    }
    let text = sims.oracles_toml();
    let section: Section = toml::from_str(&text).context("generated [oracles] section")?;
    let mut config = OraclesConfig {
        enabled: true,
        embedded_sim: true,
        quarantine_hold_ms: cfg.quarantine_hold_ms,
        ..section.oracles
    };
    // Served over TLS with a fresh self-signed certificate, trusted here and nowhere else.
    let cert_der = sims.oracle_cert.as_ref().map(|c| c.cert_der.clone()).into_iter().collect();
    if let Some(pyth) = config.pyth.as_mut() {
        pyth.extra_roots_der = Vec::clone(&cert_der);
    }
    if let Some(redstone) = config.redstone.as_mut() {
        redstone.extra_roots_der = cert_der;
    }
    let problems = OraclesConfig { embedded_sim: false, ..config.clone() }.problems();
    anyhow::ensure!(problems.is_empty(), "generated oracle config: {}", problems.join("; "));
    tracing::info!(sims = %sims.describe(), "embedded oracle simulators");
    Ok(EmbeddedOracles { config, sims: Some(sims) })
}
