//! A `libcuda.so` that loads but finds no GPU, and one that lacks a function
//! (as a driver older than we support would lack functions): CUDA is then
//! unavailable with a reason, nothing panics, and the CPU is the default device.
//! The fake libraries are built with the system C compiler; each case runs in
//! a child process, since the driver library is found once per process.

use std::path::{Path, PathBuf};
use std::process::Command;

use hypersonic_runtime::{cuda_available, cuda_devices, cuda_unavailable_reason, DeviceKind};

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
    let _ = std::fs::remove_dir_all(&root);
}

/// Runs only in the child process that `fake_drivers` starts.
#[test]
fn child() {
    let Ok(case) = std::env::var("HYPERSONIC_FAKE_DRIVER") else {
        return;
    };
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
    assert_eq!(
        hypersonic_runtime::default_device().unwrap().id().kind,
        DeviceKind::Cpu
    );
}
