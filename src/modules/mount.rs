//! `ansible.posix.mount`: an fstab entry and whether it is mounted. The fstab edit is
//! ansible.posix's (`set_line`/`unset_line`: lines matched by mount point, `src fstype opts
//! dump passno` compared, spaces escaped as `\040`), written atomically; mounting goes by
//! mount point through that fstab (`mount [-T fstab] PATH`, `mount -o remount`, `umount`),
//! as ansible.posix does on Linux. `state: ephemeral` is not supported natively.

use async_trait::async_trait;

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
        "path",
        "src",
        "fstype",
        "opts",
        "dump",
        "passno",
        "state",
        "fstab",
        "boot",
        "backup",
        "opts_no_log",
        "keep_mountpoint",
    ]],
    aliases: &[("name", "path")],
    ..ArgSpec::NONE
};

pub struct Mount;

/// An fstab entry as ansible.posix writes it (fields escaped).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub src: String,
    pub name: String,
    pub fstype: String,
    pub opts: String,
    pub dump: String,
    pub passno: String,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\134").replace(' ', "\\040").replace('&', "\\046")
}

impl Entry {
    fn line(&self) -> String {
        format!("{} {} {} {} {} {}\n", self.src, self.name, self.fstype, self.opts, self.dump, self.passno)
    }
}

/// ansible.posix's `set_mount`: (new text, changed).
pub fn set_line(text: &str, e: &Entry) -> (String, bool) {
    let mut out = String::new();
    let (mut exists, mut changed) = (false, false);
    for line in text.split_inclusive('\n') {
        let line = if line.ends_with('\n') { line.to_string() } else { format!("{line}\n") };
        let fields: Vec<&str> = line.split('#').next().unwrap_or_default().split_whitespace().collect();
        if line.trim().is_empty()
            || line.trim().starts_with('#')
            || !(4..=6).contains(&fields.len())
            || fields[1] != e.name
        {
            out.push_str(&line);
            continue;
        }
        exists = true;
        let have = [
            fields[0],
            fields[2],
            fields[3],
            fields.get(4).copied().unwrap_or(""),
            fields.get(5).copied().unwrap_or(""),
        ];
        let want = [&e.src, &e.fstype, &e.opts, &e.dump, &e.passno];
        if have.iter().zip(want).any(|(h, w)| *h != w.as_str()) {
            changed = true;
            out.push_str(&e.line());
        } else {
            out.push_str(&line);
        }
    }
    if !exists {
        out.push_str(&e.line());
        changed = true;
    }
    (out, changed)
}

/// ansible.posix's `unset_mount`: (new text, changed).
pub fn unset_line(text: &str, name: &str) -> (String, bool) {
    let mut out = String::new();
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let fields: Vec<&str> = line.split('#').next().unwrap_or_default().split_whitespace().collect();
        if !line.trim().starts_with('#') && (4..=6).contains(&fields.len()) && fields[1] == name {
            changed = true;
            continue;
        }
        out.push_str(line);
    }
    (out, changed)
}

struct Planned {
    write: Option<Query>,
    script: String,
}

