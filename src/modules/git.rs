//! `git`: a checkout of a repository at a version. The query reads the clone (its HEAD, local
//! changes, remote URL) and the remote's refs (`git ls-remote`, one call), and so knows the
//! commit Ansible's module would end on; apply clones or fetches, then checks out as Ansible
//! does (`checkout --force` + `reset --hard` for branches). Results: `before`, `after`,
//! `remote_url_changed`; `--diff` shows the two commits.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::{failed_with, run_ok, sections};
use super::{Change, Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::path("dest", "where the checkout goes (required unless clone=no)"),
        Opt::str("repo", "the repository's address (a path becomes file://)").required(),
        Opt::str("version", "a branch, tag or commit").default("HEAD"),
        Opt::str("remote", "the remote's name").default("origin"),
        Opt::str("refspec", "an extra refspec to fetch"),
        Opt::str("reference", "`git clone --reference`"),
        Opt::bool("force", "discard local changes").default("false"),
        Opt::int("depth", "a shallow clone of this many commits"),
        Opt::bool("clone", "clone when dest does not exist").default("true"),
        Opt::bool("update", "fetch and check out new versions").default("true"),
        Opt::bool("verify_commit", "verify the commit's GPG signature (troupe: not supported yet)").default("false"),
        Opt::list("gpg_allowlist", "fingerprints verify_commit accepts (troupe: not supported yet)"),
        Opt::bool("accept_hostkey", "add `-o StrictHostKeyChecking=no` to ssh").default("false"),
        Opt::bool("accept_newhostkey", "add `-o StrictHostKeyChecking=accept-new` to ssh").default("false"),
        Opt::path("key_file", "the ssh key git uses"),
        Opt::str("ssh_opts", "more ssh options for git"),
        Opt::path("executable", "the git to run"),
        Opt::bool("bare", "a bare repository").default("false"),
        Opt::bool("recursive", "clone with submodules").default("true"),
        Opt::bool("single_branch", "clone only the one branch").default("false"),
        Opt::bool("track_submodules", "submodules follow their branches (troupe: not supported yet)").default("false"),
        Opt::raw("umask", "the umask git runs with (a quoted octal)"),
        Opt::path("archive", "write an archive of the checkout (troupe: not supported yet)"),
        Opt::str("archive_prefix", "the archive's path prefix (troupe: not supported yet)"),
        Opt::path("separate_git_dir", "keep .git elsewhere (troupe: not supported yet)"),
    ]],
    aliases: &[("name", "repo"), ("gpg_whitelist", "gpg_allowlist")],
    ..ArgSpec::NONE
};

pub struct Git;

/// The arguments the scripts need.
#[derive(Debug, Clone, Default)]
pub struct Want {
    pub git: String,
    pub repo: String,
    pub dest: Option<String>,
    pub version: String,
    pub remote: String,
    pub refspec: Option<String>,
    pub reference: Option<String>,
    pub depth: Option<i64>,
    pub bare: bool,
    pub force: bool,
    pub recursive: bool,
    pub single_branch: bool,
    pub umask: Option<String>,
    pub ssh: Option<String>,
}

/// What the query found on the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub exists: bool,
    pub before: String,
    pub head_branch: String,
    pub local_mods: bool,
    pub url: Option<String>,
    pub submodules: bool,
    /// `git ls-remote REPO`: (sha, ref).
    pub refs: Vec<(String, String)>,
    /// The version as a commit of the local clone, when it is one.
    pub local_commit: Option<String>,
}

/// Where a version points on the remote: a branch, a tag, or neither (a commit).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Branch(String),
    Tag(String),
    Commit,
}

impl Found {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.refs.iter().find(|(_, r)| r == name).map(|(s, _)| s.as_str())
    }

    pub fn target(&self, version: &str) -> Target {
        if version == "HEAD" {
            let branch = if self.exists { self.head_branch.clone() } else { String::new() };
            return Target::Branch(branch);
        }
        if self.lookup(&format!("refs/heads/{version}")).is_some() {
            Target::Branch(version.into())
        } else if self.lookup(&format!("refs/tags/{version}")).is_some() {
            Target::Tag(version.into())
        } else {
            Target::Commit
        }
    }

    /// The commit the checkout ends on (Ansible's `get_remote_head`).
    pub fn remote_head(&self, version: &str) -> Result<String, ModuleError> {
        let sha = match self.target(version) {
            Target::Branch(b) if b.is_empty() => self.lookup("HEAD"),
            Target::Branch(b) => self.lookup(&format!("refs/heads/{b}")),
            Target::Tag(t) => self.lookup(&format!("refs/tags/{t}^{{}}")).or(self.lookup(&format!("refs/tags/{t}"))),
            Target::Commit => return Ok(self.local_commit.clone().unwrap_or_else(|| version.to_string())),
        };
        sha.map(String::from)
            .ok_or_else(|| ModuleError::failed(format!("Could not determine remote revision for {version}")))
    }
}

