//! The simulated market both oracle simulators quote: a deterministic, seeded price per asset
//! and time, so Pyth and RedStone agree within a few basis points unless a fault says otherwise.

use hedger_core::oracle::secp::keccak256;

/// A simulated asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimAsset {
    /// Name (`ETH`), also the RedStone feed id.
    pub name: &'static str,
    /// Pyth feed id (mainnet ids, so configs look like production).
    pub pyth_feed_id: [u8; 32],
    /// Centre price × 1e8.
    pub base_e8: i64,
}

/// ETH, BTC and USDC with their mainnet Pyth ids, centred where the venue simulators start
/// (BTC 65 000, ETH 3 500) so the venue-mid check agrees on the embedded setup.
pub fn default_assets() -> Vec<SimAsset> {
    let id = |text: &str| -> [u8; 32] {
        let bytes = hedger_core::oracle::bytes::decode_hex(text).unwrap_or_default();
        bytes.try_into().unwrap_or([0; 32])
    };
    vec![
        SimAsset {
            name: "ETH",
            pyth_feed_id: id("ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace"),
            base_e8: 3_500 * 100_000_000,
        },
        SimAsset {
            name: "BTC",
            pyth_feed_id: id("e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"),
            base_e8: 65_000 * 100_000_000,
        },
        SimAsset {
            name: "USDC",
            pyth_feed_id: id("eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a"),
            base_e8: 100_000_000,
        },
    ]
}

/// Price × 1e8 of `asset` at `time_ms`: the base moved by up to ±10 bps, a new step every
/// 400 ms, from the seed. `offset_bps` shifts it (fault knob).
pub fn price_e8(seed: u64, asset: &SimAsset, time_ms: u64, offset_bps: i64) -> i64 {
    let step = time_ms / 400;
    let mut preimage = seed.to_be_bytes().to_vec();
    preimage.extend_from_slice(asset.name.as_bytes());
    preimage.extend_from_slice(&step.to_be_bytes());
    let hash = keccak256(&preimage);
    let noise_bps = i64::from(u16::from_be_bytes([hash[0], hash[1]]) % 21) - 10;
    let base = i128::from(asset.base_e8);
    let moved = base + base * i128::from(noise_bps + offset_bps) / 10_000;
    i64::try_from(moved).unwrap_or(i64::MAX)
}
