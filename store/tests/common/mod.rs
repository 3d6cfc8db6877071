//! Shared test code.

pub mod meta;
