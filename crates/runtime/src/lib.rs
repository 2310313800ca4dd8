//! Hypersonic's runtime: devices, device memory and kernel launches.
//!
//! Host (`@njit`) calls need no runtime beyond the slot ABI of
//! [`hypersonic_ir::abi`], which the Python extension packs directly. The
//! `Device` trait, the CPU SIMT device, CUDA (cudarc) and Vulkan (ash) arrive
//! with GPU kernels; they will pack launch arguments with the same ABI.

pub use hypersonic_ir::abi;
