//! The shared simulator for subscribe-driven venues (Bybit, OKX, Deribit): clients open one
//! websocket, send subscribe/unsubscribe/ping messages, and get each book topic's snapshot from
//! the stream followed by its deltas. Each venue module supplies a [`VenueFormat`] (its message
//! shapes and id sequencing); this module owns the seeded random-walk market, the fault knobs
//! and the websocket server that reads client frames as well as writing.
//!
//! Consistency of a snapshot with the deltas that follow: every book message carries its
//! sequence id; when a connection subscribes a book topic it writes the snapshot (the book as
//! of the last generated update, id `S`) and then skips that topic's messages with an id ≤ `S`
//! still queued for it, so a subscriber sees exactly the venue's "snapshot, then deltas".

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
use hedger_core::book::OrderBook;
use hedger_core::msg::Side;
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, mpsc};

use super::instruments::{grid, instruments_body, BYBIT_GRID};
use super::server::{
    accept_stream, bind, json_head, read_head, tls_acceptor, upgrade_head, IoStream, SimThread,
};
use super::{generate_cert, BookFate, Faults, StreamKeyed};
use hedger_core::ids::VenueId;
use hedger_gateways::ws::http::header;

/// Levels per side the simulated book keeps (deeper levels are deleted, as a depth-limited
/// venue channel does).
pub const LEVELS_MAX: usize = 50;
/// Levels per side seeded around the mid.
const LEVELS_SEEDED: i64 = 25;

/// Price levels `(price, qty)` at the wire scale (1e-8), best first.
pub type Levels = Vec<(i64, i64)>;
/// A book as the simulator published it: (last update id, bids, asks).
pub type BookView = (u64, Levels, Levels);

/// One message for the subscribers of `topic`.
#[derive(Debug)]
pub struct SubOut {
    pub topic: String,
    pub text: String,
    /// Update id of a book message (`u`, `seqId`, `change_id`); `u64::MAX` for a reset
    /// snapshot, which always goes out.
    pub seq: u64,
    pub is_book: bool,
}

impl StreamKeyed for SubOut {
    fn stream_key(&self) -> &str {
        &self.topic
    }
}

/// What a client message asks for.
#[derive(Debug, Default)]
pub struct ClientAction {
    pub replies: Vec<String>,
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
    /// Deribit `public/set_heartbeat`: send `test_request` at this period.
    pub heartbeat_ms: Option<u64>,
    /// Deribit `public/test`: the last `test_request` is answered.
    pub test_answered: bool,
}

/// One symbol's simulated market.
pub struct SymbolState {
    pub book: OrderBook,
    pub mid_ticks: i64,
    /// Where the walk started: the mid reverts towards it (see `Market::walk`).
    pub start_mid_ticks: i64,
    /// Id of the last book update.
    pub seq: u64,
    pub trade_id: u64,
    pub step: u64,
}

