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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::OpCode;
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Msg, Origin};
use hedger_ipc::clock::now_tsc;
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;

use super::{BinanceParser, BinanceSequencer};
use crate::venue::instruments::fetch_instruments;
use crate::venue::keeper::KeeperLimits;
use crate::venue::publish::{bump, jittered_backoff, Publisher};
use crate::venue::{reason, BookKeeper, BookState, FrameKind, ParsedFrame, Symbol};
use crate::ws::http::{http_get, ws_connect};
use crate::ws::{poll_once, with_timeout, Endpoint, SleepUntil, TransportError};
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

/// The session counters (shared with the stream venues' sessions).
pub use crate::venue::publish::SessionStats;

struct Book {
    symbol: Symbol,
    instrument: InstrumentId,
    keeper: BookKeeper<BinanceSequencer>,
}

struct Session {
    cfg: BinanceSessionConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    publisher: Publisher,
    instruments: Vec<InstrumentId>,
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
        let publisher =
            Publisher::new(out, VenueId::BinanceUsdm, Arc::clone(&stats), cfg.keeper.levels_max);
        let session = Session {
            instruments: cfg.symbols.iter().map(|(_, id)| *id).collect(),
            cfg,
            tls,
            publisher,
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
            self.publisher.all_down(&self.instruments, silent, self.down_reason, now_tsc()).await;
            if started.elapsed() > Duration::from_secs(30) {
                failures = 0;
            }
            failures = failures.saturating_add(1);
            let wait = jittered_backoff(
                &mut self.rng,
                failures,
                self.cfg.backoff_ms_min,
                self.cfg.backoff_ms_max,
            );
            SleepUntil(Instant::now() + wait).await;
        }
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
            _ => self.publisher.data_frame(&self.frame, origin).await,
        }
    }

    fn origin(&self, index: usize, recv_tsc: u64) -> Origin {
        let mut origin = Origin::new(VenueId::BinanceUsdm, self.books[index].instrument);
        origin.exchange_ts_ns = self.frame.exchange_ts_ms.saturating_mul(1_000_000);
        origin.recv_tsc = recv_tsc;
        origin
    }

    /// A delta goes to the hot thread before the keeper's own book takes it
    /// (`on_frame_deferred`, then `commit`): the gateway's book pass is off the wire-to-book
    /// path. A cross found by the commit follows as a Resyncing status, and the hot thread's
    /// books refuse a batch that ends crossed by themselves.
    async fn apply_book_frame(&mut self, index: usize, recv_tsc: u64) {
        let event = self.books[index].keeper.on_frame_deferred(&self.frame);
        let origin = self.origin(index, recv_tsc);
        let book = self.books[index].keeper.book();
        self.publisher.book_event(event, book, &self.frame, origin).await;
        if let Some(late) = self.books[index].keeper.commit(&self.frame) {
            let book = self.books[index].keeper.book();
            self.publisher.book_event(late, book, &self.frame, origin).await;
        }
    }
}
