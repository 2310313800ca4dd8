//! The kernel suite of `hypersonic-testkit` executed on the CPU device and on
//! the first CUDA device (skipped without one), each kernel's results checked
//! against its Rust reference. The Vulkan instantiation is in `vulkan.rs`, so
//! that `vulkan_staging.rs` runs it too.

use hypersonic_runtime::{cpu_device, cuda_devices, cuda_unavailable_reason};
use hypersonic_testkit::device::run_case;
use hypersonic_testkit::Case;

fn on_cpu(case: Case) {
    run_case(&*cpu_device(), &case);
}

fn on_cuda(case: Case) {
    if let Some(reason) = cuda_unavailable_reason() {
        eprintln!("skipping: {reason}");
        return;
    }
    let Some(d) = cuda_devices().into_iter().next() else {
        eprintln!("skipping: the CUDA devices could not be opened");
        return;
    };
    run_case(&*d, &case);
}

mod cpu {
    hypersonic_testkit::suite!(super::on_cpu);
}

mod cuda {
    hypersonic_testkit::suite!(super::on_cuda);
}
