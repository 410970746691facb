//! Ansible's Jinja tests (`is failed`, `is version(...)`, `is match(...)`, ...). minijinja's
//! builtins already cover `defined`, `undefined`, `none`, `string`, `number`, `mapping`,
//! `iterable`, `sequence` and `in`.

use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::convert::{fail, items, require_defined};
use super::filters::text::{text_of, Matcher};

pub fn register(env: &mut Environment<'static>) {
    env.add_test("failed", |v: Value| result_flag("failed", &v, "failed"));
    env.add_test("failure", |v: Value| result_flag("failure", &v, "failed"));
    env.add_test("succeeded", |v: Value| result_flag("succeeded", &v, "failed").map(|f| !f));
    env.add_test("success", |v: Value| result_flag("success", &v, "failed").map(|f| !f));
    env.add_test("successful", |v: Value| result_flag("successful", &v, "failed").map(|f| !f));
    env.add_test("skipped", |v: Value| result_flag("skipped", &v, "skipped"));
    env.add_test("skip", |v: Value| result_flag("skip", &v, "skipped"));
    env.add_test("unreachable", |v: Value| result_flag("unreachable", &v, "unreachable"));
    env.add_test("reachable", |v: Value| result_flag("reachable", &v, "unreachable").map(|f| !f));
    env.add_test("changed", |v: Value| changed("changed", &v));
    env.add_test("change", |v: Value| changed("change", &v));
    env.add_test("match", |v: Value, p: String, k: Kwargs| regex_test("match", &v, &p, k, true));
    env.add_test("search", |v: Value, p: String, k: Kwargs| regex_test("search", &v, &p, k, false));
    env.add_test("regex", regex);
    env.add_test("version", |v: Value, o: Value, a: Rest<Value>, k: Kwargs| {
        super::filters::version_check("version", &v, &o, &a, &k)
    });
    env.add_test("version_compare", |v: Value, o: Value, a: Rest<Value>, k: Kwargs| {
        super::filters::version_check("version_compare", &v, &o, &a, &k)
    });
    env.add_test("truthy", |v: Value, k: Kwargs| truthy("truthy", &v, k));
    env.add_test("falsy", |v: Value, k: Kwargs| truthy("falsy", &v, k).map(|t| !t));
    env.add_test("contains", |seq: Value, v: Value| contains("contains", &seq, &v));
    env.add_test("subset", |a: Value, b: Value| subset("subset", &a, &b));
    env.add_test("issubset", |a: Value, b: Value| subset("issubset", &a, &b));
    env.add_test("superset", |a: Value, b: Value| subset("superset", &b, &a));
    env.add_test("issuperset", |a: Value, b: Value| subset("issuperset", &b, &a));
    env.add_test("any", |v: Value| Ok::<_, Error>(items("any", &v)?.iter().any(Value::is_true)));
    env.add_test("all", |v: Value| Ok::<_, Error>(items("all", &v)?.iter().all(Value::is_true)));
    env.add_test("nan", is_nan);
    env.add_test("isnan", is_nan);
    env.add_test("abs", |v: Value| path_test("abs", &v, |p| p.is_absolute()));
    env.add_test("is_abs", |v: Value| path_test("is_abs", &v, |p| p.is_absolute()));
    env.add_test("exists", |v: Value| path_test("exists", &v, |p| p.exists()));
    env.add_test("file", |v: Value| path_test("file", &v, |p| p.is_file()));
    env.add_test("is_file", |v: Value| path_test("is_file", &v, |p| p.is_file()));
    env.add_test("directory", |v: Value| path_test("directory", &v, |p| p.is_dir()));
    env.add_test("is_dir", |v: Value| path_test("is_dir", &v, |p| p.is_dir()));
    env.add_test("link", |v: Value| path_test("link", &v, |p| p.is_symlink()));
    env.add_test("is_link", |v: Value| path_test("is_link", &v, |p| p.is_symlink()));
    env.add_test("link_exists", |v: Value| path_test("link_exists", &v, |p| p.symlink_metadata().is_ok()));
    env.add_test("mount", |v: Value| path_test("mount", &v, is_mount));
    env.add_test("is_mount", |v: Value| path_test("is_mount", &v, is_mount));
    env.add_test("timedout", |v: Value| timedout(&v));
    env.add_test("finished", |v: Value| async_flag("finished", &v));
    env.add_test("started", |v: Value| async_flag("started", &v));
    env.add_test("vault_encrypted", |v: Value| Ok::<_, Error>(v.as_str().is_some_and(crate::vault::is_inline)));
    env.add_test("vaulted_file", |v: Value| vaulted_file(&v));
    env.add_test("same_file", |a: Value, b: Value| same_file("same_file", &a, &b));
    env.add_test("is_same_file", |a: Value, b: Value| same_file("is_same_file", &a, &b));
}

