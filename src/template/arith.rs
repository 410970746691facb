//! Arithmetic that Python refuses and minijinja quietly computes: `x / 0` is infinity there
//! (so `when: used / total > 0.5` is true) where Ansible fails with "division by zero", and a
//! literal such as `1e400` is infinity where Ansible fails ("name 'inf' is not defined").
//!
//! The source is rewritten before compiling (as `undefined` does): the divisor of every `/`
//! and `//` is wrapped in a call that fails on zero, `a / b|int` → `a / __troupe_divisor(b|int, '/')`.
//! The divisor's extent follows minijinja's grammar: unary minus, a primary, its postfix
//! (`.x`, `[i]`, `(args)`), filters, and `**` chains; everything looser binds outside.

use std::borrow::Cow;

use minijinja::machinery::{tokenize, Span, Token};
use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// The name of the divisor check, registered in the environment.
pub const DIVISOR_FN: &str = "__troupe_divisor";

/// `source` with its divisors checked, or why the source is refused.
pub fn check_arithmetic(source: &str, expr: bool) -> Result<Cow<'_, str>, String> {
    if !source.contains('/') && !has_exponent(source) {
        return Ok(Cow::Borrowed(source));
    }
    // Text that does not lex is left alone: compiling it reports the error.
    let Ok(tokens) =
        tokenize(source, expr, Default::default(), Default::default()).collect::<Result<Vec<(Token, Span)>, _>>()
    else {
        return Ok(Cow::Borrowed(source));
    };
    let mut edits: Vec<(usize, String)> = Vec::new();
    for (i, (token, _)) in tokens.iter().enumerate() {
        let op = match token {
            Token::Float(f) if !f.is_finite() => {
                return Err(format!("the number in \"{source}\" is too large for a float (Ansible: 'inf')"))
            }
            Token::Div => "/",
            Token::FloorDiv => "//",
            _ => continue,
        };
        let Some(last) = operand_end(&tokens, i + 1) else { continue };
        edits.push((start(&tokens[i + 1].1), format!("{DIVISOR_FN}(")));
        edits.push((end(&tokens[last].1), format!(", '{op}')")));
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(source));
    }
    // Stable: at one offset, a closing `)` of an inner divisor comes before an opening call.
    edits.sort_by_key(|(at, text)| (*at, !text.starts_with(',')));
    let mut out = String::with_capacity(source.len() + edits.len() * 24);
    let mut pos = 0;
    for (at, text) in edits {
        out.push_str(&source[pos..at]);
        out.push_str(&text);
        pos = at;
    }
    out.push_str(&source[pos..]);
    Ok(Cow::Owned(out))
}

