//! `user`: local accounts via `getent`/`id`, `useradd`, `usermod`, `userdel`.
//!
//! `password` is a crypt hash; it goes to `chpasswd -e` on stdin, never on a command line,
//! and results show `NOT_LOGGING_PASSWORD` as Ansible does.

use crate::modules::Change;
use std::collections::BTreeSet;

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{run_ok, section, sections};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::Map;

pub struct User;

const ALIASES: &[(&str, &str)] = &[("user", "name"), ("createhome", "create_home")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the user").required(),
        Opt::str("state", "whether the user exists").choices(&["absent", "present"]).default("present"),
        Opt::int("uid", "its user id"),
        Opt::str("group", "its primary group"),
        Opt::list("groups", "its supplementary groups (all of them, or added with `append`)"),
        Opt::bool("append", "add `groups` to those it has").default("false"),
        Opt::path("home", "its home folder"),
        Opt::str("shell", "its login shell"),
        Opt::bool("system", "a system account (when created)").default("false"),
        Opt::bool("create_home", "create the home folder (when created)").default("true"),
        Opt::str("comment", "the GECOS field"),
        Opt::str("password", "the password hash (crypt format)"),
        Opt::str("update_password", "`always` sets `password`; `on_create` only for a new user")
            .choices(&["always", "on_create"])
            .default("always"),
        Opt::bool("remove", "with `state=absent`: remove its home and mail too").default("false"),
        Opt::bool("force", "with `state=absent`: remove even while logged in").default("false"),
        Opt::bool("move_home", "move the old home's content when `home` changes").default("false"),
        Opt::bool("non_unique", "allow a uid another user has").default("false"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub name: String,
    pub present: bool,
    pub uid: Option<i64>,
    pub group: Option<String>,
    /// None: leave supplementary groups alone; Some(empty): remove all (without append).
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub system: bool,
    pub create_home: bool,
    pub comment: Option<String>,
    pub password: Option<String>,
    pub update_always: bool,
    pub remove: bool,
    pub force: bool,
    pub move_home: bool,
    pub non_unique: bool,
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("user", raw, &SPEC)?;
        Ok(Want {
            name: a.req_str("name")?,
            present: a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present",
            uid: a.int("uid")?,
            group: a.str("group")?,
            groups: a.list("groups")?,
            append: a.bool("append", false)?,
            home: a.str("home")?,
            shell: a.str("shell")?,
            system: a.bool("system", false)?,
            create_home: a.bool("create_home", true)?,
            comment: a.str("comment")?,
            password: a.str("password")?,
            update_always: a.choice("update_password", &["always", "on_create"])?.unwrap_or("always") == "always",
            remove: a.bool("remove", false)?,
            force: a.bool("force", false)?,
            move_home: a.bool("move_home", false)?,
            non_unique: a.bool("non_unique", false)?,
        })
    }

    /// One script: passwd entry, group ids, the named groups, and the hash when needed.
    pub fn query_script(&self) -> String {
        let n = quote(&self.name);
        let mut names: Vec<String> = self.groups.clone().unwrap_or_default();
        names.extend(self.group.clone());
        let mut s = format!("{}\ngetent passwd {n}\n{}\nid -G {n} 2>/dev/null\n", section("passwd"), section("ids"));
        s.push_str(&section("groups"));
        s.push('\n');
        if !names.is_empty() {
            let words: Vec<String> = names.iter().map(|g| quote(g)).collect();
            s.push_str(&format!("getent group {}\n", words.join(" ")));
        }
        if self.password.is_some() {
            s.push_str(&format!("{}\ngetent shadow {n} | cut -d: -f2\n", section("shadow")));
        }
        s.push_str("exit 0\n");
        s
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    pub uid: i64,
    pub gid: i64,
    pub comment: String,
    pub home: String,
    pub shell: String,
}

pub fn parse_passwd(line: &str) -> Option<Account> {
    let f: Vec<&str> = line.trim().split(':').collect();
    if f.len() < 7 {
        return None;
    }
    Some(Account {
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        comment: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub account: Option<Account>,
    /// All group ids of the user (`id -G`), primary included.
    pub gids: BTreeSet<i64>,
    /// `getent group` lines of the requested groups: (name, gid).
    pub groups: Vec<(String, i64)>,
    pub hash: Option<String>,
}

pub fn parse_facts(stdout: &str) -> Facts {
    let sec = sections(stdout);
    let get = |k: &str| sec.get(k).map(String::as_str).unwrap_or("");
    Facts {
        account: parse_passwd(get("passwd")),
        gids: get("ids").split_whitespace().filter_map(|g| g.parse().ok()).collect(),
        groups: get("groups")
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some((f.first()?.to_string(), f.get(2)?.parse().ok()?))
            })
            .collect(),
        hash: sec.get("shadow").map(|s| s.trim().to_string()),
    }
}

/// A group given by name or number, resolved against what the host has.
fn resolve(facts: &Facts, group: &str) -> Result<i64, ModuleError> {
    facts
        .groups
        .iter()
        .find(|(n, gid)| n == group || gid.to_string() == group)
        .map(|(_, gid)| *gid)
        .ok_or_else(|| ModuleError::failed(format!("Group {group} does not exist")))
}

/// The change to make: a script and whether it reads the password hash from stdin.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub script: String,
    pub set_password: bool,
}