/// Python's `os.path.ismount`: not a symlink, and on another device than its parent or the
/// same inode as it (`/`).
fn is_mount(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = p.symlink_metadata() else { return false };
    if meta.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = p.join("..").metadata() else { return false };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

/// Whether the file starts with the vault header; an unreadable file is an error, as in Ansible.
fn vaulted_file(v: &Value) -> Result<bool, Error> {
    use std::io::Read;
    let path = text_of("vaulted_file", v)?;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(&path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| fail("vaulted_file", format!("Cannot test if the file {path} is a vault: {e}")))?;
    Ok(head[..n].starts_with(crate::vault::HEADER.as_bytes()))
}

/// Python's `os.path.samefile`: both exist and are the same device and inode.
fn same_file(name: &str, a: &Value, b: &Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (text_of(name, a)?, text_of(name, b)?);
    Ok(match (Path::new(&a).metadata(), Path::new(&b).metadata()) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    })
}

/// A result whose `timedout` holds a `period` (the `timeout` keyword expired).
fn timedout(v: &Value) -> Result<bool, Error> {
    require_defined("timedout", v)?;
    if v.kind() != ValueKind::Map {
        return Err(fail("timedout", "The 'timedout' test expects a dictionary".to_string()));
    }
    let info = v.get_attr("timedout").unwrap_or(Value::UNDEFINED);
    Ok(info.is_true() && info.get_attr("period").is_ok_and(|p| p.is_true()))
}

/// `finished`/`started`: an async result's flag (`1` or true); a result without it is not an
/// async one, and counts as both (Ansible warns and says yes).
fn async_flag(name: &str, v: &Value) -> Result<bool, Error> {
    require_defined(name, v)?;
    if v.kind() != ValueKind::Map {
        return Err(fail(name, format!("The '{name}' test expects a dictionary")));
    }
    let flag = v.get_attr(name).unwrap_or(Value::UNDEFINED);
    Ok(flag.is_undefined() || flag == Value::from(true) || flag == Value::from(1))
}

fn expect_result(name: &str, v: &Value) -> Result<(), Error> {
    require_defined(name, v)?;
    if v.kind() != ValueKind::Map {
        return Err(fail(name, format!("the '{name}' test expects a registered task result (a dictionary)")));
    }
    Ok(())
}

/// `result is failed` and friends: the named key, read with Python truthiness.
fn result_flag(name: &str, v: &Value, key: &str) -> Result<bool, Error> {
    expect_result(name, v)?;
    Ok(v.get_attr(key).is_ok_and(|f| f.is_true()))
}

/// `changed`: the `changed` key, or any changed item of a loop's `results`.
fn changed(name: &str, v: &Value) -> Result<bool, Error> {
    expect_result(name, v)?;
    let flag = v.get_attr("changed").unwrap_or(Value::UNDEFINED);
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let results = v.get_attr("results").unwrap_or(Value::UNDEFINED);
    if results.kind() != ValueKind::Seq {
        return Ok(false);
    }
    Ok(results.try_iter().is_ok_and(|mut it| it.any(|r| r.get_attr("changed").is_ok_and(|c| c.is_true()))))
}

fn regex_flags(name: &str, kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used().map_err(|e| fail(name, e))?;
    Ok((ignorecase, multiline))
}

