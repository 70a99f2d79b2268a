//! `hedger record`: writes a venue's raw frames, with receive timestamps, to a journal.
//!
//! The recorder opens the same websocket streams and REST snapshots a gateway would (Binance:
//! the combined depth/bookTicker stream plus one REST snapshot per symbol; Bybit, OKX, Deribit:
//! one websocket with the gateway's own subscribe messages, keep-alive pings and Deribit
//! `test_request` answers, the snapshot arriving on the stream), and appends every websocket payload (record kind [`KIND_WS_FRAME`]) and every
//! REST snapshot body ([`KIND_REST_SNAPSHOT`], `source` = symbol index) to
//! `<output>/<venue>-NNNNNNNN.journal` (format: `hedger_ipc::journal`). It syncs the journal
//! every second and on exit, and reports what it wrote as one JSON line. `hedger replay
//! --format journal` feeds the records back through the gateway's parser and books.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastwebsockets::{Frame, OpCode, Payload};
use hedger_gateways::venue::stream_session::StreamProtocol;
use hedger_gateways::venue::{ParsedFrame, Symbol};
use hedger_gateways::ws::http::{http_get, ws_connect};
use hedger_gateways::ws::{spin_until_ready, tls_config, with_timeout, Endpoint, TransportError};
use hedger_ipc::clock::{unix_ms, unix_ns};
use hedger_ipc::journal::{JournalError, JournalWriter, Record};

use crate::replay::ReplayVenue;

/// Record kind: one websocket text/binary payload.
pub const KIND_WS_FRAME: u16 = 1;
/// Record kind: one REST snapshot body (`source` = index of the symbol in `--symbols`).
pub const KIND_REST_SNAPSHOT: u16 = 2;
/// Record kind: the recording's metadata, first in the journal:
/// `{"venue":"binance-usdm","symbols":["BTCUSDT",…],"ws_url":…,"rest_url":…}`.
pub const KIND_META: u16 = 3;
/// Record kind: one instruments endpoint response body (`source` = index of the request in
/// `hedger_gateways::venue::instruments::request_targets`; Bybit pages share their request's
/// index and follow each other in page order), recorded first when `--rest-url` is
/// given, so a replay simulator can advertise the recorded venue's real grid.
pub const KIND_INSTRUMENTS: u16 = 4;

/// Arguments of `hedger record`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    #[arg(long, value_enum)]
    pub venue: ReplayVenue,
    /// Websocket base URL, e.g. `wss://fstream.binance.com` or a `hedger sim` address.
    #[arg(long)]
    pub ws_url: String,
    /// REST base URL, e.g. `https://fapi.binance.com` (required for binance-usdm, whose book
    /// snapshots come from REST). With it, the instruments endpoint is recorded first (every
    /// venue; Deribit's base ends in `/api/v2`).
    #[arg(long)]
    pub rest_url: Option<String>,
    /// Comma-separated symbols.
    #[arg(long, value_delimiter = ',', required = true)]
    pub symbols: Vec<String>,
    /// Journal directory.
    #[arg(long)]
    pub output: PathBuf,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration_s: Option<u64>,
    /// Extra trusted root certificate (PEM), e.g. the simulator's.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Segment size before rotation.
    #[arg(long, default_value_t = 64 << 20)]
    pub segment_bytes_max: u64,
}

/// Why recording stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("instruments: {0}")]
    Instruments(#[from] hedger_gateways::venue::instruments::InstrumentsError),
    #[error("--rest-url is required for binance-usdm (its book snapshots come from REST)")]
    RestUrlRequired,
    #[error("cannot read CA certificate {path}: {message}")]
    Cert { path: PathBuf, message: String },
}

/// What was written.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RecordReport {
    pub frames: u64,
    pub snapshots: u64,
    /// Instruments bodies recorded (with `--rest-url`).
    pub instruments: u64,
    pub bytes: u64,
    pub torn_bytes_truncated: u64,
}

/// Every certificate in a PEM file (a bundle, as `hedger sim --cert-out` writes, or one).
fn pem_to_der(path: &PathBuf) -> Result<Vec<Vec<u8>>, RecordError> {
    let bad = |message: String| RecordError::Cert { path: path.clone(), message };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    crate::venue_sim::pem_certificates(&text).map_err(bad)
}

