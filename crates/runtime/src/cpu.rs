//! The CPU device: kernels compiled by the SIMT lowering, one block function
//! call per block, blocks spread over rayon's workers. Device memory is host
//! memory; the address in a slot is the host address. Every operation has
//! completed when it returns, so streams order nothing and events are instants.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::abi::BlockContext;
use crate::device::{
    Device, DeviceBuffer, DeviceId, DeviceInfo, DeviceKind, DeviceLimits, Event, EventInner,
    Stream, StreamInner,
};
use crate::kernel::{CpuImage, Kernel, LaunchConfig};
use crate::private_copies::{self, Copies, Target};
use crate::{Result, RuntimeError};

/// Alignment of buffers, shared memory and scratch memory (a cache line, which
/// is more than the 16 bytes the ABI promises).
const ALIGN: usize = 64;

/// GPU threads of work (blocks × threads per block) that one rayon task aims for.
const TASK_THREADS: u64 = 4096;

/// Tasks per worker thread at least, when the grid is large enough, for balance.
const TASKS_PER_WORKER: u64 = 8;

/// A grid estimated to take less than this runs on the launching thread:
/// waking rayon's workers costs tens of microseconds.
const INLINE_NANOS: u64 = 30_000;

pub struct CpuDevice {
    info: DeviceInfo,
}

impl CpuDevice {
    pub(crate) fn new() -> CpuDevice {
        CpuDevice {
            info: DeviceInfo {
                id: DeviceId {
                    kind: DeviceKind::Cpu,
                    index: 0,
                },
                name: cpu_name(),
                compute_capability: None,
                limits: DeviceLimits::default(),
                multiprocessors: rayon::current_num_threads() as u32,
                total_memory: total_memory(),
            },
        }
    }
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| format!("{} CPU", std::env::consts::ARCH))
}

fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

/// A zeroed, aligned host allocation; freed on drop.
struct HostAlloc {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the allocation is plain memory, owned by this value.
unsafe impl Send for HostAlloc {}
unsafe impl Sync for HostAlloc {}

impl HostAlloc {
    fn zeroed(bytes: usize) -> Option<HostAlloc> {
        let layout = Layout::from_size_align(bytes.max(1), ALIGN).ok()?;
        // SAFETY: the layout has a nonzero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(HostAlloc { ptr, layout })
    }
}

impl Drop for HostAlloc {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `zeroed`.
        unsafe { alloc::dealloc(self.ptr, self.layout) }
    }
}

/// A worker thread's shared or scratch memory, grown as blocks need, never shrunk.
#[derive(Default)]
struct WorkerBuffer {
    mem: Option<HostAlloc>,
}

impl WorkerBuffer {
    /// At least `bytes` bytes (and never a null pointer), or `None` when the
    /// allocation fails.
    fn get(&mut self, bytes: u64) -> Option<*mut u8> {
        let bytes = usize::try_from(bytes).ok()?;
        if self.mem.as_ref().is_none_or(|m| m.layout.size() < bytes) {
            self.mem = None;
            self.mem = Some(HostAlloc::zeroed(bytes)?);
        }
        self.mem.as_ref().map(|m| m.ptr)
    }
}

thread_local! {
    static WORKER: RefCell<(WorkerBuffer, WorkerBuffer)> = RefCell::default();
}

/// How one block ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Raised(u32),
    OutOfMemory(u64),
}

struct SendPtr(*const u64);
// SAFETY: the argument slots are read-only during the launch; the caller of
// `launch` vouches for the memory they point to.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// Everything a block needs, shared by all blocks of a launch.
struct Launch {
    entry: crate::abi::BlockEntry,
    args: SendPtr,
    /// How many argument slots `args` holds.
    slots: usize,
    grid: [u32; 3],
    /// Flat block indices count `blockIdx.y` fastest (see `CpuImage::blocks_y_major`).
    y_major: bool,
    block: [u32; 3],
    shared_bytes: u64,
    dynamic_shared_bytes: u64,
    scratch_bytes: u64,
    /// Each block runs as this many parts (1 or more), each a share of its
    /// loop's iterations (see `CpuImage::splittable`); flat indices count
    /// parts fastest.
    parts: u32,
}

