//! Lookups rendered through a strict environment.

use std::os::unix::fs::PermissionsExt;

use minijinja::{context, Environment, UndefinedBehavior, Value};

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    crate::template::filters::register(&mut env);
    env
}

fn eval(src: &str, ctx: Value) -> String {
    env().render_str(src, ctx).unwrap_or_else(|e| panic!("{src}: {e:#}"))
}

fn err(src: &str, ctx: Value) -> String {
    match env().render_str(src, ctx) {
        Ok(out) => panic!("{src} rendered {out:?}, expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn write(path: &std::path::Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn env_lookup() {
    let path = std::env::var("PATH").unwrap_or_default();
    assert_eq!(eval("{{ lookup('env', 'PATH') }}", context! {}), path);
    assert_eq!(eval("[{{ lookup('env', 'TROUPE_SURELY_UNSET_VAR') }}]", context! {}), "[]");
    assert_eq!(eval("{{ lookup('env', 'TROUPE_SURELY_UNSET_VAR', default='d') }}", context! {}), "d");
    assert_eq!(eval("{{ query('env', 'TROUPE_SURELY_UNSET_VAR') | length }}", context! {}), "1");
}

#[test]
fn file_lookup_uses_search_dirs_and_strips() {
    let dir = tempdir();
    write(&dir.path().join("files/motd.txt"), "hello\n\n");
    write(&dir.path().join("plain.txt"), "  plain  \n");
    let ctx = context! { __troupe_search => vec![dir.path().to_string_lossy().to_string()] };
    assert_eq!(eval("[{{ lookup('file', 'motd.txt') }}]", ctx.clone()), "[hello]");
    assert_eq!(eval("[{{ lookup('file', 'plain.txt') }}]", ctx.clone()), "[  plain]");
    assert_eq!(eval("[{{ lookup('file', 'plain.txt', lstrip=true) }}]", ctx.clone()), "[plain]");
    assert_eq!(eval("[{{ lookup('file', 'plain.txt', rstrip=false) }}]", ctx.clone()), "[  plain  \n]");
    assert_eq!(eval("{{ lookup('file', 'motd.txt', 'plain.txt') }}", ctx.clone()), "hello,  plain");
    assert_eq!(eval("{{ query('file', 'motd.txt', 'plain.txt') | length }}", ctx.clone()), "2");
    let abs = dir.path().join("plain.txt").to_string_lossy().to_string();
    assert_eq!(eval("{{ lookup('file', p) }}", context! { p => abs }), "  plain");
    let e = err("{{ lookup('file', 'nope.txt') }}", ctx.clone());
    assert!(e.contains("lookup('file'): file 'nope.txt' not found (searched"), "{e}");
    assert_eq!(eval("{{ lookup('file', 'nope.txt', errors='ignore') is none }}", ctx.clone()), "True");
    assert!(err("{{ lookup('file', 'motd.txt', bogus=1) }}", ctx).contains("bogus"));
}

#[test]
fn pipe_lookup() {
    assert_eq!(eval("[{{ lookup('pipe', 'echo hi; echo there') }}]", context! {}), "[hi\nthere]");
    let dir = tempdir();
    let ctx = context! { playbook_dir => dir.path().to_string_lossy().to_string() };
    let out = eval("{{ lookup('pipe', 'pwd') }}", ctx);
    assert_eq!(std::fs::canonicalize(out).ok(), std::fs::canonicalize(dir.path()).ok());
    let e = err("{{ lookup('pipe', 'exit 3') }}", context! {});
    assert!(e.contains("lookup('pipe'): command 'exit 3' exited with code 3"), "{e}");
}

#[test]
fn password_lookup_creates_private_file_once() {
    let dir = tempdir();
    let file = dir.path().join("creds/sub/etcd_pw");
    let ctx = context! { p => format!("{} length=32 chars=ascii_letters,digits", file.display()) };
    let first = eval("{{ lookup('password', p) }}", ctx.clone());
    let second = eval("{{ lookup('password', p) }}", ctx);
    assert_eq!(first, second);
    assert_eq!(first.len(), 32);
    assert!(first.chars().all(|c| c.is_ascii_alphanumeric()), "{first}");
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let parent = std::fs::metadata(dir.path().join("creds")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parent.permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::read_to_string(&file).unwrap_or_default(), format!("{first}\n"));
}

#[test]
fn password_lookup_reads_existing_and_dev_null_is_fresh() {
    let dir = tempdir();
    write(&dir.path().join("pw"), "s3cret salt=abcdefgh\n");
    let ctx = context! { playbook_dir => dir.path().to_string_lossy().to_string() };
    assert_eq!(eval("{{ lookup('password', 'pw') }}", ctx), "s3cret");
    let a = eval("{{ lookup('password', '/dev/null length=40') }}", context! {});
    let b = eval("{{ lookup('password', '/dev/null length=40') }}", context! {});
    assert_eq!(a.len(), 40);
    assert_ne!(a, b);
    let digits = eval("{{ lookup('password', '/dev/null', length=12, chars=['digits']) }}", context! {});
    assert!(digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit()), "{digits}");
    let comma = eval("{{ lookup('password', '/dev/null length=30 chars=,,') }}", context! {});
    assert_eq!(comma, ",".repeat(30));
    assert!(err("{{ lookup('password', '/dev/null size=3') }}", context! {}).contains("unrecognized parameter 'size'"));
    assert!(err("{{ lookup('password', '/dev/null encrypt=sha512_crypt') }}", context! {})
        .contains("'encrypt' is not supported"));
    // An allocation abort before (100 GB), a task failure now.
    assert!(err("{{ lookup('password', '/dev/null length=100000000000') }}", context! {}).contains("too large"));
}

#[test]
fn first_found_lookup() {
    let dir = tempdir();
    write(&dir.path().join("files/debian.yml"), "x");
    write(&dir.path().join("vars/default.yml"), "x");
    let root = dir.path().to_string_lossy().to_string();
    let ctx = context! { __troupe_search => vec![root.clone()], root => root.clone() };
    assert_eq!(
        eval("{{ lookup('first_found', ['redhat.yml', 'debian.yml']) }}", ctx.clone()),
        format!("{root}/files/debian.yml")
    );
    assert_eq!(
        eval(
            "{{ lookup('first_found', {'files': ['x.yml', 'default.yml'], 'paths': [root ~ '/vars']}) }}",
            ctx.clone()
        ),
        format!("{root}/vars/default.yml")
    );
    assert_eq!(eval("{{ query('first_found', 'none.yml', skip=true) | length }}", ctx.clone()), "0");
    assert!(err("{{ lookup('first_found', ['a.yml', 'b.yml']) }}", ctx.clone())
        .contains("No file was found when using first_found (looked for: a.yml, b.yml)"));
    // A mapping's options hold for the terms after it; one text is split on `,;` (paths on `,:;`).
    assert_eq!(
        eval("{{ lookup('first_found', {'paths': ['nowhere', root ~ '/vars']}, 'default.yml') }}", ctx.clone()),
        format!("{root}/vars/default.yml")
    );
    assert_eq!(
        eval("{{ lookup('first_found', {'files': 'a.yml;default.yml', 'paths': 'nope:' ~ root ~ '/vars'}) }}", ctx),
        format!("{root}/vars/default.yml")
    );
}

#[test]
fn lookup_result_shapes_and_unknown_plugins() {
    let ctx = context! { x => 5 };
    assert_eq!(eval("{{ lookup('list', 'a', 'b') }}", ctx.clone()), "a,b");
    assert_eq!(eval("{{ lookup('list', 'a', 'b', wantlist=true) | length }}", ctx.clone()), "2");
    assert_eq!(eval("{{ lookup('vars', 'x') + 1 }} {{ lookup('vars', 'y', default=0) }}", ctx.clone()), "6 0");
    assert_eq!(eval("{{ query('items', [1, 2], 3) | length }}", ctx.clone()), "3");
    assert_eq!(eval("{{ query('dict', {'a': 1}) | map(attribute='key') | join }}", ctx.clone()), "a");
    assert_eq!(eval("{{ lookup('ansible.builtin.env', 'TROUPE_SURELY_UNSET_VAR', default='z') }}", ctx.clone()), "z");
    assert!(err("{{ lookup('redis', 'k') }}", ctx).contains("lookup plugin 'redis' is not supported"));
}

#[test]
fn lookups_are_refused_while_reading_ahead_and_run_after() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let pipe = format!("{{{{ lookup('pipe', 'touch {}') }}}}", marker.display());
    let e = crate::template::reading_ahead(|| err(&pipe, context! {}));
    assert!(e.contains("not run while reading ahead"), "{e}");
    assert!(!marker.exists(), "the command ran early");
    // errors='ignore' must not turn the refusal into an empty value.
    let ignored = crate::template::reading_ahead(|| err("{{ lookup('env', 'HOME', errors='ignore') }}", context! {}));
    assert!(ignored.contains("not run while reading ahead"), "{ignored}");
    eval(&pipe, context! {});
    assert!(marker.exists(), "lookups run again once reading ahead is over");
}

