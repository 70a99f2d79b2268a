//! OKX order-book checksum (venues.md §3.3 "Checksum (deprecated)" and §8 vectors O4–O6, read
//! 2026-11-24): CRC-32 (zlib) of `bid1_px:bid1_sz:ask1_px:ask1_sz:…` over the top 25 levels per
//! side of the book *after* the update, alternating sides, skipping a side that has run out, with
//! every price and size written **exactly as the venue wrote it** ("3366" not "3366.0"), read
//! as a signed 32-bit integer.
//!
//! Production has sent `checksum: 0` on every frame since 2026-06-23, so 0 means "absent" and is
//! never checked; a non-zero value (the simulator, old recordings) is verified.
//!
//! The written text: the core book keeps only fixed-point values, so [`OkxBookText`] remembers,
//! per price level, the decimals the venue wrote for its price and its latest size (a sorted map
//! per side, bounded by `levels_max`, allocated once). The text is rebuilt from the value and
//! those decimals — the same digits [`hedger_core::fixed::format_decimal`] gives, written into a
//! reused buffer instead of a new `String`. A level the map does not know (its side was full) is
//! written with its shortest form (trailing zeros removed), which is how OKX writes numbers.
//!
//! Allocation: none after [`OkxBookText::new`].

use std::io::Write;

use hedger_core::book::{Level, OrderBook};
use hedger_core::fixed::pow10;
use hedger_core::msg::Side;

use crate::venue::keeper::BookKeeper;
use crate::venue::{BookSequencer, FrameKind, KeeperEvent, ParsedFrame, WireLevel, WIRE_SCALE};

/// Levels per side that enter the checksum.
pub const CHECKSUM_LEVELS: usize = 25;
/// Bytes of the longest checksum text (50 levels × 2 numbers of ≤ 30 bytes + separators).
pub const CHECKSUM_TEXT_BYTES_MAX: usize = 2 * CHECKSUM_LEVELS * 2 * 32;

/// CRC-32 (IEEE 802.3 / zlib) of the checksum text, as the signed 32-bit value OKX sends.
pub fn okx_checksum(text: &[u8]) -> i32 {
    crc32fast::hash(text) as i32
}

/// Builds the checksum text from levels given as the exact strings received, best first
/// (`[price, size]`), alternating bid and ask for the top [`CHECKSUM_LEVELS`] of each side.
pub fn checksum_text(bids: &[[&str; 2]], asks: &[[&str; 2]], out: &mut Vec<u8>) {
    out.clear();
    for index in 0..CHECKSUM_LEVELS {
        for side in [bids, asks] {
            if let Some([price, size]) = side.get(index) {
                separate(out);
                out.extend_from_slice(price.as_bytes());
                out.push(b':');
                out.extend_from_slice(size.as_bytes());
            }
        }
    }
}

fn separate(out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(b':');
    }
}

/// Written decimals of one price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TextLevel {
    price: i64,
    price_decimals: u8,
    qty_decimals: u8,
}

/// The decimals OKX wrote for each level of one book, to rebuild its checksum text.
pub struct OkxBookText {
    /// Sorted by price ascending (both sides), for binary search.
    bids: Vec<TextLevel>,
    asks: Vec<TextLevel>,
    levels_max: usize,
    text: Vec<u8>,
    untracked_levels: u64,
}

