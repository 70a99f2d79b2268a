//! Oracle gateways: Pyth (Hermes REST poll or SSE stream) and RedStone (oracle gateway JSON),
//! verified with `hedger_core::oracle` and published as fixed-size messages to the hot thread.
//!
//! ```text
//! Hermes / RedStone gateway --HTTP--> [oracle thread: OracleGateway agent] --oracle->hot--> hot
//!                                      verify, scale to 1e8, staleness,     OraclePrice | GatewayStatus
//!                                      quarantine
//! ```
//!
//! Messages: `venue` = `pyth` or `redstone`, `instrument` = the asset's index in `[oracles] assets`.
//! `OraclePrice` carries price and confidence on the common 1e8 scale, the publish time and the
//! signer count. `GatewayStatus` reports every state change of an asset's source with one of the
//! reason codes below and the number of times that reason occurred.
//!
//! Source rules (each is counted; the status goes out on the first update that breaks it):
//! 1. A response that fails verification (JSON, encoding, signature, quorum, signer order,
//!    Merkle proof, `parsed` mismatch, unknown signer set, RedStone threshold) is forged or broken:
//!    every asset of the source is `Quarantined` for at least `quarantine_hold_ms`, and no price
//!    from it is published until a fully verified update arrives after the hold.
//! 2. A verified price whose publish time is further than the asset's `max_age_ms` from now
//!    (absolute difference), or whose confidence exceeds `conf_ratio_bps_max`, is not published;
//!    the asset goes `Stale`.
//! 3. No fresh price for `max_age_ms` (a stalled stream or a frozen server) makes the asset
//!    `Stale`.
//! 4. Transport failures (connect, HTTP status, timeouts) make the assets `Down` and back off
//!    (100 ms doubling to 5 s); a server closing the SSE stream (after its `error` event) is
//!    reconnected at once and only counted.
//!
//! Threading: the agent never blocks longer than a connect timeout (loopback: immediate) and a
//! request write; reads are non-blocking. It allocates (JSON parsing, verification): it runs on
//! the oracle thread, never on the hot thread.

pub mod agent;
pub mod config;
pub mod hermes;
pub mod http;
pub mod redstone;
pub mod session;
pub mod source;

pub use agent::OracleGateway;
pub use config::OraclesConfig;

/// Reason codes of oracle `GatewayStatus` messages (below 100; the hot thread uses 100+).
pub mod reason {
    /// TCP connect failed. State `Down`.
    pub const CONNECT: u32 = 1;
    /// HTTP status other than 200 (detail = status). State `Down`.
    pub const HTTP_STATUS: u32 = 2;
    /// I/O error, malformed HTTP, oversize or timed-out response. State `Down`.
    pub const TRANSPORT: u32 = 3;
    /// TLS handshake or certificate failure (untrusted or wrong name). State `Down`.
    pub const TLS: u32 = 4;
    /// No fresh price within `max_age_ms`. State `Stale`.
    pub const NO_FRESH_UPDATE: u32 = 10;
    /// Verified price with a publish time too far from now. State `Stale`.
    pub const STALE_TIMESTAMP: u32 = 11;
    /// Verified price with too wide a confidence. State `Stale`.
    pub const CONFIDENCE: u32 = 12;
    /// A configured feed is missing from a verified response. State `Stale`.
    pub const MISSING_FEED: u32 = 13;
    /// Verification failed (rule below). State `Quarantined`.
    pub const VERIFY_OTHER: u32 = 20;
    pub const VERIFY_JSON: u32 = 21;
    pub const VERIFY_SIGNATURE: u32 = 22;
    pub const VERIFY_QUORUM: u32 = 23;
    pub const VERIFY_MERKLE: u32 = 24;
    pub const VERIFY_SIGNER_SET: u32 = 25;
    pub const VERIFY_PARSED_MISMATCH: u32 = 26;
    pub const VERIFY_THRESHOLD: u32 = 27;
    pub const VERIFY_FORMAT: u32 = 28;
    /// A verified update again after a quarantine or an outage. State `Up`.
    pub const RECOVERED: u32 = 0;

    /// The reason code of a verification rule name (`rule()` of the core error enums).
    pub fn of_rule(rule: &str) -> u32 {
        match rule {
            "json" | "encoding" | "no_updates" | "value" => VERIFY_JSON,
            "signature" | "signer_mismatch" | "high_s" | "signature_v" => VERIFY_SIGNATURE,
            "quorum" => VERIFY_QUORUM,
            "merkle" => VERIFY_MERKLE,
            "guardian_set" | "signer_index" | "signer_order" | "emitter" => VERIFY_SIGNER_SET,
            "parsed_mismatch" => VERIFY_PARSED_MISMATCH,
            "threshold" | "duplicate_signer" => VERIFY_THRESHOLD,
            "magic" | "major_version" | "proof_type" | "trailing_bytes" | "payload_magic"
            | "payload_type" | "message_type" | "message_length" | "truncated" | "marker"
            | "value_size" | "payload_remainder" | "timestamp_mismatch" | "no_packages" => {
                VERIFY_FORMAT
            }
            _ => VERIFY_OTHER,
        }
    }

    /// A short name for logs and tools.
    pub fn name(code: u32) -> &'static str {
        match code {
            RECOVERED => "recovered",
            CONNECT => "connect",
            HTTP_STATUS => "http_status",
            TRANSPORT => "transport",
            TLS => "tls",
            NO_FRESH_UPDATE => "no_fresh_update",
            STALE_TIMESTAMP => "stale_timestamp",
            CONFIDENCE => "confidence",
            MISSING_FEED => "missing_feed",
            VERIFY_JSON => "verify_json",
            VERIFY_SIGNATURE => "verify_signature",
            VERIFY_QUORUM => "verify_quorum",
            VERIFY_MERKLE => "verify_merkle",
            VERIFY_SIGNER_SET => "verify_signer_set",
            VERIFY_PARSED_MISMATCH => "verify_parsed_mismatch",
            VERIFY_THRESHOLD => "verify_threshold",
            VERIFY_FORMAT => "verify_format",
            VERIFY_OTHER => "verify_other",
            _ => "unknown",
        }
    }
}

/// An API key read from the environment at start-up; never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The value of environment variable `name`, if set and non-empty.
    pub fn from_env(name: Option<&str>) -> Option<Secret> {
        let value = std::env::var(name?).ok()?;
        (!value.is_empty()).then_some(Secret(value))
    }

    /// The key, for the one header that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