/// `git ls-remote` lines.
pub fn parse_refs(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(|l| l.split_once('\t')).map(|(s, r)| (s.trim().into(), r.trim().into())).collect()
}

fn repo_path(w: &Want, dest: &str) -> String {
    if w.bare {
        dest.to_string()
    } else {
        format!("{dest}/.git")
    }
}

fn env_prefix(w: &Want) -> String {
    let mut s = String::from("LANG=C; LC_ALL=C; export LANG LC_ALL\n");
    if let Some(u) = &w.umask {
        s.push_str(&format!("umask {u}\n"));
    }
    if let Some(ssh) = &w.ssh {
        s.push_str(&format!("GIT_SSH_COMMAND={}; export GIT_SSH_COMMAND\n", quote(ssh)));
    }
    s
}

/// The query: the clone's state, then the remote's refs.
pub fn read_script(w: &Want) -> String {
    let g = quote(&w.git);
    let mut s = env_prefix(w);
    if let Some(dest) = &w.dest {
        let d = quote(dest);
        s.push_str(&format!(
            "if [ -e {config} ]; then echo '@@troupe:exists@@'\n\
             echo '@@troupe:before@@'; cd {d} && {g} rev-parse HEAD\n\
             echo '@@troupe:branch@@'; {g} symbolic-ref -q --short HEAD || {g} symbolic-ref -q refs/remotes/{r}/HEAD\n\
             echo '@@troupe:mods@@'; {mods}\n\
             echo '@@troupe:url@@'; {g} config --get remote.{r}.url\n\
             echo '@@troupe:submodules@@'; test -f .gitmodules && echo yes\n\
             echo '@@troupe:local@@'; {g} rev-parse --verify --quiet {v}'^{{commit}}'\nfi\n",
            config = quote(&format!("{}/config", repo_path(w, dest))),
            r = quote(&w.remote),
            v = quote(&w.version),
            mods = if w.bare { "true".to_string() } else { format!("{g} status --porcelain | grep -v '^??'") },
        ));
    }
    s.push_str(&format!("echo '@@troupe:refs@@'; {g} ls-remote {} || exit 1\n", quote(&w.repo)));
    s
}

pub fn parse_found(text: &str, remote: &str) -> Found {
    let p = sections(text);
    let get = |k: &str| p.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let branch = get("branch");
    let branch = branch.strip_prefix(&format!("refs/remotes/{remote}/")).unwrap_or(&branch).to_string();
    Found {
        exists: p.contains_key("exists"),
        before: get("before"),
        head_branch: branch,
        local_mods: !get("mods").is_empty(),
        url: Some(get("url")).filter(|u| !u.is_empty()),
        submodules: get("submodules") == "yes",
        refs: parse_refs(p.get("refs").map(String::as_str).unwrap_or("")),
        local_commit: Some(get("local")).filter(|c| !c.is_empty()),
    }
}

/// Ansible's `unfrackgitpath`: a path-like URL without its trailing slash.
fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| u.trim_end_matches('/').to_string();
    norm(a) == norm(b)
}

/// What apply is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// `clone: no` and no clone there: nothing to do (Ansible reports the remote head, changed).
    Nothing,
    Clone,
    Update {
        set_url: bool,
        reset: bool,
    },
}

