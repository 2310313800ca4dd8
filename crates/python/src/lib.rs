//! The hypersonic._core extension.
