//! The Binance USDⓈ-M market-data session: websocket + REST snapshot, book sync, reconnect.
//!
//! One session is one websocket (`<ws_url>/public/stream?streams=…` for depth and bookTicker, or
//! `/market/…` for aggTrade and markPrice; venues.md §1.1 routes). It runs as a future owned by
//! [`BinanceGateway`], an [`Agent`] the gateway thread polls (see `crate::ws` for why).
//!
//! Per connection: open the stream (step 1), then for each symbol fetch the REST snapshot
//! (step 3) while the stream's events wait in the socket (the keeper buffers any that arrive
//! before it, step 2); then read frames. A gap invalidates the book on that frame (a
//! `GatewayStatus` goes to the hot thread) and the session fetches a new snapshot on the same
//! socket (step 6 "restart from step 3"). A closed or silent socket (no frame within
//! `silence_ms_max`) reconnects with jittered exponential backoff.
//!
//! Messages to the hot thread, per applied book frame: one `BookDelta` per level, the first of a
//! snapshot flagged `FLAG_SNAPSHOT_BEGIN`, the last flagged `FLAG_BATCH_END`, all stamped with
//! the TSC at which the frame was read (`recv_tsc`). Prices and sizes are on the wire scale
//! (1e-8 units), the hot thread's common scale; each instrument's [`InstrumentSpec`] (fetched
//! from `GET /fapi/v1/exchangeInfo` once per connection, before the snapshots) travels with it
//! and every applied level is checked against its tick and lot (off-grid => `BAD_LEVEL`). A
//! failed fetch, or one that does not list a configured symbol, ends the connection: the books
//! are reported Down with reason `INSTRUMENTS` and the session retries with backoff.
//! A full ring applies backpressure (the session stops reading until there is room): a book
//! delta is never dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::OpCode;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{
    Bbo, Body, BookDelta, GatewayStatus, MarkIndexFunding, Msg, Origin, Side, SourceState, Trade,
    FLAG_BATCH_END, FLAG_SNAPSHOT_BEGIN,
};
use hedger_ipc::clock::now_tsc;
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;

use super::{BinanceParser, BinanceSequencer};
use crate::venue::instruments::fetch_instruments;
use crate::venue::keeper::KeeperLimits;
use crate::venue::{reason, BookKeeper, BookState, FrameKind, KeeperEvent, ParsedFrame, Symbol};
use crate::ws::http::{http_get, ws_connect};
use crate::ws::{poll_once, with_timeout, Endpoint, SleepUntil, TransportError, YieldNow};
use hedger_core::instrument::InstrumentSpec;

/// Settings of one session.
#[derive(Clone, Debug)]
pub struct BinanceSessionConfig {
    /// Websocket base, e.g. `wss://fstream.binance.com` (the route and streams are appended).
    pub ws_url: String,
    /// REST base, e.g. `https://fapi.binance.com`.
    pub rest_url: String,
    /// `public` (depth, bookTicker) or `market` (aggTrade, markPrice).
    pub route: String,
    /// Symbols (upper case) and their instrument ids.
    pub symbols: Vec<(String, InstrumentId)>,
    /// Stream suffixes per symbol, e.g. `["depth@100ms", "bookTicker"]`.
    pub streams: Vec<String>,
    /// Extra trusted roots (the simulator's self-signed certificate), DER.
    pub tls_roots_der: Vec<Vec<u8>>,
    pub snapshot_limit: u32,
    pub connect_timeout_ms: u64,
    pub silence_ms_max: u64,
    pub backoff_ms_min: u64,
    pub backoff_ms_max: u64,
    pub keeper: KeeperLimits,
}

impl BinanceSessionConfig {
    /// Defaults for a symbol set against the given endpoints.
    pub fn new(ws_url: &str, rest_url: &str, symbols: Vec<(String, InstrumentId)>) -> Self {
        BinanceSessionConfig {
            ws_url: ws_url.trim_end_matches('/').to_string(),
            rest_url: rest_url.trim_end_matches('/').to_string(),
            route: "public".to_string(),
            symbols,
            streams: vec!["depth@100ms".to_string(), "bookTicker".to_string()],
            tls_roots_der: Vec::new(),
            snapshot_limit: 1000,
            connect_timeout_ms: 5_000,
            silence_ms_max: 10_000,
            backoff_ms_min: 100,
            backoff_ms_max: 10_000,
            keeper: KeeperLimits::default(),
        }
    }

    fn stream_target(&self) -> String {
        let names: Vec<String> = self
            .symbols
            .iter()
            .flat_map(|(s, _)| {
                self.streams.iter().map(move |k| format!("{}@{k}", s.to_lowercase()))
            })
            .collect();
        format!("/{}/stream?streams={}", self.route, names.join("/"))
    }
}

