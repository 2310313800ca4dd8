//! Turning an error at a range of a function's source into a [`Diagnostic`]
//! rendered the way rustc renders its errors.

use annotate_snippets::{Level, Renderer, Snippet};
use ruff_text_size::TextRange;

use crate::parse::LineIndex;
use crate::{Diagnostic, DiagnosticKind, SourceFunction};

/// Builds the diagnostic for a location of the user's file inside `func`.
pub(crate) fn diagnostic_at(
    func: &SourceFunction,
    kind: DiagnosticKind,
    loc: hypersonic_ir::Loc,
    message: impl Into<String>,
    help: Option<String>,
) -> Diagnostic {
    let index = LineIndex::new(&func.source);
    let line0 = loc.line.saturating_sub(func.first_line.max(1)) as usize;
    let col0 = loc.col.saturating_sub(func.col_offset + 1) as usize;
    let offset = index.offset(&func.source, line0, col0);
    // Underline the rest of the statement's line (a call such as `cuda.syncthreads()`).
    let rest = index.line_text(&func.source, line0);
    let len = rest
        .get(col0.min(rest.len())..)
        .map_or(1, |r| r.split('#').next().unwrap_or("").trim_end().len())
        .max(1);
    let range = TextRange::at((offset as u32).into(), (len as u32).into());
    diagnostic(func, kind, range, message, help)
}

/// Builds the diagnostic for `range` (byte offsets into `func.source`).
pub(crate) fn diagnostic(
    func: &SourceFunction,
    kind: DiagnosticKind,
    range: TextRange,
    message: impl Into<String>,
    help: Option<String>,
) -> Diagnostic {
    let message = message.into();
    let src = &func.source;
    let index = LineIndex::new(src);
    let start = range.start().to_usize().min(src.len());
    let (line0, col_bytes) = index.locate(start);
    let text = index.line_text(src, line0);
    let col_bytes = col_bytes.min(text.len());
    let col_chars = text.get(..col_bytes).map_or(0, |p| p.chars().count());
    let line = func.first_line.max(1) + line0 as u32;
    let col = func.col_offset + col_chars as u32 + 1;

    // Show the line as it is in the user's file, with its indentation restored.
    let pad = func.col_offset as usize;
    let shown = format!("{}{}", " ".repeat(pad), text);
    let end = range.end().to_usize().min(start + (text.len() - col_bytes));
    let mut span = (pad + col_bytes)..(pad + col_bytes + end.saturating_sub(start));
    if span.is_empty() {
        span.end = (span.start + 1).min(shown.len().max(span.start));
        if span.is_empty() && !shown.is_empty() {
            span = shown.len() - 1..shown.len();
        }
    }
    let title = message.clone();
    let mut msg = Level::Error.title(&title).snippet(
        Snippet::source(&shown)
            .line_start(line as usize)
            .origin(&func.filename)
            .annotation(Level::Error.span(span)),
    );
    if let Some(h) = &help {
        msg = msg.footer(Level::Help.title(h));
    }
    let rendered = Renderer::plain().render(msg).to_string();
    Diagnostic {
        kind,
        message,
        help,
        filename: func.filename.clone(),
        line,
        col,
        rendered,
    }
}