pub fn plan(want: &Want, facts: &Facts, check_mode: bool) -> Result<Option<Plan>, ModuleError> {
    let n = quote(&want.name);
    if !want.present {
        if facts.account.is_none() {
            return Ok(None);
        }
        let flags = format!("{}{}", if want.remove { " -r" } else { "" }, if want.force { " -f" } else { "" });
        return Ok(Some(Plan { script: format!("userdel{flags} {n}"), set_password: false }));
    }
    // Like Ansible, check mode predicts a new account without looking its groups up: an earlier
    // task of the same run may be the one that creates them.
    let lenient = check_mode && facts.account.is_none();
    let primary = want.group.as_deref().filter(|_| !lenient).map(|g| resolve(facts, g)).transpose()?;
    let wanted: Option<BTreeSet<i64>> = want
        .groups
        .as_ref()
        .filter(|_| !lenient)
        .map(|gs| gs.iter().map(|g| resolve(facts, g)).collect())
        .transpose()?;
    let groups_arg = || want.groups.clone().unwrap_or_default().join(",");
    let mut flags: Vec<String> = Vec::new();
    let mut set_password = false;
    match &facts.account {
        None => {
            if let Some(uid) = want.uid {
                flags.push(format!("-u {uid}"));
                if want.non_unique {
                    flags.push("-o".into());
                }
            }
            if let Some(g) = &want.group {
                flags.push(format!("-g {}", quote(g)));
            }
            if want.groups.as_ref().is_some_and(|g| !g.is_empty()) {
                flags.push(format!("-G {}", quote(&groups_arg())));
            }
            if let Some(h) = &want.home {
                flags.push(format!("-d {}", quote(h)));
            }
            if let Some(s) = &want.shell {
                flags.push(format!("-s {}", quote(s)));
            }
            if let Some(c) = &want.comment {
                flags.push(format!("-c {}", quote(c)));
            }
            if want.system {
                flags.push("-r".into());
            }
            flags.push(if want.create_home { "-m" } else { "-M" }.into());
            set_password = want.password.is_some();
            let mut script = format!("useradd {} {n}", flags.join(" "));
            if set_password {
                script.push_str(" && chpasswd -e");
            }
            return Ok(Some(Plan { script, set_password }));
        }
        Some(acct) => {
            if let Some(uid) = want.uid.filter(|u| *u != acct.uid) {
                flags.push(format!("-u {uid}"));
                if want.non_unique {
                    flags.push("-o".into());
                }
            }
            if let (Some(g), Some(gid)) = (&want.group, primary) {
                if gid != acct.gid {
                    flags.push(format!("-g {}", quote(g)));
                }
            }
            if let Some(wanted) = &wanted {
                let primary_gid = primary.unwrap_or(acct.gid);
                let current: BTreeSet<i64> = facts.gids.iter().copied().filter(|g| *g != primary_gid).collect();
                let wanted: BTreeSet<i64> = wanted.iter().copied().filter(|g| *g != primary_gid).collect();
                let differs = if want.append { !wanted.is_subset(&current) } else { wanted != current };
                if differs {
                    if want.append {
                        flags.push("-a".into());
                    }
                    flags.push(format!("-G {}", quote(&groups_arg())));
                }
            }
            if let Some(h) = want.home.as_ref().filter(|h| **h != acct.home) {
                flags.push(format!("-d {}", quote(h)));
                if want.move_home {
                    flags.push("-m".into());
                }
            }
            if let Some(s) = want.shell.as_ref().filter(|s| **s != acct.shell) {
                flags.push(format!("-s {}", quote(s)));
            }
            if let Some(c) = want.comment.as_ref().filter(|c| **c != acct.comment) {
                flags.push(format!("-c {}", quote(c)));
            }
            if let Some(p) = &want.password {
                set_password = want.update_always && facts.hash.as_deref() != Some(p.as_str());
            }
        }
    }
    let mut parts = Vec::new();
    if !flags.is_empty() {
        parts.push(format!("usermod {} {n}", flags.join(" ")));
    }
    if set_password {
        parts.push("chpasswd -e".into());
    }
    Ok((!parts.is_empty()).then(|| Plan { script: parts.join(" && "), set_password }))
}

