//! Running suite cases on a `hypersonic_runtime::Device` (feature `device`).

use hypersonic_runtime::{Device, DeviceBuffer, Kernel, KernelArgs, LaunchConfig};

use crate::host::{bytes_of, from_bytes, Array, Case};

/// A device buffer holding `v` (at least 8 bytes, so that empty arrays have one).
pub fn upload<T: Copy>(d: &dyn Device, v: &[T]) -> DeviceBuffer {
    upload_bytes(d, &bytes_of(v))
}

pub fn upload_bytes(d: &dyn Device, bytes: &[u8]) -> DeviceBuffer {
    let b = d.alloc(bytes.len().max(8)).unwrap();
    d.copy_htod(&b, 0, bytes, None).unwrap();
    b
}

/// The first `n` elements of `b`.
pub fn download<T: Copy + Default>(d: &dyn Device, b: &DeviceBuffer, n: usize) -> Vec<T> {
    let mut out = vec![0u8; n * std::mem::size_of::<T>()];
    d.copy_dtoh(&mut out, b, 0, None).unwrap();
    from_bytes(&out)
}

/// Appends the slots of `a` living at `b` to `args`.
pub fn array_arg(args: &mut KernelArgs, b: &DeviceBuffer, a: &Array) {
    args.contiguous_array(b.addr(), &a.shape, a.itemsize() as i64);
}

/// Runs every launch of `case` on `d` (compiling the kernel once): uploads the
/// arrays, launches, synchronizes, downloads them and checks them; a run that
/// must raise must report exactly that exception.
pub fn run_case(d: &dyn Device, case: &Case) {
    let kernel = Kernel::new(case.module.clone());
    run_case_with(d, case, &kernel);
}

/// [`run_case`] with a kernel compiled already.
pub fn run_case_with(d: &dyn Device, case: &Case, kernel: &Kernel) {
    let name = case.name();
    for run in &case.runs {
        let bufs: Vec<DeviceBuffer> = run.args.iter().map(|a| upload_bytes(d, &a.bytes)).collect();
        let mut args = KernelArgs::new();
        for (b, a) in bufs.iter().zip(&run.args) {
            array_arg(&mut args, b, a);
        }
        let addrs: Vec<u64> = bufs.iter().map(|b| b.addr()).collect();
        assert_eq!(
            args.as_slice(),
            crate::pack(&case.module, &run.args, &addrs),
            "{name}: the runtime packs arrays as the ABI says"
        );
        let config = LaunchConfig {
            grid: run.grid,
            block: run.block,
            dynamic_shared_bytes: run.dynamic_shared_bytes,
        };
        // SAFETY: every array slot points at a live buffer of its size.
        let r = unsafe { d.launch(kernel, &config, args.as_slice(), None) }
            .and_then(|()| d.synchronize());
        let what = format!("{name} on {} ({}), {}", d.id(), d.info().name, run.label);
        match (&run.raises, r) {
            (None, Ok(())) => {}
            (None, Err(e)) => panic!("{what}: {e}"),
            (Some(exc), Ok(())) => panic!("{what}: raised nothing, want {exc}"),
            (Some(exc), Err(e)) => {
                assert_eq!(
                    e.to_string(),
                    format!("kernel `{name}` raised {exc}"),
                    "{what}"
                );
                continue;
            }
        }
        let out: Vec<Array> = bufs
            .iter()
            .zip(&run.args)
            .map(|(b, a)| Array {
                bytes: download::<u8>(d, b, a.bytes.len()),
                ..a.clone()
            })
            .collect();
        eprintln!("{what}");
        (run.check)(&out);
    }
}
