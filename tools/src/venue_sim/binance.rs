//! Binance USDⓈ-M simulator: `/public|/market/stream?streams=…` websockets, `GET
//! /fapi/v1/depth`, `GET /fapi/v1/exchangeInfo`, with the venue's message shapes and its
//! `U`/`u`/`pu` sequencing (ids advance by 1–3 per event, as on futures where they are not
//! contiguous), driven by a seeded random-walk book.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hedger_core::book::OrderBook;
use hedger_core::fixed::format_decimal;
use hedger_core::msg::Side;
use tokio::sync::broadcast;

use super::server::{bind, serve, tls_acceptor, SimThread, SimVenue, WsOut};
use super::{generate_cert, BookFate, Faults};

/// Wire scale of the simulated book (same as the gateways' parse scale).
const SCALE: u8 = 8;
const PRICE_DECIMALS: u8 = 1;
const QTY_DECIMALS: u8 = 3;
/// 0.1 at the wire scale (what exchangeInfo advertises, see `instruments::BINANCE_GRID`).
const TICK: i64 = super::instruments::BINANCE_GRID.tick_e8;
/// 0.001 at the wire scale.
const LOT: i64 = super::instruments::BINANCE_GRID.lot_e8;
const LEVELS_PER_SIDE: i64 = 25;

/// Settings of the simulator.
#[derive(Clone, Debug)]
pub struct BinanceSimConfig {
    pub bind: SocketAddr,
    pub tls: bool,
    pub symbols: Vec<String>,
    pub seed: u64,
    pub tick_interval_ms: u64,
    /// Pin the simulator thread to this CPU (benchmarks keep it off the measured threads).
    pub pin_cpu: Option<usize>,
    /// Levels per side in every `depthUpdate` (each of the `update_levels` ticks next to the
    /// mid gets a new quantity, one in eight deleted): 20 gives the ~950-byte 20×20 update the
    /// benchmarks target. 0: a few random changes per update, as a quiet market.
    pub update_levels: usize,
    /// Levels per side the book starts with (a REST snapshot shows up to its `limit` of them).
    pub book_levels: usize,
}

impl Default for BinanceSimConfig {
    fn default() -> Self {
        BinanceSimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            symbols: vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()],
            seed: 7,
            tick_interval_ms: 10,
            pin_cpu: None,
            update_levels: 0,
            book_levels: LEVELS_PER_SIDE as usize,
        }
    }
}

/// Price levels `(price, qty)` at the wire scale, best first.
pub type Levels = Vec<(i64, i64)>;
/// A book as the simulator publishes it: (last event `u`, bids, asks).
pub type BookView = (u64, Levels, Levels);

/// Engine changes not yet published.
struct Pending {
    first_u: u64,
    bids: Levels,
    asks: Levels,
}

struct SymbolMarket {
    /// The matching engine's book: every change applied so far (what REST snapshots show).
    book: OrderBook,
    /// The book as of the last published event (what a websocket subscriber can rebuild).
    published: OrderBook,
    mid_ticks: i64,
    /// Where the walk started (the mid reverts towards it).
    start_mid_ticks: i64,
    /// Update id of the engine's latest change.
    engine_u: u64,
    /// `u` of the last published event.
    last_u: u64,
    /// Changes applied to the engine but not yet published: (first id, bids, asks). Events
    /// trail the engine by one step, so a snapshot's `lastUpdateId` falls inside the range of
    /// the next event, as on the venue (venues.md §1.4 step 5).
    pending: Option<Pending>,
    trade_id: u64,
}

/// The simulated market (shared by the generator and the REST handler).
pub struct Market {
    symbols: BTreeMap<String, SymbolMarket>,
    rng: u64,
    update_levels: usize,
}

fn levels_text(levels: &[(i64, i64)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| {
            format!(
                "[\"{}\",\"{}\"]",
                format_decimal(*p, SCALE, PRICE_DECIMALS),
                format_decimal(*q, SCALE, QTY_DECIMALS)
            )
        })
        .collect();
    items.join(",")
}

