//! `hypersonic._core`: the compiler and the call path, for the Python package in
//! `python/hypersonic/`.

mod dispatcher;
mod environment;
mod marshal;
mod specialization;
mod type_text;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<dispatcher::Dispatcher>()?;
    m.add_class::<specialization::CompiledFunction>()?;
    m.add_function(wrap_pyfunction!(specialization::compile, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    hypersonic_llvm::warm_up_in_background();
    Ok(())
}
