//! `unarchive`: unpack a tar (gz/bz2/xz, by tar's own detection) or zip archive into `dest`.
//!
//! "Changed" is decided as Ansible decides it: the archive is compared with `dest` on the
//! target. For tar that is `tar --diff`, and its report lines are read with Ansible's rules
//! ([`tar_line_differs`]): a missing, edited, resized or re-dated file, a changed symlink, and a
//! changed mode (unless `mode` is given) or owner (as root, unless `owner`/`group` are given)
//! mean "extract again". Zip files are unpacked into a temporary folder and compared member by
//! member (type, content, mode). Given `owner`/`group` and an octal `mode` are checked too, with
//! `find` over the archive's top-level entries; a symbolic `mode` is applied when extracting
//! but not checked on an unchanged tree. Unlike Ansible (which skips tar archives in check
//! mode) `--check` reports the real answer.
//!
//! A controller `src` is sent on stdin into a temporary file (`mktemp`, removed on exit) by
//! the comparing command and again by the extracting one: nothing is left on the target
//! between the two. `remote_src: true` uses a file already on the target. Zip files (`PK`
//! magic) go to `unzip`, the rest to `tar`.

use crate::modules::Change;
use std::path::Path;

use async_trait::async_trait;

use crate::connection::{quote, Cmd};
use crate::value::Value;

use super::args::IGNORED;
use super::args::{ArgSpec, Args, Opt};
use super::content::LocalFile;
use super::remote_file::Attrs;
use super::script_out::run_ok;
use super::{Ctx, Map, Module, ModuleError, Query};

pub struct Unarchive;

const ALIASES: &[(&str, &str)] = &[("attr", "attributes")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("src", "the archive: on the controller, or on the target with `remote_src`").required(),
        Opt::path("dest", "the existing folder to unpack into").required(),
        Opt::bool("remote_src", "`src` is on the target").default("false"),
        Opt::path("creates", "skip when this path exists"),
        Opt::list("extra_opts", "extra options for tar or unzip"),
        Opt::bool("list_files", "return the archive's file list").default("false"),
        Opt::raw("mode", "permissions of what is unpacked"),
        Opt::str("owner", "owner of what is unpacked"),
        Opt::str("group", "group of what is unpacked"),
        Opt::bool("keep_newer", "refused: not supported yet").default("false"),
        Opt::list("exclude", "refused: not supported yet"),
        Opt::list("include", "refused: not supported yet"),
        Opt::bool("decrypt", IGNORED).default("true"),
        Opt::bool("validate_certs", IGNORED).default("true"),
        Opt::bool("unsafe_writes", IGNORED).default("false"),
        Opt::str("attributes", IGNORED),
    ]],
    aliases: ALIASES,
    missing: Some("src (or content) and dest are required"),
    ..ArgSpec::NONE
};

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Plan {
    dest: String,
    /// The archive on the target (`remote_src`), or none when it is sent on stdin.
    remote: Option<String>,
    /// The controller file to send.
    local: Option<String>,
    /// SHA-1 of the controller file when it was compared, to notice it changing before apply.
    sha1: String,
    extra_opts: Vec<String>,
    attrs: Attrs,
    list_files: bool,
}

/// Does one line of `tar --diff` output mean the archive is not (fully) extracted? Ansible's
/// rules: owner and group differences count only for root and only when no `owner`/`group`
/// is given; mode differences only when no `mode` is given.
pub fn tar_line_differs(line: &str, root: bool, attrs: &Attrs) -> bool {
    const ALWAYS: &[&str] = &[
        ": Mod time differs",
        ": Warning: Cannot stat: No such file or directory",
        ": Symlink differs",
        ": Contents differ",
        ": Size differs",
        // Not in Ansible's list: a directory where the archive has a file, or the reverse.
        ": File type differs",
    ];
    // `tar: : Warning: Cannot stat` comes from empty names (`--strip-components`): ignore it.
    if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
        return false;
    }
    ALWAYS.iter().any(|end| line.ends_with(end))
        || line.contains(": Invalid owner")
        || line.contains(": Invalid group")
        || (root && attrs.owner.is_none() && line.ends_with(": Uid differs"))
        || (root && attrs.group.is_none() && line.ends_with(": Gid differs"))
        || (attrs.mode.is_none() && line.ends_with(": Mode differs"))
}