impl Launch {
    /// Runs blocks `lo..hi` (flat indices, x fastest unless `y_major`) in order on this thread;
    /// the outcome of the first that did not finish. With `private` targets,
    /// the blocks accumulate into this task's own copies of them, folded into
    /// the arrays at the end (see `private_copies`).
    fn run_task(&self, lo: u64, hi: u64, private: &[Target], fold_lock: &Mutex<()>) -> Outcome {
        if private.is_empty() {
            return self.run_blocks(lo, hi, self.args.0, 0);
        }
        // SAFETY: the slots hold `param_slots` values (Device::launch's caller).
        let args = unsafe { std::slice::from_raw_parts(self.args.0, self.slots) };
        let copies = Copies::new(private, args);
        let outcome = self.run_blocks(lo, hi, copies.args.as_ptr(), copies.mask);
        // SAFETY: the targets are the kernel's arrays, valid for the launch,
        // which only accumulates into them (the SIMT compiler's analysis).
        unsafe { copies.fold(private, fold_lock) };
        outcome
    }

    fn run_blocks(&self, lo: u64, hi: u64, args: *const u64, mask: u32) -> Outcome {
        WORKER.with(|cell| match cell.try_borrow_mut() {
            Ok(mut bufs) => {
                let (shared, scratch) = &mut *bufs;
                self.run_range(lo, hi, args, mask, shared, scratch)
            }
            // Only if a block function re-entered the runtime: use fresh buffers.
            Err(_) => self.run_range(
                lo,
                hi,
                args,
                mask,
                &mut WorkerBuffer::default(),
                &mut WorkerBuffer::default(),
            ),
        })
    }

    fn run_range(
        &self,
        lo: u64,
        hi: u64,
        args: *const u64,
        mask: u32,
        shared: &mut WorkerBuffer,
        scratch: &mut WorkerBuffer,
    ) -> Outcome {
        if lo >= hi {
            return Outcome::Done;
        }
        // The blocks' coordinates count like an odometer from `lo`'s: `x`
        // fastest, or `y` when the kernel runs y-major (one division per task,
        // not three per block: a division costs what a small block's setup does).
        let [gx, gy, _] = self.grid.map(u64::from);
        let (fast, slow) = if self.y_major { (1, 0) } else { (0, 1) };
        let (nf, ns) = (self.grid[fast], self.grid[slow]);
        let parts = u64::from(self.parts);
        let mut part = (lo % parts) as u32;
        let block = lo / parts;
        let mut idx = [0u32; 3];
        idx[fast] = (block % u64::from(nf)) as u32;
        idx[slow] = ((block / u64::from(nf)) % u64::from(ns)) as u32;
        idx[2] = (block / (gx * gy)) as u32;
        for _ in lo..hi {
            let o = self.run_with(idx, part, args, mask, shared, scratch);
            if o != Outcome::Done {
                return o;
            }
            part += 1;
            if u64::from(part) < parts {
                continue;
            }
            part = 0;
            idx[fast] += 1;
            if idx[fast] == nf {
                idx[fast] = 0;
                idx[slow] += 1;
                if idx[slow] == ns {
                    idx[slow] = 0;
                    idx[2] += 1;
                }
            }
        }
        Outcome::Done
    }

    fn run_with(
        &self,
        block_idx: [u32; 3],
        part: u32,
        args: *const u64,
        private_mask: u32,
        shared: &mut WorkerBuffer,
        scratch: &mut WorkerBuffer,
    ) -> Outcome {
        let Some(shared_ptr) = shared.get(self.shared_bytes) else {
            return Outcome::OutOfMemory(self.shared_bytes);
        };
        let guard = crate::abi::SCRATCH_GUARD_BYTES;
        let Some(scratch_ptr) = scratch.get(self.scratch_bytes + 2 * guard) else {
            return Outcome::OutOfMemory(self.scratch_bytes);
        };
        // SAFETY: within the allocation, which has a guard on each side.
        let scratch_ptr = unsafe { scratch_ptr.add(guard as usize) };
        let ctx = BlockContext {
            block_idx,
            block_dim: self.block,
            grid_dim: self.grid,
            private_mask,
            shared: shared_ptr,
            dynamic_shared_bytes: self.dynamic_shared_bytes,
            scratch: scratch_ptr,
            scratch_bytes: self.scratch_bytes,
            split_part: part,
            split_parts: self.parts,
        };
        // SAFETY: the block function's contract (CpuImage::new, or the SIMT
        // compiler's) and the slots' validity (Device::launch's caller).
        match unsafe { (self.entry)(args, &ctx) } {
            0 => Outcome::Done,
            s => Outcome::Raised(s),
        }
    }
}

