//! Variables: the one precedence order, and lazy recursive templating of values.
//!
//! A [`Scope`] is the stack of variable layers one task sees on one host. A name resolves to
//! the highest layer that defines it; its value is templated only when used, against the same
//! scope, so `a: "{{ b }}"` sees the `b` of the task's scope, as in Ansible.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};
use minijinja::{Error as JError, ErrorKind};

use crate::template::arith::check_arithmetic;
use crate::template::escapes::escape_backslashes;
use crate::template::undefined::guard_chains;
use crate::template::{is_template, single_expression, Engine, TemplateError};
use crate::value::{Map, Value};

/// Variable sources, lowest precedence first. This enum *is* the precedence table
/// (see README "Variable precedence"); nothing else decides which value wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    RoleDefaults,
    InventoryGroupVars,
    GroupVarsFiles,
    InventoryHostVars,
    HostVarsFiles,
    Facts,
    PlayVars,
    PlayVarsFiles,
    RoleVars,
    BlockVars,
    TaskVars,
    IncludeVars,
    SetFact,
    RoleParams,
    /// `vars` of an `include_tasks`/`include_role` (and its loop variable): Ansible's
    /// "include params", above role params.
    IncludeParams,
    /// `inventory_hostname`, `groups`, `role_path`, ...: set by troupe, not by users.
    Magic,
    ExtraVars,
}

/// Gives `hostvars[name]` its per-host scopes.
pub trait HostVars: Send + Sync {
    fn host_scope(&self, host: &str) -> Option<Arc<Scope>>;
    fn host_names(&self) -> Vec<String>;
}

/// The variables one task sees on one host.
pub struct Scope {
    engine: Arc<Engine>,
    layers: Vec<(Level, Arc<Map>)>,
    hostvars: Option<Arc<dyn HostVars>>,
    cache: Mutex<HashMap<String, JValue>>,
}

impl Scope {
    pub fn new(engine: Arc<Engine>) -> Scope {
        Scope { engine, layers: Vec::new(), hostvars: None, cache: Mutex::new(HashMap::new()) }
    }

    /// Add a layer; layers are kept sorted by level (stable within a level: later wins).
    pub fn layer(mut self, level: Level, vars: Arc<Map>) -> Scope {
        if !vars.is_empty() {
            let at = self.layers.iter().position(|(l, _)| *l > level).unwrap_or(self.layers.len());
            self.layers.insert(at, (level, vars));
        }
        self
    }

    pub fn with_hostvars(mut self, hv: Arc<dyn HostVars>) -> Scope {
        self.hostvars = Some(hv);
        self
    }

    /// A copy with one more layer (loop items, registered results for `changed_when`).
    pub fn child(&self, level: Level, vars: Map) -> Scope {
        Scope {
            engine: self.engine.clone(),
            layers: self.layers.clone(),
            hostvars: self.hostvars.clone(),
            cache: Mutex::new(HashMap::new()),
        }
        .layer(level, Arc::new(vars))
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The raw (untemplated) value of a name and the level it came from.
    pub fn raw(&self, name: &str) -> Option<(Level, &Value)> {
        self.layers.iter().rev().find_map(|(level, map)| map.get(name).map(|v| (*level, v)))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some() || (name == "hostvars" && self.hostvars.is_some())
    }

    /// Every variable name visible here (for `vars` and debugging).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (_, map) in &self.layers {
            // `__troupe_*` are the engine's own context (lookup search folders), not variables.
            for k in map.keys().filter(|k| !k.starts_with("__troupe")) {
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
        names
    }

    /// The templated value of a variable.
    pub fn get(self: &Arc<Self>, name: &str) -> Result<Option<Value>, TemplateError> {
        let ctx = JValue::from_dyn_object(self.clone());
        match ctx.get_attr(name) {
            Ok(v) if v.is_undefined() => Ok(None),
            Ok(v) => to_json(&v, name).map(Some),
            Err(e) => Err(TemplateError::from_jinja(name, &e, None)),
        }
    }

    /// Render a string: a single `{{ expr }}` keeps its native type; otherwise text.
    pub fn render_str(self: &Arc<Self>, text: &str) -> Result<Value, TemplateError> {
        self.render_source(text, true)
    }

    /// `render_str`; `escape`: the text comes from YAML, not from a template file (see `escapes`).
    fn render_source(self: &Arc<Self>, text: &str, escape: bool) -> Result<Value, TemplateError> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        if RESOLVING.with(|r| r.borrow().is_empty()) {
            crate::template::clear_undef_hint();
        }
        if let Some(expr) = single_expression(text) {
            return self.eval_source(expr, escape).map_err(|mut e| {
                if e.variable.is_none() {
                    e.template = text.to_string();
                }
                e
            });
        }
        let ctx = JValue::from_dyn_object(self.clone());
        let source = if escape { escape_backslashes(text, false) } else { std::borrow::Cow::Borrowed(text) };
        let source = guard_chains(&source, false);
        let source = check_arithmetic(&source, false).map_err(|m| TemplateError::new(text, m))?;
        match self.engine.env.render_str(&source, ctx) {
            Ok(s) => Ok(Value::String(s)),
            Err(e) => Err(self.explain(text, &e, false)),
        }
    }