/// Sets `d` and `a` (the archive on the target) and a cleanup trap; `x` may name a
/// temporary folder to remove too.
fn prelude(p: &Plan) -> String {
    let mut s = format!(
        "set -e\nd={}\nta=\nx=\ntrap '[ -z \"$ta\" ] || rm -f -- \"$ta\"; [ -z \"$x\" ] || rm -rf -- \"$x\"' EXIT\n",
        quote(&p.dest)
    );
    match &p.remote {
        Some(src) => s.push_str(&format!("a={}\n", quote(src))),
        None => s.push_str("ta=$(mktemp)\na=$ta\ncat > \"$a\"\n"),
    }
    s.push_str("if [ \"$(head -c 2 \"$a\")\" = PK ]; then zip=1; else zip=; fi\n");
    s
}

fn extra(p: &Plan) -> String {
    p.extra_opts.iter().map(|o| format!(" {}", quote(o))).collect()
}

/// Prints `@troupe-files` and the archive's member names.
fn list_script() -> &'static str {
    "echo @troupe-files\nif [ -n \"$zip\" ]; then unzip -Z1 \"$a\"; else tar -tf \"$a\"; fi\n"
}

/// Compares the archive with `dest` without changing it; prints `@troupe-differ <line>`
/// lines (tar's own wording, which the zip branch imitates) and `@troupe-rc` of `tar --diff`.
fn compare_script(p: &Plan) -> String {
    let extra = extra(p);
    let mut s = prelude(p);
    s.push_str(&format!(
        "echo \"@troupe-uid $(id -u)\"\n\
         if [ -n \"$zip\" ]; then\n\
         echo @troupe-handler ZipArchive\nx=$(mktemp -d)\nunzip -q -o{extra} \"$a\" -d \"$x\" >&2\n\
         (cd \"$x\" && find . -mindepth 1 | while IFS= read -r p; do\np=${{p#./}}\n\
         if [ -L \"$p\" ]; then [ \"$(readlink -- \"$p\")\" = \"$(readlink -- \"$d/$p\" || true)\" ] || echo \"@troupe-differ $p: Symlink differs\"\n\
         elif [ ! -e \"$d/$p\" ]; then echo \"@troupe-differ $p: Warning: Cannot stat: No such file or directory\"; continue\n\
         elif [ -d \"$p\" ]; then [ -d \"$d/$p\" ] || echo \"@troupe-differ $p: File type differs\"\n\
         else cmp -s -- \"$p\" \"$d/$p\" || echo \"@troupe-differ $p: Contents differ\"; fi\n\
         [ -L \"$p\" ] || [ \"$(stat -c %a -- \"$p\")\" = \"$(stat -c %a -- \"$d/$p\")\" ] || echo \"@troupe-differ $p: Mode differs\"\n\
         done)\n\
         top() {{ (cd \"$x\" && find . -mindepth 1 -maxdepth 1 | sed 's|^\\./||'); }}\n\
         else\n\
         echo @troupe-handler TarArchive\nrc=0\n\
         out=$(LC_ALL=C tar --diff{show}{extra} -C \"$d\" -f \"$a\" 2>&1) || rc=$?\n\
         printf '%s\\n' \"$out\" | sed 's/^/@troupe-differ /'\necho \"@troupe-rc $rc\"\n\
         top() {{ tar -tf \"$a\" | sed 's|^\\./||; s|/.*||' | sort -u; }}\n\
         fi\n",
        show = if extra.is_empty() { "" } else { " --show-transformed-names" },
    ));
    if let Some(find) = attrs_test(&p.attrs) {
        s.push_str(&format!(
            "top | while IFS= read -r n; do [ -z \"$n\" ] || [ ! -e \"$d/$n\" ] || \
             find \"$d/$n\" {find} -print -quit 2>&1; done | grep -q . && echo @troupe-attrs\n"
        ));
    }
    if p.list_files {
        s.push_str(list_script());
    }
    s.push_str("true\n");
    s
}

