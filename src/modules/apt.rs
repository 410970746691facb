//! `apt`: Debian packages. One query script reads the cache age, expands `*` patterns against
//! the package list, and asks `dpkg-query` (plus `apt-cache policy` for `latest`); one
//! `apt-get` command applies.
//!
//! Like Ansible, a stale cache is refreshed before the query when packages are named (that
//! refresh alone is not a change); with no packages, the refresh *is* the change.

use crate::modules::Change;
use std::collections::HashMap;

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, key_values, output_result, section, sections};
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::glob::{matches as glob_match, to_ere as glob_to_ere};
use crate::value::Map;

pub struct Apt;

/// What `apply` runs, and whether it is the cache update.
struct Planned {
    command: String,
    verb: String,
}

const ALIASES: &[(&str, &str)] = &[
    ("pkg", "name"),
    ("package", "name"),
    ("update-cache", "update_cache"),
    ("install-recommends", "install_recommends"),
    ("default-release", "default_release"),
    ("allow-downgrade", "allow_downgrade"),
    ("allow_downgrades", "allow_downgrade"),
    ("allow-downgrades", "allow_downgrade"),
];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::list("name", "packages: `name`, `name=version` (version may hold `*`), or a `*` pattern"),
        Opt::str("state", "`present`/`installed`, `latest`, or `absent`/`removed`")
            .choices(&["absent", "installed", "latest", "present", "removed"])
            .default("present"),
        Opt::bool("update_cache", "run `apt-get update` first").default("false"),
        Opt::int("cache_valid_time", "skip the update when the cache is younger than this many seconds"),
        Opt::bool("install_recommends", "install recommended packages (unset: apt's own setting)"),
        Opt::bool("purge", "remove configuration files too (`state=absent`)").default("false"),
        Opt::bool("autoremove", "remove packages no longer needed").default("false"),
        Opt::str("default_release", "the release packages are taken from (`-t`)"),
        Opt::bool("allow_downgrade", "allow installing an older version").default("false"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

const FRONTEND: &str = "DEBIAN_FRONTEND=noninteractive";

/// `name`, `name=version` (version may hold `*`), or a `*` pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    pub version: Option<String>,
}

