//! The `[oracles]` config section: assets, sources, signer sets and limits.
//!
//! Default: `enabled = false`, so the embedded profiles run without any external service. To
//! use the simulators, run `hedger sim` and copy the addresses and signer keys it prints into a
//! config file's `[oracles]` section (`hedger sim --print-config` prints one ready to paste).

use hedger_core::oracle::redstone::{RedstoneConfig, PRIMARY_PROD_SIGNERS};
use hedger_core::oracle::reference::{AssetLimits, ASSETS_MAX};
use hedger_core::oracle::wormhole::{GuardianSets, SignerSet};
use hedger_core::oracle::EthAddress;
use serde::Deserialize;

use super::http::HttpUrl;

/// `[oracles]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OraclesConfig {
    /// Starts the oracle thread and the `oracle->hot` ring. Default false.
    #[serde(default)]
    pub enabled: bool,
    /// The `hedger` binary starts the Hermes and RedStone simulators in-process and generates
    /// `assets`, `pyth` and `redstone` for them (given values are replaced). Default false.
    #[serde(default)]
    pub embedded_sim: bool,
    /// How long a quarantined source stays quarantined at least.
    #[serde(default = "default_quarantine_hold_ms")]
    pub quarantine_hold_ms: u64,
    /// Assets; the index is the asset id in messages.
    #[serde(default)]
    pub assets: Vec<OracleAssetConfig>,
    #[serde(default)]
    pub pyth: Option<PythConfig>,
    #[serde(default)]
    pub redstone: Option<RedstoneSourceConfig>,
}

impl Default for OraclesConfig {
    fn default() -> Self {
        OraclesConfig {
            enabled: false,
            embedded_sim: false,
            quarantine_hold_ms: default_quarantine_hold_ms(),
            assets: Vec::new(),
            pyth: None,
            redstone: None,
        }
    }
}

fn default_quarantine_hold_ms() -> u64 {
    30_000
}

/// `[[oracles.assets]]`: one asset, its feed in each source and its validation limits.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleAssetConfig {
    /// Display name (`ETH`).
    pub name: String,
    /// Pyth feed id, 32-byte hex (`0x` optional).
    #[serde(default)]
    pub pyth_feed_id: Option<String>,
    /// RedStone feed name (`ETH`, case-sensitive).
    #[serde(default)]
    pub redstone_feed: Option<String>,
    /// Decimals of the RedStone value (8 unless the feed says otherwise).
    #[serde(default = "default_redstone_decimals")]
    pub redstone_decimals: u32,
    #[serde(default = "default_max_age_ms")]
    pub max_age_ms: u64,
    #[serde(default = "default_conf_ratio_bps_max")]
    pub conf_ratio_bps_max: u64,
    #[serde(default = "default_source_deviation_bps_max")]
    pub source_deviation_bps_max: u64,
    #[serde(default = "default_venue_deviation_bps_max")]
    pub venue_deviation_bps_max: u64,
    #[serde(default = "default_venue_conf_multiple")]
    pub venue_conf_multiple: u64,
    #[serde(default = "default_sources_min")]
    pub sources_min: u8,
}

fn default_redstone_decimals() -> u32 {
    8
}
fn default_max_age_ms() -> u64 {
    10_000
}
fn default_conf_ratio_bps_max() -> u64 {
    50
}
fn default_source_deviation_bps_max() -> u64 {
    100
}
fn default_venue_deviation_bps_max() -> u64 {
    50
}
fn default_venue_conf_multiple() -> u64 {
    3
}
fn default_sources_min() -> u8 {
    1
}

impl OracleAssetConfig {
    /// An asset with default limits.
    pub fn new(name: &str) -> OracleAssetConfig {
        OracleAssetConfig {
            name: name.to_owned(),
            pyth_feed_id: None,
            redstone_feed: None,
            redstone_decimals: default_redstone_decimals(),
            max_age_ms: default_max_age_ms(),
            conf_ratio_bps_max: default_conf_ratio_bps_max(),
            source_deviation_bps_max: default_source_deviation_bps_max(),
            venue_deviation_bps_max: default_venue_deviation_bps_max(),
            venue_conf_multiple: default_venue_conf_multiple(),
            sources_min: default_sources_min(),
        }
    }

    /// The hot thread's limits for this asset.
    pub fn limits(&self) -> AssetLimits {
        AssetLimits {
            max_age_ms: self.max_age_ms,
            conf_ratio_bps_max: self.conf_ratio_bps_max,
            source_deviation_bps_max: self.source_deviation_bps_max,
            venue_deviation_bps_max: self.venue_deviation_bps_max,
            venue_conf_multiple: self.venue_conf_multiple,
            sources_min: self.sources_min,
        }
    }

