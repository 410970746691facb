//! Inventory errors and how they are shown.

use std::path::PathBuf;

use crate::error::{exit, Diagnose, Diagnostic};
use crate::yaml::{Span, YamlError};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A source or vars file that does not parse; exit code 4 like Ansible's parse errors.
    #[error("{message}")]
    Parse { span: Span, message: String, hint: Option<String> },
    /// A source that does not exist or cannot be read.
    #[error("cannot read inventory {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    /// A host pattern that cannot be evaluated (bad regex, subscript out of range).
    #[error("{0}")]
    Pattern(String),
}

impl InventoryError {
    pub(crate) fn parse(span: Span, message: impl Into<String>, hint: Option<&str>) -> InventoryError {
        InventoryError::Parse { span, message: message.into(), hint: hint.map(str::to_string) }
    }

    pub(crate) fn read(path: impl Into<PathBuf>, reason: impl ToString) -> InventoryError {
        InventoryError::Read { path: path.into(), reason: reason.to_string() }
    }
}

impl From<YamlError> for InventoryError {
    fn from(e: YamlError) -> InventoryError {
        InventoryError::Parse {
            span: e.span,
            message: e.message,
            hint: Some("fix the YAML at this position (indentation, an unclosed bracket or quote, a tab)".into()),
        }
    }
}

impl Diagnose for InventoryError {
    fn diagnostic(&self) -> Diagnostic {
        match self {
            InventoryError::Parse { span, message, hint } => {
                let d = Diagnostic::new(message.clone()).at(span);
                match hint {
                    Some(h) => d.hint(h.clone()),
                    None => d,
                }
            }
            InventoryError::Read { .. } => {
                Diagnostic::new(self.to_string()).hint("pass an existing file or folder to -i, or a host list with a comma: -i 'host1,'")
            }
            InventoryError::Pattern(_) => Diagnostic::new(self.to_string())
                .hint("patterns: all, group, host, a:b or a,b (union), a:!b (except), a:&b (and), web*, ~regex, group[0], group[1:3]"),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            InventoryError::Parse { .. } => exit::UNREACHABLE_OR_PARSE,
            InventoryError::Read { .. } | InventoryError::Pattern(_) => exit::ERROR,
        }
    }
}
