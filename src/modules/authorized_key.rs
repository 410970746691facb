//! `ansible.posix.authorized_key`: SSH keys in a user's `authorized_keys`. The file is read,
//! merged on the controller with ansible.posix's own rules (`merge`: keys matched by their
//! base64 body, options and comment compared, original order kept, changed keys moved to the
//! end, `exclusive` dropping every other line) and written only when it differs: the folder
//! (`manage_dir`) 0700 and the file 0600, both owned by the user, as Ansible leaves them.
//! Keys from `http(s)://` URLs are not fetched natively; `file://` keys are read on the host.

use async_trait::async_trait;
use regex::Regex;

use super::args::{ArgSpec, Args};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::run_ok;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    names: &[&[
        "user",
        "key",
        "path",
        "manage_dir",
        "state",
        "key_options",
        "exclusive",
        "validate_certs",
        "comment",
        "follow",
    ]],
    aliases: &[],
    ..ArgSpec::NONE
};

pub struct AuthorizedKey;

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// One line of the file: a key (body, type, options in order, comment) or a line kept as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's base64 body, or the whole line for a kept line.
    pub id: String,
    /// None for a comment or unparsable line.
    pub kind: Option<String>,
    pub options: Vec<(String, Option<String>)>,
    pub comment: String,
    pub rank: usize,
}

pub fn parse_options(text: &str) -> Vec<(String, Option<String>)> {
    let re = Regex::new(r#"(?:[^,"']|"[^"]*"|'[^']*')+"#).expect("valid");
    re.find_iter(text)
        .map(|m| match m.as_str().split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (m.as_str().to_string(), None),
        })
        .collect()
}

/// ansible.posix's `parsekey`: None when no key type is found.
pub fn parse_key(raw: &str, rank: usize) -> Option<Entry> {
    let raw = raw.replace(r"\#", "#");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.first() == Some(&"#") {
        return Some(Entry { id: raw.clone(), kind: None, options: vec![], comment: String::new(), rank });
    }
    let at = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let options = if at > 0 { parse_options(&parts[..at].join(" ")) } else { vec![] };
    let id = parts.get(at + 1)?.to_string();
    let comment = parts.get(at + 2..).map(|c| c.join(" ")).unwrap_or_default();
    Some(Entry { id, kind: Some(parts[at].to_string()), options, comment, rank })
}

fn same(a: &Entry, b: &Entry) -> bool {
    let mut oa = a.options.clone();
    let mut ob = b.options.clone();
    oa.sort();
    ob.sort();
    a.id == b.id && a.kind == b.kind && oa == ob && a.comment == b.comment
}

/// What the arguments ask of the keys.
#[derive(Debug, Clone, Default)]
pub struct Want {
    pub keys: String,
    pub present: bool,
    pub key_options: Option<String>,
    pub comment: Option<String>,
    pub exclusive: bool,
}

/// ansible.posix's `enforce_state` on the file's text: the new text when it must be written.
pub fn merge(existing: &str, w: &Want) -> Result<Option<String>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    for (i, line) in existing.split_inclusive('\n').enumerate() {
        let e = parse_key(line, i).unwrap_or(Entry {
            id: line.into(),
            kind: None,
            options: vec![],
            comment: String::new(),
            rank: i,
        });
        entries.retain(|x| x.id != e.id);
        entries.push(e);
    }
    let base = entries.len();
    let mut write = false;
    let mut keep: Vec<String> = Vec::new();
    let new_keys: Vec<&str> = w.keys.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for (i, line) in new_keys.iter().enumerate() {
        let mut k = parse_key(line, i).filter(|k| k.kind.is_some()).ok_or(format!("invalid key specified: {line}"))?;
        if let Some(o) = &w.key_options {
            k.options = parse_options(o);
        }
        if let Some(c) = &w.comment {
            k.comment = c.clone();
        }
        let found = entries.iter().position(|e| e.id == k.id);
        let matched = found.is_some_and(|at| same(&entries[at], &k) || !w.present);
        if w.present {
            keep.push(k.id.clone());
            if let (Some(at), false) = (found, matched) {
                entries.remove(at);
                write = true;
            }
            if !matched {
                k.rank += base;
                entries.push(k);
                write = true;
            }
        } else if matched {
            entries.retain(|e| e.id != k.id);
            write = true;
        }
    }
    if w.present && w.exclusive {
        let before = entries.len();
        entries.retain(|e| keep.contains(&e.id));
        write |= entries.len() != before;
    }
    if !write {
        return Ok(None);
    }
    entries.sort_by_key(|e| e.rank);
    let mut out = String::new();
    for e in &entries {
        match &e.kind {
            None => out.push_str(&e.id),
            Some(kind) => {
                let opts: Vec<String> =
                    e.options.iter().map(|(k, v)| v.as_ref().map_or(k.clone(), |v| format!("{k}={v}"))).collect();
                let opts = if opts.is_empty() { String::new() } else { format!("{} ", opts.join(",")) };
                out.push_str(&format!("{opts}{kind} {} {}\n", e.id, e.comment));
            }
        }
    }
    Ok(Some(out))
}

struct Planned {
    ssh_dir: Option<String>,
    keyfile: String,
    uid: u32,
    gid: u32,
    write: Query,
}