    /// The Pyth feed id bytes, if configured and valid.
    pub fn pyth_feed_bytes(&self) -> Option<[u8; 32]> {
        let text = self.pyth_feed_id.as_deref()?;
        hedger_core::oracle::bytes::decode_hex(text).ok()?.try_into().ok()
    }
}

/// How the Pyth gateway reads Hermes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HermesMode {
    /// SSE `/v2/updates/price/stream`, reconnecting on close or `error` events.
    #[default]
    Stream,
    /// REST `/v2/updates/price/latest` every `poll_interval_ms`.
    Poll,
}

/// `[oracles.pyth]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythConfig {
    /// Hermes base URL, `https://` (public Hermes) or `http://` (`http://127.0.0.1:PORT`); a
    /// path prefix is kept.
    pub url: String,
    #[serde(default)]
    pub mode: HermesMode,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// A shipped Wormhole mainnet guardian set (1..=7) …
    #[serde(default)]
    pub guardian_set: Option<u32>,
    /// … or explicit signer addresses (guardian index order).
    #[serde(default)]
    pub signers: Vec<String>,
    /// With `signers`: the guardian-set index VAAs must carry (any when absent).
    #[serde(default)]
    pub guardian_set_index: Option<u32>,
    /// Valid signatures required (default: floor(2n/3)+1).
    #[serde(default)]
    pub quorum: Option<usize>,
    /// Environment variable holding a Hermes API key (sent as `Authorization: Bearer`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// SSE: reconnect when nothing (not even a keep-alive) arrived for this long.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// PEM file of extra trusted root certificates for `https` (beside the Mozilla roots),
    /// e.g. `hedger sim --oracle-tls --cert-out FILE`.
    #[serde(default)]
    pub ca_cert_file: Option<String>,
    /// Extra trusted roots (DER), set by code (the embedded simulators); not in TOML.
    #[serde(skip)]
    pub extra_roots_der: Vec<Vec<u8>>,
}

/// `[oracles.redstone]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedstoneSourceConfig {
    /// Oracle gateway base URL, `https://` or `http://`.
    pub url: String,
    #[serde(default = "default_data_service_id")]
    pub data_service_id: String,
    /// Authorised signer addresses; the entry `primary-prod` stands for the five on-chain ones.
    pub signers: Vec<String>,
    /// Distinct authorised signers each feed needs.
    #[serde(default = "default_threshold")]
    pub threshold: usize,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Package timestamp tolerance (EVM defaults: 3 min back, 1 min ahead).
    #[serde(default = "default_package_max_age_ms")]
    pub package_max_age_ms: u64,
    #[serde(default = "default_package_max_future_ms")]
    pub package_max_future_ms: u64,
    /// Environment variable holding the gateway API key (sent as `x-api-key`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// As [`PythConfig::ca_cert_file`].
    #[serde(default)]
    pub ca_cert_file: Option<String>,
    /// As [`PythConfig::extra_roots_der`].
    #[serde(skip)]
    pub extra_roots_der: Vec<Vec<u8>>,
}

/// The rustls client config for an `https` source: the Mozilla roots plus `extra_roots_der`
/// plus every certificate in `ca_cert_file`.
///
/// # Errors
/// A sentence naming the file or certificate that could not be used.
pub fn client_tls(
    ca_cert_file: Option<&str>,
    extra_roots_der: &[Vec<u8>],
) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = extra_roots_der.to_vec();
    if let Some(path) = ca_cert_file {
        let pem = std::fs::read(path).map_err(|e| format!("ca_cert_file {path}: {e}"))?;
        let before = roots.len();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_cert_file {path}: {e}"))?;
            roots.push(cert.as_ref().to_vec());
        }
        if roots.len() == before {
            return Err(format!("ca_cert_file {path}: no PEM certificate in it"));
        }
    }
    crate::ws::stream::tls_config(&roots).map_err(|e| e.to_string())
}

fn default_poll_interval_ms() -> u64 {
    1_000
}
fn default_connect_timeout_ms() -> u64 {
    500
}
fn default_request_timeout_ms() -> u64 {
    5_000
}
fn default_idle_timeout_ms() -> u64 {
    15_000
}
fn default_data_service_id() -> String {
    "redstone-primary-prod".to_owned()
}
fn default_threshold() -> usize {
    3
}
fn default_package_max_age_ms() -> u64 {
    hedger_core::oracle::redstone::DEFAULT_MAX_AGE_MS
}
fn default_package_max_future_ms() -> u64 {
    hedger_core::oracle::redstone::DEFAULT_MAX_FUTURE_MS
}

