//! Helpers shared by the integration tests (each test crate takes what it needs).
#![allow(dead_code)]

pub mod alloc;