    /// Render a template file's text; `{% include %}`, `{% import %}` and `{% extends %}` load
    /// files from `dirs` (first match), with the same rewrites as the main text.
    pub fn render_file(self: &Arc<Self>, text: &str, dirs: &[PathBuf]) -> Result<String, TemplateError> {
        let needs_loader = ["include", "import", "extends"].iter().any(|w| text.contains(w));
        let mut out = if !needs_loader || !text.contains("{%") {
            crate::value::to_text(&self.render_source(text, false)?)
        } else {
            // A copy of the environment, so included names never leak between tasks and roles.
            let mut env = self.engine.env.clone();
            let dirs = dirs.to_vec();
            env.set_loader(move |name| load_template(&dirs, name));
            let source = guard_chains(text, false);
            let source = check_arithmetic(&source, false).map_err(|m| TemplateError::new(text, m))?;
            let ctx = JValue::from_dyn_object(self.clone());
            env.render_str(&source, ctx).map_err(|e| self.explain(text, &e, false))?
        };
        // Ansible's templar gives the result at least the source's trailing newlines (a block
        // tag on the last line would otherwise eat the file's final newline).
        let wanted = trailing_newlines(text);
        let have = trailing_newlines(&out);
        if have < wanted {
            out.push_str(&"\n".repeat(wanted - have));
        }
        Ok(out)
    }

    /// Render to text (for names, paths, messages).
    pub fn render_text(self: &Arc<Self>, text: &str) -> Result<String, TemplateError> {
        Ok(crate::value::to_text(&self.render_str(text)?))
    }

    /// The variables a template uses (top-level names), e.g. to mask their values.
    pub fn referenced(self: &Arc<Self>, text: &str) -> Vec<String> {
        let names = self.engine.env.template_from_str(text).map(|t| t.undeclared_variables(false)).unwrap_or_default();
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names
    }