/// Counters a test or the cold thread can read while the session runs.
#[derive(Debug, Default)]
pub struct SessionStats {
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    pub frames: AtomicU64,
    pub parse_errors: AtomicU64,
    pub snapshots: AtomicU64,
    pub gaps: AtomicU64,
    pub ring_full_waits: AtomicU64,
    pub instrument_fetches: AtomicU64,
    pub instrument_errors: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
}

struct Book {
    symbol: Symbol,
    instrument: InstrumentId,
    keeper: BookKeeper<BinanceSequencer>,
}

struct Session {
    cfg: BinanceSessionConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    out: RingProducer<Msg>,
    parser: BinanceParser,
    frame: ParsedFrame,
    books: Vec<Book>,
    stats: Arc<SessionStats>,
    rng: u64,
    /// Reason code for the next Down report (`INSTRUMENTS` after a failed metadata fetch).
    down_reason: u32,
}

/// The agent: polls the session future.
pub struct BinanceGateway {
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
    stats: Arc<SessionStats>,
}

impl BinanceGateway {
    /// Builds the session (allocating its buffers) without connecting yet.
    ///
    /// # Errors
    /// A bad URL or TLS root.
    pub fn new(
        cfg: BinanceSessionConfig,
        out: RingProducer<Msg>,
        seed: u64,
    ) -> Result<BinanceGateway, TransportError> {
        Endpoint::parse(&cfg.ws_url)?;
        Endpoint::parse(&cfg.rest_url)?;
        let tls = Some(crate::ws::tls_config(&cfg.tls_roots_der)?);
        let stats = Arc::new(SessionStats::default());
        let books = cfg
            .symbols
            .iter()
            .map(|(s, id)| Book {
                symbol: Symbol::new(s),
                instrument: *id,
                keeper: BookKeeper::new(BinanceSequencer::new(), cfg.keeper),
            })
            .collect();
        let session = Session {
            cfg,
            tls,
            out,
            parser: BinanceParser::new(),
            frame: ParsedFrame::new(),
            books,
            stats: Arc::clone(&stats),
            rng: seed | 1,
            down_reason: 0,
        };
        Ok(BinanceGateway { future: Box::pin(session.run()), stats })
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<SessionStats> {
        Arc::clone(&self.stats)
    }
}

impl Agent for BinanceGateway {
    fn do_work(&mut self) -> usize {
        let before = self.stats.frames.load(Ordering::Relaxed);
        let _ = poll_once(self.future.as_mut());
        (self.stats.frames.load(Ordering::Relaxed) - before) as usize
    }
}

impl Session {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let outcome = self.connection().await;
            bump(&self.stats.disconnects);
            // A silent socket (no frame within `silence_ms_max`) is a stale feed, with its own
            // reason code; any other end of a connection is the source going down.
            let silent = matches!(outcome, Err(TransportError::Timeout { .. }));
            self.all_books_down(silent).await;
            if started.elapsed() > Duration::from_secs(30) {
                failures = 0;
            }
            failures = failures.saturating_add(1);
            SleepUntil(Instant::now() + self.backoff(failures)).await;
        }
    }

    /// Exponential backoff with jitter in [50 %, 100 %] of the step.
    fn backoff(&mut self, failures: u32) -> Duration {
        let step = self
            .cfg
            .backoff_ms_min
            .saturating_mul(1u64 << failures.min(16))
            .min(self.cfg.backoff_ms_max);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Duration::from_millis(step / 2 + self.rng % (step / 2 + 1))
    }

    async fn connection(&mut self) -> Result<(), TransportError> {
        let base = Endpoint::parse(&self.cfg.ws_url)?;
        let endpoint = base.with_target(&self.cfg.stream_target());
        let name = endpoint.authority();
        let mut ws = with_timeout(
            &name,
            self.cfg.connect_timeout_ms,
            ws_connect(&endpoint, self.tls.as_ref(), self.rng),
        )
        .await?;
        bump(&self.stats.connects);
        let syncs_books = self.cfg.streams.iter().any(|s| s.starts_with("depth"));
        if syncs_books {
            self.fetch_specs().await?;
            for index in 0..self.books.len() {
                self.books[index].keeper.resync();
                self.fetch_snapshot(index).await?;
            }
        }
        loop {
            let frame = with_timeout(&name, self.cfg.silence_ms_max, async {
                ws.read_frame().await.map_err(|e| TransportError::WebSocket {
                    endpoint: name.clone(),
                    message: e.to_string(),
                })
            })
            .await?;
            let recv_tsc = now_tsc();
            match frame.opcode {
                OpCode::Text | OpCode::Binary => {
                    bump(&self.stats.frames);
                    self.on_payload(&frame.payload, recv_tsc).await;
                }
                OpCode::Close => {
                    return Err(TransportError::WebSocket {
                        endpoint: name,
                        message: "closed by peer".into(),
                    })
                }
                _ => {}
            }
            if syncs_books {
                self.resync_invalid_books().await?;
            }
        }
    }

    /// Fetches exchangeInfo and installs each book's spec; any failure ends the connection.
    async fn fetch_specs(&mut self) -> Result<(), TransportError> {
        bump(&self.stats.instrument_fetches);
        let symbols: Vec<&str> = self.cfg.symbols.iter().map(|(s, _)| s.as_str()).collect();
        let fetched = fetch_instruments(
            VenueId::BinanceUsdm,
            &self.cfg.rest_url,
            self.tls.as_ref(),
            &symbols,
        )
        .await;
        let specs: Vec<InstrumentSpec> = match fetched {
            Ok(specs) => specs,
            Err(e) => {
                bump(&self.stats.instrument_errors);
                self.down_reason = reason::INSTRUMENTS;
                return Err(TransportError::WebSocket {
                    endpoint: self.cfg.rest_url.clone(),
                    message: format!("instruments: {e}"),
                });
            }
        };
        // `select` returns the specs in the configured symbol order.
        for (book, spec) in self.books.iter_mut().zip(specs) {
            book.keeper.set_spec(Some(spec));
        }
        self.down_reason = 0;
        Ok(())
    }

    /// Step 6: "restart from step 3" for every book a gap invalidated, on the same socket.
    async fn resync_invalid_books(&mut self) -> Result<(), TransportError> {
        for index in 0..self.books.len() {
            if matches!(self.books[index].keeper.state(), BookState::Invalid { .. }) {
                self.fetch_snapshot(index).await?;
            }
        }
        Ok(())
    }

    async fn fetch_snapshot(&mut self, index: usize) -> Result<(), TransportError> {
        let symbol = self.books[index].symbol;
        let base = Endpoint::parse(&self.cfg.rest_url)?;
        let target =
            format!("/fapi/v1/depth?symbol={}&limit={}", symbol.as_str(), self.cfg.snapshot_limit);
        let endpoint = base.with_target(&target);
        let body = with_timeout(
            &endpoint.authority(),
            self.cfg.connect_timeout_ms,
            http_get(&endpoint, self.tls.as_ref(), 8 << 20),
        )
        .await?;
        let recv_tsc = now_tsc();
        if self.parser.parse(&body, &mut self.frame).is_err()
            || self.frame.kind != FrameKind::BookSnapshot
        {
            bump(&self.stats.parse_errors);
            return Err(TransportError::WebSocket {
                endpoint: endpoint.authority(),
                message: "bad snapshot body".into(),
            });
        }
        self.frame.symbol = symbol;
        bump(&self.stats.snapshots);
        self.apply_book_frame(index, recv_tsc).await;
        Ok(())
    }

    async fn on_payload(&mut self, payload: &[u8], recv_tsc: u64) {
        if self.parser.parse(payload, &mut self.frame).is_err() {
            bump(&self.stats.parse_errors);
            return;
        }
        let Some(index) = self.books.iter().position(|b| b.symbol == self.frame.symbol) else {
            return;
        };
        let origin = self.origin(index, recv_tsc);
        match self.frame.kind {
            FrameKind::BookDelta | FrameKind::BookSnapshot => {
                self.apply_book_frame(index, recv_tsc).await
            }
            FrameKind::Bbo => {
                let b = self.frame.bbo;
                let body = Body::Bbo(Bbo {
                    bid_price_ticks: b.bid.price,
                    bid_qty_lots: b.bid.qty,
                    ask_price_ticks: b.ask.price,
                    ask_qty_lots: b.ask.qty,
                });
                self.send(Msg::new(origin, body)).await;
            }
            FrameKind::Trades => {
                for i in 0..self.frame.trades.len() {
                    let t = self.frame.trades[i];
                    let body = Body::Trade(Trade {
                        aggressor: t.aggressor.unwrap_or(Side::Buy),
                        price_ticks: t.price,
                        qty_lots: t.qty,
                        trade_id: t.trade_id,
                    });
                    self.send(Msg::new(origin, body)).await;
                }
            }
            FrameKind::MarkFunding => {
                let m = self.frame.mark;
                let body = Body::MarkIndexFunding(MarkIndexFunding {
                    mark_price_ticks: m.mark_price.unwrap_or(0),
                    index_price_ticks: m.index_price.unwrap_or(0),
                    // Wire scale 1e-8 → parts per 1e9.
                    funding_rate_e9: m.funding_rate.unwrap_or(0).saturating_mul(10),
                    next_funding_ts_ms: m.next_funding_ms.unwrap_or(0),
                });
                self.send(Msg::new(origin, body)).await;
            }
            _ => {}
        }
    }

    fn origin(&self, index: usize, recv_tsc: u64) -> Origin {
        let mut origin = Origin::new(VenueId::BinanceUsdm, self.books[index].instrument);
        origin.exchange_ts_ns = self.frame.exchange_ts_ms.saturating_mul(1_000_000);
        origin.recv_tsc = recv_tsc;
        origin
    }

    async fn apply_book_frame(&mut self, index: usize, recv_tsc: u64) {
        let event = self.books[index].keeper.on_frame(&self.frame);
        let origin = self.origin(index, recv_tsc);
        match event {
            KeeperEvent::SnapshotApplied => self.send_full_book(index, origin).await,
            KeeperEvent::Applied => self.send_frame_levels(origin).await,
            KeeperEvent::Invalidated { reason_code, expected, .. } => {
                bump(&self.stats.gaps);
                self.send_status(
                    origin,
                    SourceState::Resyncing,
                    reason_code,
                    expected.max(0) as u64,
                )
                .await;
            }
            KeeperEvent::Quarantined { reason_code } => {
                self.send_status(origin, SourceState::Quarantined, reason_code, 0).await;
            }
            _ => {}
        }
    }

    async fn send_full_book(&mut self, index: usize, origin: Origin) {
        let seq = self.frame.ids.last;
        let book = self.books[index].keeper.book();
        let (bids, asks) = book.depth();
        let total = bids + asks;
        let mut sent = 0usize;
        let mut batch: Vec<Msg> = Vec::with_capacity(total.max(1));
        for side in [Side::Buy, Side::Sell] {
            for level in book.side(side) {
                let flags = if sent == 0 { FLAG_SNAPSHOT_BEGIN } else { 0 }
                    | if sent + 1 == total { FLAG_BATCH_END } else { 0 };
                batch.push(Msg::new(
                    origin,
                    Body::BookDelta(BookDelta {
                        side,
                        price_ticks: level.price_ticks,
                        qty_lots: level.qty_lots,
                        seq,
                        seq_prev: 0,
                        batch_flags: flags,
                    }),
                ));
                sent += 1;
            }
        }
        if total == 0 {
            batch.push(Msg::new(
                origin,
                Body::BookDelta(BookDelta {
                    side: Side::Buy,
                    price_ticks: 0,
                    qty_lots: 0,
                    seq,
                    seq_prev: 0,
                    batch_flags: FLAG_SNAPSHOT_BEGIN | FLAG_BATCH_END,
                }),
            ));
        }
        self.send_all(&batch).await;
        self.send_status(origin, SourceState::Up, 0, seq).await;
    }

    async fn send_frame_levels(&mut self, origin: Origin) {
        let total = self.frame.bids.len() + self.frame.asks.len();
        let (seq, seq_prev) = (self.frame.ids.last, self.frame.ids.prev.unwrap_or(0).max(0) as u64);
        let mut sent = 0usize;
        for side in [Side::Buy, Side::Sell] {
            let count =
                if side == Side::Buy { self.frame.bids.len() } else { self.frame.asks.len() };
            for i in 0..count {
                let level = if side == Side::Buy { self.frame.bids[i] } else { self.frame.asks[i] };
                let flags = if sent + 1 == total { FLAG_BATCH_END } else { 0 };
                let msg = Msg::new(
                    origin,
                    Body::BookDelta(BookDelta {
                        side,
                        price_ticks: level.price,
                        qty_lots: level.qty,
                        seq,
                        seq_prev,
                        batch_flags: flags,
                    }),
                );
                self.send(msg).await;
                sent += 1;
            }
        }
    }

    async fn send_status(
        &mut self,
        origin: Origin,
        state: SourceState,
        reason_code: u32,
        detail: u64,
    ) {
        let gaps = self.stats.gaps.load(Ordering::Relaxed);
        let body =
            Body::GatewayStatus(GatewayStatus { state, reason_code, reason_count: gaps, detail });
        self.send(Msg::new(origin, body)).await;
    }

    async fn all_books_down(&mut self, silent: bool) {
        let (state, reason_code) = if silent && self.down_reason == 0 {
            (SourceState::Stale, reason::STALE_FEED)
        } else {
            (SourceState::Down, self.down_reason)
        };
        for index in 0..self.books.len() {
            let origin = self.origin(index, now_tsc());
            self.send_status(origin, state, reason_code, 0).await;
        }
    }

    async fn send_all(&mut self, msgs: &[Msg]) {
        let mut done = 0;
        while done < msgs.len() {
            let n = self.out.push_slice(&msgs[done..]);
            done += n;
            if n == 0 {
                bump(&self.stats.ring_full_waits);
                YieldNow(false).await;
            }
        }
    }

    async fn send(&mut self, msg: Msg) {
        let mut msg = msg;
        while let Err(rtrb::PushError::Full(back)) = self.out.push(msg) {
            msg = back;
            bump(&self.stats.ring_full_waits);
            YieldNow(false).await;
        }
    }
}
