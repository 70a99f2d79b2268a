//! A RedStone-gateway-compatible server: `GET /v2/data-packages/latest-by-data-feeds/{service}
//! ?dataFeedIds=A,B`, `/v2/data-packages/latest/{service}` and `/data-packages/latest/{service}`,
//! answering the JSON shape of reference `oracles.md` §2.7 with packages signed by test nodes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hedger_core::oracle::encode::{
    encode_redstone_packages, redstone_gateway_json, RedstoneFaults, RedstonePointInput, TestKeys,
};
use hedger_core::oracle::EthAddress;
use hedger_ipc::clock::unix_ms;

use super::faults::{Fault, Faults, STALE_BY_MS};
use super::http::{respond, Handler, Request};
use super::market::{price_e8, SimAsset};

/// Nodes of the simulated data service.
pub const SIM_NODES: usize = 5;
/// Unique signers a feed needs (as primary-prod).
pub const SIM_THRESHOLD: usize = 3;

/// The RedStone simulator's state.
pub struct RedstoneSim {
    keys: TestKeys,
    seed: u64,
    assets: Vec<SimAsset>,
    /// Live fault knobs.
    pub faults: Arc<Faults>,
    frozen: Mutex<Option<String>>,
}

impl RedstoneSim {
    /// A simulator signing with the node keys derived from `seed`.
    pub fn new(seed: u64, assets: Vec<SimAsset>) -> RedstoneSim {
        RedstoneSim {
            keys: TestKeys::from_seed("hedger-sim-redstone-node", seed, SIM_NODES),
            seed,
            assets,
            faults: Arc::new(Faults::default()),
            frozen: Mutex::new(None),
        }
    }

    /// The signer addresses a gateway must authorise.
    pub fn signers(&self) -> Vec<EthAddress> {
        self.keys.addresses()
    }

    /// The request handler.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let sim = Arc::clone(self);
        Arc::new(move |request: &Request, stream: &mut dyn Write, _stop: &AtomicBool| {
            sim.handle(request, stream)
        })
    }

    fn handle(&self, request: &Request, stream: &mut dyn Write) {
        let path = request.path.as_str();
        let routes = [
            "/v2/data-packages/latest-by-data-feeds/",
            "/v2/data-packages/latest/",
            "/data-packages/latest/",
        ];
        if !routes.iter().any(|prefix| path.starts_with(prefix)) {
            return respond(stream, 404, "text/plain", b"no such route");
        }
        let wanted: Vec<usize> = match request.first("dataFeedIds") {
            Some(list) => {
                let names: Vec<&str> = list.split(',').collect();
                (0..self.assets.len()).filter(|i| names.contains(&self.assets[*i].name)).collect()
            }
            None => (0..self.assets.len()).collect(),
        };
        let body = self.body(&wanted);
        respond(stream, 200, "application/json", body.as_bytes());
    }

    /// The response body for `assets` now (or the frozen one while stalled).
    pub fn body(&self, assets: &[usize]) -> String {
        let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        if !self.faults.is_on(Fault::Stall) {
            *frozen = None;
        } else if let Some(body) = frozen.as_ref() {
            return body.clone();
        }
        let body = self.fresh_body(assets);
        if self.faults.is_on(Fault::Stall) {
            *frozen = Some(body.clone());
        }
        body
    }

    fn fresh_body(&self, assets: &[usize]) -> String {
        let now_ms = unix_ms() / 100 * 100;
        let timestamp_ms = if self.faults.is_on(Fault::StaleTimestamp) {
            now_ms.saturating_sub(STALE_BY_MS)
        } else {
            now_ms
        };
        let faults = RedstoneFaults {
            bad_signature: self.faults.is_on(Fault::BadSignature),
            too_few_signers: self.faults.is_on(Fault::TooFewSigners),
            wrong_signer_claim: self.faults.is_on(Fault::WrongProof),
        };
        let offset_bps = self.faults.price_offset_bps.load(Ordering::Acquire);
        let mut groups = Vec::new();
        for &index in assets {
            let asset = &self.assets[index];
            let value_e8 = price_e8(self.seed, asset, timestamp_ms, offset_bps);
            let points = [RedstonePointInput { feed: asset.name.to_owned(), value_e8 }];
            let signers = if faults.too_few_signers { SIM_THRESHOLD } else { SIM_NODES };
            match encode_redstone_packages(
                &self.keys,
                signers,
                timestamp_ms,
                &points,
                asset.name,
                faults,
            ) {
                Ok(packages) => groups.push((asset.name.to_owned(), packages)),
                Err(_) => return "{}".to_owned(),
            }
        }
        redstone_gateway_json(&groups).to_string()
    }
}
