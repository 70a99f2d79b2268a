//! Remaining per-block mint and redeem capacity of the minting contract, as the hot thread
//! knows it from the chain gateway's `ChainEvent`s.
//!
//! Why on the hot thread: a mint or redeem quote must fit the contract's per-block limits
//! (`ethena.md` §3) or the order reverts on chain after the hedge was placed. The chain gateway
//! reads the caps for the next block every poll and sends `MintCapacity`/`RedeemCapacity` per
//! asset (`instrument` = the asset's configured id) and `MintingDisabled`/`MintingEnabled` when
//! the global mint cap turns zero or back (V2 emits no event for it). Nothing is usable until the
//! first reading, nothing is usable while minting is disabled, and a reading only counts for the
//! block it was taken for: quoting for a later block needs a fresh one (fail closed).

use crate::msg::{Body, ChainEventKind, Msg};

/// Capacity of one collateral asset for one block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssetCapacitySlot {
    /// Block the readings apply to; 0 = never read.
    pub block_number: u64,
    pub mint_remaining_usde: u128,
    pub redeem_remaining_usde: u128,
}

/// What applying a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityApplied {
    /// A capacity reading was stored.
    Updated,
    /// Minting was disabled or enabled again (worth telling the cold thread).
    StateChanged,
    /// A chain event that does not change capacity (Mint, Redeem, transfers).
    Event,
    /// A reading older than the stored one (ignored, counted).
    Stale,
    /// Not a chain event, or an unknown asset (counted).
    Rejected,
}

/// Per-asset capacity plus the global disabled flag. All storage is allocated in `new`.
#[derive(Clone, Debug)]
pub struct CapacityTable {
    slots: Vec<AssetCapacitySlot>,
    minting_disabled: bool,
    disabled_changes: u64,
    rejected: u64,
    stale: u64,
    events: u64,
}

impl CapacityTable {
    /// Room for `assets` collateral assets (asset id = the chain message's `instrument`).
    pub fn new(assets: usize) -> CapacityTable {
        CapacityTable {
            slots: vec![AssetCapacitySlot::default(); assets],
            minting_disabled: false,
            disabled_changes: 0,
            rejected: 0,
            stale: 0,
            events: 0,
        }
    }

    /// Applies one message from the chain ring.
    pub fn apply(&mut self, msg: &Msg) -> CapacityApplied {
        let Ok(Body::ChainEvent(event)) = msg.body() else {
            self.rejected += 1;
            return CapacityApplied::Rejected;
        };
        match event.event {
            ChainEventKind::MintingDisabled | ChainEventKind::MintingEnabled => {
                let disabled = event.event == ChainEventKind::MintingDisabled;
                if disabled == self.minting_disabled {
                    return CapacityApplied::Event;
                }
                self.minting_disabled = disabled;
                self.disabled_changes += 1;
                CapacityApplied::StateChanged
            }
            ChainEventKind::MintCapacity | ChainEventKind::RedeemCapacity => {
                let Some(slot) = self.slots.get_mut(msg.instrument.0 as usize) else {
                    self.rejected += 1;
                    return CapacityApplied::Rejected;
                };
                if event.block_number < slot.block_number {
                    self.stale += 1;
                    return CapacityApplied::Stale;
                }
                if event.block_number > slot.block_number {
                    // A new block: the other direction's reading is not valid for it yet.
                    *slot = AssetCapacitySlot {
                        block_number: event.block_number,
                        ..AssetCapacitySlot::default()
                    };
                }
                if event.event == ChainEventKind::MintCapacity {
                    slot.mint_remaining_usde = event.amount;
                } else {
                    slot.redeem_remaining_usde = event.amount;
                }
                CapacityApplied::Updated
            }
            ChainEventKind::Mint
            | ChainEventKind::Redeem
            | ChainEventKind::CustodyTransfer
            | ChainEventKind::Erc20Transfer => {
                self.events += 1;
                CapacityApplied::Event
            }
        }
    }

    /// USDe that may still be minted against `asset` in `block_number`; 0 when minting is
    /// disabled, the asset is unknown, or no reading for that block exists.
    pub fn mint_remaining_usde(&self, asset: usize, block_number: u64) -> u128 {
        match self.slots.get(asset) {
            Some(slot) if !self.minting_disabled && slot.block_number == block_number => {
                slot.mint_remaining_usde
            }
            _ => 0,
        }
    }

    /// USDe that may still be redeemed for `asset` in `block_number`, by the same rule (a
    /// disabled contract redeems nothing either: `disableMintRedeem` zeroes both caps).
    pub fn redeem_remaining_usde(&self, asset: usize, block_number: u64) -> u128 {
        match self.slots.get(asset) {
            Some(slot) if !self.minting_disabled && slot.block_number == block_number => {
                slot.redeem_remaining_usde
            }
            _ => 0,
        }
    }

