//! A `libcuda.so` that loads but finds no GPU, and one that lacks a function
//! (as a driver older than we support would lack functions): CUDA is then
//! unavailable with a reason, nothing panics, and the CPU is the default device.
//! And a fake GPU (`fake_gpu.c`: host memory, a host `vadd`) that drives the
//! whole CUDA device (enumeration, memory, module loading with its error log,
//! launches with one pointer per slot, shared-memory opt-in, streams, events)
//! without a GPU. The fake libraries are built with the system C compiler;
//! each case runs in a child process, since the driver is found once per process.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hypersonic_ir::Exception;
use hypersonic_llvm::ptx::Ptx;
use hypersonic_runtime::{
    cuda_available, cuda_devices, cuda_driver_version, cuda_unavailable_reason, DeviceKind, Kernel,
    KernelArgs, LaunchConfig, RuntimeError,
};

const FAKE_GPU: &str = include_str!("fake_gpu.c");
const VADD: &str = include_str!("ptx/vadd.ptx");

const NO_DEVICE: &str = r#"
typedef int CUresult;
CUresult cuInit(unsigned int flags) { (void)flags; return 100; }
CUresult cuGetErrorName(CUresult e, const char **s) {
    *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN";
    return 0;
}
CUresult cuGetErrorString(CUresult e, const char **s) {
    *s = e == 100 ? "no CUDA-capable device is detected" : "unknown error";
    return 0;
}
"#;

/// The other functions the runtime needs, present but failing.
const OTHERS: &[&str] = &[
    "cuDriverGetVersion",
    "cuDeviceGetCount",
    "cuDeviceGet",
    "cuDeviceGetName",
    "cuDeviceGetAttribute",
    "cuDeviceTotalMem_v2",
    "cuDevicePrimaryCtxRetain",
    "cuCtxSetCurrent",
    "cuCtxSynchronize",
    "cuMemAlloc_v2",
    "cuMemFree_v2",
    "cuMemcpyHtoDAsync_v2",
    "cuMemcpyDtoHAsync_v2",
    "cuMemcpyDtoDAsync_v2",
    "cuMemsetD8Async",
    "cuPointerGetAttribute",
    "cuModuleLoadDataEx",
    "cuModuleGetFunction",
    "cuModuleGetGlobal_v2",
    "cuMemcpyDtoH_v2",
    "cuMemcpyHtoD_v2",
    "cuModuleUnload",
    "cuFuncGetAttribute",
    "cuFuncSetAttribute",
    "cuLaunchKernel",
    "cuStreamCreate",
    "cuStreamDestroy_v2",
    "cuStreamSynchronize",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventSynchronize",
    "cuEventQuery",
    "cuEventElapsedTime",
    "cuEventDestroy_v2",
];

fn failing_stubs(skip: &str) -> String {
    OTHERS
        .iter()
        .filter(|n| **n != skip)
        .map(|n| format!("int {n}(void) {{ return 999; }}\n"))
        .collect()
}

fn build(dir: &Path, source: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    let c = dir.join("fake.c");
    std::fs::write(&c, source).unwrap();
    Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.join("libcuda.so"))
        .arg(&c)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn run_child(dir: &Path, case: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env("LD_LIBRARY_PATH", dir)
        .env("HYPERSONIC_FAKE_DRIVER", case)
        .env_remove("HYPERSONIC_DEVICE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child {case} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "child {case} ran no test:\n{text}"
    );
}