#[test]
fn fileglob_lookup() {
    let dir = tempdir();
    for f in ["files/a.conf", "files/b.conf", "files/.hidden.conf", "files/c.txt", "files/sub.conf/x"] {
        write(&dir.path().join(f), "x");
    }
    let d = dir.path().display().to_string();
    let c = context! { __troupe_search => vec![d.clone()] };
    assert_eq!(eval("{{ lookup('fileglob', '*.conf') }}", c.clone()), format!("{d}/files/a.conf,{d}/files/b.conf"));
    assert_eq!(eval("{{ query('ansible.builtin.fileglob', 'files/*.txt') | length }}", c.clone()), "1");
    assert_eq!(eval("{{ query('fileglob', '*.none') }}", c), "[]");
}

#[test]
fn config_lookup() {
    let out =
        eval("{{ lookup('config', 'DEFAULT_BECOME_USER') }} {{ lookup('config', 'DEFAULT_FORKS') + 1 }}", context! {});
    assert_eq!(out, "root 6");
    assert!(eval("{{ lookup('config', 'DEFAULT_ROLES_PATH', wantlist=true) | length }}", context! {}) != "0");
    assert_eq!(eval("{{ query('config', 'NO_SUCH_SETTING', on_missing='skip') }}", context! {}), "[]");
    assert!(err("{{ lookup('config', 'NO_SUCH_SETTING') }}", context! {})
        .contains("Unable to find setting NO_SUCH_SETTING"));
}

