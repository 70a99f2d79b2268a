//! Criterion micro-benchmarks of oracle verification (the oracle thread's cost per update) and of
//! the hot thread's reference evaluation.
//!
//! * `pyth_pnau_verify/13_signatures`: one accumulator update, 13 guardian signatures and a
//!   Merkle proof, signed by the simulator's test guardian set (target ≤ 1 ms on this machine).
//! * `pyth_pnau_verify/mainnet_fixture_gs3`: the real BTC update of 2023-07-28 against mainnet
//!   guardian set 3.
//! * `pyth_hermes_json/3_feeds`: a Hermes JSON body (hex decode, verify, `parsed` cross-check).
//! * `redstone_payload_verify/5_signers` and `…/fixture_3sig`: binary payloads (parse from the
//!   end, 5 or 3 key recoveries, median).
//! * `redstone_gateway_json/3_feeds_5_signers`: gateway JSON (rebuild signable bytes with the
//!   `toFixed` rule, 15 recoveries, aggregation).
//! * `reference_evaluate/3_sources`: the hot thread's per-asset reference (no allocation).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hedger_core::msg::OraclePrice;
use hedger_core::oracle::encode::{
    encode_pnau, encode_redstone_packages, encode_redstone_payload, redstone_gateway_json,
    PnauFaults, PnauHeader, PythPriceInput, RedstonePointInput, TestKeys,
};
use hedger_core::oracle::hermes::{hermes_json_for, verify_hermes_json};
use hedger_core::oracle::pyth::verify_accumulator_update;
use hedger_core::oracle::redstone::{aggregate, parse_payload, RedstoneConfig};
use hedger_core::oracle::redstone_json::{aggregate_gateway, parse_gateway_json};
use hedger_core::oracle::reference::{AssetLimits, OracleSource, ReferenceTable};
use hedger_core::oracle::wormhole::{GuardianSets, SignerSet};

const BTC_B64: &str =
    include_str!("../core/tests/fixtures/oracles/pyth/pnau_btc_2023-07-28_gs3.b64");
const ETH_3SIG_HEX: &str =
    include_str!("../core/tests/fixtures/oracles/redstone/ETH_PRIMARY_3sig.hex");
const NOW_MS: u64 = 1_700_000_000_000;

fn prices(count: u8) -> Vec<PythPriceInput> {
    (0..count)
        .map(|i| PythPriceInput {
            feed_id: [i + 1; 32],
            price: 300_000_000_000 + i64::from(i),
            conf: 60_000_000,
            exponent: -8,
            publish_time_s: (NOW_MS / 1000) as i64,
            prev_publish_time_s: (NOW_MS / 1000) as i64 - 1,
            ema_price: 300_000_000_000,
            ema_conf: 70_000_000,
        })
        .collect()
}

fn guardians() -> (TestKeys, SignerSet) {
    let keys = TestKeys::from_seed("bench-guardian", 1, 19);
    let set = SignerSet::new(Some(100), keys.addresses(), Some(13)).expect("set");
    (keys, set)
}

fn header() -> PnauHeader {
    PnauHeader { guardian_set_index: 100, signers: 13, slot: 1, timestamp_s: 1, sequence: 1 }
}

fn pyth(c: &mut Criterion) {
    let (keys, set) = guardians();
    let one = encode_pnau(&keys, 13, &header(), &prices(1), PnauFaults::default()).expect("pnau");
    let mut group = c.benchmark_group("pyth_pnau_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("13_signatures", |b| {
        b.iter(|| verify_accumulator_update(black_box(&one), &set).expect("verifies"))
    });
    let sets = GuardianSets::mainnet().expect("mainnet sets");
    let fixture = hedger_core::oracle::bytes::decode_base64(BTC_B64).expect("fixture");
    group.bench_function("mainnet_fixture_gs3", |b| {
        b.iter(|| verify_accumulator_update(black_box(&fixture), &sets).expect("verifies"))
    });
    group.finish();
    let three = encode_pnau(&keys, 13, &header(), &prices(3), PnauFaults::default()).expect("pnau");
    let update = verify_accumulator_update(&three, &set).expect("verifies");
    let body =
        hermes_json_for(&[hedger_core::oracle::bytes::encode_hex(&three)], &[update]).to_string();
    let mut group = c.benchmark_group("pyth_hermes_json");
    group.bench_function("3_feeds", |b| {
        b.iter(|| verify_hermes_json(black_box(&body), &set).expect("verifies"))
    });
    group.finish();
}

fn redstone(c: &mut Criterion) {
    let keys = TestKeys::from_seed("bench-node", 1, 5);
    let config = RedstoneConfig {
        authorised_signers: keys.addresses(),
        unique_signers_threshold: 3,
        ..RedstoneConfig::primary_prod()
    };
    let point = |feed: &str, value_e8| RedstonePointInput { feed: feed.to_owned(), value_e8 };
    let eth = [point("ETH", 301_234_567_891)];
    let packages =
        encode_redstone_packages(&keys, 5, NOW_MS, &eth, "ETH", Default::default()).expect("sign");
    let payload = encode_redstone_payload(&packages).expect("payload");
    let mut group = c.benchmark_group("redstone_payload_verify");
    group.bench_function("5_signers", |b| {
        b.iter(|| {
            let parsed = parse_payload(black_box(&payload)).expect("parses");
            aggregate(&parsed.packages, &config, NOW_MS).expect("aggregates")
        })
    });
    let fixture = hedger_core::oracle::bytes::decode_hex(ETH_3SIG_HEX).expect("fixture");
    let fixture_ms = parse_payload(&fixture).expect("parses").packages[0].timestamp_ms;
    let primary = RedstoneConfig::primary_prod();
    group.bench_function("fixture_3sig", |b| {
        b.iter(|| {
            let parsed = parse_payload(black_box(&fixture)).expect("parses");
            aggregate(&parsed.packages, &primary, fixture_ms).expect("aggregates")
        })
    });
    group.finish();
    let groups: Vec<_> =
        [("ETH", 301_234_567_891), ("BTC", 6_012_345_678_901), ("USDC", 99_990_000)]
            .into_iter()
            .map(|(feed, value)| {
                let points = [point(feed, value)];
                let signed =
                    encode_redstone_packages(&keys, 5, NOW_MS, &points, feed, Default::default())
                        .expect("sign");
                (feed.to_owned(), signed)
            })
            .collect();
    let body = redstone_gateway_json(&groups).to_string();
    let mut group = c.benchmark_group("redstone_gateway_json");
    group.bench_function("3_feeds_5_signers", |b| {
        b.iter(|| {
            let parsed = parse_gateway_json(black_box(&body)).expect("parses");
            aggregate_gateway(&parsed, &config, NOW_MS).expect("aggregates")
        })
    });
    group.finish();
}

fn reference(c: &mut Criterion) {
    let mut table = ReferenceTable::new(vec![AssetLimits::default(); 4]);
    for (source, price_e8) in [
        (OracleSource::Pyth, 300_000_000_000),
        (OracleSource::RedStone, 300_010_000_000),
        (OracleSource::Chainlink, 299_990_000_000),
    ] {
        let price =
            OraclePrice { price_e8, conf_e8: 50_000_000, publish_time_ms: NOW_MS, signer_count: 3 };
        table.apply_price(1, source, &price);
    }
    c.bench_function("reference_evaluate/3_sources", |b| {
        b.iter(|| table.reference(black_box(1), black_box(NOW_MS + 500)).expect("reference"))
    });
}

criterion_group!(benches, pyth, redstone, reference);
criterion_main!(benches);
