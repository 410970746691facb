//! `synchronize` (ansible.posix): rsync on the controller, to or from the host over the host's
//! SSH settings (address, port, user, key; `ssh_common_args` with `use_ssh_args`; become as
//! `--rsync-path='sudo rsync'`), with the command line Ansible's module builds. The query is
//! the same rsync with `--dry-run`: its `<<CHANGED>>` lines say whether anything differs, so
//! apply runs only when something does. Results: `cmd`, `msg`, `rc`, `stdout_lines`.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::quote;
use crate::value::{Map, Value};

const MARKER: &str = "<<CHANGED>>";

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("src", "what to copy (on the controller when pushing)").required(),
        Opt::path("dest", "where it goes (on the host when pushing)").required(),
        Opt::int("dest_port", "the host's ssh port (default: the inventory's)"),
        Opt::bool("delete", "delete files in dest that src lacks (`--delete-after`)").default("false"),
        Opt::path("private_key", "the ssh key (default: the inventory's)"),
        Opt::str("rsync_path", "the rsync to run on the host (become: `sudo rsync`)"),
        Opt::bool("archive", "`--archive`").default("true"),
        Opt::bool("checksum", "compare checksums, not times and sizes").default("false"),
        Opt::bool("compress", "`--compress`").default("true"),
        Opt::bool("existing_only", "skip files dest lacks").default("false"),
        Opt::bool("dirs", "transfer folders without recursing").default("false"),
        Opt::bool("recursive", "recurse (default: as archive)"),
        Opt::bool("links", "copy symlinks as symlinks (default: as archive)"),
        Opt::bool("copy_links", "copy what symlinks point to").default("false"),
        Opt::bool("perms", "keep permissions (default: as archive)"),
        Opt::bool("times", "keep times (default: as archive)"),
        Opt::bool("owner", "keep the owner (default: as archive)"),
        Opt::bool("group", "keep the group (default: as archive)"),
        Opt::bool("set_remote_user", "put the inventory user in the host's address").default("true"),
        Opt::int("rsync_timeout", "`--timeout`").default("0"),
        Opt::list("rsync_opts", "more rsync options"),
        Opt::bool("use_ssh_args", "pass the host's ssh_common_args and ssh_extra_args to ssh").default("false"),
        Opt::bool("ssh_connection_multiplexing", "let ssh use a ControlMaster (default: `-S none`)").default("false"),
        Opt::bool("partial", "keep partial files").default("false"),
        Opt::bool("verify_host", "check the host's key").default("false"),
        Opt::bool("delay_updates", "`--delay-updates`").default("true"),
        Opt::str("mode", "push to the host or pull from it").choices(&["pull", "push"]).default("push"),
        Opt::list("link_dest", "`--link-dest` folders"),
        Opt::internal("_local_rsync_path"),
        Opt::internal("_local_rsync_password"),
        Opt::internal("_substitute_controller"),
        Opt::internal("_ssh_args"),
    ]],
    ..ArgSpec::NONE
};

pub struct Synchronize;

/// Where the host is, from its connection (or none: both paths are local).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Remote {
    pub address: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub key: Option<String>,
    pub ssh_args: Vec<String>,
    /// The task's become user, when it becomes with sudo.
    pub sudo_user: Option<String>,
}

/// Ansible's `_format_rsync_rsh_target`.
fn target(host: &str, path: &str, user: Option<&str>) -> String {
    let prefix = user.map(|u| format!("{u}@")).unwrap_or_default();
    if path.starts_with("rsync://") {
        path.to_string()
    } else if host.contains(':') {
        format!("[{prefix}{host}]:{path}")
    } else if !path.contains(':') {
        format!("{prefix}{host}:{path}")
    } else if !path.contains('@') {
        format!("{prefix}{path}")
    } else {
        path.to_string()
    }
}

fn flag(a: &Args, name: &str) -> Result<Option<bool>, ModuleError> {
    a.opt_bool(name)
}

