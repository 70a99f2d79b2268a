//! OKX v5 `books` / `books-l2-tbt` / `books50-l2-tbt` sync, "Sequence ID" (venues.md §3.3 and §8
//! OKX scenario; reliability.md §1.1, §1.3 rule 5 and §7 test 3; read 2026-11-24):
//!
//! 1. Each `instId` has its own `seqId` sequence.
//! 2. A **snapshot** has `prevSeqId = -1`; it seeds (or re-seeds) the book.
//! 3. A normal update's `prevSeqId` **equals the `seqId` of the previous message**; ids are not
//!    contiguous (jumps are normal).
//! 4. **Keep-alive**: after ~60 s without change an update arrives with no levels and
//!    `seqId == prevSeqId` (== the last `seqId`): a no-op (`Heartbeat`).
//! 5. **Maintenance reset**: an update may have `seqId < prevSeqId`; it is valid when its
//!    `prevSeqId` equals the last `seqId`, and later messages follow rule 3 from its `seqId`.
//! 6. **Gap**: `prevSeqId != last seqId` on a non-snapshot → the book is invalid; resubscribe.
//!
//! Gateway policy:
//!
//! 7. An update before any snapshot is dropped (`Stale`, counted): the snapshot is coming.
//! 8. A duplicate — an update whose (`prevSeqId`, `seqId`) pair is one of the last
//!    [`RECENT_PAIRS_MAX`] applied — is dropped (`Stale`, counted). Because rule 5 lets ids go
//!    backwards, "id at or below the last one" cannot tell an old message from one after a missed
//!    reset; only an exact repeat of an applied pair is treated as old, everything else that breaks
//!    rule 3 is a gap (a needless resubscribe is safe, a silently frozen book is not).
//!
//! How rule 5 maps onto [`SeqVerdict`]: a reset update passes rule 3, so it is `Apply` (its levels
//! are real changes), the sequence restarts from its `seqId`, and it is counted in
//! [`OkxSequencer::resets`]. A reset that is also empty is `Heartbeat` like rule 4.
//!
//! A `Heartbeat` frame without ids (the plain-text `pong`) is connection liveness, not part of
//! any book's sequence: `Heartbeat`, no state change.

use crate::venue::{BookIds, BookSequencer, FrameKind, SeqVerdict};

/// Applied (`prevSeqId`, `seqId`) pairs remembered to recognise duplicates (rule 8).
pub const RECENT_PAIRS_MAX: usize = 16;

/// Sync state of one OKX book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OkxSequencer {
    /// `seqId` of the last applied message; None until a snapshot (rule 7).
    last_seq_id: Option<i64>,
    recent: [(i64, i64); RECENT_PAIRS_MAX],
    recent_count: usize,
    recent_next_index: usize,
    resets: u64,
    heartbeats: u64,
}

impl Default for OkxSequencer {
    fn default() -> Self {
        OkxSequencer::new()
    }
}

impl OkxSequencer {
    pub fn new() -> OkxSequencer {
        OkxSequencer {
            last_seq_id: None,
            recent: [(0, 0); RECENT_PAIRS_MAX],
            recent_count: 0,
            recent_next_index: 0,
            resets: 0,
            heartbeats: 0,
        }
    }

    /// `seqId` of the last applied message.
    pub fn last_seq_id(&self) -> Option<i64> {
        self.last_seq_id
    }

    /// Maintenance resets (rule 5) accepted since creation.
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// Keep-alive updates (rule 4) accepted since creation.
    pub fn heartbeats(&self) -> u64 {
        self.heartbeats
    }

    fn rule2_snapshot(&mut self, seq_id: i64) -> SeqVerdict {
        self.recent_count = 0;
        self.recent_next_index = 0;
        self.remember(-1, seq_id);
        SeqVerdict::ApplySnapshot
    }

    fn remember(&mut self, prev_seq_id: i64, seq_id: i64) {
        self.last_seq_id = Some(seq_id);
        self.recent[self.recent_next_index] = (prev_seq_id, seq_id);
        self.recent_next_index = (self.recent_next_index + 1) % RECENT_PAIRS_MAX;
        self.recent_count = (self.recent_count + 1).min(RECENT_PAIRS_MAX);
    }

    fn rule8_is_duplicate(&self, prev_seq_id: i64, seq_id: i64) -> bool {
        self.recent[..self.recent_count].contains(&(prev_seq_id, seq_id))
    }

    /// Rules 3–6 and 8 for an update whose `prevSeqId` is known.
    fn rules3_to_6_update(
        &mut self,
        kind: FrameKind,
        last_seq_id: i64,
        prev_seq_id: i64,
        seq_id: i64,
    ) -> SeqVerdict {
        if prev_seq_id != last_seq_id {
            if self.rule8_is_duplicate(prev_seq_id, seq_id) {
                return SeqVerdict::Stale;
            }
            return SeqVerdict::Gap { expected: last_seq_id, got: prev_seq_id }; // rule 6
        }
        if seq_id < prev_seq_id {
            self.resets += 1; // rule 5
        }
        self.remember(prev_seq_id, seq_id);
        if kind == FrameKind::Heartbeat {
            self.heartbeats += 1; // rule 4
            return SeqVerdict::Heartbeat;
        }
        SeqVerdict::Apply // rule 3 (or 5)
    }
}

