//! The foundation pipeline: synthetic feed → hot thread → cold thread, over telemetry-counted
//! rings, on the pinned-thread runtime.
//!
//! ```text
//! [feed: SyntheticFeed] --feed->hot--> [hot: HotAgent] --hot->cold--> [cold: ColdAgent]
//! ```
//!
//! The hot agent drains its input rings in batches, applies each message to the top-of-book
//! table and sends the cold thread binary events (a summary every 16384 messages, a status event
//! per rejected message); it never allocates, logs or blocks. The cold agent turns events into
//! `tracing` logs. Later issues add gateways as more input rings and more cold-side consumers.
//!
//! Oracles (when `[oracles] enabled = true`): the `oracle` thread runs the Pyth/RedStone gateway
//! agent, which pushes verified `OraclePrice` and `GatewayStatus` messages into `oracle->hot`.
//! The hot agent applies them to its [`ReferenceTable`] (reference price per asset, deviation
//! and staleness rules; pricing reads `references().reference(asset, now_ms)`), and forwards
//! every source state change to the cold thread, which logs it with the reason's name.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hedger_core::books::{BookUpdate, HotBooks};
use hedger_core::capacity::{CapacityApplied, CapacityTable};
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Body, ChainEventKind, GatewayStatus, Heartbeat, Msg, Origin, SourceState};
use hedger_core::oracle::reference::{
    AssetLimits, OracleApplied, OracleSource, ReferenceError, ReferenceTable, REASON_UNKNOWN_ASSET,
};
use hedger_core::oracle::venue_mid::{
    base_asset, MidCheck, VenueMidGuard, REASON_MID_AGREES, REASON_NO_MID,
};
use hedger_core::tob::{Applied, TopOfBookTable};
use hedger_gateways::synthetic::{SyntheticFeed, INSTRUMENTS_MAX};
use hedger_gateways::venue::publish::SessionStats;
use hedger_ipc::clock::{calibrate_tsc_hz, unix_ms};
use hedger_ipc::runtime::{Agent, Runtime};
use hedger_ipc::telemetry::{TelemetryCounter, TelemetryError, TelemetryFile, TelemetryLimits};
use hedger_ipc::{ring, RingConsumer, RingProducer};

use crate::config::AppConfig;

/// Messages the hot agent drains from one ring per loop.
pub const HOT_BATCH_MAX: usize = 256;
/// Levels kept per side of each hot-side book: as many as the gateways' keepers keep, so a
/// 1 000-level snapshot leaves room for a whole frame's inserts and batches merge in one pass
/// (`OrderBook::apply_sorted` falls back to level-by-level sets near capacity).
pub const BOOK_LEVELS_MAX: usize = 2048;
/// The hot agent reports a summary to the cold thread every this many messages.
pub const SUMMARY_EVERY_MSGS: u64 = 16_384;

/// The hot thread's agent.
pub struct HotAgent {
    inputs: Vec<RingConsumer<Msg>>,
    events: RingProducer<Msg>,
    batch: Box<[Msg; HOT_BATCH_MAX]>,
    table: TopOfBookTable,
    /// L2 books rebuilt from the venue gateways' deltas.
    books: HotBooks,
    processed: u64,
    rejected: u64,
    next_summary_at: u64,
    /// An event the cold ring had no room for; retried first (replaced by newer summaries).
    pending_event: Option<Msg>,
    events_dropped: u64,
    /// Rings from the oracle gateway.
    oracle_inputs: Vec<RingConsumer<Msg>>,
    /// Reference prices and oracle source states.
    references: ReferenceTable,
    oracle_msgs: u64,
    /// Rings from the chain gateway (capacity, minting state, Chainlink prices, chain status).
    chain_inputs: Vec<RingConsumer<Msg>>,
    /// Remaining per-block mint/redeem capacity per collateral asset.
    capacity: CapacityTable,
    chain_msgs: u64,
    /// Rule 5 per venue book: its mid against its asset's reference.
    mid_guard: VenueMidGuard,
}

