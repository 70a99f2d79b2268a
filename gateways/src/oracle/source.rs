//! State shared by every oracle source: per-asset health, the staleness timer, the quarantine
//! hold, counters, and the messages they produce.

use std::collections::VecDeque;

use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, GatewayStatus, Msg, OraclePrice, Origin, SourceState};
use hedger_ipc::clock::now_tsc;

use super::reason;

/// Messages waiting for room in the ring; bounded, overflow counted.
#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<Msg>,
    capacity: usize,
    /// Messages dropped because the outbox was full.
    pub dropped: u64,
}

impl Outbox {
    /// An outbox of `capacity` messages, allocated now.
    pub fn new(capacity: usize) -> Outbox {
        Outbox { queue: VecDeque::with_capacity(capacity), capacity, dropped: 0 }
    }

    /// Queues a message, or counts it dropped when full.
    pub fn push(&mut self, msg: Msg) {
        if self.queue.len() >= self.capacity {
            self.dropped += 1;
            return;
        }
        self.queue.push_back(msg);
    }

    /// The oldest message.
    pub fn front(&self) -> Option<&Msg> {
        self.queue.front()
    }

    /// Removes the oldest message.
    pub fn pop(&mut self) -> Option<Msg> {
        self.queue.pop_front()
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Counters of one source (read by tests and, later, telemetry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Responses or SSE events that verified.
    pub updates_verified: u64,
    /// Responses or events that failed verification (quarantine).
    pub verify_failures: u64,
    /// Prices published.
    pub prices_published: u64,
    /// Verified prices not published (stale, confidence, quarantine hold, out of order).
    pub prices_withheld: u64,
    /// Status messages sent.
    pub statuses: u64,
    /// Transport failures (connect, HTTP, I/O, timeout).
    pub transport_failures: u64,
    /// Connections opened.
    pub connects: u64,
    /// SSE `error` events and server closes of a stream.
    pub stream_closes: u64,
    /// SSE keep-alive comments.
    pub keep_alives: u64,
}

/// One asset as seen by one source.
#[derive(Clone, Copy, Debug)]
struct AssetTrack {
    asset: u32,
    max_age_ms: u64,
    conf_ratio_bps_max: u64,
    state: Option<SourceState>,
    last_publish_ms: u64,
}

/// Health, timers and counters of one source.
#[derive(Debug)]
pub struct SourceCore {
    venue: VenueId,
    tracks: Vec<AssetTrack>,
    started_ms: u64,
    quarantine_hold_ms: u64,
    quarantine_until_ms: u64,
    reason_counts: [u64; 32],
    /// Counters.
    pub stats: SourceStats,
}

impl SourceCore {
    /// A source feeding `assets` (asset id, max age, confidence limit).
    pub fn new(
        venue: VenueId,
        assets: &[(u32, u64, u64)],
        quarantine_hold_ms: u64,
        now_ms: u64,
    ) -> SourceCore {
        let tracks = assets
            .iter()
            .map(|&(asset, max_age_ms, conf_ratio_bps_max)| AssetTrack {
                asset,
                max_age_ms,
                conf_ratio_bps_max,
                state: None,
                last_publish_ms: 0,
            })
            .collect();
        SourceCore {
            venue,
            tracks,
            started_ms: now_ms,
            quarantine_hold_ms,
            quarantine_until_ms: 0,
            reason_counts: [0; 32],
            stats: SourceStats::default(),
        }
    }

    /// Index of the track of asset id `asset`.
    pub fn track_of(&self, asset: u32) -> Option<usize> {
        self.tracks.iter().position(|t| t.asset == asset)
    }

    /// Max age and confidence limit of a track.
    pub fn limits(&self, track: usize) -> (u64, u64) {
        let t = &self.tracks[track];
        (t.max_age_ms, t.conf_ratio_bps_max)
    }

    /// True while a quarantine hold lasts.
    pub fn quarantine_holds(&self, now_ms: u64) -> bool {
        now_ms < self.quarantine_until_ms
    }

    /// Publishes a verified price for track `track` (Up status first on recovery).
    pub fn publish(&mut self, track: usize, price: OraclePrice, now_ms: u64, out: &mut Outbox) {
        if self.quarantine_holds(now_ms)
            || price.publish_time_ms <= self.tracks[track].last_publish_ms
        {
            self.stats.prices_withheld += 1;
            return;
        }
        if self.tracks[track].state != Some(SourceState::Up) {
            self.set_state(track, SourceState::Up, reason::RECOVERED, 0, out);
        }
        self.tracks[track].last_publish_ms = price.publish_time_ms;
        let mut origin = Origin::new(self.venue, InstrumentId(self.tracks[track].asset));
        origin.exchange_ts_ns = price.publish_time_ms.saturating_mul(1_000_000);
        origin.recv_tsc = now_tsc();
        out.push(Msg::new(origin, Body::OraclePrice(price)));
        self.stats.prices_published += 1;
    }

    /// Moves track `track` to `state` and reports it, unless it is already there (a
    /// quarantined track only leaves quarantine through [`SourceCore::publish`]).
    pub fn set_state(
        &mut self,
        track: usize,
        state: SourceState,
        reason_code: u32,
        detail: u64,
        out: &mut Outbox,
    ) {
        if self.changes(track, state) {
            let count = self.bump(reason_code);
            self.emit_state(track, state, reason_code, detail, count, out);
        }
    }

    /// True when moving `track` to `state` is a change that is allowed.
    fn changes(&self, track: usize, state: SourceState) -> bool {
        let current = self.tracks[track].state;
        let sticky = current == Some(SourceState::Quarantined) && state != SourceState::Up;
        current != Some(state) && !(sticky && state != SourceState::Quarantined)
    }

    /// Counts one occurrence of `reason_code`; returns the new count.
    fn bump(&mut self, reason_code: u32) -> u64 {
        let slot = (reason_code as usize).min(self.reason_counts.len() - 1);
        self.reason_counts[slot] += 1;
        self.reason_counts[slot]
    }

    fn emit_state(
        &mut self,
        track: usize,
        state: SourceState,
        reason_code: u32,
        detail: u64,
        reason_count: u64,
        out: &mut Outbox,
    ) {
        self.tracks[track].state = Some(state);
        let status = GatewayStatus { state, reason_code, reason_count, detail };
        let mut origin = Origin::new(self.venue, InstrumentId(self.tracks[track].asset));
        origin.recv_tsc = now_tsc();
        out.push(Msg::new(origin, Body::GatewayStatus(status)));
        self.stats.statuses += 1;
    }

    /// Moves every track to `state` as one occurrence of `reason_code`.
    fn set_all(&mut self, state: SourceState, reason_code: u32, detail: u64, out: &mut Outbox) {
        if !(0..self.tracks.len()).any(|track| self.changes(track, state)) {
            return;
        }
        let count = self.bump(reason_code);
        for track in 0..self.tracks.len() {
            if self.changes(track, state) {
                self.emit_state(track, state, reason_code, detail, count, out);
            }
        }
    }

    /// Rule 1: quarantines every asset of the source and starts the hold.
    pub fn quarantine(&mut self, reason_code: u32, detail: u64, now_ms: u64, out: &mut Outbox) {
        self.stats.verify_failures += 1;
        self.quarantine_until_ms = now_ms.saturating_add(self.quarantine_hold_ms);
        self.set_all(SourceState::Quarantined, reason_code, detail, out);
    }

    /// Rule 4: a transport failure marks every asset `Down`.
    pub fn down(&mut self, reason_code: u32, detail: u64, out: &mut Outbox) {
        self.stats.transport_failures += 1;
        self.set_all(SourceState::Down, reason_code, detail, out);
    }

    /// Rule 3: assets without a fresh price for their max age go `Stale`.
    pub fn check_stale(&mut self, now_ms: u64, out: &mut Outbox) {
        for track in 0..self.tracks.len() {
            let t = self.tracks[track];
            let since_ms = if t.last_publish_ms == 0 { self.started_ms } else { t.last_publish_ms };
            let fresh = now_ms.saturating_sub(since_ms) <= t.max_age_ms;
            let degraded = matches!(t.state, Some(SourceState::Stale | SourceState::Quarantined));
            if !fresh && !degraded {
                let age_ms = now_ms.saturating_sub(since_ms);
                self.set_state(track, SourceState::Stale, reason::NO_FRESH_UPDATE, age_ms, out);
            }
        }
    }

    /// State of the track of asset id `asset`.
    pub fn state_of(&self, asset: u32) -> Option<SourceState> {
        self.track_of(asset).and_then(|track| self.tracks[track].state)
    }
}

/// `value × 10^(expo + 8)`: the common 1e8 scale. Division rounds toward −∞ (`round_up`:
/// toward +∞, for confidences). `None` on overflow.
pub fn scale_to_e8(value: i128, expo: i32, round_up: bool) -> Option<i64> {
    let shift = i64::from(expo) + 8;
    let scaled = if shift >= 0 {
        let factor = 10i128.checked_pow(u32::try_from(shift).ok()?)?;
        value.checked_mul(factor)?
    } else {
        let Some(divisor) = u32::try_from(-shift).ok().and_then(|s| 10i128.checked_pow(s)) else {
            return Some(if round_up && value > 0 { 1 } else { 0 });
        };
        let floor = value.div_euclid(divisor);
        if round_up && value.rem_euclid(divisor) != 0 {
            floor + 1
        } else {
            floor
        }
    };
    i64::try_from(scaled).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_to_e8_rounds_as_documented() {
        assert_eq!(scale_to_e8(123, -8, false), Some(123));
        assert_eq!(scale_to_e8(123, -10, false), Some(1));
        assert_eq!(scale_to_e8(123, -10, true), Some(2));
        assert_eq!(scale_to_e8(-123, -10, false), Some(-2));
        assert_eq!(scale_to_e8(5, -5, false), Some(5_000));
        assert_eq!(scale_to_e8(i128::from(i64::MAX), 0, false), None);
        assert_eq!(scale_to_e8(7, -80, true), Some(1));
    }

    #[test]
    fn states_report_once_and_quarantine_is_sticky_until_a_price() {
        let mut core = SourceCore::new(VenueId::Pyth, &[(0, 1_000, 50), (1, 1_000, 50)], 500, 0);
        let mut out = Outbox::new(16);
        core.quarantine(reason::VERIFY_MERKLE, 0, 10, &mut out);
        core.quarantine(reason::VERIFY_MERKLE, 0, 11, &mut out);
        assert_eq!(out.len(), 2, "one status per asset, once");
        let counts: Vec<u64> = std::iter::from_fn(|| out.pop())
            .map(|msg| match msg.body() {
                Ok(Body::GatewayStatus(status)) => status.reason_count,
                _ => 0,
            })
            .collect();
        assert_eq!(counts, [1, 1], "one occurrence, reported for each asset");
        core.down(reason::CONNECT, 0, &mut out);
        core.check_stale(5_000, &mut out);
        assert_eq!(out.len(), 0, "quarantine is sticky");
        let price = OraclePrice { price_e8: 1, conf_e8: 0, publish_time_ms: 100, signer_count: 3 };
        core.publish(0, price, 100, &mut out);
        assert_eq!((out.len(), core.stats.prices_withheld), (0, 1), "held");
        core.publish(0, price, 600, &mut out);
        assert_eq!(out.len(), 2, "Up status then the price");
        assert_eq!(core.state_of(0), Some(SourceState::Up));
        core.publish(0, price, 700, &mut out);
        assert_eq!(out.len(), 2, "same publish time is not republished");
        core.check_stale(1_101, &mut out);
        assert_eq!(core.state_of(0), Some(SourceState::Stale));
    }

    #[test]
    fn a_full_outbox_counts_drops() {
        let mut out = Outbox::new(1);
        out.push(Msg::EMPTY);
        out.push(Msg::EMPTY);
        assert_eq!((out.len(), out.dropped), (1, 1));
    }
}