#[async_trait]
impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("mount", args, &SPEC)?;
        let path = a.req_str("path")?;
        let state = a
            .choice(
                "state",
                &["mounted", "unmounted", "present", "absent", "remounted", "absent_from_fstab", "ephemeral"],
            )?
            .ok_or_else(|| a.error("missing required arguments: state"))?;
        if state == "ephemeral" {
            return Err(a.error("state ephemeral is not supported natively by troupe"));
        }
        let fstab = a.str("fstab")?.unwrap_or("/etc/fstab".into());
        let needs_src = matches!(state, "mounted" | "present");
        let (src, fstype) = (a.str("src")?, a.str("fstype")?);
        if needs_src && (src.is_none() || fstype.is_none()) {
            return Err(a.error(format_args!("state is {state} but all of the following are missing: src, fstype")));
        }
        let entry = Entry {
            src: escape(&src.clone().unwrap_or_default()),
            name: escape(&path),
            fstype: escape(&fstype.clone().unwrap_or_default()),
            opts: escape(&a.str("opts")?.unwrap_or("defaults".into())),
            dump: a.str("dump")?.unwrap_or("0".into()),
            passno: a.str("passno")?.unwrap_or("0".into()),
        };
        let p = quote(&path);
        let probe =
            format!("awk -v p={} '$2 == p {{ found = 1 }} END {{ exit !found }}' /proc/mounts", quote(&entry.name));
        let mounted = cx.run(Cmd::new(probe).read_only()).await?.rc == 0;
        let file = read_text(cx, &fstab).await?;
        let old = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default()).into_owned();
        let (new, fstab_changed) = match state {
            "absent" | "absent_from_fstab" => unset_line(&old, &entry.name),
            "unmounted" | "remounted" => (old.clone(), false),
            _ => set_line(&old, &entry),
        };
        let t = if fstab == "/etc/fstab" { String::new() } else { format!("-T {} ", quote(&fstab)) };
        let script = match state {
            "mounted" if !mounted => format!("[ -d {p} ] || mkdir -p -- {p}\nmount {t}{p}"),
            "mounted" if fstab_changed => format!("mount {t}-o remount {p}"),
            "unmounted" | "absent" if mounted => format!("umount {p}"),
            "remounted" => format!("mount {t}-o remount {p}"),
            _ => String::new(),
        };
        let script = if state == "absent" { format!("{script}\nrmdir -- {p} 2>/dev/null || true") } else { script };
        let mut q = Query::ok();
        for (k, v) in [
            ("name", Some(path.clone())),
            ("src", src),
            ("fstype", fstype),
            ("opts", Some(entry.opts.clone())),
            ("dump", Some(entry.dump.clone())),
            ("passno", Some(entry.passno.clone())),
        ] {
            q.result.insert(k.into(), v.map(Value::from).unwrap_or(Value::Null));
        }
        q.result.insert("fstab".into(), fstab.clone().into());
        q.result.insert("boot".into(), a.bool("boot", true)?.into());
        // `absent` always tries to remove the mount point, which alone is no change.
        let nothing_to_undo = state == "absent" && !mounted && !fstab_changed;
        let acts = !script.trim().is_empty() && !nothing_to_undo;
        if fstab_changed || acts {
            q.changed = true;
            let write = match fstab_changed {
                true => {
                    let opts = WriteOpts { backup: a.bool("backup", false)?, validate: None };
                    let w =
                        query_write(cx, &file.facts, &Content::Bytes(new.as_bytes()), &Attrs::default(), &opts, true)
                            .await?;
                    q.diff = w.diff.clone();
                    Some(w)
                }
                false => None,
            };
            q.change = Change::new(Planned { write, script });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("mount")?;
        let mut result = std::mem::take(&mut q.result);
        if let Some(w) = p.write {
            let written = apply_write(cx, w).await?;
            if let Some(b) = written.get("backup_file") {
                result.insert("backup_file".into(), b.clone());
            }
        }
        if !p.script.trim().is_empty() {
            run_ok(cx, Cmd::new(format!("set -e\n{}", p.script)), "Error mounting").await?;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(opts: &str) -> Entry {
        Entry {
            src: "tmpfs".into(),
            name: "/mnt/x".into(),
            fstype: "tmpfs".into(),
            opts: opts.into(),
            dump: "0".into(),
            passno: "0".into(),
        }
    }

    #[test]
    fn fstab_lines_as_ansible_posix() {
        let fstab = "# root\nUUID=1 / ext4 defaults 0 1\n";
        let (new, changed) = set_line(fstab, &entry("size=1m"));
        assert!(changed);
        assert_eq!(new, "# root\nUUID=1 / ext4 defaults 0 1\ntmpfs /mnt/x tmpfs size=1m 0 0\n");
        assert_eq!(set_line(&new, &entry("size=1m")), (new.clone(), false));
        let (changed_opts, c) = set_line(&new, &entry("size=2m"));
        assert!(c && changed_opts.ends_with("tmpfs /mnt/x tmpfs size=2m 0 0\n"));
        assert!(set_line("tmpfs /mnt/x tmpfs size=1m\n", &entry("size=1m")).1, "a 4-field line is rewritten with 6");
        assert_eq!(unset_line(&new, "/mnt/x"), (fstab.to_string(), true));
        assert_eq!(unset_line(fstab, "/mnt/x"), (fstab.to_string(), false));
        assert_eq!(escape("/mnt/my disk"), "/mnt/my\\040disk");
    }
}
