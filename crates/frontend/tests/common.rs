#![allow(dead_code)]
use std::collections::HashMap;

use hypersonic_frontend::*;
use hypersonic_ir::{Layout, Scalar, Type};

pub struct Env(pub HashMap<String, Global>);

impl Environment for Env {
    fn resolve(&self, _func: &SourceFunction, name: &str) -> Option<Global> {
        self.0.get(name).cloned()
    }
}

pub fn env() -> Env {
    let mut m = HashMap::new();
    m.insert("np".to_string(), Global::Module("numpy".into()));
    m.insert("math".to_string(), Global::Module("math".into()));
    Env(m)
}

pub fn src(key: u64, text: &str) -> SourceFunction {
    let name = text
        .split("def ")
        .nth(1)
        .and_then(|r| r.split('(').next())
        .unwrap_or("f")
        .to_string();
    SourceFunction {
        key,
        name,
        filename: "/path/file.py".into(),
        first_line: 10,
        col_offset: 0,
        source: text.to_string(),
    }
}

pub fn arr(dtype: Scalar, ndim: u8) -> Type {
    Type::array(dtype, ndim, Layout::C)
}

pub fn compile_with(e: &Env, text: &str, args: &[Type]) -> Result<Compiled, Diagnostic> {
    compile(&src(1, text), args, None, e, &Options::default())
}

pub fn ok(text: &str, args: &[Type]) -> Compiled {
    match compile_with(&env(), text, args) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.rendered),
    }
}

pub fn err(text: &str, args: &[Type]) -> Diagnostic {
    match compile_with(&env(), text, args) {
        Ok(c) => panic!(
            "expected an error, got\n{}",
            hypersonic_ir::printer::print_module(&c.module)
        ),
        Err(d) => d,
    }
}
