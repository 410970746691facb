//! Ansible's chained undefined: `a.b | default('x')` and `a.b is defined` work when `a` itself
//! is undefined, while printing or otherwise using `a.b` still fails.
//!
//! minijinja's strict mode errors on any attribute of an undefined value, and its chainable
//! mode also stops failing on use (printing, comparing, `if`), so neither matches Ansible.
//! Instead the source is rewritten before compiling: a lookup chain directly under
//! `default`/`d` or `is [not] defined|undefined` is guarded so that it is undefined when a
//! parent is:
//!
//! ```text
//! a.b['c'] | default(1)  →  (a.b['c'] if (a is defined and a.b is defined)) | default(1)
//! ```
//!
//! An `if` without `else` yields minijinja's silent undefined, which `default` and `defined`
//! see as undefined; everything else stays strict. The lexer comes from minijinja's
//! `unstable_machinery` (pinned by Cargo.lock), so strings, comments and raw blocks are never
//! touched.

use std::borrow::Cow;

use minijinja::machinery::{tokenize, Span, Token};

/// Names that start no variable lookup.
const KEYWORDS: &[&str] =
    &["not", "and", "or", "is", "in", "if", "else", "true", "false", "none", "True", "False", "None"];

/// A chain to guard: its byte range and where each proper prefix of it ends.
struct Guard {
    start: usize,
    end: usize,
    prefix_ends: Vec<usize>,
}

/// `source` (a template, or a bare expression when `expr`) with its defaulted chains guarded.
pub fn guard_chains(source: &str, expr: bool) -> Cow<'_, str> {
    if !(source.contains("default") || source.contains("defined") || source.contains("d(")) {
        return Cow::Borrowed(source);
    }
    // A template that does not lex is left alone: compiling it reports the error.
    let Ok(tokens) =
        tokenize(source, expr, Default::default(), Default::default()).collect::<Result<Vec<(Token, Span)>, _>>()
    else {
        return Cow::Borrowed(source);
    };
    let guards = find_guards(&tokens);
    if guards.is_empty() {
        return Cow::Borrowed(source);
    }
    Cow::Owned(emit(source, &guards, 0, source.len(), None))
}

fn start(s: &Span) -> usize {
    s.start_offset as usize
}

fn end(s: &Span) -> usize {
    s.end_offset as usize
}