/// `find` tests that match a path whose owner, group or octal mode is not the wanted one;
/// `None` when nothing checkable is wanted (a symbolic mode is not checked).
fn attrs_test(attrs: &Attrs) -> Option<String> {
    let mut tests = Vec::new();
    if let Some(o) = &attrs.owner {
        tests.push(format!("! -user {}", quote(o)));
    }
    if let Some(g) = &attrs.group {
        tests.push(format!("! -group {}", quote(g)));
    }
    if let Some(m) = attrs.mode.as_deref().filter(|m| m.chars().all(|c| c.is_ascii_digit())) {
        tests.push(format!("! -perm {}", quote(m)));
    }
    (!tests.is_empty()).then(|| format!("\\( {} \\)", tests.join(" -o ")))
}

fn extract_script(p: &Plan) -> String {
    let extra = extra(p);
    let mut s = prelude(p);
    s.push_str(&format!(
        "if [ -n \"$zip\" ]; then\n\
         echo @troupe-handler ZipArchive\nunzip -q -o{extra} \"$a\" -d \"$d\" >&2\n\
         top() {{ unzip -Z1 \"$a\" | sed 's|^\\./||; s|/.*||' | sort -u; }}\n\
         else\n\
         echo @troupe-handler TarArchive\ntar{extra} -xf \"$a\" -C \"$d\" >&2\n\
         top() {{ tar -tf \"$a\" | sed 's|^\\./||; s|/.*||' | sort -u; }}\n\
         fi\n"
    ));
    if !p.attrs.is_empty() {
        s.push_str("top | while IFS= read -r n; do\n[ -n \"$n\" ] && [ -e \"$d/$n\" ] || continue\n");
        s.push_str(&p.attrs.script("\"$d/$n\"", true));
        s.push_str("done\n");
    }
    if p.list_files {
        s.push_str(list_script());
    }
    s
}

/// `handler` and (with `list_files`) `files` from a compare or extract script's output.
fn insert_listing(out: &str, list_files: bool, result: &mut Map) {
    if let Some(h) = out.lines().find_map(|l| l.strip_prefix("@troupe-handler ")) {
        result.insert("handler".into(), h.trim().into());
    }
    if list_files {
        let files: Vec<Value> = out.lines().skip_while(|l| *l != "@troupe-files").skip(1).map(Value::from).collect();
        result.insert("files".into(), Value::Array(files));
    }
}

/// What the compare script found: `Ok(true)` when the archive must be extracted.
fn needs_extract(out: &str, attrs: &Attrs) -> Result<bool, String> {
    // The member list (`list_files`) comes last and may hold any name: stop before it.
    let head: Vec<&str> = out.lines().take_while(|l| *l != "@troupe-files").collect();
    let root = head.contains(&"@troupe-uid 0");
    let report: Vec<&str> = head.iter().filter_map(|l| l.strip_prefix("@troupe-differ ")).collect();
    let differs = report.iter().any(|l| tar_line_differs(l, root, attrs));
    let rc = head.iter().find_map(|l| l.strip_prefix("@troupe-rc ")).and_then(|r| r.trim().parse::<i32>().ok());
    // tar exits 2 on trouble (an unreadable archive); its differences alone give 1.
    if rc.unwrap_or(0) > 1 && !differs {
        let text: Vec<&str> = report.iter().copied().filter(|l| !l.is_empty()).collect();
        return Err(format!("Unable to compare the archive with the destination: {}", text.join("; ")));
    }
    Ok(differs || head.contains(&"@troupe-attrs"))
}

