//! Pyth through Hermes: REST polls of `/v2/updates/price/latest` or the SSE stream
//! `/v2/updates/price/stream`, each body verified with `hedger_core::oracle::hermes` (PNAU,
//! VAA signatures against the configured signer set, Merkle proofs, `parsed` cross-check).
//!
//! Session procedure (Hermes `api/rest/v2/sse.rs`, reference `oracles.md` §1.2, read 2026-11-24):
//! 1. Connect, `GET …/stream?ids[]=…&encoding=hex&parsed=true`, optional
//!    `Authorization: Bearer <key>` from the configured environment variable.
//! 2. Each `data:` event is one Hermes JSON body; verify it, publish its prices.
//! 3. `:` comments are keep-alives (counted); nothing for `idle_timeout_ms` → reconnect.
//! 4. An `error` event or the server closing the stream (it does after 24 h) → reconnect at once.

use hedger_core::ids::VenueId;
use hedger_core::msg::{OraclePrice, SourceState};
use hedger_core::oracle::hermes::{parse_sse, verify_hermes_json};
use hedger_core::oracle::pyth::{check_confidence, PriceMessage};
use hedger_core::oracle::wormhole::SignerSet;

use super::config::{HermesMode, OracleAssetConfig, PythConfig};
use super::http::HttpUrl;
use super::session::{HttpSession, Progress};
use super::source::{scale_to_e8, Outbox, SourceCore};
use super::{reason, Secret};

/// Longest SSE event accepted before the stream is treated as broken.
const EVENT_BYTES_MAX: usize = 1024 * 1024;

/// The Pyth source.
#[derive(Debug)]
pub struct HermesSource {
    /// Health and counters.
    pub core: SourceCore,
    session: HttpSession,
    mode: HermesMode,
    poll_interval_ms: u64,
    signers: SignerSet,
    /// (feed id, track index).
    feeds: Vec<([u8; 32], usize)>,
    query: String,
    api_key: Option<Secret>,
}

impl HermesSource {
    /// Builds the source from validated config; `assets` are all `[oracles] assets`.
    ///
    /// # Errors
    /// A sentence naming the bad setting.
    pub fn new(
        cfg: &PythConfig,
        assets: &[OracleAssetConfig],
        quarantine_hold_ms: u64,
        now_ms: u64,
    ) -> Result<HermesSource, String> {
        let url = HttpUrl::parse(&cfg.url).map_err(|e| format!("oracles.pyth.url: {e}"))?;
        let mut tracked = Vec::new();
        let mut feeds = Vec::new();
        for (asset, asset_cfg) in assets.iter().enumerate() {
            if let Some(feed_id) = asset_cfg.pyth_feed_bytes() {
                feeds.push((feed_id, tracked.len()));
                tracked.push((asset as u32, asset_cfg.max_age_ms, asset_cfg.conf_ratio_bps_max));
            }
        }
        let ids: Vec<String> =
            feeds.iter().map(|(id, _)| format!("ids[]={}", hex_of(id))).collect();
        let tls = url.tls;
        let mut session = HttpSession::new(url, cfg.connect_timeout_ms, cfg.request_timeout_ms);
        if tls {
            let config =
                super::config::client_tls(cfg.ca_cert_file.as_deref(), &cfg.extra_roots_der)
                    .map_err(|e| format!("oracles.pyth.{e}"))?;
            session.set_tls(config);
        }
        if cfg.mode == HermesMode::Stream {
            session.set_idle_timeout_ms(cfg.idle_timeout_ms);
        }
        Ok(HermesSource {
            core: SourceCore::new(VenueId::Pyth, &tracked, quarantine_hold_ms, now_ms),
            session,
            mode: cfg.mode,
            poll_interval_ms: cfg.poll_interval_ms,
            signers: cfg.signer_set()?,
            feeds,
            query: format!("?{}&encoding=hex&parsed=true", ids.join("&")),
            api_key: Secret::from_env(cfg.api_key_env.as_deref()),
        })
    }

    /// One step: timers, connect when due, read, verify, publish. Returns work done.
    pub fn poll(&mut self, now_ms: u64, out: &mut Outbox) -> usize {
        self.core.check_stale(now_ms, out);
        if !self.session.is_open() {
            return self.open_if_due(now_ms, out);
        }
        match self.session.poll(now_ms) {
            Progress::Waiting => 0,
            Progress::Bytes if self.mode == HermesMode::Stream => self.drain_events(now_ms, out),
            Progress::Bytes => 1,
            Progress::Complete if self.mode == HermesMode::Poll => {
                let body = std::mem::take(self.session.body_mut());
                let next_ms = self.session.opened_ms() + self.poll_interval_ms;
                self.session.close(now_ms, next_ms.saturating_sub(now_ms));
                self.verify_body(&String::from_utf8_lossy(&body), now_ms, out);
                1
            }
            Progress::Closed if self.mode == HermesMode::Poll => {
                self.core.down(reason::TRANSPORT, 0, out);
                self.session.close(now_ms, self.poll_interval_ms);
                1
            }
            Progress::Complete | Progress::Closed => {
                let work = self.drain_events(now_ms, out);
                self.core.stats.stream_closes += 1;
                self.session.close(now_ms, 0);
                work + 1
            }
            Progress::Failed(code, detail) => {
                self.core.down(code, detail, out);
                1
            }
        }
    }