impl BookSequencer for OkxSequencer {
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict {
        let seq_id = i64::try_from(ids.last).unwrap_or(i64::MAX);
        match (kind, ids.prev, self.last_seq_id) {
            (FrameKind::BookSnapshot, _, _) => self.rule2_snapshot(seq_id),
            (FrameKind::Heartbeat, None, _) => SeqVerdict::Heartbeat, // pong
            (FrameKind::BookDelta | FrameKind::Heartbeat, _, None) => SeqVerdict::Stale, // rule 7
            (FrameKind::BookDelta | FrameKind::Heartbeat, prev, Some(last)) => {
                self.rules3_to_6_update(kind, last, prev.unwrap_or(i64::MIN), seq_id)
            }
            _ => SeqVerdict::Heartbeat,
        }
    }

    fn reset(&mut self) {
        self.last_seq_id = None;
        self.recent_count = 0;
        self.recent_next_index = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(prev: i64, seq: u64) -> BookIds {
        BookIds { first: seq, last: seq, prev: Some(prev), ..BookIds::default() }
    }

    /// venues.md §8 OKX scenario `(-1,10) (10,15) (15,15) (15,3) (3,5) (7,9)`, plus rules 7–8.
    #[test]
    fn rule_table_from_the_reference_scenario() {
        use FrameKind::{BookDelta as D, BookSnapshot as S, Heartbeat as H};
        let mut s = OkxSequencer::new();
        let rows: [(&str, FrameKind, i64, u64, SeqVerdict); 9] = [
            ("rule 7: update before any snapshot dropped", D, 4, 8, SeqVerdict::Stale),
            ("rule 2: snapshot prevSeqId -1, seqId 10", S, -1, 10, SeqVerdict::ApplySnapshot),
            ("rule 3: (10,15) applies", D, 10, 15, SeqVerdict::Apply),
            ("rule 8: (10,15) again is a duplicate", D, 10, 15, SeqVerdict::Stale),
            ("rule 4: (15,15) empty keep-alive", H, 15, 15, SeqVerdict::Heartbeat),
            ("rule 5: (15,3) maintenance reset is valid", D, 15, 3, SeqVerdict::Apply),
            ("rule 3: (3,5) follows the reset", D, 3, 5, SeqVerdict::Apply),
            ("rule 6: (7,9) is a gap", D, 7, 9, SeqVerdict::Gap { expected: 5, got: 7 }),
            ("rule 2: a new snapshot re-seeds", S, -1, 40, SeqVerdict::ApplySnapshot),
        ];
        for (rule, kind, prev, seq, expected) in rows {
            assert_eq!(s.on_book_frame(kind, &ids(prev, seq)), expected, "{rule}");
        }
        assert_eq!((s.resets(), s.heartbeats(), s.last_seq_id()), (1, 1, Some(40)));
    }

    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// A random valid stream (normal updates with id jumps, keep-alives, resets) never gaps; the
    /// same stream with one changing update removed gaps on the very next update (rule 6).
    #[test]
    fn property_valid_streams_pass_and_any_lost_update_is_caught_at_once() {
        let mut seed = 0x5851_f42d_4c95_7f2du64;
        for round in 0..200 {
            let mut stream = vec![(FrameKind::BookSnapshot, ids(-1, 1_000))];
            let mut last = 1_000u64;
            for _ in 0..40 {
                let (kind, next) = match next_random(&mut seed) % 10 {
                    0 => (FrameKind::Heartbeat, last),
                    1 if last > 1 => (FrameKind::BookDelta, next_random(&mut seed) % last),
                    _ => (FrameKind::BookDelta, last + 1 + next_random(&mut seed) % 100),
                };
                stream.push((kind, ids(last as i64, next)));
                last = next;
            }
            let mut s = OkxSequencer::new();
            for (kind, frame) in &stream {
                let verdict = s.on_book_frame(*kind, frame);
                assert!(
                    !matches!(verdict, SeqVerdict::Gap { .. } | SeqVerdict::Stale),
                    "round {round}"
                );
            }
            let changing: Vec<usize> =
                (1..stream.len() - 1).filter(|i| stream[*i].0 == FrameKind::BookDelta).collect();
            let lost = changing[(next_random(&mut seed) % changing.len() as u64) as usize];
            let mut s = OkxSequencer::new();
            for (kind, frame) in &stream[..lost] {
                s.on_book_frame(*kind, frame);
            }
            let (kind, after) = stream[lost + 1];
            assert!(
                matches!(s.on_book_frame(kind, &after), SeqVerdict::Gap { .. }),
                "round {round}: update {lost} lost"
            );
        }
    }

    #[test]
    fn rule_6_a_missed_reset_is_a_gap_not_a_silent_drop() {
        let mut s = OkxSequencer::new();
        s.on_book_frame(FrameKind::BookSnapshot, &ids(-1, 10));
        s.on_book_frame(FrameKind::BookDelta, &ids(10, 15));
        // The reset (15,3) was lost; (3,5) has ids below 15 but is not an old message.
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &ids(3, 5)),
            SeqVerdict::Gap { expected: 15, got: 3 }
        );
    }

    #[test]
    fn rule_4_keep_alive_must_also_be_continuous_and_pong_is_not_a_book_frame() {
        let mut s = OkxSequencer::new();
        s.on_book_frame(FrameKind::BookSnapshot, &ids(-1, 10));
        assert_eq!(
            s.on_book_frame(FrameKind::Heartbeat, &ids(12, 12)),
            SeqVerdict::Gap { expected: 10, got: 12 }
        );
        assert_eq!(
            s.on_book_frame(FrameKind::Heartbeat, &BookIds::default()),
            SeqVerdict::Heartbeat
        );
        assert_eq!(s.last_seq_id(), Some(10));
        s.reset();
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &ids(10, 11)),
            SeqVerdict::Stale,
            "rule 7"
        );
    }
}
