//! Jinja templating: one minijinja environment with Ansible's filters and tests.
//!
//! Rendering follows Ansible 2.19: a string that is a single `{{ expr }}` keeps the native
//! type of the expression (a list stays a list); anything else renders to text. Undefined
//! variables are errors (strict), except under `default`, `is defined` and friends.

pub mod arith;
pub mod bounds;
pub mod builtin_names;
pub mod escapes;
pub mod filters;
pub mod lookups;
pub mod tests;
pub mod undefined;

use std::cell::Cell;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};

thread_local! {
    static READING_AHEAD: Cell<bool> = const { Cell::new(false) };
    /// The hint of the last `undef()` evaluated, for the error when its value is used.
    static UNDEF_HINT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// `undef(hint)` was evaluated: an "is undefined" error in this template says why (`{var}`
/// in the hint stands for the variable's name).
pub fn set_undef_hint(hint: String) {
    UNDEF_HINT.with(|h| *h.borrow_mut() = Some(hint));
}

/// Forget the last `undef()` hint (a new top-level template starts).
pub fn clear_undef_hint() {
    UNDEF_HINT.with(|h| h.borrow_mut().take());
}

/// Run `f` (which renders a task that has not started yet, see `exec::ahead`) with lookups
/// refused: a lookup runs code on the controller (`pipe`) or creates files (`password`), which
/// must happen only when the task runs. A refused lookup is an error, which is never cached.
pub fn reading_ahead<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            READING_AHEAD.with(|r| r.set(false));
        }
    }
    READING_AHEAD.with(|r| r.set(true));
    let _reset = Reset;
    f()
}

fn is_reading_ahead() -> bool {
    READING_AHEAD.with(Cell::get)
}

/// The template environment shared by a whole run.
pub struct Engine {
    pub env: Environment<'static>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        // Ansible's templates default to trim_blocks: a newline after a block tag is dropped.
        env.set_trim_blocks(true);
        filters::register(&mut env);
        bounds::register(&mut env);
        env.add_function(arith::DIVISOR_FN, arith::divisor);
        env.add_function(crate::vault::FAILED_FN, crate::vault::failed);
        Engine { env }
    }
}

/// A template failed: which text, which variable, what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// The template text (shortened) that failed.
    pub template: String,
    /// The undefined variable, when that was the cause.
    pub variable: Option<String>,
    pub message: String,
    /// What went wrong, in the template engine's words (`division by zero`).
    pub detail: String,
}

impl TemplateError {
    pub fn new(template: &str, message: impl Into<String>) -> TemplateError {
        let message = message.into();
        TemplateError { template: shorten(template), variable: None, detail: message.clone(), message }
    }

    /// Ansible's short reason: `'x' is undefined`, else `Error rendering template: <detail>`.
    pub fn reason(&self) -> String {
        // A nested variable's error names the innermost undefined one last.
        let nested = || {
            let at = self.message.rfind("variable '")? + "variable '".len();
            let rest = &self.message[at..];
            let name = &rest[..rest.find('\'')?];
            rest[name.len()..].starts_with("' is undefined").then(|| name.to_string())
        };
        match self.variable.clone().or_else(nested) {
            Some(var) => format!("'{var}' is undefined"),
            None => format!("Error rendering template: {}", self.detail),
        }
    }

    /// Ansible's sentence first (`Task failed: ...: 'x' is undefined`), then troupe's own
    /// message with the template and what to do.
    pub fn framed(mut self, frame: &str) -> TemplateError {
        let reason = self.reason();
        self.message = match reason.contains(&self.message) {
            true => format!("{frame}{reason}"),
            false => format!("{frame}{reason}. {}", self.message),
        };
        self
    }

    /// Turn a minijinja error into ours; `missing` names the undefined variable if known.
    pub fn from_jinja(template: &str, err: &minijinja::Error, missing: Option<String>) -> TemplateError {
        let mut detail = match err.detail() {
            Some(d) => format!("{}: {d}", kind_text(err.kind())),
            None => kind_text(err.kind()).to_string(),
        };
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            detail.push_str(&format!(" ({inner})"));
            source = inner.source();
        }
        // A nested variable's error may be built first: the hint stays for the outer one.
        let hint = UNDEF_HINT.with(|h| h.borrow().clone());
        let hint = match (&hint, &missing) {
            (Some(h), Some(var)) => format!(" ({})", h.replace("{var}", var)),
            _ => String::new(),
        };
        let message = match &missing {
            Some(var) => format!(
                "variable '{var}' is undefined{hint} in template \"{}\"; define it (inventory, vars, -e {var}=...) or use `{var} | default(...)`",
                shorten(template)
            ),
            None => format!("template \"{}\" failed: {detail}", shorten(template)),
        };
        let detail = err.detail().map(str::to_string).unwrap_or_else(|| kind_text(err.kind()).to_string());
        TemplateError { template: shorten(template), variable: missing, message, detail }
    }
}

fn kind_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::UndefinedError => "undefined value",
        ErrorKind::SyntaxError => "syntax error",
        ErrorKind::UnknownFilter => "unknown filter",
        ErrorKind::UnknownTest => "unknown test",
        ErrorKind::UnknownFunction => "unknown function",
        ErrorKind::UnknownMethod => "unknown method",
        ErrorKind::InvalidOperation => "invalid operation",
        ErrorKind::MissingArgument => "missing argument",
        ErrorKind::TooManyArguments => "too many arguments",
        ErrorKind::BadSerialization => "bad value",
        _ => "error",
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text.to_string()
    }
}

/// Does this text need rendering at all?
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// A `}}` (or `%}`) outside string literals in a bare expression: minijinja's lexer panics on
/// what follows one ("empty lexer stack"), so such an expression is refused before lexing.
pub fn stray_block_end(expr: &str) -> Option<&'static str> {
    let mut quote = None;
    let mut escaped = false;
    let mut prev = ' ';
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '}' && prev == '}' => return Some("}}"),
            None if c == '}' && prev == '%' => return Some("%}"),
            None => {}
        }
        prev = c;
    }
    None
}

/// If the text is exactly one `{{ expression }}`, the expression.
pub fn single_expression(text: &str) -> Option<&str> {
    let t = text.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}
