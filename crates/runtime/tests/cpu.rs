//! The CPU device end to end, with block functions written by hand in Rust (so
//! that these tests do not depend on the SIMT compiler).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hypersonic_ir::Exception;
use hypersonic_runtime::abi::BlockContext;
use hypersonic_runtime::{
    cpu_device, device_from_spec, CpuImage, Device, DeviceKind, Kernel, KernelArgs, LaunchConfig,
    RuntimeError,
};

/// A small deterministic generator (xorshift64*), so results are reproducible.
struct Rng(u64);
impl Rng {
    fn f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.f64()).collect()
    }
}

/// A 1-D float64 array argument: data, shape, stride.
struct Arr {
    data: u64,
    len: i64,
    stride: i64,
}

unsafe fn arr(args: *const u64, first: usize) -> Arr {
    Arr {
        data: *args.add(first),
        len: *args.add(first + 1) as i64,
        stride: *args.add(first + 2) as i64,
    }
}

impl Arr {
    unsafe fn at(&self, i: i64) -> *mut f64 {
        (self.data as i64 + i * self.stride) as *mut f64
    }
}

/// `out[i] = a[i] + b[i]` for `i = blockIdx.x * blockDim.x + threadIdx.x < n`.
unsafe extern "C" fn vadd_block(args: *const u64, ctx: *const BlockContext) -> u32 {
    let ctx = &*ctx;
    let (a, b, out) = (arr(args, 0), arr(args, 3), arr(args, 6));
    for t in 0..ctx.block_dim[0] as i64 {
        let i = ctx.block_idx[0] as i64 * ctx.block_dim[0] as i64 + t;
        if i < out.len {
            *out.at(i) = *a.at(i) + *b.at(i);
        }
    }
    0
}

fn vadd_kernel() -> Kernel {
    // SAFETY: vadd_block reads 9 slots and touches no shared or scratch memory.
    let image = unsafe { CpuImage::new(vadd_block, 0, 0) };
    Kernel::from_images("vadd", 9, vec![], Some(image), None)
}

fn to_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn upload(dev: &dyn Device, v: &[f64]) -> hypersonic_runtime::DeviceBuffer {
    let buf = dev.alloc(v.len() * 8).unwrap();
    dev.copy_htod(&buf, 0, &to_bytes(v), None).unwrap();
    buf
}

fn download(dev: &dyn Device, buf: &hypersonic_runtime::DeviceBuffer) -> Vec<f64> {
    let mut out = vec![0u8; buf.size()];
    dev.copy_dtoh(&mut out, buf, 0, None).unwrap();
    from_bytes(&out)
}

fn run_vadd(dev: &dyn Device, n: usize, threads: u32, seed: u64) {
    let mut rng = Rng(seed);
    let (a, b) = (rng.vec(n), rng.vec(n));
    let (da, db, dout) = (upload(dev, &a), upload(dev, &b), dev.alloc(n * 8).unwrap());
    let mut args = KernelArgs::new();
    for d in [&da, &db, &dout] {
        args.array(d.addr(), &[n as i64], &[8]);
    }
    let blocks = (n as u32).div_ceil(threads);
    let kernel = vadd_kernel();
    unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(blocks, threads),
            args.as_slice(),
            None,
        )
        .unwrap()
    };
    let got = download(dev, &dout);
    for i in 0..n {
        assert_eq!(got[i], a[i] + b[i], "element {i}");
    }
}

#[test]
fn vector_add_random_inputs() {
    let dev = cpu_device();
    run_vadd(&*dev, 1, 32, 1);
    run_vadd(&*dev, 1000, 128, 2);
    // Many blocks, spread over rayon's workers.
    run_vadd(&*dev, 1_000_003, 256, 3);
    run_vadd(&*dev, 70_000, 1, 4);
}

#[test]
fn device_info() {
    let dev = cpu_device();
    let info = dev.info();
    assert_eq!(info.id.kind, DeviceKind::Cpu);
    assert_eq!(info.limits.max_threads_per_block, 1024);
    assert_eq!(info.limits.max_block_dim, [1024, 1024, 64]);
    assert_eq!(info.limits.max_shared_memory_per_block, 48 * 1024);
    assert_eq!(info.limits.warp_size, 32);
    assert!(info.multiprocessors >= 1);
    assert!(!info.name.is_empty());
    assert_eq!(dev.id().to_string(), "cpu");
}

