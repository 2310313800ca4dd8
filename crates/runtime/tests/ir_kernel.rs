//! Kernels built in IR and compiled by the runtime on demand: PTX for a
//! compute capability (cached), and the CPU block function when the SIMT
//! lowering is there.

mod common;

use std::process::Command;
use std::sync::Arc;

use hypersonic_runtime::{cpu_device, Device, Kernel, KernelArgs, LaunchConfig, RuntimeError};

#[test]
fn ptx_compiled_once_per_compute_capability() {
    let module = common::vadd_module("vadd");
    hypersonic_ir::verify::verify_module(&module).expect("the test kernel verifies");
    let kernel = Kernel::new(module);
    assert_eq!(kernel.name(), "vadd");
    assert_eq!(kernel.param_slots(), 9);
    let p80 = kernel.ptx((8, 0)).unwrap();
    assert_eq!(p80.param_slots, 9);
    assert!(p80.text.contains(".target sm_80"), "{}", p80.text);
    assert!(Arc::ptr_eq(&p80, &kernel.ptx((8, 0)).unwrap()), "cached");
    let p70 = kernel.ptx((7, 0)).unwrap();
    assert!(p70.text.contains(".target sm_70"));
    let err = kernel.ptx((5, 0)).unwrap_err();
    assert!(
        matches!(&err, RuntimeError::Compile { target, .. } if target == "CUDA sm_50"),
        "{err}"
    );

    let ptxas = std::env::var_os("HYPERSONIC_PTXAS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../.venv/lib/python3.11/site-packages/nvidia/cuda_nvcc/bin/ptxas");
            p.exists().then_some(p)
        });
    let Some(ptxas) = ptxas else {
        eprintln!("skipping the ptxas check: no ptxas");
        return;
    };
    let path = std::env::temp_dir().join(format!("hypersonic-rt-ir-{}.ptx", std::process::id()));
    std::fs::write(&path, &p80.text).unwrap();
    let out = Command::new(ptxas)
        .args(["-arch=sm_80", "-o", "/dev/null"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ir_kernel_on_the_cpu() {
    let kernel = Kernel::new(common::vadd_module("vadd"));
    let dev = cpu_device();
    if let Err(e) = kernel.cpu_image() {
        if e.to_string().contains("not yet") {
            eprintln!("skipping: the CPU SIMT lowering is not there yet ({e})");
            return;
        }
        panic!("{e}");
    }
    dev.prepare(&kernel).unwrap();
    for n in [1usize, 1000, 100_003] {
        let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        let b: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
        let bytes = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let (da, db, dc) = (
            dev.alloc(n * 8).unwrap(),
            dev.alloc(n * 8).unwrap(),
            dev.alloc(n * 8).unwrap(),
        );
        dev.copy_htod(&da, 0, &bytes(&a), None).unwrap();
        dev.copy_htod(&db, 0, &bytes(&b), None).unwrap();
        let mut args = KernelArgs::new();
        for d in [&da, &db, &dc] {
            args.contiguous_array(d.addr(), &[n as i64], 8);
        }
        let config = LaunchConfig::linear((n as u32).div_ceil(128), 128);
        unsafe { dev.launch(&kernel, &config, args.as_slice(), None).unwrap() };
        let mut out = vec![0u8; n * 8];
        dev.copy_dtoh(&mut out, &dc, 0, None).unwrap();
        for (i, c) in out.chunks_exact(8).enumerate() {
            assert_eq!(
                f64::from_le_bytes(c.try_into().unwrap()),
                a[i] + b[i],
                "n={n} i={i}"
            );
        }
    }
}
