//! YAML loading with source positions and Ansible's YAML 1.1 scalar rules.
//!
//! We parse events with `saphyr-parser` and build our own tree so that every node keeps
//! its file, line and column (errors and task spans need them), and so that plain scalars
//! resolve the way Ansible (PyYAML, YAML 1.1) resolves them: `yes`/`no`/`on`/`off` are
//! booleans, `0644` is octal, `<<` merges mappings.

mod build;
mod scalar;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use saphyr_parser::{Event, Parser};

use build::Builder;
pub use scalar::{jinja_string, resolve_plain, resolve_scalar};

use crate::value::{Map, Value};

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub col: usize,
}

impl Span {
    pub fn new(file: &Arc<PathBuf>, line: usize, col: usize) -> Span {
        Span { file: file.clone(), line, col }
    }
    pub fn unknown(file: &Path) -> Span {
        Span { file: Arc::new(file.to_path_buf()), line: 0, col: 0 }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

/// A YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub span: Span,
    pub message: String,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
    /// Look up a key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.key_string() == key).map(|(_, v)| v)
    }
    /// The text of a scalar used as a mapping key.
    pub fn key_string(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            Kind::Null => "null".into(),
            Kind::Bool(b) => if *b { "True" } else { "False" }.into(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            _ => self.to_value().to_string(),
        }
    }
    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
    /// A vars file's variables: a mapping, or none for an empty document; `None` for anything
    /// else (a `.nan` is not "nothing", even though it has no JSON value).
    pub fn vars(&self) -> Option<Map> {
        match (&self.kind, self.to_value()) {
            (Kind::Null, _) => Some(Map::new()),
            (Kind::Map(_), Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Plain data, positions dropped.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(s) => Value::Array(s.iter().map(Node::to_value).collect()),
            Kind::Map(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(k.key_string(), v.to_value());
                }
                Value::Object(out)
            }
        }
    }
}

/// Read and parse a YAML file holding one document (an empty file is null); a vault file is
/// decrypted first.
pub fn load_file(path: &Path) -> Result<Node, YamlError> {
    let bytes = crate::vault::read_file(path).map_err(|e| YamlError {
        span: Span::unknown(path),
        message: match e {
            // The span names the file.
            crate::vault::FileError::Vault { error, .. } => error.to_string(),
            e => e.to_string(),
        },
    })?;
    let text = utf8(&bytes, path)?;
    parse_str(text, path)
}

/// The bytes as text, or an error at the first invalid byte.
pub fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, YamlError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        YamlError {
            span: Span::new(&Arc::new(path.to_path_buf()), line, col),
            message: format!("invalid UTF-8 (byte 0x{:02x}); the file must be UTF-8 encoded", bytes[e.valid_up_to()]),
        }
    })
}

/// Parse YAML text; `path` is used for positions only.
pub fn parse_str(text: &str, path: &Path) -> Result<Node, YamlError> {
    let file = Arc::new(path.to_path_buf());
    check_characters(text, &file)?;
    // A byte order mark is not content (PyYAML drops it too).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A shebang line (`#!/usr/bin/env troupe`) is a YAML comment already.
    let mut builder = Builder::new();
    let mut documents = 0;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            span: Span::new(&file, e.marker().line(), e.marker().col() + 1),
            message: format!("YAML syntax error: {}", e.info()),
        })?;
        let at = Span::new(&file, span.start.line(), span.start.col() + 1);
        if let Event::DocumentStart(_) = event {
            documents += 1;
            // One document per file, as Ansible (PyYAML's get_single_node) reads them.
            if documents > 1 {
                return Err(YamlError {
                    span: at,
                    message: "expected a single document in the stream but found another document".into(),
                });
            }
        }
        builder.event(event, at)?;
    }
    Ok(builder.root.unwrap_or(Node { span: Span::new(&file, 1, 1), kind: Kind::Null }))
}

/// Parse every document of a YAML stream (`from_yaml_all`); `path` is used for positions only.
pub fn parse_all_str(text: &str, path: &Path) -> Result<Vec<Node>, YamlError> {
    let file = Arc::new(path.to_path_buf());
    check_characters(text, &file)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut builder = Builder::new();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            span: Span::new(&file, e.marker().line(), e.marker().col() + 1),
            message: format!("YAML syntax error: {}", e.info()),
        })?;
        let at = Span::new(&file, span.start.line(), span.start.col() + 1);
        let end = matches!(event, Event::DocumentEnd);
        if let Event::DocumentStart(_) = event {
            builder = Builder::new();
        }
        builder.event(event, at.clone())?;
        if end {
            docs.push(builder.root.take().unwrap_or(Node { span: at, kind: Kind::Null }));
        }
    }
    Ok(docs)
}

/// PyYAML refuses control characters (NUL, form feed...) anywhere in the stream.
fn check_characters(text: &str, file: &Arc<PathBuf>) -> Result<(), YamlError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    let Some(bad) = text.find(|c: char| !allowed(c)) else { return Ok(()) };
    let before = &text[..bad];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let c = text[bad..].chars().next().unwrap_or_default();
    Err(YamlError {
        span: Span::new(file, line, col),
        message: format!("unacceptable character #x{:04x}: control characters are not allowed", c as u32),
    })
}

#[cfg(test)]
mod tests;