/// A venue's message shapes on top of the shared market.
pub trait VenueFormat: Send + Sync + 'static {
    fn venue(&self) -> VenueId;
    /// Websocket route, e.g. `/v5/public/linear`.
    fn ws_path(&self) -> &'static str;
    /// Price tick and lot at the wire scale, and the decimals the venue writes them with: the
    /// grid the simulator's instruments endpoint advertises (every symbol shares it).
    fn tick_lot(&self, _symbol_index: usize) -> (i64, i64, u8, u8) {
        let g = grid(self.venue()).unwrap_or(BYBIT_GRID);
        (g.tick_e8, g.lot_e8, g.price_decimals, g.qty_decimals)
    }
    /// Path of the instruments endpoint (`GET`, any query).
    fn instruments_path(&self) -> &'static str;
    /// Path prefix of the venue's REST base (Deribit: `/api/v2`).
    fn rest_base_path(&self) -> &'static str {
        ""
    }
    /// The book topic of `symbol` and back.
    fn book_topic(&self, symbol: &str) -> String;
    fn book_symbol<'t>(&self, topic: &'t str) -> Option<&'t str>;
    /// Next update id after `seq` (`r` random).
    fn next_seq(&self, seq: u64, r: u64) -> u64;
    /// A full-book message of `symbol` at `state.seq`.
    fn snapshot(&self, symbol: &str, index: usize, state: &SymbolState, now_ms: u64) -> String;
    /// A delta from `prev` to `state.seq` with these changed levels.
    #[allow(clippy::too_many_arguments)]
    fn delta(
        &self,
        symbol: &str,
        index: usize,
        state: &SymbolState,
        prev: u64,
        bids: &Levels,
        asks: &Levels,
        now_ms: u64,
    ) -> String;
    /// A heartbeat for a quiet book (OKX: an empty update with `seqId == prevSeqId`).
    fn idle_book(&self, _symbol: &str, _state: &SymbolState, _now_ms: u64) -> Option<String> {
        None
    }
    /// Trade and ticker messages after a step: (topic, text).
    fn data(
        &self,
        symbol: &str,
        index: usize,
        state: &SymbolState,
        now_ms: u64,
    ) -> Vec<(String, String)>;
    /// Parses a client text frame.
    fn on_client(&self, text: &str) -> ClientAction;
    /// The venue's error reply to a subscribe of a book topic whose symbol it does not list
    /// (`None`: the venue stays silent, as Deribit does).
    fn unknown_topic(&self, _topic: &str) -> Option<String> {
        None
    }
    /// The `test_request` heartbeat (Deribit), if the venue has one.
    fn test_request(&self) -> Option<String> {
        None
    }
    /// Whether this venue's resets (Bybit `u=1`) are simulated.
    fn resets(&self) -> bool {
        false
    }
}

/// Settings of a pub-sub simulator.
#[derive(Clone, Debug)]
pub struct PubSubSimConfig {
    pub bind: SocketAddr,
    pub tls: bool,
    pub symbols: Vec<String>,
    pub seed: u64,
    pub tick_interval_ms: u64,
    /// Most symbols per page of Bybit's instruments endpoint, whatever `limit` the client asks
    /// (the venue's own cap is 1000). Tests set it low to make the client follow the cursor.
    pub instruments_page_max: usize,
}

impl PubSubSimConfig {
    pub fn new(symbols: &[&str]) -> PubSubSimConfig {
        PubSubSimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            seed: 7,
            tick_interval_ms: 10,
            instruments_page_max: BYBIT_LIMIT_MAX,
        }
    }
}

/// Counters of the simulator.
#[derive(Debug, Default)]
pub struct SimCounters {
    pub connections: AtomicU64,
    pub subscribes: AtomicU64,
    pub pings: AtomicU64,
    pub tests_answered: AtomicU64,
    pub test_requests: AtomicU64,
}

/// The market shared by the generator and the connections.
pub struct Market {
    symbols: BTreeMap<String, (usize, SymbolState)>,
    rng: u64,
}

