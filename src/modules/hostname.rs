//! `hostname`: the host's name, current and permanent. With systemd (`hostnamectl`, Ansible's
//! strategy on most Linux hosts) both are read and set through it; without it (or with `use:
//! generic`/`debian`), `/etc/hostname` (written atomically) and the `hostname` command. Sets
//! the facts `ansible_hostname`, `ansible_nodename`, `ansible_fqdn`, `ansible_domain`, and has
//! Ansible's diff (`hostname = NAME`).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{run_ok, sections};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const STRATEGIES: [&str; 13] = [
    "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc", "redhat", "sles",
    "solaris", "systemd",
];

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("name", "the host name to set").required(),
        Opt::str("use", "how to set it (troupe: `systemd` through hostnamectl, else /etc/hostname)")
            .choices(&STRATEGIES),
    ]],
    ..ArgSpec::NONE
};

pub struct Hostname;

struct Planned {
    systemd: bool,
    name: String,
    set_current: bool,
    set_permanent: bool,
}

/// Reads the strategy, the current and the permanent name, in sections.
fn read_script(prefer_systemd: bool) -> String {
    let systemd = if prefer_systemd { "command -v hostnamectl >/dev/null 2>&1" } else { "false" };
    format!(
        "if {systemd}; then echo '@@troupe:kind@@'; echo systemd\n\
         echo '@@troupe:current@@'; hostnamectl --transient status || exit 1\n\
         echo '@@troupe:permanent@@'; hostnamectl --static status || exit 1\n\
         else echo '@@troupe:kind@@'; echo file\n\
         echo '@@troupe:current@@'; hostname || uname -n\n\
         echo '@@troupe:permanent@@'; cat /etc/hostname 2>/dev/null || true; fi\n\
         echo '@@troupe:fqdn@@'; hostname -f 2>/dev/null || hostname"
    )
}

/// The commands that set what differs.
pub fn set_script(systemd: bool, name: &str, current: bool, permanent: bool) -> String {
    let n = quote(name);
    let mut s = String::new();
    if systemd {
        if permanent {
            s.push_str(&format!("hostnamectl --pretty --static set-hostname {n} || exit 1\n"));
        }
        if current {
            s.push_str(&format!("hostnamectl --transient set-hostname {n} || exit 1\n"));
        }
    } else {
        if permanent {
            s.push_str(&format!(
                "printf '%s\\n' {n} > /etc/.hostname.troupe && mv -f /etc/.hostname.troupe /etc/hostname || exit 1\n"
            ));
        }
        if current {
            s.push_str(&format!("hostname {n} || exit 1\n"));
        }
    }
    s.push_str("echo '@@troupe:fqdn@@'; hostname -f 2>/dev/null || hostname");
    s
}

fn facts(name: &str, fqdn: &str) -> Map {
    let mut f = Map::new();
    f.insert("ansible_hostname".into(), name.split('.').next().unwrap_or(name).into());
    f.insert("ansible_nodename".into(), name.into());
    f.insert("ansible_fqdn".into(), fqdn.into());
    f.insert("ansible_domain".into(), fqdn.split_once('.').map(|(_, d)| d).unwrap_or("").into());
    f
}

#[async_trait]
impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("hostname", args, &SPEC)?;
        let name = a.req_str("name")?;
        let prefer_systemd = matches!(a.choice("use", &STRATEGIES)?, None | Some("systemd" | "redhat" | "sles"));
        let out = run_ok(cx, Cmd::new(read_script(prefer_systemd)).read_only(), "reading the host name failed").await?;
        let parts = sections(&out.stdout_text());
        let get = |k: &str| parts.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        let systemd = get("kind") == "systemd";
        if systemd && name.len() > 64 {
            return Err(ModuleError::failed(
                "name cannot be longer than 64 characters on systemd servers, try a shorter name",
            ));
        }
        let (current, permanent) = (get("current"), get("permanent"));
        let set_current = current != name;
        let set_permanent = permanent != name;
        let before = if set_current { current } else { permanent };
        let mut q = Query::ok().with("name", name.clone()).with_facts(facts(&name, &get("fqdn")));
        if set_current || set_permanent {
            q.changed = true;
            q.diff = Some(Diff {
                path: String::new(),
                before: format!("hostname = {before}\n"),
                after: format!("hostname = {name}\n"),
            });
            q.change = Change::new(Planned { systemd, name, set_current, set_permanent });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("hostname")?;
        let out = run_ok(
            cx,
            Cmd::new(set_script(p.systemd, &p.name, p.set_current, p.set_permanent)),
            "setting the host name failed",
        )
        .await?;
        let fqdn = sections(&out.stdout_text()).get("fqdn").map(|s| s.trim().to_string()).unwrap_or_default();
        let mut r = q.result;
        r.insert("ansible_facts".into(), Value::Object(facts(&p.name, &fqdn)));
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_facts() {
        let s = set_script(true, "db 1", true, true);
        assert!(s.starts_with("hostnamectl --pretty --static set-hostname 'db 1' || exit 1\nhostnamectl --transient set-hostname 'db 1'"), "{s}");
        let s = set_script(false, "db1", false, true);
        assert!(
            s.contains("> /etc/.hostname.troupe && mv -f /etc/.hostname.troupe /etc/hostname")
                && !s.contains("hostname db1"),
            "{s}"
        );
        assert!(read_script(false).starts_with("if false; then"));
        let f = facts("web1.example.org", "web1.example.org");
        assert_eq!((f["ansible_hostname"].as_str(), f["ansible_domain"].as_str()), (Some("web1"), Some("example.org")));
    }
}
