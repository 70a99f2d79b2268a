//! RedStone through its oracle gateway: polls
//! `GET …/v2/data-packages/latest-by-data-feeds/{dataServiceId}?dataFeedIds=A,B` (optional
//! `x-api-key`), rebuilds and verifies every package with `hedger_core::oracle::redstone_json`
//! (signatures, allow-list, unique-signer threshold, common timestamp and its tolerance,
//! median), and publishes one price per configured feed (reference `oracles.md` §2.7).

use hedger_core::ids::VenueId;
use hedger_core::msg::{OraclePrice, SourceState};
use hedger_core::oracle::redstone::{FeedId, RedstoneConfig};
use hedger_core::oracle::redstone_json::{aggregate_gateway, parse_gateway_json, GatewayPrices};

use super::config::{OracleAssetConfig, RedstoneSourceConfig};
use super::http::HttpUrl;
use super::session::{HttpSession, Progress};
use super::source::{scale_to_e8, Outbox, SourceCore};
use super::{reason, Secret};

/// The RedStone source.
#[derive(Debug)]
pub struct RedstoneSource {
    /// Health and counters.
    pub core: SourceCore,
    session: HttpSession,
    poll_interval_ms: u64,
    verify: RedstoneConfig,
    /// (feed, decimals, track index).
    feeds: Vec<(FeedId, u32, usize)>,
    path: String,
    api_key: Option<Secret>,
}

impl RedstoneSource {
    /// Builds the source from validated config.
    ///
    /// # Errors
    /// A sentence naming the bad setting.
    pub fn new(
        cfg: &RedstoneSourceConfig,
        assets: &[OracleAssetConfig],
        quarantine_hold_ms: u64,
        now_ms: u64,
    ) -> Result<RedstoneSource, String> {
        let url = HttpUrl::parse(&cfg.url).map_err(|e| format!("oracles.redstone.url: {e}"))?;
        let mut tracked = Vec::new();
        let mut feeds = Vec::new();
        let mut names = Vec::new();
        for (asset, asset_cfg) in assets.iter().enumerate() {
            if let Some(feed) = &asset_cfg.redstone_feed {
                feeds.push((FeedId::from_name(feed), asset_cfg.redstone_decimals, tracked.len()));
                tracked.push((asset as u32, asset_cfg.max_age_ms, asset_cfg.conf_ratio_bps_max));
                names.push(feed.clone());
            }
        }
        names.sort();
        let path = format!(
            "/v2/data-packages/latest-by-data-feeds/{}?dataFeedIds={}",
            cfg.data_service_id,
            names.join(",")
        );
        let tls = url.tls;
        let mut session = HttpSession::new(url, cfg.connect_timeout_ms, cfg.request_timeout_ms);
        if tls {
            let config =
                super::config::client_tls(cfg.ca_cert_file.as_deref(), &cfg.extra_roots_der)
                    .map_err(|e| format!("oracles.redstone.{e}"))?;
            session.set_tls(config);
        }
        Ok(RedstoneSource {
            core: SourceCore::new(VenueId::RedStone, &tracked, quarantine_hold_ms, now_ms),
            session,
            poll_interval_ms: cfg.poll_interval_ms,
            verify: cfg.verify_config()?,
            feeds,
            path,
            api_key: Secret::from_env(cfg.api_key_env.as_deref()),
        })
    }

    /// One step: timers, request when due, read, verify, publish. Returns work done.
    pub fn poll(&mut self, now_ms: u64, out: &mut Outbox) -> usize {
        self.core.check_stale(now_ms, out);
        if !self.session.is_open() {
            if !self.session.due(now_ms) {
                return 0;
            }
            let key = self.api_key.as_ref().map(|key| key.expose().to_owned());
            let mut headers = vec![("Accept", "application/json")];
            if let Some(value) = &key {
                headers.push(("x-api-key", value.as_str()));
            }
            match self.session.open(&self.path, &headers, now_ms) {
                Ok(()) => self.core.stats.connects += 1,
                Err((code, detail)) => self.core.down(code, detail, out),
            }
            return 1;
        }
        match self.session.poll(now_ms) {
            Progress::Waiting => 0,
            Progress::Bytes => 1,
            Progress::Complete => {
                let body = std::mem::take(self.session.body_mut());
                let next_ms = self.session.opened_ms() + self.poll_interval_ms;
                self.session.close(now_ms, next_ms.saturating_sub(now_ms));
                self.verify_body(&String::from_utf8_lossy(&body), now_ms, out);
                1
            }
            Progress::Closed => {
                self.core.down(reason::TRANSPORT, 0, out);
                self.session.close(now_ms, self.poll_interval_ms);
                1
            }
            Progress::Failed(code, detail) => {
                self.core.down(code, detail, out);
                1
            }
        }
    }

    /// Rules 1–2 of the module docs of `gateways::oracle` for one response.
    fn verify_body(&mut self, text: &str, now_ms: u64, out: &mut Outbox) {
        let verified = parse_gateway_json(text)
            .and_then(|groups| aggregate_gateway(&groups, &self.verify, now_ms));
        let prices = match verified {
            Ok(prices) => prices,
            Err(error) if error.is_retryable() => {
                self.core.stats.prices_withheld += 1;
                for track in 0..self.feeds.len() {
                    self.core.set_state(track, SourceState::Stale, reason::STALE_TIMESTAMP, 0, out);
                }
                return;
            }
            Err(error) => {
                self.core.quarantine(reason::of_rule(error.rule()), 0, now_ms, out);
                return;
            }
        };
        self.core.stats.updates_verified += 1;
        for index in 0..self.feeds.len() {
            self.publish_feed(index, &prices, now_ms, out);
        }
    }

    fn publish_feed(
        &mut self,
        index: usize,
        prices: &GatewayPrices,
        now_ms: u64,
        out: &mut Outbox,
    ) {
        let (feed, decimals, track) = self.feeds[index];
        let found = prices
            .groups
            .values()
            .find_map(|group| group.feeds.get(&feed).map(|price| (price, group.timestamp_ms)));
        let Some((price, timestamp_ms)) = found else {
            let below = feed.name().is_some_and(|name| prices.below_threshold.contains_key(name));
            if below {
                self.core.quarantine(reason::VERIFY_THRESHOLD, 0, now_ms, out);
            } else {
                self.core.set_state(track, SourceState::Stale, reason::MISSING_FEED, 0, out);
            }
            return;
        };
        let expo = -(decimals as i32);
        let price_e8 = price
            .value
            .to_u128()
            .and_then(|value| i128::try_from(value).ok())
            .and_then(|value| scale_to_e8(value, expo, false));
        let Some(price_e8) = price_e8 else {
            self.core.quarantine(reason::VERIFY_OTHER, 0, now_ms, out);
            return;
        };
        let (max_age_ms, _) = self.core.limits(track);
        let age_ms = timestamp_ms.abs_diff(now_ms);
        if age_ms > max_age_ms {
            self.core.stats.prices_withheld += 1;
            self.core.set_state(track, SourceState::Stale, reason::STALE_TIMESTAMP, age_ms, out);
            return;
        }
        let signer_count = price.signers.len() as u64;
        let msg = OraclePrice { price_e8, conf_e8: 0, publish_time_ms: timestamp_ms, signer_count };
        self.core.publish(track, msg, now_ms, out);
    }
}