/// The most threads a merged block may have (thread loops count in `i32`,
/// scratch is per thread).
const MERGED_THREADS: u64 = 1 << 20;

/// The divisors of `n` up to `most`, ascending, found in `min(sqrt(n), most)`
/// steps: a launch pays this, so no scan of a large grid's extent.
fn divisors_up_to(n: u64, most: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i = 1;
    while i * i <= n && i <= most {
        if n.is_multiple_of(i) {
            out.push(i);
            let pair = n / i;
            if pair != i && pair <= most {
                out.push(pair);
            }
        }
        i += 1;
    }
    // Complete: a divisor up to `most` is either at most `sqrt(n)` (met as
    // `i`) or the pair of one below `sqrt(n)` (met when `most >= sqrt(n)`).
    out.sort_unstable();
    out
}

/// The most parts a block of a splittable kernel runs as.
const MAX_PARTS: u64 = 256;

/// The most blocks merged into one.
const MERGED_FACTOR: u64 = 4096;

/// The most scratch memory (per worker) a merged block may need.
const MERGED_SCRATCH: u64 = 8 << 20;

/// A merged block at least this wide streams a page of `f32` per row.
const WIDE_THREADS: u64 = 1024;

/// The launch as the CPU runs it: along the axis its memory accesses follow
/// (`y` for a y-major kernel, else `x`), `k` neighbouring blocks become one
/// block `k` times as wide when the kernel allows it (see
/// `CpuImage::mergeable_axes`). The thread loop then runs along whole rows of
/// memory instead of a block's width. `k` is the largest divisor of the grid's
/// extent that leaves each worker several blocks (for balance) — or, when
/// that leaves blocks narrower than a page, just one block per worker: a
/// small grid of a grid-stride loop walks the arrays once per block, and
/// measured wider is faster (saxpy, 8 blocks of 64 on 2 workers: 5.5 ms as
/// launched, 3.8 ms as 2 blocks of 256; 2 blocks of 1024: 2.4 ms). A merged
/// block stays within `MERGED_THREADS` threads and `MERGED_SCRATCH` bytes of
/// scratch.
fn merged_blocks(config: &LaunchConfig, image: &CpuImage, workers: u64) -> LaunchConfig {
    let axis = if image.blocks_y_major() { 1 } else { 0 };
    if !image.mergeable_axes()[axis] {
        return *config;
    }
    let extent = u64::from(config.grid[axis]);
    let others = config.blocks() / extent.max(1);
    let threads = config.threads_per_block();
    let per_thread = image.scratch_bytes_per_thread().max(1);
    let most = extent
        .min(MERGED_THREADS / threads.max(1))
        .min(MERGED_SCRATCH / (threads.max(1) * per_thread))
        .min(MERGED_FACTOR);
    // The allowed factors, and the largest leaving at least `blocks` blocks.
    let factors = divisors_up_to(extent, most);
    let largest = |blocks: u64| {
        factors
            .iter()
            .rev()
            .copied()
            .find(|&k| (extent / k) * others >= blocks)
            .unwrap_or(1)
    };
    let balanced = largest(workers * TASKS_PER_WORKER);
    let k = if image.splittable() {
        // Parts of the blocks keep the workers busy: as few blocks as may be,
        // each iteration then covering the grid's whole stride.
        largest(1)
    } else if threads * balanced >= WIDE_THREADS {
        balanced
    } else {
        largest(workers).max(balanced)
    };
    let mut merged = *config;
    merged.grid[axis] = (extent / k) as u32;
    merged.block[axis] = (u64::from(config.block[axis]) * k) as u32;
    merged
}

impl CpuDevice {
    fn range_ptr(buf: &DeviceBuffer, offset: usize) -> *mut u8 {
        (buf.addr() as usize + offset) as *mut u8
    }
}