/// The divisor check: the value itself, or Python's error for a zero.
pub fn divisor(value: Value, op: &str) -> Result<Value, Error> {
    let (zero, is_float) = match value.kind() {
        ValueKind::Bool => (!value.is_true(), false),
        // minijinja shows a float with a dot or an exponent (`0.0`), an integer without.
        ValueKind::Number => {
            (f64::try_from(value.clone()).is_ok_and(|f| f == 0.0), value.to_string().contains(['.', 'e']))
        }
        _ => (false, false),
    };
    if !zero {
        return Ok(value);
    }
    let message = match (op, is_float) {
        ("//", true) => "float floor division by zero",
        ("//", false) => "integer division or modulo by zero",
        (_, true) => "float division by zero",
        (_, false) => "division by zero",
    };
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

fn start(s: &Span) -> usize {
    s.start_offset as usize
}

fn end(s: &Span) -> usize {
    s.end_offset as usize
}

/// A digit followed by `e`/`E`: a float literal with an exponent may be infinite.
fn has_exponent(source: &str) -> bool {
    source.as_bytes().windows(2).any(|w| w[0].is_ascii_digit() && (w[1] | 0x20) == b'e')
}

/// The index of the last token of the operand starting at `i` (a `**` chain of unary terms).
fn operand_end(tokens: &[(Token, Span)], i: usize) -> Option<usize> {
    let mut last = unary_end(tokens, i)?;
    while matches!(tokens.get(last + 1), Some((Token::Pow, _))) {
        last = unary_end(tokens, last + 2)?;
    }
    Some(last)
}

/// `-`* primary postfix* filter*.
fn unary_end(tokens: &[(Token, Span)], mut i: usize) -> Option<usize> {
    while matches!(tokens.get(i), Some((Token::Minus | Token::Plus, _))) {
        i += 1;
    }
    let mut last = match tokens.get(i)? {
        (Token::ParenOpen | Token::BracketOpen | Token::BraceOpen, _) => closing(tokens, i)?,
        (Token::Str(_) | Token::String(_), _) => {
            // Adjacent strings are one literal.
            let mut k = i;
            while matches!(tokens.get(k + 1), Some((Token::Str(_) | Token::String(_), _))) {
                k += 1;
            }
            k
        }
        (Token::Ident(_) | Token::Int(_) | Token::Int128(_) | Token::Float(_), _) => i,
        _ => return None,
    };
    loop {
        match (tokens.get(last + 1), tokens.get(last + 2)) {
            (Some((Token::Dot, _)), Some((Token::Ident(_) | Token::Int(_), _))) => last += 2,
            (Some((Token::BracketOpen | Token::ParenOpen, _)), _) => last = closing(tokens, last + 1)?,
            (Some((Token::Pipe, _)), Some((Token::Ident(_), _))) => {
                last += 2;
                while let (Some((Token::Dot, _)), Some((Token::Ident(_), _))) =
                    (tokens.get(last + 1), tokens.get(last + 2))
                {
                    last += 2;
                }
                if matches!(tokens.get(last + 1), Some((Token::ParenOpen, _))) {
                    last = closing(tokens, last + 1)?;
                }
            }
            _ => return Some(last),
        }
    }
}

/// The index of the bracket closing the one at `open`.
fn closing(tokens: &[(Token, Span)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => depth += 1,
            Token::ParenClose | Token::BracketClose | Token::BraceClose => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            Token::VariableEnd | Token::BlockEnd => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        check_arithmetic(s, true).unwrap().into_owned()
    }

    #[test]
    fn divisors_are_wrapped_with_their_whole_operand() {
        assert_eq!(t("a / b"), "a / __troupe_divisor(b, '/')");
        assert_eq!(t("a // b.c[0] | int > 1"), "a // __troupe_divisor(b.c[0] | int, '//') > 1");
        assert_eq!(t("(a + 1) / -f(x) ** 2 + 3"), "(a + 1) / __troupe_divisor(-f(x) ** 2, '/') + 3");
        assert_eq!(t("a / (b / c)"), "a / __troupe_divisor((b / __troupe_divisor(c, '/')), '/')");
        assert_eq!(
            check_arithmetic("x {{ a / b }} y / z", false).unwrap(),
            "x {{ a / __troupe_divisor(b, '/') }} y / z"
        );
    }

    #[test]
    fn text_without_division_is_untouched() {
        assert!(matches!(check_arithmetic("a * b", true), Ok(Cow::Borrowed(_))));
        assert!(matches!(check_arithmetic("'a/b' ~ c", true), Ok(Cow::Borrowed(_))));
        assert_eq!(t("1e3 > 2"), "1e3 > 2");
    }

    #[test]
    fn infinite_literals_are_refused() {
        assert!(check_arithmetic("1e400", true).unwrap_err().contains("too large"));
        assert!(check_arithmetic("{{ x > 1E999 }}", false).is_err());
    }

    #[test]
    fn zero_divisors_fail_as_python() {
        let msg = |v: Value, op| divisor(v, op).unwrap_err().detail().unwrap_or_default().to_string();
        assert_eq!(msg(Value::from(0), "/"), "division by zero");
        assert_eq!(msg(Value::from(0.0), "/"), "float division by zero");
        assert_eq!(msg(Value::from(0), "//"), "integer division or modulo by zero");
        assert_eq!(msg(Value::from(false), "/"), "division by zero");
        assert_eq!(divisor(Value::from(2), "/").unwrap(), Value::from(2));
        assert_eq!(divisor(Value::from("0"), "/").unwrap(), Value::from("0"));
    }
}
