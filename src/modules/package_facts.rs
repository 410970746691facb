//! `package_facts`: the installed packages as the fact `packages` (name → list of
//! `{name, version, arch, source, ...}`), from dpkg (`source: apt`, as Ansible names it) or rpm,
//! in one command. Reads only. Ansible's `apt` manager needs python3-apt on the host; troupe
//! reads `dpkg-query` directly, so `origin` (an apt repository property) is not given and
//! `category` is the installed package's section (python3-apt gives the apt cache's).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::sections;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::Cmd;
use crate::value::{Map, Value};

const MANAGERS: [&str; 8] = ["auto", "rpm", "apk", "portage", "pkg", "pacman", "apt", "pkg_info"];

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("manager", "package managers to read (troupe reads `apt` (dpkg) and `rpm`)").default("['auto']"),
        Opt::str("strategy", "read the first manager found, or all").choices(&["first", "all"]).default("first"),
    ]],
    ..ArgSpec::NONE
};

pub struct PackageFacts;

fn script(apt: bool, rpm: bool, all: bool) -> String {
    let stop = if all { "" } else { "exit 0;" };
    let mut s = String::from("export LANG=C LC_ALL=C\n");
    if apt {
        s.push_str(&format!(
            "if command -v dpkg-query >/dev/null 2>&1; then echo '@@troupe:apt@@'; \
             dpkg-query -W -f='${{db:Status-Abbrev}}\\t${{Package}}\\t${{Version}}\\t${{Architecture}}\\t${{Section}}\\n'; {stop} fi\n"
        ));
    }
    if rpm {
        s.push_str(
            "if command -v rpm >/dev/null 2>&1; then echo '@@troupe:rpm@@'; \
             rpm -qa --qf '%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\n'; fi\n",
        );
    }
    s
}

/// The `packages` fact from the script's sections.
pub fn parse(parts: &std::collections::HashMap<String, String>) -> Map {
    let mut packages = Map::new();
    let mut add = |name: &str, p: Map| {
        if let Value::Array(list) = packages.entry(name.to_string()).or_insert_with(|| Value::Array(Vec::new())) {
            list.push(Value::Object(p));
        }
    };
    for line in parts.get("apt").map(String::as_str).unwrap_or("").lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [status, name, version, arch, section] = f[..] else { continue };
        if !status.starts_with("ii") {
            continue;
        }
        let mut p = Map::new();
        p.insert("name".into(), name.into());
        p.insert("version".into(), version.into());
        p.insert("arch".into(), arch.into());
        p.insert("category".into(), section.into());
        p.insert("source".into(), "apt".into());
        add(name, p);
    }
    for line in parts.get("rpm").map(String::as_str).unwrap_or("").lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, version, release, epoch, arch] = f[..] else { continue };
        let mut p = Map::new();
        p.insert("name".into(), name.into());
        p.insert("version".into(), version.into());
        p.insert("release".into(), release.into());
        p.insert("epoch".into(), epoch.parse::<i64>().map(Value::from).unwrap_or(Value::Null));
        p.insert("arch".into(), arch.into());
        p.insert("source".into(), "rpm".into());
        add(name, p);
    }
    packages
}

#[async_trait]
impl Module for PackageFacts {
    fn name(&self) -> &'static str {
        "package_facts"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("package_facts", args, &SPEC)?;
        let managers = a.list("manager")?.unwrap_or_else(|| vec!["auto".into()]);
        if let Some(bad) = managers.iter().find(|m| !MANAGERS.contains(&m.as_str())) {
            return Err(a.error(format_args!(
                "value of manager must be one or more of: {}. Got no match for: {bad}",
                MANAGERS.join(", ")
            )));
        }
        let auto = managers.iter().any(|m| m == "auto");
        let want = |m: &str| auto || managers.iter().any(|x| x == m);
        let all = a.choice("strategy", &["first", "all"])? == Some("all");
        let out = cx.run(Cmd::new(script(want("apt"), want("rpm"), all)).read_only()).await?;
        let packages = parse(&sections(&out.stdout_text()));
        if packages.is_empty() {
            return Err(ModuleError::failed(format!(
                "Could not detect a supported package manager from the following list: {managers:?}, or the required Python library is not installed. Check warnings for details."
            )));
        }
        let facts = Map::from_iter([("packages".to_string(), Value::Object(packages))]);
        Ok(Query::ok().with_facts(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn packages_from_dpkg_and_rpm() {
        let out = "@@troupe:apt@@\nii \tbash\t5.2.15-2+b2\tamd64\tshells\nrc \told\t1\tamd64\tx\n\
                   @@troupe:rpm@@\nkernel\t6.1\t1.el9\t(none)\tx86_64\nkernel\t6.2\t1.el9\t(none)\tx86_64\n";
        let p = Value::Object(parse(&sections(out)));
        assert_eq!(
            p["bash"],
            json!([{"name": "bash", "version": "5.2.15-2+b2", "arch": "amd64", "category": "shells", "source": "apt"}])
        );
        assert!(p.get("old").is_none());
        assert_eq!(p["kernel"].as_array().unwrap().len(), 2);
        assert_eq!(p["kernel"][0]["epoch"], Value::Null);
        assert!(script(true, true, false).contains("exit 0;"));
    }
}
