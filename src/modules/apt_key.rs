//! `apt_key`: a key in apt's keyring through `apt-key`, as ansible-core 2.19's module does it
//! where `apt-key` exists (Debian 12 still has it, deprecated): the key id is given or read
//! from the key (a host file, inline `data`, or a URL the host fetches) with `gpg
//! --with-colons`; the keys `apt-key adv --list-public-keys --keyid-format=long` lists decide;
//! the key is added with `apt-key add` (or fetched from a keyserver) and removed with `apt-key
//! del <short id>`, and the listing after the change must show it (or not).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{section, sections};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("id", "the key id (8, 16 or more hex digits; read from the key when not given)"),
        Opt::str("url", "a URL the host downloads the key from"),
        Opt::str("data", "the key itself (armored or binary text)"),
        Opt::path("file", "a key file on the host"),
        Opt::path("keyring", "the keyring apt-key works on (`--keyring`)"),
        Opt::bool("validate_certs", "check the TLS certificate of `url`").default("true"),
        Opt::str("keyserver", "a keyserver to fetch the key `id` from"),
        Opt::str("state", "present: add the key; absent: remove it").choices(&["absent", "present"]).default("present"),
    ]],
    ..ArgSpec::NONE
};

pub struct AptKey;

/// Commands' messages in English, whatever the host's locale.
pub const LANG_C: &str = "export LANG=C LC_ALL=C LC_MESSAGES=C LANGUAGE=C\n";

/// Shell that prints the body at `url` (curl, else wget), failing when neither is there.
pub fn fetch_script(url: &str, validate: bool) -> String {
    let u = quote(url);
    let (k, nc) = if validate { ("", "") } else { (" -k", " --no-check-certificate") };
    format!(
        "if command -v curl >/dev/null 2>&1; then curl -fsSL{k} {u}; elif command -v wget >/dev/null 2>&1; then wget -qO-{nc} {u}; \
         else echo 'Failed to find required executable \"curl\" or \"wget\" in paths' >&2; false; fi"
    )
}

/// ansible-core's `parse_key_id`: (short id, fingerprint as listed, whole id).
pub fn parse_key_id(id: &str) -> Option<(String, String, String)> {
    let mut id = id.to_uppercase();
    if let Some(rest) = id.strip_prefix("0X") {
        id = rest.to_string();
    }
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if id.len() != 8 && id.len() != 16 && id.len() <= 16 {
        return None;
    }
    let short = id[id.len() - 8..].to_string();
    let fp = if id.len() > 16 { id[id.len() - 16..].to_string() } else { id.clone() };
    Some((short, fp, id))
}

/// ansible-core's `parse_output_for_keys`: the ids of `pub`/`sub` lines not expired, in
/// apt-key's (`pub   rsa3072/ID ...`) or gpg's colon format.
pub fn parse_keys(out: &str, short: bool) -> Vec<String> {
    let mut found = Vec::new();
    for line in out.split('\n') {
        if !(line.starts_with("pub") || line.starts_with("sub")) || line.contains("expired") {
            continue;
        }
        let apt = line.split_whitespace().nth(1).and_then(|c| {
            let parts: Vec<&str> = c.split('/').collect();
            (parts.len() == 2).then(|| parts[1].to_string())
        });
        let code = apt.or_else(|| line.split(':').nth(4).map(String::from));
        if let Some(c) = code {
            found.push(c);
        }
    }
    if short {
        found = found.iter().map(|k| k[k.len().saturating_sub(8)..].to_string()).collect();
    }
    found
}

fn apt_key(keyring: Option<&str>) -> String {
    match keyring {
        Some(k) => format!("apt-key --keyring {}", quote(k)),
        None => "apt-key".into(),
    }
}

/// Lists the keys (section `name`); a failure is Ansible's "Unable to list public keys".
fn list_script(keyring: Option<&str>, name: &str) -> String {
    format!(
        "{}\n{} adv --list-public-keys --keyid-format=long 2>/dev/null || {{ echo 'Unable to list public keys' >&2; exit 3; }}\n",
        section(name),
        apt_key(keyring)
    )
}

const TOOLS: &str = "command -v apt-key >/dev/null 2>&1 || { echo 'Failed to find required executable \"apt-key\" in paths. Apt-key has been deprecated. See the deb822_repository as an alternative.' >&2; exit 3; }\n\
command -v gpg >/dev/null 2>&1 || { echo 'Failed to find required executable \"gpg\" in paths' >&2; exit 3; }\n";

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(String),
    Data(String),
    Url(String, bool),
    Keyserver(String),
    None,
}

