//! The tree builder: parser events in, positioned nodes out. Iterative (an explicit stack), so
//! nesting costs no call stack here; the depth is still bounded because everything that walks a
//! tree later (loading, rendering, dropping) recurses.

use std::collections::{HashMap, HashSet};

use saphyr_parser::Event;

use super::scalar::resolve_scalar;
use super::{Kind, Node, Span, YamlError};
use crate::limits::{MAX_YAML_ALIAS_NODES, MAX_YAML_DEPTH};

/// A sequence or mapping being built.
struct Frame {
    node: Node,
    anchor: usize,
    /// A mapping's key waiting for its value.
    key: Option<Node>,
    /// Nodes in this subtree so far (for the alias budget).
    size: usize,
    /// A mapping's keys and where each is (duplicate keys in linear time).
    index: HashMap<String, usize>,
}

pub(super) struct Builder {
    /// Anchored nodes with their sizes.
    anchors: HashMap<usize, (Node, usize)>,
    stack: Vec<Frame>,
    pub root: Option<Node>,
    /// Nodes aliases have copied so far.
    copied: usize,
}

impl Builder {
    pub fn new() -> Builder {
        Builder { anchors: HashMap::new(), stack: Vec::new(), root: None, copied: 0 }
    }

    pub fn event(&mut self, event: Event<'_>, at: Span) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let kind = match tag.as_deref() {
                    Some("!vault") => vault_value(&text, &at),
                    tag => resolve_scalar(&text, style, tag),
                };
                let node = Node { span: at, kind };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node, 1)?;
            }
            Event::Alias(id) => {
                let size = self.anchors.get(&id).map(|(_, size)| *size).ok_or_else(|| YamlError {
                    span: at.clone(),
                    message: "YAML alias refers to an unknown anchor".into(),
                })?;
                // Copies are simple and keep positions; a budget stops "billion laughs" files.
                self.spend(size, &at)?;
                let node = self.anchors[&id].0.clone();
                self.push(Node { span: at, kind: node.kind }, size)?;
            }
            Event::SequenceStart(anchor, _) => self.open(Kind::Seq(Vec::new()), anchor, at)?,
            Event::MappingStart(anchor, _) => self.open(Kind::Map(Vec::new()), anchor, at)?,
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return Ok(()) };
                let node = if matches!(frame.node.kind, Kind::Map(_)) { merge_keys(frame.node)? } else { frame.node };
                if frame.anchor > 0 {
                    // Keeping an anchored node is a copy too: nested anchors around a large
                    // node would otherwise copy it once per level.
                    self.spend(frame.size, &node.span)?;
                    self.anchors.insert(frame.anchor, (node.clone(), frame.size));
                }
                self.push(node, frame.size)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Count `size` copied nodes against the budget, before copying them.
    fn spend(&mut self, size: usize, at: &Span) -> Result<(), YamlError> {
        self.copied = self.copied.saturating_add(size);
        if self.copied <= MAX_YAML_ALIAS_NODES {
            return Ok(());
        }
        Err(YamlError {
            span: at.clone(),
            message: format!(
                "YAML aliases expand to more than {MAX_YAML_ALIAS_NODES} nodes; is this an alias bomb (\"billion laughs\")?"
            ),
        })
    }

    fn open(&mut self, kind: Kind, anchor: usize, at: Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_YAML_DEPTH {
            return Err(YamlError {
                span: at,
                message: format!("YAML nesting is deeper than {MAX_YAML_DEPTH} levels"),
            });
        }
        let node = Node { span: at, kind };
        self.stack.push(Frame { node, anchor, key: None, size: 1, index: HashMap::new() });
        Ok(())
    }

    fn push(&mut self, node: Node, size: usize) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        match &mut frame.node.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match frame.key.take() {
                None => frame.key = Some(node),
                Some(key) => {
                    let name = key.key_string();
                    match frame.index.get(&name) {
                        // Ansible warns and keeps the last value (at the first one's place, as a dict).
                        Some(&at) if name != "<<" => entries[at] = (key, node),
                        _ => {
                            frame.index.insert(name, entries.len());
                            entries.push((key, node));
                        }
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }
}

/// A `!vault` value, decrypted now; one that cannot be is an error only where it is used (as in
/// Ansible, where it stays encrypted until then): a template that fails with the reason.
fn vault_value(text: &str, at: &Span) -> Kind {
    match crate::vault::decrypt_inline(text) {
        Ok(plain) => Kind::Str(plain),
        Err(e) => Kind::Str(format!(
            "{{{{ {}({}) }}}}",
            crate::vault::FAILED_FN,
            super::jinja_string(&format!("{e} (the !vault value at {at})"))
        )),
    }
}

/// Apply `<<` merge keys: explicit keys win over merged ones.
fn merge_keys(mut node: Node) -> Result<Node, YamlError> {
    let Kind::Map(entries) = &mut node.kind else {
        return Ok(node);
    };
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return Ok(node);
    }
    let bad = |span: Span| YamlError { span, message: "a `<<` merge key needs a mapping or a list of mappings".into() };
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    let mut seen = HashSet::new();
    for (k, v) in std::mem::take(entries) {
        if !is_merge(&k) {
            own.push((k, v));
            continue;
        }
        let sources: Vec<Node> = match v.kind {
            Kind::Map(_) => vec![v],
            Kind::Seq(items) => items,
            _ => return Err(bad(v.span)),
        };
        for src in sources {
            let Kind::Map(src_entries) = src.kind else { return Err(bad(src.span)) };
            for (sk, sv) in src_entries {
                // Earlier sources win over later ones (YAML merge spec).
                if seen.insert(sk.key_string()) {
                    merged.push((sk, sv));
                }
            }
        }
    }
    let own_keys: HashSet<String> = own.iter().map(|(k, _)| k.key_string()).collect();
    own.extend(merged.into_iter().filter(|(k, _)| !own_keys.contains(&k.key_string())));
    *entries = own;
    Ok(node)
}

fn is_merge(k: &Node) -> bool {
    matches!(&k.kind, Kind::Str(s) if s == "<<")
}