/// The rsync command line, as the module builds it (`dry_run` adds `--dry-run`). `src` is
/// already the controller's absolute path when pushing.
pub fn command(a: &Args, src: &str, remote: Option<&Remote>, dry_run: bool) -> Result<String, ModuleError> {
    let mut cmd = vec![a.str("_local_rsync_path")?.unwrap_or_else(|| "rsync".into())];
    let on = |n: &str, d: bool| a.bool(n, d);
    if on("delay_updates", true)? {
        cmd.extend(["--delay-updates".into(), "-F".into()]);
    }
    if on("compress", true)? {
        cmd.push("--compress".into());
    }
    if let Some(t) = a.int("rsync_timeout")?.filter(|t| *t != 0) {
        cmd.push(format!("--timeout={t}"));
    }
    if dry_run {
        cmd.push("--dry-run".into());
    }
    for (name, opt) in [
        ("delete", "--delete-after"),
        ("existing_only", "--existing"),
        ("checksum", "--checksum"),
        ("copy_links", "--copy-links"),
    ] {
        if on(name, false)? {
            cmd.push(opt.into());
        }
    }
    let archive = on("archive", true)?;
    if archive {
        cmd.push("--archive".into());
    }
    for name in ["recursive", "links", "perms", "times", "owner", "group"] {
        match (archive, flag(a, name)?) {
            (true, Some(false)) => cmd.push(format!("--no-{name}")),
            (false, Some(true)) => cmd.push(format!("--{name}")),
            _ => {}
        }
    }
    if on("dirs", false)? {
        cmd.push("--dirs".into());
    }
    let rsync_opts = a.list("rsync_opts")?.unwrap_or_default();
    let pull = a.str("mode")?.as_deref() == Some("pull");
    let dest = a.req_str("dest")?;
    let (mut from, mut to) = (src.to_string(), dest.clone());
    if let Some(r) = remote {
        let user = if on("set_remote_user", true)? { r.user.as_deref() } else { None };
        if pull {
            from = target(&r.address, &a.req_str("src")?, user);
            to = dest;
        } else {
            to = target(&r.address, &dest, user);
        }
        if !rsync_opts.iter().any(|o| o.contains("--rsh")) {
            let mut ssh = vec!["ssh".to_string()];
            if !on("ssh_connection_multiplexing", false)? {
                ssh.extend(["-S".into(), "none".into()]);
            }
            if let Some(k) = a.str("private_key")?.or(r.key.clone()) {
                ssh.extend(["-i".into(), k]);
            }
            if let Some(p) = a.int("dest_port")?.or(r.port.map(i64::from)) {
                ssh.extend(["-o".into(), format!("Port={p}")]);
            }
            if !on("verify_host", false)? {
                ssh.extend([
                    "-o".into(),
                    "StrictHostKeyChecking=no".into(),
                    "-o".into(),
                    "UserKnownHostsFile=/dev/null".into(),
                ]);
            }
            let mut rsh = ssh.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
            let ssh_args = match a.str("_ssh_args")? {
                Some(s) => s,
                None if on("use_ssh_args", false)? => r.ssh_args.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
                None => String::new(),
            };
            if !ssh_args.is_empty() {
                rsh.push(' ');
                rsh.push_str(&ssh_args);
            }
            cmd.push(format!("--rsh={}", quote(&rsh)));
        }
    }
    let rsync_path = match (a.str("rsync_path")?, remote.and_then(|r| r.sudo_user.as_deref())) {
        (Some(p), _) => Some(p),
        (None, Some("")) => Some("sudo rsync".to_string()),
        (None, Some(u)) => Some(format!("sudo -u {u} rsync")),
        (None, None) => None,
    };
    if let Some(p) = rsync_path {
        cmd.push(format!("--rsync-path={}", quote(&p)));
    }
    cmd.extend(rsync_opts);
    if on("partial", false)? {
        cmd.push("--partial".into());
    }
    for l in a.list("link_dest")?.unwrap_or_default() {
        cmd.extend(["-H".into(), "-vv".into(), format!("--link-dest={l}")]);
    }
    cmd.push(format!("--out-format={}", quote(&format!("{MARKER}%i %n%L"))));
    cmd.push(quote(&from));
    cmd.push(quote(&to));
    Ok(cmd.join(" "))
}