impl Market {
    fn new(cfg: &BinanceSimConfig) -> Market {
        let mut market = Market {
            symbols: BTreeMap::new(),
            rng: cfg.seed | 1,
            update_levels: cfg.update_levels,
        };
        let capacity = cfg.book_levels.max(1024);
        for symbol in &cfg.symbols {
            let mid_ticks = super::pubsub::start_price_e8(symbol) / TICK;
            let (mut book, mut published) = (OrderBook::new(capacity), OrderBook::new(capacity));
            for k in 1..=cfg.book_levels.max(1) as i64 {
                let qty = LOT * (1 + (market.next() % 5_000) as i64);
                for b in [&mut book, &mut published] {
                    let _ = b.set(Side::Buy, (mid_ticks - k) * TICK, qty);
                    let _ = b.set(Side::Sell, (mid_ticks + k) * TICK, qty);
                }
            }
            let m = SymbolMarket {
                book,
                published,
                mid_ticks,
                start_mid_ticks: mid_ticks,
                engine_u: 1_000_000,
                last_u: 1_000_000,
                pending: None,
                trade_id: 1,
            };
            market.symbols.insert(symbol.clone(), m);
            market.step(symbol, 0);
        }
        market
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// The published book of `symbol`: (last event `u`, bids, asks) at the wire scale.
    pub fn book(&self, symbol: &str) -> Option<BookView> {
        let m = self.symbols.get(symbol)?;
        let side = |s| m.published.side(s).iter().map(|l| (l.price_ticks, l.qty_lots)).collect();
        Some((m.last_u, side(Side::Buy), side(Side::Sell)))
    }

    /// Random changes around the mid after a random-walk step.
    fn changes(&mut self, symbol: &str) -> (Levels, Levels, u64) {
        let (r, r2) = (self.next(), self.next());
        let wide: Vec<u64> = (0..2 * self.update_levels).map(|_| self.next()).collect();
        let Some(m) = self.symbols.get_mut(symbol) else { return (Vec::new(), Vec::new(), r) };
        m.mid_ticks += super::pubsub::walk_step(m.mid_ticks, m.start_mid_ticks, r);
        let mid = m.mid_ticks;
        let mut bids: Levels = m
            .book
            .side(Side::Buy)
            .iter()
            .filter(|l| l.price_ticks >= mid * TICK)
            .map(|l| (l.price_ticks, 0))
            .collect();
        let mut asks: Levels = m
            .book
            .side(Side::Sell)
            .iter()
            .filter(|l| l.price_ticks <= mid * TICK)
            .map(|l| (l.price_ticks, 0))
            .collect();
        // A busy market: every tick next to the mid changes, on both sides.
        for (i, w) in wide.iter().enumerate() {
            let k = 1 + (i / 2) as i64;
            let qty = if w & 7 == 0 { 0 } else { LOT * (1 + ((w >> 8) % 5_000) as i64) };
            if i % 2 == 0 {
                bids.push(((mid - k) * TICK, qty));
            } else {
                asks.push(((mid + k) * TICK, qty));
            }
        }
        let quiet = if wide.is_empty() { 1 + r2 % 4 } else { 0 };
        for j in 0..quiet {
            let k = 1 + ((r2 >> (8 + j * 8)) % LEVELS_PER_SIDE as u64) as i64;
            let qty = if (r >> (20 + j)) & 7 == 0 {
                0
            } else {
                LOT * (1 + ((r >> (24 + j * 4)) % 5_000) as i64)
            };
            if (r2 >> (40 + j)) & 1 == 0 {
                bids.push(((mid - k) * TICK, qty));
            } else {
                asks.push(((mid + k) * TICK, qty));
            }
        }
        (bids, asks, r)
    }

    /// Publishes the pending event without moving the engine (a paused market settles so the
    /// published book equals the engine's).
    fn flush(&mut self, symbol: &str, now_ms: u64) -> Vec<WsOut> {
        let Some(m) = self.symbols.get_mut(symbol) else { return Vec::new() };
        publish_pending(m, symbol, now_ms).into_iter().collect()
    }

    /// Publishes the pending event, then moves the engine one step; returns the messages.
    fn step(&mut self, symbol: &str, now_ms: u64) -> Vec<WsOut> {
        let (bids, asks, r) = self.changes(symbol);
        let Some(m) = self.symbols.get_mut(symbol) else { return Vec::new() };
        let lower = symbol.to_lowercase();
        let mut out: Vec<WsOut> = publish_pending(m, symbol, now_ms).into_iter().collect();
        for (p, q) in &bids {
            let _ = m.book.set(Side::Buy, *p, *q);
        }
        for (p, q) in &asks {
            let _ = m.book.set(Side::Sell, *p, *q);
        }
        let first = m.engine_u + 1;
        m.engine_u = first + r % 3;
        m.pending = Some(Pending { first_u: first, bids, asks });
        if let (Some(b), Some(a)) = (m.published.best_bid(), m.published.best_ask()) {
            out.push(WsOut {
                stream: format!("{lower}@bookTicker"),
                text: format!(
                    r#"{{"e":"bookTicker","u":{},"E":{now_ms},"T":{now_ms},"s":"{symbol}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
                    m.last_u,
                    format_decimal(b.price_ticks, SCALE, PRICE_DECIMALS),
                    format_decimal(b.qty_lots, SCALE, QTY_DECIMALS),
                    format_decimal(a.price_ticks, SCALE, PRICE_DECIMALS),
                    format_decimal(a.qty_lots, SCALE, QTY_DECIMALS)
                ),
                is_book: false,
            });
            if r % 4 == 0 {
                m.trade_id += 1;
                let buyer_maker = r & 16 != 0;
                let price = if buyer_maker { b.price_ticks } else { a.price_ticks };
                out.push(WsOut {
                    stream: format!("{lower}@aggTrade"),
                    text: format!(
                        r#"{{"e":"aggTrade","E":{now_ms},"s":"{symbol}","a":{},"p":"{}","q":"0.010","nq":"0.010","f":{},"l":{},"T":{now_ms},"m":{buyer_maker}}}"#,
                        m.trade_id,
                        format_decimal(price, SCALE, PRICE_DECIMALS),
                        m.trade_id,
                        m.trade_id
                    ),
                    is_book: false,
                });
            }
        }
        out
    }

    fn symbols(&self) -> Vec<String> {
        self.symbols.keys().cloned().collect()
    }

    fn snapshot_json(&self, symbol: &str, limit: usize) -> Option<String> {
        let m = self.symbols.get(symbol)?;
        let side = |s| {
            let items: Vec<String> = m
                .book
                .top(s, limit)
                .iter()
                .map(|l| {
                    format!(
                        "[\"{}\",\"{}\"]",
                        format_decimal(l.price_ticks, SCALE, PRICE_DECIMALS),
                        format_decimal(l.qty_lots, SCALE, QTY_DECIMALS)
                    )
                })
                .collect();
            items.join(",")
        };
        Some(format!(
            r#"{{"lastUpdateId":{},"E":0,"T":0,"bids":[{}],"asks":[{}]}}"#,
            m.engine_u,
            side(Side::Buy),
            side(Side::Sell)
        ))
    }
}

/// Publishes `m`'s pending event, if any.
fn publish_pending(m: &mut SymbolMarket, symbol: &str, now_ms: u64) -> Option<WsOut> {
    let Pending { first_u: first, bids, asks } = m.pending.take()?;
    for (p, q) in &bids {
        let _ = m.published.set(Side::Buy, *p, *q);
    }
    for (p, q) in &asks {
        let _ = m.published.set(Side::Sell, *p, *q);
    }
    let (prev, last) = (m.last_u, m.engine_u);
    m.last_u = last;
    let text = format!(
        r#"{{"e":"depthUpdate","E":{now_ms},"T":{now_ms},"s":"{symbol}","U":{first},"u":{last},"pu":{prev},"b":[{}],"a":[{}]}}"#,
        levels_text(&bids),
        levels_text(&asks)
    );
    Some(WsOut { stream: format!("{}@depth@100ms", symbol.to_lowercase()), text, is_book: true })
}

struct Venue {
    market: Arc<Mutex<Market>>,
}

fn lock(market: &Mutex<Market>) -> MutexGuard<'_, Market> {
    market.lock().unwrap_or_else(|e| e.into_inner())
}

fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

impl SimVenue for Venue {
    fn rest(&self, target: &str) -> (u16, String) {
        let path = target.split('?').next().unwrap_or("");
        match path {
            "/fapi/v1/depth" => {
                let symbol = query_param(target, "symbol").unwrap_or("");
                let limit =
                    query_param(target, "limit").and_then(|l| l.parse().ok()).unwrap_or(500);
                match lock(&self.market).snapshot_json(symbol, limit) {
                    Some(body) => (200, body),
                    None => (400, r#"{"code":-1121,"msg":"Invalid symbol."}"#.to_string()),
                }
            }
            "/fapi/v1/exchangeInfo" => {
                let market = lock(&self.market);
                let symbols: Vec<&str> = market.symbols.keys().map(String::as_str).collect();
                (200, super::instruments::binance_exchange_info(&symbols))
            }
            "/fapi/v1/time" => (200, r#"{"serverTime":0}"#.to_string()),
            _ => (404, r#"{"code":-1,"msg":"Not found"}"#.to_string()),
        }
    }

    fn streams_for(&self, target: &str) -> Option<Vec<String>> {
        let route_ok =
            target.starts_with("/public/stream?") || target.starts_with("/market/stream?");
        let streams = query_param(target, "streams")?;
        route_ok.then(|| streams.split('/').map(str::to_string).collect())
    }

    fn frame_text(&self, _target: &str, out: &WsOut) -> String {
        format!(r#"{{"stream":"{}","data":{}}}"#, out.stream, out.text)
    }
}

/// A running simulator.
pub struct BinanceSim {
    pub addr: SocketAddr,
    pub cert_der: Vec<u8>,
    /// The certificate as PEM, for `--ca-cert` files.
    pub cert_pem: String,
    pub faults: Arc<Faults>,
    pub tls: bool,
    market: Arc<Mutex<Market>>,
    /// Stops the simulator when dropped.
    _thread: SimThread,
}

impl BinanceSim {
    /// Starts the simulator on its own thread.
    ///
    /// # Errors
    /// The address cannot be bound or the certificate cannot be made.
    pub fn start(cfg: BinanceSimConfig) -> std::io::Result<BinanceSim> {
        let cert = generate_cert().map_err(std::io::Error::other)?;
        let acceptor =
            if cfg.tls { Some(tls_acceptor(&cert).map_err(std::io::Error::other)?) } else { None };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = runtime.block_on(bind(cfg.bind))?;
        let addr = listener.local_addr()?;
        let market = Arc::new(Mutex::new(Market::new(&cfg)));
        let faults = Arc::new(Faults::default());
        let (m, f) = (Arc::clone(&market), Arc::clone(&faults));
        let work = async move {
            let (feed, _) = broadcast::channel::<Arc<WsOut>>(65_536);
            let venue: Arc<dyn SimVenue> = Arc::new(Venue { market: Arc::clone(&m) });
            let server = serve(listener, acceptor, venue, feed.clone(), Arc::clone(&f));
            let generator = generate(m, feed, f, cfg.symbols.clone(), cfg.tick_interval_ms);
            tokio::select! {
                _ = server => {}
                _ = generator => {}
            }
        };
        let thread = SimThread::spawn("sim-binance", cfg.pin_cpu, runtime, work)?;
        Ok(BinanceSim {
            addr,
            cert_der: cert.cert_der,
            cert_pem: cert.cert_pem,
            faults,
            tls: cfg.tls,
            market,
            _thread: thread,
        })
    }

    /// `wss://127.0.0.1:port` (or `ws://`).
    pub fn ws_url(&self) -> String {
        format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    /// `https://127.0.0.1:port` (or `http://`).
    pub fn rest_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// The simulator's current book of `symbol`.
    pub fn book(&self, symbol: &str) -> Option<BookView> {
        lock(&self.market).book(symbol)
    }
}

async fn generate(
    market: Arc<Mutex<Market>>,
    feed: broadcast::Sender<Arc<WsOut>>,
    faults: Arc<Faults>,
    symbols: Vec<String>,
    tick_interval_ms: u64,
) {
    let mut interval = tokio::time::interval(Duration::from_millis(tick_interval_ms.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held: Option<Arc<WsOut>> = None;
    loop {
        interval.tick().await;
        if faults.paused.load(Ordering::Acquire) {
            let symbols_now = lock(&market).symbols();
            for symbol in symbols_now {
                let flushed = lock(&market).flush(&symbol, hedger_ipc::clock::unix_ms());
                for out in flushed {
                    let _ = feed.send(Arc::new(out));
                }
            }
            continue;
        }
        let now_ms = hedger_ipc::clock::unix_ms();
        for symbol in &symbols {
            let messages = lock(&market).step(symbol, now_ms);
            for out in messages {
                let out = Arc::new(out);
                if out.is_book
                    && faults.book_fate(|| lock(&market).next(), &feed, &out, &mut held)
                        != BookFate::Send
                {
                    continue;
                }
                let _ = feed.send(out);
            }
        }
    }
}
