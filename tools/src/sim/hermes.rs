//! A Hermes-compatible server: `GET /v2/updates/price/latest` and the SSE stream
//! `GET /v2/updates/price/stream` (query `ids[]`, `encoding=hex|base64`, `parsed`), serving PNAU
//! accumulator updates signed by a test guardian set (reference `oracles.md` §1.2–1.4).
//!
//! Behaviour: unknown ids → 404 (as Hermes without `ignore_invalid_price_ids`); the stream sends
//! one event per `interval_ms` with every requested feed, a `:` keep-alive comment every second,
//! and, when `close_after_events` is set, an `event: error` then closes (Hermes' 24 h close).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hedger_core::oracle::encode::{encode_pnau, PnauFaults, PnauHeader, PythPriceInput, TestKeys};
use hedger_core::oracle::hermes::hermes_json_for;
use hedger_core::oracle::pyth::verify_accumulator_update;
use hedger_core::oracle::wormhole::SignerSet;
use hedger_ipc::clock::unix_ms;

use super::faults::{Fault, Faults, STALE_BY_MS};
use super::http::{respond, Handler, Request};
use super::market::{price_e8, SimAsset};

/// Guardian set index the simulator signs as (no mainnet set has it).
pub const SIM_GUARDIAN_SET_INDEX: u32 = 100;
/// Guardians in the simulated set.
pub const SIM_GUARDIANS: usize = 19;
/// Their quorum (13 of 19, as Wormhole).
pub const SIM_QUORUM: usize = 13;

/// The Hermes simulator's state.
pub struct HermesSim {
    keys: TestKeys,
    seed: u64,
    assets: Vec<SimAsset>,
    interval_ms: u64,
    /// Live fault knobs.
    pub faults: Arc<Faults>,
    sequence: AtomicU64,
    frozen: Mutex<Option<String>>,
    /// SSE events sent, all connections.
    pub events_sent: AtomicU64,
}

impl HermesSim {
    /// A simulator signing with the guardian keys derived from `seed`.
    pub fn new(seed: u64, assets: Vec<SimAsset>, interval_ms: u64) -> HermesSim {
        HermesSim {
            keys: TestKeys::from_seed("hedger-sim-pyth-guardian", seed, SIM_GUARDIANS),
            seed,
            assets,
            interval_ms: interval_ms.max(10),
            faults: Arc::new(Faults::default()),
            sequence: AtomicU64::new(1),
            frozen: Mutex::new(None),
            events_sent: AtomicU64::new(0),
        }
    }

    /// The signer set a gateway must be configured with.
    pub fn signer_set(&self) -> SignerSet {
        SignerSet {
            guardian_set_index: Some(SIM_GUARDIAN_SET_INDEX),
            addresses: self.keys.addresses(),
            quorum: SIM_QUORUM,
        }
    }