/// `match` anchors at the start of the text (Python's `re.match`); `search` looks anywhere.
fn regex_test(name: &str, v: &Value, pattern: &str, kwargs: Kwargs, anchored: bool) -> Result<bool, Error> {
    let text = text_of(name, v)?;
    let (ignorecase, multiline) = regex_flags(name, &kwargs)?;
    let pattern = if anchored { format!(r"\A(?:{pattern})") } else { pattern.to_string() };
    Matcher::new(name, &pattern, ignorecase, multiline)?.is_match(&text)
}

fn regex(v: Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type = kwargs.get::<Option<String>>("match_type")?.unwrap_or_else(|| "search".into());
    match match_type.as_str() {
        "match" => regex_test("regex", &v, &pattern, kwargs, true),
        "search" => regex_test("regex", &v, &pattern, kwargs, false),
        other => Err(fail("regex", format!("match_type '{other}' is not supported; use 'match' or 'search'"))),
    }
}

/// Python truthiness; with `convert_bool=true`, 'yes'/'no'-style strings count as booleans.
fn truthy(name: &str, v: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    require_defined(name, v)?;
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used().map_err(|e| fail(name, e))?;
    if convert {
        let data = super::filters::convert::to_data(name, v)?;
        if let Some(b) = crate::value::to_bool(&data) {
            return Ok(b);
        }
    }
    Ok(v.is_true())
}

/// `value in seq`: a substring of a string, a key of a mapping, an item of a list.
pub fn contains(name: &str, seq: &Value, v: &Value) -> Result<bool, Error> {
    require_defined(name, seq)?;
    match seq.kind() {
        ValueKind::String => Ok(seq.as_str().unwrap_or_default().contains(text_of(name, v)?.as_str())),
        ValueKind::Map => Ok(seq.get_item(v).is_ok_and(|x| !x.is_undefined())),
        _ => Ok(items(name, seq)?.contains(v)),
    }
}

fn subset(name: &str, small: &Value, big: &Value) -> Result<bool, Error> {
    let big = items(name, big)?;
    Ok(items(name, small)?.iter().all(|x| big.contains(x)))
}

fn is_nan(v: Value) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan)
}

fn path_test(name: &str, v: &Value, f: impl Fn(&Path) -> bool) -> Result<bool, Error> {
    Ok(f(Path::new(&text_of(name, v)?)))
}