impl Market {
    fn new(cfg: &PubSubSimConfig, format: &dyn VenueFormat) -> Market {
        let mut market = Market { symbols: BTreeMap::new(), rng: cfg.seed | 1 };
        for (i, symbol) in cfg.symbols.iter().enumerate() {
            let (tick, lot, _, _) = format.tick_lot(i);
            let mid = start_price_e8(symbol) / tick;
            let mut book = OrderBook::new(4 * LEVELS_MAX);
            for k in 1..=LEVELS_SEEDED {
                let qty = lot * (1 + (market.next() % 5_000) as i64);
                let _ = book.set(Side::Buy, (mid - k) * tick, qty);
                let _ = book.set(Side::Sell, (mid + k) * tick, qty);
            }
            let state = SymbolState {
                book,
                mid_ticks: mid,
                start_mid_ticks: mid,
                seq: 1_000 + i as u64,
                trade_id: 1,
                step: 0,
            };
            market.symbols.insert(symbol.clone(), (i, state));
        }
        market
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// One random-walk step of `symbol`: the changed levels (0 = delete), already applied.
    fn walk(&mut self, symbol: &str, tick: i64, lot: i64) -> (Levels, Levels) {
        let (r, r2) = (self.next(), self.next());
        let Some((_, m)) = self.symbols.get_mut(symbol) else { return (Vec::new(), Vec::new()) };
        m.mid_ticks += walk_step(m.mid_ticks, m.start_mid_ticks, r);
        let mid = m.mid_ticks;
        let crossing = |side: Side, book: &OrderBook| -> Levels {
            book.side(side)
                .iter()
                .filter(|l| match side {
                    Side::Buy => l.price_ticks >= mid * tick,
                    Side::Sell => l.price_ticks <= mid * tick,
                })
                .map(|l| (l.price_ticks, 0))
                .collect()
        };
        let (mut bids, mut asks) = (crossing(Side::Buy, &m.book), crossing(Side::Sell, &m.book));
        for j in 0..(1 + r2 % 4) {
            let k = 1 + ((r2 >> (8 + j * 8)) % LEVELS_SEEDED as u64) as i64;
            let qty = if (r >> (20 + j)) & 7 == 0 {
                0
            } else {
                lot * (1 + ((r >> (24 + j * 4)) % 5_000) as i64)
            };
            let (levels, price) = if (r2 >> (40 + j)) & 1 == 0 {
                (&mut bids, (mid - k) * tick)
            } else {
                (&mut asks, (mid + k) * tick)
            };
            levels.retain(|(p, _)| *p != price);
            levels.push((price, qty));
        }
        for (side, levels) in [(Side::Buy, &mut bids), (Side::Sell, &mut asks)] {
            for (p, q) in levels.iter() {
                let _ = m.book.set(side, *p, *q);
            }
            // Depth-limited channel: levels pushed beyond LEVELS_MAX are deleted.
            let beyond: Vec<i64> =
                m.book.side(side).iter().skip(LEVELS_MAX).map(|l| l.price_ticks).collect();
            for p in beyond {
                let _ = m.book.set(side, p, 0);
                levels.retain(|(q, _)| *q != p);
                levels.push((p, 0));
            }
            // A level set then deleted in one step is just a delete of a level the book never
            // showed: drop deletes of prices the book did not have before and does not have now.
            levels
                .retain(|(p, q)| *q != 0 || !m.book.side(side).iter().any(|l| l.price_ticks == *p));
        }
        (bids, asks)
    }
}

/// Start prices at the wire scale, matching the oracle simulators' market (BTC 65 000,
/// ETH 3 500), so venue mids agree with the reference in an embedded run.
pub fn start_price_e8(symbol: &str) -> i64 {
    if symbol.starts_with("BTC") {
        65_000 * 100_000_000
    } else if symbol.starts_with("ETH") {
        3_500 * 100_000_000
    } else {
        100 * 100_000_000
    }
}

/// One step of the mid in ticks: a ±1 random walk that is pushed back once it has wandered
/// more than 0.2 % from its start, so a long run stays within the oracles' deviation limits.
pub fn walk_step(mid_ticks: i64, start_ticks: i64, r: u64) -> i64 {
    let band = (start_ticks / 500).max(1);
    let drift = mid_ticks - start_ticks;
    if drift > band {
        -1
    } else if drift < -band {
        1
    } else {
        (r % 3) as i64 - 1
    }
}

fn lock(market: &Mutex<Market>) -> MutexGuard<'_, Market> {
    market.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    hedger_ipc::clock::unix_ms()
}

/// A running pub-sub simulator.
pub struct PubSubSim {
    pub addr: SocketAddr,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    pub faults: Arc<Faults>,
    pub counters: Arc<SimCounters>,
    pub tls: bool,
    rest_base_path: &'static str,
    market: Arc<Mutex<Market>>,
    shared: Arc<Shared>,
    /// Stops the simulator when dropped.
    _thread: SimThread,
}

struct Shared {
    /// The last update the gap fault skipped: (symbol, update id).
    last_gap: Mutex<Option<(String, u64)>>,
    format: Arc<dyn VenueFormat>,
    market: Arc<Mutex<Market>>,
    faults: Arc<Faults>,
    counters: Arc<SimCounters>,
    instruments_page_max: usize,
}

impl PubSubSim {
    /// Starts the simulator of `format` on its own thread.
    ///
    /// # Errors
    /// The address cannot be bound or the certificate cannot be made.
    pub fn start(cfg: PubSubSimConfig, format: Arc<dyn VenueFormat>) -> std::io::Result<PubSubSim> {
        PubSubSim::start_with_faults(cfg, format, Arc::new(Faults::default()))
    }