impl HotAgent {
    /// All storage is allocated here, before the thread starts.
    pub fn new(
        inputs: Vec<RingConsumer<Msg>>,
        events: RingProducer<Msg>,
        instruments_max: usize,
    ) -> HotAgent {
        HotAgent {
            inputs,
            events,
            batch: Box::new([Msg::EMPTY; HOT_BATCH_MAX]),
            table: TopOfBookTable::new(instruments_max),
            books: HotBooks::new(instruments_max, BOOK_LEVELS_MAX),
            processed: 0,
            rejected: 0,
            next_summary_at: SUMMARY_EVERY_MSGS,
            pending_event: None,
            events_dropped: 0,
            oracle_inputs: Vec::new(),
            references: ReferenceTable::new(Vec::new()),
            oracle_msgs: 0,
            chain_inputs: Vec::new(),
            capacity: CapacityTable::new(0),
            chain_msgs: 0,
            mid_guard: VenueMidGuard::new(Vec::new()),
        }
    }

    /// Adds the chain rings and room for `assets` collateral assets; allocated here.
    pub fn with_chain(mut self, chain_inputs: Vec<RingConsumer<Msg>>, assets: usize) -> HotAgent {
        self.chain_inputs = chain_inputs;
        self.capacity = CapacityTable::new(assets);
        self
    }

    /// Maps venue instruments to reference assets (`asset_of[instrument]`) for the venue-mid
    /// check; allocated here.
    pub fn with_venue_assets(mut self, asset_of: Vec<Option<u8>>) -> HotAgent {
        self.mid_guard = VenueMidGuard::new(asset_of);
        self
    }

    /// Per-block capacity as last reported by the chain gateway.
    pub fn capacity(&self) -> &CapacityTable {
        &self.capacity
    }

    /// Chain messages applied so far.
    pub fn chain_msgs(&self) -> u64 {
        self.chain_msgs
    }

    /// The venue-mid checks.
    pub fn mid_guard(&self) -> &VenueMidGuard {
        &self.mid_guard
    }

    /// Applies chain messages: Chainlink prices/statuses to the reference table, capacity and
    /// minting state to the capacity table; state changes go to the cold thread.
    fn drain_chain(&mut self) -> usize {
        let mut work = 0;
        for input_index in 0..self.chain_inputs.len() {
            let count = self.chain_inputs[input_index].pop_into(&mut self.batch[..]);
            for i in 0..count {
                let msg = self.batch[i];
                let report = if OracleSource::from_venue(msg.venue).is_some() {
                    self.references.apply(&msg) == OracleApplied::StateChanged
                } else if msg.kind == hedger_core::msg::MsgKind::GatewayStatus as u8 {
                    true
                } else {
                    self.capacity.apply(&msg) == CapacityApplied::StateChanged
                };
                if report {
                    self.emit(msg);
                }
            }
            work += count;
        }
        self.chain_msgs += work as u64;
        work
    }

    /// Rule 5 after a completed batch of a mapped instrument; a change goes to the cold thread.
    fn check_venue_mid(&mut self, msg: &Msg, instrument: u32) {
        let Some(book) = self.books.usable(instrument) else { return };
        let now_ms = hedger_ipc::clock::unix_ms();
        let Some(result) = self.mid_guard.check(instrument, book, &self.references, now_ms) else {
            return;
        };
        let (state, reason_code, detail) = match result {
            MidCheck::Agrees | MidCheck::Unchecked => (SourceState::Up, REASON_MID_AGREES, 0),
            MidCheck::NoMid => (SourceState::Quarantined, REASON_NO_MID, 0),
            MidCheck::Refused(error) => {
                let detail = match error {
                    ReferenceError::VenueDeviation { deviation_bps, .. } => deviation_bps,
                    _ => 0,
                };
                (SourceState::Quarantined, error.code(), detail)
            }
        };
        let status =
            GatewayStatus { state, reason_code, reason_count: self.mid_guard.refusals(), detail };
        self.emit(Msg::new(msg.origin(), Body::GatewayStatus(status)));
    }

    /// Adds the oracle rings and the per-asset limits (asset id = index); allocated here.
    pub fn with_oracles(
        mut self,
        oracle_inputs: Vec<RingConsumer<Msg>>,
        limits: Vec<AssetLimits>,
    ) -> HotAgent {
        self.oracle_inputs = oracle_inputs;
        self.references = ReferenceTable::new(limits);
        self
    }

    /// Reference prices and oracle source states.
    pub fn references(&self) -> &ReferenceTable {
        &self.references
    }

    /// Oracle messages applied so far.
    pub fn oracle_msgs(&self) -> u64 {
        self.oracle_msgs
    }

