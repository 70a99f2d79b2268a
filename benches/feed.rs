//! Criterion benchmarks of the Binance normaliser: the full parse (simd-json tape → exact
//! fixed-point levels) against simd-json's tape fill alone, to show where the time goes. The
//! per-message distribution and the serde_json comparison are in `hedger bench feed`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hedger_gateways::binance::BinanceParser;
use hedger_gateways::venue::ParsedFrame;
use hedger_tools::bench::feed::binance_depth_messages;

fn normalise(c: &mut Criterion) {
    let messages = binance_depth_messages();
    let mut group = c.benchmark_group("binance_depth_20x20");
    group.throughput(Throughput::Elements(messages.len() as u64));
    let mut scanner = BinanceParser::new();
    let mut frame = ParsedFrame::new();
    group.bench_function("scanner_to_fixed_point", |b| {
        b.iter(|| {
            for m in &messages {
                let _ = black_box(scanner.parse(black_box(m), &mut frame));
            }
        })
    });
    let mut parser = BinanceParser::general();
    group.bench_function("simd_json_to_fixed_point", |b| {
        b.iter(|| {
            for m in &messages {
                let _ = black_box(parser.parse(black_box(m), &mut frame));
            }
        })
    });
    let mut buffers = simd_json::Buffers::new(4096);
    let mut tape = Some(simd_json::tape::Tape(Vec::with_capacity(1024)));
    let mut input = Vec::with_capacity(2048);
    group.bench_function("simd_json_fill_tape_only", |b| {
        b.iter(|| {
            for m in &messages {
                input.clear();
                input.extend_from_slice(m);
                let mut t =
                    tape.take().unwrap_or_else(|| simd_json::tape::Tape(Vec::new())).reset();
                let _ = black_box(simd_json::fill_tape(&mut input, &mut buffers, &mut t));
                tape = Some(t.reset());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, normalise);
criterion_main!(benches);
