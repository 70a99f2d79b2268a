//! Bybit v5 `orderbook.{depth}.{symbol}` sync (venues.md §2.3 "Sync rules (official)" and the
//! gap-detection policy below it; reliability.md §1.1 and §1.3 rule 5; read 2026-11-24):
//!
//! 1. After subscribing a `snapshot` arrives, then `delta`s.
//! 2. **Any new `snapshot` resets** the local book (Bybit re-sends one when something went wrong).
//! 3. A delta's size `0` deletes the level; unknown prices insert; known prices replace.
//! 4. **`u == 1`** means the service restarted and the message is a full book: overwrite.
//! 5. Depth 1 sends snapshots only and re-sends the same `u` after 3 s without change: fine, a
//!    snapshot always applies (rule 2).
//! 6. Key order differs between depths: the parser does not rely on it.
//!
//! Gateway policy (venues.md §2.3 "Gap detection", no previous-id field exists):
//!
//! 7. A delta before any snapshot is **dropped** (`Stale`, counted): the snapshot is coming.
//! 8. A delta repeating the last applied `u` is a duplicate: dropped (`Stale`, counted).
//! 9. `u` must strictly increase: a delta with `u < last_u` (other than `u == 1`) is a **gap**
//!    (reliability.md §7 test 4: "a regression makes the book Invalid").
//! 10. `u != last_u + 1` is a **gap**. The reference marks this rule **UNCERTAIN** (a third-party
//!     observation, "log first, enforce after verifying on testnet"); it is enforced by default
//!     because a silent gap is worse than a needless resubscribe, and
//!     [`BybitSequencer::increasing_only`] turns it off (rule 9 still holds) if recordings show
//!     `u` skipping.
//!
//! Rule 3 is the book's behaviour; the resync (a resubscribe) is the session's.

use crate::venue::{BookIds, BookSequencer, FrameKind, SeqVerdict};

/// The update id Bybit sends when its service restarted (rule 4).
pub const RESTART_UPDATE_ID: u64 = 1;

/// Sync state of one Bybit book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BybitSequencer {
    /// `u` of the snapshot or delta last applied; None until a snapshot (rule 7).
    last_u: Option<u64>,
    /// Rule 10 enforced.
    step_of_one: bool,
    /// Restart snapshots (`u == 1`) seen.
    restarts: u64,
}

impl Default for BybitSequencer {
    fn default() -> Self {
        BybitSequencer::new()
    }
}

impl BybitSequencer {
    /// Rules 1–10 (rule 10 enforced).
    pub fn new() -> BybitSequencer {
        BybitSequencer { last_u: None, step_of_one: true, restarts: 0 }
    }

    /// Rules 1–9 only: `u` must increase but may skip (rule 10 off).
    pub fn increasing_only() -> BybitSequencer {
        BybitSequencer { step_of_one: false, ..BybitSequencer::new() }
    }

    /// `u` of the last applied frame.
    pub fn last_u(&self) -> Option<u64> {
        self.last_u
    }

    /// Restart snapshots (`u == 1`, rule 4) seen since creation.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    fn rule2_snapshot(&mut self, ids: &BookIds) -> SeqVerdict {
        self.last_u = Some(ids.last);
        SeqVerdict::ApplySnapshot
    }

    fn rule4_restart(&mut self, ids: &BookIds) -> SeqVerdict {
        self.restarts += 1;
        self.rule2_snapshot(ids)
    }

    fn rules8_to_10_continuity(&mut self, last_u: u64, ids: &BookIds) -> SeqVerdict {
        let u = ids.last;
        let expected = last_u.saturating_add(1);
        if u == last_u {
            return SeqVerdict::Stale; // rule 8
        }
        if u < last_u || (self.step_of_one && u != expected) {
            // Rules 9 and 10.
            return SeqVerdict::Gap { expected: as_i64(expected), got: as_i64(u) };
        }
        self.last_u = Some(u);
        SeqVerdict::Apply
    }
}

fn as_i64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

impl BookSequencer for BybitSequencer {
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict {
        match kind {
            FrameKind::BookSnapshot if ids.last == RESTART_UPDATE_ID => self.rule4_restart(ids),
            FrameKind::BookSnapshot => self.rule2_snapshot(ids),
            FrameKind::BookDelta if ids.last == RESTART_UPDATE_ID => self.rule4_restart(ids),
            FrameKind::BookDelta => match self.last_u {
                None => SeqVerdict::Stale, // rule 7
                Some(last_u) => self.rules8_to_10_continuity(last_u, ids),
            },
            _ => SeqVerdict::Heartbeat,
        }
    }

