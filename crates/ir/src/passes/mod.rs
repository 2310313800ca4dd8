//! Analyses and transformations of the IR shared by several backends.

pub mod uniformity;
