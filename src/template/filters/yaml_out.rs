//! YAML text the way PyYAML's emitter writes it (Ansible's `to_yaml`/`to_nice_yaml`).
//!
//! Users diff and template this output into files, so the layout follows PyYAML closely:
//! sorted keys, indentless lists under keys, `-   key:` items at indent 4, quoting only
//! where a plain scalar would read back as something else, folding at `width` columns.
//! The structure mirrors PyYAML's `Emitter` so the two can be compared line by line.

use std::sync::LazyLock;

use regex::Regex;

use crate::value::pyrepr::py_float;
use crate::value::Value;

/// Options of `yaml.dump` that Ansible users pass.
#[derive(Debug, Clone, Copy)]
pub struct YamlStyle {
    pub indent: usize,
    pub width: usize,
    pub sort_keys: bool,
    /// `default_flow_style`: `None` writes collections of scalars inline (`[1, 2]`).
    pub flow: Option<bool>,
}

impl YamlStyle {
    /// `to_yaml`'s defaults.
    pub const TERSE: YamlStyle = YamlStyle { indent: 2, width: 80, sort_keys: true, flow: None };
    /// `to_nice_yaml`'s defaults.
    pub const NICE: YamlStyle = YamlStyle { indent: 4, width: 80, sort_keys: true, flow: Some(false) };
}

pub fn dump(v: &Value, style: YamlStyle) -> String {
    let mut e = Emitter {
        out: String::new(),
        indent: None,
        indents: Vec::new(),
        column: 0,
        whitespace: true,
        indention: true,
        flow_level: 0,
        style: YamlStyle { indent: style.indent.clamp(2, 9), width: style.width.max(style.indent * 2), ..style },
    };
    e.node(v, Ctx::default());
    e.write_indent();
    e.out
}

/// A document that is one string, with `yaml.dump`'s `default_style` (`|`, `'`, `"`) or
/// `canonical=True`; `None` for a style troupe does not write (yet).
pub fn dump_styled_string(
    text: &str,
    default_style: Option<&str>,
    canonical: bool,
    style: YamlStyle,
) -> Option<String> {
    let mut e = Emitter {
        out: String::new(),
        indent: None,
        indents: Vec::new(),
        column: 0,
        whitespace: true,
        indention: true,
        flow_level: 0,
        style,
    };
    if canonical {
        if default_style.is_some() {
            return None;
        }
        e.write("---");
        e.write_line_break();
        e.write_indicator("!!str", true, false, false);
        e.write_double_quoted(text, true);
        e.write_indent();
        return Some(e.out);
    }
    match default_style? {
        "\"" => e.write_double_quoted(text, true),
        "'" if analyze(text).allow_single_quoted => e.write_single_quoted(text, true),
        // A literal block of single-line text: `|-`, then the text indented.
        "|" if !text.is_empty() && !text.contains(['\n', '\r']) && !text.starts_with(' ') && !text.ends_with(' ') => {
            let pad = " ".repeat(style.indent.clamp(2, 9));
            return Some(format!("|-\n{pad}{text}\n"));
        }
        _ => return None,
    }
    e.write_indent();
    Some(e.out)
}

#[derive(Default, Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

enum Style {
    Plain,
    Single,
    Double,
}

struct Emitter {
    out: String,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    column: usize,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    style: YamlStyle,
}

