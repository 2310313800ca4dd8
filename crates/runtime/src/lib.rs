//! Devices and argument packing.
