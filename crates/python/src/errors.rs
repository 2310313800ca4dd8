//! Turning compiler failures into Python exceptions.

use pyo3::prelude::*;

pub fn typing_error(py: Python<'_>, message: String) -> PyErr {
    match py
        .import("hypersonic.errors")
        .and_then(|m| m.getattr("TypingError"))
    {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("TypingError is a type"), message),
        Err(e) => e,
    }
}

pub fn internal_error(py: Python<'_>, what: &str) -> PyErr {
    let message = format!(
        "internal compiler error: {what}. This is a bug in Hypersonic; please report it with the function that caused it"
    );
    match py
        .import("hypersonic.errors")
        .and_then(|m| m.getattr("InternalCompilerError"))
    {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("a type"), message),
        Err(e) => e,
    }
}

pub fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

pub fn log_enabled() -> bool {
    std::env::var("HYPERSONIC_LOG").is_ok_and(|v| v == "debug" || v == "1")
}
