//! A venue simulator driven by a recording (`hedger sim --replay-journal DIR --replay-venue V`):
//! it serves a `hedger record` journal back over the venue's own wire, so a gateway can be run
//! against real captured traffic.
//!
//! Every websocket connection replays the recorded frames from the start, at the recorded pace
//! scaled by `speed` (0 = flat out), then stays open with no more data (the gateway then reports
//! a silent feed, as it should). REST answers come from the journal: Binance depth snapshots per
//! symbol (the first recorded one), and the instruments bodies if the recording has them (else
//! the simulator grid's, see [`super::instruments`]). Client messages are read and only `ping`
//! keep-alives are answered: a replay cannot produce a fresh snapshot, so a resubscribe after a
//! gap gets nothing new (a recording with a gap replays as one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket};
use hedger_gateways::venue::instruments::request_targets;
use hedger_gateways::ws::http::header;
use hedger_ipc::journal::JournalReader;
use tokio::io::AsyncWriteExt;

use super::generate_cert;
use super::instruments::instruments_body;
use super::server::{
    accept_stream, bind, json_head, read_head, tls_acceptor, upgrade_head, IoStream, SimThread,
};
use crate::record::{KIND_INSTRUMENTS, KIND_META, KIND_REST_SNAPSHOT, KIND_WS_FRAME};
use crate::replay::ReplayVenue;

/// Settings of a replay simulator.
#[derive(Clone, Debug)]
pub struct ReplaySimConfig {
    pub bind: SocketAddr,
    pub tls: bool,
    pub venue: ReplayVenue,
    /// The journal directory `hedger record --output` wrote.
    pub journal: PathBuf,
    /// Pace multiplier: 1 = as recorded, 10 = ten times faster, 0 = flat out.
    pub speed: f64,
}

/// Why a replay simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplaySimError {
    #[error("journal {path}: {message}")]
    Journal { path: PathBuf, message: String },
    #[error("journal {path} holds no websocket frames")]
    Empty { path: PathBuf },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Largest record source (symbol or request index) a recording may use.
const SOURCES_MAX: usize = 4096;

/// What a recording holds, loaded once at start.
struct Recording {
    symbols: Vec<String>,
    /// `(offset from the first frame in ns, payload)`.
    frames: Vec<(u64, Vec<u8>)>,
    /// First REST snapshot body per symbol index.
    snapshots: Vec<Option<Vec<u8>>>,
    /// Instruments bodies by request index, every recorded page in order (Bybit has several).
    instruments: Vec<Vec<Vec<u8>>>,
}