/// Writes `encode(blockIdx)` and checks `gridDim`, `blockDim` for every block of a 3-D grid.
unsafe extern "C" fn geometry_block(args: *const u64, ctx: *const BlockContext) -> u32 {
    let ctx = &*ctx;
    let out = *args as *mut u32;
    let [gx, gy, _] = ctx.grid_dim;
    let [x, y, z] = ctx.block_idx;
    let flat = ((z * gy + y) * gx + x) as usize;
    if ctx.block_dim != [4, 2, 3] || *args.add(1) != 0xC0FFEE {
        return 1;
    }
    *out.add(flat) = x | y << 10 | z << 20;
    0
}

#[test]
fn three_dimensional_grid() {
    let dev = cpu_device();
    let grid = [7u32, 5, 3];
    let n = (grid[0] * grid[1] * grid[2]) as usize;
    let out = dev.alloc(n * 4).unwrap();
    let image = unsafe { CpuImage::new(geometry_block, 0, 0) };
    let kernel = Kernel::from_images("geometry", 2, vec![], Some(image), None);
    let config = LaunchConfig {
        grid,
        block: [4, 2, 3],
        dynamic_shared_bytes: 0,
    };
    unsafe {
        dev.launch(&kernel, &config, &[out.addr(), 0xC0FFEE], None)
            .unwrap()
    };
    let mut bytes = vec![0u8; n * 4];
    dev.copy_dtoh(&mut bytes, &out, 0, None).unwrap();
    let got: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut i = 0;
    for z in 0..grid[2] {
        for y in 0..grid[1] {
            for x in 0..grid[0] {
                assert_eq!(got[i], x | y << 10 | z << 20);
                i += 1;
            }
        }
    }
}

/// A block sum through shared memory: each thread stores its element in
/// `shared[t]` (dynamic shared memory after 16 static bytes, which hold the
/// block's index as a check), then thread 0 sums them. Also uses scratch:
/// each thread keeps its element in its scratch slot across the "barrier".
unsafe extern "C" fn block_sum(args: *const u64, ctx: *const BlockContext) -> u32 {
    let ctx = &*ctx;
    let (a, out) = (arr(args, 0), arr(args, 3));
    let threads = ctx.block_dim[0] as usize;
    if ctx.dynamic_shared_bytes != threads as u64 * 8 || ctx.scratch_bytes != threads as u64 * 8 {
        return 1;
    }
    if !(ctx.shared as usize).is_multiple_of(16) || !(ctx.scratch as usize).is_multiple_of(16) {
        return 1;
    }
    let stamp = ctx.shared as *mut u64;
    *stamp = ctx.block_idx[0] as u64;
    let shared = ctx.shared.add(16) as *mut f64;
    let scratch = ctx.scratch as *mut f64;
    // Region 1: every thread.
    for t in 0..threads {
        let i = ctx.block_idx[0] as i64 * threads as i64 + t as i64;
        *scratch.add(t) = if i < a.len { *a.at(i) } else { 0.0 };
    }
    // Region 2 (after a barrier): every thread writes shared memory.
    for t in 0..threads {
        *shared.add(t) = *scratch.add(t);
    }
    // Region 3: thread 0 reduces.
    let mut s = 0.0;
    for t in 0..threads {
        s += *shared.add(t);
    }
    if *stamp != ctx.block_idx[0] as u64 {
        return 1; // another block wrote this worker's shared memory meanwhile
    }
    *out.at(ctx.block_idx[0] as i64) = s;
    0
}