    /// The slot of `asset`.
    pub fn slot(&self, asset: usize) -> Option<&AssetCapacitySlot> {
        self.slots.get(asset)
    }

    /// The latest block any reading applies to (0 before the first).
    pub fn latest_block(&self) -> u64 {
        self.slots.iter().map(|slot| slot.block_number).max().unwrap_or(0)
    }

    pub fn minting_disabled(&self) -> bool {
        self.minting_disabled
    }

    /// Times minting was disabled or re-enabled.
    pub fn disabled_changes(&self) -> u64 {
        self.disabled_changes
    }

    /// Messages that were not chain events or named an unknown asset.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Readings older than the stored block.
    pub fn stale(&self) -> u64 {
        self.stale
    }

    /// Mint/Redeem/transfer events seen.
    pub fn events(&self) -> u64 {
        self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{InstrumentId, VenueId};
    use crate::msg::{ChainEvent, Heartbeat, Origin};

    fn chain(kind: ChainEventKind, asset: u32, block_number: u64, amount: u128) -> Msg {
        let body = ChainEvent { event: kind, block_number, amount, ref_id: 0 };
        Msg::new(Origin::new(VenueId::Chain, InstrumentId(asset)), Body::ChainEvent(body))
    }

    #[test]
    fn readings_count_only_for_their_block() {
        let mut t = CapacityTable::new(2);
        assert_eq!(t.mint_remaining_usde(0, 10), 0, "nothing before the first reading");
        assert_eq!(
            t.apply(&chain(ChainEventKind::MintCapacity, 0, 10, 500)),
            CapacityApplied::Updated
        );
        assert_eq!(
            t.apply(&chain(ChainEventKind::RedeemCapacity, 0, 10, 70)),
            CapacityApplied::Updated
        );
        assert_eq!((t.mint_remaining_usde(0, 10), t.redeem_remaining_usde(0, 10)), (500, 70));
        assert_eq!(t.mint_remaining_usde(0, 11), 0, "block 11 needs its own reading");
        assert_eq!(t.mint_remaining_usde(1, 10), 0, "other asset never read");
        // A new block's mint reading invalidates the old redeem reading.
        t.apply(&chain(ChainEventKind::MintCapacity, 0, 11, 400));
        assert_eq!((t.mint_remaining_usde(0, 11), t.redeem_remaining_usde(0, 11)), (400, 0));
        assert_eq!(
            t.apply(&chain(ChainEventKind::MintCapacity, 0, 10, 900)),
            CapacityApplied::Stale
        );
        assert_eq!((t.mint_remaining_usde(0, 11), t.stale()), (400, 1));
        assert_eq!(t.latest_block(), 11);
    }

    #[test]
    fn disabled_minting_zeroes_everything_until_enabled() {
        let mut t = CapacityTable::new(1);
        t.apply(&chain(ChainEventKind::MintCapacity, 0, 5, 500));
        t.apply(&chain(ChainEventKind::RedeemCapacity, 0, 5, 50));
        let disabled = chain(ChainEventKind::MintingDisabled, 0, 5, 0);
        assert_eq!(t.apply(&disabled), CapacityApplied::StateChanged);
        assert_eq!(t.apply(&disabled), CapacityApplied::Event, "repeat changes nothing");
        assert!(t.minting_disabled());
        assert_eq!((t.mint_remaining_usde(0, 5), t.redeem_remaining_usde(0, 5)), (0, 0));
        let enabled = chain(ChainEventKind::MintingEnabled, 0, 6, 0);
        assert_eq!(t.apply(&enabled), CapacityApplied::StateChanged);
        assert_eq!(t.mint_remaining_usde(0, 5), 500);
        assert_eq!(t.disabled_changes(), 2);
    }

    #[test]
    fn foreign_messages_and_unknown_assets_are_counted() {
        let mut t = CapacityTable::new(1);
        let beat = Heartbeat { beat_seq: 1, sent_ts_ns: 0 };
        let msg = Msg::new(Origin::new(VenueId::Chain, InstrumentId(0)), Body::Heartbeat(beat));
        assert_eq!(t.apply(&msg), CapacityApplied::Rejected);
        assert_eq!(
            t.apply(&chain(ChainEventKind::MintCapacity, 3, 5, 1)),
            CapacityApplied::Rejected
        );
        assert_eq!(t.apply(&chain(ChainEventKind::Mint, 0, 5, 1)), CapacityApplied::Event);
        assert_eq!((t.rejected(), t.events()), (2, 1));
    }
}