    /// Render every string inside a value.
    pub fn render_value(self: &Arc<Self>, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => self.render_str(s)?,
            Value::Array(items) => Value::Array(items.iter().map(|v| self.render_value(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let key = if is_template(k) { self.render_text(k)? } else { k.clone() };
                    out.insert(key, self.render_value(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// A template standing for an expression (`debug: var: "{{ item }}"`): Ansible 2.19 accepts
    /// it only when it yields a trusted string, one written in the playbook or inventory. Here
    /// that is a plain variable reference whose variable is not task data (`register`,
    /// `set_fact`, facts); constants and other computed text are untrusted.
    pub fn indirect(self: &Arc<Self>, template: &str) -> Result<String, TemplateError> {
        let untrusted = || {
            TemplateError::new(
                template,
                format!(
                    "untrusted template or expression \"{template}\": a template's result is data, not an expression \
                     (Ansible 2.19); write the expression itself"
                ),
            )
        };
        // Rendered first: its own errors come before the question of trust (as in Ansible).
        let value = self.render_str(template)?;
        let expr = single_expression(template).ok_or_else(untrusted)?;
        let root = expr.split(['.', '[']).next().unwrap_or_default();
        let path_like = expr.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '\'' | '"'));
        let trusted_level = self.raw(root).is_some_and(|(level, _)| !matches!(level, Level::SetFact | Level::Facts));
        if !path_like || !trusted_level || root.is_empty() {
            return Err(untrusted());
        }
        match value {
            Value::String(s) if !is_template(&s) => Ok(s),
            _ => Err(untrusted()),
        }
    }

    /// A conditional expression with its string constants that hold a template rendered
    /// (Ansible 2.19 trusts constants written in an expression: `x == "du{{ 'de' }}"`).
    pub fn expand_constants<'e>(self: &Arc<Self>, expr: &'e str) -> Result<std::borrow::Cow<'e, str>, TemplateError> {
        use minijinja::machinery::{tokenize, Token};
        if !is_template(expr) {
            return Ok(std::borrow::Cow::Borrowed(expr));
        }
        let Ok(tokens) = tokenize(expr, true, Default::default(), Default::default()).collect::<Result<Vec<_>, _>>()
        else {
            return Ok(std::borrow::Cow::Borrowed(expr));
        };
        let mut out = String::with_capacity(expr.len());
        let mut at = 0;
        for (token, span) in &tokens {
            let text = match token {
                Token::Str(s) if is_template(s) => s.to_string(),
                Token::String(s) if is_template(s) => s.to_string(),
                _ => continue,
            };
            let (start, end) = (span.start_offset as usize, span.end_offset as usize);
            out.push_str(&expr[at..start]);
            out.push_str(&crate::yaml::jinja_string(&self.render_text(&text)?));
            at = end;
        }
        out.push_str(&expr[at..]);
        Ok(std::borrow::Cow::Owned(out))
    }

    /// A list variable as written (its entries not yet rendered), when `name` is one the
    /// playbook or inventory set: `that: "{{ checks }}"` keeps each entry's trust.
    pub fn raw_list(&self, name: &str) -> Option<Vec<Value>> {
        match self.raw(name)? {
            (level, Value::Array(items)) if !matches!(level, Level::SetFact | Level::Facts) => Some(items.clone()),
            _ => None,
        }
    }

    /// Evaluate a bare expression (`when:` entries, `that:`).
    pub fn eval(self: &Arc<Self>, expr: &str) -> Result<Value, TemplateError> {
        self.eval_source(expr, false)
    }

    /// Evaluate an expression; `escape`: it comes from a `{{ }}` in YAML (see `escapes`).
    fn eval_source(self: &Arc<Self>, expr: &str, escape: bool) -> Result<Value, TemplateError> {
        if let Some(end) = crate::template::stray_block_end(expr) {
            return Err(TemplateError::new(expr, format!("syntax error: unexpected `{end}` in expression \"{expr}\"")));
        }
        let source = if escape { escape_backslashes(expr, true) } else { std::borrow::Cow::Borrowed(expr) };
        let source = guard_chains(&source, true);
        let source = check_arithmetic(&source, true).map_err(|m| TemplateError::new(expr, m))?;
        let compiled =
            self.engine.env.compile_expression(&source).map_err(|e| TemplateError::from_jinja(expr, &e, None))?;
        let ctx = JValue::from_dyn_object(self.clone());
        let out = compiled.eval(ctx).map_err(|e| self.explain(expr, &e, true))?;
        if out.is_undefined() {
            let missing =
                self.first_missing(&compiled.undeclared_variables(true), expr).unwrap_or_else(|| expr.to_string());
            return Err(TemplateError::from_jinja(
                expr,
                &JError::new(ErrorKind::UndefinedError, "undefined"),
                Some(missing),
            ));
        }
        to_json(&out, expr)
    }

    /// Evaluate a condition; it must be a boolean (as in Ansible 2.19).
    pub fn eval_bool(self: &Arc<Self>, cond: &str) -> Result<bool, TemplateError> {
        let expr = match single_expression(cond) {
            Some(e) => std::borrow::Cow::Borrowed(e.trim()),
            None => self.expand_constants(cond.trim())?,
        };
        match self.eval(&expr)? {
            Value::Bool(b) => Ok(b),
            Value::Null => Ok(false),
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Ok(n.as_i64() == Some(1)),
            // A template that yields text stands for an expression only if the text is trusted.
            Value::String(_) if single_expression(cond).is_some() => self.eval_bool(&self.indirect(cond)?),
            other if crate::template::lookups::allow_broken_conditionals() => Ok(crate::value::truthy(&other)),
            other => Err(TemplateError::new(
                cond,
                format!(
                    "conditional \"{cond}\" gave {} ({}), not a boolean; use `| bool` for strings such as -e flags",
                    crate::value::to_text(&other),
                    type_name(&other)
                ),
            )),
        }
    }

    fn explain(self: &Arc<Self>, text: &str, err: &JError, expr: bool) -> TemplateError {
        if err.kind() == ErrorKind::UndefinedError {
            let names = if expr {
                self.engine.env.compile_expression(text).map(|c| c.undeclared_variables(true)).unwrap_or_default()
            } else {
                self.engine.env.template_from_str(text).map(|t| t.undeclared_variables(true)).unwrap_or_default()
            };
            if let Some(missing) = self.first_missing(&names, text) {
                return TemplateError::from_jinja(text, err, Some(missing));
            }
        }
        // An error raised while resolving a nested variable already says which one.
        if let Some(detail) = err.detail() {
            if detail.starts_with("variable '") {
                return TemplateError {
                    template: text.to_string(),
                    variable: None,
                    message: detail.to_string(),
                    detail: detail.to_string(),
                };
            }
        }
        TemplateError::from_jinja(text, err, None)
    }

    /// The first dotted name in `names` that does not resolve in this scope, cut at the first
    /// missing part (`a` for `a.b` when `a` itself is undefined, as Ansible says).
    fn first_missing(self: &Arc<Self>, names: &std::collections::HashSet<String>, text: &str) -> Option<String> {
        // In the order the template uses them (as Ansible reports the first one it meets).
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort_by_key(|n| (text.find(n.as_str()).unwrap_or(usize::MAX), n.as_str()));
        let ctx = JValue::from_dyn_object(self.clone());
        for name in sorted {
            let mut cur = ctx.clone();
            let mut seen = 0;
            for part in name.split('.') {
                seen += part.len() + usize::from(seen > 0);
                match cur.get_attr(part) {
                    Ok(v) if !v.is_undefined() => cur = v,
                    _ => return Some(name[..seen].to_string()),
                }
            }
        }
        None
    }

    fn resolve(self: &Arc<Self>, name: &str) -> Option<JValue> {
        if let Some(v) = self.cache.lock().ok()?.get(name) {
            return Some(v.clone());
        }
        if name == "hostvars" {
            let hv = self.hostvars.clone()?;
            return Some(JValue::from_object(HostVarsObject(hv)));
        }
        let (level, raw) = self.raw(name)?;
        // What tasks set (`set_fact`, `register`, `ansible_failed_result`) was rendered when
        // it was set; as in Ansible 2.19 a result is data, never a template again. The failed
        // task's name is the exception: it is rendered in the rescue's scope.
        let data = level == Level::SetFact && name != "ansible_failed_task";
        if data || !contains_template(raw) {
            let v = JValue::from_serialize(raw);
            self.cache.lock().ok()?.insert(name.to_string(), v.clone());
            return Some(v);
        }
        // `{{ undef(...) }}` (role defaults meant to be overridden) leaves the variable undefined.
        if let Some(expr) =
            raw.as_str().and_then(crate::template::single_expression).filter(|e| e.starts_with("undef("))
        {
            // Evaluated for its hint only, which the error says if the variable is used.
            let _ = self.eval_source(expr, true);
            return None;
        }
        let raw = raw.clone();
        let cycle = RESOLVING.with(|r| r.borrow().iter().any(|n| n == name));
        if cycle {
            return Some(JValue::from(JError::new(
                ErrorKind::InvalidOperation,
                format!("variable '{name}' refers to itself (recursive template loop)"),
            )));
        }
        RESOLVING.with(|r| r.borrow_mut().push(name.to_string()));
        let rendered = self.render_value(&raw);
        RESOLVING.with(|r| r.borrow_mut().pop());
        let v = match rendered {
            Ok(v) => JValue::from_serialize(&v),
            Err(e) => {
                return Some(JValue::from(JError::new(
                    ErrorKind::InvalidOperation,
                    format!("variable '{name}' could not be templated: {}", e.message),
                )))
            }
        };
        self.cache.lock().ok()?.insert(name.to_string(), v.clone());
        Some(v)
    }
}

thread_local! {
    static RESOLVING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn trailing_newlines(text: &str) -> usize {
    text.len() - text.trim_end_matches('\n').len()
}

/// An included template: the first `dirs/name` that exists, rewritten like the main text.
pub(crate) fn load_template(dirs: &[PathBuf], name: &str) -> Result<Option<String>, JError> {
    let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| JError::new(ErrorKind::InvalidOperation, format!("cannot read {}: {e}", path.display())))?;
    // Jinja drops one trailing newline of a loaded template (Ansible keeps it only for the main one).
    let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    let text = guard_chains(text, false).into_owned();
    let text = check_arithmetic(&text, false).map_err(|m| JError::new(ErrorKind::InvalidOperation, m))?;
    Ok(Some(text.into_owned()))
}

fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(a) => a.iter().any(contains_template),
        Value::Object(m) => m.iter().any(|(k, v)| is_template(k) || contains_template(v)),
        _ => false,
    }
}

