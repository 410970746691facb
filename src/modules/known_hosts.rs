//! `known_hosts`: one host's keys in a `known_hosts` file, with ansible-core's algorithm. The
//! host's own `ssh-keygen -F` finds the host's lines (hashed or not) and checks that the given
//! key names the host; the controller then decides, as the module does, whether the key is there
//! already, replaces the line holding another key of the same type, or appends; `hash_host`
//! writes the name as `|1|salt|hmac` (an already hashed line keeps its hash). The file is
//! rewritten atomically only when it differs. `state: absent` without `key` drops every line of
//! the host (Ansible runs `ssh-keygen -R`, which also leaves a `.old` copy; troupe does not).

use async_trait::async_trait;
use base64::Engine;
use sha1::{Digest, Sha1};

use super::args::{ArgSpec, Args, Opt};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::script_out::{section, sections};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the host (lowercased; `[host]:port` for another port)").required(),
        Opt::str("key", "the known_hosts line: `<host[,ip]> <type> <base64>` (required when present)"),
        Opt::path("path", "the known_hosts file (created if needed; its folder must exist)")
            .default("~/.ssh/known_hosts"),
        Opt::bool("hash_host", "write the host name hashed").default("false"),
        Opt::str("state", "present: add the key; absent: remove it (all of the host's without `key`)")
            .choices(&["absent", "present"])
            .default("present"),
    ]],
    aliases: &[("host", "name")],
    ..ArgSpec::NONE
};

pub struct KnownHosts;

/// A known_hosts line in ansible-core's normalized form (marker, host field, type, key).
#[derive(Debug, Clone, PartialEq)]
pub struct HostKey {
    pub marker: Option<String>,
    pub host: String,
    pub kind: String,
    pub key: String,
}

/// ansible-core's `normalize_known_hosts_key`; None when the line has too few fields.
pub fn normalize(line: &str) -> Option<HostKey> {
    let k: Vec<&str> = line.split_whitespace().collect();
    let (marker, rest) = match k.first() {
        Some(m) if m.starts_with('@') => (Some(m.to_string()), &k[1..]),
        _ => (None, &k[..]),
    };
    match rest {
        [host, kind, key, ..] => {
            Some(HostKey { marker, host: host.to_string(), kind: kind.to_string(), key: key.to_string() })
        }
        _ => None,
    }
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len().min(64)].copy_from_slice(&key[..key.len().min(64)]);
    let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha1::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha1::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

/// ansible-core's `hash_host_key`: the host field becomes `|1|base64(salt)|base64(hmac)`.
pub fn hash_host_key(host: &str, key: &str, salt: &[u8; 20]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let hashed = format!("|1|{}|{}", b64.encode(salt), b64.encode(hmac_sha1(salt, host.as_bytes())));
    let mut parts: Vec<String> = key.split_whitespace().map(String::from).collect();
    let at = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    if let Some(p) = parts.get_mut(at) {
        *p = hashed;
    }
    parts.join(" ")
}

/// What `ssh-keygen -F` said about the file (ansible-core's `search_for_host_key`).
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub found: bool,
    /// The file holds the host with another key than the one given.
    pub replace_or_add: bool,
    /// The line (1-based) holding the same key, or another key of the same type.
    pub line: Option<usize>,
    /// Every line of the host (what `absent` without a key removes).
    pub all_lines: Vec<usize>,
}