/// `changed`, `msg` and `stdout_lines` from rsync's output, as the module reads it.
pub fn outcome(out: &str, link_dest: bool) -> (bool, String, Vec<String>) {
    let changed = if link_dest { !out.contains(&format!("{MARKER}.")) } else { out.contains(MARKER) };
    let clean = out.replace(MARKER, "");
    let lines = clean.split('\n').filter(|l| !l.is_empty()).map(String::from).collect();
    (changed, clean, lines)
}

/// Run the command line with the controller's shell, as Ansible's `run_command` does.
async fn run(cmd: &str) -> Result<(String, String), ModuleError> {
    let out = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| ModuleError::failed(format!("cannot run rsync on the controller: {e}")))?;
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    if !out.status.success() {
        let mut result = Map::new();
        result.insert("rc".into(), out.status.code().unwrap_or(-1).into());
        result.insert("cmd".into(), cmd.into());
        return Err(ModuleError::Failed { msg: stderr, result });
    }
    Ok((stdout, stderr))
}

fn result(cmd: &str, out: &str, link_dest: bool) -> (bool, Map) {
    let (changed, msg, lines) = outcome(out, link_dest);
    let mut r = Map::new();
    r.insert("cmd".into(), cmd.into());
    r.insert("msg".into(), msg.into());
    r.insert("rc".into(), 0.into());
    r.insert("stdout_lines".into(), Value::Array(lines.into_iter().map(Value::String).collect()));
    (changed, r)
}

struct Planned {
    cmd: String,
    link_dest: bool,
}

#[async_trait]
impl Module for Synchronize {
    fn name(&self) -> &'static str {
        "synchronize"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("synchronize", args, &SPEC)?;
        let src = a.req_str("src")?;
        let pull = a.choice("mode", &["pull", "push"])?.unwrap_or("push") == "pull";
        if a.get("_local_rsync_password").is_some() {
            return Err(a.error("rsync with an SSH password is not supported yet"));
        }
        // A pushed source is the controller's: found beside the playbook or in the role's files/.
        let local_src = if pull {
            src.clone()
        } else {
            let found = cx.find_file("files", src.trim_end_matches('/')).ok_or_else(|| {
                ModuleError::failed(format!("Could not find or access '{src}' on the Ansible Controller."))
            })?;
            let found = std::path::absolute(&found).unwrap_or(found);
            let mut p = found.to_string_lossy().into_owned();
            if src.ends_with('/') && !p.ends_with('/') {
                p.push('/');
            }
            p
        };
        let remote = cx.conn.ssh_options().map(|o| Remote {
            address: o.address.clone(),
            user: o.user.clone(),
            port: o.port,
            key: o.private_key.as_ref().map(|k| k.to_string_lossy().into_owned()),
            ssh_args: o.common_args.clone(),
            sudo_user: cx.escalate.as_ref().filter(|b| b.method == "sudo").map(|b| b.user.clone()),
        });
        let link_dest = a.has("link_dest");
        let cmd = command(&a, &local_src, remote.as_ref(), false)?;
        let dry = command(&a, &local_src, remote.as_ref(), true)?;
        let (out, _) = run(&dry).await?;
        let (changed, r) = result(if cx.check_mode { &dry } else { &cmd }, &out, link_dest);
        let mut q = Query::ok();
        q.result = r;
        q.changed = changed;
        if changed {
            let prepared = q.result.get("msg").and_then(Value::as_str).unwrap_or("").to_string();
            q.diff = Some(Diff { path: String::new(), before: String::new(), after: prepared });
            q.change = Change::new(Planned { cmd, link_dest });
        }
        Ok(q)
    }

    async fn apply(&self, _cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("synchronize")?;
        let (out, _) = run(&p.cmd).await?;
        Ok(result(&p.cmd, &out, p.link_dest).1)
    }
}

#[cfg(test)]
#[path = "synchronize_tests.rs"]
mod tests;
