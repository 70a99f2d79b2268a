//! Chainlink transport: `decimals()` and `latestRoundData()` through `eth_call`, judged by
//! `hedger_core::oracle::chainlink` (rules 1–4 there: ABI shape, `answer > 0`, heartbeat age,
//! `answeredInRound >= roundId`), scaled to the common 1e8 scale.
//!
//! Output: an `OraclePrice` (venue `chainlink`, `instrument` = the feed's configured id,
//! `publish_time_ms` = `updatedAt`, `conf_e8` 0 and `signer_count` 0: Chainlink reports neither),
//! or a `GatewayStatus` with one of the [`reason`] codes when a read fails or is rejected.
//! A rejected round is never published. `now_s` is an argument (the caller's clock).

use alloy_primitives::{Address, Bytes};
use alloy_rpc_types_eth::BlockId;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Body, GatewayStatus, Msg, OraclePrice, Origin, SourceState, PRICE_SCALE_E8,
};
use hedger_core::oracle::chainlink::{
    decode_decimals, decode_latest_round_data, validate_round, ChainlinkError, RoundData,
    DECIMALS_SELECTOR, LATEST_ROUND_DATA_SELECTOR,
};
use serde::Deserialize;

use super::error::ChainError;
use super::rpc::ChainRpc;

/// Reason codes of Chainlink `GatewayStatus` messages (30–39; oracle gateways use 0–29).
pub mod reason {
    /// A valid round again after a failure. State `Up`.
    pub const RECOVERED: u32 = 0;
    /// The `eth_call` failed or timed out. State `Down`.
    pub const RPC: u32 = 30;
    /// Return data of the wrong shape (rule 1). State `Quarantined`.
    pub const ABI: u32 = 31;
    /// `answer <= 0` (rule 2). State `Quarantined`.
    pub const ANSWER: u32 = 32;
    /// `updatedAt` outside the heartbeat window (rule 3). State `Stale`.
    pub const HEARTBEAT: u32 = 33;
    /// `answeredInRound < roundId` (rule 4). State `Stale`.
    pub const INCOMPLETE_ROUND: u32 = 34;
    /// The answer does not fit the 1e8 scale in an `i64`. State `Quarantined`.
    pub const SCALE: u32 = 35;
}

/// One Chainlink feed to read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainlinkFeedConfig {
    /// Name for logs (`"ETH/USD"`).
    pub name: String,
    /// The aggregator (or proxy) contract.
    pub aggregator: Address,
    /// `instrument` of the published messages.
    pub instrument: u32,
    /// Heartbeat plus margin: rounds older than this are stale.
    pub max_age_s: u64,
}

