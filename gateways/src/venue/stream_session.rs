//! The session shape Bybit, OKX and Deribit share: one websocket, subscribe on connect, the book
//! snapshot comes from the stream, a gap is resynced by resubscribing the book channel, pings as
//! the venue requires, reconnect with jittered backoff, a silent feed is Stale.
//!
//! Each venue supplies a [`StreamProtocol`] (its route, subscribe/resubscribe/ping messages, its
//! parser and sequencer); [`StreamGateway`] is the [`Agent`] the gateway thread polls, like the
//! Binance session (see `crate::ws` for the busy-polled future).
//!
//! With a REST base configured, every connection first fetches the venue's instruments (tick,
//! lot, contract value) and installs each book's spec, so an off-grid level invalidates the book;
//! a failed fetch ends the attempt as Down with reason `instruments` and is retried with backoff.
//!
//! Writes (subscribes, resubscribes, pings, heartbeat answers) go out between frames: the
//! session owns one websocket and `read_frame` is not cancel-safe once a frame header has been
//! consumed, so it never abandons a read mid-stream to write. A live book streams many frames a
//! second, so a periodic ping that falls due goes out within one frame interval. An idle socket
//! (nothing for half of `silence_ms_max`) gets a ping at once (OKX's keep-alive rule); nothing
//! for `silence_ms_max` is a stale feed: Stale status and reconnect.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::{Frame, OpCode, Payload, WebSocket};
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Msg, Origin};
use hedger_ipc::clock::now_tsc;
use hedger_ipc::runtime::Agent;
use hedger_ipc::RingProducer;

use super::instruments::fetch_instruments;
use super::keeper::KeeperLimits;
use super::publish::{bump, jittered_backoff, Publisher, SessionStats};
use super::{reason, WireError};
use super::{BookKeeper, BookSequencer, BookState, FrameKind, KeeperEvent, ParsedFrame, Symbol};
use crate::ws::http::ws_connect;
use crate::ws::{poll_once, with_timeout, Endpoint, SleepUntil, Stream, TransportError};

/// A venue's protocol for [`StreamGateway`].
pub trait StreamProtocol: Send + 'static {
    type Sequencer: BookSequencer + Send + 'static;
    const VENUE: VenueId;
    /// Websocket route, e.g. `/v5/public/linear`.
    fn ws_target(&self) -> &str;
    fn new_sequencer(&self) -> Self::Sequencer;
    /// Parses one frame.
    ///
    /// # Errors
    /// The venue parser's [`WireError`].
    fn parse(&mut self, bytes: &[u8], out: &mut ParsedFrame) -> Result<(), WireError>;
    /// Messages to send right after connecting (heartbeat setup, subscribes for every symbol).
    fn on_connect(&mut self, symbols: &[Symbol], out: &mut Vec<String>);
    /// Messages that make the venue send a fresh book snapshot of `symbol`.
    fn resubscribe_book(&mut self, symbol: Symbol, out: &mut Vec<String>);
    /// The application-level ping and its period, if the venue wants one.
    fn ping(&self) -> Option<(&str, u64)>;
    /// An answer the last parsed frame demands (Deribit `test_request` → `public/test`).
    fn answer(&mut self, _frame: &ParsedFrame) -> Option<String> {
        None
    }
    /// Judges a book frame for book `index`. By default an accepted delta is published before
    /// the keeper's book takes it ([`BookKeeper::on_frame_deferred`]; the session commits it
    /// after publishing). OKX applies first, since its checksum is over the updated book.
    fn apply_book(
        &mut self,
        _index: usize,
        keeper: &mut BookKeeper<Self::Sequencer>,
        frame: &ParsedFrame,
    ) -> KeeperEvent {
        keeper.on_frame_deferred(frame)
    }
    /// Forgets per-book state kept beside the keeper (OKX checksum text).
    fn reset_book(&mut self, _index: usize) {}
}