    /// As [`PubSubSim::start`], sharing `faults` with the format (OKX's bad-checksum knob).
    ///
    /// # Errors
    /// The address cannot be bound or the certificate cannot be made.
    pub fn start_with_faults(
        cfg: PubSubSimConfig,
        format: Arc<dyn VenueFormat>,
        faults: Arc<Faults>,
    ) -> std::io::Result<PubSubSim> {
        let cert = generate_cert().map_err(std::io::Error::other)?;
        let acceptor =
            if cfg.tls { Some(tls_acceptor(&cert).map_err(std::io::Error::other)?) } else { None };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = runtime.block_on(bind(cfg.bind))?;
        let addr = listener.local_addr()?;
        let market = Arc::new(Mutex::new(Market::new(&cfg, format.as_ref())));
        let shared = Arc::new(Shared {
            last_gap: Mutex::new(None),
            format,
            market: Arc::clone(&market),
            faults,
            counters: Arc::new(SimCounters::default()),
            instruments_page_max: cfg.instruments_page_max.max(1),
        });
        let (faults, counters) = (Arc::clone(&shared.faults), Arc::clone(&shared.counters));
        let tls = cfg.tls;
        let rest_base_path = shared.format.rest_base_path();
        let shared_handle = Arc::clone(&shared);
        let work = async move {
            let (feed, _) = broadcast::channel::<Arc<SubOut>>(65_536);
            let server = serve(listener, acceptor, Arc::clone(&shared), feed.clone());
            let generator = generate(Arc::clone(&shared), feed, cfg);
            tokio::select! {
                _ = server => {}
                _ = generator => {}
            }
        };
        let thread = SimThread::spawn("sim-pubsub", None, runtime, work)?;
        Ok(PubSubSim {
            addr,
            cert_der: cert.cert_der,
            cert_pem: cert.cert_pem,
            faults,
            counters,
            tls,
            rest_base_path,
            market,
            shared: shared_handle,
            _thread: thread,
        })
    }

    /// `wss://127.0.0.1:port` (or `ws://`).
    pub fn ws_url(&self) -> String {
        format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    /// The venue's REST base: `https://127.0.0.1:port` (or `http://`), plus the venue's base
    /// path (Deribit `/api/v2`).
    pub fn rest_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, self.rest_base_path)
    }

    /// The last update the gap fault skipped: (symbol, update id).
    pub fn last_gap(&self) -> Option<(String, u64)> {
        self.shared.last_gap.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The simulator's current book of `symbol`.
    pub fn book(&self, symbol: &str) -> Option<BookView> {
        let market = lock(&self.market);
        let (_, m) = market.symbols.get(symbol)?;
        let side = |s| m.book.side(s).iter().map(|l| (l.price_ticks, l.qty_lots)).collect();
        Some((m.seq, side(Side::Buy), side(Side::Sell)))
    }
}

