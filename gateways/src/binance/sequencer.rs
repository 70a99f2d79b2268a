//! Binance USDⓈ-M diff-depth sync, "How to manage a local order book correctly":
//!
//! 1. Open the stream.
//! 2. **Buffer** events until the snapshot arrives.
//! 3. Get a REST snapshot (`lastUpdateId`).
//! 4. **Drop** buffered events with `u < lastUpdateId`.
//! 5. The first event applied must have `U <= lastUpdateId AND u >= lastUpdateId`; if the first
//!    event with `u >= lastUpdateId` has `U > lastUpdateId`, the snapshot is too old: resync.
//! 6. Each later event's `pu` must equal the previous event's `u`; otherwise resync from step 3.
//! 7. Quantities are absolute; 0 removes the level.
//! 8. Removing an unknown level is normal.
//!
//! Steps 7–8 are the book's behaviour; buffering (2) and replay after the snapshot are the
//! keeper's. Duplicates (an event whose `u` is at or below the last applied `u`) are dropped and
//! counted (reliability §1.3 rule 5): the futures stream never legitimately repeats an id.

use crate::venue::{BookIds, BookSequencer, FrameKind, SeqVerdict};

/// Sync state of one Binance book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinanceSequencer {
    /// `lastUpdateId` of the snapshot in force (step 3).
    snapshot_id: Option<u64>,
    /// `u` of the last applied event (step 6); None until step 5 passed.
    last_u: Option<u64>,
}

impl BinanceSequencer {
    pub fn new() -> BinanceSequencer {
        BinanceSequencer::default()
    }

    /// `u` of the last applied event.
    pub fn last_u(&self) -> Option<u64> {
        self.last_u
    }

    fn step5_first_event(&mut self, snapshot_id: u64, ids: &BookIds) -> SeqVerdict {
        if ids.last < snapshot_id {
            return SeqVerdict::Stale; // step 4
        }
        if ids.first > snapshot_id {
            // Step 5 fails: the stream has moved past the snapshot; fetch a newer one.
            return SeqVerdict::Gap { expected: snapshot_id as i64, got: ids.first as i64 };
        }
        self.last_u = Some(ids.last);
        SeqVerdict::Apply
    }

    fn step6_continuity(&mut self, last_u: u64, ids: &BookIds) -> SeqVerdict {
        if ids.prev == Some(last_u as i64) {
            self.last_u = Some(ids.last);
            return SeqVerdict::Apply;
        }
        if ids.last <= last_u {
            return SeqVerdict::Stale;
        }
        SeqVerdict::Gap { expected: last_u as i64, got: ids.prev.unwrap_or(-1) }
    }
}

impl BookSequencer for BinanceSequencer {
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict {
        match kind {
            FrameKind::BookSnapshot => {
                self.snapshot_id = Some(ids.last);
                self.last_u = None;
                SeqVerdict::ApplySnapshot
            }
            FrameKind::BookDelta => match (self.snapshot_id, self.last_u) {
                (None, _) => SeqVerdict::Buffer,
                (Some(snapshot_id), None) => self.step5_first_event(snapshot_id, ids),
                (Some(_), Some(last_u)) => self.step6_continuity(last_u, ids),
            },
            _ => SeqVerdict::Heartbeat,
        }
    }

    fn reset(&mut self) {
        *self = BinanceSequencer::default();
    }

    fn needs_rest_snapshot(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(first: u64, last: u64, prev: i64) -> BookIds {
        BookIds { first, last, prev: Some(prev), ..BookIds::default() }
    }

    fn snapshot(last: u64) -> BookIds {
        BookIds { first: last, last, ..BookIds::default() }
    }

    /// The worked example of venues.md §1.4, one row per step.
    #[test]
    fn worked_example_from_the_reference() {
        let mut s = BinanceSequencer::new();
        let rows: [(&str, FrameKind, BookIds, SeqVerdict); 6] = [
            (
                "step 2: buffer before the snapshot",
                FrameKind::BookDelta,
                delta(990, 995, 985),
                SeqVerdict::Buffer,
            ),
            (
                "step 3: snapshot lastUpdateId=1000",
                FrameKind::BookSnapshot,
                snapshot(1000),
                SeqVerdict::ApplySnapshot,
            ),
            (
                "step 4: u=995 < 1000 dropped",
                FrameKind::BookDelta,
                delta(990, 995, 985),
                SeqVerdict::Stale,
            ),
            (
                "step 5: 996 <= 1000 <= 1003 applied",
                FrameKind::BookDelta,
                delta(996, 1003, 995),
                SeqVerdict::Apply,
            ),
            (
                "step 6: pu 1003 == u applied",
                FrameKind::BookDelta,
                delta(1004, 1010, 1003),
                SeqVerdict::Apply,
            ),
            (
                "step 6: pu 1012 != 1010 is a gap",
                FrameKind::BookDelta,
                delta(1015, 1020, 1012),
                SeqVerdict::Gap { expected: 1010, got: 1012 },
            ),
        ];
        for (rule, kind, ids, expected) in rows {
            assert_eq!(s.on_book_frame(kind, &ids), expected, "{rule}");
        }
    }

    #[test]
    fn step5_snapshot_older_than_the_stream_needs_a_new_snapshot() {
        let mut s = BinanceSequencer::new();
        s.on_book_frame(FrameKind::BookSnapshot, &snapshot(1000));
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &delta(1001, 1005, 999)),
            SeqVerdict::Gap { expected: 1000, got: 1001 }
        );
    }

    #[test]
    fn step6_duplicates_and_replays_are_dropped_not_applied() {
        let mut s = BinanceSequencer::new();
        s.on_book_frame(FrameKind::BookSnapshot, &snapshot(10));
        assert_eq!(s.on_book_frame(FrameKind::BookDelta, &delta(9, 12, 8)), SeqVerdict::Apply);
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &delta(9, 12, 8)),
            SeqVerdict::Stale,
            "duplicate"
        );
        assert_eq!(s.on_book_frame(FrameKind::BookDelta, &delta(13, 15, 12)), SeqVerdict::Apply);
        assert_eq!(s.last_u(), Some(15));
        s.reset();
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &delta(16, 18, 15)),
            SeqVerdict::Buffer,
            "after reset: step 2"
        );
    }
}
