//! A module's arguments: checked up front against its [`ArgSpec`] as Ansible does, then typed
//! getters whose errors name the module and the argument.

use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::value::{to_bool, to_text, Map, Value};

use super::file_mode::Mode;
use super::ModuleError;

pub use super::argspec::{ArgSpec, Opt, Type, IGNORED};

/// A module's arguments under their canonical names.
#[derive(Debug)]
pub struct Args {
    module: &'static str,
    map: Map,
}

tokio::task_local! {
    /// Where `Args::parse` puts its warnings while a module call runs (see [`gather_warnings`]).
    static WARNINGS: Arc<Mutex<Vec<String>>>;
}

/// Run one module call, returning the warnings argument parsing raised inside it, each once
/// (a module may parse its arguments in both query and apply). They become the result's
/// `warnings` list, which the reporter prints as `[WARNING]: ...`, as Ansible does. A sink
/// scoped to the call lets every module warn without each one passing the list along.
pub async fn gather_warnings<F: Future>(call: F) -> (F::Output, Vec<String>) {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let out = WARNINGS.scope(sink.clone(), call).await;
    let warnings = std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()));
    (out, warnings)
}

/// A warning of the running module, shown with its result (Ansible's `module.warn`).
pub fn warn(msg: impl Into<String>) {
    let msg = msg.into();
    let _outside_a_module_call = WARNINGS.try_with(|sink| {
        let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
        if !sink.contains(&msg) {
            sink.push(msg);
        }
    });
}

impl Args {
    /// Check `raw` against the module's [`ArgSpec`] in Ansible's order (required, types,
    /// choices, then unknown names; see [`ArgSpec::validate`]). An alias given beside its canonical name
    /// wins and raises Ansible's warning `Both option path and its alias dest are set.` (see
    /// [`gather_warnings`]).
    pub fn parse(module: &'static str, raw: &Map, spec: &ArgSpec) -> Result<Args, ModuleError> {
        let aliases = spec.aliases;
        let mut map = Map::new();
        let mut unknown = Vec::new();
        for (k, v) in raw {
            if spec.knows(k) {
                map.insert(k.clone(), v.clone());
            } else if !aliases.iter().any(|(alias, _)| alias == k) {
                unknown.push(k.as_str());
            }
        }
        let mut warnings = Vec::new();
        for (alias, canonical) in aliases {
            debug_assert!(spec.knows(canonical), "{module}: alias {alias} of unknown {canonical}");
            if let Some(v) = raw.get(*alias).filter(|v| !v.is_null()) {
                // Like Ansible, a second alias counts the first one's value as the option's.
                if map.contains_key(*canonical) && !alias.starts_with('_') {
                    warnings.push(format!("Both option {canonical} and its alias {alias} are set."));
                }
                map.insert(canonical.to_string(), v.clone());
            }
        }
        if !warnings.is_empty() {
            let _outside_a_module_call = WARNINGS.try_with(|sink| {
                let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                for w in &warnings {
                    if !sink.contains(w) {
                        sink.push(w.clone());
                    }
                }
            });
        }
        spec.validate(&mut map).map_err(ModuleError::Args)?;
        if unknown.is_empty() {
            return Ok(Args { module, map });
        }
        unknown.sort_unstable();
        let listed = |names: &mut Vec<&str>| {
            names.retain(|n| !n.starts_with('_'));
            names.sort_unstable();
            names.join(", ")
        };
        let supported = listed(&mut spec.names().collect());
        let alias_names = listed(&mut aliases.iter().map(|(a, _)| *a).collect());
        let alias_names = if alias_names.is_empty() { alias_names } else { format!(" ({alias_names})") };
        Err(ModuleError::Args(format!(
            "Unsupported parameters for ({module}) module: {}. Supported parameters include: {supported}{alias_names}.",
            unknown.join(", ")
        )))
    }

    /// Arguments whose names are free (set_fact's variables): nothing is checked or renamed.
    pub fn any_names(module: &'static str, raw: &Map) -> Args {
        Args { module, map: raw.clone() }
    }