/// Read `ssh-keygen -F` output (stdout and stderr together) and its exit code.
pub fn search(out: &str, rc: i32, key: Option<&str>) -> Result<Found, String> {
    if out.trim().is_empty() && (rc == 0 || rc == 1) {
        return Ok(Found::default());
    }
    if rc != 0 {
        return Err(format!("ssh-keygen failed (rc={rc}, stdout='{out}',stderr='')"));
    }
    let line_of = |l: &str| {
        l.split("found: line ").nth(1).and_then(|n| n.split_whitespace().next()).and_then(|n| n.parse::<usize>().ok())
    };
    let all_lines: Vec<usize> = out.lines().filter(|l| l.starts_with('#')).filter_map(line_of).collect();
    let mut f = Found { found: true, all_lines, ..Found::default() };
    let Some(key) = key else { return Ok(f) };
    let mut new = normalize(key).ok_or_else(|| format!("invalid key specified: {}", key.trim()))?;
    let mut at = None;
    for l in out.lines().filter(|l| !l.is_empty()) {
        if l.starts_with('#') {
            at =
                Some(line_of(l).ok_or_else(|| format!("failed to parse output of ssh-keygen for line number: '{l}'"))?);
            continue;
        }
        let Some(old) = normalize(l) else { continue };
        if new.host.starts_with("|1|") && old.host.starts_with("|1|") {
            new.host = old.host.clone();
        }
        if new == old {
            f.line = at;
            return Ok(f);
        }
        if new.kind == old.kind {
            f.replace_or_add = true;
            f.line = at;
            return Ok(f);
        }
    }
    f.replace_or_add = true;
    Ok(f)
}

/// The file after the change (ansible-core's `compute_diff`, which is also what it writes),
/// or None when nothing changes.
pub fn after(before: &str, f: &Found, present: bool, key: Option<&str>) -> Option<String> {
    let mut lines: Vec<&str> = before.split_inclusive('\n').collect();
    match (present, key) {
        (false, None) if f.found => {
            let mut n = 0;
            lines.retain(|_| {
                n += 1;
                !f.all_lines.contains(&n)
            });
        }
        (false, None) => return None,
        (false, Some(_)) if f.line.is_none() => return None,
        (true, _) if f.found && !f.replace_or_add => return None,
        _ => {
            if let Some(n) = f.line.filter(|n| (1..=lines.len()).contains(n)) {
                lines.remove(n - 1);
            }
        }
    }
    let mut out = lines.concat();
    if present {
        if !out.is_empty() && !out.ends_with('\n') {
            // Ansible appends after the last line as it is; keep the file's lines apart.
            out.push('\n');
        }
        out.push_str(key.unwrap_or_default());
    }
    Some(out)
}

/// The path as a shell word: a leading `~` is the remote user's `$HOME`.
fn path_word(path: &str) -> String {
    match path.strip_prefix('~') {
        Some("") => "\"$HOME\"".into(),
        Some(rest) if rest.starts_with('/') => format!("\"$HOME\"{}", quote(rest)),
        _ => quote(path),
    }
}

/// The query script: `ssh-keygen` present, the key checked against the host, the file searched.
pub fn script(host: &str, key: Option<&str>, path: &str) -> String {
    let (h, p) = (quote(host), path_word(path));
    let mut s = String::from(
        "command -v ssh-keygen >/dev/null 2>&1 || { echo 'Failed to find required executable \"ssh-keygen\" in paths' >&2; exit 127; }\n",
    );
    s.push_str(&format!("{}\nprintf '%s\\n' {p}\n", section("path")));
    if let Some(k) = key {
        s.push_str(&format!(
            "{}\nt=$(mktemp) || exit 1\nprintf '%s' {} > \"$t\"\nssh-keygen -F {h} -f \"$t\" 2>/dev/null\nrm -f \"$t\"\n",
            section("sanity"),
            quote(k)
        ));
    }
    s.push_str(&format!(
        "{}\nif [ -e {p} ]; then ssh-keygen -F {h} -f {p} 2>&1; rc=$?; else rc=0; fi\n{}\necho $rc\n",
        section("search"),
        section("rc")
    ));
    s
}

/// What Ansible's `exit_json` adds for a result with a `path` (`add_path_info`).
fn path_info(r: &mut Map, facts: Option<&crate::facts::FileFacts>) {
    let Some(f) = facts else {
        r.insert("state".into(), "absent".into());
        return;
    };
    r.insert("uid".into(), f.uid.into());
    r.insert("gid".into(), f.gid.into());
    r.insert("owner".into(), f.owner.clone().into());
    r.insert("group".into(), f.group.clone().into());
    r.insert("mode".into(), format!("0{:03o}", f.mode & 0o7777).into());
    r.insert("state".into(), "file".into());
    r.insert("size".into(), f.size.into());
}

struct Planned {
    write: Query,
}

