//! `hypersonic._core`: the compiler and the call path, for the Python package in
//! `python/hypersonic/`.

mod devices;
mod dispatcher;
mod environment;
mod errors;
mod front;
mod kernel;
mod marshal;
mod specialization;
mod type_text;

use pyo3::prelude::*;

/// Joins the background (second-tier) compiles; `hypersonic` calls it at exit.
#[pyfunction]
fn wait_for_background_compiles(py: Python<'_>) {
    py.detach(hypersonic_llvm::wait_for_background_compiles);
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<dispatcher::Dispatcher>()?;
    m.add_class::<specialization::CompiledFunction>()?;
    m.add_function(wrap_pyfunction!(specialization::compile, m)?)?;
    m.add_class::<kernel::CompiledKernel>()?;
    m.add_function(wrap_pyfunction!(kernel::compile_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(kernel::compile_ptx, m)?)?;
    m.add_class::<devices::PyDevice>()?;
    m.add_class::<devices::PyDeviceBuffer>()?;
    m.add_class::<devices::PyStream>()?;
    m.add_class::<devices::PyEvent>()?;
    m.add_function(wrap_pyfunction!(devices::devices, m)?)?;
    m.add_function(wrap_pyfunction!(devices::cuda_unavailable_reason, m)?)?;
    m.add_function(wrap_pyfunction!(devices::default_device, m)?)?;
    m.add_function(wrap_pyfunction!(devices::launch, m)?)?;
    m.add_function(wrap_pyfunction!(wait_for_background_compiles, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    hypersonic_llvm::warm_up_in_background();
    Ok(())
}
