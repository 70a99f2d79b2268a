//! The application config: thread placement, ring sizes, the synthetic source and the oracles.
//!
//! Two profiles are embedded (`compact`, `colocated`); `--config FILE` reads the same TOML shape.
//! Unknown fields are errors, and [`AppConfig::validate`] reports every problem at once.
//!
//! Oracles and the chain default to off when their sections are absent. The embedded profiles
//! turn both on against in-process stand-ins: `[oracles] enabled = true, embedded_sim = true`
//! (Hermes and RedStone simulators, see `crate::oracles`) and `[chain] enabled = true,
//! embedded_node = true` (anvil with the deployment, see `crate::chain`), so
//! `hedger run --profile compact` needs nothing outside the machine but the installed anvil. The
//! `oracle` thread is started, with the `oracle->hot` ring, only when oracles are enabled; the
//! `chain` thread (cold class, see [`CHAIN_THREAD`]) with the `chain->hot` ring only when the
//! chain is. To use external services,
//! set `embedded_sim = false` / `embedded_node = false` and give the sources / `[chain.gateway]`
//! (`hedger sim --print-config` prints an `[oracles]` section for a separate simulator).

use std::path::Path;

use hedger_gateways::oracle::OraclesConfig;
use hedger_gateways::synthetic::SyntheticConfig;
use hedger_ipc::runtime::{ConfigError, RuntimeConfig, ThreadConfig};
use serde::Deserialize;

/// Threads of the foundation pipeline, in start order.
pub const PIPELINE_THREADS: [&str; 3] = ["feed", "hot", "cold"];
/// The oracle gateway thread, required and started only when `[oracles] enabled = true`.
pub const ORACLE_THREAD: &str = "oracle";
/// The chain thread (cold class: the chain gateway and the local node's price driver), required
/// and started only when `[chain] enabled = true`. It is not the `cold` thread because producers
/// into the hot thread must stop before it, and the `cold` thread stops after it.
pub const CHAIN_THREAD: &str = "chain";
/// Largest ring the config may ask for (messages).
pub const RING_CAPACITY_MAX: usize = 1 << 22;

/// Ring sizes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingsConfig {
    /// Capacity of every ring in messages.
    pub capacity: usize,
}

/// The whole config file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Name shown by the inspector.
    pub profile: String,
    pub rings: RingsConfig,
    #[serde(default)]
    pub synthetic: SyntheticConfig,
    /// Venue gateways (and embedded simulators); none by default.
    #[serde(default)]
    pub venues: crate::venues::VenuesConfig,
    /// Oracle sources, assets and limits; disabled by default.
    #[serde(default)]
    pub oracles: OraclesConfig,
    /// The chain gateway (and embedded local node); disabled when absent.
    #[serde(default)]
    pub chain: crate::chain::ChainSection,
    #[serde(rename = "thread")]
    pub threads: Vec<ThreadConfig>,
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config {origin}: {source}")]
    Parse { origin: String, source: toml::de::Error },
    #[error("unknown profile {0:?}: the embedded profiles are `compact` and `colocated`")]
    Profile(String),
    #[error("config {origin}: {source}")]
    Invalid { origin: String, source: ConfigError },
}

impl AppConfig {
    /// An embedded profile by name.
    ///
    /// # Errors
    /// [`LoadError::Profile`] for an unknown name.
    pub fn profile(name: &str) -> Result<AppConfig, LoadError> {
        let text = match name {
            "compact" => include_str!("profiles/compact.toml"),
            "colocated" => include_str!("profiles/colocated.toml"),
            other => return Err(LoadError::Profile(other.to_string())),
        };
        AppConfig::parse(text, &format!("profile {name}"))
    }