/// Shell that prints the key (file, stdin data or URL) to stdout.
fn key_to_stdout(src: &Source) -> Option<String> {
    match src {
        Source::File(f) => Some(format!("cat -- {}", quote(f))),
        Source::Data(_) => Some("cat".into()),
        Source::Url(u, v) => Some(format!(
            "{{ {}; }} || {{ printf '%s\\n' {} >&2; exit 3; }}",
            fetch_script(u, *v),
            quote(&format!("Failed to download key at {u}"))
        )),
        _ => None,
    }
}

/// The query script: the key's id from gpg (when not given), then the keys listed.
pub fn query_script(src: &Source, id_given: bool, keyring: Option<&str>) -> String {
    let mut s = format!("{LANG_C}{TOOLS}");
    if !id_given {
        let from = match src {
            Source::File(f) => f.clone(),
            _ => "inline data".into(),
        };
        if let Some(read) = key_to_stdout(src) {
            s.push_str(&format!(
                "{}\n{{ {read}; }} | gpg --with-colons - 2>/dev/null || {{ printf '%s\\n' {} >&2; exit 3; }}\n",
                section("gpg"),
                quote(&format!("Unable to extract key from '{from}'"))
            ));
        }
    }
    s.push_str(&list_script(keyring, "before"));
    s
}

/// The change script: add or remove, then list again.
pub fn apply_script(src: &Source, present: bool, ids: &(String, String, String), keyring: Option<&str>) -> String {
    let ak = apt_key(keyring);
    let change = if !present {
        format!(
            "{ak} del {} >/dev/null 2>&1 || {{ echo {} >&2; exit 3; }}",
            quote(&ids.0),
            quote(&format!("Unable to remove a key with id {}", ids.0))
        )
    } else {
        match src {
            Source::File(f) => format!(
                "{ak} add {} >/dev/null 2>&1 || {{ printf '%s\\n' {} >&2; exit 3; }}",
                quote(f),
                quote(&format!("Unable to add a key from file {f}"))
            ),
            Source::Keyserver(ks) => format!(
                "n=0; until {ak} adv --no-tty --keyserver {} --recv {} >/dev/null 2>&1; do n=$((n+1)); \
                 [ $n -lt 5 ] || {{ printf '%s\\n' {} >&2; exit 3; }}; done",
                quote(ks),
                quote(&ids.2),
                quote(&format!("Error fetching key {} from keyserver: {ks}", ids.2))
            ),
            other => format!(
                "{{ {}; }} | {ak} add - >/dev/null 2>&1 || {{ echo 'Unable to add a key from binary data' >&2; exit 3; }}",
                key_to_stdout(other).unwrap_or_else(|| "false".into())
            ),
        }
    };
    format!("{LANG_C}{change}\n{}", list_script(keyring, "after"))
}

struct Planned {
    script: String,
    stdin: Option<Vec<u8>>,
    present: bool,
    short: bool,
    fp: String,
    short_id: String,
}