/// The commands of a plan.
pub fn apply_script(w: &Want, found: &Found, plan: &Plan) -> String {
    let g = quote(&w.git);
    let r = quote(&w.remote);
    let mut s = env_prefix(w);
    let Some(dest) = &w.dest else { return s };
    let d = quote(dest);
    let target = found.target(&w.version);
    let ok = " || exit 1\n";
    match plan {
        Plan::Nothing => return s,
        Plan::Clone => {
            s.push_str(&format!("mkdir -p \"$(dirname {d})\"{ok}"));
            let mut cmd = format!("{g} clone");
            if w.bare {
                cmd.push_str(" --bare");
            } else {
                cmd.push_str(&format!(" --origin {r}"));
            }
            let named = matches!(&target, Target::Branch(b) if !b.is_empty()) || matches!(target, Target::Tag(_));
            if let Some(depth) = w.depth {
                cmd.push_str(&format!(" --depth {depth}"));
                if named && w.version != "HEAD" && w.refspec.is_none() {
                    cmd.push_str(&format!(" --branch {}", quote(&w.version)));
                }
            }
            if let Some(reference) = &w.reference {
                cmd.push_str(&format!(" --reference {}", quote(reference)));
            }
            if w.single_branch {
                cmd.push_str(" --single-branch");
                if named && w.depth.is_none() {
                    cmd.push_str(&format!(" --branch {}", quote(&w.version)));
                }
            }
            s.push_str(&format!("{cmd} {} {d}{ok}cd {d}{ok}", quote(&w.repo)));
            if w.bare && w.remote != "origin" {
                s.push_str(&format!("{g} remote add {r} {}{ok}", quote(&w.repo)));
            }
            if let Some(refspec) = &w.refspec {
                let depth = w.depth.map(|d| format!(" --depth {d}")).unwrap_or_default();
                s.push_str(&format!("{g} fetch{depth} {r} {}{ok}", quote(refspec)));
            }
        }
        Plan::Update { set_url, reset } => {
            s.push_str(&format!("cd {d}{ok}"));
            if *reset {
                s.push_str(&format!("{g} reset --hard HEAD --{ok}"));
            }
            if *set_url {
                s.push_str(&format!("{g} remote set-url {r} {}{ok}", quote(&w.repo)));
            }
            let mut fetch = format!("{g} fetch");
            let mut refspecs = Vec::new();
            if w.bare {
                refspecs.extend(["'+refs/heads/*:refs/heads/*'".to_string(), "'+refs/tags/*:refs/tags/*'".into()]);
            } else {
                fetch.push_str(" --tags");
            }
            if let Some(refspec) = &w.refspec {
                refspecs.push(quote(refspec));
            }
            if w.force {
                fetch.push_str(" --force");
            }
            s.push_str(&format!("{fetch} {r}{}{ok}", refspecs.iter().map(|x| format!(" {x}")).collect::<String>()));
        }
    }
    if !w.bare {
        let v = quote(&w.version);
        match target {
            Target::Branch(_) if w.version == "HEAD" => s.push_str(&format!(
                "b=$({g} symbolic-ref -q --short HEAD || {g} symbolic-ref -q refs/remotes/{r}/HEAD | sed 's|^refs/remotes/[^/]*/||')\n\
                 {g} checkout --force \"$b\" || {{ echo \"Failed to checkout branch $b\" >&2; exit 1; }}\n\
                 {g} reset --hard {r}/\"$b\" --{ok}"
            )),
            Target::Branch(_) => s.push_str(&format!(
                "if {g} show-ref --verify --quiet refs/heads/{v}; then\n\
                 {g} checkout --force {v} && {g} reset --hard {r}/{v}{ok}\
                 else {g} checkout --track -b {v} {r}/{v}{ok}fi\n"
            )),
            _ => s.push_str(&format!("{g} checkout --force {v}{ok}")),
        }
        if w.recursive {
            s.push_str(&format!("if [ -f .gitmodules ]; then {g} submodule update --init --recursive{ok}fi\n"));
        }
    }
    s.push_str(&format!("echo '@@troupe:after@@'; {g} rev-parse HEAD\n"));
    s
}

fn want(a: &Args) -> Result<Want, ModuleError> {
    for name in ["archive", "separate_git_dir"] {
        if a.has(name) {
            return Err(a.error(format_args!("`{name}` is not supported yet")));
        }
    }
    for name in ["verify_commit", "track_submodules"] {
        if a.bool(name, false)? {
            return Err(a.error(format_args!("`{name}: true` is not supported yet")));
        }
    }
    if a.has("archive_prefix") {
        return Err(ModuleError::Args("missing parameter(s) required by 'archive_prefix': archive".into()));
    }
    let (hostkey, newhostkey) = (a.bool("accept_hostkey", false)?, a.bool("accept_newhostkey", false)?);
    if hostkey && newhostkey {
        return Err(ModuleError::Args("parameters are mutually exclusive: accept_hostkey|accept_newhostkey".into()));
    }
    let mut ssh_opts = a.str("ssh_opts")?;
    for (on, opt) in [(hostkey, "-o StrictHostKeyChecking=no"), (newhostkey, "-o StrictHostKeyChecking=accept-new")] {
        if !on {
            continue;
        }
        ssh_opts = Some(match ssh_opts {
            Some(o) if o.contains("StrictHostKeyChecking=no") || o.contains("StrictHostKeyChecking=accept-new") => o,
            Some(o) => format!("{o} {opt}"),
            None => opt.to_string(),
        });
    }
    let key = a.str("key_file")?;
    let ssh = match (&key, &ssh_opts) {
        (None, None) => None,
        _ => {
            let mut c = String::from("ssh");
            if let Some(k) = &key {
                c.push_str(&format!(" -i {} -o IdentitiesOnly=yes", quote(k)));
            }
            if let Some(o) = &ssh_opts {
                c.push(' ');
                c.push_str(o);
            }
            Some(c)
        }
    };
    let umask = match a.get("umask") {
        None => None,
        Some(Value::String(u)) if !u.is_empty() && u.chars().all(|c| ('0'..='7').contains(&c)) => Some(u.clone()),
        Some(Value::String(_)) => return Err(ModuleError::failed("umask must be an octal integer")),
        Some(_) => return Err(ModuleError::failed("umask must be defined as a quoted octal integer")),
    };
    let repo = a.req_str("repo")?;
    let repo = if repo.starts_with('/') { format!("file://{repo}") } else { repo };
    let clone = a.bool("clone", true)?;
    let dest = a.str("dest")?;
    if dest.is_none() && clone {
        return Err(ModuleError::failed("the destination directory must be specified unless clone=no"));
    }
    Ok(Want {
        git: a.str("executable")?.unwrap_or_else(|| "git".into()),
        repo,
        dest: dest.map(|d| d.trim_end_matches('/').to_string()),
        version: a.str("version")?.unwrap_or_else(|| "HEAD".into()),
        remote: a.str("remote")?.unwrap_or_else(|| "origin".into()),
        refspec: a.str("refspec")?,
        reference: a.str("reference")?,
        depth: a.int("depth")?,
        bare: a.bool("bare", false)?,
        force: a.bool("force", false)?,
        recursive: a.bool("recursive", true)?,
        single_branch: a.bool("single_branch", false)?,
        umask,
        ssh,
    })
}

