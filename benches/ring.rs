//! Criterion micro-benchmarks of the ring and message paths on one thread (no cross-core
//! traffic): the per-message cost the hedger ring adds over raw `rtrb` (TSC stamp, telemetry
//! stores, hop histogram), and message encode/decode. Cross-core hop latency and throughput are
//! measured by `hedger bench ring`, which pins two threads and reports against the c2c floor.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hedger_core::ids::{InstrumentId, VenueId};
use hedger_core::msg::{Bbo, Body, Msg, Origin};
use hedger_ipc::telemetry::{TelemetryFile, TelemetryLimits};

fn bbo(i: i64) -> Msg {
    Msg::new(
        Origin::new(VenueId::BinanceUsdm, InstrumentId(3)),
        Body::Bbo(Bbo {
            bid_price_ticks: i,
            bid_qty_lots: 2,
            ask_price_ticks: i + 1,
            ask_qty_lots: 3,
        }),
    )
}

fn ring_paths(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tel =
        TelemetryFile::create(&dir.path().join("b.tel"), TelemetryLimits::default(), "bench", 1, 0)
            .expect("telemetry");
    let mut group = c.benchmark_group("ring_push_pop_same_thread");
    group.throughput(Throughput::Elements(1));
    let (mut tx, mut rx) = hedger_ipc::ring::<Msg>(&tel, "b1", 1024).expect("ring");
    let msg = bbo(100);
    group.bench_function("hedger-ring", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(msg));
            black_box(rx.pop())
        })
    });
    let (mut rtx, mut rrx) = rtrb::RingBuffer::<Msg>::new(1024);
    group.bench_function("rtrb-raw", |b| {
        b.iter(|| {
            let _ = rtx.push(black_box(msg));
            black_box(rrx.pop().ok())
        })
    });
    group.throughput(Throughput::Elements(64));
    let (mut btx, mut brx) = hedger_ipc::ring::<Msg>(&tel, "b2", 1024).expect("ring");
    let batch = [msg; 64];
    let mut out = [Msg::EMPTY; 64];
    group.bench_function("hedger-ring-batch64", |b| {
        b.iter(|| {
            btx.push_slice(black_box(&batch));
            black_box(brx.pop_into(&mut out))
        })
    });
    group.finish();
}

fn message_paths(c: &mut Criterion) {
    let mut group = c.benchmark_group("msg");
    let msg = bbo(6_500_000);
    group.bench_function("new+body", |b| {
        b.iter(|| {
            black_box(Msg::new(black_box(msg.origin()), black_box(msg.body().expect("body"))))
        })
    });
    group.bench_function("to_bytes+from_bytes", |b| {
        b.iter(|| black_box(Msg::from_bytes(&black_box(msg).to_bytes())))
    });
    group.finish();
}

criterion_group!(benches, ring_paths, message_paths);
criterion_main!(benches);