/// Settings of one stream session.
#[derive(Clone, Debug)]
pub struct StreamSessionConfig {
    /// Websocket base, e.g. `wss://stream.bybit.com` (the protocol's route is appended).
    pub ws_url: String,
    /// REST base for the instruments endpoint, e.g. `https://api.bybit.com` (Deribit:
    /// `https://www.deribit.com/api/v2`); `None` = no spec check.
    pub rest_url: Option<String>,
    /// Venue symbols and their instrument ids.
    pub symbols: Vec<(String, InstrumentId)>,
    /// Extra trusted roots (the simulator's self-signed certificate), DER.
    pub tls_roots_der: Vec<Vec<u8>>,
    pub connect_timeout_ms: u64,
    pub silence_ms_max: u64,
    /// A book whose snapshot has not come this long after its (re)subscribe is a failed sync
    /// attempt (reason `snapshot_timeout`): resubscribed, and quarantined after the keeper's
    /// limit. Checked as frames arrive.
    pub snapshot_timeout_ms: u64,
    pub backoff_ms_min: u64,
    pub backoff_ms_max: u64,
    pub keeper: KeeperLimits,
}

impl StreamSessionConfig {
    /// Defaults for a symbol set against `ws_url`.
    pub fn new(ws_url: &str, symbols: Vec<(String, InstrumentId)>) -> Self {
        StreamSessionConfig {
            ws_url: ws_url.trim_end_matches('/').to_string(),
            rest_url: None,
            symbols,
            tls_roots_der: Vec::new(),
            connect_timeout_ms: 5_000,
            silence_ms_max: 10_000,
            snapshot_timeout_ms: 5_000,
            backoff_ms_min: 100,
            backoff_ms_max: 10_000,
            keeper: KeeperLimits::default(),
        }
    }
}

struct Book<S> {
    symbol: Symbol,
    instrument: InstrumentId,
    keeper: BookKeeper<S>,
    /// When the snapshot asked for by the last (re)subscribe is due.
    snapshot_due: Option<Instant>,
}

struct Session<P: StreamProtocol> {
    cfg: StreamSessionConfig,
    protocol: P,
    tls: Option<Arc<rustls::ClientConfig>>,
    publisher: Publisher,
    frame: ParsedFrame,
    books: Vec<Book<P::Sequencer>>,
    instruments: Vec<InstrumentId>,
    /// Messages waiting to be written after the current frame (reused).
    outbox: Vec<String>,
    stats: Arc<SessionStats>,
    rng: u64,
    /// Why the last attempt ended, if not the socket (reason code; 0 = transport).
    down_reason: u32,
}

/// The agent: polls the session future.
pub struct StreamGateway {
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
    stats: Arc<SessionStats>,
}

impl StreamGateway {
    /// Builds the session (allocating its buffers) without connecting yet.
    ///
    /// # Errors
    /// A bad URL or TLS root.
    pub fn new<P: StreamProtocol>(
        protocol: P,
        cfg: StreamSessionConfig,
        out: RingProducer<Msg>,
        seed: u64,
    ) -> Result<StreamGateway, TransportError> {
        Endpoint::parse(&cfg.ws_url)?;
        if let Some(rest) = &cfg.rest_url {
            Endpoint::parse(rest)?;
        }
        let tls = Some(crate::ws::tls_config(&cfg.tls_roots_der)?);
        let stats = Arc::new(SessionStats::default());
        let books = cfg
            .symbols
            .iter()
            .map(|(s, id)| Book {
                symbol: Symbol::new(s),
                instrument: *id,
                keeper: BookKeeper::new(protocol.new_sequencer(), cfg.keeper),
                snapshot_due: None,
            })
            .collect();
        let publisher = Publisher::new(out, P::VENUE, Arc::clone(&stats), cfg.keeper.levels_max);
        let session = Session {
            instruments: cfg.symbols.iter().map(|(_, id)| *id).collect(),
            cfg,
            protocol,
            tls,
            publisher,
            frame: ParsedFrame::new(),
            books,
            outbox: Vec::with_capacity(16),
            stats: Arc::clone(&stats),
            rng: seed | 1,
            down_reason: 0,
        };
        Ok(StreamGateway { future: Box::pin(session.run()), stats })
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<SessionStats> {
        Arc::clone(&self.stats)
    }
}

impl Agent for StreamGateway {
    fn do_work(&mut self) -> usize {
        let before = self.stats.frames.load(Ordering::Relaxed);
        let _ = poll_once(self.future.as_mut());
        (self.stats.frames.load(Ordering::Relaxed) - before) as usize
    }
}

fn ws_error(endpoint: &str, message: impl ToString) -> TransportError {
    TransportError::WebSocket { endpoint: endpoint.to_string(), message: message.to_string() }
}

impl<P: StreamProtocol> Session<P> {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let outcome = self.connection().await;
            bump(&self.stats.disconnects);
            // A silent socket is a stale feed (its own reason code); any other end is Down.
            let silent = matches!(outcome, Err(TransportError::Timeout { .. }));
            let down_reason = std::mem::take(&mut self.down_reason);
            self.publisher.all_down(&self.instruments, silent, down_reason, now_tsc()).await;
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