/// Compare what is there with what is wanted: the plan, `before`, `after`, `remote_url_changed`.
pub fn decide(w: &Want, f: &Found, clone: bool, update: bool) -> Result<(Option<Plan>, Map), ModuleError> {
    let mut r = Map::new();
    r.insert("before".into(), Value::Null);
    if !f.exists {
        let after = f.remote_head(&w.version)?;
        r.insert("after".into(), after.into());
        return Ok((Some(if clone { Plan::Clone } else { Plan::Nothing }), r));
    }
    r.insert("before".into(), f.before.clone().into());
    if !update {
        r.insert("after".into(), f.before.clone().into());
        return Ok((None, r));
    }
    if f.local_mods && !w.force {
        let mut result = r;
        result.insert("changed".into(), false.into());
        let dest = w.dest.as_deref().unwrap_or("");
        return Err(ModuleError::Failed {
            msg: format!("Local modifications exist in the destination: {dest} (force=no)."),
            result,
        });
    }
    if f.submodules && w.recursive {
        return Err(ModuleError::failed(
            "git: updating the submodules of an existing clone is not supported yet (recursive: false leaves them)",
        ));
    }
    let url_changed = f.url.as_deref().is_some_and(|u| u != w.repo && !same_url(u, &w.repo));
    let set_url = f.url.as_deref().map_or(true, |u| u != w.repo && !same_url(u, &w.repo));
    let after = f.remote_head(&w.version)?;
    r.insert("after".into(), after.clone().into());
    r.insert("remote_url_changed".into(), url_changed.into());
    let changed = f.before != after || url_changed || f.local_mods;
    Ok((changed.then_some(Plan::Update { set_url, reset: f.local_mods }), r))
}

struct Planned {
    want: Want,
    found: Found,
    plan: Plan,
}

#[async_trait]
impl Module for Git {
    fn name(&self) -> &'static str {
        "git"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("git", args, &SPEC)?;
        let w = want(&a)?;
        let out = cx.run(Cmd::new(read_script(&w)).read_only()).await?;
        if out.rc != 0 {
            return Err(failed_with(format!("git ls-remote {} failed: {}", w.repo, out.stderr_text().trim()), &out));
        }
        let found = parse_found(&out.stdout_text(), &w.remote);
        let (plan, result) = decide(&w, &found, a.bool("clone", true)?, a.bool("update", true)?)?;
        let mut q = Query::ok();
        q.result = result;
        if let Some(plan) = plan {
            q.changed = true;
            let before = q.result.get("before").and_then(Value::as_str).unwrap_or("").to_string();
            let after = q.result.get("after").and_then(Value::as_str).unwrap_or("").to_string();
            q.diff = Some(Diff {
                path: w.dest.clone().unwrap_or_default(),
                before: if before.is_empty() { String::new() } else { format!("{before}\n") },
                after: format!("{after}\n"),
            });
            q.change = Change::new(Planned { want: w, found, plan });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("git")?;
        if p.plan == Plan::Nothing {
            return Ok(q.result);
        }
        let out = run_ok(cx, Cmd::new(apply_script(&p.want, &p.found, &p.plan)), "git failed").await?;
        let after = sections(&out.stdout_text()).get("after").map(|s| s.trim().to_string()).unwrap_or_default();
        let mut r = q.result;
        r.insert("after".into(), after.into());
        if let Plan::Update { reset: true, .. } = p.plan {
            let dest = p.want.dest.unwrap_or_default();
            r.insert("msg".into(), format!("Local modifications exist in the destination: {dest}").into());
        }
        Ok(r)
    }
}

#[cfg(test)]
#[path = "git_tests.rs"]
mod tests;