/// Drives the market: per tick and symbol one update (book delta, sometimes a trade and a
/// ticker), through the book faults; a paused market sends only idle-book heartbeats.
async fn generate(shared: Arc<Shared>, feed: broadcast::Sender<Arc<SubOut>>, cfg: PubSubSimConfig) {
    let mut interval = tokio::time::interval(Duration::from_millis(cfg.tick_interval_ms.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held: Option<Arc<SubOut>> = None;
    let mut ticks = 0u64;
    loop {
        interval.tick().await;
        ticks += 1;
        let paused = shared.faults.paused.load(Ordering::Acquire);
        for symbol in &cfg.symbols {
            if paused {
                if ticks.is_multiple_of(10) {
                    idle(&shared, &feed, symbol);
                }
                continue;
            }
            for out in step(&shared, symbol) {
                let out = Arc::new(out);
                if out.is_book {
                    let fate = shared.faults.book_fate(
                        || lock(&shared.market).next(),
                        &feed,
                        &out,
                        &mut held,
                    );
                    if fate == BookFate::Gap {
                        let symbol = shared.format.book_symbol(&out.topic).unwrap_or_default();
                        *shared.last_gap.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some((symbol.to_string(), out.seq));
                    }
                    if fate != BookFate::Send {
                        continue;
                    }
                }
                let _ = feed.send(out);
            }
        }
    }
}

fn idle(shared: &Shared, feed: &broadcast::Sender<Arc<SubOut>>, symbol: &str) {
    let market = lock(&shared.market);
    let Some((_, m)) = market.symbols.get(symbol) else { return };
    if let Some(text) = shared.format.idle_book(symbol, m, now_ms()) {
        let topic = shared.format.book_topic(symbol);
        let _ = feed.send(Arc::new(SubOut { topic, text, seq: m.seq, is_book: true }));
    }
}

/// One market step of `symbol` and the messages it makes.
fn step(shared: &Shared, symbol: &str) -> Vec<SubOut> {
    let format = shared.format.as_ref();
    let mut market = lock(&shared.market);
    let Some(&(index, _)) = market.symbols.get(symbol) else { return Vec::new() };
    let (tick, lot, _, _) = format.tick_lot(index);
    let reset = format.resets() && Faults::take(&shared.faults.reset_next);
    let (bids, asks) = market.walk(symbol, tick, lot);
    let r = market.next();
    let Some((_, m)) = market.symbols.get_mut(symbol) else { return Vec::new() };
    let topic = format.book_topic(symbol);
    let now = now_ms();
    let prev = m.seq;
    m.step += 1;
    let mut out = Vec::with_capacity(3);
    if reset {
        // Bybit §2.3: a `snapshot` with u=1 after a service restart; ids continue from 1.
        m.seq = 1;
        let text = format.snapshot(symbol, index, m, now);
        out.push(SubOut { topic, text, seq: u64::MAX, is_book: true });
    } else {
        m.seq = format.next_seq(prev, r);
        let text = format.delta(symbol, index, m, prev, &bids, &asks, now);
        out.push(SubOut { topic, text, seq: m.seq, is_book: true });
    }
    for (topic, text) in format.data(symbol, index, m, now) {
        out.push(SubOut { topic, text, seq: 0, is_book: false });
    }
    out
}

async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    feed: broadcast::Sender<Arc<SubOut>>,
) {
    loop {
        let Ok((tcp, _peer)) = listener.accept().await else { continue };
        let (tls, shared, feed) = (tls.clone(), Arc::clone(&shared), feed.clone());
        tokio::spawn(async move {
            let Some(mut stream) = accept_stream(tcp, tls).await else { return };
            let Some(head) = read_head(&mut stream).await else { return };
            let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let upgrade =
                header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
            let key = header(&head, "sec-websocket-key");
            let (true, Some(key), true) = (upgrade, key, target == shared.format.ws_path()) else {
                let (status, body) = rest(&shared, &target);
                let response = json_head(status, body.len()) + &body;
                let _ = stream.write_all(response.as_bytes()).await;
                return;
            };
            if stream.write_all(upgrade_head(key).as_bytes()).await.is_err() {
                return;
            }
            shared.counters.connections.fetch_add(1, Ordering::AcqRel);
            let rx = feed.subscribe();
            let ws = WebSocket::after_handshake(stream, Role::Server);
            connection(ws, rx, &shared).await;
        });
    }
}

/// A REST request: the instruments endpoint (Deribit: the symbols of the `currency` asked
/// for), else 404.
fn rest(shared: &Shared, target: &str) -> (&'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != shared.format.instruments_path() {
        return ("404 Not Found", r#"{"error":"not found"}"#.to_string());
    }
    let currency = query.split('&').find_map(|kv| kv.strip_prefix("currency="));
    let market = lock(&shared.market);
    let symbols: Vec<&str> = market
        .symbols
        .keys()
        .map(String::as_str)
        .filter(|s| currency.is_none_or(|c| s.split('-').next() == Some(c)))
        .collect();
    if shared.format.venue() == VenueId::Bybit {
        return bybit_instruments_page(query, &symbols, shared.instruments_page_max);
    }
    match instruments_body(shared.format.venue(), &symbols) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", r#"{"error":"not found"}"#.to_string()),
    }
}

