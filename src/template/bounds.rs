//! Size bounds on what one expression may build. Python raises MemoryError and Ansible fails
//! the task; in Rust a failed allocation aborts the whole run, so the sizes that a small
//! expression can blow up (`indent(10**10)`, `'{:>1000000000}'.format(1)`, `[1] * 10**9`
//! printed or converted) are checked before anything is allocated.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State, Value};

use super::filters::convert::fail;
use crate::limits::{MAX_INDENT, MAX_ITEMS, MAX_TEXT};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("indent", indent);
    env.set_unknown_method_callback(method);
    // Every `{{ }}` in text goes through here: a huge lazy list must not be written out.
    env.set_formatter(|out: &mut Output, state: &State, value: &Value| {
        check_items(value)?;
        // Text around an expression makes it a Python string: lists and mappings print as
        // Python's repr (`['a']`), and None as nothing, as Ansible 2.19 renders them.
        match value.kind() {
            ValueKind::None => return Ok(()),
            ValueKind::Seq | ValueKind::Map => {
                if let Ok(data) = serde_json::to_value(value) {
                    return out.write_str(&crate::value::pyrepr::py_str(&data)).map_err(Error::from);
                }
            }
            _ => {}
        }
        minijinja::escape_formatter(out, state, value)
    });
}

/// Fails when a list or mapping (at any depth) holds more than `MAX_ITEMS` items; lazy ones
/// (`[1] * 10**9`) report their length without being built, so this is cheap.
pub fn check_items(v: &Value) -> Result<(), Error> {
    let mut budget = MAX_ITEMS;
    count(v, &mut budget)
}

fn count(v: &Value, budget: &mut usize) -> Result<(), Error> {
    if !matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable) {
        return Ok(());
    }
    let len = v.len().unwrap_or(0);
    *budget = budget.checked_sub(len).ok_or_else(|| too_many_items(len))?;
    if let Ok(items) = v.try_iter() {
        for item in items {
            let child = if v.kind() == ValueKind::Map { v.get_item(&item).unwrap_or_default() } else { item };
            count(&child, budget)?;
        }
    }
    Ok(())
}

fn too_many_items(len: usize) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("the value holds more than {MAX_ITEMS} items ({len} in one list); Python would run out of memory"),
    )
}

/// An `indent=` or width argument, bounded.
pub fn indent_width(name: &str, width: usize) -> Result<usize, Error> {
    if width > MAX_INDENT {
        return Err(fail(name, format!("an indent of {width} is too large (at most {MAX_INDENT})")));
    }
    Ok(width)
}

/// Jinja's `indent` (width or a string to indent with), with the output size checked first.
fn indent(
    value: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let width = match width {
        Some(w) => Some(w),
        None => kwargs.get::<Option<Value>>("width")?,
    };
    let first = first.or(kwargs.get::<Option<bool>>("first")?).unwrap_or(false);
    let blank = blank.or(kwargs.get::<Option<bool>>("blank")?).unwrap_or(false);
    kwargs.assert_all_used()?;
    let with = match &width {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        Some(w) => {
            let n = usize::try_from(w.clone()).map_err(|_| fail("indent", format!("bad width {w}")))?;
            let lines = value.to_string().matches('\n').count() + 1;
            if n.saturating_mul(lines) > MAX_TEXT {
                return Err(fail("indent", format!("an indent of {n} on {lines} lines is too large")));
            }
            " ".repeat(n)
        }
        None => "    ".to_string(),
    };
    let text = value.to_string();
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if with.len().saturating_mul(text.matches('\n').count() + 1) > MAX_TEXT {
        return Err(fail("indent", "the indented text is too large"));
    }
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if (i > 0 || first) && (blank || !line.is_empty()) {
            out.push_str(&with);
        }
        out.push_str(line);
    }
    Ok(Value::from(out))
}

/// Python's string and dict methods (minijinja-contrib), with `str.format` widths bounded.
fn method(state: &State, value: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    if name == "format" {
        if let Some(text) = value.as_str() {
            check_format_widths(text)?;
        }
    }
    if let (ValueKind::Seq, "index", [wanted]) = (value.kind(), name, args) {
        return list_index(value, wanted);
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, name, args)
}

/// Python's `list.index(x)`: the first position of `x`, an error when it is not there.
fn list_index(list: &Value, wanted: &Value) -> Result<Value, Error> {
    let items = list.try_iter()?;
    for (i, item) in items.enumerate() {
        if &item == wanted {
            return Ok(Value::from(i));
        }
    }
    Err(Error::new(ErrorKind::InvalidOperation, format!("ValueError: {wanted} is not in list")))
}

/// The widths and precisions in `{:>100}`-style fields must stay within `MAX_TEXT`.
fn check_format_widths(text: &str) -> Result<(), Error> {
    for field in text.split('{').skip(1) {
        let Some(spec) = field.split('}').next().and_then(|f| f.split_once(':')).map(|(_, s)| s) else {
            continue;
        };
        for digits in spec.split(|c: char| !c.is_ascii_digit()).filter(|d| !d.is_empty()) {
            if digits.parse::<usize>().map_or(true, |n| n > MAX_TEXT) {
                return Err(fail("format", format!("a field width of {digits} is too large")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn render(src: &str) -> Result<String, String> {
        let engine = crate::template::Engine::new();
        engine.env.render_str(src, minijinja::context! {}).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn huge_outputs_fail_before_allocating() {
        assert!(render("{{ 'a\nb' | indent(10**10) }}").unwrap_err().contains("too large"));
        assert!(render("{{ '{:>10000000000}'.format(1) }}").unwrap_err().contains("field width"));
        assert!(render("{{ [1] * 10**9 }}").unwrap_err().contains("more than"));
        assert!(render("{{ [[1] * 10**6, [2] * 10**6, [3] * 10**6] }}").unwrap_err().contains("more than"));
        assert!(render("{{ [1] | to_json(indent=10**12) }}").unwrap_err().contains("too large"));
        assert!(render("{{ ([1] * 10**9) | to_json }}").unwrap_err().contains("more than"));
    }

    #[test]
    fn ordinary_sizes_still_work() {
        assert_eq!(render("{{ 'a\nb' | indent(2) }}").unwrap(), "a\n  b");
        assert_eq!(render("{{ 'a\nb' | indent(width=2, first=true) }}").unwrap(), "  a\n  b");
        assert_eq!(render("{{ 'a\n\nb' | indent('> ') }}").unwrap(), "a\n\n> b");
        assert_eq!(render("{{ '{:>5}'.format(1) }}").unwrap(), "    1");
        assert_eq!(render("{{ ([1] * 3) | length }} {{ [1, 2] * 2 }}").unwrap(), "3 [1, 2, 1, 2]");
        assert_eq!(render("{{ {'a': [1]} | to_json(indent=2) }}").unwrap(), "{\n  \"a\": [\n    1\n  ]\n}");
    }

    #[test]
    fn list_index_is_pythons() {
        assert_eq!(render("{{ ['a', 'b', 'b'].index('b') }} {{ [1, 2].count(2) }}").unwrap(), "1 1");
        assert!(render("{{ ['a'].index('z') }}").unwrap_err().contains("not in list"));
    }
}
