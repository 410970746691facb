//! `dnf` (also `yum`): RPM packages. One query script asks `rpm -q` per name (`rpm -qa` for
//! `*` patterns) and, for `latest`, `dnf check-update`; one `dnf`/`yum` command applies.

use crate::modules::Change;
use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, output_result, section, sections};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

pub struct Dnf {
    pub name: &'static str,
}

pub const DNF: Dnf = Dnf { name: "dnf" };
pub const YUM: Dnf = Dnf { name: "yum" };

const ALIASES: &[(&str, &str)] = &[("pkg", "name"), ("expire-cache", "update_cache")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("name", "packages, `name-version` or `@group`"),
        Opt::str("state", "`present`/`installed`, `latest`, or `absent`/`removed`").choices(&[
            "absent",
            "installed",
            "latest",
            "present",
            "removed",
        ]),
        Opt::bool("update_cache", "refresh the metadata first").default("false"),
        Opt::list("enablerepo", "repositories enabled for this call"),
        Opt::list("disablerepo", "repositories disabled for this call"),
        Opt::bool("disable_gpg_check", "do not check package signatures").default("false"),
        Opt::bool("install_weak_deps", "install weak dependencies (unset: dnf's setting)"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

pub use super::apt::State;

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub names: Vec<String>,
    pub state: State,
    /// Options shared by every dnf/yum call (repos, gpg, weak deps, refresh).
    pub opts: Vec<String>,
}

impl Want {
    pub fn parse(module: &'static str, raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse(module, raw, &SPEC)?;
        let state = State::from_args(&a)?;
        let names = a.list("name")?.unwrap_or_default();
        if names.is_empty() {
            return Err(a.error("missing required arguments: name"));
        }
        let mut opts = Vec::new();
        // dnf applies these in order: disable first, as Ansible does, so `disablerepo: "*"` with
        // `enablerepo: x` leaves x enabled.
        for r in a.list("disablerepo")?.unwrap_or_default() {
            opts.push(format!("--disablerepo={}", quote(&r)));
        }
        for r in a.list("enablerepo")?.unwrap_or_default() {
            opts.push(format!("--enablerepo={}", quote(&r)));
        }
        if a.bool("disable_gpg_check", false)? {
            opts.push("--nogpgcheck".into());
        }
        if let Some(w) = a.opt_bool("install_weak_deps")? {
            opts.push(format!("--setopt=install_weak_deps={}", if w { "True" } else { "False" }));
        }
        if a.bool("update_cache", false)? {
            opts.push("--refresh".into());
        }
        Ok(Want { names, state, opts })
    }

    pub fn query_script(&self, tool: &str) -> String {
        let mut s = format!("{}\n", section("rpm"));
        for n in &self.names {
            let q = if n.contains(['*', '?']) { "rpm -qa" } else { "rpm -q" };
            s.push_str(&format!(
                "if {q} -- {w} 2>/dev/null | grep -qv 'is not installed'; then echo 1 {w}; else echo 0 {w}; fi\n",
                w = quote(n)
            ));
        }
        if self.state == State::Latest {
            let words: Vec<String> = self.names.iter().map(|n| quote(n)).collect();
            s.push_str(&format!(
                "{}\n{} -q check-update {} -- {} 2>/dev/null\n",
                section("updates"),
                tool_cmd(tool),
                self.opts.join(" "),
                words.join(" ")
            ));
        }
        s.push_str("exit 0\n");
        s
    }
}

/// `dnf` for the dnf module (falling back to yum) and the other way round for yum.
fn tool_cmd(module: &str) -> String {
    let (a, b) = if module == "yum" { ("yum", "dnf") } else { ("dnf", "yum") };
    format!("$(command -v {a} || command -v {b} || echo {a})")
}

/// Per requested name: installed or not; plus names with updates available.
pub fn parse_facts(stdout: &str) -> (Vec<(String, bool)>, Vec<String>) {
    let sec = sections(stdout);
    let installed = sec
        .get("rpm")
        .map(|t| t.lines().filter_map(|l| l.split_once(' ')).map(|(f, n)| (n.to_string(), f == "1")).collect())
        .unwrap_or_default();
    let updates = sec
        .get("updates")
        .map(|t| {
            t.lines()
                .filter(|l| !l.starts_with(' ') && l.split_whitespace().count() >= 3)
                .filter_map(|l| l.split_whitespace().next())
                .map(|na| na.rsplit_once('.').map(|(n, _)| n).unwrap_or(na).to_string())
                .collect()
        })
        .unwrap_or_default();
    (installed, updates)
}

/// The command lines to run, in order.
pub fn plan(want: &Want, tool: &str, installed: &[(String, bool)], updates: &[String]) -> Vec<String> {
    let is_installed = |n: &String| installed.iter().any(|(m, i)| m == n && *i);
    let missing: Vec<String> = want.names.iter().filter(|n| !is_installed(n)).map(|n| quote(n)).collect();
    let present: Vec<String> = want.names.iter().filter(|n| is_installed(n)).map(|n| quote(n)).collect();
    let opts = if want.opts.is_empty() { String::new() } else { format!(" {}", want.opts.join(" ")) };
    let base = tool_cmd(tool);
    let mut cmds = Vec::new();
    match want.state {
        State::Absent => {
            if !present.is_empty() {
                cmds.push(format!("{base} remove -y{opts} -- {}", present.join(" ")));
            }
        }
        State::Present | State::Latest => {
            if !missing.is_empty() {
                cmds.push(format!("{base} install -y{opts} -- {}", missing.join(" ")));
            }
            if want.state == State::Latest {
                let outdated: Vec<String> = want
                    .names
                    .iter()
                    .filter(|n| is_installed(n) && updates.iter().any(|u| u == *n || crate::glob::matches(n, u)))
                    .map(|n| quote(n))
                    .collect();
                if !outdated.is_empty() {
                    cmds.push(format!("{base} upgrade -y{opts} -- {}", outdated.join(" ")));
                }
            }
        }
    }
    cmds
}

/// Ansible's `results`: `Installed: <nevra>` / `Removed: <nevra>` per package. dnf prints a
/// header line (`Installed:`) and the packages indented below it, in columns.
pub fn transaction_results(stdout: &str) -> Vec<String> {
    let mut verb: Option<&str> = None;
    let mut done = Vec::new();
    for line in stdout.lines() {
        if !line.starts_with(' ') {
            verb = match line.trim_end() {
                "Installed:" | "Upgraded:" | "Reinstalled:" | "Downgraded:" => Some("Installed"),
                "Removed:" => Some("Removed"),
                _ => None,
            };
            continue;
        }
        if let Some(v) = verb {
            done.extend(line.split_whitespace().map(|p| format!("{v}: {p}")));
        }
    }
    done
}

#[async_trait]
impl Module for Dnf {
    fn name(&self) -> &'static str {
        self.name
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(self.name, args)?;
        let out = cx.run(Cmd::new(want.query_script(self.name))).await?;
        let (installed, updates) = parse_facts(&out.stdout_text());
        let cmds = plan(&want, self.name, &installed, &updates);
        let mut q = Query { changed: !cmds.is_empty(), ..Query::default() };
        q.result.insert("msg".into(), "".into());
        q.result.insert("rc".into(), 0.into());
        q.result.insert("results".into(), Value::Array(vec![]));
        q.change = Change::new(cmds);
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let cmds: Vec<String> = q.change.take(self.name)?;
        let script = cmds.iter().map(|c| format!("{c} || exit $?\n")).collect::<String>();
        let out = cx.run(Cmd::new(script)).await?;
        if out.rc != 0 {
            return Err(failed_with(format!("Failed to install/remove packages: {}", out.stderr_text().trim()), &out));
        }
        let mut r = output_result(&out);
        let done = transaction_results(&out.stdout_text()).into_iter().map(Value::String).collect();
        r.insert("results".into(), Value::Array(done));
        r.insert("msg".into(), "".into());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn want(v: Value) -> Want {
        Want::parse("dnf", v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn golden_query_and_parse() {
        let w = want(json!({"name": ["etcd", "lib*"], "state": "latest", "enablerepo": "epel"}));
        let s = w.query_script("dnf");
        assert!(s.contains("rpm -q -- etcd 2>/dev/null"));
        assert!(s.contains("rpm -qa -- 'lib*'"));
        assert!(s.contains("-q check-update --enablerepo=epel -- etcd 'lib*'"));
        let out = "@@troupe:rpm@@\n1 etcd\n0 lib*\n@@troupe:updates@@\n\netcd.x86_64    3.5.9-1.el9   epel\nObsoleting Packages\n";
        let (inst, upd) = parse_facts(out);
        assert_eq!(inst, vec![("etcd".to_string(), true), ("lib*".to_string(), false)]);
        assert_eq!(upd, vec!["etcd"]);
    }

    #[test]
    fn golden_plans() {
        let installed = vec![("etcd".to_string(), true), ("jq".to_string(), false)];
        let w = want(json!({"name": "etcd,jq", "disable_gpg_check": true}));
        let cmds = plan(&w, "dnf", &installed, &[]);
        assert_eq!(cmds, vec!["$(command -v dnf || command -v yum || echo dnf) install -y --nogpgcheck -- jq"]);
        let w = want(json!({"name": "etcd", "state": "latest"}));
        assert!(plan(&w, "yum", &installed, &[])[..].is_empty());
        assert_eq!(plan(&w, "yum", &installed, &["etcd".into()]).len(), 1);
        assert!(plan(&w, "yum", &installed, &["etcd".into()])[0]
            .contains("yum || command -v dnf || echo yum) upgrade -y -- etcd"));
        let w = want(json!({"name": ["etcd", "jq"], "state": "absent"}));
        assert_eq!(
            plan(&w, "dnf", &installed, &[]),
            vec!["$(command -v dnf || command -v yum || echo dnf) remove -y -- etcd"]
        );
        assert!(Want::parse("yum", json!({"state": "present"}).as_object().unwrap()).is_err());
    }

    #[test]
    fn results_from_real_dnf_output() {
        // dnf 4.14 on Debian 12, installing then removing with one transaction each.
        let install =
            "Running transaction\n  Preparing        :     1/1 \n  Installing       : a-1.0-1.noarch    1/1 \n\
            \nInstalled:\n  a-1.0-1.noarch               b-2-1.x86_64   \n  c-3-1.noarch\n\nComplete!\n";
        assert_eq!(
            transaction_results(install),
            vec!["Installed: a-1.0-1.noarch", "Installed: b-2-1.x86_64", "Installed: c-3-1.noarch"]
        );
        let remove = "Removing:\n a   noarch  1.0-1  @System  6\n\nRemoved:\n  a-1.0-1.noarch\n\nComplete!\n";
        assert_eq!(transaction_results(remove), vec!["Removed: a-1.0-1.noarch"]);
        assert!(transaction_results("Nothing to do.\nComplete!\n").is_empty());
    }

    #[test]
    fn repos_are_disabled_before_others_are_enabled() {
        let w = want(json!({"name": "x", "enablerepo": ["a", "b"], "disablerepo": "*"}));
        assert_eq!(w.opts, vec!["--disablerepo='*'", "--enablerepo=a", "--enablerepo=b"]);
        let cmds = plan(&w, "dnf", &[], &[]);
        assert!(cmds[0].ends_with("install -y --disablerepo='*' --enablerepo=a --enablerepo=b -- x"), "{cmds:?}");
    }
}
