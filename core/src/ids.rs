//! Small integer identifiers for venues, sources and instruments.
//!
//! Messages that cross threads carry no strings: a venue or oracle source is one byte and an
//! instrument is a `u32` index into the instrument table built at start-up from config and the
//! venues' instrument endpoints. Names exist only at the edges (config, CLI, logs).

/// A market-data or order source: an exchange, an oracle network, the chain or an internal thread.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VenueId {
    /// No venue (internal messages).
    None = 0,
    BinanceUsdm = 1,
    Bybit = 2,
    Okx = 3,
    Deribit = 4,
    Pyth = 16,
    RedStone = 17,
    Chainlink = 18,
    Chain = 32,
    /// The synthetic feed of `hedger run` before real gateways are configured.
    Synthetic = 250,
}

impl VenueId {
    /// Every defined id, for tools that list or validate them.
    pub const ALL: [VenueId; 10] = [
        VenueId::None,
        VenueId::BinanceUsdm,
        VenueId::Bybit,
        VenueId::Okx,
        VenueId::Deribit,
        VenueId::Pyth,
        VenueId::RedStone,
        VenueId::Chainlink,
        VenueId::Chain,
        VenueId::Synthetic,
    ];

    /// Decodes a wire byte; `None` for an unknown id (decoders count and reject it).
    pub fn from_u8(value: u8) -> Option<VenueId> {
        VenueId::ALL.into_iter().find(|v| *v as u8 == value)
    }

    /// The stable lower-case name used in config files, CLI flags and JSON.
    pub fn name(self) -> &'static str {
        match self {
            VenueId::None => "none",
            VenueId::BinanceUsdm => "binance-usdm",
            VenueId::Bybit => "bybit",
            VenueId::Okx => "okx",
            VenueId::Deribit => "deribit",
            VenueId::Pyth => "pyth",
            VenueId::RedStone => "redstone",
            VenueId::Chainlink => "chainlink",
            VenueId::Chain => "chain",
            VenueId::Synthetic => "synthetic",
        }
    }
}

/// Index of an instrument in the process-wide instrument table.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct InstrumentId(pub u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_ids_round_trip_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for venue in VenueId::ALL {
            assert_eq!(VenueId::from_u8(venue as u8), Some(venue));
            assert!(names.insert(venue.name()), "duplicate name {}", venue.name());
        }
        assert_eq!(VenueId::from_u8(200), None);
    }
}