    /// Applies oracle messages; source state changes go to the cold thread.
    fn drain_oracles(&mut self) -> usize {
        let mut work = 0;
        for input_index in 0..self.oracle_inputs.len() {
            let count = self.oracle_inputs[input_index].pop_into(&mut self.batch[..]);
            for i in 0..count {
                let msg = self.batch[i];
                if self.references.apply(&msg) == OracleApplied::StateChanged {
                    self.emit(msg);
                }
            }
            work += count;
        }
        self.oracle_msgs += work as u64;
        work
    }

    /// Messages processed so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// The top-of-book table.
    pub fn table(&self) -> &TopOfBookTable {
        &self.table
    }

    /// The L2 books.
    pub fn books(&self) -> &HotBooks {
        &self.books
    }

    /// Events lost because the cold ring stayed full (each loss is counted, never silent).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    fn emit(&mut self, event: Msg) {
        if let Some(pending) = self.pending_event.take() {
            if let Err(rtrb::PushError::Full(back)) = self.events.push(pending) {
                self.pending_event = Some(back);
            }
        }
        if self.pending_event.is_some() {
            self.events_dropped += 1;
            self.pending_event = Some(event);
            return;
        }
        if let Err(rtrb::PushError::Full(back)) = self.events.push(event) {
            self.pending_event = Some(back);
        }
    }

    fn on_reject(&mut self, msg: &Msg, reason: u8) {
        self.rejected += 1;
        let status = GatewayStatus {
            state: SourceState::Up,
            reason_code: REJECT_REASON_BASE + u32::from(reason),
            reason_count: self.table.rejects()[reason as usize],
            detail: u64::from(msg.kind),
        };
        self.emit(Msg::new(msg.origin(), Body::GatewayStatus(status)));
    }
}

/// Reason codes of the hot thread's own "message rejected" reports start here (the TOB table's
/// reject reason is added), apart from venue gateway reasons (< 100) and the venue-mid rule's
/// (100..=105).
pub const REJECT_REASON_BASE: u32 = 200;

impl Agent for HotAgent {
    #[inline]
    fn do_work(&mut self) -> usize {
        let mut work = 0;
        for input_index in 0..self.inputs.len() {
            let count = self.inputs[input_index].pop_into(&mut self.batch[..]);
            for i in 0..count {
                let msg = self.batch[i];
                // Decoded once for the books and the top-of-book table.
                let body = msg.body();
                match self.books.apply_decoded(&msg, body) {
                    BookUpdate::BatchEnd { instrument } => {
                        // Rows come only from a synced book (a batch on a book that never had a
                        // snapshot leaves them unknown); a crossed book is refused there too.
                        match self.books.usable(instrument) {
                            Some(book) => {
                                let _ = self.table.set_from_book(instrument, book);
                            }
                            None => self.table.clear_quotes(instrument),
                        }
                        if self.mid_guard.is_mapped(instrument) {
                            self.check_venue_mid(&msg, instrument);
                        }
                    }
                    BookUpdate::Invalidated { instrument } => {
                        self.table.clear_quotes(instrument);
                        self.mid_guard.reset(instrument);
                    }
                    _ => {}
                }
                // A venue gateway's state change (gap, resync, quarantine, stale, down, up) is
                // reported to the cold thread as sent; the synthetic source sends none.
                if msg.kind == hedger_core::msg::MsgKind::GatewayStatus as u8 {
                    self.emit(msg);
                }
                if let Applied::Rejected(reason) = self.table.apply_decoded(&msg, body) {
                    self.on_reject(&msg, reason);
                }
            }
            work += count;
        }
        work += self.drain_oracles();
        work += self.drain_chain();
        self.processed += work as u64;
        if self.processed >= self.next_summary_at {
            self.next_summary_at = self.processed + SUMMARY_EVERY_MSGS;
            let beat = Heartbeat { beat_seq: self.processed, sent_ts_ns: self.rejected };
            self.emit(Msg::new(Origin::new(VenueId::None, InstrumentId(0)), Body::Heartbeat(beat)));
        } else if work == 0 && self.pending_event.is_some() {
            let pending = self.pending_event.take();
            if let Some(event) = pending {
                self.emit(event);
            }
        }
        work
    }

