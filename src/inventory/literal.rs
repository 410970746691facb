//! INI inventory values: Ansible runs Python's `ast.literal_eval` on each value and keeps the
//! raw text when that fails. This is the subset of Python literals that matters: numbers,
//! strings (with prefixes, escapes, implicit concatenation), True/False/None, lists, tuples,
//! sets and dicts. Tuples and sets become lists, as Ansible stores them.

use crate::value::{to_text, Map, Value};

/// The value of an INI inventory value: a Python literal, or the text itself.
pub fn parse_value(text: &str) -> Value {
    let mut p = Parser { s: text.as_bytes(), src: text, i: 0 };
    match p.top() {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    /// A whole expression: possibly a bare tuple `1, 2`, then only blanks or a `# comment`.
    fn top(&mut self) -> Option<Value> {
        self.blanks(false);
        let first = self.expr(false)?;
        self.blanks(false);
        let value = if self.peek() == Some(b',') {
            let mut items = vec![first];
            while self.eat(b',') {
                self.blanks(false);
                if self.at_end() {
                    break;
                }
                items.push(self.expr(false)?);
                self.blanks(false);
            }
            Value::Array(items)
        } else {
            first
        };
        self.blanks(false);
        self.at_end().then_some(value)
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Skip spaces (and newlines inside brackets) and comments.
    fn blanks(&mut self, nested: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\x0c' => self.i += 1,
                b'\n' | b'\r' if nested => self.i += 1,
                b'\\' if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn expr(&mut self, nested: bool) -> Option<Value> {
        match self.peek()? {
            b'[' => self.seq(b']', nested).map(Value::Array),
            b'(' => {
                // `(x)` is x; `(x,)` and `()` are tuples.
                self.i += 1;
                self.blanks(true);
                if self.eat(b')') {
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.expr(true)?;
                self.blanks(true);
                if self.eat(b')') {
                    return Some(first);
                }
                if !self.eat(b',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.seq_rest(b')')?);
                Some(Value::Array(items))
            }
            b'{' => self.dict_or_set(),
            b'-' | b'+' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.blanks(nested);
                match self.number()? {
                    Value::Number(n) if neg => negate(&n),
                    v @ Value::Number(_) => Some(v),
                    _ => None,
                }
            }
            b'0'..=b'9' | b'.' => self.number(),
            b'"' | b'\'' => self.strings(),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    self.i += 1;
                }
                let word = &self.src[start..self.i];
                if matches!(self.peek(), Some(b'"' | b'\'')) && is_str_prefix(word) {
                    self.i = start;
                    return self.strings();
                }
                match word {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    "set" if self.src[self.i..].starts_with("()") => {
                        self.i += 2;
                        Some(Value::Array(Vec::new()))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn seq(&mut self, close: u8, _nested: bool) -> Option<Vec<Value>> {
        self.i += 1;
        self.seq_rest(close)
    }

    /// Items up to `close`, comma separated, trailing comma allowed.
    fn seq_rest(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.blanks(true);
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.expr(true)?);
            self.blanks(true);
            if !self.eat(b',') {
                self.blanks(true);
                return self.eat(close).then_some(items);
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        self.i += 1;
        self.blanks(true);
        if self.eat(b'}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr(true)?;
        self.blanks(true);
        if !self.eat(b':') {
            let mut items = vec![first];
            if self.eat(b',') {
                items.extend(self.seq_rest(b'}')?);
            } else if !self.eat(b'}') {
                return None;
            }
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            self.blanks(true);
            let value = self.expr(true)?;
            map.insert(key_text(&key)?, value);
            self.blanks(true);
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            if !self.eat(b',') {
                return None;
            }
            self.blanks(true);
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            key = self.expr(true)?;
            self.blanks(true);
            if !self.eat(b':') {
                return None;
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            let c = self.s[self.i];
            self.i += 1;
            // An exponent sign belongs to the number.
            if matches!(c, b'e' | b'E')
                && matches!(self.peek(), Some(b'+' | b'-'))
                && !self.src[start..].starts_with("0x")
            {
                self.i += 1;
            }
        }
        number_value(&self.src[start..self.i])
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        loop {
            out.push_str(&self.string()?);
            let save = self.i;
            self.blanks(false);
            let next_is_str = match self.peek() {
                Some(b'"' | b'\'') => true,
                Some(c) if c.is_ascii_alphabetic() => {
                    let word: String = self.src[self.i..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                    is_str_prefix(&word) && matches!(self.s.get(self.i + word.len()), Some(b'"' | b'\''))
                }
                _ => false,
            };
            if !next_is_str {
                self.i = save;
                return Some(Value::String(out));
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        let prefix = self.src[start..self.i].to_ascii_lowercase();
        if prefix.contains('f') {
            return None; // f-strings are not literals
        }
        let raw = prefix.contains('r');
        let quote = self.peek()?;
        let triple = self.s.get(self.i..self.i + 3) == Some(&[quote, quote, quote][..]);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        let rest = &self.src[self.i..];
        let mut chars = rest.char_indices().peekable();
        while let Some((off, c)) = chars.next() {
            if c == quote as char {
                if !triple {
                    self.i += off + 1;
                    return Some(out);
                }
                if rest[off..].starts_with(&(quote as char).to_string().repeat(3)) {
                    self.i += off + 3;
                    return Some(out);
                }
                out.push(c);
            } else if c == '\n' && !triple {
                return None;
            } else if c == '\\' {
                let (_, next) = chars.next()?;
                if raw {
                    out.push('\\');
                    out.push(next);
                    continue;
                }
                match next {
                    '\n' => {}
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0'..='7' => {
                        let mut n = next.to_digit(8)?;
                        for _ in 0..2 {
                            match chars.peek() {
                                Some((_, d)) if d.is_digit(8) => {
                                    n = n * 8 + d.to_digit(8)?;
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        out.push(char::from_u32(n)?);
                    }
                    'x' | 'u' | 'U' => {
                        let len = match next {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut n = 0u32;
                        for _ in 0..len {
                            n = n * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        out.push(char::from_u32(n)?);
                    }
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' | '\'' | '"' => out.push(next),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            } else {
                out.push(c);
            }
        }
        None
    }
}

fn is_str_prefix(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "r" | "u" | "b" | "br" | "rb")
}

fn negate(n: &serde_json::Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    serde_json::Number::from_f64(-n.as_f64()?).map(Value::Number)
}

/// Python numeric literal text → number; `None` for anything Python would reject.
fn number_value(text: &str) -> Option<Value> {
    if text.ends_with(['j', 'J']) {
        return None; // complex: Ansible stores str(value); rare enough to keep the text
    }
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let radix = |digits: &str, r: u32| -> Option<Value> {
        let d = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
        i64::from_str_radix(&d, r).ok().map(Value::from)
    };
    if let Some(d) = lower.strip_prefix("0x") {
        return radix(d, 16);
    }
    if let Some(d) = lower.strip_prefix("0o") {
        return radix(d, 8);
    }
    if let Some(d) = lower.strip_prefix("0b") {
        return radix(d, 2);
    }
    let plain = lower.replace('_', "");
    if plain.bytes().all(|b| b.is_ascii_digit()) {
        // Python 3 rejects leading zeros (`0644`) except for zero itself.
        if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
            return None;
        }
        return plain.parse::<i64>().ok().map(Value::from);
    }
    let valid = plain.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
    if !valid || !plain.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// Dict keys must be text in our data model; Python's `str()` of the key.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::Array(_) | Value::Object(_) => None,
        Value::Null => Some("None".into()),
        other => Some(to_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_follow_python() {
        assert_eq!(parse_value("1"), json!(1));
        assert_eq!(parse_value("-1.5"), json!(-1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value(".5"), json!(0.5));
        assert_eq!(parse_value("0x1F"), json!(31));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), Value::Null);
        assert_eq!(parse_value("1 # comment"), json!(1));
    }

    #[test]
    fn non_literals_stay_text() {
        assert_eq!(parse_value("yes"), json!("yes"));
        assert_eq!(parse_value("0644"), json!("0644"));
        assert_eq!(parse_value("hello world"), json!("hello world"));
        assert_eq!(parse_value("{a:1}"), json!("{a:1}"));
        assert_eq!(parse_value("--1"), json!("--1"));
        assert_eq!(parse_value(""), json!(""));
        assert_eq!(parse_value("true"), json!("true"));
        assert_eq!(parse_value("10.0.0.1"), json!("10.0.0.1"));
        assert_eq!(parse_value("'unclosed"), json!("'unclosed"));
    }

    #[test]
    fn strings_and_containers() {
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value(r#""a" 'b'"#), json!("ab"));
        assert_eq!(parse_value(r#""\x41\u00e9\q""#), json!("Aé\\q"));
        assert_eq!(parse_value(r#"r"\n""#), json!("\\n"));
        assert_eq!(parse_value("[1, 'two', [3]]"), json!([1, "two", [3]]));
        assert_eq!(parse_value("(1,)"), json!([1]));
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(parse_value("1,2"), json!([1, 2]));
        assert_eq!(parse_value("{'a': 1, 2: [True]}"), json!({"a": 1, "2": [true]}));
        assert_eq!(parse_value("{1, 2}"), json!([1, 2]));
    }
}
