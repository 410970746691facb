//! Folder-to-folder copies on the target (`copy` with `remote_src`), as the module's
//! `copy_directory` does them: a missing destination gets the whole tree (modes and times
//! kept, links kept as links); an existing one gets the files whose content differs and the
//! entries it lacks, while its other entries stay. Both trees are read with one `find` each.

use std::collections::{BTreeMap, HashSet};

use crate::connection::quote;
use crate::facts::{FileFacts, FileKind};

use super::copy_remote::{dirname, join};

/// One entry of a listed tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// find's `%y` (the entry itself) and `%Y` (what a link leads to): `f`, `d`, `l`, ...
    pub kind: char,
    pub target_kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub link: String,
    /// SHA-1 of a regular file (or of the file a link leads to).
    pub sha1: Option<String>,
}

impl Entry {
    /// The entry's facts, as `Attrs::differing` reads them.
    pub fn facts(&self, path: &str) -> FileFacts {
        let kind = match self.kind {
            'd' => FileKind::Dir,
            'l' => FileKind::Link,
            _ => FileKind::File,
        };
        FileFacts {
            path: path.to_string(),
            kind,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            owner: self.owner.clone(),
            group: self.group.clone(),
            ..FileFacts::default()
        }
    }
}

/// A listed tree: relative path (`""` is the top) → entry.
#[derive(Debug, Default, PartialEq)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
}

const FIND: &str = r"find . -printf '%y %Y %m %U %G %u %g\0%P\0%l\0'";
const SUMS: &str = r"find . -xtype f -exec sha1sum -z -- {} +";

/// One read-only script that lists `src` and, when it is a folder, `dest` (NUL-separated).
pub fn list_script(src: &str, dest: &str) -> String {
    format!(
        "set -e\nprintf '@src\\0'\n(cd -- {s} && {FIND} && printf '@sums\\0' && {SUMS})\n\
         if [ -d {d} ]; then printf '@dst\\0'; (cd -- {d} && {FIND} && printf '@sums\\0' && {SUMS}); fi\n",
        s = quote(src),
        d = quote(dest),
    )
}

/// The source tree and, when listed, the destination tree.
pub fn parse_lists(out: &[u8]) -> Result<(Tree, Option<Tree>), String> {
    let text = String::from_utf8_lossy(out);
    let mut parts = text.split('\0');
    let mut trees: Vec<Tree> = Vec::new();
    let mut in_sums = false;
    while let Some(p) = parts.next() {
        match p {
            "@src" | "@dst" => {
                trees.push(Tree::default());
                in_sums = false;
            }
            "@sums" => in_sums = true,
            "" => {}
            _ => {
                let tree = trees.last_mut().ok_or_else(|| format!("unexpected listing output {p:?}"))?;
                if in_sums {
                    let (sum, path) = p.split_once("  ").ok_or_else(|| format!("bad sha1sum line {p:?}"))?;
                    let path = path.strip_prefix("./").unwrap_or(path);
                    if let Some(e) = tree.entries.get_mut(path) {
                        e.sha1 = Some(sum.to_string());
                    }
                    continue;
                }
                let path = parts.next().ok_or("listing ended early")?.to_string();
                let link = parts.next().ok_or("listing ended early")?.to_string();
                let f: Vec<&str> = p.splitn(7, ' ').collect();
                if f.len() != 7 {
                    return Err(format!("bad listing line {p:?}"));
                }
                let num = |s: &str| s.parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
                let entry = Entry {
                    kind: f[0].chars().next().unwrap_or('?'),
                    target_kind: f[1].chars().next().unwrap_or('?'),
                    mode: u32::from_str_radix(f[2], 8).map_err(|e| format!("mode {:?}: {e}", f[2]))?,
                    uid: num(f[3])?,
                    gid: num(f[4])?,
                    owner: f[5].to_string(),
                    group: f[6].to_string(),
                    link,
                    sha1: None,
                };
                tree.entries.insert(path, entry);
            }
        }
    }
    let mut it = trees.into_iter();
    let src = it.next().ok_or("no listing of the source")?;
    Ok((src, it.next()))
}

/// `chown`/`chgrp` (not following links) for wanted owner and group.
fn chown(path: &str, owner: &(Option<String>, Option<String>), recurse: bool) -> String {
    let r = if recurse { "-R " } else { "" };
    let mut s = String::new();
    if let Some(o) = &owner.0 {
        s.push_str(&format!("chown -h {r}-- {} {}\n", quote(o), quote(path)));
    }
    if let Some(g) = &owner.1 {
        s.push_str(&format!("chgrp -h {r}-- {} {}\n", quote(g), quote(path)));
    }
    s
}