/// Records until `stop` is set or the duration passes.
///
/// # Errors
/// A journal error (fatal: durability unknown) or a transport error on connect.
pub fn record(args: &RecordArgs, stop: &AtomicBool) -> Result<RecordReport, RecordError> {
    let roots = match &args.ca_cert {
        Some(path) => pem_to_der(path)?,
        None => Vec::new(),
    };
    let tls = tls_config(&roots)?;
    if args.venue == ReplayVenue::BinanceUsdm && args.rest_url.is_none() {
        return Err(RecordError::RestUrlRequired);
    }
    let name = args.venue.name();
    let (mut journal, open) =
        JournalWriter::open(&args.output, name, args.segment_bytes_max, unix_ms())?;
    let mut report =
        RecordReport { torn_bytes_truncated: open.torn_bytes_truncated, ..RecordReport::default() };
    let meta = serde_json::json!({"venue": name, "symbols": args.symbols, "ws_url": args.ws_url, "rest_url": args.rest_url});
    append(&mut journal, &mut report, KIND_META, 0, meta.to_string().into_bytes())?;
    if let Some(rest_url) = &args.rest_url {
        let fetch = record_instruments(args, rest_url, &tls, &mut journal, &mut report);
        spin_until_ready(std::pin::pin!(fetch))?;
    }
    let deadline = args.duration_s.map(|s| Instant::now() + Duration::from_secs(s));
    let outcome = {
        let (journal, report) = (&mut journal, &mut report);
        let mut future: std::pin::Pin<Box<dyn std::future::Future<Output = _>>> = match args.venue {
            ReplayVenue::BinanceUsdm => {
                Box::pin(session(args, &tls, journal, report, stop, deadline))
            }
            ReplayVenue::Bybit => {
                let protocol = hedger_gateways::bybit::session::BybitProtocol::new(50);
                Box::pin(stream_session(protocol, args, &tls, journal, report, stop, deadline))
            }
            ReplayVenue::Okx => {
                let protocol =
                    hedger_gateways::okx::session::OkxProtocol::new(args.symbols.len(), 400);
                Box::pin(stream_session(protocol, args, &tls, journal, report, stop, deadline))
            }
            ReplayVenue::Deribit => {
                let protocol = hedger_gateways::deribit::session::DeribitProtocol::new();
                Box::pin(stream_session(protocol, args, &tls, journal, report, stop, deadline))
            }
        };
        spin_until_ready(future.as_mut())
    };
    journal.sync()?;
    outcome.map(|()| report)
}

