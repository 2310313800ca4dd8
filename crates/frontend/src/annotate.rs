//! The `inspect_types` text: each source line followed by the types of the
//! variables assigned on it.

use std::collections::BTreeMap;

use hypersonic_ir::Type;

use crate::SourceFunction;

pub(crate) fn annotate(
    func: &SourceFunction,
    ann: &BTreeMap<usize, Vec<(String, Type)>>,
) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = func.source.lines().collect();
    let width = lines.iter().map(|l| l.len()).max().unwrap_or(0).min(60);
    for (i, line) in lines.iter().enumerate() {
        let lineno = func.first_line.max(1) as usize + i;
        let pad = " ".repeat(func.col_offset as usize);
        match ann.get(&i) {
            Some(vars) if !vars.is_empty() => {
                let types: Vec<String> = vars.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                out.push_str(&format!(
                    "{lineno:>4}  {pad}{line:<width$}  # {}\n",
                    types.join(", ")
                ));
            }
            _ => out.push_str(format!("{lineno:>4}  {pad}{line}").trim_end()),
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