/// Why a feed read produced no price.
#[derive(Debug, thiserror::Error)]
pub enum ChainlinkReadError {
    #[error(transparent)]
    Rpc(#[from] ChainError),
    #[error("round rejected: {0}")]
    Invalid(#[from] ChainlinkError),
    #[error("answer {answer} with {decimals} decimals does not fit the 1e8 scale")]
    Scale { answer: i128, decimals: u8 },
}

impl ChainlinkReadError {
    /// The [`reason`] code and source state this failure is reported with.
    pub fn status(&self) -> (u32, SourceState) {
        match self {
            ChainlinkReadError::Rpc(_) => (reason::RPC, SourceState::Down),
            ChainlinkReadError::Scale { .. } => (reason::SCALE, SourceState::Quarantined),
            ChainlinkReadError::Invalid(error) => match error {
                ChainlinkError::Length { .. } | ChainlinkError::WordRange { .. } => {
                    (reason::ABI, SourceState::Quarantined)
                }
                ChainlinkError::NonPositiveAnswer { .. } => {
                    (reason::ANSWER, SourceState::Quarantined)
                }
                ChainlinkError::Stale { .. } => (reason::HEARTBEAT, SourceState::Stale),
                ChainlinkError::IncompleteRound { .. } => {
                    (reason::INCOMPLETE_ROUND, SourceState::Stale)
                }
            },
        }
    }
}

/// A validated round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainlinkReading {
    pub round: RoundData,
    pub decimals: u8,
    pub price_e8: i64,
}

/// Rescales `answer` from `decimals` to 1e8. Scaling down truncates toward zero (answers are
/// positive here, so it floors); scaling up is exact or `None` on overflow.
pub fn scale_to_e8(answer: i128, decimals: u8) -> Option<i64> {
    const E8_DECIMALS: u32 = 8;
    debug_assert_eq!(PRICE_SCALE_E8, 10i64.pow(E8_DECIMALS));
    let decimals = u32::from(decimals);
    let scaled = if decimals >= E8_DECIMALS {
        answer.checked_div(10i128.checked_pow(decimals - E8_DECIMALS)?)?
    } else {
        answer.checked_mul(10i128.checked_pow(E8_DECIMALS - decimals)?)?
    };
    i64::try_from(scaled).ok()
}

/// Reads and validates one feed at the latest block.
///
/// # Errors
/// [`ChainlinkReadError`]: transport, rule violation, or scale overflow.
pub async fn read_feed(
    rpc: &ChainRpc,
    feed: &ChainlinkFeedConfig,
    now_s: u64,
) -> Result<ChainlinkReading, ChainlinkReadError> {
    let at = BlockId::latest();
    let decimals_data =
        rpc.call_raw(feed.aggregator, Bytes::copy_from_slice(&DECIMALS_SELECTOR), at).await?;
    let decimals = decode_decimals(&decimals_data)?;
    let round_selector = Bytes::copy_from_slice(&LATEST_ROUND_DATA_SELECTOR);
    let round_data = rpc.call_raw(feed.aggregator, round_selector, at).await?;
    let round = decode_latest_round_data(&round_data)?;
    validate_round(&round, now_s, feed.max_age_s)?;
    let price_e8 = scale_to_e8(round.answer, decimals)
        .ok_or(ChainlinkReadError::Scale { answer: round.answer, decimals })?;
    Ok(ChainlinkReading { round, decimals, price_e8 })
}

/// The `OraclePrice` message of a reading.
pub fn price_message(feed: &ChainlinkFeedConfig, reading: &ChainlinkReading) -> Msg {
    let mut origin = Origin::new(VenueId::Chainlink, InstrumentId(feed.instrument));
    origin.exchange_ts_ns = reading.round.updated_at_s.saturating_mul(1_000_000_000);
    let body = OraclePrice {
        price_e8: reading.price_e8,
        conf_e8: 0,
        publish_time_ms: reading.round.updated_at_s.saturating_mul(1000),
        signer_count: 0,
    };
    Msg::new(origin, Body::OraclePrice(body))
}

/// The `GatewayStatus` message of a state change; `detail` is the round age in seconds for a
/// heartbeat failure, else 0.
pub fn status_message(
    feed: &ChainlinkFeedConfig,
    state: SourceState,
    reason_code: u32,
    reason_count: u64,
    detail: u64,
) -> Msg {
    let origin = Origin::new(VenueId::Chainlink, InstrumentId(feed.instrument));
    Msg::new(
        origin,
        Body::GatewayStatus(GatewayStatus { state, reason_code, reason_count, detail }),
    )
}

/// The status detail of a failure (age for stale rounds).
pub fn failure_detail(error: &ChainlinkReadError) -> u64 {
    match error {
        ChainlinkReadError::Invalid(ChainlinkError::Stale { age_s, .. }) => {
            u64::try_from(age_s.unsigned_abs()).unwrap_or(u64::MAX)
        }
        _ => 0,
    }
}

/// Health of one feed: publishes a status only when the state or reason changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedHealth {
    pub state: Option<SourceState>,
    pub reason_code: u32,
    /// Failures per reason code index (`code - 30`), for `reason_count`.
    pub failures_by_reason: [u64; 6],
}

impl Default for FeedHealth {
    fn default() -> Self {
        FeedHealth { state: None, reason_code: reason::RECOVERED, failures_by_reason: [0; 6] }
    }
}

impl FeedHealth {
    /// Applies one read result; returns the messages to publish (a price, a status, or both).
    pub fn on_result(
        &mut self,
        feed: &ChainlinkFeedConfig,
        result: &Result<ChainlinkReading, ChainlinkReadError>,
        out: &mut Vec<Msg>,
    ) {
        match result {
            Ok(reading) => {
                if self.state != Some(SourceState::Up) {
                    self.state = Some(SourceState::Up);
                    self.reason_code = reason::RECOVERED;
                    out.push(status_message(feed, SourceState::Up, reason::RECOVERED, 0, 0));
                }
                out.push(price_message(feed, reading));
            }
            Err(error) => {
                let (code, state) = error.status();
                let slot = usize::try_from(code.saturating_sub(reason::RPC)).unwrap_or(0).min(5);
                self.failures_by_reason[slot] += 1;
                if self.state != Some(state) || self.reason_code != code {
                    self.state = Some(state);
                    self.reason_code = code;
                    let count = self.failures_by_reason[slot];
                    out.push(status_message(feed, state, code, count, failure_detail(error)));
                }
            }
        }
    }
}