/// The result Ansible reports, from the wanted state overlaid on the account when known.
fn result(want: &Want, acct: Option<&Account>) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), want.name.clone().into());
    m.insert("state".into(), if want.present { "present" } else { "absent" }.into());
    if !want.present {
        m.insert("force".into(), want.force.into());
        m.insert("remove".into(), want.remove.into());
        return m;
    }
    if let Some(a) = acct {
        m.insert("uid".into(), a.uid.into());
        m.insert("group".into(), a.gid.into());
        m.insert("home".into(), a.home.clone().into());
        m.insert("shell".into(), a.shell.clone().into());
        m.insert("comment".into(), a.comment.clone().into());
    }
    if let Some(g) = &want.groups {
        m.insert("groups".into(), g.join(",").into());
    }
    m.insert("append".into(), want.append.into());
    m.insert("move_home".into(), want.move_home.into());
    m.insert("system".into(), want.system.into());
    m.insert("create_home".into(), want.create_home.into());
    if want.password.is_some() {
        m.insert("password".into(), "NOT_LOGGING_PASSWORD".into());
    }
    m
}

/// The account as it will be after the change (for check mode and the query's result).
fn predicted(want: &Want, acct: Option<&Account>) -> Option<Account> {
    let mut a = acct.cloned()?;
    if let Some(uid) = want.uid {
        a.uid = uid;
    }
    if let Some(h) = &want.home {
        a.home = h.clone();
    }
    if let Some(s) = &want.shell {
        a.shell = s.clone();
    }
    if let Some(c) = &want.comment {
        a.comment = c.clone();
    }
    Some(a)
}