    /// The feed has stopped: drain what it left, then hand the last event to the cold thread,
    /// which is still running.
    fn on_stop(&mut self) {
        while self.do_work() > 0 {}
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Some(event) = self.pending_event.take() {
            if let Err(rtrb::PushError::Full(back)) = self.events.push(event) {
                if Instant::now() > deadline {
                    self.events_dropped += 1;
                    break;
                }
                self.pending_event = Some(back);
                std::thread::yield_now();
            }
        }
    }
}

/// The cold thread's agent: logs what the hot thread reports.
pub struct ColdAgent {
    events: RingConsumer<Msg>,
    batch: Vec<Msg>,
    last_log: Instant,
    log_every: Duration,
    summaries: u64,
    statuses: u64,
    hot_processed: u64,
    undecodable: u64,
    oracle_statuses: u64,
    chain_events: u64,
    chain_statuses: u64,
    venue_mid_statuses: u64,
    venue_statuses: u64,
    /// Venue gateways' counters, logged with every "pipeline alive" line.
    gateway_stats: Vec<(&'static str, Arc<SessionStats>)>,
    /// The same counters' telemetry copies (`<venue>.<counter>`, in `SessionStats::named`
    /// order per gateway), refreshed every [`COUNTERS_EVERY`] for `hedger inspect`.
    gateway_counters: Vec<Vec<TelemetryCounter>>,
    last_counters: Instant,
    /// Whether any venue mid has agreed with a reference yet (before that, "no reference" is
    /// the expected start-up state and is logged at info).
    reference_seen: bool,
}

/// How often the cold thread copies gateway counters into the telemetry file.
const COUNTERS_EVERY: Duration = Duration::from_millis(200);

impl ColdAgent {
    pub fn new(events: RingConsumer<Msg>, log_every: Duration) -> ColdAgent {
        ColdAgent {
            events,
            batch: vec![Msg::EMPTY; 256],
            last_log: Instant::now(),
            log_every,
            summaries: 0,
            statuses: 0,
            hot_processed: 0,
            undecodable: 0,
            oracle_statuses: 0,
            chain_events: 0,
            chain_statuses: 0,
            venue_mid_statuses: 0,
            venue_statuses: 0,
            gateway_stats: Vec::new(),
            gateway_counters: Vec::new(),
            last_counters: Instant::now(),
            reference_seen: false,
        }
    }