    /// The request handler.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let sim = Arc::clone(self);
        Arc::new(move |request: &Request, stream: &mut dyn Write, stop: &AtomicBool| {
            sim.handle(request, stream, stop)
        })
    }

    fn handle(&self, request: &Request, stream: &mut dyn Write, stop: &AtomicBool) {
        let ids = match self.requested_assets(request) {
            Ok(ids) => ids,
            Err(message) => return respond(stream, 404, "text/plain", message.as_bytes()),
        };
        let base64 = request.first("encoding") == Some("base64");
        let parsed = request.first("parsed") != Some("false");
        match request.path.as_str() {
            "/v2/updates/price/latest" => {
                let body = self.body(&ids, base64, parsed);
                respond(stream, 200, "application/json", body.as_bytes());
            }
            "/v2/updates/price/stream" => self.stream(stream, stop, &ids, base64, parsed),
            _ => respond(stream, 404, "text/plain", b"no such route"),
        }
    }

    fn requested_assets(&self, request: &Request) -> Result<Vec<usize>, String> {
        let mut ids = Vec::new();
        for text in request.all("ids[]").chain(request.all("ids")) {
            let hex = text.trim_start_matches("0x").to_ascii_lowercase();
            let index = self
                .assets
                .iter()
                .position(|a| hedger_core::oracle::bytes::encode_hex(&a.pyth_feed_id) == hex)
                .ok_or_else(|| format!("Price ids not found: {text}"))?;
            ids.push(index);
        }
        if ids.is_empty() {
            return Err("no ids[] given".to_owned());
        }
        Ok(ids)
    }

    /// One Hermes JSON body for `ids` now (or the frozen one while stalled).
    pub fn body(&self, ids: &[usize], base64: bool, parsed: bool) -> String {
        if self.faults.is_on(Fault::Stall) {
            let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(body) = frozen.as_ref() {
                return body.clone();
            }
            let body = self.fresh_body(ids, base64, parsed);
            *frozen = Some(body.clone());
            return body;
        }
        *self.frozen.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.fresh_body(ids, base64, parsed)
    }

    fn fresh_body(&self, ids: &[usize], base64: bool, parsed: bool) -> String {
        let now_ms = unix_ms();
        let stale = self.faults.is_on(Fault::StaleTimestamp);
        let publish_ms = if stale { now_ms.saturating_sub(STALE_BY_MS) } else { now_ms };
        let publish_time_s = (publish_ms / 1000) as i64;
        let offset_bps = self.faults.price_offset_bps.load(Ordering::Acquire);
        let prices: Vec<PythPriceInput> = ids
            .iter()
            .map(|&index| {
                let asset = &self.assets[index];
                let price = price_e8(self.seed, asset, publish_ms, offset_bps);
                PythPriceInput {
                    feed_id: asset.pyth_feed_id,
                    price,
                    conf: (price / 5_000).unsigned_abs(), // 2 bps
                    exponent: -8,
                    publish_time_s,
                    prev_publish_time_s: publish_time_s - 1,
                    ema_price: price,
                    ema_conf: (price / 4_000).unsigned_abs(),
                }
            })
            .collect();
        let faults = PnauFaults {
            bad_signature: self.faults.is_on(Fault::BadSignature),
            too_few_signers: self.faults.is_on(Fault::TooFewSigners),
            wrong_merkle_proof: self.faults.is_on(Fault::WrongProof),
        };
        let header = PnauHeader {
            guardian_set_index: SIM_GUARDIAN_SET_INDEX,
            signers: SIM_QUORUM,
            slot: publish_ms / 400,
            timestamp_s: (publish_ms / 1000) as u32,
            sequence: self.sequence.fetch_add(1, Ordering::AcqRel),
        };
        let Ok(bytes) = encode_pnau(&self.keys, SIM_QUORUM, &header, &prices, faults) else {
            return "{}".to_owned();
        };
        self.hermes_json(&bytes, &prices, base64, parsed)
    }

    /// The JSON body; `parsed` comes from the honest message even when the binary is faulty,
    /// as a compromised Hermes would send it.
    fn hermes_json(
        &self,
        bytes: &[u8],
        prices: &[PythPriceInput],
        base64: bool,
        parsed: bool,
    ) -> String {
        let honest = encode_pnau(
            &self.keys,
            SIM_QUORUM,
            &PnauHeader {
                guardian_set_index: SIM_GUARDIAN_SET_INDEX,
                signers: SIM_QUORUM,
                slot: 0,
                timestamp_s: 0,
                sequence: 0,
            },
            prices,
            PnauFaults::default(),
        );
        let verified =
            honest.ok().and_then(|b| verify_accumulator_update(&b, &self.signer_set()).ok());
        let data = if base64 {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            hedger_core::oracle::bytes::encode_hex(bytes)
        };
        let mut value = match verified {
            Some(update) => hermes_json_for(std::slice::from_ref(&data), &[update]),
            None => serde_json::json!({ "binary": { "data": [data] }, "parsed": [] }),
        };
        value["binary"]["encoding"] = if base64 { "base64" } else { "hex" }.into();
        if let Some(parsed_list) = value.get_mut("parsed").and_then(|p| p.as_array_mut()) {
            let slot = bytes_slot(bytes);
            for entry in parsed_list.iter_mut() {
                entry["metadata"]["slot"] = slot.into();
            }
        }
        if !parsed {
            if let Some(object) = value.as_object_mut() {
                object.remove("parsed");
            }
        }
        value.to_string()
    }

    fn stream(
        &self,
        stream: &mut dyn Write,
        stop: &AtomicBool,
        ids: &[usize],
        base64: bool,
        parsed: bool,
    ) {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
        if stream.write_all(head.as_bytes()).and_then(|()| stream.flush()).is_err() {
            return;
        }
        let close_after = self.faults.close_after_events.load(Ordering::Acquire);
        let mut sent = 0u64;
        let mut last_keep_alive = Instant::now();
        while !stop.load(Ordering::Acquire) {
            let frame = if self.faults.is_on(Fault::Stall) {
                None
            } else {
                Some(format!("data:{}\n\n", self.body(ids, base64, parsed)))
            };
            if let Some(frame) = frame {
                if stream.write_all(frame.as_bytes()).and_then(|()| stream.flush()).is_err() {
                    return;
                }
                sent += 1;
                self.events_sent.fetch_add(1, Ordering::AcqRel);
            }
            if last_keep_alive.elapsed() >= Duration::from_secs(1) {
                last_keep_alive = Instant::now();
                if stream.write_all(b": keep-alive\n\n").and_then(|()| stream.flush()).is_err() {
                    return;
                }
            }
            if close_after > 0 && sent >= close_after {
                let _ = stream.write_all(b"event: error\ndata: stream closed by server\n\n");
                let _ = stream.flush();
                return;
            }
            std::thread::sleep(Duration::from_millis(self.interval_ms));
        }
    }
}

/// The slot inside a PNAU (for the `parsed` metadata); 0 if it cannot be read.
fn bytes_slot(bytes: &[u8]) -> u64 {
    hedger_core::oracle::pyth::parse_accumulator_update(bytes)
        .ok()
        .and_then(|u| hedger_core::oracle::pyth::parse_merkle_root(u.vaa.payload).ok())
        .map_or(0, |root| root.slot)
}