#[async_trait]
impl Module for KnownHosts {
    fn name(&self) -> &'static str {
        "known_hosts"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("known_hosts", args, &SPEC)?;
        let name = a.req_str("name")?;
        let host = name.to_lowercase();
        let path = a.str("path")?.unwrap_or_else(|| "~/.ssh/known_hosts".into());
        let hash_host = a.bool("hash_host", false)?;
        let present = a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present";
        let given = a.str("key")?.filter(|k| !k.is_empty());
        if given.is_none() && present {
            return Err(a.error("No key specified when adding a host"));
        }
        let key = given.as_ref().map(|k| {
            let k = if hash_host { hash_host_key(&host, k, &rand::random()) } else { k.clone() };
            if k.ends_with('\n') {
                k
            } else {
                format!("{k}\n")
            }
        });
        if key.is_some() && regex::Regex::new(r"\S+(\s+)?,(\s+)?").expect("valid").is_match(&host) {
            return Err(a.error(
                "Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.",
            ));
        }
        let out = cx.run(Cmd::new(script(&host, key.as_deref(), &path)).read_only()).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
        }
        let parts = sections(&out.stdout_text());
        let part = |n: &str| parts.get(n).cloned().unwrap_or_default();
        if key.is_some() && part("sanity").trim().is_empty() {
            return Err(ModuleError::failed("Host parameter does not match hashed host field in supplied key"));
        }
        let rc = part("rc").trim().parse::<i32>().unwrap_or(-1);
        let found = search(&part("search"), rc, key.as_deref()).map_err(ModuleError::failed)?;
        let real_path = part("path").trim_end_matches('\n').to_string();
        let mut q = Query::ok();
        q.result.insert("name".into(), name.into());
        q.result.insert("key".into(), given.map_or(Value::Null, Value::from));
        q.result.insert("path".into(), real_path.clone().into());
        q.result.insert("hash_host".into(), hash_host.into());
        q.result.insert("state".into(), if present { "present" } else { "absent" }.into());
        let file = read_text(cx, &real_path).await?;
        let before = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default()).into_owned();
        path_info(&mut q.result, file.facts.exists().then_some(&file.facts));
        let Some(new) = after(&before, &found, present, key.as_deref()) else { return Ok(q) };
        let write = query_write(
            cx,
            &file.facts,
            &Content::Bytes(new.as_bytes()),
            &Attrs::default(),
            &WriteOpts::default(),
            true,
        )
        .await?;
        q.changed = true;
        q.diff = Some(Diff { path: real_path, before, after: new });
        q.change = Change::new(Planned { write });
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("known_hosts")?;
        apply_write(cx, p.write).await?;
        let path = q.result.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
        let out = cx.run(Cmd::new(format!("stat -c '%u %g %U %G %a %s' -- {}", quote(&path))).read_only()).await?;
        let line = out.stdout_text();
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [uid, gid, owner, group, mode, size] = f[..] {
            let facts = crate::facts::FileFacts {
                kind: crate::facts::FileKind::File,
                uid: uid.parse().unwrap_or(0),
                gid: gid.parse().unwrap_or(0),
                owner: owner.into(),
                group: group.into(),
                mode: u32::from_str_radix(mode, 8).unwrap_or(0),
                size: size.parse().unwrap_or(0),
                ..Default::default()
            };
            path_info(&mut q.result, Some(&facts));
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne\n";
    const K2: &str = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo\n";
    const R: &str = "example.org ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRsa\n";

    fn keygen(line: usize, text: &str) -> String {
        format!("# Host example.org found: line {line} \n{text}")
    }

    #[test]
    fn hashes_as_openssh_does() {
        // `ssh-keygen -H` of "example.org" with this salt gives this hash.
        let salt = [7u8; 20];
        let line = hash_host_key("example.org", K1, &salt);
        assert_eq!(
            line,
            "|1|BwcHBwcHBwcHBwcHBwcHBwcHBwc=|HTGl26Rkk7IRnhiMGf3loDPi+KU= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne"
        );
        let marked = hash_host_key("example.org", &format!("@revoked {K1}"), &salt);
        assert!(marked.starts_with("@revoked |1|"), "{marked}");
    }

    #[test]
    fn searches_and_edits_as_ansible() {
        let none = search("", 1, Some(K1)).unwrap();
        assert_eq!(none, Found::default());
        assert_eq!(after("other x y\n", &none, true, Some(K1)).unwrap(), format!("other x y\n{K1}"));
        let same = search(&keygen(2, K1), 0, Some(K1)).unwrap();
        assert_eq!((same.found, same.replace_or_add, same.line), (true, false, Some(2)));
        assert_eq!(after(&format!("a b c\n{K1}"), &same, true, Some(K1)), None, "present already");
        let other = search(&keygen(1, K1), 0, Some(K2)).unwrap();
        assert_eq!((other.replace_or_add, other.line), (true, Some(1)));
        assert_eq!(after(&format!("{K1}z y x\n"), &other, true, Some(K2)).unwrap(), format!("z y x\n{K2}"));
        let rsa = search(&keygen(1, K1), 0, Some(R)).unwrap();
        assert_eq!((rsa.replace_or_add, rsa.line), (true, None), "another type: appended");
        assert_eq!(after(K1, &rsa, true, Some(R)).unwrap(), format!("{K1}{R}"));
        assert_eq!(after(K1, &rsa, false, Some(R)), None, "absent: a key not there");
        assert_eq!(after(&format!("x y z\n{K1}"), &same, false, Some(K1)).unwrap(), "x y z\n");
        let all = search(&format!("{}{}", keygen(1, K1), keygen(3, R)), 0, None).unwrap();
        assert_eq!(all.all_lines, vec![1, 3]);
        assert_eq!(after(&format!("{K1}x y z\n{R}"), &all, false, None).unwrap(), "x y z\n");
        assert_eq!(after("x y z\n", &Found::default(), false, None), None);
        let hashed = "|1|abc=|def= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne\n";
        let mine = "|1|new=|other= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne\n";
        let f = search(&keygen(1, hashed), 0, Some(mine)).unwrap();
        assert_eq!((f.replace_or_add, f.line), (false, Some(1)), "a hashed line keeps its hash");
        assert!(search("boom", 255, Some(K1)).unwrap_err().starts_with("ssh-keygen failed (rc=255"));
    }

    #[test]
    fn script_expands_home_and_quotes() {
        let s = script("example.org", Some(K1), "~/.ssh/known_hosts");
        assert!(s.contains("printf '%s\\n' \"$HOME\"/.ssh/known_hosts"), "{s}");
        assert!(s.contains("ssh-keygen -F example.org -f \"$HOME\"/.ssh/known_hosts"), "{s}");
        let s = script("h", None, "/etc/ssh/x y");
        assert!(s.contains("'/etc/ssh/x y'") && !s.contains("sanity"), "{s}");
    }

    #[tokio::test]
    async fn edits_a_local_file_with_ssh_keygen() {
        use crate::modules::testutil::Harness;
        use serde_json::json;
        let h = Harness::new();
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("known_hosts");
        let key = "h.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBXAmdVcWmOnw2aPbJlsvTgSCMrQUfujJeNpdXWkdvjs";
        let args = json!({"name": "H.example", "key": key, "path": f, "hash_host": true});
        let (changed, r) = h.run(&KnownHosts, args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!((r["state"].clone(), r["mode"].clone()), (json!("file"), json!("0644")));
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("|1|") && text.ends_with("pdXWkdvjs\n"), "{text}");
        let (changed, _) = h.run(&KnownHosts, args).await.unwrap();
        assert!(!changed, "the hashed line is found");
        let err = h.run(&KnownHosts, json!({"name": "other.example", "key": key, "path": f})).await.unwrap_err();
        assert!(err.to_string().contains("Host parameter does not match hashed host field in supplied key"), "{err}");
        let err = h.run(&KnownHosts, json!({"name": "h.example", "path": f})).await.unwrap_err();
        assert!(err.to_string().contains("No key specified when adding a host"), "{err}");
        let (changed, _) =
            h.run(&KnownHosts, json!({"name": "h.example", "path": f, "state": "absent"})).await.unwrap();
        assert!(changed);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "");
    }
}