    /// Logs these gateways' counters with every "pipeline alive" line, and keeps them in
    /// `telemetry` as `<venue>.<counter>` so that `hedger inspect` shows gaps, reconnects and
    /// errors per venue.
    ///
    /// # Errors
    /// The telemetry file has no counter slots left.
    pub fn with_gateway_stats(
        mut self,
        stats: Vec<(&'static str, Arc<SessionStats>)>,
        telemetry: &Arc<TelemetryFile>,
    ) -> Result<Self, TelemetryError> {
        let mut all = Vec::with_capacity(stats.len());
        for (venue, s) in &stats {
            let names = s.named().map(|(name, _)| name);
            let counters = names
                .iter()
                .map(|name| telemetry.register_counter(&format!("{venue}.{name}")))
                .collect::<Result<Vec<_>, _>>()?;
            all.push(counters);
        }
        self.gateway_stats = stats;
        self.gateway_counters = all;
        self.publish_counters();
        Ok(self)
    }

    fn publish_counters(&mut self) {
        self.last_counters = Instant::now();
        for ((_, stats), counters) in self.gateway_stats.iter().zip(&self.gateway_counters) {
            for ((_, value), counter) in stats.named().iter().zip(counters) {
                counter.store(value.load(std::sync::atomic::Ordering::Acquire));
            }
        }
    }

    fn log_gateways(&self) {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        for (venue, s) in &self.gateway_stats {
            tracing::info!(
                venue,
                connects = get(&s.connects),
                disconnects = get(&s.disconnects),
                frames = get(&s.frames),
                snapshots = get(&s.snapshots),
                gaps = get(&s.gaps),
                resubscribes = get(&s.resubscribes),
                checksum_failures = get(&s.checksum_failures),
                parse_errors = get(&s.parse_errors),
                venue_errors = get(&s.venue_errors),
                instrument_errors = get(&s.instrument_errors),
                ring_full_waits = get(&s.ring_full_waits),
                "venue gateway"
            );
        }
    }

    /// Status events received (hot-thread rejects and oracle source changes).
    pub fn statuses(&self) -> u64 {
        self.statuses
    }

    /// Oracle source state changes received.
    pub fn oracle_statuses(&self) -> u64 {
        self.oracle_statuses
    }

    /// Chain events received (minting disabled/enabled).
    pub fn chain_events(&self) -> u64 {
        self.chain_events
    }

    /// Chain gateway state changes received.
    pub fn chain_statuses(&self) -> u64 {
        self.chain_statuses
    }

    /// Venue-mid check changes received.
    pub fn venue_mid_statuses(&self) -> u64 {
        self.venue_mid_statuses
    }

    /// Venue gateway state changes logged (book in sync, gap, stale, down, …).
    pub fn venue_statuses(&self) -> u64 {
        self.venue_statuses
    }

    fn log_chain_event(&mut self, event: &hedger_core::msg::ChainEvent) {
        self.chain_events += 1;
        match event.event {
            ChainEventKind::MintingDisabled => tracing::warn!(
                block = event.block_number,
                "minting disabled on chain: mint and redeem capacity is zero"
            ),
            ChainEventKind::MintingEnabled => {
                tracing::info!(block = event.block_number, "minting enabled again on chain");
            }
            other => tracing::debug!(?other, block = event.block_number, "chain event"),
        }
    }

    fn log_status(&mut self, event: &Msg, status: &GatewayStatus) {
        let venue = VenueId::from_u8(event.venue).map(VenueId::name).unwrap_or("?");
        let reason = crate::chain::reason_name(status.reason_code);
        let up = status.state == SourceState::Up;
        if event.venue == VenueId::Chain as u8 {
            self.chain_statuses += 1;
            if up {
                tracing::info!(reason, "chain gateway up");
            } else {
                tracing::warn!(state = ?status.state, reason, reason_count = status.reason_count,
                    detail = status.detail, "chain gateway changed state");
            }
        } else if status.reason_code >= REASON_UNKNOWN_ASSET {
            self.venue_mid_statuses += 1;
            let reason = venue_mid_reason(status.reason_code);
            let waiting = status.reason_code
                == hedger_core::oracle::reference::REASON_TOO_FEW_SOURCES
                && !self.reference_seen;
            if up {
                self.reference_seen = true;
                tracing::info!(
                    venue,
                    instrument = event.instrument.0,
                    "venue mid agrees with the reference"
                );
            } else if waiting {
                // Start-up: venue books complete before the first oracle price arrives. The book
                // is refused all the same; only the log level says this is expected.
                tracing::info!(
                    venue,
                    instrument = event.instrument.0,
                    reason,
                    "venue book waits for the first reference price before it may price"
                );
            } else {
                tracing::warn!(venue, instrument = event.instrument.0, state = ?status.state,
                    reason, deviation_bps = status.detail, refusals = status.reason_count,
                    "venue mid check refused the book for pricing");
            }
        } else if status.reason_code >= REJECT_REASON_BASE {
            tracing::warn!(
                venue,
                instrument = event.instrument.0,
                reason_code = status.reason_code - REJECT_REASON_BASE,
                reason_count = status.reason_count,
                kind = status.detail,
                "hot thread rejected a message"
            );
        } else {
            self.venue_statuses += 1;
            let reason = hedger_gateways::venue::reason::name(status.reason_code);
            if up {
                tracing::info!(
                    venue,
                    instrument = event.instrument.0,
                    seq = status.detail,
                    "venue book in sync"
                );
            } else {
                tracing::warn!(venue, instrument = event.instrument.0, state = ?status.state,
                    reason, gaps = status.reason_count, detail = status.detail,
                    "venue book not usable");
            }
        }
    }

    fn log_oracle_status(&mut self, event: &Msg, status: &GatewayStatus) {
        self.oracle_statuses += 1;
        tracing::warn!(
            venue = VenueId::from_u8(event.venue).map(VenueId::name).unwrap_or("?"),
            asset = event.instrument.0,
            state = ?status.state,
            reason = crate::chain::reason_name(status.reason_code),
            reason_code = status.reason_code,
            reason_count = status.reason_count,
            detail = status.detail,
            "oracle source changed state"
        );
    }

    fn handle(&mut self, event: &Msg) {
        match event.body() {
            Ok(Body::Heartbeat(beat)) => {
                self.summaries += 1;
                self.hot_processed = beat.beat_seq;
            }
            Ok(Body::GatewayStatus(status)) if OracleSource::from_venue(event.venue).is_some() => {
                self.statuses += 1;
                self.log_oracle_status(event, &status);
            }
            Ok(Body::GatewayStatus(status)) => {
                self.statuses += 1;
                self.log_status(event, &status);
            }
            Ok(Body::ChainEvent(chain_event)) => self.log_chain_event(&chain_event),
            Ok(other) => tracing::debug!(?other, "unexpected event kind on the cold ring"),
            Err(error) => {
                self.undecodable += 1;
                tracing::error!(%error, "undecodable event on the cold ring");
            }
        }
    }
}

impl Agent for ColdAgent {
    fn do_work(&mut self) -> usize {
        let count = self.events.pop_into(&mut self.batch);
        for i in 0..count {
            let event = self.batch[i];
            self.handle(&event);
        }
        if self.last_log.elapsed() >= self.log_every {
            self.last_log = Instant::now();
            tracing::info!(
                hot_processed = self.hot_processed,
                summaries = self.summaries,
                statuses = self.statuses,
                undecodable = self.undecodable,
                "pipeline alive"
            );
            self.log_gateways();
        }
        if !self.gateway_counters.is_empty() && self.last_counters.elapsed() >= COUNTERS_EVERY {
            self.publish_counters();
        }
        count
    }

