//! Diagnostics: every error that points at a source position renders the same way:
//! `error: message`, the location, a snippet with a caret, a hint, then `caused by:` lines.

use std::fmt::Write as _;

use crate::yaml::Span;

/// Ansible's exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const HOST_FAILED: i32 = 2;
    pub const UNREACHABLE_OR_PARSE: i32 = 4;
    pub const INTERRUPTED: i32 = 99;
}

/// What an error shows a user.
#[derive(Debug, Clone, Default)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
    pub causes: Vec<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic { message: message.into(), ..Default::default() }
    }
    pub fn at(mut self, span: &Span) -> Diagnostic {
        self.span = Some(span.clone());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
    pub fn cause(mut self, cause: impl Into<String>) -> Diagnostic {
        self.causes.push(cause.into());
        self
    }

    /// The full text: message, location, snippet, hint, causes.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some(span) = &self.span {
            let _ = writeln!(out, "  --> {span}");
            if let Some(snippet) = snippet(span) {
                out.push_str(&snippet);
            }
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        for cause in &self.causes {
            let _ = writeln!(out, "caused by: {cause}");
        }
        out
    }
}

/// Two lines of context and a caret under the column.
fn snippet(span: &Span) -> Option<String> {
    if span.line == 0 {
        return None;
    }
    let text = std::fs::read_to_string(span.file.as_path()).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let idx = span.line.checked_sub(1)?;
    let line = lines.get(idx)?;
    let width = (span.line).to_string().len();
    let mut out = String::new();
    if idx > 0 {
        let _ = writeln!(out, "{:>width$} | {}", span.line - 1, lines[idx - 1]);
    }
    let _ = writeln!(out, "{:>width$} | {}", span.line, line);
    let _ = writeln!(out, "{:>width$} | {}^", "", " ".repeat(span.col.saturating_sub(1)));
    Some(out)
}

/// Every layer's error type implements this so the binary can print and exit uniformly.
pub trait Diagnose {
    fn diagnostic(&self) -> Diagnostic;
    fn exit_code(&self) -> i32;
}

impl Diagnose for crate::yaml::YamlError {
    fn diagnostic(&self) -> Diagnostic {
        Diagnostic::new(self.message.clone())
            .at(&self.span)
            .hint("fix the YAML at this position (indentation, an unclosed bracket or quote, a tab)")
    }
    fn exit_code(&self) -> i32 {
        exit::UNREACHABLE_OR_PARSE
    }
}