impl Device for CpuDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn alloc(&self, bytes: usize) -> Result<DeviceBuffer> {
        let mem = HostAlloc::zeroed(bytes).ok_or_else(|| RuntimeError::OutOfMemory {
            device: "the CPU".into(),
            bytes: bytes as u64,
        })?;
        let addr = mem.ptr as u64;
        // SAFETY: `mem` owns `addr..addr + bytes` and frees it on drop.
        Ok(unsafe { DeviceBuffer::new(self.id(), addr, bytes, Some(Box::new(mem))) })
    }

    unsafe fn wrap_foreign(&self, addr: u64, bytes: usize) -> Result<DeviceBuffer> {
        if addr == 0 && bytes > 0 {
            return Err(RuntimeError::InvalidMemory(
                "a foreign buffer cannot start at address 0".into(),
            ));
        }
        if addr.checked_add(bytes as u64).is_none() {
            return Err(RuntimeError::InvalidMemory(format!(
                "a foreign buffer of {bytes} bytes at {addr:#x} wraps around the address space"
            )));
        }
        // SAFETY: the caller vouches for the memory.
        Ok(unsafe { DeviceBuffer::new(self.id(), addr, bytes, None) })
    }

    fn copy_htod(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        src: &[u8],
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), offset, src.len(), "destination")?;
        // SAFETY: checked to be inside the live buffer; `src` is host memory that
        // cannot be device memory borrowed mutably elsewhere.
        unsafe { std::ptr::copy(src.as_ptr(), Self::range_ptr(dst, offset), src.len()) };
        Ok(())
    }

    fn copy_dtoh(
        &self,
        dst: &mut [u8],
        src: &DeviceBuffer,
        offset: usize,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        src.check(self.id(), offset, dst.len(), "source")?;
        // SAFETY: checked to be inside the live buffer.
        unsafe { std::ptr::copy(Self::range_ptr(src, offset), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    fn copy_dtod(
        &self,
        dst: &DeviceBuffer,
        dst_offset: usize,
        src: &DeviceBuffer,
        src_offset: usize,
        bytes: usize,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), dst_offset, bytes, "destination")?;
        src.check(self.id(), src_offset, bytes, "source")?;
        // SAFETY: both ranges checked; `copy` allows overlap.
        unsafe {
            std::ptr::copy(
                Self::range_ptr(src, src_offset),
                Self::range_ptr(dst, dst_offset),
                bytes,
            )
        };
        Ok(())
    }

    fn memset(
        &self,
        dst: &DeviceBuffer,
        offset: usize,
        bytes: usize,
        value: u8,
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        dst.check(self.id(), offset, bytes, "destination")?;
        // SAFETY: checked to be inside the live buffer.
        unsafe { std::ptr::write_bytes(Self::range_ptr(dst, offset), value, bytes) };
        Ok(())
    }

    fn prepare(&self, kernel: &Kernel) -> Result<()> {
        kernel.cpu_image().map(|_| ())
    }

    unsafe fn launch(
        &self,
        kernel: &Kernel,
        config: &LaunchConfig,
        args: &[u64],
        stream: Option<&Stream>,
    ) -> Result<()> {
        Stream::check(stream, self.id())?;
        let image = kernel.cpu_image()?;
        kernel.check_args(args, kernel.param_slots())?;
        config.validate(&self.info.limits, image.static_shared_bytes())?;
        let workers = rayon::current_num_threads().max(1) as u64;
        let config = &merged_blocks(config, image, workers);
        // A kernel that is one grid-stride loop runs each block in parts,
        // enough of them to keep every worker busy (see `CpuImage::splittable`).
        let parts = if image.splittable() {
            (workers * TASKS_PER_WORKER)
                .div_ceil(config.blocks().max(1))
                .clamp(1, MAX_PARTS)
        } else {
            1
        };
        let threads = config.threads_per_block();
        let scratch_bytes = image
            .scratch_bytes_per_thread()
            .checked_mul(threads)
            .ok_or_else(|| RuntimeError::OutOfMemory {
                device: "the CPU".into(),
                bytes: u64::MAX,
            })?;
        let launch = Launch {
            entry: image.entry(),
            args: SendPtr(args.as_ptr()),
            slots: args.len(),
            grid: config.grid,
            y_major: image.blocks_y_major(),
            block: config.block,
            shared_bytes: image.static_shared_bytes() + config.dynamic_shared_bytes,
            dynamic_shared_bytes: config.dynamic_shared_bytes,
            scratch_bytes,
            parts: parts as u32,
        };
        // Flat indices: blocks times parts.
        let blocks = config.blocks() * parts;
        // The first block (in grid order) that failed, as a GPU would report
        // one failure; blocks after it may or may not have run.
        //
        // A grid that takes less than waking the workers costs runs on this
        // thread. What a block costs comes from this kernel's last launch;
        // on the first, or when that says the grid is small, blocks run here
        // one by one until the time they take says the rest is not small.
        let start = Instant::now();
        let mut worked = 0u64;
        let known = image.block_nanos();
        let mut next = 0;
        let mut failure = None;
        if known == 0 || known.saturating_mul(blocks) < INLINE_NANOS {
            while next < blocks && failure.is_none() {
                let o = launch.run_blocks(next, next + 1, args.as_ptr(), 0);
                next += 1;
                failure = Some(o).filter(|o| *o != Outcome::Done);
                let per_block = start.elapsed().as_nanos() as u64 / next;
                if per_block.saturating_mul(blocks - next) >= INLINE_NANOS {
                    break;
                }
            }
        }
        worked += start.elapsed().as_nanos() as u64;
        let rest = blocks - next;
        if failure.is_none() && rest > 0 {
            // Consecutive blocks run as one task, so that a task has enough
            // threads of work to hide rayon's per-task cost (and stays on one
            // worker's caches), while leaving several tasks per worker to balance.
            let per_task = (TASK_THREADS / threads.max(1))
                .min(rest.div_ceil(workers * TASKS_PER_WORKER))
                .max(1);
            let tasks = rest.div_ceil(per_task);
            // Tasks run at once: accumulation targets get private copies.
            let private = if tasks > 1 {
                private_copies::targets(image.private_arrays(), args)
            } else {
                Vec::new()
            };
            let fold_lock = Mutex::new(());
            let task_nanos = AtomicU64::new(0);
            failure = (0..tasks)
                .into_par_iter()
                .map(|t| {
                    let lo = next + t * per_task;
                    let hi = (lo + per_task).min(blocks);
                    let t0 = Instant::now();
                    let o = launch.run_task(lo, hi, &private, &fold_lock);
                    task_nanos.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    o
                })
                .find_first(|o| *o != Outcome::Done);
            worked += task_nanos.load(Ordering::Relaxed);
        }
        // Time spent running blocks (not waking workers), per block, for the
        // next launch's choice.
        image.set_block_nanos((worked / blocks.max(1)).max(1));
        match failure {
            None | Some(Outcome::Done) => Ok(()),
            Some(Outcome::Raised(status)) => Err(kernel.raised(status)),
            Some(Outcome::OutOfMemory(bytes)) => Err(RuntimeError::OutOfMemory {
                device: format!(
                    "the CPU (shared or scratch memory of kernel `{}`)",
                    kernel.name()
                ),
                bytes,
            }),
        }
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    fn create_stream(&self) -> Result<Stream> {
        Ok(Stream {
            device: self.id(),
            inner: StreamInner::Cpu,
        })
    }

    fn stream_synchronize(&self, stream: &Stream) -> Result<()> {
        Stream::check(Some(stream), self.id())
    }

    fn create_event(&self) -> Result<Event> {
        Ok(Event {
            device: self.id(),
            inner: EventInner::Cpu(Mutex::new(None)),
        })
    }

    fn record_event(&self, event: &Event, stream: Option<&Stream>) -> Result<()> {
        Stream::check(stream, self.id())?;
        event.check(self.id())?;
        if let EventInner::Cpu(t) = &event.inner {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        Ok(())
    }

    fn event_synchronize(&self, event: &Event) -> Result<()> {
        event.check(self.id())
    }

    fn event_query(&self, event: &Event) -> Result<bool> {
        event.check(self.id()).map(|_| true)
    }

    fn event_elapsed_ms(&self, start: &Event, end: &Event) -> Result<f32> {
        start.check(self.id())?;
        end.check(self.id())?;
        let when = |e: &Event| match &e.inner {
            EventInner::Cpu(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            _ => None,
        };
        match (when(start), when(end)) {
            (Some(a), Some(b)) => Ok(if b >= a {
                (b - a).as_secs_f64() as f32 * 1000.0
            } else {
                -((a - b).as_secs_f64() as f32 * 1000.0)
            }),
            _ => Err(RuntimeError::InvalidOperation(
                "elapsed time between events that were not both recorded: record each event first"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::divisors_up_to;

    #[test]
    fn divisors_match_a_scan() {
        for n in [1u64, 2, 12, 97, 129, 360, 4096, 39_062, 1_000_000] {
            for most in [1u64, 3, 50, 4096, 2_000_000] {
                let scan: Vec<u64> = (1..=most.min(n)).filter(|k| n % k == 0).collect();
                assert_eq!(divisors_up_to(n, most), scan, "n {n}, most {most}");
            }
        }
    }
}