#[test]
fn shared_and_scratch_memory_per_block() {
    let dev = cpu_device();
    let (n, threads) = (100_000usize, 128u32);
    let blocks = (n as u32).div_ceil(threads);
    let a = Rng(7).vec(n);
    let da = upload(&*dev, &a);
    let dout = dev.alloc(blocks as usize * 8).unwrap();
    let image = unsafe { CpuImage::new(block_sum, 16, 8) };
    let kernel = Kernel::from_images("block_sum", 6, vec![], Some(image), None);
    let mut args = KernelArgs::new();
    args.array(da.addr(), &[n as i64], &[8])
        .array(dout.addr(), &[blocks as i64], &[8]);
    let config = LaunchConfig {
        grid: [blocks, 1, 1],
        block: [threads, 1, 1],
        dynamic_shared_bytes: threads as u64 * 8,
    };
    unsafe { dev.launch(&kernel, &config, args.as_slice(), None).unwrap() };
    let got = download(&*dev, &dout);
    for (b, chunk) in a.chunks(threads as usize).enumerate() {
        let want: f64 = chunk.iter().sum();
        assert!(
            (got[b] - want).abs() < 1e-9,
            "block {b}: {} vs {want}",
            got[b]
        );
    }
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Raises `exceptions[1]` (status 2) in blocks 5 and 9, `exceptions[0]` in block 12.
unsafe extern "C" fn raiser(_args: *const u64, ctx: *const BlockContext) -> u32 {
    CALLS.fetch_add(1, Ordering::Relaxed);
    match (*ctx).block_idx[0] {
        5 | 9 => 2,
        12 => 1,
        _ => 0,
    }
}

#[test]
fn kernel_raised_propagates_first_failing_block() {
    let dev = cpu_device();
    let image = unsafe { CpuImage::new(raiser, 0, 0) };
    let exceptions = vec![
        Exception {
            class: "ZeroDivisionError".into(),
            message: "division by zero".into(),
        },
        Exception {
            class: "IndexError".into(),
            message: "index out of range".into(),
        },
    ];
    let kernel = Kernel::from_images("raiser", 0, exceptions, Some(image), None);
    let err = unsafe { dev.launch(&kernel, &LaunchConfig::linear(64, 32), &[], None) }.unwrap_err();
    match &err {
        RuntimeError::KernelRaised {
            status, exception, ..
        } => {
            assert_eq!(*status, 2);
            assert_eq!(exception.as_ref().unwrap().class, "IndexError");
        }
        e => panic!("unexpected {e:?}"),
    }
    assert_eq!(
        err.to_string(),
        "kernel `raiser` raised IndexError: index out of range"
    );
    assert_eq!(kernel.exception(1).unwrap().class, "ZeroDivisionError");
    assert!(kernel.exception(0).is_none());
    assert!(kernel.exception(3).is_none());

    // A status with no exception in the table still fails clearly.
    let image = unsafe { CpuImage::new(raiser, 0, 0) };
    let bare = Kernel::from_images("bare", 0, vec![], Some(image), None);
    let err = unsafe { dev.launch(&bare, &LaunchConfig::linear(13, 1), &[], None) }.unwrap_err();
    assert_eq!(err.to_string(), "kernel `bare` failed with status 2");
    // A single block runs inline.
    let err = unsafe { dev.launch(&bare, &LaunchConfig::linear(1, 1), &[], None) };
    assert!(err.is_ok());
    assert!(CALLS.load(Ordering::Relaxed) > 0);
}

fn launch_error(config: LaunchConfig, static_shared: u64) -> String {
    let dev = cpu_device();
    let image = unsafe { CpuImage::new(vadd_block, static_shared, 0) };
    let kernel = Kernel::from_images("vadd", 9, vec![], Some(image), None);
    let args = [0u64; 9];
    match unsafe { dev.launch(&kernel, &config, &args, None) } {
        Err(e @ RuntimeError::InvalidLaunch(_)) => e.to_string(),
        r => panic!("expected an invalid launch, got {r:?}"),
    }
}

fn cfg(grid: [u32; 3], block: [u32; 3], dynamic: u64) -> LaunchConfig {
    LaunchConfig {
        grid,
        block,
        dynamic_shared_bytes: dynamic,
    }
}

#[test]
fn launch_configuration_errors() {
    assert_eq!(
        launch_error(cfg([1, 1, 1], [2048, 1, 1], 0), 0),
        "invalid launch: block of 2048 threads (2048x1x1): a block may have at most 1024 threads"
    );
    assert_eq!(
        launch_error(cfg([1, 1, 1], [64, 32, 1], 0), 0),
        "invalid launch: block of 2048 threads (64x32x1): a block may have at most 1024 threads"
    );
    assert_eq!(
        launch_error(cfg([1, 1, 1], [1, 1, 128], 0), 0),
        "invalid launch: block dimension z is 128: a block may have at most 64 threads along z"
    );
    assert_eq!(
        launch_error(cfg([1, 0, 1], [1, 1, 1], 0), 0),
        "invalid launch: grid dimension y is 0: every grid and block dimension must be at least 1"
    );
    assert_eq!(
        launch_error(cfg([1, 1, 1], [0, 1, 1], 0), 0),
        "invalid launch: block dimension x is 0: every grid and block dimension must be at least 1"
    );
    assert_eq!(
        launch_error(cfg([1, 70000, 1], [1, 1, 1], 0), 0),
        "invalid launch: grid dimension y is 70000: a grid may have at most 65535 blocks along y"
    );
    assert_eq!(
        launch_error(cfg([1, 1, 1], [32, 1, 1], 49153), 0),
        "invalid launch: 49153 bytes of shared memory per block (0 static + 49153 dynamic): \
         a block may use at most 49152 bytes on this device"
    );
    assert_eq!(
        launch_error(cfg([1, 1, 1], [32, 1, 1], 40000), 10000),
        "invalid launch: 50000 bytes of shared memory per block (10000 static + 40000 dynamic): \
         a block may use at most 49152 bytes on this device"
    );
    // Exactly at the limits is fine.
    let config = cfg([1, 1, 1], [1024, 1, 1], 48 * 1024);
    config
        .validate(&cpu_device().info().limits, 0)
        .expect("limits are inclusive");
}

#[test]
fn wrong_number_of_argument_slots() {
    let dev = cpu_device();
    let kernel = vadd_kernel();
    let err =
        unsafe { dev.launch(&kernel, &LaunchConfig::linear(1, 1), &[0; 3], None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: kernel `vadd` takes 9 argument slots, but 3 were passed"
    );
}

#[test]
fn kernel_without_cpu_image() {
    let dev = cpu_device();
    let kernel = Kernel::from_images("gpu_only", 0, vec![], None, None);
    let err = unsafe { dev.launch(&kernel, &LaunchConfig::linear(1, 1), &[], None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not compile kernel `gpu_only` for the CPU: the kernel was given no CPU image"
    );
    assert!(dev.prepare(&kernel).is_err());
}

#[test]
fn memory_round_trips() {
    let dev = cpu_device();
    let buf = dev.alloc(1000).unwrap();
    assert_eq!(buf.size(), 1000);
    assert_eq!(buf.addr() % 16, 0);
    assert!(!buf.is_foreign());
    let mut zero = vec![1u8; 1000];
    dev.copy_dtoh(&mut zero, &buf, 0, None).unwrap();
    assert!(zero.iter().all(|&b| b == 0), "CPU allocations start zeroed");

    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    dev.copy_htod(&buf, 0, &data, None).unwrap();
    let mut back = vec![0u8; 1000];
    dev.copy_dtoh(&mut back, &buf, 0, None).unwrap();
    assert_eq!(back, data);

    // Offsets, memset, device-to-device.
    dev.memset(&buf, 100, 50, 0xAB, None).unwrap();
    let other = dev.alloc(300).unwrap();
    dev.copy_dtod(&other, 10, &buf, 90, 200, None).unwrap();
    let mut part = vec![0u8; 200];
    dev.copy_dtoh(&mut part, &other, 10, None).unwrap();
    let mut want = data[90..290].to_vec();
    want[10..60].fill(0xAB);
    assert_eq!(part, want);

    // Overlapping copy inside one buffer.
    dev.copy_dtod(&buf, 1, &buf, 0, 999, None).unwrap();
    let mut shifted = vec![0u8; 1000];
    dev.copy_dtoh(&mut shifted, &buf, 0, None).unwrap();
    assert_eq!(shifted[1..101], data[0..100]);

    // Zero-sized buffers have an address too.
    let empty = dev.alloc(0).unwrap();
    assert_ne!(empty.addr(), 0);
    dev.copy_htod(&empty, 0, &[], None).unwrap();
}

#[test]
fn out_of_bounds_copies_are_errors() {
    let dev = cpu_device();
    let buf = dev.alloc(16).unwrap();
    let err = dev.copy_htod(&buf, 8, &[0u8; 9], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid memory operation: 9 bytes at offset 8 do not fit in the destination buffer of 16 bytes"
    );
    let mut out = [0u8; 17];
    let err = dev.copy_dtoh(&mut out, &buf, 0, None).unwrap_err();
    assert!(
        err.to_string().contains("source buffer of 16 bytes"),
        "{err}"
    );
    assert!(dev.memset(&buf, usize::MAX, 2, 0, None).is_err());
    assert!(dev.copy_dtod(&buf, 0, &buf, 1, 16, None).is_err());
}

#[test]
fn foreign_memory() {
    let dev = cpu_device();
    let n = 4096;
    let mut rng = Rng(11);
    let (a, b) = (rng.vec(n), rng.vec(n));
    let mut out = vec![0.0f64; n];
    let (fa, fb, fout) = unsafe {
        (
            dev.wrap_foreign(a.as_ptr() as u64, n * 8).unwrap(),
            dev.wrap_foreign(b.as_ptr() as u64, n * 8).unwrap(),
            dev.wrap_foreign(out.as_mut_ptr() as u64, n * 8).unwrap(),
        )
    };
    assert!(fa.is_foreign());
    let mut args = KernelArgs::new();
    for d in [&fa, &fb, &fout] {
        args.array(d.addr(), &[n as i64], &[8]);
    }
    unsafe {
        dev.launch(
            &vadd_kernel(),
            &LaunchConfig::linear(32, 128),
            args.as_slice(),
            None,
        )
        .unwrap()
    };
    drop((fa, fb, fout)); // does not free the vectors
    for i in 0..n {
        assert_eq!(out[i], a[i] + b[i]);
    }
    assert!(unsafe { dev.wrap_foreign(0, 8) }.is_err());
    assert!(unsafe { dev.wrap_foreign(0, 0) }.is_ok());
}

#[test]
fn strided_arguments() {
    // Every other element of `a` and `b` (a stride of 16 bytes), as a NumPy view.
    let dev = cpu_device();
    let n = 1000;
    let mut rng = Rng(5);
    let (a, b) = (rng.vec(2 * n), rng.vec(2 * n));
    let (da, db, dout) = (
        upload(&*dev, &a),
        upload(&*dev, &b),
        dev.alloc(n * 8).unwrap(),
    );
    let mut args = KernelArgs::new();
    args.array(da.addr(), &[n as i64], &[16])
        .array(db.addr() + 8, &[n as i64], &[16])
        .array(dout.addr(), &[n as i64], &[8]);
    unsafe {
        dev.launch(
            &vadd_kernel(),
            &LaunchConfig::linear(8, 128),
            args.as_slice(),
            None,
        )
        .unwrap()
    };
    let got = download(&*dev, &dout);
    for i in 0..n {
        assert_eq!(got[i], a[2 * i] + b[2 * i + 1]);
    }
}

#[test]
fn streams_and_events() {
    let dev = cpu_device();
    let stream = dev.create_stream().unwrap();
    let (start, end) = (dev.create_event().unwrap(), dev.create_event().unwrap());
    let err = dev.event_elapsed_ms(&start, &end).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid operation: elapsed time between events that were not both recorded: record each event first"
    );
    dev.record_event(&start, Some(&stream)).unwrap();
    let n = 200_000;
    let a = Rng(3).vec(n);
    let da = upload(&*dev, &a);
    let dout = dev.alloc(n * 8).unwrap();
    let mut args = KernelArgs::new();
    args.array(da.addr(), &[n as i64], &[8])
        .array(da.addr(), &[n as i64], &[8])
        .array(dout.addr(), &[n as i64], &[8]);
    unsafe {
        dev.launch(
            &vadd_kernel(),
            &LaunchConfig::linear((n as u32).div_ceil(256), 256),
            args.as_slice(),
            Some(&stream),
        )
        .unwrap()
    };
    dev.record_event(&end, Some(&stream)).unwrap();
    dev.event_synchronize(&end).unwrap();
    assert!(dev.event_query(&end).unwrap());
    dev.stream_synchronize(&stream).unwrap();
    dev.synchronize().unwrap();
    let ms = dev.event_elapsed_ms(&start, &end).unwrap();
    assert!((0.0..60_000.0).contains(&ms), "{ms}");
    assert!(dev.event_elapsed_ms(&end, &start).unwrap() <= 0.0);
    let got = download(&*dev, &dout);
    assert_eq!(got[n - 1], 2.0 * a[n - 1]);
}

#[test]
fn concurrent_launches_from_many_threads() {
    let dev = cpu_device();
    let kernel = Arc::new(vadd_kernel());
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let dev = dev.clone();
            let _kernel = kernel.clone();
            s.spawn(move || run_vadd(&*dev, 10_000 + t as usize * 17, 64, 100 + t));
        }
    });
}

