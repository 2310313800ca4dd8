//! The CUDA device. Without a driver and a GPU (as on CI) every test that
//! needs one says so and returns; `cuda_available` itself must never panic.
//! The kernels are hand-written PTX in the slot ABI (`tests/ptx/`), so these
//! tests do not depend on the PTX backend; `ptxas` checks them without a GPU.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use hypersonic_llvm::ptx::Ptx;
use hypersonic_runtime::{
    cuda_available, cuda_devices, cuda_driver_version, cuda_unavailable_reason, Device,
    DeviceBuffer, DeviceKind, Kernel, KernelArgs, LaunchConfig, RuntimeError,
};

const VADD: &str = include_str!("ptx/vadd.ptx");
const REVERSE: &str = include_str!("ptx/reverse.ptx");

fn ptx_kernel(text: &str, entry: &str, slots: usize) -> Kernel {
    let ptx = Ptx {
        text: text.into(),
        entry_name: entry.into(),
        param_slots: slots,
    };
    Kernel::from_images(entry, slots, vec![], None, Some(ptx))
}

/// The first CUDA device, or `None` after saying why the test is skipped.
fn gpu() -> Option<Arc<dyn Device>> {
    if let Some(reason) = cuda_unavailable_reason() {
        eprintln!("skipping: {reason}");
        return None;
    }
    match cuda_devices().into_iter().next() {
        Some(d) => Some(d),
        None => {
            eprintln!("skipping: the CUDA devices could not be opened");
            None
        }
    }
}

struct Rng(u64);
impl Rng {
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }
}

fn upload(dev: &dyn Device, v: &[f64]) -> DeviceBuffer {
    let buf = dev.alloc(v.len() * 8).unwrap();
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    dev.copy_htod(&buf, 0, &bytes, None).unwrap();
    buf
}

fn download(dev: &dyn Device, buf: &DeviceBuffer) -> Vec<f64> {
    let mut bytes = vec![0u8; buf.size()];
    dev.copy_dtoh(&mut bytes, buf, 0, None).unwrap();
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn availability_never_panics() {
    let available = cuda_available();
    let reason = cuda_unavailable_reason();
    assert_eq!(available, reason.is_none());
    // Asking twice gives the same answer (the driver is probed once).
    assert_eq!(cuda_available(), available);
    let devices = cuda_devices();
    let all = hypersonic_runtime::devices();
    assert_eq!(
        all.len(),
        devices.len() + 1 + hypersonic_runtime::vulkan_devices().len()
    );
    if available {
        assert!(cuda_driver_version().is_some());
        for d in &devices {
            let info = d.info();
            assert_eq!(info.id.kind, DeviceKind::Cuda);
            assert!(info.compute_capability.is_some());
            assert!(info.limits.max_threads_per_block >= 1024);
            assert!(info.limits.max_shared_memory_per_block >= 48 * 1024);
            assert_eq!(info.limits.warp_size, 32);
            eprintln!("{}: {} {:?}", info.id, info.name, info.compute_capability);
        }
    } else {
        let reason = reason.unwrap();
        assert!(!reason.is_empty());
        assert!(devices.is_empty());
        assert_eq!(all[0].id().kind, DeviceKind::Cpu);
        eprintln!("CUDA unavailable: {reason}");
    }
}

/// `ptxas` from `$HYPERSONIC_PTXAS`, `$PATH`, or the `nvidia-cuda-nvcc-cu12`
/// wheel in the repository's `.venv`.
fn find_ptxas() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HYPERSONIC_PTXAS") {
        return Some(p.into());
    }
    if Command::new("ptxas").arg("--version").output().is_ok() {
        return Some("ptxas".into());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let p = entry
            .path()
            .join("site-packages/nvidia/cuda_nvcc/bin/ptxas");
        if p.exists() {
            return Some(p);
        }
    }
    None
}

