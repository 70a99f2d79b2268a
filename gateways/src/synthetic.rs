//! The synthetic market source.