fn ident<'a>(t: Option<&'a (Token<'a>, Span)>) -> Option<&'a str> {
    match t {
        Some((Token::Ident(name), _)) => Some(name),
        _ => None,
    }
}

fn find_guards(tokens: &[(Token, Span)]) -> Vec<Guard> {
    let mut guards = Vec::new();
    for i in 0..tokens.len() {
        let prev = i.checked_sub(1).and_then(|p| tokens.get(p));
        // A parenthesized root: `(x | extract(c)).y | default(...)` (not a call's arguments).
        let paren_root = matches!(tokens.get(i), Some((Token::ParenOpen, _)))
            && !matches!(prev, Some((Token::Ident(_) | Token::ParenClose | Token::BracketClose, _)));
        let mut j = if paren_root {
            match closing_paren(tokens, i) {
                Some(k) => k + 1,
                None => continue,
            }
        } else {
            let Some(name) = ident(tokens.get(i)) else { continue };
            let before_prev = i.checked_sub(2).and_then(|p| tokens.get(p));
            // An attribute, a filter name or a test name is not the root of a chain.
            let not_root = KEYWORDS.contains(&name)
                || matches!(prev, Some((Token::Dot | Token::Pipe, _)))
                || ident(prev) == Some("is")
                || (ident(prev) == Some("not") && ident(before_prev) == Some("is"));
            if not_root {
                continue;
            }
            i + 1
        };
        let mut prefix_ends = vec![end(&tokens[j - 1].1)];
        loop {
            match (tokens.get(j), tokens.get(j + 1)) {
                (Some((Token::Dot, _)), Some((Token::Ident(_) | Token::Int(_), s))) => {
                    prefix_ends.push(end(s));
                    j += 2;
                }
                (Some((Token::BracketOpen, _)), _) => match closing_bracket(tokens, j) {
                    Some(k) => {
                        prefix_ends.push(end(&tokens[k].1));
                        j = k + 1;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        let Some(chain_end) = prefix_ends.pop() else { continue };
        if prefix_ends.is_empty() || !defaulted(tokens, j) {
            continue;
        }
        guards.push(Guard { start: start(&tokens[i].1), end: chain_end, prefix_ends });
    }
    guards
}

/// The index of the `)` closing the `(` at `open`.
fn closing_paren(tokens: &[(Token, Span)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::ParenOpen => depth += 1,
            Token::ParenClose => {
                depth -= 1;
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

/// The index of the `]` closing the `[` at `open`.
fn closing_bracket(tokens: &[(Token, Span)], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, (t, _)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::BracketOpen => depth += 1,
            Token::BracketClose => {
                depth -= 1;
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

/// Is the value at `j` taken by `| default`, `| d`, `is [not] defined` or `is [not] undefined`?
fn defaulted(tokens: &[(Token, Span)], j: usize) -> bool {
    let at = |k: usize| ident(tokens.get(k));
    match tokens.get(j) {
        Some((Token::Pipe, _)) => matches!(at(j + 1), Some("default" | "d")),
        Some((Token::Ident("is"), _)) => {
            let test = if at(j + 1) == Some("not") { at(j + 2) } else { at(j + 1) };
            matches!(test, Some("defined" | "undefined"))
        }
        _ => false,
    }
}

/// The text of `lo..hi` with every guard inside it rewritten (guards nest inside brackets);
/// `own` is the guard whose chain this is, not to be rewritten again.
fn emit(source: &str, guards: &[Guard], lo: usize, hi: usize, own: Option<usize>) -> String {
    let mut out = String::new();
    let mut pos = lo;
    for g in guards {
        if g.start < pos || g.end > hi || own == Some(g.start) {
            continue;
        }
        out.push_str(&source[pos..g.start]);
        let chain = |e: usize| emit(source, guards, g.start, e, Some(g.start));
        let checks: Vec<String> = g.prefix_ends.iter().map(|&e| format!("{} is defined", chain(e))).collect();
        out.push_str(&format!("({} if ({}))", chain(g.end), checks.join(" and ")));
        pos = g.end;
    }
    out.push_str(&source[pos..hi]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        guard_chains(s, false).into_owned()
    }

    #[test]
    fn defaulted_chains_are_guarded() {
        assert_eq!(t("{{ a.b | default('x') }}"), "{{ (a.b if (a is defined)) | default('x') }}");
        assert_eq!(
            t("{{ a.b['c'].d|d(1) }}"),
            "{{ (a.b['c'].d if (a is defined and a.b is defined and a.b['c'] is defined))|d(1) }}"
        );
        assert_eq!(
            t("{% if a.b is not defined %}x{% endif %}"),
            "{% if (a.b if (a is defined)) is not defined %}x{% endif %}"
        );
        assert_eq!(guard_chains("a.b is undefined", true), "(a.b if (a is defined)) is undefined");
        assert_eq!(guard_chains("not a.b is defined", true), "not (a.b if (a is defined)) is defined");
        assert_eq!(
            guard_chains("('k' | extract(c)).x | default('a')", true),
            "(('k' | extract(c)).x if (('k' | extract(c)) is defined)) | default('a')"
        );
        assert_eq!(guard_chains("f(a).b | default(1)", true), "f(a).b | default(1)");
    }

    #[test]
    fn nested_chains_inside_brackets() {
        assert_eq!(
            t("{{ h[x.y | default('k')].z | default(0) }}"),
            "{{ (h[(x.y if (x is defined)) | default('k')].z if (h is defined and h[(x.y if (x is defined)) | default('k')] is defined)) | default(0) }}"
        );
    }

    #[test]
    fn everything_else_is_left_alone() {
        for s in [
            "{{ a.b }}",
            "{{ a | default('x') }}",
            "{{ a.b | upper | default('x') }}",
            "{{ f(a).b | default(1) }}",
            "{{ a.b() | default(1) }}",
            "{{ 'a.b | default(1)' }}",
            "a.b | default(1) in text",
            "{# a.b | default(1) #}",
            "{% raw %}{{ a.b | default(1) }}{% endraw %}",
            "{{ x | default(a.b) }}",
        ] {
            assert_eq!(t(s), s, "{s}");
        }
    }
}