fn load(cfg: &ReplaySimConfig) -> Result<Recording, ReplaySimError> {
    let bad = |e: &dyn std::fmt::Display| ReplaySimError::Journal {
        path: cfg.journal.clone(),
        message: e.to_string(),
    };
    let mut reader = JournalReader::open(&cfg.journal, cfg.venue.name()).map_err(|e| bad(&e))?;
    let mut rec = Recording {
        symbols: Vec::new(),
        frames: Vec::new(),
        snapshots: Vec::new(),
        instruments: Vec::new(),
    };
    let mut first_ts_ns = None;
    while let Some(record) = reader.next_record().map_err(|e| bad(&e))? {
        let slot = record.source as usize;
        // A source indexes a symbol or a request target: far fewer than this. A larger one is
        // a foreign or damaged journal, refused rather than sized into memory.
        if matches!(record.kind, KIND_REST_SNAPSHOT | KIND_INSTRUMENTS) && slot >= SOURCES_MAX {
            return Err(bad(&format!("record source {slot} is out of range (< {SOURCES_MAX})")));
        }
        match record.kind {
            KIND_META => {
                let meta: serde_json::Value =
                    serde_json::from_slice(&record.payload).map_err(|e| bad(&e))?;
                rec.symbols = meta["symbols"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
            }
            KIND_WS_FRAME => {
                let first = *first_ts_ns.get_or_insert(record.ts_ns);
                rec.frames.push((record.ts_ns.saturating_sub(first), record.payload));
            }
            KIND_REST_SNAPSHOT => {
                if rec.snapshots.len() <= slot {
                    rec.snapshots.resize(slot + 1, None);
                }
                rec.snapshots[slot].get_or_insert(record.payload);
            }
            KIND_INSTRUMENTS => {
                if rec.instruments.len() <= slot {
                    rec.instruments.resize(slot + 1, Vec::new());
                }
                rec.instruments[slot].push(record.payload);
            }
            _ => {}
        }
    }
    if rec.frames.is_empty() {
        return Err(ReplaySimError::Empty { path: cfg.journal.clone() });
    }
    Ok(rec)
}

/// Counters of a replay simulator.
#[derive(Debug, Default)]
pub struct ReplayCounters {
    pub connections: AtomicU64,
    pub frames_sent: AtomicU64,
    /// Connections that reached the end of the recording.
    pub completed: AtomicU64,
}

/// A running replay simulator.
pub struct ReplaySim {
    pub addr: SocketAddr,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    pub tls: bool,
    pub venue: ReplayVenue,
    pub symbols: Vec<String>,
    /// Websocket frames in the recording.
    pub frames: usize,
    pub counters: Arc<ReplayCounters>,
    /// Stops the simulator when dropped.
    _thread: SimThread,
}

struct Shared {
    cfg: ReplaySimConfig,
    rec: Recording,
    counters: Arc<ReplayCounters>,
}

impl ReplaySim {
    /// Loads the journal and starts serving it on its own thread.
    ///
    /// # Errors
    /// An unreadable or empty journal, an address that cannot be bound.
    pub fn start(cfg: ReplaySimConfig) -> Result<ReplaySim, ReplaySimError> {
        let rec = load(&cfg)?;
        let cert = generate_cert().map_err(std::io::Error::other)?;
        let acceptor =
            if cfg.tls { Some(tls_acceptor(&cert).map_err(std::io::Error::other)?) } else { None };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = runtime.block_on(bind(cfg.bind))?;
        let addr = listener.local_addr()?;
        let (symbols, frames) = (rec.symbols.clone(), rec.frames.len());
        let counters = Arc::new(ReplayCounters::default());
        let (tls, venue) = (cfg.tls, cfg.venue);
        let shared = Arc::new(Shared { cfg, rec, counters: Arc::clone(&counters) });
        let thread =
            SimThread::spawn("sim-replay", None, runtime, serve(listener, acceptor, shared))?;
        Ok(ReplaySim {
            addr,
            cert_der: cert.cert_der,
            cert_pem: cert.cert_pem,
            tls,
            venue,
            symbols,
            frames,
            counters,
            _thread: thread,
        })
    }

    /// `wss://127.0.0.1:port` (or `ws://`).
    pub fn ws_url(&self) -> String {
        format!("{}://{}", if self.tls { "wss" } else { "ws" }, self.addr)
    }

    /// The venue's REST base (Deribit: under `/api/v2`).
    pub fn rest_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, rest_base_path(self.venue))
    }
}

fn rest_base_path(venue: ReplayVenue) -> &'static str {
    if venue == ReplayVenue::Deribit {
        super::deribit::REST_BASE_PATH
    } else {
        ""
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let (tls, shared) = (tls.clone(), Arc::clone(&shared));
        tokio::spawn(async move {
            let Some(mut stream) = accept_stream(tcp, tls).await else { return };
            let Some(head) = read_head(&mut stream).await else { return };
            let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let upgrade =
                header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
            let (true, Some(key)) = (upgrade, header(&head, "sec-websocket-key")) else {
                let (status, body) = rest(&shared, &target);
                let _ = stream.write_all(json_head(status, body.len()).as_bytes()).await;
                let _ = stream.write_all(&body).await;
                return;
            };
            if stream.write_all(upgrade_head(key).as_bytes()).await.is_err() {
                return;
            }
            shared.counters.connections.fetch_add(1, Ordering::AcqRel);
            connection(WebSocket::after_handshake(stream, Role::Server), &shared).await;
        });
    }
}

