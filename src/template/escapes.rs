//! Ansible's `escape_backslashes`: in a template taken from YAML (task args, variables), the
//! string constants inside `{{ }}` keep their backslashes as written, so that YAML's `"\\1"`
//! reaches `regex_replace` as `\1` and not as Jinja's escape `\x01`. Statements (`{% %}`),
//! conditionals (`when`, `that`) and template files are not affected, as in ansible-core 2.19.

use std::borrow::Cow;

use minijinja::machinery::{tokenize, Token};

/// `source` (a template, or a bare expression when `expr`) with the backslashes of its
/// expression string constants doubled, so Jinja's unescaping gives them back as written.
pub fn escape_backslashes(source: &str, expr: bool) -> Cow<'_, str> {
    if !source.contains('\\') {
        return Cow::Borrowed(source);
    }
    let mut spans = Vec::new();
    let mut in_variable = expr;
    for token in tokenize(source, expr, Default::default(), Default::default()) {
        // A template that does not lex is left alone: compiling it reports the error.
        let Ok((token, span)) = token else { return Cow::Borrowed(source) };
        match token {
            Token::VariableStart => in_variable = true,
            Token::VariableEnd => in_variable = false,
            Token::String(_) if in_variable => spans.push((span.start_offset as usize, span.end_offset as usize)),
            _ => {}
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 8);
    let mut pos = 0;
    for (start, end) in spans {
        out.push_str(&source[pos..start]);
        let literal = &source[start..end];
        let quote = &literal[..1];
        out.push_str(quote);
        // The lexer pairs a backslash with the next character: keep both, written escaped.
        let mut chars = literal[1..literal.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            out.push_str("\\\\");
            match chars.next() {
                Some('\\') => out.push_str("\\\\"),
                Some(q) if q.to_string() == quote => {
                    out.push('\\');
                    out.push(q);
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out.push_str(quote);
        pos = end;
    }
    out.push_str(&source[pos..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_backslashes;

    #[test]
    fn expression_strings_keep_their_backslashes() {
        assert_eq!(
            escape_backslashes(r"{{ x | regex_replace('a', '\1') }}", false),
            r"{{ x | regex_replace('a', '\\1') }}"
        );
        assert_eq!(escape_backslashes(r"'\n' ~ 'a\'b'", true), r"'\\n' ~ 'a\\\'b'");
        // Statements and text outside expressions are left as they are.
        for s in [r"{% set a = '\n' %}{{ a }}", r"a\1 {{ 'x' }}", "{{ 'plain' }}"] {
            assert_eq!(escape_backslashes(s, false), s);
        }
    }

    #[test]
    fn rendered_as_ansible_renders_them() {
        let env = minijinja::Environment::new();
        let src = escape_backslashes(r"{{ '\2' | length }} {{ 'x\n' | length }} {{ 'a\'b' }}", false);
        assert_eq!(env.render_str(&src, ()).unwrap_or_else(|e| panic!("{e}")), r"2 3 a\'b");
    }
}
