//! Analyses and transformations of the IR shared by several backends.

pub mod inline;
pub mod uniformity;