/// A REST answer from the recording.
fn rest(shared: &Shared, target: &str) -> (&'static str, Vec<u8>) {
    let not_found = ("404 Not Found", br#"{"error":"not in the recording"}"#.to_vec());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let venue = shared.cfg.venue;
    let symbols: Vec<&str> = shared.rec.symbols.iter().map(String::as_str).collect();
    if path == "/fapi/v1/depth" {
        let symbol = query.split('&').find_map(|kv| kv.strip_prefix("symbol="));
        let index = symbols.iter().position(|s| Some(*s) == symbol);
        return match index.and_then(|i| shared.rec.snapshots.get(i).cloned().flatten()) {
            Some(body) => ("200 OK", body),
            None => not_found,
        };
    }
    // A Bybit page after the first is the request's target plus the cursor the previous page
    // handed out.
    let (request, cursor) = match target.split_once("&cursor=") {
        Some((request, cursor)) => (request, Some(cursor)),
        None => (target, None),
    };
    let targets = request_targets(venue.venue_id(), rest_base_path(venue), &symbols);
    let Some(index) = targets.iter().position(|t| t == request) else { return not_found };
    if let Some(pages) = shared.rec.instruments.get(index).filter(|p| !p.is_empty()) {
        let page = match cursor {
            None => pages.first(),
            Some(cursor) => pages
                .windows(2)
                .find(|pair| next_page_cursor(&pair[0]).as_deref() == Some(cursor))
                .map(|pair| &pair[1]),
        };
        return match page {
            Some(body) => ("200 OK", body.clone()),
            None => not_found,
        };
    }
    match instruments_body(venue.venue_id(), &symbols) {
        Some(body) => ("200 OK", body.into_bytes()),
        None => not_found,
    }
}

/// The `nextPageCursor` of a recorded Bybit instruments page.
fn next_page_cursor(body: &[u8]) -> Option<String> {
    let page: serde_json::Value = serde_json::from_slice(body).ok()?;
    page["result"]["nextPageCursor"].as_str().map(str::to_string)
}

/// Replays the recording to one client; answers its `ping`s meanwhile.
async fn connection(ws: WebSocket<Box<dyn IoStream>>, shared: &Shared) {
    let (mut reader, mut writer) = ws.split(tokio::io::split);
    let (client_tx, mut client_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let reader_task = tokio::spawn(async move {
        let mut ignore = |_frame: Frame<'_>| async { Ok::<(), std::io::Error>(()) };
        while let Ok(frame) = reader.read_frame(&mut ignore).await {
            match frame.opcode {
                OpCode::Text if client_tx.send(frame.payload.to_vec()).await.is_err() => return,
                OpCode::Close => return,
                _ => {}
            }
        }
    });
    let started = tokio::time::Instant::now();
    let speed = shared.cfg.speed;
    let mut next = 0usize;
    loop {
        let due = shared.rec.frames.get(next).map(|(offset_ns, _)| {
            if speed > 0.0 {
                started + Duration::from_nanos((*offset_ns as f64 / speed) as u64)
            } else {
                started
            }
        });
        let sleep_until = due.unwrap_or(started + Duration::from_secs(86_400 * 365));
        tokio::select! {
            client = client_rx.recv() => {
                let Some(text) = client else { break };
                let answer: &[u8] = match text.as_slice() {
                    b"ping" => b"pong",
                    t if t.starts_with(br#"{"op":"ping""#) => br#"{"success":true,"ret_msg":"pong","op":"ping"}"#,
                    _ => continue,
                };
                let frame = Frame::text(Payload::Owned(answer.to_vec()));
                if writer.write_frame(frame).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(sleep_until) => {
                let Some((_, payload)) = shared.rec.frames.get(next) else { continue };
                next += 1;
                let frame = Frame::text(Payload::Owned(payload.clone()));
                if writer.write_frame(frame).await.is_err() {
                    break;
                }
                shared.counters.frames_sent.fetch_add(1, Ordering::AcqRel);
                if next == shared.rec.frames.len() {
                    shared.counters.completed.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }
    reader_task.abort();
}
