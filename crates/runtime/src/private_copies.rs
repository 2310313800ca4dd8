//! Per-task private copies of accumulation targets on the CPU device.
//!
//! The SIMT compiler lists the kernel arguments that only receive
//! accumulating atomics ([`PrivateArray`]). For a launch of several tasks, each
//! small such array gets, per task, a private copy that starts at the
//! operation's identity; the task's blocks see the copy in place of the array
//! (its data pointer swapped in the argument slots, its bit set in
//! `BlockContext::private_mask`) and accumulate with plain read-modify-writes;
//! at the end the task folds its copy into the array under a lock. The
//! results are those of the atomics in some order, which is all a GPU
//! promises, and exact (integers only).

use std::sync::Mutex;

use hypersonic_ir::{AtomicOp, Scalar};
use hypersonic_llvm::simt::{ArraySlot, PrivateArray};

/// Arrays larger than this stay shared: folding a copy per task would cost
/// more than the contention it saves.
const MAX_PRIVATE_BYTES: u64 = 64 * 1024;

/// One array of this launch that tasks accumulate into privately.
pub(crate) struct Target {
    param: u32,
    slot: usize,
    data: usize,
    len: usize,
    dtype: Scalar,
    fold: AtomicOp,
}

/// The launch's arrays to privatise: those of `candidates` that are small,
/// contiguous and not empty, given the argument slots.
pub(crate) fn targets(candidates: &[PrivateArray], args: &[u64]) -> Vec<Target> {
    candidates
        .iter()
        .filter_map(|a| {
            let nd = a.ndim as usize;
            let shape = args.get(a.slot + 1..a.slot + 1 + nd)?;
            let strides = args.get(a.slot + 1 + nd..a.slot + 1 + 2 * nd)?;
            let size = a.dtype.size() as u64;
            // C order, element after element (dimensions of one may have any stride).
            let mut expect = size;
            let mut len = 1u64;
            for k in (0..nd).rev() {
                if shape[k] != 1 && strides[k] != expect {
                    return None;
                }
                expect = expect.checked_mul(shape[k])?;
                len = len.checked_mul(shape[k])?;
            }
            let bytes = len.checked_mul(size)?;
            let data = *args.get(a.slot)?;
            // The same memory passed again as another argument would see the
            // accumulations only at the end: keep such an array shared.
            let shared = a.others.iter().any(|o| {
                span(o, args).is_none_or(|(lo, hi)| lo < data.saturating_add(bytes) && data < hi)
            });
            (len > 0 && bytes <= MAX_PRIVATE_BYTES && !shared).then_some(Target {
                param: a.param,
                slot: a.slot,
                data: data as usize,
                len: len as usize,
                dtype: a.dtype,
                fold: a.fold,
            })
        })
        .collect()
}

/// The bytes `[lo, hi)` array argument `a` covers (empty when it has no
/// elements); `None` when its slots are missing.
fn span(a: &ArraySlot, args: &[u64]) -> Option<(u64, u64)> {
    let nd = a.ndim as usize;
    let data = *args.get(a.slot)? as i128;
    let shape = args.get(a.slot + 1..a.slot + 1 + nd)?;
    let strides = args.get(a.slot + 1 + nd..a.slot + 1 + 2 * nd)?;
    if shape.contains(&0) {
        return Some((0, 0));
    }
    let (mut lo, mut hi) = (data, data + a.itemsize as i128);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = (n as i64 as i128 - 1) * (s as i64 as i128);
        if reach < 0 {
            lo += reach;
        } else {
            hi += reach;
        }
    }
    Some((lo.max(0) as u64, hi.max(0) as u64))
}

/// A task's private copies and the argument slots that point at them.
pub(crate) struct Copies {
    pub args: Vec<u64>,
    pub mask: u32,
    bufs: Vec<Vec<u64>>,
}

impl Copies {
    pub(crate) fn new(targets: &[Target], args: &[u64]) -> Copies {
        let mut args = args.to_vec();
        let mut mask = 0;
        let mut bufs = Vec::with_capacity(targets.len());
        for t in targets {
            let size = t.dtype.size() as usize;
            let mut buf = vec![0u64; (t.len * size).div_ceil(8)];
            let identity = identity(t.fold, t.dtype);
            let bytes = &identity.to_le_bytes()[..size];
            let view = as_bytes(&mut buf);
            for k in 0..t.len {
                view[k * size..(k + 1) * size].copy_from_slice(bytes);
            }
            args[t.slot] = buf.as_ptr() as u64;
            mask |= 1 << t.param;
            bufs.push(buf);
        }
        Copies { args, mask, bufs }
    }