#[async_trait]
impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("authorized_key", args, &SPEC)?;
        let user = a.req_str("user")?;
        let mut keys = a.req_str("key")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let manage_dir = a.bool("manage_dir", true)?;
        let follow = a.bool("follow", false)?;
        if keys.starts_with("http") {
            return Err(
                a.error("keys from URLs are not fetched natively by troupe: give the key text or a file:// path")
            );
        }
        if let Some(p) = keys.strip_prefix("file://").map(String::from) {
            let f = read_text(cx, &p).await?;
            keys = String::from_utf8_lossy(
                &f.content.ok_or_else(|| ModuleError::failed(format!("Path to a key file not found: {p}")))?,
            )
            .into_owned();
        }
        let out = run_ok(cx, Cmd::new(format!("getent passwd {}", quote(&user))).read_only(), "getent failed")
            .await
            .map_err(|_| ModuleError::failed(format!("Failed to lookup user {user}: user not found")))?;
        let fields: Vec<String> = out.stdout_text().trim().split(':').map(String::from).collect();
        let (uid, gid, home) = match fields.as_slice() {
            [_, _, uid, gid, _, home, ..] => (uid.parse().unwrap_or(0), gid.parse().unwrap_or(0), home.clone()),
            _ => return Err(ModuleError::failed(format!("Failed to lookup user {user}: user not found"))),
        };
        let path = a.str("path")?;
        let keyfile = path.clone().unwrap_or_else(|| format!("{home}/.ssh/authorized_keys"));
        let ssh_dir = match &path {
            Some(p) => std::path::Path::new(p).parent().map(|d| d.display().to_string()).unwrap_or_default(),
            None => format!("{home}/.ssh"),
        };
        let mut file = read_text(cx, &keyfile).await?;
        if !follow {
            file.facts.path = keyfile.clone();
        }
        let existing = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default()).into_owned();
        let want = Want {
            keys,
            present,
            key_options: a.str("key_options")?,
            comment: a.str("comment")?,
            exclusive: a.bool("exclusive", false)?,
        };
        let mut q = Query::ok();
        for k in ["user", "key", "path", "state", "key_options", "comment"] {
            q.result.insert(k.into(), a.get(k).cloned().unwrap_or(Value::Null));
        }
        q.result.insert("state".into(), if present { "present" } else { "absent" }.into());
        q.result.insert("manage_dir".into(), manage_dir.into());
        q.result.insert("exclusive".into(), want.exclusive.into());
        q.result.insert("follow".into(), follow.into());
        q.result.insert("validate_certs".into(), a.bool("validate_certs", true)?.into());
        q.result.insert("keyfile".into(), keyfile.clone().into());
        let Some(new) = merge(&existing, &want).map_err(ModuleError::failed)? else { return Ok(q) };
        let attrs =
            Attrs::new(Some(super::file_mode::Mode::Octal(0o600)), Some(uid.to_string()), Some(gid.to_string()));
        let write =
            query_write(cx, &file.facts, &Content::Bytes(new.as_bytes()), &attrs, &WriteOpts::default(), true).await?;
        q.changed = true;
        q.diff = write.diff.clone().map(|mut d| {
            d.before = existing;
            d
        });
        let keyfile = file.facts.path.clone();
        q.change = Change::new(Planned { ssh_dir: manage_dir.then_some(ssh_dir), keyfile, uid, gid, write });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("authorized_key")?;
        let mut script = String::from("set -e\n");
        if let Some(d) = &p.ssh_dir {
            let d = quote(d);
            script.push_str(&format!(
                "[ -e {d} ] || mkdir -m 0700 -- {d}\nchown {}:{} {d}\nchmod 0700 {d}\n",
                p.uid, p.gid
            ));
        }
        if let Some(dir) = std::path::Path::new(&p.keyfile).parent().filter(|d| !d.as_os_str().is_empty()) {
            let d = quote(&dir.to_string_lossy());
            script.push_str(&format!("[ -d {d} ] || mkdir -p -- {d}\n"));
        }
        run_ok(cx, Cmd::new(script), "preparing the key folder failed").await?;
        apply_write(cx, p.write).await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA alice@x";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQBBB bob@y";

    fn want(keys: &str) -> Want {
        Want { keys: keys.into(), present: true, ..Want::default() }
    }

    #[test]
    fn merges_as_ansible_posix() {
        assert_eq!(merge("", &want(A)).unwrap().as_deref(), Some(format!("{A}\n").as_str()));
        assert_eq!(merge(&format!("{A}\n"), &want(A)).unwrap(), None, "present already");
        let both = format!("# keys\n{A}\n{B}\n");
        assert_eq!(merge(&both, &want(A)).unwrap(), None);
        let mut w = want(A);
        w.exclusive = true;
        assert_eq!(merge(&both, &w).unwrap().as_deref(), Some(format!("{A}\n").as_str()), "comments go too");
        let mut w = want(A);
        w.key_options = Some(r#"no-port-forwarding,from="10.0.0.1,10.0.0.2""#.into());
        let out = merge(&both, &w).unwrap().unwrap();
        assert_eq!(
            out,
            format!("# keys\n{B}\nno-port-forwarding,from=\"10.0.0.1,10.0.0.2\" {A}\n"),
            "a changed key moves to the end"
        );
        assert_eq!(merge(&out, &w).unwrap(), None);
        let mut w = want(B);
        w.present = false;
        assert_eq!(merge(&both, &w).unwrap().as_deref(), Some(format!("# keys\n{A}\n").as_str()));
        assert_eq!(merge(&format!("{A}\n"), &w).unwrap(), None, "absent already");
        let bare = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIZZZ";
        assert_eq!(
            merge("", &want(bare)).unwrap().unwrap(),
            format!("{bare} \n"),
            "no comment: Ansible's trailing space"
        );
        assert!(merge("", &want("not a key")).unwrap_err().starts_with("invalid key specified"));
    }
}