    /// Reads a config file.
    ///
    /// # Errors
    /// [`LoadError::Read`] or [`LoadError::Parse`].
    pub fn load(path: &Path) -> Result<AppConfig, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| LoadError::Read { path: path.display().to_string(), source })?;
        AppConfig::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`LoadError::Parse`] with toml's line/column message.
    pub fn parse(text: &str, origin: &str) -> Result<AppConfig, LoadError> {
        toml::from_str(text)
            .map_err(|source| LoadError::Parse { origin: origin.to_string(), source })
    }

    /// The thread placement part: the threads this config starts (the `oracle` thread only when
    /// oracles are enabled).
    pub fn runtime(&self) -> RuntimeConfig {
        let threads = self
            .threads
            .iter()
            .filter(|t| self.oracles.enabled || t.name != ORACLE_THREAD)
            .filter(|t| self.chain.enabled || t.name != CHAIN_THREAD)
            .cloned()
            .collect();
        RuntimeConfig { threads }
    }

    /// The threads that must be configured.
    pub fn required_threads(&self) -> Vec<&'static str> {
        let mut threads = PIPELINE_THREADS.to_vec();
        if self.oracles.enabled {
            threads.push(ORACLE_THREAD);
        }
        if self.chain.enabled {
            threads.push(CHAIN_THREAD);
        }
        threads
    }

    /// Checks everything; returns the warnings (unknown cores, over-subscription).
    ///
    /// # Errors
    /// [`LoadError::Invalid`] listing every problem found.
    pub fn validate(&self, origin: &str, cores: &[usize]) -> Result<Vec<String>, LoadError> {
        let mut problems = Vec::new();
        if self.rings.capacity < 2 || self.rings.capacity > RING_CAPACITY_MAX {
            problems.push(format!(
                "rings.capacity must be 2..={RING_CAPACITY_MAX}, got {}",
                self.rings.capacity
            ));
        }
        problems.extend(self.synthetic.problems());
        problems.extend(self.venues.problems());
        problems.extend(self.oracles.problems());
        problems.extend(self.chain.problems());
        let warnings = match self.runtime().validate(&self.required_threads(), cores) {
            Ok(warnings) => warnings,
            Err(e) => {
                problems.extend(e.problems);
                Vec::new()
            }
        };
        if problems.is_empty() {
            Ok(warnings)
        } else {
            Err(LoadError::Invalid { origin: origin.to_string(), source: ConfigError { problems } })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profiles_are_valid_and_compact_fits_two_cores() {
        let compact = AppConfig::profile("compact").unwrap();
        assert_eq!(compact.validate("compact", &[0, 1]).unwrap(), Vec::<String>::new());
        let colocated = AppConfig::profile("colocated").unwrap();
        let warnings = colocated.validate("colocated", &[0, 1]).unwrap();
        assert!(warnings.iter().any(|w| w.contains("core 2 is not available")), "{warnings:?}");
        assert!(colocated.validate("colocated", &[0, 1, 2, 3]).unwrap().is_empty());
        assert!(matches!(AppConfig::profile("fast"), Err(LoadError::Profile(_))));
    }

    #[test]
    fn every_problem_is_reported_with_its_origin() {
        let text = include_str!("profiles/compact.toml")
            .replace("capacity = 4096", "capacity = 1")
            .replace("ticks_per_s = 50000", "ticks_per_s = 0")
            .replace("name = \"cold\"", "name = \"cool\"");
        let cfg = AppConfig::parse(&text, "test.toml").unwrap();
        let err = cfg.validate("test.toml", &[0, 1]).unwrap_err().to_string();
        for needle in [
            "test.toml",
            "rings.capacity",
            "ticks_per_s",
            "\"cool\" is not part",
            "\"cold\" is missing",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
        let err = AppConfig::parse("profile = 'x'\nrings = { capacity = 8, size = 2 }\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `size`"), "{err}");
    }

    #[test]
    fn optional_sections_are_off_when_absent_and_their_threads_start_only_when_enabled() {
        let compact = AppConfig::profile("compact").unwrap();
        assert!(compact.oracles.enabled && compact.oracles.embedded_sim);
        assert!(compact.chain.enabled && compact.chain.embedded_node);
        assert!(compact.runtime().thread(ORACLE_THREAD).is_some());
        assert!(compact.runtime().thread(CHAIN_THREAD).is_some());
        let text = include_str!("profiles/compact.toml")
            .replace("[oracles]\nenabled = true\nembedded_sim = true\n", "")
            .replace("[chain]\nenabled = true\nembedded_node = true\n", "");
        let bare = AppConfig::parse(&text, "t").unwrap();
        assert!(!bare.oracles.enabled && !bare.chain.enabled, "{text}");
        assert!(bare.runtime().thread(ORACLE_THREAD).is_none());
        assert!(bare.runtime().thread(CHAIN_THREAD).is_none());
        assert_eq!(bare.validate("t", &[0, 1]).unwrap(), Vec::<String>::new());
        let no_thread = include_str!("profiles/compact.toml")
            .replace("name = \"oracle\"", "name = \"oracl\"")
            .replace("name = \"chain\"", "name = \"chainz\"");
        let err = AppConfig::parse(&no_thread, "t").unwrap().validate("t", &[0, 1]).unwrap_err();
        for needle in ["\"oracle\" is missing", "\"chain\" is missing"] {
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn chain_section_problems_are_reported_with_their_keys() {
        let text = include_str!("profiles/compact.toml").replace(
            "[chain]\nenabled = true\nembedded_node = true\n",
            "[chain]\nenabled = true\nembedded_node = false\nblock_time_s = 0\n\
             [chain.gateway]\nrpc_url = \"https://node\"\nconfirmations = 0\n",
        );
        let cfg = AppConfig::parse(&text, "t").unwrap();
        let err = cfg.validate("t", &[0, 1]).unwrap_err().to_string();
        for needle in ["chain.block_time_s", "must be http://", "minting_contract", "confirmations"]
        {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
