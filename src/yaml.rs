//! YAML loading with source positions and Ansible's YAML 1.1 scalar rules.
//!
//! We parse events with `saphyr-parser` and build our own tree so that every node keeps
//! its file, line and column (errors and task spans need them), and so that plain scalars
//! resolve the way Ansible (PyYAML, YAML 1.1) resolves them: `yes`/`no`/`on`/`off` are
//! booleans, `0644` is octal, `<<` merges mappings.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle};

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

/// Read and parse a YAML file holding one document (an empty file is null).
pub fn load_file(path: &Path) -> Result<Node, YamlError> {
    let text = std::fs::read_to_string(path).map_err(|e| YamlError {
        span: Span::unknown(path),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    parse_str(&text, path)
}

/// Parse YAML text; `path` is used for positions only.
pub fn parse_str(text: &str, path: &Path) -> Result<Node, YamlError> {
    let file = Arc::new(path.to_path_buf());
    // A shebang line (`#!/usr/bin/env troupe`) is a YAML comment already.
    let mut builder = Builder { file: file.clone(), anchors: HashMap::new(), stack: Vec::new(), root: None };
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            span: Span::new(&file, e.marker().line(), e.marker().col() + 1),
            message: format!("YAML syntax error: {}", e.info()),
        })?;
        let at = Span::new(&file, span.start.line(), span.start.col() + 1);
        builder.event(event, at)?;
        if builder.root.is_some() {
            break; // one document per file, as Ansible reads them
        }
    }
    Ok(builder.root.unwrap_or(Node { span: Span::new(&file, 1, 1), kind: Kind::Null }))
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

struct Builder {
    file: Arc<PathBuf>,
    anchors: HashMap<usize, Node>,
    stack: Vec<Frame>,
    root: Option<Node>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, at: Span) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let kind = resolve_scalar(&text, style, tag.as_deref());
                let node = Node { span: at, kind };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    span: at.clone(),
                    message: "YAML alias refers to an unknown anchor".into(),
                })?;
                self.push(Node { span: at, kind: node.kind })?;
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(Node { span: at, kind: Kind::Seq(Vec::new()) }, anchor))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(Node { span: at, kind: Kind::Map(Vec::new()) }, anchor, None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(n, a)) => (n, a),
                    Some(Frame::Map(n, a, _)) => (merge_keys(n)?, a),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Kind::Map(entries) = &mut map.kind {
                        let name = key.key_string();
                        if name != "<<" && entries.iter().any(|(k, _)| k.key_string() == name) {
                            // Ansible warns and keeps the last; we keep the last too.
                            entries.retain(|(k, _)| k.key_string() != name);
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
        let _ = &self.file;
        Ok(())
    }
}

/// Apply `<<` merge keys: explicit keys win over merged ones.
fn merge_keys(mut node: Node) -> Result<Node, YamlError> {
    let Kind::Map(entries) = &mut node.kind else {
        return Ok(node);
    };
    if !entries.iter().any(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == "<<")) {
        return Ok(node);
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in std::mem::take(entries) {
        if matches!(&k.kind, Kind::Str(s) if s == "<<") {
            let sources: Vec<Node> = match v.kind {
                Kind::Map(_) => vec![v],
                Kind::Seq(items) => items,
                _ => {
                    return Err(YamlError {
                        span: v.span,
                        message: "a `<<` merge key needs a mapping or a list of mappings".into(),
                    })
                }
            };
            for src in sources {
                let Kind::Map(src_entries) = src.kind else {
                    return Err(YamlError {
                        span: src.span,
                        message: "a `<<` merge key needs a mapping or a list of mappings".into(),
                    });
                };
                for (sk, sv) in src_entries {
                    // Earlier sources win over later ones (YAML merge spec).
                    if !merged.iter().any(|(mk, _)| mk.key_string() == sk.key_string()) {
                        merged.push((sk, sv));
                    }
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for (k, v) in merged {
        if !own.iter().any(|(ok, _)| ok.key_string() == k.key_string()) {
            own.push((k, v));
        }
    }
    *entries = own;
    Ok(node)
}

/// Resolve a scalar the way YAML 1.1 (PyYAML, hence Ansible) does.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Kind {
    match tag {
        Some("!!str") | Some("tag:yaml.org,2002:str") => return Kind::Str(text.to_string()),
        Some("!unsafe") | Some("!vault") => return Kind::Str(text.to_string()),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Kind::Str(text.to_string());
    }
    resolve_plain(text)
}

/// Resolve an unquoted scalar: null, bool, int (decimal, 0o, 0x, 0b, legacy octal), float, string.
pub fn resolve_plain(t: &str) -> Kind {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Kind::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Kind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Kind::Int(i);
    }
    if is_float(t) {
        if let Ok(f) = t.replace('_', "").parse::<f64>() {
            return Kind::Float(f);
        }
    }
    Kind::Str(t.to_string())
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if body.is_empty() || !body.chars().next()?.is_ascii_digit() {
        return None;
    }
    let body = body.replace('_', "");
    let value = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        // YAML 1.1 legacy octal: 0644 is 420.
        i64::from_str_radix(&body[1..], 8).ok()?
    } else if body.chars().all(|c| c.is_ascii_digit()) {
        body.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn is_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    let mut digits = false;
    let mut dot = false;
    let mut exp = false;
    let mut prev = ' ';
    for c in body.chars() {
        match c {
            '0'..='9' => digits = true,
            '_' => {}
            '.' if !dot && !exp => dot = true,
            'e' | 'E' if digits && !exp => exp = true,
            '+' | '-' if prev == 'e' || prev == 'E' => {}
            _ => return false,
        }
        prev = c;
    }
    digits && (dot || exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        parse_str(s, Path::new("t.yml")).unwrap().to_value()
    }

    #[test]
    fn yaml11_scalars() {
        let v = parse("a: yes\nb: no\nc: 0644\nd: '0644'\ne: on\nf: 1.5\ng: ~\nh: 0x1f\ni: 12\nj: hello\n");
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::Bool(false));
        assert_eq!(v["c"], Value::from(420));
        assert_eq!(v["d"], Value::from("0644"));
        assert_eq!(v["e"], Value::Bool(true));
        assert_eq!(v["f"], serde_json::json!(1.5));
        assert_eq!(v["g"], Value::Null);
        assert_eq!(v["h"], Value::from(31));
        assert_eq!(v["i"], Value::from(12));
        assert_eq!(v["j"], Value::from("hello"));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let v = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        assert_eq!(v["other"], serde_json::json!({"y": 3, "x": 1}));
        assert_eq!(v["list"][0]["x"], Value::from(1));
    }

    #[test]
    fn positions_are_one_based() {
        let n = parse_str("a: 1\nb:\n  c: 2\n", Path::new("p.yml")).unwrap();
        let c = n.get("b").unwrap().get("c").unwrap();
        assert_eq!((c.span.line, c.span.col), (3, 6));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_str("a: [1, 2\nb: 3\n", Path::new("bad.yml")).unwrap_err();
        assert!(e.span.line >= 1, "{e:?}");
        assert!(e.message.contains("YAML syntax error"));
    }
}