/// Bybit's cap on `limit` for `instruments-info` (its default is 500).
pub const BYBIT_LIMIT_MAX: usize = 1000;
const BYBIT_LIMIT_DEFAULT: usize = 500;

/// One page of Bybit's instruments endpoint: `limit` symbols (default 500, at most 1000 and at
/// most the simulator's page cap) from the `cursor` on, with the next page's cursor, or an
/// empty one on the last page. The cursor is opaque to clients, as Bybit's is; a cursor this
/// simulator did not hand out gets Bybit's parameter error.
fn bybit_instruments_page(
    query: &str,
    symbols: &[&str],
    page_max: usize,
) -> (&'static str, String) {
    let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name));
    let limit = param("limit=")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(BYBIT_LIMIT_DEFAULT)
        .clamp(1, BYBIT_LIMIT_MAX)
        .min(page_max);
    let start = match param("cursor=") {
        None | Some("") => 0,
        Some(cursor) => {
            match cursor.strip_prefix("next%3D").and_then(|n| n.parse::<usize>().ok()) {
                Some(start) if start < symbols.len() => start,
                _ => {
                    let body = r#"{"retCode":10001,"retMsg":"params error: cursor invalid","result":{},"retExtInfo":{},"time":0}"#;
                    return ("200 OK", body.to_string());
                }
            }
        }
    };
    let end = (start + limit).min(symbols.len());
    let next = if end < symbols.len() { format!("next%3D{end}") } else { String::new() };
    ("200 OK", super::instruments::bybit_instruments_info_page(&symbols[start..end], &next))
}

/// Per-connection state of the writer.
struct Conn {
    topics: HashMap<String, Option<u64>>,
    heartbeat_ms: Option<u64>,
    test_pending: bool,
}