#[cfg(test)]
mod unit {
    use minijinja::{context, Environment, UndefinedBehavior};

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        crate::template::filters::register(&mut env);
        env
    }

    fn eval(src: &str, ctx: minijinja::Value) -> String {
        env().render_str(src, ctx).unwrap_or_else(|e| panic!("{src}: {e:#}"))
    }

    fn err(src: &str, ctx: minijinja::Value) -> String {
        match env().render_str(src, ctx) {
            Ok(out) => panic!("{src} rendered {out:?}, expected an error"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn result_tests() {
        let ctx = context! {
            ok => context! { changed => false, failed => false },
            bad => context! { failed => true, changed => true },
            skip => context! { skipped => true },
            looped => context! { results => vec![context! { changed => false }, context! { changed => true }] },
        };
        assert_eq!(
            eval(
                "{{ ok is failed }} {{ ok is succeeded }} {{ ok is success }} {{ ok is changed }} {{ ok is skipped }}",
                ctx.clone()
            ),
            "False True True False False"
        );
        assert_eq!(
            eval("{{ bad is failed }} {{ bad is succeeded }} {{ bad is change }}", ctx.clone()),
            "True False True"
        );
        assert_eq!(
            eval("{{ skip is skipped }} {{ skip is skip }} {{ skip is failed }}", ctx.clone()),
            "True True False"
        );
        assert_eq!(eval("{{ looped is changed }}", ctx.clone()), "True");
        assert!(err("{{ 'x' is failed }}", ctx).contains("expects a registered task result"));
    }

    #[test]
    fn regex_tests() {
        let c = context! {};
        assert_eq!(
            eval("{{ 'abc' is match('b') }} {{ 'abc' is search('b') }} {{ 'abc' is match('a.c') }}", c.clone()),
            "False True True"
        );
        assert_eq!(
            eval("{{ 'ABC' is match('a', ignorecase=true) }} {{ 'x\nab' is match('^ab', multiline=true) }}", c.clone()),
            "True False"
        );
        assert_eq!(
            eval("{{ 'x\nab' is search('^ab', multiline=true) }} {{ 'xab' is regex('^ab') }}", c.clone()),
            "True False"
        );
        assert!(err("{{ 'a' is match('(') }}", c).contains("match: invalid regular expression"));
    }

    #[test]
    fn version_tests() {
        let c = context! { v => "3.5.1" };
        assert_eq!(
            eval("{{ '3.4.0' is version('3.4.0', '>=') }} {{ v is version('3.4.0', 'lt') }}", c.clone()),
            "True False"
        );
        assert_eq!(
            eval("{{ v is version_compare('3.5', '>') }} {{ v is version('3.5.1', operator='eq') }}", c.clone()),
            "True True"
        );
        assert_eq!(eval("{{ '1.2' is version('1.2.0', '==', strict=true) }}", c.clone()), "True");
        assert_eq!(eval("{{ '1.0.0-rc.1' is version('1.0.0', '<', version_type='semver') }}", c.clone()), "True");
        assert!(err("{{ v is version('1', '~') }}", c).contains("invalid operator"));
    }

    #[test]
    fn truthiness_and_sets() {
        let c = context! {};
        assert_eq!(eval("{{ 'false' is truthy }} {{ 'false' is truthy(convert_bool=true) }} {{ [] is falsy }} {{ 'no' is falsy(convert_bool=true) }}", c.clone()), "True False True True");
        assert_eq!(
            eval("{{ [1,2] is contains(2) }} {{ 'abc' is contains('bc') }} {{ {'a':1} is contains('b') }}", c.clone()),
            "True True False"
        );
        assert_eq!(
            eval(
                "{{ [1,2] is subset([1,2,3]) }} {{ [1,4] is issubset([1,2]) }} {{ [1,2,3] is superset([3]) }}",
                c.clone()
            ),
            "True False True"
        );
        assert_eq!(eval("{{ [0, 1] is any }} {{ [0, 1] is all }} {{ [] is all }}", c.clone()), "True False True");
        assert_eq!(eval("{{ ['web1', 'db1', 'web2'] | select('match', 'web') | join(',') }}", c.clone()), "web1,web2");
        assert_eq!(
            eval(
                "{{ [{'n': 'web1'}, {'n': 'db1'}] | rejectattr('n', 'search', 'web') | map(attribute='n') | join }}",
                c
            ),
            "db1"
        );
    }

    #[test]
    fn builtin_tests_still_work() {
        let c = context! { s => "x", n => 1, m => context! { a => 1 }, nothing => () };
        assert_eq!(
            eval("{{ s is defined }} {{ missing is undefined }} {{ nothing is none }} {{ s is string }} {{ n is number }} {{ m is mapping }} {{ [1] is iterable }} {{ [1] is sequence }} {{ 1 is in [1, 2] }}", c),
            "True True True True True True True True True"
        );
    }

    #[test]
    fn path_tests() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let c = context! { d => dir.path().to_string_lossy().to_string() };
        assert_eq!(
            eval("{{ d is directory }} {{ d is file }} {{ d is exists }} {{ d is abs }} {{ 'rel/x' is abs }}", c),
            "True False True True False"
        );
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink("/nonexistent/x", &link).unwrap_or_else(|e| panic!("{e}"));
        let c = context! { l => link.to_string_lossy().to_string(), d => dir.path().to_string_lossy().to_string() };
        assert_eq!(
            eval(
                "{{ l is link_exists }} {{ l is exists }} {{ l is link }} {{ '/' is mount }} {{ d is mount }}",
                c.clone()
            ),
            "True False True True False"
        );
        assert_eq!(
            eval("{{ d is same_file(d ~ '/.') }} {{ d is same_file('/') }} {{ l is same_file(l) }}", c),
            "True False False"
        );
    }
}
