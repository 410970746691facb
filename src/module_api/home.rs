//! `~` and `~user` at the start of a path, expanded on the host as the user the task runs as,
//! as Ansible's `_remote_expand_user` (copy, template, fetch) and its modules' `expanduser`
//! (file, stat) do. Paths without `~` cost nothing; with it, one read-only command.

use std::borrow::Cow;

use crate::connection::Cmd;
use crate::value::{Map, Value};

use super::{Ctx, ModuleError};

/// The user part of a `~user/...` path, when it is one a shell expands safely.
fn tilde_user(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('~')?;
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).then_some((user, tail))
}

/// `path` with its leading `~` or `~user` replaced by that home folder on the host; left as
/// written when there is none or the user is unknown (as Python's `expanduser`).
pub async fn expand_user(cx: &Ctx<'_>, path: &str) -> Result<String, ModuleError> {
    let Some((user, tail)) = tilde_user(path) else {
        return Ok(path.to_string());
    };
    let out = cx.run(Cmd::new(format!("echo ~{user}")).read_only()).await?;
    let home = out.stdout_text().trim_end_matches('\n').to_string();
    if out.rc != 0 || home.is_empty() || home.starts_with('~') {
        return Ok(path.to_string());
    }
    Ok(format!("{home}{tail}"))
}

/// `args` with the string values of `keys` expanded by [`expand_user`] (borrowed when none
/// starts with `~`).
pub async fn expand_args<'m>(cx: &Ctx<'_>, args: &'m Map, keys: &[&str]) -> Result<Cow<'m, Map>, ModuleError> {
    let tilde = |k: &&str| matches!(args.get(*k), Some(Value::String(s)) if tilde_user(s).is_some());
    if !keys.iter().any(tilde) {
        return Ok(Cow::Borrowed(args));
    }
    let mut out = args.clone();
    for k in keys {
        if let Some(Value::String(s)) = args.get(*k).filter(|_| tilde(k)) {
            out.insert(k.to_string(), Value::String(expand_user(cx, s).await?));
        }
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::tilde_user;

    #[test]
    fn only_plain_user_names_are_expanded() {
        assert_eq!(tilde_user("~"), Some(("", "")));
        assert_eq!(tilde_user("~/x"), Some(("", "/x")));
        assert_eq!(tilde_user("~bob/a b"), Some(("bob", "/a b")));
        assert_eq!(tilde_user("~$(id)/x"), None);
        assert_eq!(tilde_user("/x/~y"), None);
    }
}