async fn connection(
    ws: WebSocket<Box<dyn IoStream>>,
    mut rx: broadcast::Receiver<Arc<SubOut>>,
    shared: &Shared,
) {
    let (mut reader, mut writer) = ws.split(tokio::io::split);
    let (client_tx, mut client_rx) = mpsc::channel::<String>(256);
    let reader_task = tokio::spawn(async move {
        let mut ignore = |_frame: Frame<'_>| async { Ok::<(), std::io::Error>(()) };
        while let Ok(frame) = reader.read_frame(&mut ignore).await {
            match frame.opcode {
                OpCode::Text => {
                    let text = String::from_utf8_lossy(&frame.payload).into_owned();
                    if client_tx.send(text).await.is_err() {
                        return;
                    }
                }
                OpCode::Close => return,
                _ => {}
            }
        }
    });
    let generation = shared.faults.disconnect_generation.load(Ordering::Acquire);
    let mut conn = Conn { topics: HashMap::new(), heartbeat_ms: None, test_pending: false };
    let mut heartbeat = tokio::time::interval(Duration::from_millis(20));
    let mut next_test = tokio::time::Instant::now() + Duration::from_secs(3600);
    let mut texts: Vec<String> = Vec::new();
    loop {
        texts.clear();
        tokio::select! {
            client = client_rx.recv() => {
                let Some(client) = client else { break };
                if let Some(ms) = on_client(shared, &mut conn, &client, &mut texts) {
                    next_test = tokio::time::Instant::now() + Duration::from_millis(ms);
                }
            }
            out = rx.recv() => match out {
                Ok(out) => forward(&mut conn, &out, &mut texts),
                // A subscriber that falls behind is cut off, as real venues do.
                Err(_) => break,
            },
            _ = heartbeat.tick() => {
                if shared.faults.disconnect_generation.load(Ordering::Acquire) != generation {
                    let _ = writer.write_frame(Frame::close(1001, b"simulated disconnect")).await;
                    break;
                }
                if let (Some(ms), true) = (conn.heartbeat_ms, tokio::time::Instant::now() >= next_test) {
                    if conn.test_pending {
                        // Deribit §4.3: an unanswered test_request closes the connection.
                        let _ = writer.write_frame(Frame::close(1000, b"test_request unanswered")).await;
                        break;
                    }
                    if let Some(text) = shared.format.test_request() {
                        if !shared.faults.stalled.load(Ordering::Acquire) {
                            conn.test_pending = true;
                            shared.counters.test_requests.fetch_add(1, Ordering::AcqRel);
                            texts.push(text);
                        }
                    }
                    next_test = tokio::time::Instant::now() + Duration::from_millis(ms);
                }
            }
        }
        if shared.faults.stalled.load(Ordering::Acquire) {
            continue;
        }
        let delay_us = shared.faults.latency_us.load(Ordering::Acquire);
        if delay_us > 0 && !texts.is_empty() {
            tokio::time::sleep(Duration::from_micros(delay_us)).await;
        }
        let mut failed = false;
        for text in texts.drain(..) {
            let frame = Frame::new(true, OpCode::Text, None, Payload::Owned(text.into_bytes()));
            if writer.write_frame(frame).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed {
            break;
        }
    }
    reader_task.abort();
}

/// Handles one client message: replies, then subscription changes (a book subscribe writes the
/// snapshot and starts the id filter). Returns a heartbeat period the client just set.
fn on_client(shared: &Shared, conn: &mut Conn, text: &str, texts: &mut Vec<String>) -> Option<u64> {
    let action = shared.format.on_client(text);
    texts.extend(action.replies);
    if action.test_answered {
        conn.test_pending = false;
        shared.counters.tests_answered.fetch_add(1, Ordering::AcqRel);
    }
    if let Some(ms) = action.heartbeat_ms {
        conn.heartbeat_ms = Some(ms);
    }
    for topic in action.unsubscribe {
        conn.topics.remove(&topic);
    }
    for topic in action.subscribe {
        shared.counters.subscribes.fetch_add(1, Ordering::AcqRel);
        let mut filter = None;
        if let Some(symbol) = shared.format.book_symbol(&topic) {
            let market = lock(&shared.market);
            if !market.symbols.contains_key(symbol) {
                texts.extend(shared.format.unknown_topic(&topic));
                continue;
            }
            if let Some((index, m)) = market.symbols.get(symbol) {
                if !shared.faults.withhold_snapshots.load(Ordering::Acquire) {
                    texts.push(shared.format.snapshot(symbol, *index, m, now_ms()));
                }
                filter = Some(m.seq);
            }
        }
        conn.topics.insert(topic, filter);
    }
    action.heartbeat_ms
}

fn forward(conn: &mut Conn, out: &SubOut, texts: &mut Vec<String>) {
    let Some(filter) = conn.topics.get_mut(&out.topic) else { return };
    if let Some(snapshot_seq) = *filter {
        if out.seq != u64::MAX && out.seq <= snapshot_seq {
            return;
        }
        *filter = None;
    }
    texts.push(out.text.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedger_gateways::venue::instruments::parse_bybit_page;

    /// The pages a client reads by following `nextPageCursor` hold every symbol once, in order;
    /// `limit` is honoured up to the caps; a cursor not handed out is Bybit's parameter error.
    #[test]
    fn bybit_instruments_pages_follow_the_cursor() {
        let symbols = ["ADAUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"];
        let mut query = "category=linear&limit=2".to_string();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (status, body) = bybit_instruments_page(&query, &symbols, 1000);
            assert_eq!(status, "200 OK");
            let (specs, next) = parse_bybit_page(body.as_bytes()).unwrap();
            assert!(specs.len() <= 2);
            seen.extend(specs.into_iter().map(|s| s.symbol.as_str().to_string()));
            pages += 1;
            if next.is_empty() {
                break;
            }
            query = format!("category=linear&limit=2&cursor={next}");
        }
        assert_eq!((pages, seen), (3, symbols.map(String::from).to_vec()));
        let (_, one) = bybit_instruments_page("category=linear&limit=1000", &symbols, 1);
        assert_eq!(parse_bybit_page(one.as_bytes()).unwrap().0.len(), 1, "the page cap wins");
        let (_, all) = bybit_instruments_page("category=linear", &symbols, 1000);
        assert_eq!(parse_bybit_page(all.as_bytes()).unwrap().1, "", "one page holds five");
        let (_, bad) = bybit_instruments_page("category=linear&cursor=forged", &symbols, 1000);
        assert!(parse_bybit_page(bad.as_bytes()).is_err());
    }
}