#[test]
fn test_ptx_assembles() {
    let Some(ptxas) = find_ptxas() else {
        eprintln!("skipping: no ptxas (install nvidia-cuda-nvcc-cu12 or set HYPERSONIC_PTXAS)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("hypersonic-rt-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [("vadd", VADD), ("reverse", REVERSE)] {
        let src = dir.join(format!("{name}.ptx"));
        std::fs::write(&src, text).unwrap();
        for arch in ["sm_70", "sm_80", "sm_90"] {
            let out = Command::new(&ptxas)
                .arg(format!("-arch={arch}"))
                .arg(&src)
                .arg("-o")
                .arg(dir.join(format!("{name}_{arch}.cubin")))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ptxas {arch} {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vector_add() {
    let Some(dev) = gpu() else { return };
    let kernel = ptx_kernel(VADD, "vadd", 9);
    dev.prepare(&kernel).unwrap();
    for (n, threads) in [(1usize, 32u32), (1000, 128), (1_000_003, 256)] {
        let mut rng = Rng(n as u64 + 1);
        let (a, b) = (rng.vec(n), rng.vec(n));
        let (da, db, dc) = (
            upload(&*dev, &a),
            upload(&*dev, &b),
            dev.alloc(n * 8).unwrap(),
        );
        let mut args = KernelArgs::new();
        for d in [&da, &db, &dc] {
            args.array(d.addr(), &[n as i64], &[8]);
        }
        let config = LaunchConfig::linear((n as u32).div_ceil(threads), threads);
        unsafe { dev.launch(&kernel, &config, args.as_slice(), None).unwrap() };
        dev.synchronize().unwrap();
        let c = download(&*dev, &dc);
        for i in 0..n {
            assert_eq!(c[i], a[i] + b[i], "element {i}");
        }
    }
}

#[test]
fn dynamic_shared_memory_and_opt_in() {
    let Some(dev) = gpu() else { return };
    let kernel = ptx_kernel(REVERSE, "reverse", 3);
    let limits = dev.info().limits.clone();
    let mut sizes = vec![256 * 8];
    if limits.max_shared_memory_per_block_optin > 48 * 1024 {
        // More than the default: the runtime opts the kernel in.
        sizes.push(limits.max_shared_memory_per_block_optin);
    }
    for dynamic in sizes {
        let (blocks, threads) = (50u32, 256u32);
        let n = (blocks * threads) as usize;
        let a = Rng(9).vec(n);
        let da = upload(&*dev, &a);
        let mut args = KernelArgs::new();
        args.array(da.addr(), &[n as i64], &[8]);
        let config = LaunchConfig {
            grid: [blocks, 1, 1],
            block: [threads, 1, 1],
            dynamic_shared_bytes: dynamic,
        };
        unsafe { dev.launch(&kernel, &config, args.as_slice(), None).unwrap() };
        let got = download(&*dev, &da);
        for (chunk_got, chunk_a) in got.chunks(threads as usize).zip(a.chunks(threads as usize)) {
            let rev: Vec<f64> = chunk_a.iter().rev().copied().collect();
            assert_eq!(chunk_got, &rev[..]);
        }
    }
    let too_much = limits.max_shared_memory_per_block_optin + 1;
    let err = unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig {
                grid: [1, 1, 1],
                block: [32, 1, 1],
                dynamic_shared_bytes: too_much,
            },
            &[0; 3],
            None,
        )
    }
    .unwrap_err();
    assert!(err.to_string().contains("a block may use at most"), "{err}");
}

#[test]
fn launch_errors() {
    let Some(dev) = gpu() else { return };
    let kernel = ptx_kernel(VADD, "vadd", 9);
    let err =
        unsafe { dev.launch(&kernel, &LaunchConfig::linear(1, 2048), &[0; 9], None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: block of 2048 threads (2048x1x1): a block may have at most 1024 threads"
    );
    let err =
        unsafe { dev.launch(&kernel, &LaunchConfig::linear(1, 1), &[0; 2], None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: kernel `vadd` takes 9 argument slots, but 2 were passed"
    );
    let err =
        unsafe { dev.launch(&kernel, &LaunchConfig::linear(0, 1), &[0; 9], None) }.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidLaunch(_)), "{err}");

    // PTX the driver rejects: the error names the call and carries the JIT log.
    let bad = ptx_kernel(
        ".version 7.0\n.target sm_70\n.address_size 64\n.visible .entry broken() { bogus.instruction; }\n",
        "broken",
        0,
    );
    let err = dev.prepare(&bad).unwrap_err();
    match &err {
        RuntimeError::Cuda { call, code, .. } => {
            assert_eq!(*call, "cuModuleLoadDataEx");
            assert!(code.starts_with("CUDA_ERROR_"), "{code}");
        }
        e => panic!("unexpected {e:?}"),
    }
    eprintln!("{err}");
    // A kernel with no PTX at all.
    let none = Kernel::from_images("cpu_only", 0, vec![], None, None);
    assert!(matches!(
        dev.prepare(&none),
        Err(RuntimeError::Compile { .. })
    ));
}

#[test]
fn memory_round_trips() {
    let Some(dev) = gpu() else { return };
    let buf = dev.alloc(1000).unwrap();
    assert_ne!(buf.addr(), 0);
    assert_eq!(buf.addr() % 16, 0);
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 13 % 251) as u8).collect();
    dev.copy_htod(&buf, 0, &data, None).unwrap();
    let mut back = vec![0u8; 1000];
    dev.copy_dtoh(&mut back, &buf, 0, None).unwrap();
    assert_eq!(back, data);
    dev.memset(&buf, 100, 50, 0xAB, None).unwrap();
    let other = dev.alloc(300).unwrap();
    dev.copy_dtod(&other, 10, &buf, 90, 200, None).unwrap();
    let mut part = vec![0u8; 200];
    dev.copy_dtoh(&mut part, &other, 10, None).unwrap();
    let mut want = data[90..290].to_vec();
    want[10..60].fill(0xAB);
    assert_eq!(part, want);
    assert!(dev.copy_htod(&buf, 999, &[0, 0], None).is_err());
    let empty = dev.alloc(0).unwrap();
    assert_eq!(empty.size(), 0);
    // A buffer of another device is refused.
    let host = hypersonic_runtime::cpu_device().alloc(8).unwrap();
    let err = dev.copy_htod(&host, 0, &[0; 8], None).unwrap_err();
    assert!(err.to_string().contains("lives on cpu"), "{err}");
}

#[test]
fn foreign_memory() {
    let Some(dev) = gpu() else { return };
    let n = 4096;
    let a = Rng(4).vec(n);
    let owned = upload(&*dev, &a);
    // The same memory, as a CuPy array would hand it over.
    let foreign = unsafe { dev.wrap_foreign(owned.addr(), n * 8) }.unwrap();
    assert!(foreign.is_foreign());
    let out = dev.alloc(n * 8).unwrap();
    let mut args = KernelArgs::new();
    args.array(foreign.addr(), &[n as i64], &[8])
        .array(foreign.addr(), &[n as i64], &[8])
        .array(out.addr(), &[n as i64], &[8]);
    let kernel = ptx_kernel(VADD, "vadd", 9);
    unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(16, 256),
            args.as_slice(),
            None,
        )
        .unwrap()
    };
    drop(foreign);
    let got = download(&*dev, &out);
    for i in 0..n {
        assert_eq!(got[i], 2.0 * a[i]);
    }
    // Host memory the driver does not know is refused.
    let host = [0u8; 64];
    let err = unsafe { dev.wrap_foreign(host.as_ptr() as u64, 64) }.unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidMemory(_)), "{err}");
}