    fn on_stop(&mut self) {
        while self.do_work() > 0 {}
        self.publish_counters();
        tracing::info!(
            hot_processed = self.hot_processed,
            statuses = self.statuses,
            "cold thread stopped"
        );
    }
}

fn venue_mid_reason(code: u32) -> &'static str {
    use hedger_core::oracle::reference::{
        REASON_SOURCES_DISAGREE, REASON_TOO_FEW_SOURCES, REASON_VENUE_DEVIATION,
    };
    match code {
        REASON_MID_AGREES => "agrees",
        REASON_UNKNOWN_ASSET => "unknown_asset",
        REASON_TOO_FEW_SOURCES => "no_reference_too_few_sources",
        REASON_SOURCES_DISAGREE => "no_reference_sources_disagree",
        REASON_VENUE_DEVIATION => "venue_deviation",
        REASON_NO_MID => "no_two_sided_top",
        _ => "unknown",
    }
}

/// A started pipeline.
pub struct Pipeline {
    pub runtime: Runtime,
    pub telemetry: Arc<TelemetryFile>,
    /// Config warnings (unknown cores, over-subscription), already checked.
    pub warnings: Vec<String>,
    /// Embedded venue simulators; they stop when this is dropped.
    pub sims: Vec<crate::venues::EmbeddedSim>,
    /// Embedded oracle simulators (`[oracles] embedded_sim`).
    pub oracle_sims: Option<hedger_tools::sim::RunningSims>,
    /// Embedded chain node (`[chain] embedded_node`); killed when dropped.
    pub chain_node: Option<hedger_tools::local_chain::LocalChain>,
    /// The oracle config in effect (generated with `embedded_sim`).
    pub oracles: hedger_gateways::oracle::OraclesConfig,
}

/// `asset_of[instrument]`: the oracle asset of each venue instrument, by the symbol's base.
pub fn venue_asset_map(
    instruments: &[(String, InstrumentId)],
    oracles: &hedger_gateways::oracle::OraclesConfig,
) -> Vec<Option<u8>> {
    let mut asset_of = vec![None; INSTRUMENTS_MAX];
    if !oracles.enabled {
        return asset_of;
    }
    for (symbol, instrument) in instruments {
        let asset = base_asset(symbol)
            .and_then(|base| oracles.assets.iter().position(|a| a.name == base))
            .and_then(|index| u8::try_from(index).ok());
        if let Some(slot) = asset_of.get_mut(instrument.0 as usize) {
            *slot = asset;
        }
    }
    asset_of
}

/// Validates `cfg`, creates the telemetry file at `telemetry_path`, builds the rings and starts
/// the threads. `stop` stops them (signal handlers set it). Embedded stand-ins (oracle
/// simulators, the local chain) start first, so a missing anvil fails before any thread runs.
///
/// # Errors
/// An invalid config (every problem listed), a telemetry file or thread that cannot be made, an
/// embedded stand-in that cannot start.
pub fn start(
    cfg: &AppConfig,
    origin: &str,
    telemetry_path: &Path,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Pipeline> {
    let cores = hedger_ipc::runtime::available_cores();
    let warnings = cfg.validate(origin, &cores)?;
    let tsc_hz = calibrate_tsc_hz(Duration::from_millis(20));
    let telemetry = TelemetryFile::create(
        telemetry_path,
        TelemetryLimits::default(),
        &cfg.profile,
        tsc_hz,
        unix_ms(),
    )
    .context("creating the telemetry file")?;
    let runtime_cfg = cfg.runtime();
    let thread =
        |name: &str| runtime_cfg.thread(name).cloned().context("validated config lacks a thread");
    // Embedded stand-ins (and every thread or process they start) stay off the hot thread's
    // core; see `with_affinity`.
    let hot_core = runtime_cfg.thread("hot").and_then(|t| t.core);
    let standin_cores: Vec<usize> =
        cores.iter().copied().filter(|c| Some(*c) != hot_core).collect();
    let (embedded, chain_parts, venues) =
        hedger_ipc::runtime::with_affinity(&standin_cores, || {
            let embedded =
                crate::oracles::prepare(&cfg.oracles, crate::chain::EMBEDDED_MARKET_SEED)?;
            let chain_parts = match cfg.chain.enabled {
                true => Some(crate::chain::start(
                    &cfg.chain,
                    &embedded.config,
                    &telemetry,
                    cfg.rings.capacity,
                )?),
                false => None,
            };
            let venues = crate::venues::start(&cfg.venues, &telemetry, cfg.rings.capacity)?;
            anyhow::Ok((embedded, chain_parts, venues))
        })?;
    let oracles = embedded.config;
    let mut runtime = Runtime::new(Arc::clone(&telemetry), stop);
    let (feed_tx, feed_rx) = ring::<Msg>(&telemetry, "feed->hot", cfg.rings.capacity)?;
    let (event_tx, event_rx) = ring::<Msg>(&telemetry, "hot->cold", cfg.rings.capacity)?;
    let (mut chain_agents, mut chain_ring, mut chain_node) = (Vec::new(), None, None);
    if let Some(parts) = chain_parts {
        chain_agents = parts.agents;
        chain_ring = Some(parts.ring);
        chain_node = parts.node;
    }
    let cold = ColdAgent::new(event_rx, Duration::from_secs(5))
        .with_gateway_stats(venues.stats.clone(), &telemetry)?;
    runtime.spawn(&thread("cold")?, vec![Box::new(cold)])?;
    let mut inputs = vec![feed_rx];
    inputs.extend(venues.rings);
    let mut hot = HotAgent::new(inputs, event_tx, INSTRUMENTS_MAX)
        .with_venue_assets(venue_asset_map(&venues.instruments, &oracles));
    if let Some(chain_ring) = chain_ring {
        hot = hot.with_chain(vec![chain_ring], crate::chain::CHAIN_ASSETS_MAX);
    }
    let mut oracle_gateway = None;
    if oracles.enabled {
        let (oracle_tx, oracle_rx) = ring::<Msg>(&telemetry, "oracle->hot", cfg.rings.capacity)?;
        let limits = oracles.assets.iter().map(|asset| asset.limits()).collect();
        hot = hot.with_oracles(vec![oracle_rx], limits);
        let gateway = hedger_gateways::oracle::OracleGateway::new(&oracles, oracle_tx)
            .map_err(|message| anyhow::anyhow!("oracles: {message}"))?;
        oracle_gateway = Some(gateway);
    }
    runtime.spawn(&thread("hot")?, vec![Box::new(hot)])?;
    let feed = SyntheticFeed::new(&cfg.synthetic, feed_tx, tsc_hz);
    let mut feed_agents: Vec<Box<dyn Agent>> = vec![Box::new(feed)];
    feed_agents.extend(venues.agents);
    runtime.spawn(&thread("feed")?, feed_agents)?;
    if let Some(gateway) = oracle_gateway {
        runtime.spawn(&thread(crate::config::ORACLE_THREAD)?, vec![Box::new(gateway)])?;
    }
    if !chain_agents.is_empty() {
        runtime.spawn(&thread(crate::config::CHAIN_THREAD)?, chain_agents)?;
    }
    Ok(Pipeline {
        runtime,
        telemetry,
        warnings,
        sims: venues.sims,
        oracle_sims: embedded.sims,
        chain_node,
        oracles,
    })
}