impl Emitter {
    fn node(&mut self, v: &Value, ctx: Ctx) {
        match v {
            Value::Array(items) => {
                if self.flow_level > 0 || items.is_empty() || self.flow_style(v) {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items, ctx);
                }
            }
            Value::Object(_) => {
                let entries = self.entries(v);
                if self.flow_level > 0 || entries.is_empty() || self.flow_style(v) {
                    self.flow_mapping(&entries);
                } else {
                    self.block_mapping(&entries);
                }
            }
            Value::String(s) => self.scalar(s, true, ctx),
            other => self.scalar(&scalar_text(other), false, ctx),
        }
    }

    fn entries<'a>(&self, v: &'a Value) -> Vec<(&'a String, &'a Value)> {
        let mut entries: Vec<(&String, &Value)> = match v {
            Value::Object(m) => m.iter().collect(),
            _ => Vec::new(),
        };
        if self.style.sort_keys {
            entries.sort_by(|a, b| a.0.cmp(b.0));
        }
        entries
    }

    /// PyYAML's representer: with `default_flow_style=None`, a collection goes inline when
    /// all its items are scalars.
    fn flow_style(&self, v: &Value) -> bool {
        match self.style.flow {
            Some(flow) => flow,
            None => {
                let is_scalar = |x: &Value| !matches!(x, Value::Array(_) | Value::Object(_));
                match v {
                    Value::Array(items) => items.iter().all(is_scalar),
                    Value::Object(m) => m.values().all(is_scalar),
                    _ => true,
                }
            }
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { self.style.indent } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + self.style.indent),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Ctx) {
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Ctx::default());
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.increase_indent(false, false);
        for (k, v) in entries {
            self.write_indent();
            self.scalar(k, true, Ctx { mapping: true, simple_key: true });
            self.write_indicator(":", false, false, false);
            self.node(v, Ctx { mapping: true, simple_key: false });
        }
        self.pop_indent();
    }

    fn flow_sequence(&mut self, items: &[Value]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.style.width {
                self.write_indent();
            }
            self.node(item, Ctx::default());
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.style.width {
                self.write_indent();
            }
            self.scalar(k, true, Ctx { mapping: true, simple_key: true });
            self.write_indicator(":", false, false, false);
            self.node(v, Ctx { mapping: true, simple_key: false });
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    fn scalar(&mut self, text: &str, is_str: bool, ctx: Ctx) {
        self.increase_indent(true, false);
        let split = !ctx.simple_key;
        match if is_str { self.choose_style(text, ctx) } else { Style::Plain } {
            Style::Plain => self.write_plain(text, split),
            Style::Single => self.write_single_quoted(text, split),
            Style::Double => self.write_double_quoted(text, split),
        }
        self.pop_indent();
    }

    fn choose_style(&self, text: &str, ctx: Ctx) -> Style {
        let a = analyze(text);
        let implicit = !resolves_to_non_string(text);
        let plain_ok = if self.flow_level > 0 { a.allow_flow_plain } else { a.allow_block_plain };
        if implicit && !(ctx.simple_key && (a.empty || a.multiline)) && plain_ok {
            return Style::Plain;
        }
        if a.allow_single_quoted && !(ctx.simple_key && a.multiline) {
            return Style::Single;
        }
        Style::Double
    }

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_indicator(&mut self, ind: &str, need_whitespace: bool, whitespace: bool, indention: bool) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(ind);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn write_line_break(&mut self) {
        self.out.push('\n');
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
    }

    fn write_chars(&mut self, chars: &[char]) {
        let s: String = chars.iter().collect();
        self.write(&s);
    }

    fn write_plain(&mut self, text: &str, split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut start, mut end) = (false, 0, 0);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.style.width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&chars[start..end]);
                    }
                    start = end;
                }
            } else if ch.map_or(true, |c| c == ' ' || is_break(c)) {
                self.write_chars(&chars[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let (mut spaces, mut breaks, mut start, mut end) = (false, false, 0, 0);
        while end <= n {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.style.width && split && start != 0 && end != n {
                        self.write_indent();
                    } else {
                        self.write_chars(&chars[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.map_or(true, |c| !is_break(c)) {
                    if chars[start] == '\n' {
                        self.write_line_break();
                    }
                    for _ in start..end {
                        self.write_line_break();
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.map_or(true, |c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_chars(&chars[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    /// libyaml's double-quoted writer (Ansible's dumper is the C one): escapes, and folds
    /// at a single space past `width` (a line break reads back as that space).
    fn write_double_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if matches!(c, '"' | '\\' | '\u{feff}') || is_break(c) || !printable(c) {
                let data = match c {
                    '\0' => "\\0".to_string(),
                    '\u{07}' => "\\a".into(),
                    '\u{08}' => "\\b".into(),
                    '\t' => "\\t".into(),
                    '\n' => "\\n".into(),
                    '\u{0b}' => "\\v".into(),
                    '\u{0c}' => "\\f".into(),
                    '\r' => "\\r".into(),
                    '\u{1b}' => "\\e".into(),
                    '"' => "\\\"".into(),
                    '\\' => "\\\\".into(),
                    '\u{85}' => "\\N".into(),
                    '\u{a0}' => "\\_".into(),
                    '\u{2028}' => "\\L".into(),
                    '\u{2029}' => "\\P".into(),
                    c if (c as u32) <= 0xff => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xffff => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.write(&data);
                spaces = false;
            } else if c == ' ' {
                if split && !spaces && self.column > self.style.width && i != 0 && i + 1 != n {
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    if chars.get(i + 1) == Some(&' ') {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                spaces = true;
            } else {
                self.write(&c.to_string());
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Printable for PyYAML with `allow_unicode=True` (as Ansible's dumper is used).
fn printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.is_nan() => ".nan".into(),
            (_, _, Some(f)) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
            (_, _, Some(f)) => {
                let r = py_float(f).to_lowercase();
                if !r.contains('.') && r.contains('e') {
                    r.replacen('e', ".0e", 1)
                } else {
                    r
                }
            }
            _ => n.to_string(),
        },
        _ => String::new(),
    }
}

/// Would a plain scalar with this text load back as something other than a string
/// (PyYAML's YAML 1.1 implicit resolvers)?
fn resolves_to_non_string(text: &str) -> bool {
    static RESOLVERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        [
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            r"^(?:<<)$",
            r"^(?:~|null|Null|NULL|)$",
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            r"^(?:=)$",
        ]
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
    });
    RESOLVERS.iter().any(|r| r.is_match(text))
}

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

/// PyYAML's `analyze_scalar`: which styles can carry this text unchanged.
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let ws = |c: char| matches!(c, '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let (mut block_ind, mut flow_ind) = (false, false);
    if text.starts_with("---") || text.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut followed_by_ws = n == 1 || ws(chars[1]);
    for (i, &ch) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_ind = true;
                block_ind = true;
            }
            if ch == '?' || ch == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if ch == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_ind = true;
            }
            if ch == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if ch == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || ('\u{20}'..='\u{7e}').contains(&ch) || printable(ch) || ch == '\u{85}') {
            special = true;
        }
        if ch == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == n - 1;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            leading_break |= i == 0;
            trailing_break |= i == n - 1;
            space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = ws(ch);
        followed_by_ws = i + 2 >= n || ws(chars[i + 2]);
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if break_space || space_break || special {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if flow_ind {
        a.allow_flow_plain = false;
    }
    if block_ind {
        a.allow_block_plain = false;
    }
    a
}

#[cfg(test)]
#[path = "yaml_out_tests.rs"]
mod tests;