impl OkxBookText {
    /// Remembers up to `levels_max` levels per side (use the keeper's `levels_max`).
    pub fn new(levels_max: usize) -> OkxBookText {
        OkxBookText {
            bids: Vec::with_capacity(levels_max),
            asks: Vec::with_capacity(levels_max),
            levels_max,
            text: Vec::with_capacity(CHECKSUM_TEXT_BYTES_MAX),
            untracked_levels: 0,
        }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Levels written in shortest form because their side's map was full.
    pub fn untracked_levels(&self) -> u64 {
        self.untracked_levels
    }

    /// Records the decimals of an applied frame (a snapshot replaces everything).
    pub fn record(&mut self, frame: &ParsedFrame) {
        if frame.kind == FrameKind::BookSnapshot {
            self.clear();
        }
        for level in &frame.bids {
            self.untracked_levels +=
                u64::from(!record_level(&mut self.bids, self.levels_max, level));
        }
        for level in &frame.asks {
            self.untracked_levels +=
                u64::from(!record_level(&mut self.asks, self.levels_max, level));
        }
    }

    /// The checksum of `book`'s top 25 levels per side, written with the recorded decimals.
    pub fn checksum(&mut self, book: &OrderBook) -> i32 {
        self.text.clear();
        let (bids, asks) =
            (book.top(Side::Buy, CHECKSUM_LEVELS), book.top(Side::Sell, CHECKSUM_LEVELS));
        for index in 0..CHECKSUM_LEVELS {
            if let Some(level) = bids.get(index) {
                write_level(&mut self.text, *level, lookup(&self.bids, level.price_ticks));
            }
            if let Some(level) = asks.get(index) {
                write_level(&mut self.text, *level, lookup(&self.asks, level.price_ticks));
            }
        }
        okx_checksum(&self.text)
    }

    /// The text of the last [`OkxBookText::checksum`] (for diagnostics and tests).
    pub fn last_text(&self) -> &[u8] {
        &self.text
    }
}

/// Inserts, updates or (size 0) removes one level; false when the side is full.
fn record_level(side: &mut Vec<TextLevel>, levels_max: usize, level: &WireLevel) -> bool {
    match side.binary_search_by_key(&level.price, |l| l.price) {
        Ok(index) if level.qty == 0 => {
            side.remove(index);
        }
        Ok(index) => {
            side[index].price_decimals = level.price_decimals;
            side[index].qty_decimals = level.qty_decimals;
        }
        Err(_) if level.qty == 0 => {}
        Err(_) if side.len() >= levels_max => return false,
        Err(index) => side.insert(
            index,
            TextLevel {
                price: level.price,
                price_decimals: level.price_decimals,
                qty_decimals: level.qty_decimals,
            },
        ),
    }
    true
}

fn lookup(side: &[TextLevel], price: i64) -> Option<TextLevel> {
    side.binary_search_by_key(&price, |l| l.price).ok().map(|index| side[index])
}

fn write_level(out: &mut Vec<u8>, level: Level, text: Option<TextLevel>) {
    let (price_decimals, qty_decimals) = match text {
        Some(t) => (t.price_decimals, t.qty_decimals),
        None => (shortest_decimals(level.price_ticks), shortest_decimals(level.qty_lots)),
    };
    separate(out);
    write_decimal(out, level.price_ticks, WIRE_SCALE, price_decimals);
    out.push(b':');
    write_decimal(out, level.qty_lots, WIRE_SCALE, qty_decimals);
}

/// Fewest decimals that print `value` (at [`WIRE_SCALE`]) exactly.
fn shortest_decimals(value: i64) -> u8 {
    let mut decimals = WIRE_SCALE;
    while decimals > 0 && value % pow10(WIRE_SCALE - decimals + 1) == 0 {
        decimals -= 1;
    }
    decimals
}

/// Writes `value` at `scale` with exactly `decimals` digits after the point — the digits of
/// [`hedger_core::fixed::format_decimal`], into `out` without a new allocation.
pub fn write_decimal(out: &mut Vec<u8>, value: i64, scale: u8, decimals: u8) {
    let decimals = decimals.min(scale);
    let magnitude = value.unsigned_abs();
    let unit = pow10(scale) as u64;
    let (int_part, frac_part) = (magnitude / unit, magnitude % unit);
    let sign = if value < 0 { "-" } else { "" };
    // Writing into a Vec cannot fail.
    let _ = if decimals == 0 {
        write!(out, "{sign}{int_part}")
    } else {
        let frac = frac_part / pow10(scale - decimals) as u64;
        write!(out, "{sign}{int_part}.{frac:0width$}", width = usize::from(decimals))
    };
}

/// Feeds one OKX frame to `keeper`, keeps `text` in step with the book, and verifies a non-zero
/// checksum against the book after the frame; a mismatch invalidates the book
/// ([`BookKeeper::fail_checksum`], reason `CHECKSUM`) on this frame.
pub fn apply_okx_frame<S: BookSequencer>(
    keeper: &mut BookKeeper<S>,
    text: &mut OkxBookText,
    frame: &ParsedFrame,
) -> KeeperEvent {
    let event = keeper.on_frame(frame);
    match event {
        KeeperEvent::SnapshotApplied | KeeperEvent::Applied => text.record(frame),
        KeeperEvent::Invalidated { .. } | KeeperEvent::Quarantined { .. } => {
            text.clear();
            return event;
        }
        _ => {}
    }
    let checked = matches!(
        event,
        KeeperEvent::SnapshotApplied | KeeperEvent::Applied | KeeperEvent::Heartbeat
    );
    if !checked || frame.ids.checksum == 0 || frame.ids.prev.is_none() {
        return event;
    }
    let got = i64::from(text.checksum(keeper.book()));
    if got == frame.ids.checksum {
        return event;
    }
    text.clear();
    keeper.fail_checksum(frame.ids.checksum, got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedger_core::fixed::format_decimal;

    /// venues.md §8 O4 and O5: COMPUTED over the OFFICIAL strings.
    #[test]
    fn vectors_o4_o5() {
        let mut text = Vec::new();
        checksum_text(
            &[["3366.1", "7"], ["3366", "6"]],
            &[["3366.8", "9"], ["3368", "8"]],
            &mut text,
        );
        assert_eq!(text, b"3366.1:7:3366.8:9:3366:6:3368:8");
        assert_eq!(okx_checksum(&text), -1_881_014_294);
        checksum_text(
            &[["3366.1", "7"]],
            &[["3366.8", "9"], ["3368", "8"], ["3372", "8"]],
            &mut text,
        );
        assert_eq!(text, b"3366.1:7:3366.8:9:3368:8:3372:8", "rule 3: a short side is skipped");
        assert_eq!(okx_checksum(&text), 831_078_360);
    }

    /// venues.md §8 O6: the 8-level doc snapshot (COMPUTED; the doc's own -855196043 is wrong).
    #[test]
    fn vector_o6() {
        let bids = [
            ["8476.97", "256"],
            ["8475.55", "101"],
            ["8475.54", "100"],
            ["8475.3", "1"],
            ["8447.32", "6"],
            ["8447.02", "246"],
            ["8446.83", "24"],
            ["8446", "95"],
        ];
        let asks = [
            ["8476.98", "415"],
            ["8477", "7"],
            ["8477.34", "85"],
            ["8477.56", "1"],
            ["8505.84", "8"],
            ["8506.37", "85"],
            ["8506.49", "2"],
            ["8506.96", "100"],
        ];
        let mut text = Vec::new();
        checksum_text(&bids, &asks, &mut text);
        assert_eq!(okx_checksum(&text), -2_102_840_145);
    }

    #[test]
    fn write_decimal_matches_format_decimal() {
        let mut out = Vec::new();
        let mut value = 1i64;
        for step in 0..400i64 {
            value =
                value.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(step) % 10_i64.pow(15);
            for decimals in 0..=WIRE_SCALE {
                let aligned = value - value % pow10(WIRE_SCALE - decimals);
                for v in [aligned, -aligned] {
                    out.clear();
                    write_decimal(&mut out, v, WIRE_SCALE, decimals);
                    assert_eq!(out, format_decimal(v, WIRE_SCALE, decimals).as_bytes());
                }
            }
        }
        assert_eq!(shortest_decimals(336_610_000_000), 1);
        assert_eq!(shortest_decimals(336_600_000_000), 0);
        assert_eq!(shortest_decimals(1), 8);
    }
}