    fn reset(&mut self) {
        self.last_u = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(u: u64) -> BookIds {
        BookIds { first: u, last: u, ..BookIds::default() }
    }

    /// The Bybit scenario of venues.md §8 plus rules 2, 5 and 7–10, one row per step.
    #[test]
    fn rule_table() {
        use FrameKind::{BookDelta as D, BookSnapshot as S};
        let mut s = BybitSequencer::new();
        let rows: [(&str, FrameKind, u64, SeqVerdict); 12] = [
            ("rule 7: delta before any snapshot is dropped", D, 99, SeqVerdict::Stale),
            ("rule 1/2: snapshot u=100 seeds the book", S, 100, SeqVerdict::ApplySnapshot),
            ("rule 10: delta u=101 follows", D, 101, SeqVerdict::Apply),
            ("rule 8: u=101 again is a duplicate", D, 101, SeqVerdict::Stale),
            ("rule 10: u=102 follows", D, 102, SeqVerdict::Apply),
            ("rule 9: u=100 regresses", D, 100, SeqVerdict::Gap { expected: 103, got: 100 }),
            ("rule 2: a new snapshot resets", S, 500, SeqVerdict::ApplySnapshot),
            ("rule 10: u=502 skips 501", D, 502, SeqVerdict::Gap { expected: 501, got: 502 }),
            ("rule 2: snapshot u=600", S, 600, SeqVerdict::ApplySnapshot),
            ("rule 4: u=1 restart overwrites (type snapshot)", S, 1, SeqVerdict::ApplySnapshot),
            ("rule 10: continues from 1", D, 2, SeqVerdict::Apply),
            ("rule 4: u=1 even as a delta is a full book", D, 1, SeqVerdict::ApplySnapshot),
        ];
        for (rule, kind, u, expected) in rows {
            assert_eq!(s.on_book_frame(kind, &ids(u)), expected, "{rule}");
        }
        assert_eq!(s.restarts(), 2);
    }

    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// A random valid stream (deltas, mid-stream snapshots, `u == 1` restarts) never gaps; the
    /// same stream with one delta removed gaps on the next delta (rule 10).
    #[test]
    fn property_valid_streams_pass_and_any_lost_delta_is_caught_at_once() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..200 {
            let mut stream = vec![(FrameKind::BookSnapshot, ids(500))];
            let mut last = 500u64;
            for _ in 0..40 {
                let (kind, next) = match next_random(&mut seed) % 20 {
                    0 => (FrameKind::BookSnapshot, 1_000 + next_random(&mut seed) % 1_000),
                    1 => (FrameKind::BookSnapshot, RESTART_UPDATE_ID),
                    _ => (FrameKind::BookDelta, last + 1),
                };
                stream.push((kind, ids(next)));
                last = next;
            }
            let mut s = BybitSequencer::new();
            for (kind, frame) in &stream {
                let verdict = s.on_book_frame(*kind, frame);
                assert!(
                    matches!(verdict, SeqVerdict::Apply | SeqVerdict::ApplySnapshot),
                    "{round}"
                );
            }
            let lost = (1..stream.len() - 1).find(|i| {
                stream[*i].0 == FrameKind::BookDelta && stream[*i + 1].0 == FrameKind::BookDelta
            });
            let Some(lost) = lost else { continue };
            let mut s = BybitSequencer::new();
            for (kind, frame) in &stream[..lost] {
                s.on_book_frame(*kind, frame);
            }
            let (kind, after) = stream[lost + 1];
            assert!(matches!(s.on_book_frame(kind, &after), SeqVerdict::Gap { .. }), "{round}");
        }
    }

    #[test]
    fn rule_5_depth_1_resends_the_same_u() {
        let mut s = BybitSequencer::new();
        for _ in 0..3 {
            assert_eq!(
                s.on_book_frame(FrameKind::BookSnapshot, &ids(42)),
                SeqVerdict::ApplySnapshot
            );
        }
    }

    #[test]
    fn rule_10_off_allows_skips_but_not_regressions() {
        let mut s = BybitSequencer::increasing_only();
        s.on_book_frame(FrameKind::BookSnapshot, &ids(10));
        assert_eq!(s.on_book_frame(FrameKind::BookDelta, &ids(15)), SeqVerdict::Apply);
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &ids(12)),
            SeqVerdict::Gap { expected: 16, got: 12 }
        );
        s.reset();
        assert_eq!(s.on_book_frame(FrameKind::BookDelta, &ids(16)), SeqVerdict::Stale, "rule 7");
        assert_eq!(
            s.on_book_frame(FrameKind::Heartbeat, &BookIds::default()),
            SeqVerdict::Heartbeat
        );
    }
}