#[test]
fn template_lookup() {
    let dir = tempdir();
    write(&dir.path().join("templates/t.j2"), "host={{ name }}{% if extra is defined %} {{ extra }}{% endif %}\n");
    write(&dir.path().join("templates/list.j2"), "{{ [1, n] }}\n");
    write(&dir.path().join("templates/custom.j2"), "[[ name ]] {{ kept }}");
    let d = dir.path().display().to_string();
    let c = context! { __troupe_search => vec![d], name => "web1", n => 2 };
    assert_eq!(eval("{{ lookup('template', 't.j2') }}", c.clone()), "host=web1\n");
    assert_eq!(eval("{{ lookup('template', 't.j2', template_vars={'extra': 'x'}) }}", c.clone()), "host=web1 x\n");
    assert_eq!(eval("{{ lookup('template', 'list.j2') | length }}", c.clone()), "2");
    assert_eq!(eval("{{ lookup('template', 'list.j2', convert_data=false) | length }}", c.clone()), "7");
    assert_eq!(
        eval("{{ lookup('template', 'custom.j2', variable_start_string='[[', variable_end_string=']]') }}", c.clone()),
        "web1 {{ kept }}"
    );
    assert!(err("{{ lookup('template', 'missing.j2') }}", c.clone()).contains("could not be found"));
    write(&dir.path().join("templates/self.j2"), "{{ lookup('template', 'self.j2') }}");
    assert!(err("{{ lookup('template', 'self.j2') }}", c).contains("nested more than 20 deep"));
}