/// A missing destination: the whole tree copied beside it, then moved in place (shutil.copytree
/// with copy2: modes and times kept; links kept unless `local_follow` is true).
pub fn fresh_script(src: &str, dest: &str, follow: bool, owner: &(Option<String>, Option<String>)) -> String {
    let dest = dest.trim_end_matches('/');
    let parent = dirname(dest);
    let tmp = join(&parent, &format!(".troupe-tmp.{:016x}", rand::random::<u64>()));
    let deref = if follow { "-L" } else { "-P" };
    let mut s = String::new();
    if !parent.is_empty() {
        s.push_str(&format!("mkdir -p -- {}\n", quote(&parent)));
    }
    s.push_str(&format!(
        "t={t}\ntrap 'rm -rf -- \"$t\"' EXIT\ncp -R {deref} --preserve=mode,timestamps -- {s} \"$t\"\n\
         mv -T -- \"$t\" {d}\ntrap - EXIT\n",
        t = quote(&tmp),
        // `src/.`: the folder a linked `src` leads to, as copytree lists it.
        s = quote(&format!("{}/.", src.trim_end_matches('/'))),
        d = quote(dest),
    ));
    s.push_str(&chown(dest, owner, true));
    s
}

/// Copy one file through a temporary file beside it; `mode_from_src` is shutil.copymode.
fn copy_one(src: &str, dest: &str, mode_from_src: bool, existing: bool) -> String {
    let tmp = join(&dirname(dest), &format!(".troupe-tmp.{:016x}", rand::random::<u64>()));
    let mut s = format!(
        "t={t}\nset -C; : > \"$t\"; set +C\ntrap 'rm -f -- \"$t\"' EXIT\ncat < {s} > \"$t\"\n",
        t = quote(&tmp),
        s = quote(src)
    );
    if mode_from_src {
        s.push_str(&format!("chmod --reference={} \"$t\"\n", quote(src)));
    }
    if existing {
        // copyfile writes into the old file: its owner stays.
        s.push_str(&format!("chown --reference={} \"$t\" 2>/dev/null || true\n", quote(dest)));
    }
    s.push_str(&format!("mv -f -- \"$t\" {}\ntrap - EXIT\n", quote(dest)));
    s
}

/// Names Python's `filecmp.dircmp` leaves out (its `DEFAULT_IGNORES`): the module neither
/// compares nor copies them into an existing destination.
const DIRCMP_IGNORES: &[&str] = &["RCS", "CVS", "tags", ".git", ".hg", ".bzr", "_darcs", "__pycache__"];

/// An existing destination: the commands that bring it to what the module makes of it
/// (`copy_diff_files`, `copy_left_only`, `copy_common_dirs`, then `chown_recursive`).
/// Empty when nothing differs.
pub fn plan(
    src: &str,
    dest: &str,
    from: &Tree,
    to: &Tree,
    local_follow: Option<bool>,
    owner: &(Option<String>, Option<String>),
) -> String {
    let mut common: HashSet<&str> = HashSet::from([""]);
    let mut made: HashSet<&str> = HashSet::new();
    let mut s = String::new();
    let mut by_depth: Vec<(&String, &Entry)> = from.entries.iter().filter(|(p, _)| !p.is_empty()).collect();
    by_depth.sort_by_key(|(p, _)| p.matches('/').count());
    for (path, e) in by_depth {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if !common.contains(parent) || DIRCMP_IGNORES.contains(&name) {
            continue;
        }
        let (sp, dp) = (join(src, path), join(dest, path));
        match to.entries.get(path.as_str()) {
            Some(d) if e.kind == 'd' && d.kind == 'd' => {
                common.insert(path);
            }
            Some(d) if e.target_kind == 'f' && d.target_kind == 'f' => {
                if e.sha1.is_none() || e.sha1 != d.sha1 {
                    let follow_link = local_follow != Some(false) || e.kind != 'l';
                    if follow_link {
                        s.push_str(&copy_one(&sp, &dp, true, true));
                    } else {
                        s.push_str(&format!("ln -s -- {} {}\n", quote(&e.link), quote(&dp)));
                    }
                    s.push_str(&chown(&dp, owner, false));
                    made.insert(path);
                }
            }
            Some(_) => {}
            None => {
                let step = match (e.kind, e.target_kind, local_follow) {
                    ('f', _, _) => copy_one(&sp, &dp, true, false) + &chown(&dp, owner, false),
                    ('d', _, _) => fresh_script(&sp, &dp, local_follow == Some(true), owner),
                    ('l', 'f', Some(true)) => copy_one(&sp, &dp, false, false) + &chown(&dp, owner, false),
                    ('l', 'd', Some(true)) => fresh_script(&sp, &dp, true, owner),
                    ('l', _, Some(false)) => {
                        format!("ln -s -- {} {}\n", quote(&e.link), quote(&dp)) + &chown(&dp, owner, false)
                    }
                    _ => String::new(),
                };
                if !step.is_empty() {
                    made.insert(path);
                }
                s.push_str(&step);
            }
        }
    }
    // chown_recursive: every entry already there gets the wanted owner and group.
    if owner.0.is_some() || owner.1.is_some() {
        for (path, d) in &to.entries {
            if made.contains(path.as_str()) {
                continue;
            }
            let o = owner.0.clone().filter(|o| !id_match(o, &d.owner, d.uid));
            let g = owner.1.clone().filter(|g| !id_match(g, &d.group, d.gid));
            s.push_str(&chown(&join(dest, path), &(o, g), false));
        }
    }
    s
}

fn id_match(want: &str, name: &str, id: u32) -> bool {
    want == name || want.parse::<u32>().is_ok_and(|n| n == id)
}