    fn open_if_due(&mut self, now_ms: u64, out: &mut Outbox) -> usize {
        if !self.session.due(now_ms) {
            return 0;
        }
        let path = match self.mode {
            HermesMode::Stream => "/v2/updates/price/stream",
            HermesMode::Poll => "/v2/updates/price/latest",
        };
        let bearer = self.api_key.as_ref().map(|key| format!("Bearer {}", key.expose()));
        let mut headers = vec![("Accept", "application/json, text/event-stream")];
        if let Some(value) = &bearer {
            headers.push(("Authorization", value.as_str()));
        }
        match self.session.open(&format!("{path}{}", self.query), &headers, now_ms) {
            Ok(()) => self.core.stats.connects += 1,
            Err((code, detail)) => self.core.down(code, detail, out),
        }
        1
    }

    /// SSE: handles every complete event in the body buffer.
    fn drain_events(&mut self, now_ms: u64, out: &mut Outbox) -> usize {
        let mut work = 0;
        loop {
            let body = self.session.body_mut();
            body.retain(|b| *b != b'\r');
            let Some(end) = body.windows(2).position(|w| w == b"\n\n") else {
                if body.len() > EVENT_BYTES_MAX {
                    body.clear();
                    self.core.down(reason::TRANSPORT, EVENT_BYTES_MAX as u64, out);
                    self.session.close(now_ms, 0);
                }
                return work;
            };
            let block: Vec<u8> = body.drain(..end + 2).collect();
            work += 1;
            if !self.on_event_block(&String::from_utf8_lossy(&block), now_ms, out) {
                return work;
            }
        }
    }

    /// Returns false when the stream must be reconnected (an `error` event).
    fn on_event_block(&mut self, block: &str, now_ms: u64, out: &mut Outbox) -> bool {
        let events = parse_sse(block);
        if events.is_empty() {
            self.core.stats.keep_alives += 1;
            return true;
        }
        for event in events {
            if event.event.as_deref() == Some("error") {
                self.core.stats.stream_closes += 1;
                self.session.close(now_ms, 0);
                return false;
            }
            if !event.data.trim().is_empty() {
                self.verify_body(&event.data, now_ms, out);
            }
        }
        true
    }

    /// Verifies one Hermes JSON body and publishes its prices (rule 1 on failure).
    fn verify_body(&mut self, text: &str, now_ms: u64, out: &mut Outbox) {
        let updates = match verify_hermes_json(text, &self.signers) {
            Ok(updates) => updates,
            Err(error) => {
                self.core.quarantine(reason::of_rule(error.rule()), 0, now_ms, out);
                return;
            }
        };
        self.core.stats.updates_verified += 1;
        for update in &updates {
            let signer_count = update.signatures_valid as u64;
            for price in update.prices() {
                self.on_price(price, signer_count, now_ms, out);
            }
        }
    }

    /// Rule 2, scaling, publishing.
    fn on_price(&mut self, price: &PriceMessage, signer_count: u64, now_ms: u64, out: &mut Outbox) {
        let Some(&(_, track)) = self.feeds.iter().find(|(id, _)| *id == price.feed_id) else {
            return;
        };
        let (max_age_ms, conf_ratio_bps_max) = self.core.limits(track);
        let publish_time_ms = u64::try_from(price.publish_time_s).unwrap_or(0).saturating_mul(1000);
        let age_ms = publish_time_ms.abs_diff(now_ms);
        if age_ms > max_age_ms {
            self.core.stats.prices_withheld += 1;
            self.core.set_state(track, SourceState::Stale, reason::STALE_TIMESTAMP, age_ms, out);
            return;
        }
        if check_confidence(price.price, price.conf, conf_ratio_bps_max).is_err() {
            self.core.stats.prices_withheld += 1;
            self.core.set_state(track, SourceState::Stale, reason::CONFIDENCE, price.conf, out);
            return;
        }
        let price_e8 = scale_to_e8(i128::from(price.price), price.exponent, false);
        let conf_e8 = scale_to_e8(i128::from(price.conf), price.exponent, true);
        let (Some(price_e8), Some(conf_e8)) = (price_e8, conf_e8) else {
            self.core.quarantine(reason::VERIFY_OTHER, 0, now_ms, out);
            return;
        };
        let conf_e8 = u64::try_from(conf_e8).unwrap_or(u64::MAX);
        let msg = OraclePrice { price_e8, conf_e8, publish_time_ms, signer_count };
        self.core.publish(track, msg, now_ms, out);
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
