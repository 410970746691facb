//! Errors found while loading a playbook, a tasks file or a role.

use crate::error::{exit, Diagnose, Diagnostic};
use crate::yaml::{Span, YamlError};

/// What went wrong, for callers and tests that need to tell errors apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// The YAML itself does not parse.
    Syntax,
    /// A referenced file or role does not exist or cannot be read.
    NotFound,
    /// A key that is not a keyword here.
    UnknownKey,
    /// A task names a module troupe does not know.
    UnknownModule,
    /// A task names two modules.
    ConflictingModules,
    /// A task names no module.
    NoModule,
    /// Valid Ansible that troupe deliberately does not run.
    Unsupported,
    /// A keyword with a value of the wrong shape.
    Invalid,
    /// An argument with the `_ansible_` prefix, which Ansible keeps for itself (its plain
    /// error, not a parse error: exit 1).
    Reserved,
}

/// A load error: where, what, and what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{span}: {message}")]
pub struct LoadError {
    pub kind: LoadErrorKind,
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
    /// Outer context, innermost first (e.g. "while importing roles/x/tasks/main.yml from p.yml:4:7").
    pub causes: Vec<String>,
    /// The file that was not found, as the playbook named it (NotFound errors about a file);
    /// boxed to keep the error small.
    pub missing: Option<Box<std::path::PathBuf>>,
}

impl LoadError {
    pub fn new(kind: LoadErrorKind, span: &Span, message: impl Into<String>) -> LoadError {
        LoadError { kind, span: span.clone(), message: message.into(), hint: None, causes: Vec::new(), missing: None }
    }
    pub fn invalid(span: &Span, message: impl Into<String>) -> LoadError {
        LoadError::new(LoadErrorKind::Invalid, span, message)
    }
    pub fn unsupported(span: &Span, message: impl Into<String>) -> LoadError {
        LoadError::new(LoadErrorKind::Unsupported, span, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> LoadError {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_missing(mut self, path: impl Into<std::path::PathBuf>) -> LoadError {
        self.missing = Some(Box::new(path.into()));
        self
    }
    pub fn maybe_hint(mut self, hint: Option<String>) -> LoadError {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
    /// Add where the error was reached from; a deep chain keeps its first and last few.
    pub fn with_cause(mut self, cause: impl Into<String>) -> LoadError {
        const KEEP: usize = 8;
        if self.causes.len() == 2 * KEEP {
            self.causes.insert(KEEP, "…".into());
        }
        if self.causes.len() > 2 * KEEP {
            self.causes.remove(KEEP + 1);
        }
        self.causes.push(cause.into());
        self
    }
}

impl From<YamlError> for LoadError {
    fn from(e: YamlError) -> LoadError {
        LoadError::new(LoadErrorKind::Syntax, &e.span, e.message)
            .with_hint("fix the YAML at this position (indentation, an unclosed bracket or quote, a tab)")
    }
}

impl Diagnose for LoadError {
    fn diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::new(self.message.clone()).at(&self.span);
        if let Some(hint) = &self.hint {
            d = d.hint(hint.clone());
        }
        for cause in &self.causes {
            d = d.cause(cause.clone());
        }
        d
    }
    fn exit_code(&self) -> i32 {
        match self.kind {
            LoadErrorKind::Reserved => exit::ERROR,
            _ => exit::UNREACHABLE_OR_PARSE,
        }
    }
}