    /// Fetches the instruments and installs each book's spec; a failure ends the attempt.
    async fn fetch_specs(&mut self) -> Result<(), TransportError> {
        let Some(rest_url) = self.cfg.rest_url.clone() else { return Ok(()) };
        bump(&self.stats.instrument_fetches);
        let symbols: Vec<&str> = self.cfg.symbols.iter().map(|(s, _)| s.as_str()).collect();
        match fetch_instruments(P::VENUE, &rest_url, self.tls.as_ref(), &symbols).await {
            Ok(specs) => {
                // `select` returns the specs in the configured symbol order.
                for (book, spec) in self.books.iter_mut().zip(specs) {
                    book.keeper.set_spec(Some(spec));
                }
                Ok(())
            }
            Err(e) => {
                bump(&self.stats.instrument_errors);
                self.down_reason = reason::INSTRUMENTS;
                Err(ws_error(&rest_url, format!("instruments: {e}")))
            }
        }
    }

    async fn connection(&mut self) -> Result<(), TransportError> {
        self.fetch_specs().await?;
        let base = Endpoint::parse(&self.cfg.ws_url)?;
        let endpoint = base.with_target(self.protocol.ws_target());
        let name = endpoint.authority();
        let mut ws = with_timeout(
            &name,
            self.cfg.connect_timeout_ms,
            ws_connect(&endpoint, self.tls.as_ref(), self.rng),
        )
        .await?;
        bump(&self.stats.connects);
        for index in 0..self.books.len() {
            self.books[index].keeper.resync();
            self.protocol.reset_book(index);
        }
        let symbols: Vec<Symbol> = self.books.iter().map(|b| b.symbol).collect();
        let due = Instant::now() + ms_dur(self.cfg.snapshot_timeout_ms);
        for book in &mut self.books {
            book.snapshot_due = Some(due);
        }
        self.outbox.clear();
        self.protocol.on_connect(&symbols, &mut self.outbox);
        self.flush(&mut ws, &name).await?;
        let mut next_ping = self.protocol.ping().map(|(_, ms)| Instant::now() + ms_dur(ms));
        let mut last_frame = Instant::now();
        let mut idle_pinged = false;
        loop {
            let frame = match read(&mut ws, &name, self.cfg.silence_ms_max, last_frame, idle_pinged)
                .await
            {
                Ok(frame) => frame,
                Err(TransportError::Timeout { .. }) if !idle_pinged => {
                    // Idle for half the silence limit: ping (OKX: "if no message for N < 30 s,
                    // send `ping`, expect `pong` within N s"); a pong is a frame.
                    idle_pinged = true;
                    self.queue_ping();
                    self.flush(&mut ws, &name).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            (last_frame, idle_pinged) = (Instant::now(), false);
            self.check_snapshot_deadlines(last_frame).await;
            let recv_tsc = now_tsc();
            match frame.opcode {
                OpCode::Text | OpCode::Binary => {
                    bump(&self.stats.frames);
                    self.on_payload(&frame.payload, recv_tsc).await;
                }
                OpCode::Close => return Err(ws_error(&name, "closed by peer")),
                _ => {}
            }
            if next_ping.is_some_and(|due| Instant::now() >= due) {
                self.queue_ping();
                next_ping = self.protocol.ping().map(|(_, ms)| Instant::now() + ms_dur(ms));
            }
            self.flush(&mut ws, &name).await?;
        }
    }

    /// Books still waiting for their snapshot past the deadline fail that sync attempt.
    async fn check_snapshot_deadlines(&mut self, now: Instant) {
        for index in 0..self.books.len() {
            let book = &mut self.books[index];
            if book.keeper.state() == BookState::Valid {
                book.snapshot_due = None;
            }
            if book.snapshot_due.is_none_or(|due| now < due) {
                continue;
            }
            book.snapshot_due = None;
            let event = book.keeper.fail_sync_timeout();
            let mut origin = Origin::new(P::VENUE, book.instrument);
            origin.recv_tsc = now_tsc();
            self.publisher.book_event(event, book.keeper.book(), &self.frame, origin).await;
            if matches!(book.keeper.state(), BookState::Invalid { .. }) {
                self.resync_book(index);
            }
        }
    }

    fn queue_ping(&mut self) {
        if let Some((ping, _)) = self.protocol.ping() {
            self.outbox.push(ping.to_string());
            bump(&self.stats.pings);
        }
    }

    /// Writes the outbox (subscribes, resubscribes, pings, answers) as text frames.
    async fn flush(
        &mut self,
        ws: &mut WebSocket<Stream>,
        name: &str,
    ) -> Result<(), TransportError> {
        for text in self.outbox.drain(..) {
            let frame = Frame::text(Payload::Owned(text.into_bytes()));
            with_timeout(name, self.cfg.connect_timeout_ms, async {
                ws.write_frame(frame).await.map_err(|e| ws_error(name, e))
            })
            .await?;
        }
        Ok(())
    }

    async fn on_payload(&mut self, payload: &[u8], recv_tsc: u64) {
        match self.protocol.parse(payload, &mut self.frame) {
            Ok(()) => {}
            Err(WireError::VenueError(_)) => return bump(&self.stats.venue_errors),
            Err(_) => return bump(&self.stats.parse_errors),
        }
        if let Some(answer) = self.protocol.answer(&self.frame) {
            bump(&self.stats.pings);
            self.outbox.push(answer);
        }
        let Some(index) = self.books.iter().position(|b| b.symbol == self.frame.symbol) else {
            return;
        };
        let origin = self.publisher.origin(self.books[index].instrument, &self.frame, recv_tsc);
        match self.frame.kind {
            FrameKind::BookSnapshot | FrameKind::BookDelta | FrameKind::Heartbeat => {
                let book = &mut self.books[index];
                let event = self.protocol.apply_book(index, &mut book.keeper, &self.frame);
                self.publisher.book_event(event, book.keeper.book(), &self.frame, origin).await;
                // A deferred delta's book pass, after its levels went out; a cross found
                // there is published now (the hot thread's books refuse it by themselves).
                if let Some(late) = book.keeper.commit(&self.frame) {
                    self.publisher.book_event(late, book.keeper.book(), &self.frame, origin).await;
                }
                if matches!(book.keeper.state(), BookState::Invalid { .. }) {
                    self.resync_book(index);
                }
            }
            _ => self.publisher.data_frame(&self.frame, origin).await,
        }
    }

    /// Rule "gap ⇒ resubscribe": the keeper restarts its sync (counting the attempt; after its
    /// limit the book stays quarantined and no resubscribe is sent) and the venue is asked for a
    /// fresh snapshot on the same socket.
    fn resync_book(&mut self, index: usize) {
        let book = &mut self.books[index];
        book.keeper.resync();
        self.protocol.reset_book(index);
        if matches!(book.keeper.state(), BookState::Quarantined { .. }) {
            return;
        }
        bump(&self.stats.resubscribes);
        book.snapshot_due = Some(Instant::now() + ms_dur(self.cfg.snapshot_timeout_ms));
        self.protocol.resubscribe_book(book.symbol, &mut self.outbox);
    }
}

/// Reads one frame, timing out at half the silence limit after the last frame (then at the
/// limit itself once the idle ping went out). The read is abandoned only after seconds of
/// silence, when no frame is in flight: fastwebsockets keeps a partial header in its own
/// buffer, so giving up before a frame's header has arrived loses nothing.
async fn read<'f>(
    ws: &'f mut WebSocket<Stream>,
    name: &str,
    silence_ms_max: u64,
    last_frame: Instant,
    idle_pinged: bool,
) -> Result<Frame<'f>, TransportError> {
    let limit_ms = if idle_pinged { silence_ms_max } else { silence_ms_max / 2 };
    let waited_ms = last_frame.elapsed().as_millis() as u64;
    let timeout_ms = limit_ms.saturating_sub(waited_ms).max(1);
    with_timeout(name, timeout_ms, async { ws.read_frame().await.map_err(|e| ws_error(name, e)) })
        .await
}

fn ms_dur(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