#[test]
fn streams_and_events() {
    let Some(dev) = gpu() else { return };
    let stream = dev.create_stream().unwrap();
    let (start, end) = (dev.create_event().unwrap(), dev.create_event().unwrap());
    let n = 1 << 22;
    let a = Rng(8).vec(n);
    let da = upload(&*dev, &a);
    let dc = dev.alloc(n * 8).unwrap();
    let mut args = KernelArgs::new();
    args.array(da.addr(), &[n as i64], &[8])
        .array(da.addr(), &[n as i64], &[8])
        .array(dc.addr(), &[n as i64], &[8]);
    let kernel = ptx_kernel(VADD, "vadd", 9);
    dev.record_event(&start, Some(&stream)).unwrap();
    unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear((n as u32).div_ceil(256), 256),
            args.as_slice(),
            Some(&stream),
        )
        .unwrap()
    };
    dev.record_event(&end, Some(&stream)).unwrap();
    dev.event_synchronize(&end).unwrap();
    assert!(dev.event_query(&end).unwrap());
    let ms = dev.event_elapsed_ms(&start, &end).unwrap();
    assert!(ms >= 0.0, "{ms}");
    eprintln!("vadd of {n} float64: {ms:.3} ms");
    dev.stream_synchronize(&stream).unwrap();
    let mut bytes = vec![0u8; 8];
    dev.copy_dtoh(&mut bytes, &dc, (n - 1) * 8, Some(&stream))
        .unwrap();
    assert_eq!(
        f64::from_le_bytes(bytes.try_into().unwrap()),
        2.0 * a[n - 1]
    );
    // A CPU stream cannot order CUDA work.
    let cpu_stream = hypersonic_runtime::cpu_device().create_stream().unwrap();
    assert!(dev.record_event(&start, Some(&cpu_stream)).is_err());
}