#[test]
fn device_specs() {
    assert_eq!(device_from_spec("cpu").unwrap().id().kind, DeviceKind::Cpu);
    assert_eq!(
        device_from_spec(" CPU ").unwrap().id().kind,
        DeviceKind::Cpu
    );
    let err = device_from_spec("tpu").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown device `tpu`: write `cpu`, `cuda`, `cuda:N`, `vulkan` or `vulkan:N`"
    );
    assert!(device_from_spec("cuda:x").is_err());
    if !hypersonic_runtime::cuda_available() {
        let err = device_from_spec("cuda:0").unwrap_err();
        assert!(err.to_string().starts_with("no CUDA device: "), "{err}");
    }
    // CUDA devices and Vulkan GPUs, then the CPU, then lavapipe and the like.
    let all = hypersonic_runtime::devices();
    let cpu = all
        .iter()
        .position(|d| d.id().kind == DeviceKind::Cpu)
        .unwrap();
    assert!(all[..cpu].iter().all(|d| d.id().kind != DeviceKind::Cpu));
    assert!(all[cpu + 1..]
        .iter()
        .all(|d| d.id().kind == DeviceKind::Vulkan));
}

#[test]
fn default_device_honours_the_environment() {
    // The only test that touches HYPERSONIC_DEVICE.
    std::env::set_var("HYPERSONIC_DEVICE", "cpu");
    assert_eq!(
        hypersonic_runtime::default_device().unwrap().id().kind,
        DeviceKind::Cpu
    );
    std::env::set_var("HYPERSONIC_DEVICE", "tpu:7");
    let err = hypersonic_runtime::default_device().unwrap_err();
    assert_eq!(
        err.to_string(),
        "HYPERSONIC_DEVICE=tpu:7: unknown device `tpu:7`: write `cpu`, `cuda`, `cuda:N`, `vulkan` or `vulkan:N`"
    );
    std::env::set_var("HYPERSONIC_DEVICE", "vulkan:77");
    let err = hypersonic_runtime::default_device().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("HYPERSONIC_DEVICE=vulkan:77: no Vulkan device"),
        "{err}"
    );
    if !hypersonic_runtime::cuda_available() {
        std::env::set_var("HYPERSONIC_DEVICE", "cuda");
        let err = hypersonic_runtime::default_device().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("HYPERSONIC_DEVICE=cuda: no CUDA device"),
            "{err}"
        );
    }
    std::env::remove_var("HYPERSONIC_DEVICE");
    // The first device in order of preference: CUDA, a Vulkan GPU, the CPU.
    let d = hypersonic_runtime::default_device().unwrap();
    assert_eq!(d.id(), hypersonic_runtime::devices()[0].id());
    if hypersonic_runtime::cuda_available() {
        assert_eq!(d.id().kind, DeviceKind::Cuda);
    }
}
