//! `group`: local groups via `getent`, `groupadd`, `groupmod`, `groupdel`.

use crate::modules::Change;
use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::run_ok;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::Map;

pub struct Group;

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the group").required(),
        Opt::str("state", "whether the group exists").choices(&["absent", "present"]).default("present"),
        Opt::int("gid", "its group id"),
        Opt::bool("system", "a system group (when created)").default("false"),
        Opt::bool("non_unique", "allow a gid another group has").default("false"),
    ]],
    ..ArgSpec::NONE
};

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub name: String,
    pub present: bool,
    pub gid: Option<i64>,
    pub system: bool,
    pub non_unique: bool,
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("group", raw, &SPEC)?;
        Ok(Want {
            name: a.req_str("name")?,
            present: a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present",
            gid: a.int("gid")?,
            system: a.bool("system", false)?,
            non_unique: a.bool("non_unique", false)?,
        })
    }
}

/// A `getent group` line: (gid, members).
pub fn parse_getent(line: &str) -> Option<(i64, Vec<String>)> {
    let f: Vec<&str> = line.trim().split(':').collect();
    let gid = f.get(2)?.parse().ok()?;
    let members =
        f.get(3).map(|m| m.split(',').filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default();
    Some((gid, members))
}

/// The command that makes the group match `want`, given its current gid; None when it matches.
pub fn plan(want: &Want, current: Option<i64>) -> Option<String> {
    let n = quote(&want.name);
    match (want.present, current) {
        (false, None) => None,
        (false, Some(_)) => Some(format!("groupdel {n}")),
        (true, None) => {
            let mut c = String::from("groupadd");
            if let Some(g) = want.gid {
                c.push_str(&format!(" -g {g}"));
                if want.non_unique {
                    c.push_str(" -o");
                }
            }
            if want.system {
                c.push_str(" -r");
            }
            Some(format!("{c} {n}"))
        }
        (true, Some(gid)) => match want.gid {
            Some(g) if g != gid => Some(format!("groupmod -g {g}{} {n}", if want.non_unique { " -o" } else { "" })),
            _ => None,
        },
    }
}

fn result(want: &Want, gid: Option<i64>) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), want.name.clone().into());
    m.insert("state".into(), if want.present { "present" } else { "absent" }.into());
    if want.present {
        if let Some(g) = gid.or(want.gid) {
            m.insert("gid".into(), g.into());
        }
        m.insert("system".into(), want.system.into());
    }
    m
}

#[async_trait]
impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        let out = cx.run(Cmd::new(format!("getent group {} || true", quote(&want.name)))).await?;
        let current = parse_getent(&out.stdout_text()).map(|(g, _)| g);
        let cmd = plan(&want, current);
        let gid = if want.present { want.gid.or(current) } else { None };
        let mut q = Query { changed: cmd.is_some(), result: result(&want, gid), ..Query::default() };
        if let Some(cmd) = cmd {
            q.change = Change::new(cmd);
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let want = Want::parse(args)?;
        let cmd: String = q.change.take("group")?;
        let script = format!("{cmd} || exit $?\ngetent group {} || true", quote(&want.name));
        let out = run_ok(cx, Cmd::new(script), &format!("{} failed", cmd.split(' ').next().unwrap_or("group"))).await?;
        let gid = parse_getent(&out.stdout_text()).map(|(g, _)| g);
        Ok(result(&want, gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{is_root, Harness};
    use serde_json::json;

    fn want(v: serde_json::Value) -> Want {
        Want::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn golden_commands() {
        assert_eq!(plan(&want(json!({"name": "etcd"})), None).as_deref(), Some("groupadd etcd"));
        assert_eq!(
            plan(&want(json!({"name": "etcd", "gid": 990, "system": true})), None).as_deref(),
            Some("groupadd -g 990 -r etcd")
        );
        assert_eq!(plan(&want(json!({"name": "etcd", "gid": 990})), Some(990)), None);
        assert_eq!(
            plan(&want(json!({"name": "etcd", "gid": 991})), Some(990)).as_deref(),
            Some("groupmod -g 991 etcd")
        );
        assert_eq!(plan(&want(json!({"name": "etcd"})), Some(5)), None);
        assert_eq!(plan(&want(json!({"name": "etcd", "state": "absent"})), Some(5)).as_deref(), Some("groupdel etcd"));
        assert_eq!(plan(&want(json!({"name": "etcd", "state": "absent"})), None), None);
        assert_eq!(parse_getent("etcd:x:990:a,b\n"), Some((990, vec!["a".into(), "b".into()])));
    }

    #[tokio::test]
    async fn real_group_lifecycle_is_idempotent() {
        if !is_root() {
            return;
        }
        let h = Harness::new();
        let name = format!("troupe_test_{}", rand::random::<u32>() % 1_000_000);
        let present = json!({"name": name, "system": true});
        let (changed, res) = h.run(&Group, present.clone()).await.unwrap();
        assert!(changed);
        assert!(res["gid"].as_i64().is_some());
        let (changed, _) = h.run(&Group, present.clone()).await.unwrap();
        assert!(!changed, "second run must be ok");
        let absent = json!({"name": name, "state": "absent"});
        assert!(h.run(&Group, absent.clone()).await.unwrap().0);
        assert!(!h.run(&Group, absent.clone()).await.unwrap().0);
    }
}