    /// An argument error prefixed with the module name.
    pub fn error(&self, msg: impl std::fmt::Display) -> ModuleError {
        ModuleError::Args(format!("{}: {msg}", self.module))
    }

    fn bad(&self, name: &str, want: &str, got: &Value) -> ModuleError {
        let got = match got {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        };
        self.error(format_args!("argument '{name}' must be {want}, got {got}"))
    }

    /// Set to something other than null.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The raw value, when set and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A scalar as text; numbers and booleans are accepted and printed as Ansible prints them.
    pub fn str(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Ok(Some(to_text(v))),
            Some(other) => Err(self.bad(name, "a string", other)),
        }
    }

    /// A string that must be given and not be empty.
    pub fn req_str(&self, name: &str) -> Result<String, ModuleError> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.error(format_args!("missing required arguments: {name}"))),
        }
    }

    /// A boolean in any of Ansible's spellings (`yes`, `on`, `true`, `1`, ...), `default` when unset.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        Ok(self.opt_bool(name)?.unwrap_or(default))
    }

    /// A boolean, or `None` when unset (so "not given" can differ from `false`).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => to_bool(v).map(Some).ok_or_else(|| self.bad(name, "a boolean (yes/no, true/false)", v)),
        }
    }

    /// An integer, given as a number or as numeric text.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ModuleError> {
        let v = match self.get(name) {
            None => return Ok(None),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.map(Some).ok_or_else(|| self.bad(name, "an integer", v))
    }

    /// A non-negative number (seconds, minutes, depth), given as a number or numeric text.
    pub fn number(&self, name: &str) -> Result<Option<f64>, ModuleError> {
        let v = match self.get(name) {
            None => return Ok(None),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= 0.0 && n.is_finite() => Ok(Some(n)),
            Some(_) => Err(self.bad(name, "a non-negative number", v)),
            None => Err(self.bad(name, "a number", v)),
        }
    }

    /// A list of strings (Ansible's `type='list'`): a YAML list of scalars, a comma-separated
    /// string (pieces trimmed, empty ones dropped), or a single number.
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => {
                Ok(Some(s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()))
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Array(_) | Value::Object(_) => Err(self.bad(name, "a list of strings", item)),
                    scalar => Ok(to_text(scalar)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v @ Value::Number(_)) => Ok(Some(vec![to_text(v)])),
            Some(other) => Err(self.bad(name, "a list or a comma-separated string", other)),
        }
    }

    /// One of a fixed set of words. A YAML boolean (`yes` loads as true) picks the one choice
    /// that spells it, as Ansible does for choices like `yes`/`no`.
    pub fn choice(&self, name: &str, allowed: &[&'static str]) -> Result<Option<&'static str>, ModuleError> {
        if let Some(Value::Bool(b)) = self.get(name) {
            let spelled: Vec<&'static str> =
                allowed.iter().copied().filter(|c| to_bool(&Value::from(*c)) == Some(*b) && !c.is_empty()).collect();
            if let [one] = spelled[..] {
                return Ok(Some(one));
            }
        }
        match self.str(name)? {
            None => Ok(None),
            Some(s) => allowed.iter().copied().find(|a| *a == s).map(Some).ok_or_else(|| {
                self.error(format_args!("value of {name} must be one of: {}, got: {s}", allowed.join(", ")))
            }),
        }
    }

    /// A file mode: octal text (`'0644'`, `'644'`), an integer (YAML 1.1 `0644` loads as 420),
    /// or a symbolic mode (`u+rwx,g-w`).
    pub fn mode(&self, name: &str) -> Result<Option<Mode>, ModuleError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(bits) if bits <= 0o7777 => Ok(Some(Mode::Octal(bits as u32))),
                _ => Err(self.error(format_args!("argument '{name}': {n} is not a valid file mode"))),
            },
            Some(Value::String(s)) => Mode::parse(s)
                .map(Some)
                .map_err(|e| self.error(format_args!("argument '{name}': '{s}' is not a valid file mode: {e}"))),
            Some(other) => Err(self.bad(name, "an octal string like '0644' or a symbolic mode like 'u+rwx'", other)),
        }
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
