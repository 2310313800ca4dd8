//! The only module that knows about ruff's parser: it turns a function's source
//! into its `def` node and maps byte offsets to lines and columns.

use ruff_python_ast::{Stmt, StmtFunctionDef};
use ruff_text_size::TextRange;

pub(crate) use ruff_python_ast as ast;

/// Parses `source` and returns the first function it defines.
pub(crate) fn parse_function(source: &str) -> Result<StmtFunctionDef, (String, TextRange)> {
    let parsed = ruff_python_parser::parse_module(source)
        .map_err(|e| (format!("invalid syntax: {}", e.error), e.location))?;
    let module = parsed.into_syntax();
    for stmt in module.body {
        if let Stmt::FunctionDef(f) = stmt {
            return Ok(f);
        }
    }
    Err((
        "the source does not define a function".into(),
        TextRange::default(),
    ))
}

/// Byte offsets of line starts, to turn ranges into 0-based lines and columns.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, c) in text.char_indices() {
            if c == '\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// 0-based line and byte column of `offset`.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        (line, offset - self.starts[line])
    }

    /// The byte offset of 0-based `line` and byte column `col` (clamped to the line).
    pub(crate) fn offset(&self, text: &str, line: usize, col: usize) -> usize {
        let Some(&start) = self.starts.get(line) else {
            return text.len();
        };
        start + col.min(self.line_text(text, line).len())
    }

    pub(crate) fn line_text<'a>(&self, text: &'a str, line: usize) -> &'a str {
        let start = self.starts.get(line).copied().unwrap_or(text.len());
        let end = self
            .starts
            .get(line + 1)
            .map(|e| e - 1)
            .unwrap_or(text.len())
            .max(start);
        text.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\r', '\n'])
    }
}