impl PythConfig {
    /// The signer set to verify against.
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn signer_set(&self) -> Result<SignerSet, String> {
        match (self.guardian_set, self.signers.is_empty()) {
            (Some(index), true) => {
                let sets = GuardianSets::mainnet().map_err(|e| e.to_string())?;
                let set = sets.get(index).filter(|_| index > 0).ok_or_else(|| {
                    format!("oracles.pyth.guardian_set {index} is not shipped (1..=7)")
                })?;
                match self.quorum {
                    Some(quorum) => set.with_quorum(quorum).map_err(|e| e.to_string()),
                    None => Ok(set.clone()),
                }
            }
            (None, false) => {
                let addresses = parse_addresses(&self.signers, "oracles.pyth.signers")?;
                SignerSet::new(self.guardian_set_index, addresses, self.quorum)
                    .map_err(|e| format!("oracles.pyth: {e}"))
            }
            _ => Err("oracles.pyth needs exactly one of guardian_set or signers".to_owned()),
        }
    }
}

impl RedstoneSourceConfig {
    /// The core verification config.
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn verify_config(&self) -> Result<RedstoneConfig, String> {
        let mut texts = Vec::new();
        for entry in &self.signers {
            if entry == "primary-prod" {
                texts.extend(PRIMARY_PROD_SIGNERS.iter().map(|s| (*s).to_owned()));
            } else {
                texts.push(entry.clone());
            }
        }
        let config = RedstoneConfig {
            authorised_signers: parse_addresses(&texts, "oracles.redstone.signers")?,
            unique_signers_threshold: self.threshold,
            max_age_ms: self.package_max_age_ms,
            max_future_ms: self.package_max_future_ms,
        };
        config.validate().map_err(|e| format!("oracles.redstone: {e}"))?;
        Ok(config)
    }
}

fn parse_addresses(texts: &[String], field: &str) -> Result<Vec<EthAddress>, String> {
    texts
        .iter()
        .map(|text| text.parse::<EthAddress>().map_err(|e| format!("{field}: {e}")))
        .collect()
}

impl OraclesConfig {
    /// Every problem, each as a sentence (empty when valid or disabled).
    pub fn problems(&self) -> Vec<String> {
        if !self.enabled || self.embedded_sim {
            // Embedded: the binary generates (and then checks) the sources at start-up.
            return Vec::new();
        }
        let mut problems = Vec::new();
        if self.assets.is_empty() || self.assets.len() > ASSETS_MAX {
            problems.push(format!(
                "oracles.assets must list 1..={ASSETS_MAX} assets, got {}",
                self.assets.len()
            ));
        }
        for (index, asset) in self.assets.iter().enumerate() {
            problems.extend(asset_problems(index, asset));
        }
        if self.pyth.is_none() && self.redstone.is_none() {
            problems.push("oracles.enabled needs [oracles.pyth] or [oracles.redstone]".to_owned());
        }
        if let Some(pyth) = &self.pyth {
            problems.extend(self.pyth_problems(pyth));
        }
        if let Some(redstone) = &self.redstone {
            problems.extend(self.redstone_problems(redstone));
        }
        problems
    }

    fn pyth_problems(&self, pyth: &PythConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = HttpUrl::parse(&pyth.url) {
            problems.push(format!("oracles.pyth.url: {e}"));
        }
        if let Err(e) = client_tls(pyth.ca_cert_file.as_deref(), &pyth.extra_roots_der) {
            problems.push(format!("oracles.pyth.{e}"));
        }
        if let Err(e) = pyth.signer_set() {
            problems.push(e);
        }
        if !self.assets.iter().any(|a| a.pyth_feed_id.is_some()) {
            problems.push("oracles.pyth is configured but no asset has a pyth_feed_id".to_owned());
        }
        problems.extend(timing_problems(
            "oracles.pyth",
            pyth.poll_interval_ms,
            pyth.connect_timeout_ms,
            pyth.request_timeout_ms,
        ));
        if pyth.idle_timeout_ms == 0 {
            problems.push("oracles.pyth.idle_timeout_ms must be > 0".to_owned());
        }
        problems
    }