#[async_trait]
impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        let out = cx.run(Cmd::new(want.query_script())).await?;
        let facts = parse_facts(&out.stdout_text());
        let p = plan(&want, &facts, cx.check_mode)?;
        let mut q = Query {
            changed: p.is_some(),
            result: result(&want, predicted(&want, facts.account.as_ref()).as_ref()),
            ..Query::default()
        };
        if let Some(p) = p {
            q.change = Change::new(p);
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let want = Want::parse(args)?;
        let p: Plan = q.change.take("user")?;
        let mut cmd = Cmd::new(format!("{} || exit $?\ngetent passwd {} || true", p.script, quote(&want.name)));
        if p.set_password {
            let hash = want.password.clone().unwrap_or_default();
            cmd = cmd.stdin(format!("{}:{hash}\n", want.name).into_bytes());
        }
        let verb = p.script.split(' ').next().unwrap_or("user");
        let out = run_ok(cx, cmd, &format!("{verb} failed")).await?;
        Ok(result(&want, parse_passwd(&out.stdout_text()).as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{is_root, Harness};
    use crate::value::Value;
    use serde_json::json;

    fn want(v: Value) -> Want {
        Want::parse(v.as_object().unwrap()).unwrap()
    }

    const EXISTING: &str = "@@troupe:passwd@@\netcd:x:990:990:etcd user:/var/lib/etcd:/sbin/nologin\n@@troupe:ids@@\n990 27\n@@troupe:groups@@\netcd:x:990:\nsudo:x:27:etcd\nadm:x:4:\n@@troupe:shadow@@\n$6$abc\n";

    #[test]
    fn parses_query_output() {
        let f = parse_facts(EXISTING);
        assert_eq!(f.account.as_ref().map(|a| a.uid), Some(990));
        assert_eq!(f.gids, BTreeSet::from([990, 27]));
        assert_eq!(f.groups.len(), 3);
        assert_eq!(f.hash.as_deref(), Some("$6$abc"));
    }

    #[test]
    fn golden_create_and_modify() {
        let none = Facts { groups: vec![("etcd".into(), 990)], ..Facts::default() };
        let w = want(
            json!({"name": "etcd", "group": "etcd", "system": true, "shell": "/sbin/nologin", "create_home": false, "password": "$6$x"}),
        );
        let p = plan(&w, &none, false).unwrap().unwrap();
        assert_eq!(p.script, "useradd -g etcd -s /sbin/nologin -r -M etcd && chpasswd -e");
        assert!(p.set_password);
        assert!(!p.script.contains("$6$x"), "hash never on the command line");

        let f = parse_facts(EXISTING);
        let same = want(
            json!({"name": "etcd", "group": "etcd", "groups": ["sudo"], "home": "/var/lib/etcd", "password": "$6$abc"}),
        );
        assert_eq!(plan(&same, &f, false).unwrap(), None);
        let more = want(json!({"name": "etcd", "groups": "sudo,adm", "append": true, "shell": "/bin/sh"}));
        assert_eq!(plan(&more, &f, false).unwrap().unwrap().script, "usermod -a -G sudo,adm -s /bin/sh etcd");
        let fewer = want(json!({"name": "etcd", "groups": ""}));
        assert_eq!(plan(&fewer, &f, false).unwrap().unwrap().script, "usermod -G '' etcd");
        let on_create = want(json!({"name": "etcd", "password": "$6$new", "update_password": "on_create"}));
        assert_eq!(plan(&on_create, &f, false).unwrap(), None);
        let gone = want(json!({"name": "etcd", "state": "absent", "remove": true}));
        assert_eq!(plan(&gone, &f, false).unwrap().unwrap().script, "userdel -r etcd");
    }

    #[test]
    fn missing_group_fails_with_its_name() {
        let f = parse_facts(EXISTING);
        let w = want(json!({"name": "etcd", "groups": ["nosuch"]}));
        assert!(plan(&w, &f, false).unwrap_err().to_string().contains("Group nosuch does not exist"));
        // Check mode still fails for an existing account, like Ansible's usermod path...
        assert!(plan(&w, &f, true).is_err());
        // ...but predicts a new account whose group an earlier task would create.
        let new = want(json!({"name": "web", "group": "web", "groups": ["nosuch"]}));
        let none = parse_facts("@@troupe:groups@@\nadm:x:4:\n");
        assert!(plan(&new, &none, false).is_err());
        let p = plan(&new, &none, true).expect("check mode predicts").expect("a change");
        assert_eq!(p.script, "useradd -g web -G nosuch -m web");
    }

    #[test]
    fn password_is_never_in_results() {
        let w = want(json!({"name": "etcd", "password": "$6$secret"}));
        let r = serde_json::to_string(&result(&w, None)).unwrap();
        assert!(!r.contains("secret") && r.contains("NOT_LOGGING_PASSWORD"));
    }

    #[tokio::test]
    async fn real_user_lifecycle_is_idempotent() {
        if !is_root() {
            return;
        }
        let h = Harness::new();
        let name = format!("troupe_test_{}", rand::random::<u32>() % 1_000_000);
        let args = json!({"name": name, "system": true, "shell": "/bin/sh", "create_home": false,
                          "comment": "troupe test", "groups": ["daemon"], "password": "$6$salt$hash"});
        let (changed, res) = h.run(&User, args.clone()).await.unwrap();
        assert!(changed);
        assert!(res["uid"].as_i64().is_some());
        assert_eq!(res["shell"], "/bin/sh");
        let (changed, _) = h.run(&User, args.clone()).await.unwrap();
        assert!(!changed, "second run must be ok");
        let mut other = args.clone();
        other["shell"] = json!("/bin/false");
        assert!(h.run(&User, other.clone()).await.unwrap().0);
        let absent = json!({"name": name, "state": "absent"});
        assert!(h.run(&User, absent.clone()).await.unwrap().0);
        assert!(!h.run(&User, absent.clone()).await.unwrap().0);
    }
}
