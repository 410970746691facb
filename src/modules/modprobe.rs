//! `community.general.modprobe`: a kernel module loaded (`modprobe NAME PARAMS`) or unloaded
//! (`modprobe -r`), decided from `/proc/modules` and the kernel's `modules.builtin` as
//! community.general decides. `persistent: present` writes `/etc/modules-load.d/NAME.conf`
//! (and `/etc/modprobe.d/NAME.conf` with `options NAME PARAMS` when params are given);
//! `persistent: absent` removes those two files — a simpler rule than community.general's,
//! which also comments the name out of every other file there. In a container (the nspawn
//! testbed) modules cannot be loaded and `modprobe` is often missing: the task fails with the
//! message Ansible gives.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::script_out::{failed_with, run_ok};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::Map;

const SPEC: ArgSpec = ArgSpec { names: &[&["name", "state", "params", "persistent"]], aliases: &[], ..ArgSpec::NONE };

pub struct Modprobe;

/// Listed in /proc/modules (dashes as underscores) or built in.
pub fn loaded(name: &str, proc_modules: &str, builtin: &str) -> bool {
    let m = format!("{} ", name.replace('-', "_"));
    proc_modules.lines().any(|l| l.starts_with(&m))
        || builtin.lines().any(|l| l.trim_end().ends_with(&format!("/{name}.ko")))
}

const MARK: &str = "@troupe-builtin";

#[async_trait]
impl Module for Modprobe {
    fn name(&self) -> &'static str {
        "modprobe"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("modprobe", args, &SPEC)?;
        let name = a.req_str("name")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let params = a.str("params")?.unwrap_or_default();
        let persistent = a.choice("persistent", &["disabled", "present", "absent"])?.unwrap_or("disabled");
        let (load_file, opts_file) =
            (format!("/etc/modules-load.d/{name}.conf"), format!("/etc/modprobe.d/{name}.conf"));
        let script = format!(
            "command -v modprobe >/dev/null || PATH=$PATH:/sbin:/usr/sbin command -v modprobe >/dev/null || {{ echo 'Failed to find required executable \"modprobe\"' >&2; exit 3; }}\ncat /proc/modules || exit 4\necho {MARK}\ncat \"/lib/modules/$(uname -r)/modules.builtin\" 2>/dev/null\necho {MARK}\ncat -- {} 2>/dev/null\necho {MARK}\ncat -- {} 2>/dev/null\n",
            quote(&load_file),
            quote(&opts_file)
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        if out.rc != 0 {
            return Err(failed_with(out.stderr_text().trim().to_string(), &out));
        }
        let text = out.stdout_text();
        let parts: Vec<&str> = text.split(&format!("{MARK}\n")).collect();
        let get = |i: usize| parts.get(i).copied().unwrap_or_default();
        let is_loaded = loaded(&name, get(0), get(1));
        let mut todo = Vec::new();
        let words = shlex::split(&params).ok_or_else(|| a.error("params: unbalanced quotes"))?;
        let args_text: Vec<String> = std::iter::once(name.clone()).chain(words).map(|w| quote(&w)).collect();
        if present && !is_loaded {
            todo.push(format!("PATH=$PATH:/sbin:/usr/sbin modprobe {}", args_text.join(" ")));
        } else if !present && is_loaded {
            todo.push(format!("PATH=$PATH:/sbin:/usr/sbin modprobe -r {}", quote(&name)));
        }
        let want_load = format!("{name}\n");
        let want_opts = format!("options {name} {params}\n");
        match persistent {
            "present" => {
                if get(2) != want_load {
                    todo.push(format!(
                        "mkdir -p /etc/modules-load.d\nprintf '%s\\n' {} > {}",
                        quote(&name),
                        quote(&load_file)
                    ));
                }
                if !params.is_empty() && get(3) != want_opts {
                    todo.push(format!(
                        "mkdir -p /etc/modprobe.d\nprintf '%s\\n' {} > {}",
                        quote(want_opts.trim_end()),
                        quote(&opts_file)
                    ));
                }
            }
            "absent" if !get(2).is_empty() || !get(3).is_empty() => {
                todo.push(format!("rm -f -- {} {}", quote(&load_file), quote(&opts_file)));
            }
            _ => {}
        }
        let mut q = Query::ok();
        q.result.insert("name".into(), name.into());
        q.result.insert("params".into(), params.into());
        q.result.insert("state".into(), if present { "present" } else { "absent" }.into());
        if !todo.is_empty() {
            q.changed = true;
            q.change = Change::new(todo.join("\n"));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let script: String = q.change.take("modprobe")?;
        run_ok(cx, Cmd::new(format!("set -e\n{script}")), "modprobe failed").await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_as_community_general_sees_it() {
        let proc = "br_netfilter 32768 0 - Live 0x0\nnf_conntrack 172032 1 br_netfilter, Live 0x0\n";
        assert!(loaded("br-netfilter", proc, ""));
        assert!(!loaded("br", proc, ""));
        assert!(loaded("ext4", "", "kernel/fs/ext4/ext4.ko\n"));
        assert!(!loaded("dummy", proc, "kernel/fs/ext4/ext4.ko\n"));
    }
}