    /// Folds the copies into the arrays; `lock` serialises the tasks' folds.
    ///
    /// # Safety
    /// Each target's data must be valid for its `len` elements, and no one
    /// but the folds may access it while the launch runs (the compiler's
    /// analysis: the kernel only accumulates into it).
    pub(crate) unsafe fn fold(mut self, targets: &[Target], lock: &Mutex<()>) {
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        for (t, buf) in targets.iter().zip(&mut self.bufs) {
            let size = t.dtype.size() as usize;
            let src = as_bytes(buf);
            // SAFETY: the caller's contract.
            let dst = unsafe { std::slice::from_raw_parts_mut(t.data as *mut u8, t.len * size) };
            for k in 0..t.len {
                let r = k * size..(k + 1) * size;
                let a = read(&dst[r.clone()], t.dtype);
                let b = read(&src[r.clone()], t.dtype);
                let v = combine(t.fold, t.dtype, a, b);
                dst[r].copy_from_slice(&v.to_le_bytes()[..size]);
            }
        }
    }
}

fn as_bytes(buf: &mut [u64]) -> &mut [u8] {
    // SAFETY: u64 has no padding and any bytes are a valid u8.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), buf.len() * 8) }
}

/// An element as a sign- or zero-extended 64-bit value.
fn read(bytes: &[u8], dtype: Scalar) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    let v = u64::from_le_bytes(b);
    let bits = 8 * bytes.len() as u32;
    if dtype.is_signed_int() && bits < 64 {
        (((v << (64 - bits)) as i64) >> (64 - bits)) as u64
    } else {
        v
    }
}

/// The identity of `fold` on `dtype`, as the low bytes of a 64-bit value.
fn identity(fold: AtomicOp, dtype: Scalar) -> u64 {
    let bits = 8 * dtype.size();
    let signed = dtype.is_signed_int();
    match fold {
        AtomicOp::And => u64::MAX,
        // The smallest value: for max.
        AtomicOp::Max if signed => 1u64 << (bits - 1),
        AtomicOp::Max => 0,
        // The largest value: for min.
        AtomicOp::Min if signed => u64::MAX >> (65 - bits),
        AtomicOp::Min => u64::MAX,
        _ => 0,
    }
}

fn combine(fold: AtomicOp, dtype: Scalar, a: u64, b: u64) -> u64 {
    let signed = dtype.is_signed_int();
    match fold {
        AtomicOp::Add => a.wrapping_add(b),
        AtomicOp::And => a & b,
        AtomicOp::Or => a | b,
        AtomicOp::Xor => a ^ b,
        AtomicOp::Max if signed => (a as i64).max(b as i64) as u64,
        AtomicOp::Max => a.max(b),
        AtomicOp::Min if signed => (a as i64).min(b as i64) as u64,
        AtomicOp::Min => a.min(b),
        // Not privatised (see `privatize`).
        _ => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_leave_values_unchanged() {
        for dtype in [
            Scalar::I8,
            Scalar::I16,
            Scalar::I32,
            Scalar::I64,
            Scalar::U8,
            Scalar::U32,
            Scalar::U64,
        ] {
            let size = dtype.size() as usize;
            for fold in [
                AtomicOp::Add,
                AtomicOp::And,
                AtomicOp::Or,
                AtomicOp::Xor,
                AtomicOp::Max,
                AtomicOp::Min,
            ] {
                let id = read(&identity(fold, dtype).to_le_bytes()[..size], dtype);
                for x in [0u64, 1, 5, 0x7f, 0x80, 0xff, 12345, u64::MAX] {
                    let x = read(&x.to_le_bytes()[..size], dtype);
                    let got = combine(fold, dtype, x, id);
                    let got = read(&got.to_le_bytes()[..size], dtype);
                    assert_eq!(got, x, "{fold:?} {dtype:?} {x:#x}");
                }
            }
        }
    }
}