impl Spec {
    pub fn parse(text: &str) -> Spec {
        match text.split_once('=') {
            Some((n, v)) => Spec { name: n.trim().into(), version: Some(v.trim().into()) },
            None => Spec { name: text.trim().into(), version: None },
        }
    }
    fn is_pattern(&self) -> bool {
        self.name.contains(['*', '?'])
    }
    /// The name dpkg reports (no `:arch`).
    fn base(&self) -> &str {
        self.name.split(':').next().unwrap_or(&self.name)
    }
    fn text(&self) -> String {
        match &self.version {
            Some(v) => format!("{}={v}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    Present,
    Latest,
    Absent,
}

impl State {
    /// `state` as apt, dnf and yum take it.
    pub fn from_args(a: &Args) -> Result<State, ModuleError> {
        Ok(match a.choice("state", &["absent", "installed", "latest", "present", "removed"])? {
            Some("latest") => State::Latest,
            Some("absent" | "removed") => State::Absent,
            _ => State::Present,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub specs: Vec<Spec>,
    pub state: State,
    pub update_cache: bool,
    pub cache_valid_time: i64,
    pub install_recommends: Option<bool>,
    pub purge: bool,
    pub autoremove: bool,
    pub default_release: Option<String>,
    pub allow_downgrade: bool,
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("apt", raw, &SPEC)?;
        let state = State::from_args(&a)?;
        let specs: Vec<Spec> = a.list("name")?.unwrap_or_default().iter().map(|s| Spec::parse(s)).collect();
        if state == State::Latest && specs.iter().any(|s| s.version.is_some()) {
            return Err(a.error("a version (name=version) can't be combined with state=latest"));
        }
        let cache_valid_time = a.int("cache_valid_time")?.unwrap_or(0);
        let update_cache = a.bool("update_cache", false)? || cache_valid_time > 0;
        if specs.is_empty() && !update_cache {
            return Err(a.error("one of the following is required: name, update_cache"));
        }
        Ok(Want {
            specs,
            state,
            update_cache,
            cache_valid_time,
            install_recommends: a.opt_bool("install_recommends")?,
            purge: a.bool("purge", false)?,
            autoremove: a.bool("autoremove", false)?,
            default_release: a.str("default_release")?,
            allow_downgrade: a.bool("allow_downgrade", false)?,
        })
    }

    /// The query script; `refresh` runs `apt-get update` first when the cache is stale.
    pub fn query_script(&self, refresh: bool) -> String {
        let mut s = String::from(
            "stamp() { for f in /var/lib/apt/periodic/update-success-stamp /var/cache/apt/pkgcache.bin; do \
             [ -e \"$f\" ] && { stat -c %Y \"$f\"; return; }; done; echo 0; }\n",
        );
        s.push_str(&format!(
            "before=$(stamp); stale=0; [ $((before + {})) -lt \"$(date +%s)\" ] && stale=1\nupdated=0\n",
            self.cache_valid_time
        ));
        if refresh {
            s.push_str(&format!(
                "if [ $stale = 1 ]; then out=$({FRONTEND} apt-get update -q 2>&1) || \
                 {{ echo \"Failed to update apt cache: $out\" >&2; exit 3; }}; updated=1; fi\n"
            ));
        }
        s.push_str(&format!("{}\necho stale=$stale; echo updated=$updated; echo time=$(stamp)\n", section("cache")));
        let patterns: Vec<&Spec> = self.specs.iter().filter(|s| s.is_pattern()).collect();
        let mut dpkg_words: Vec<String> = self.specs.iter().map(|s| quote(s.base())).collect();
        s.push_str(&section("expand"));
        s.push('\n');
        if !patterns.is_empty() && self.state != State::Absent {
            let ere: Vec<String> = patterns.iter().map(|p| glob_to_ere(p.base())).collect();
            s.push_str(&format!("names=$(apt-cache pkgnames | grep -E {})\necho \"$names\"\n", quote(&ere.join("|"))));
            dpkg_words.push("$names".into());
        }
        // `set --` so an empty pattern expansion never means "every package".
        s.push_str(&format!("set -- {}\n{}\n", dpkg_words.join(" "), section("dpkg")));
        s.push_str("[ $# -gt 0 ] && dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n' -- \"$@\" 2>/dev/null\n");
        if self.state == State::Latest {
            s.push_str(&format!(
                "{}\n[ $# -gt 0 ] && LC_ALL=C apt-cache policy -- \"$@\" 2>/dev/null\n",
                section("policy")
            ));
        }
        s.push_str("exit 0\n");
        s
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub stale: bool,
    pub cache_updated: bool,
    pub cache_time: i64,
    /// Package names matching the patterns, from the cache.
    pub expanded: Vec<String>,
    /// name → (version, status abbreviation like `ii `).
    pub dpkg: HashMap<String, (String, String)>,
    /// name → (installed, candidate) from `apt-cache policy`.
    pub policy: HashMap<String, (String, String)>,
}

pub fn parse_facts(stdout: &str) -> Facts {
    let sec = sections(stdout);
    let get = |k: &str| sec.get(k).map(String::as_str).unwrap_or("");
    let cache = key_values(get("cache"));
    let mut f = Facts {
        stale: cache.get("stale").is_some_and(|v| v.trim() == "1"),
        cache_updated: cache.get("updated").is_some_and(|v| v.trim() == "1"),
        cache_time: cache.get("time").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
        expanded: get("expand").split_whitespace().map(String::from).collect(),
        ..Facts::default()
    };
    for line in get("dpkg").lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        if let [name, version, status, ..] = parts[..] {
            f.dpkg.insert(name.to_string(), (version.to_string(), status.to_string()));
        }
    }
    let mut current: Option<String> = None;
    for line in get("policy").lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = Some(line.trim_end_matches(':').to_string());
        } else if let Some(name) = &current {
            let t = line.trim();
            let entry = f.policy.entry(name.clone()).or_default();
            if let Some(v) = t.strip_prefix("Installed: ") {
                entry.0 = v.to_string();
            } else if let Some(v) = t.strip_prefix("Candidate: ") {
                entry.1 = v.to_string();
            }
        }
    }
    f
}

/// What to run: `update` (cache only), `install` or `remove` with package words.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub verb: String,
    pub packages: Vec<String>,
}

fn installed(status: &str) -> bool {
    status.as_bytes().get(1) == Some(&b'i')
}

pub fn decide(want: &Want, facts: &Facts) -> Result<Option<Action>, ModuleError> {
    if want.specs.is_empty() {
        return Ok(facts.stale.then(|| Action { verb: "update".into(), packages: vec![] }));
    }
    let mut packages = Vec::new();
    for spec in &want.specs {
        let names: Vec<String> = if spec.is_pattern() {
            let source: Vec<&String> =
                if want.state == State::Absent { facts.dpkg.keys().collect() } else { facts.expanded.iter().collect() };
            let mut m: Vec<String> = source.into_iter().filter(|n| glob_match(spec.base(), n)).cloned().collect();
            m.sort();
            if m.is_empty() && want.state != State::Absent {
                return Err(ModuleError::failed(format!("No package matching '{}' is available", spec.name)));
            }
            m
        } else {
            vec![spec.base().to_string()]
        };
        for name in names {
            let have = facts.dpkg.get(&name);
            let is_installed = have.is_some_and(|(_, st)| installed(st));
            let word = if spec.is_pattern() { name.clone() } else { spec.text() };
            let needed = match want.state {
                State::Absent => {
                    is_installed || (want.purge && have.is_some_and(|(_, st)| st.as_bytes().get(1) == Some(&b'c')))
                }
                State::Present => match (&spec.version, have) {
                    (Some(v), Some((ver, st))) => !(installed(st) && glob_match(v, ver)),
                    _ => !is_installed,
                },
                State::Latest => {
                    !is_installed
                        || facts.policy.get(&name).is_some_and(|(i, c)| c != "(none)" && !c.is_empty() && i != c)
                }
            };
            if needed && !packages.contains(&word) {
                packages.push(word);
            }
        }
    }
    let verb = if want.state == State::Absent { "remove" } else { "install" };
    Ok((!packages.is_empty()).then(|| Action { verb: verb.into(), packages }))
}

/// The `apt-get` command for an action.
pub fn command(want: &Want, action: &Action) -> String {
    let words: Vec<String> = action.packages.iter().map(|p| quote(p)).collect();
    match action.verb.as_str() {
        "update" => format!("{FRONTEND} apt-get update -q"),
        "remove" => {
            let mut c = format!("{FRONTEND} apt-get remove -y -q");
            if want.purge {
                c.push_str(" --purge");
            }
            if want.autoremove {
                c.push_str(" --auto-remove");
            }
            format!("{c} -- {}", words.join(" "))
        }
        _ => {
            let mut c = format!(
                "{FRONTEND} apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
            );
            match want.install_recommends {
                Some(true) => c.push_str(" -o APT::Install-Recommends=yes"),
                Some(false) => c.push_str(" --no-install-recommends"),
                None => {}
            }
            if let Some(r) = &want.default_release {
                c.push_str(&format!(" -t {}", quote(r)));
            }
            if want.allow_downgrade {
                c.push_str(" --allow-downgrades");
            }
            if want.autoremove {
                c.push_str(" --auto-remove");
            }
            format!("{c} -- {}", words.join(" "))
        }
    }
}

fn cache_result(facts: &Facts) -> Map {
    let mut m = Map::new();
    m.insert("cache_updated".into(), facts.cache_updated.into());
    m.insert("cache_update_time".into(), facts.cache_time.into());
    m
}

#[async_trait]
impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        let refresh = want.update_cache && !want.specs.is_empty() && !cx.check_mode;
        let out = cx.run(Cmd::new(want.query_script(refresh))).await?;
        if out.rc != 0 {
            let msg = out.stderr_text().trim().to_string();
            return Err(failed_with(
                if msg.is_empty() { format!("apt query failed (rc={})", out.rc) } else { msg },
                &out,
            ));
        }
        let facts = parse_facts(&out.stdout_text());
        let action = decide(&want, &facts)?;
        let mut q = Query { changed: action.is_some(), result: cache_result(&facts), ..Query::default() };
        if let Some(a) = action {
            q.change = Change::new(Planned { command: command(&want, &a), verb: a.verb });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let Planned { command: cmd, verb } = q.change.take("apt")?;
        let out = cx.run(Cmd::new(format!("{cmd}\nrc=$?\necho; echo \"@@time=$(stat -c %Y /var/cache/apt/pkgcache.bin 2>/dev/null)\" >&2; exit $rc"))).await?;
        let mut result = q.result;
        let stderr = out.stderr_text();
        if verb == "update" {
            result.insert("cache_updated".into(), (out.rc == 0).into());
            if let Some(t) =
                stderr.lines().find_map(|l| l.strip_prefix("@@time=")).and_then(|t| t.trim().parse::<i64>().ok())
            {
                result.insert("cache_update_time".into(), t.into());
            }
        }
        let mut clean = out.clone();
        clean.stderr = stderr.lines().filter(|l| !l.starts_with("@@time=")).collect::<Vec<_>>().join("\n").into_bytes();
        if out.rc != 0 {
            let mut r = output_result(&clean);
            r.extend(result);
            return Err(ModuleError::Failed {
                msg: format!("'{cmd}' failed: {}", clean.stderr_text().trim()),
                result: r,
            });
        }
        let mut r = output_result(&clean);
        r.remove("rc");
        result.extend(r);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    fn want(v: serde_json::Value) -> Want {
        Want::parse(v.as_object().unwrap()).unwrap()
    }

    const OUT: &str = "@@troupe:cache@@\nstale=0\nupdated=0\ntime=1700000000\n@@troupe:expand@@\nlibfoo-dev\nlibbar-dev\n\
@@troupe:dpkg@@\nbash\t5.2.15-2+b2\tii \ncurl\t7.88.1-10\trc \nlibfoo-dev\t1.0\tii \n\
@@troupe:policy@@\nbash:\n  Installed: 5.2.15-2+b2\n  Candidate: 5.2.15-2+b7\n  Version table:\n     5.2.15-2+b7 500\ncurl:\n  Installed: (none)\n  Candidate: 7.88.1-10\n";

    #[test]
    fn parses_dpkg_and_policy() {
        let f = parse_facts(OUT);
        assert_eq!(f.cache_time, 1_700_000_000);
        assert_eq!(f.dpkg.get("bash").map(|v| v.0.as_str()), Some("5.2.15-2+b2"));
        assert_eq!(f.policy.get("bash").map(|v| v.1.as_str()), Some("5.2.15-2+b7"));
        assert_eq!(f.policy.get("curl").map(|v| v.0.as_str()), Some("(none)"));
        assert_eq!(f.expanded, vec!["libfoo-dev", "libbar-dev"]);
    }

    #[test]
    fn decides_present_latest_absent_and_pins() {
        let f = parse_facts(OUT);
        assert_eq!(decide(&want(json!({"name": "bash"})), &f).unwrap(), None);
        let a = decide(&want(json!({"name": ["bash", "curl"]})), &f).unwrap().unwrap();
        assert_eq!(a.packages, vec!["curl"], "rc = config files only: not installed");
        let a = decide(&want(json!({"name": "bash", "state": "latest"})), &f).unwrap().unwrap();
        assert_eq!(a.packages, vec!["bash"]);
        assert_eq!(decide(&want(json!({"name": "bash=5.2.*"})), &f).unwrap(), None);
        let a = decide(&want(json!({"name": "bash=5.3*"})), &f).unwrap().unwrap();
        assert_eq!(a.packages, vec!["bash=5.3*"]);
        let a = decide(&want(json!({"name": "lib*-dev"})), &f).unwrap().unwrap();
        assert_eq!(a.packages, vec!["libbar-dev"]);
        assert_eq!(decide(&want(json!({"name": "curl", "state": "absent"})), &f).unwrap(), None);
        let a = decide(&want(json!({"name": "curl", "state": "absent", "purge": true})), &f).unwrap().unwrap();
        assert_eq!(a.verb, "remove");
        assert!(decide(&want(json!({"name": "zz*"})), &f)
            .unwrap_err()
            .to_string()
            .contains("No package matching 'zz*'"));
        let stale = Facts { stale: true, ..Facts::default() };
        assert_eq!(decide(&want(json!({"update_cache": true})), &stale).unwrap().unwrap().verb, "update");
        assert_eq!(decide(&want(json!({"update_cache": true})), &Facts::default()).unwrap(), None);
    }

    #[test]
    fn golden_commands() {
        let w = want(json!({"name": "etcd", "install_recommends": false, "default_release": "bookworm-backports"}));
        let a = Action { verb: "install".into(), packages: vec!["etcd=3.5*".into()] };
        assert_eq!(
            command(&w, &a),
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef \
             -o Dpkg::Options::=--force-confold --no-install-recommends -t bookworm-backports -- 'etcd=3.5*'"
        );
        let w = want(json!({"name": "etcd", "state": "absent", "purge": true}));
        let a = Action { verb: "remove".into(), packages: vec!["etcd".into()] };
        assert_eq!(command(&w, &a), "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q --purge -- etcd");
        let s = want(json!({"name": ["a*"], "state": "latest"})).query_script(true);
        assert!(s.contains("apt-get update -q") && s.contains("grep -E '^a.*$'") && s.contains("apt-cache policy"));
        assert!(!want(json!({"name": "a"})).query_script(false).contains("apt-get update"));
        assert!(Want::parse(json!({"name": "a=1", "state": "latest"}).as_object().unwrap()).is_err());
    }

    #[tokio::test]
    async fn real_query_of_installed_bash() {
        if std::process::Command::new("dpkg-query")
            .arg("-W")
            .arg("bash")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return;
        }
        let h = Harness::new();
        let args = json!({"name": ["bash", "coreutils"]});
        let q = Apt.query(&h.cx(), args.as_object().unwrap()).await.unwrap();
        assert!(!q.changed, "bash is installed: {:?}", q.change);
        assert!(q.result.contains_key("cache_update_time"));
        let args = json!({"name": "bash", "state": "absent"});
        let mut q = Apt.query(&h.cx(), args.as_object().unwrap()).await.unwrap();
        assert!(q.changed);
        let planned: Planned = q.change.take("apt").unwrap();
        assert!(planned.command.contains("apt-get remove -y -q -- bash"));
    }
}