fn to_json(v: &JValue, text: &str) -> Result<Value, TemplateError> {
    crate::template::bounds::check_items(v)
        .map_err(|e| TemplateError::new(text, format!("result of \"{text}\": {}", e.detail().unwrap_or_default())))?;
    serde_json::to_value(v)
        .map_err(|e| TemplateError::new(text, format!("result of \"{text}\" is not plain data: {e}")))
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "none",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("layers", &self.layers.len()).finish()
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.resolve(key.as_str()?)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.names().into_iter().map(JValue::from).collect())
    }
}

#[derive(Debug)]
struct HostVarsObject(Arc<dyn HostVars>);

impl std::fmt::Debug for dyn HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hostvars")
    }
}

impl Object for HostVarsObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let scope = self.0.host_scope(key.as_str()?)?;
        Some(JValue::from_dyn_object(scope))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.host_names().into_iter().map(JValue::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Arc<Map> {
        match v {
            Value::Object(m) => Arc::new(m),
            _ => Arc::new(Map::new()),
        }
    }

    fn scope(layers: Vec<(Level, Value)>) -> Arc<Scope> {
        let mut s = Scope::new(Arc::new(Engine::new()));
        for (l, v) in layers {
            s = s.layer(l, map(v));
        }
        Arc::new(s)
    }

    #[test]
    fn stray_block_ends_are_errors_not_lexer_panics() {
        // Found by tests/fuzz.rs: minijinja's expression lexer panics ("empty lexer stack").
        let s = scope(vec![(Level::PlayVars, json!({"x": 1}))]);
        for bad in ["x }} y }}", "x }} + 1", "x %} y"] {
            let e = s.eval(bad).unwrap_err();
            assert!(e.message.contains("unexpected"), "{bad}: {e}");
        }
        assert_eq!(s.eval("'}}' ~ x").unwrap(), json!("}}1"));
        assert!(s.eval_bool("x == 1").unwrap());
    }

    #[test]
    fn higher_level_wins_regardless_of_insert_order() {
        let s = scope(vec![
            (Level::ExtraVars, json!({"x": "extra"})),
            (Level::RoleDefaults, json!({"x": "default", "y": "default"})),
            (Level::PlayVars, json!({"x": "play"})),
        ]);
        assert_eq!(s.get("x").unwrap(), Some(json!("extra")));
        assert_eq!(s.get("y").unwrap(), Some(json!("default")));
    }

    #[test]
    fn lazy_templates_see_the_whole_scope() {
        // The default refers to a variable defined at a higher level.
        let s = scope(vec![
            (Level::RoleDefaults, json!({"url": "http://{{ host }}:{{ port }}", "port": 2379})),
            (Level::InventoryHostVars, json!({"host": "10.0.0.1"})),
        ]);
        assert_eq!(s.render_str("{{ url }}").unwrap(), json!("http://10.0.0.1:2379"));
    }

    #[test]
    fn single_expression_keeps_native_type() {
        let s = scope(vec![(Level::PlayVars, json!({"l": [1, 2], "n": "{{ l | length }}"}))]);
        assert_eq!(s.render_str("{{ l }}").unwrap(), json!([1, 2]));
        assert_eq!(s.render_str("{{ n }}").unwrap(), json!(2));
        assert_eq!(s.render_str("n={{ n }}").unwrap(), json!("n=2"));
    }

    #[test]
    fn undefined_variable_is_named() {
        let s = scope(vec![(Level::PlayVars, json!({"a": 1}))]);
        let e = s.render_str("value: {{ nope }}").unwrap_err();
        assert_eq!(e.variable.as_deref(), Some("nope"));
        assert!(e.message.contains("'nope' is undefined"), "{}", e.message);
        let e = s.render_str("{{ a + missing.attr }}").unwrap_err();
        assert!(e.message.contains("missing"), "{}", e.message);
    }

    #[test]
    fn undefined_parents_chain_under_default_and_defined_only() {
        let s = scope(vec![(Level::PlayVars, json!({"x": {"y": null}, "b": 1}))]);
        assert_eq!(s.render_str("{{ a.b | default('x') }}").unwrap(), json!("x"));
        assert_eq!(s.render_str("v={{ a.b.c | d('x') }}").unwrap(), json!("v=x"));
        assert_eq!(s.render_str("{{ x.y.z['w'] | default(3) }}").unwrap(), json!(3));
        assert_eq!(s.render_str("{{ hostvars['nohost'].v | default('d') }}").unwrap(), json!("d"));
        assert!(!s.eval_bool("a.b is defined").unwrap());
        assert!(s.eval_bool("a.b is undefined").unwrap());
        assert!(s.eval_bool("{{ a.b is not defined }}").unwrap());
        assert!(s.eval_bool("x.y is defined and b == 1").unwrap(), "a defined null stays defined");
        // Using the value itself still fails, naming the undefined variable.
        for bad in ["{{ a.b }}", "x={{ a.b }}", "{{ [a.b] }}", "{{ a.b ~ 'x' }}", "{{ a.b | upper | default(1) }}"] {
            let e = s.render_str(bad).unwrap_err();
            assert_eq!(e.variable.as_deref(), Some("a"), "{bad}: {}", e.message);
        }
        let e = s.eval_bool("a.b == 1").unwrap_err();
        assert!(e.message.contains("'a'"), "{}", e.message);
        let e = s.render_str("{{ x.q.r }}").unwrap_err();
        assert_eq!(e.variable.as_deref(), Some("x.q"), "{}", e.message);
    }

    #[test]
    fn nested_undefined_names_the_inner_variable() {
        let s = scope(vec![(Level::PlayVars, json!({"a": "{{ b }}"}))]);
        let e = s.render_str("{{ a }}").unwrap_err();
        assert!(e.message.contains("'b'"), "{}", e.message);
    }

    #[test]
    fn recursion_is_an_error_not_a_hang() {
        let s = scope(vec![(Level::PlayVars, json!({"a": "{{ b }}", "b": "{{ a }}"}))]);
        let e = s.render_str("{{ a }}").unwrap_err();
        assert!(e.message.contains("itself") || e.message.contains("recursive"), "{}", e.message);
    }

    #[test]
    fn conditions_must_be_boolean() {
        let s = scope(vec![(Level::ExtraVars, json!({"flag": "false", "on": true}))]);
        assert!(s.eval_bool("on").unwrap());
        assert!(s.eval_bool("{{ on }}").unwrap());
        let e = s.eval_bool("flag").unwrap_err();
        assert!(e.message.contains("| bool"), "{}", e.message);
        assert!(s.eval_bool("x is not defined").unwrap());
    }
}