    fn redstone_problems(&self, redstone: &RedstoneSourceConfig) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = HttpUrl::parse(&redstone.url) {
            problems.push(format!("oracles.redstone.url: {e}"));
        }
        if let Err(e) = client_tls(redstone.ca_cert_file.as_deref(), &redstone.extra_roots_der) {
            problems.push(format!("oracles.redstone.{e}"));
        }
        if let Err(e) = redstone.verify_config() {
            problems.push(e);
        }
        if !self.assets.iter().any(|a| a.redstone_feed.is_some()) {
            problems
                .push("oracles.redstone is configured but no asset has a redstone_feed".to_owned());
        }
        let id_ok = !redstone.data_service_id.is_empty()
            && redstone.data_service_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            problems.push("oracles.redstone.data_service_id must be [A-Za-z0-9-]+".to_owned());
        }
        problems.extend(timing_problems(
            "oracles.redstone",
            redstone.poll_interval_ms,
            redstone.connect_timeout_ms,
            redstone.request_timeout_ms,
        ));
        problems
    }
}

fn asset_problems(index: usize, asset: &OracleAssetConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let at = format!("oracles.assets[{index}] ({})", asset.name);
    if asset.pyth_feed_id.is_none() && asset.redstone_feed.is_none() {
        problems.push(format!("{at}: needs pyth_feed_id or redstone_feed"));
    }
    if asset.pyth_feed_id.is_some() && asset.pyth_feed_bytes().is_none() {
        problems.push(format!("{at}: pyth_feed_id must be 32 bytes of hex"));
    }
    if let Some(feed) = &asset.redstone_feed {
        if feed.is_empty() || !feed.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            problems.push(format!("{at}: redstone_feed must be printable, without commas"));
        }
    }
    if asset.redstone_decimals > 18 {
        problems.push(format!("{at}: redstone_decimals must be 0..=18"));
    }
    if asset.max_age_ms == 0 || asset.conf_ratio_bps_max == 0 || asset.sources_min == 0 {
        problems.push(format!("{at}: max_age_ms, conf_ratio_bps_max and sources_min must be > 0"));
    }
    if usize::from(asset.sources_min) > hedger_core::oracle::reference::SOURCES_MAX {
        problems.push(format!("{at}: sources_min must be at most 3"));
    }
    problems
}

fn timing_problems(at: &str, poll_ms: u64, connect_ms: u64, request_ms: u64) -> Vec<String> {
    let mut problems = Vec::new();
    if poll_ms == 0 || connect_ms == 0 || request_ms == 0 {
        problems.push(format!(
            "{at}: poll_interval_ms, connect_timeout_ms and request_timeout_ms must be > 0"
        ));
    }
    if connect_ms > 5_000 {
        problems.push(format!("{at}.connect_timeout_ms must be <= 5000 (it blocks the thread)"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: &str = "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";

    fn parse(value: serde_json::Value) -> OraclesConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn disabled_by_default_and_then_valid_without_sources() {
        let cfg = parse(serde_json::json!({}));
        assert!(!cfg.enabled);
        assert!(cfg.problems().is_empty());
    }

    #[test]
    fn a_full_config_is_valid() {
        let cfg = parse(serde_json::json!({
            "enabled": true,
            "assets": [{ "name": "ETH", "pyth_feed_id": ETH, "redstone_feed": "ETH" }],
            "pyth": { "url": "http://127.0.0.1:1", "guardian_set": 4 },
            "redstone": { "url": "http://127.0.0.1:2", "signers": ["primary-prod"] },
        }));
        assert_eq!(cfg.problems(), Vec::<String>::new());
        assert_eq!(cfg.pyth.unwrap().signer_set().unwrap().quorum, 13);
        assert_eq!(cfg.redstone.unwrap().verify_config().unwrap().authorised_signers.len(), 5);
    }

    #[test]
    fn every_problem_is_reported() {
        let cfg = parse(serde_json::json!({
            "enabled": true,
            "assets": [{ "name": "X", "pyth_feed_id": "abcd", "sources_min": 0 }],
            "pyth": { "url": "ftp://hermes.pyth.network", "guardian_set": 9,
                      "poll_interval_ms": 0, "ca_cert_file": "/nonexistent/ca.pem" },
            "redstone": { "url": "http://127.0.0.1:2", "signers": ["0x12"], "threshold": 3 },
        }));
        let text = cfg.problems().join("\n");
        for needle in [
            "pyth_feed_id must be 32 bytes",
            "sources_min",
            "scheme must be http:// or https://",
            "ca_cert_file /nonexistent/ca.pem",
            "guardian_set 9",
            "poll_interval_ms",
            "not a 20-byte hex address",
            "no asset has a redstone_feed",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        let unknown = serde_json::json!({ "enabled": true, "bogus": 1 });
        assert!(serde_json::from_value::<OraclesConfig>(unknown).is_err());
    }
}