async fn session(
    args: &RecordArgs,
    tls: &Arc<rustls::ClientConfig>,
    journal: &mut JournalWriter,
    report: &mut RecordReport,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<(), RecordError> {
    let streams: Vec<String> = args
        .symbols
        .iter()
        .flat_map(|s| ["depth@100ms", "bookTicker"].map(|k| format!("{}@{k}", s.to_lowercase())))
        .collect();
    let ws_base = Endpoint::parse(args.ws_url.trim_end_matches('/'))?;
    let endpoint = ws_base.with_target(&format!("/public/stream?streams={}", streams.join("/")));
    let mut ws =
        with_timeout(&endpoint.authority(), 5_000, ws_connect(&endpoint, Some(tls), unix_ns()))
            .await?;
    let rest_url = args.rest_url.as_deref().ok_or(RecordError::RestUrlRequired)?;
    let rest = Endpoint::parse(rest_url.trim_end_matches('/'))?;
    for (index, symbol) in args.symbols.iter().enumerate() {
        let target = rest.with_target(&format!("/fapi/v1/depth?symbol={symbol}&limit=1000"));
        let body =
            with_timeout(&target.authority(), 5_000, http_get(&target, Some(tls), 8 << 20)).await?;
        append(journal, report, KIND_REST_SNAPSHOT, index as u32, body)?;
        report.snapshots += 1;
    }
    let mut last_sync = Instant::now();
    loop {
        // Not a timeout: `read_frame` must not be dropped mid-frame (it is not cancel-safe), so
        // the stop check only ends the recording, it never abandons a read to retry it.
        let read = until_stopped(stop, deadline, &mut last_sync, journal, ws.read_frame()).await;
        let frame = match read {
            None => return Ok(()),
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                return Err(TransportError::WebSocket {
                    endpoint: endpoint.authority(),
                    message: e.to_string(),
                }
                .into())
            }
        };
        match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                append(journal, report, KIND_WS_FRAME, 0, frame.payload.to_vec())?;
                report.frames += 1;
            }
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

/// Fetches and journals the venue's instruments bodies: one record per body, with the index
/// of its request target as the source (Bybit: every page the gateway would follow, in order).
async fn record_instruments(
    args: &RecordArgs,
    rest_url: &str,
    tls: &Arc<rustls::ClientConfig>,
    journal: &mut JournalWriter,
    report: &mut RecordReport,
) -> Result<(), RecordError> {
    use hedger_gateways::venue::instruments::fetch_instrument_bodies;
    let symbols: Vec<&str> = args.symbols.iter().map(String::as_str).collect();
    let bodies =
        fetch_instrument_bodies(args.venue.venue_id(), rest_url, Some(tls), &symbols).await?;
    for body in bodies {
        append(journal, report, KIND_INSTRUMENTS, body.target as u32, body.body)?;
        report.instruments += 1;
    }
    Ok(())
}

/// A stream venue (Bybit, OKX, Deribit): one websocket, the gateway's own subscribe messages,
/// then every frame recorded; keep-alive pings and answers (Deribit `test_request`) are written
/// between frames as the gateway does, so the venue keeps the connection open.
async fn stream_session<P: StreamProtocol>(
    mut protocol: P,
    args: &RecordArgs,
    tls: &Arc<rustls::ClientConfig>,
    journal: &mut JournalWriter,
    report: &mut RecordReport,
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<(), RecordError> {
    let ws_base = Endpoint::parse(args.ws_url.trim_end_matches('/'))?;
    let endpoint = ws_base.with_target(protocol.ws_target());
    let name = endpoint.authority();
    let mut ws = with_timeout(&name, 5_000, ws_connect(&endpoint, Some(tls), unix_ns())).await?;
    let symbols: Vec<Symbol> = args.symbols.iter().map(|s| Symbol::new(s)).collect();
    let mut outbox = Vec::new();
    protocol.on_connect(&symbols, &mut outbox);
    let ping_every = protocol.ping().map(|(_, ms)| Duration::from_millis(ms));
    let mut next_ping = ping_every.map(|d| Instant::now() + d);
    let mut frame_parsed = ParsedFrame::new();
    let mut last_sync = Instant::now();
    let ws_error = |e: fastwebsockets::WebSocketError| TransportError::WebSocket {
        endpoint: name.clone(),
        message: e.to_string(),
    };
    loop {
        if next_ping.is_some_and(|due| Instant::now() >= due) {
            outbox.extend(protocol.ping().map(|(text, _)| text.to_string()));
            next_ping = ping_every.map(|d| Instant::now() + d);
        }
        for text in outbox.drain(..) {
            let frame = Frame::text(Payload::Owned(text.into_bytes()));
            ws.write_frame(frame).await.map_err(ws_error)?;
        }
        // As for Binance: the stop check never abandons a read mid-frame to retry it.
        let read = until_stopped(stop, deadline, &mut last_sync, journal, ws.read_frame()).await;
        let frame = match read {
            None => return Ok(()),
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Err(ws_error(e).into()),
        };
        match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                // A frame the parser rejects is still recorded: replay reports it.
                if protocol.parse(&frame.payload, &mut frame_parsed).is_ok() {
                    outbox.extend(protocol.answer(&frame_parsed));
                }
                append(journal, report, KIND_WS_FRAME, 0, frame.payload.to_vec())?;
                report.frames += 1;
            }
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

/// Polls `future` until it completes (`Some`) or the recording must stop (`None`); syncs the
/// journal every second while waiting.
async fn until_stopped<F: std::future::Future>(
    stop: &AtomicBool,
    deadline: Option<Instant>,
    last_sync: &mut Instant,
    journal: &mut JournalWriter,
    future: F,
) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(out));
        }
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            return std::task::Poll::Ready(None);
        }
        if last_sync.elapsed() >= Duration::from_secs(1) {
            // A failed sync surfaces on the final sync in `record`.
            let _ = journal.sync();
            *last_sync = Instant::now();
        }
        std::task::Poll::Pending
    })
    .await
}

fn append(
    journal: &mut JournalWriter,
    report: &mut RecordReport,
    kind: u16,
    source: u32,
    payload: Vec<u8>,
) -> Result<(), JournalError> {
    report.bytes += payload.len() as u64;
    journal.append(&Record { kind, flags: 0, source, ts_ns: unix_ns(), payload }, unix_ms())
}

/// Runs `hedger record`; returns the exit code.
pub fn run(args: &RecordArgs) -> i32 {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("hedger record: cannot install signal handlers: {e}");
            return 1;
        }
    }
    match record(args, &stop) {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            0
        }
        Err(e) => {
            eprintln!("hedger record: {e}");
            1
        }
    }
}
