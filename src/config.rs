//! The application config: thread placement, ring sizes and the synthetic source.
//!
//! Two profiles are embedded (`compact`, `colocated`); `--config FILE` reads the same TOML shape.
//! Unknown fields are errors, and [`AppConfig::validate`] reports every problem at once.

use std::path::Path;

use hedger_gateways::synthetic::SyntheticConfig;
use hedger_ipc::runtime::{ConfigError, RuntimeConfig, ThreadConfig};
use serde::Deserialize;

/// Threads of the foundation pipeline, in start order.
pub const PIPELINE_THREADS: [&str; 3] = ["feed", "hot", "cold"];
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

    /// The thread placement part.
    pub fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig { threads: self.threads.clone() }
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
        let warnings = match self.runtime().validate(&PIPELINE_THREADS, cores) {
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
}