#[async_trait]
impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("unarchive", args, &SPEC)?;
        for unsupported in ["keep_newer", "exclude", "include"] {
            if a.has(unsupported) {
                return Err(a.error(format_args!("`{unsupported}` is not supported yet; use `extra_opts`")));
            }
        }
        let src = a.req_str("src")?;
        let dest = a.req_str("dest")?;
        let remote_src = a.bool("remote_src", false)?;
        if src.contains("://") {
            return Err(a.error("downloading `src` from a URL is not supported; use get_url first"));
        }
        let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
        let extra_opts = a.list("extra_opts")?.unwrap_or_default();
        let list_files = a.bool("list_files", false)?;
        let creates = a.str("creates")?;
        let local = if remote_src {
            None
        } else {
            let path = cx.find_file("files", &src).ok_or_else(|| {
                ModuleError::failed(format!(
                    "Could not find or access '{src}' (looked in files/ and beside the tasks and playbook)"
                ))
            })?;
            Some(path.to_string_lossy().into_owned())
        };

        // A cheap first look, so `creates` skips before any archive is sent.
        let mut script = format!("[ -d {} ] || echo @troupe-nodest\n", quote(&dest));
        if let Some(c) = &creates {
            script.push_str(&format!("[ -e {} ] && echo @troupe-creates\n", quote(c)));
        }
        if remote_src {
            script.push_str(&format!("[ -f {} ] || echo @troupe-nosrc\n", quote(&src)));
        }
        script.push_str("true\n");
        let out = run_ok(cx, Cmd::new(script), "reading the unarchive destination failed").await?.stdout_text();
        let has = |m: &str| out.lines().any(|l| l == m);

        let mut q = Query::ok().with("dest", dest.clone()).with("src", src.clone());
        if let Some(c) = creates.filter(|_| has("@troupe-creates")) {
            return Ok(q.with("skipped", true).with("msg", format!("skipped, since {c} exists")));
        }
        if has("@troupe-nodest") {
            return Err(ModuleError::failed(format!("dest '{dest}' must be an existing dir")));
        }
        if has("@troupe-nosrc") {
            return Err(ModuleError::failed(format!("Source '{src}' does not exist")));
        }
        let archive = local.as_deref().map(|p| LocalFile::open(Path::new(p))).transpose()?;
        let plan = Plan {
            dest,
            remote: remote_src.then(|| src.clone()),
            local,
            sha1: archive.as_ref().map(|a| a.sha1.clone()).unwrap_or_default(),
            extra_opts,
            attrs,
            list_files,
        };
        let mut cmd = Cmd::new(compare_script(&plan));
        if let Some(archive) = &archive {
            cmd = cmd.stdin_file(&archive.path);
        }
        let out = run_ok(cx, cmd, &format!("comparing {src} with {} failed", plan.dest)).await?.stdout_text();
        insert_listing(&out, list_files, &mut q.result);
        q.changed = needs_extract(&out, &plan.attrs).map_err(ModuleError::failed)?;
        if q.changed {
            q.change = Change::new(plan);
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let plan: Plan = q.change.take("unarchive")?;
        let mut cmd = Cmd::new(extract_script(&plan));
        if let Some(path) = &plan.local {
            LocalFile::unchanged(Path::new(path), &plan.sha1)?;
            cmd = cmd.stdin_file(path);
        }
        let out = run_ok(cx, cmd, &format!("extracting into {} failed", plan.dest)).await?.stdout_text();
        let mut result = q.result;
        insert_listing(&out, plan.list_files, &mut result);
        Ok(result)
    }
}

#[cfg(test)]
#[path = "unarchive_tests.rs"]
mod tests;