#[test]
fn fake_drivers() {
    if cuda_available() {
        eprintln!("skipping: a real CUDA driver is present");
        return;
    }
    let root: PathBuf =
        std::env::temp_dir().join(format!("hypersonic-fake-cuda-{}", std::process::id()));
    let (no_device, too_old) = (root.join("no_device"), root.join("too_old"));
    let no_device_src = format!("{NO_DEVICE}{}", failing_stubs(""));
    // A driver without cuModuleLoadDataEx, but with cuInit.
    let too_old_src = format!("{NO_DEVICE}{}", failing_stubs("cuModuleLoadDataEx"));
    if !build(&no_device, &no_device_src) || !build(&too_old, &too_old_src) {
        eprintln!("skipping: no C compiler to build a fake libcuda.so");
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    run_child(&no_device, "no_device");
    run_child(&too_old, "too_old");
    let fake_gpu = root.join("fake_gpu");
    assert!(build(&fake_gpu, FAKE_GPU), "fake_gpu.c does not compile");
    run_child(&fake_gpu, "fake_gpu");
    let _ = std::fs::remove_dir_all(&root);
}

/// Runs only in the child process that `fake_drivers` starts.
#[test]
fn child() {
    let Ok(case) = std::env::var("HYPERSONIC_FAKE_DRIVER") else {
        return;
    };
    if case == "fake_gpu" {
        return fake_gpu();
    }
    let want = match case.as_str() {
        "no_device" => "cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected; the driver found no GPU)",
        "too_old" => "the CUDA driver lacks cuModuleLoadDataEx: it is older than CUDA 11; update the NVIDIA driver",
        c => panic!("unknown case {c}"),
    };
    assert!(!cuda_available());
    assert_eq!(cuda_unavailable_reason().as_deref(), Some(want));
    assert!(cuda_devices().is_empty());
    let err = hypersonic_runtime::device_from_spec("cuda").unwrap_err();
    assert_eq!(err.to_string(), format!("no CUDA device: {want}"));
    // Without CUDA: a Vulkan GPU if there is one, else the CPU.
    let d = hypersonic_runtime::default_device().unwrap();
    assert_eq!(d.id(), hypersonic_runtime::devices()[0].id());
    assert_ne!(d.id().kind, DeviceKind::Cuda);
}

fn fake_gpu() {
    assert!(cuda_available(), "{:?}", cuda_unavailable_reason());
    assert_eq!(cuda_driver_version(), Some((12, 4)));
    let devices = cuda_devices();
    assert_eq!(devices.len(), 1);
    let dev = hypersonic_runtime::default_device().unwrap();
    let info = dev.info();
    assert_eq!(info.id.to_string(), "cuda:0");
    assert_eq!(info.name, "Fake GPU");
    assert_eq!(info.compute_capability, Some((8, 0)));
    assert_eq!(info.limits.max_block_dim, [1024, 1024, 64]);
    assert_eq!(info.limits.max_shared_memory_per_block, 49152);
    assert_eq!(info.limits.max_shared_memory_per_block_optin, 166912);
    assert_eq!(info.multiprocessors, 108);
    assert_eq!(
        hypersonic_runtime::devices().len(),
        2 + hypersonic_runtime::vulkan_devices().len()
    );

    // Memory.
    let n = 1000usize;
    let a: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
    let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).cos()).collect();
    let bytes = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (da, db, dc) = (
        dev.alloc(n * 8).unwrap(),
        dev.alloc(n * 8).unwrap(),
        dev.alloc(n * 8).unwrap(),
    );
    dev.copy_htod(&da, 0, &bytes(&a), None).unwrap();
    dev.copy_htod(&db, 0, &bytes(&b), None).unwrap();
    dev.memset(&dc, 0, n * 8, 0xFF, None).unwrap();
    let mut back = vec![0u8; 16];
    dev.copy_dtod(&dc, 0, &da, 8, 16, None).unwrap();
    dev.copy_dtoh(&mut back, &dc, 0, None).unwrap();
    assert_eq!(back, bytes(&a[1..3]));
    let err = dev.alloc(1 << 41).unwrap_err();
    assert_eq!(
        err.to_string(),
        "out of memory on cuda:0 (Fake GPU): could not allocate 2199023255552 bytes"
    );
    assert_eq!(dev.alloc(0).unwrap().size(), 0);

    // Foreign memory: ours is known to the driver, a stack array is not.
    let foreign = unsafe { dev.wrap_foreign(db.addr(), n * 8) }.unwrap();
    let stack = [0u8; 8];
    let err = unsafe { dev.wrap_foreign(stack.as_ptr() as u64, 8) }.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "invalid memory operation: address {:#x} is not memory the CUDA driver knows (cuPointerGetAttribute failed: CUDA_ERROR_INVALID_VALUE",
            stack.as_ptr() as u64
        )),
        "{err}"
    );

    // A launch: one pointer per slot, in order.
    let ptx = Ptx {
        text: VADD.into(),
        entry_name: "vadd".into(),
        param_slots: 9,
    };
    let kernel = Kernel::from_images("vadd", 9, vec![], None, Some(ptx));
    let mut args = KernelArgs::new();
    args.array(da.addr(), &[n as i64], &[8])
        .array(foreign.addr(), &[n as i64], &[8])
        .array(dc.addr(), &[n as i64], &[8]);
    let stream = dev.create_stream().unwrap();
    let (start, end) = (dev.create_event().unwrap(), dev.create_event().unwrap());
    dev.record_event(&start, Some(&stream)).unwrap();
    unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(4, 256),
            args.as_slice(),
            Some(&stream),
        )
        .unwrap()
    };
    dev.record_event(&end, Some(&stream)).unwrap();
    dev.event_synchronize(&end).unwrap();
    assert!(dev.event_query(&end).unwrap());
    assert!(dev.event_elapsed_ms(&start, &end).unwrap() >= 0.0);
    dev.stream_synchronize(&stream).unwrap();
    dev.synchronize().unwrap();
    let mut out = vec![0u8; n * 8];
    dev.copy_dtoh(&mut out, &dc, 0, Some(&stream)).unwrap();
    let out: Vec<f64> = out
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    for i in 0..n {
        assert_eq!(out[i], a[i] + b[i], "element {i}");
    }

    // More than 48 KiB of dynamic shared memory: the runtime opts in (the fake
    // driver refuses otherwise); more than the opt-in limit is refused.
    let big = LaunchConfig {
        grid: [4, 1, 1],
        block: [256, 1, 1],
        dynamic_shared_bytes: 100_000,
    };
    unsafe { dev.launch(&kernel, &big, args.as_slice(), None).unwrap() };
    let too_big = LaunchConfig {
        dynamic_shared_bytes: 166_913,
        ..big
    };
    let err = unsafe { dev.launch(&kernel, &too_big, args.as_slice(), None) }.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: 166913 bytes of shared memory per block (0 static + 166913 dynamic): \
         a block may use at most 166912 bytes on this device"
    );

    // The function's own limit on threads per block (registers).
    let err = unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(1, 1024),
            args.as_slice(),
            None,
        )
    }
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: block of 1024 threads: kernel `vadd` uses 80 registers per thread, so a \
         block may have at most 768 threads on cuda:0 (Fake GPU); launch fewer threads per block"
    );
    let err = unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(1, 2048),
            args.as_slice(),
            None,
        )
    }
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid launch: block of 2048 threads (2048x1x1): a block may have at most 1024 threads"
    );

    // PTX the driver's JIT rejects: the call, the code, the message and the log.
    let bad = Kernel::from_images(
        "broken",
        0,
        vec![],
        None,
        Some(Ptx {
            text: ".visible .entry broken() { bogus; }".into(),
            entry_name: "broken".into(),
            param_slots: 0,
        }),
    );
    let err = dev.prepare(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX (a PTX JIT compilation failed; the PTX \
         was compiled for a newer GPU than this one; the PTX JIT compiler said: ptxas application \
         ptx input, line 4; error: Unknown instruction 'bogus')"
    );
    // A missing entry point.
    let wrong = Kernel::from_images(
        "wrong",
        0,
        vec![],
        None,
        Some(Ptx {
            text: VADD.into(),
            entry_name: "nope".into(),
            param_slots: 0,
        }),
    );
    match dev.prepare(&wrong).unwrap_err() {
        RuntimeError::Cuda { call, code, .. } => {
            assert_eq!(call, "cuModuleGetFunction");
            assert_eq!(code, "CUDA_ERROR_NOT_FOUND");
        }
        e => panic!("unexpected {e:?}"),
    }
    // A kernel compiled from IR by the runtime (PTX for the device's sm_80):
    // its slots reach the driver as the hand-written kernel's do.
    let from_ir = Kernel::new(common::vadd_module("vadd"));
    dev.prepare(&from_ir).unwrap();
    dev.memset(&dc, 0, n * 8, 0, None).unwrap();
    unsafe {
        dev.launch(
            &from_ir,
            &LaunchConfig::linear(8, 128),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    let mut out = vec![0u8; n * 8];
    dev.copy_dtoh(&mut out, &dc, 0, None).unwrap();
    for (i, c) in out.chunks_exact(8).enumerate() {
        assert_eq!(f64::from_le_bytes(c.try_into().unwrap()), a[i] + b[i]);
    }

    // A kernel that raises: reported at the next synchronisation, once.
    let raising = Kernel::from_images(
        "vadd",
        9,
        vec![Exception {
            class: "ValueError".into(),
            message: "NaN input".into(),
        }],
        None,
        Some(Ptx {
            text: format!("{VADD}\n// .global .u32 __hypersonic_status;\n"),
            entry_name: "vadd".into(),
            param_slots: 9,
        }),
    );
    unsafe {
        dev.launch(
            &raising,
            &LaunchConfig::linear(4, 256),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    dev.synchronize().unwrap(); // no NaN: nothing raised
    dev.copy_htod(&da, 8 * 10, &f64::NAN.to_le_bytes(), None)
        .unwrap();
    unsafe {
        dev.launch(
            &raising,
            &LaunchConfig::linear(4, 256),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    let err = dev.synchronize().unwrap_err();
    assert_eq!(
        err.to_string(),
        "kernel `vadd` raised ValueError: NaN input"
    );
    assert!(matches!(err, RuntimeError::KernelRaised { status: 1, .. }));
    dev.synchronize().unwrap(); // reported once, and the status word was reset
    unsafe {
        dev.launch(
            &raising,
            &LaunchConfig::linear(4, 256),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    let mut one = [0u8; 8];
    let err = dev.copy_dtoh(&mut one, &dc, 0, None).unwrap_err();
    assert!(matches!(err, RuntimeError::KernelRaised { .. }), "{err}");
    // The kernel without a status word ignores NaN.
    unsafe {
        dev.launch(
            &kernel,
            &LaunchConfig::linear(4, 256),
            args.as_slice(),
            None,
        )
    }
    .unwrap();
    dev.synchronize().unwrap();

    // Unrecorded events.
    let never = dev.create_event().unwrap();
    let err = dev.event_elapsed_ms(&never, &end).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cuEventElapsedTime failed: CUDA_ERROR_INVALID_HANDLE"),
        "{err}"
    );
    drop((foreign, da, db, dc, kernel, stream, start, end, never));
}
