//! Oracle price verification (Pyth accumulator updates, RedStone payloads, Chainlink rounds).
