//! The application config: thread placement, ring sizes, the synthetic source and the oracles.
//!
//! Two profiles are embedded (`compact`, `colocated`); `--config FILE` reads the same TOML shape.
//! Unknown fields are errors, and [`AppConfig::validate`] reports every problem at once.
//!
//! Oracles default to off: `[oracles] enabled = false` (also when the section is absent), so
//! `hedger run --profile compact` needs no external service. The profiles still place an
//! `oracle` thread (compact: core 0, `park`, sharing with the feed and cold threads); it is only
//! started, together with the `oracle->hot` ring, when `[oracles] enabled = true`. To run against
//! the simulators: `hedger sim --print-config` prints an `[oracles]` section with their URLs and
//! signer keys; append it to a copy of a profile and start `hedger run --config FILE`.

use std::path::Path;

use hedger_gateways::oracle::OraclesConfig;
use hedger_gateways::synthetic::SyntheticConfig;
use hedger_ipc::runtime::{ConfigError, RuntimeConfig, ThreadConfig};
use serde::Deserialize;

/// Threads of the foundation pipeline, in start order.
pub const PIPELINE_THREADS: [&str; 3] = ["feed", "hot", "cold"];
/// The oracle gateway thread, required and started only when `[oracles] enabled = true`.
pub const ORACLE_THREAD: &str = "oracle";
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
    fn oracles_are_off_by_default_and_their_thread_starts_only_when_enabled() {
        let compact = AppConfig::profile("compact").unwrap();
        assert!(!compact.oracles.enabled);
        assert!(compact.threads.iter().any(|t| t.name == ORACLE_THREAD));
        assert!(compact.runtime().thread(ORACLE_THREAD).is_none());
        let text = include_str!("profiles/compact.toml").replace(
            "[oracles]\nenabled = false",
            "[oracles]\nenabled = true\n[[oracles.assets]]\nname = \"ETH\"\nredstone_feed = \"ETH\"\n\
             [oracles.redstone]\nurl = \"http://127.0.0.1:9\"\nsigners = [\"primary-prod\"]",
        );
        let enabled = AppConfig::parse(&text, "t").unwrap();
        assert!(enabled.oracles.enabled, "{text}");
        assert_eq!(enabled.validate("t", &[0, 1]).unwrap(), Vec::<String>::new());
        assert!(enabled.runtime().thread(ORACLE_THREAD).is_some());
        let no_thread = text.replace("name = \"oracle\"", "name = \"oracl\"");
        let err = AppConfig::parse(&no_thread, "t").unwrap().validate("t", &[0, 1]).unwrap_err();
        assert!(err.to_string().contains("\"oracle\" is missing"), "{err}");
    }
}