#[async_trait]
impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("apt_key", args, &SPEC)?;
        let given: Vec<&str> = ["data", "file", "keyserver", "url"].into_iter().filter(|k| a.has(k)).collect();
        if given.len() > 1 {
            return Err(ModuleError::Args(format!("parameters are mutually exclusive: {}", given.join("|"))));
        }
        let present = a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present";
        let keyring = a.str("keyring")?;
        let id = a.str("id")?.filter(|s| !s.is_empty());
        let src = if let Some(f) = a.str("file")? {
            Source::File(f)
        } else if let Some(d) = a.str("data")? {
            Source::Data(d)
        } else if let Some(u) = a.str("url")? {
            Source::Url(u, a.bool("validate_certs", true)?)
        } else if let Some(k) = a.str("keyserver")? {
            Source::Keyserver(k)
        } else {
            Source::None
        };
        if id.is_none() && matches!(src, Source::Keyserver(_)) {
            return Err(ModuleError::failed("Missing key_id, required with keyserver."));
        }
        let stdin = match &src {
            Source::Data(d) => Some(d.clone().into_bytes()),
            _ => None,
        };
        let mut cmd = Cmd::new(query_script(&src, id.is_some(), keyring.as_deref())).read_only();
        if let Some(d) = &stdin {
            cmd = cmd.stdin(d.clone());
        }
        let out = cx.run(cmd).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
        }
        let parts = sections(&out.stdout_text());
        let part = |n: &str| parts.get(n).cloned().unwrap_or_default();
        let id = id.or_else(|| parse_keys(&part("gpg"), false).into_iter().next());
        let mut q = Query::ok().with("id", id.clone().map_or(Value::Null, Value::from));
        let Some(ids) = id.as_deref().and_then(parse_key_id) else {
            return Err(ModuleError::Failed { msg: "Invalid key_id".into(), result: q.result });
        };
        q.result.insert("short_id".into(), ids.0.clone().into());
        q.result.insert("fp".into(), ids.1.clone().into());
        q.result.insert("key_id".into(), ids.2.clone().into());
        let short = ids.2.len() == 8;
        let keys = parse_keys(&part("before"), short);
        q.result.insert("before".into(), keys.iter().cloned().map(Value::from).collect::<Vec<_>>().into());
        let has = if present && short { keys.contains(&ids.0) } else { keys.contains(&ids.1) };
        if present == has {
            return Ok(q);
        }
        if present && matches!(src, Source::None) {
            return Err(ModuleError::Failed {
                msg: "No key to add ... how did i get here?!?!".into(),
                result: q.result,
            });
        }
        q.changed = true;
        let script = apply_script(&src, present, &ids, keyring.as_deref());
        q.change = Change::new(Planned { script, stdin, present, short, fp: ids.1, short_id: ids.0 });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("apt_key")?;
        let mut cmd = Cmd::new(p.script);
        if let Some(d) = p.stdin {
            cmd = cmd.stdin(d);
        }
        let out = cx.run(cmd).await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed { msg: out.stderr_text().trim().to_string(), result: q.result });
        }
        let after = parse_keys(sections(&out.stdout_text()).get("after").map_or("", |s| s.as_str()), p.short);
        q.result.insert("after".into(), after.iter().cloned().map(Value::from).collect::<Vec<_>>().into());
        let has = if p.present && p.short { after.contains(&p.short_id) } else { after.contains(&p.fp) };
        if has != p.present {
            let what = if p.present { "failed to add the key" } else { "the key was not removed" };
            return Err(ModuleError::Failed {
                msg: format!(
                    "apt-key did not return an error, but {what} (check that the id is correct and *not* a subkey)"
                ),
                result: q.result,
            });
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APT_KEY_LIST: &str = "/etc/apt/trusted.gpg\n--------------------\n\
        pub   rsa2048/C0BA5CE6DC6315A3 2021-05-04 [SC]\n      35BAA0B33E9EB396F59CA838C0BA5CE6DC6315A3\n\
        uid                 [ unknown] Artifact Registry\n\
        pub   rsa1024/00000000DEADBEEF 2001-01-01 [SC] [expired: 2002-01-01]\n\
        sub   rsa3072/1122334455667788 2021-05-04 [E]\n";

    #[test]
    fn key_ids_as_ansible_parses_them() {
        assert_eq!(
            parse_key_id("0x36a1d7869245c8950f966e92d8576a8ba88d21e9"),
            Some(("A88D21E9".into(), "D8576A8BA88D21E9".into(), "36A1D7869245C8950F966E92D8576A8BA88D21E9".into()))
        );
        assert_eq!(parse_key_id("a88d21e9").map(|i| i.1), Some("A88D21E9".into()));
        assert_eq!(parse_key_id("123456789"), None, "9 digits");
        assert_eq!(parse_key_id("zzzzzzzz"), None);
        assert_eq!(parse_keys(APT_KEY_LIST, false), ["C0BA5CE6DC6315A3", "1122334455667788"]);
        assert_eq!(parse_keys(APT_KEY_LIST, true), ["DC6315A3", "55667788"]);
        assert_eq!(
            parse_keys("pub:-:3072:1:ABCDEF0123456789:1700000000:::-:\nfpr:::::::::X:\n", false),
            ["ABCDEF0123456789"]
        );
    }

    #[test]
    fn scripts_add_list_and_remove() {
        let ids = parse_key_id("ABCDEF0123456789").unwrap();
        let s = query_script(&Source::File("/k.asc".into()), false, Some("/etc/apt/trusted.gpg.d/x.gpg"));
        assert!(s.contains("cat -- /k.asc; } | gpg --with-colons -"), "{s}");
        assert!(s.contains("apt-key --keyring /etc/apt/trusted.gpg.d/x.gpg adv --list-public-keys --keyid-format=long"));
        let s = apply_script(&Source::Data("K".into()), true, &ids, None);
        assert!(s.contains("{ cat; } | apt-key add -") && s.contains("@@troupe:after@@"), "{s}");
        let s = apply_script(&Source::None, false, &ids, None);
        assert!(s.contains("apt-key del 23456789"), "{s}");
        let s = apply_script(&Source::Keyserver("hkp://ks".into()), true, &ids, None);
        assert!(s.contains("--keyserver hkp://ks --recv ABCDEF0123456789"), "{s}");
    }
}
