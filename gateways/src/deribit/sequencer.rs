//! Deribit `book.{instrument}.{interval}` sync (venues.md §4.4 "Sync rules (official)" and §8
//! Deribit scenario; reliability.md §1.1, §1.3 rule 5 and §7 test 5; read 2026-11-24):
//!
//! 1. The first notification after subscribing is the whole book (`type: snapshot`).
//! 2. Later notifications (`type: change`) carry `[action, price, amount]`: `new` inserts,
//!    `change` replaces, `delete` removes.
//! 3. Every notification has `change_id`, every one but the first `prev_change_id`: **if
//!    `prev_change_id` equals the previous message's `change_id`, nothing was missed**; otherwise
//!    the book is invalid: unsubscribe and resubscribe (a new snapshot follows).
//!
//! Gateway policy:
//!
//! 4. A change before any snapshot is dropped (`Stale`, counted): the snapshot is coming.
//! 5. A change whose `change_id` is at or below the last applied one is old (a duplicate): dropped
//!    (`Stale`, counted). `change_id` only grows on Deribit (no reset is documented), so an old id
//!    cannot be a missed restart.
//! 6. A snapshot always re-seeds (after a resubscribe, or a `public/get_order_book` result).
//!
//! Rule 2 is the parser's (`delete` → quantity 0) and the book's; the resubscribe is the
//! session's.

use crate::venue::{BookIds, BookSequencer, FrameKind, SeqVerdict};

/// Sync state of one Deribit book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeribitSequencer {
    /// `change_id` of the last applied notification; None until a snapshot (rule 4).
    last_change_id: Option<u64>,
}

impl DeribitSequencer {
    pub fn new() -> DeribitSequencer {
        DeribitSequencer::default()
    }

    /// `change_id` of the last applied notification.
    pub fn last_change_id(&self) -> Option<u64> {
        self.last_change_id
    }

    fn rule3_continuity(&mut self, last: u64, ids: &BookIds) -> SeqVerdict {
        let last_i64 = i64::try_from(last).unwrap_or(i64::MAX);
        if ids.prev == Some(last_i64) {
            self.last_change_id = Some(ids.last);
            return SeqVerdict::Apply;
        }
        if ids.last <= last {
            return SeqVerdict::Stale; // rule 5
        }
        SeqVerdict::Gap { expected: last_i64, got: ids.prev.unwrap_or(-1) }
    }
}

impl BookSequencer for DeribitSequencer {
    fn on_book_frame(&mut self, kind: FrameKind, ids: &BookIds) -> SeqVerdict {
        match (kind, self.last_change_id) {
            (FrameKind::BookSnapshot, _) => {
                self.last_change_id = Some(ids.last); // rules 1 and 6
                SeqVerdict::ApplySnapshot
            }
            (FrameKind::BookDelta, None) => SeqVerdict::Stale, // rule 4
            (FrameKind::BookDelta, Some(last)) => self.rule3_continuity(last, ids),
            _ => SeqVerdict::Heartbeat,
        }
    }

    fn reset(&mut self) {
        self.last_change_id = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(prev: i64, id: u64) -> BookIds {
        BookIds { first: id, last: id, prev: Some(prev), ..BookIds::default() }
    }

    fn snapshot(id: u64) -> BookIds {
        BookIds { first: id, last: id, ..BookIds::default() }
    }

    /// venues.md §8 Deribit scenario plus rules 4–6, one row per step.
    #[test]
    fn rule_table_from_the_reference_scenario() {
        use FrameKind::{BookDelta as D, BookSnapshot as S};
        let mut s = DeribitSequencer::new();
        let rows: [(&str, FrameKind, BookIds, SeqVerdict); 7] = [
            (
                "rule 4: change before any snapshot dropped",
                D,
                change(297216, 297217),
                SeqVerdict::Stale,
            ),
            ("rule 1: snapshot change_id 297217", S, snapshot(297217), SeqVerdict::ApplySnapshot),
            ("rule 3: prev 297217 == last applies", D, change(297217, 297218), SeqVerdict::Apply),
            ("rule 5: 297218 again is old", D, change(297217, 297218), SeqVerdict::Stale),
            (
                "rule 3: prev 297220 != 297218 is a gap",
                D,
                change(297220, 297221),
                SeqVerdict::Gap { expected: 297218, got: 297220 },
            ),
            ("rule 6: a new snapshot re-seeds", S, snapshot(297300), SeqVerdict::ApplySnapshot),
            ("rule 3: continues from it", D, change(297300, 297301), SeqVerdict::Apply),
        ];
        for (rule, kind, ids, expected) in rows {
            assert_eq!(s.on_book_frame(kind, &ids), expected, "{rule}");
        }
        assert_eq!(s.last_change_id(), Some(297301));
    }

    fn next_random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// A random valid stream (ids jumping forward, occasional re-snapshots) never gaps; the same
    /// stream with one change removed gaps on the next change (rule 3).
    #[test]
    fn property_valid_streams_pass_and_any_lost_change_is_caught_at_once() {
        let mut seed = 0x853c_49e6_748f_ea9bu64;
        for round in 0..200 {
            let mut stream = vec![(FrameKind::BookSnapshot, snapshot(297_217))];
            let mut last = 297_217u64;
            for _ in 0..40 {
                let next = last + 1 + next_random(&mut seed) % 50;
                let frame = if next_random(&mut seed).is_multiple_of(20) {
                    (FrameKind::BookSnapshot, snapshot(next))
                } else {
                    (FrameKind::BookDelta, change(last as i64, next))
                };
                stream.push(frame);
                last = next;
            }
            let mut s = DeribitSequencer::new();
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
            let mut s = DeribitSequencer::new();
            for (kind, frame) in &stream[..lost] {
                s.on_book_frame(*kind, frame);
            }
            let (kind, after) = stream[lost + 1];
            assert!(matches!(s.on_book_frame(kind, &after), SeqVerdict::Gap { .. }), "{round}");
        }
    }

    #[test]
    fn rule_3_missing_prev_change_id_is_a_gap() {
        let mut s = DeribitSequencer::new();
        s.on_book_frame(FrameKind::BookSnapshot, &snapshot(10));
        let no_prev = BookIds { first: 11, last: 11, ..BookIds::default() };
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &no_prev),
            SeqVerdict::Gap { expected: 10, got: -1 }
        );
        assert_eq!(
            s.on_book_frame(FrameKind::Heartbeat, &BookIds::default()),
            SeqVerdict::Heartbeat
        );
        s.reset();
        assert_eq!(
            s.on_book_frame(FrameKind::BookDelta, &change(10, 11)),
            SeqVerdict::Stale,
            "rule 4"
        );
    }
}
