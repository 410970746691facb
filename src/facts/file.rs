//! The facts of a path on the target (kind, mode, owner, times, link, checksum), from one
//! shell command that can cover several paths.

use super::batch::{self, Want};
use super::{ahead, FactsError, Reader};
use crate::connection::quote;
use crate::value::Map;

/// What kind of thing a path is (not following a final symlink unless asked to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileKind {
    #[default]
    Absent,
    File,
    Dir,
    Link,
    Char,
    Block,
    Fifo,
    Socket,
}

impl FileKind {
    fn from_mode(raw: u32) -> FileKind {
        match raw & 0o170000 {
            0o040000 => FileKind::Dir,
            0o100000 => FileKind::File,
            0o120000 => FileKind::Link,
            0o020000 => FileKind::Char,
            0o060000 => FileKind::Block,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => FileKind::File,
        }
    }

    /// The word Ansible's `file` module uses for this state.
    pub fn state(self) -> &'static str {
        match self {
            FileKind::Absent => "absent",
            FileKind::Dir => "directory",
            FileKind::Link => "link",
            _ => "file",
        }
    }
}

/// One path's metadata as read from the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileFacts {
    pub path: String,
    pub kind: FileKind,
    /// Permission bits only (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    /// `readlink`: what a symlink points to, as written.
    pub link_target: Option<String>,
    /// The link's fully resolved path.
    pub link_source: Option<String>,
    /// Hex digest, for regular files when asked for.
    pub checksum: Option<String>,
    pub readable: bool,
    pub writeable: bool,
    pub executable: bool,
    /// 512-byte blocks allocated, the preferred I/O size, and a device's number (`st_rdev`).
    pub blocks: u64,
    pub block_size: u64,
    pub rdev: u64,
    /// `file -b --mime-type --mime-encoding` output (`text/plain; charset=us-ascii`), when asked
    /// for; empty when the tool failed.
    pub mime: Option<String>,
    /// `lsattr -vd` output, when asked for; empty when the tool failed.
    pub attrs: Option<String>,
}

impl FileFacts {
    pub fn exists(&self) -> bool {
        self.kind != FileKind::Absent
    }

    /// `mode`, `owner`, ... as file/copy/template return them.
    pub fn insert_into(&self, result: &mut Map) {
        if !self.exists() {
            result.insert("state".into(), "absent".into());
            return;
        }
        result.insert("mode".into(), format!("0{:03o}", self.mode & 0o7777).into());
        result.insert("owner".into(), self.owner.clone().into());
        result.insert("group".into(), self.group.clone().into());
        result.insert("uid".into(), self.uid.into());
        result.insert("gid".into(), self.gid.into());
        result.insert("size".into(), self.size.into());
        result.insert("state".into(), self.kind.state().into());
    }
}

const BEGIN: &str = "@troupe-begin";

/// The `stat -c` fields [`parse_stat`] reads.
pub const STAT_FIELDS: usize = 16;

/// Shell that prints the facts of `path`; several can run in one command (see [`parse_facts`]).
/// `checksum` is a digest name (`sha1`, `sha256`, `md5`, ...) taken for regular files.
/// No command substitutions: a subshell costs as much as a small command on a busy host, so
/// tools print straight after a `printf` of their tag (`|| echo` keeps a failed one's line).
pub fn facts_script(path: &str, follow: bool, checksum: Option<&str>) -> String {
    want_script(&Want::new(path, follow, checksum))
}

/// [`facts_script`] for one want (its `content` is not read here).
pub fn want_script(w: &Want) -> String {
    let (path, follow, checksum) = (w.path.as_str(), w.follow, w.checksum.as_deref());
    let l = if follow { "-L " } else { "" };
    let regular = if follow { r#"[ -f "$p" ]"# } else { r#"[ -f "$p" ] && [ ! -L "$p" ]"# };
    let sum = match checksum {
        Some(alg) => {
            format!("if {regular} && [ -r \"$p\" ]; then printf '@troupe-sum '; {alg}sum <\"$p\" || echo; fi\n")
        }
        None => String::new(),
    };
    format!(
        "echo {BEGIN}\np={path}\n\
         if [ -e \"$p\" ] || [ -L \"$p\" ]; then\n\
         printf '@troupe-stat '; stat {l}-c '%f|%u|%g|%s|%.9X|%.9Y|%.9Z|%i|%d|%h|%U|%G|%b|%o|%t|%T' -- \"$p\" || echo\n\
         if [ -L \"$p\" ]; then printf '@troupe-link '; readlink -- \"$p\" || echo; \
         printf '@troupe-real '; readlink -f -- \"$p\" || echo; fi\n\
         printf '@troupe-access '; [ -r \"$p\" ] && printf r; [ -w \"$p\" ] && printf w; [ -x \"$p\" ] && printf x; echo\n\
         {sum}{extra}\
         fi\n",
        path = quote(path),
        extra = batch::extra_script(w, "-"),
    )
}

/// Parse the output of one or more [`facts_script`]s, in order. Lines before the first
/// block (output of a script that ran first) are ignored.
pub fn parse_facts(out: &str, paths: &[&str]) -> Result<Vec<FileFacts>, String> {
    let mut all: Vec<FileFacts> = Vec::new();
    for line in out.lines() {
        if line == BEGIN {
            let path = paths.get(all.len()).copied().unwrap_or_default();
            all.push(FileFacts { path: path.to_string(), ..FileFacts::default() });
            continue;
        }
        let Some(f) = all.last_mut() else { continue };
        if let Some(rest) = line.strip_prefix("@troupe-stat ") {
            parse_stat(f, rest).map_err(|e| format!("cannot read stat output {rest:?}: {e}"))?;
        } else if let Some(rest) = line.strip_prefix("@troupe-link ") {
            f.link_target = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@troupe-real ") {
            f.link_source = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@troupe-access ") {
            f.readable = rest.contains('r');
            f.writeable = rest.contains('w');
            f.executable = rest.contains('x');
        } else if let Some(rest) = line.strip_prefix("@m - ") {
            f.mime = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@a - ") {
            f.attrs = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@troupe-sum ") {
            f.checksum = rest.split_whitespace().next().map(str::to_string);
        }
    }
    if all.len() != paths.len() {
        return Err(format!("expected facts for {} path(s), got {}", paths.len(), all.len()));
    }
    Ok(all)
}

pub fn parse_stat(f: &mut FileFacts, text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.splitn(STAT_FIELDS, '|').collect();
    if parts.len() != STAT_FIELDS {
        return Err(format!("expected {STAT_FIELDS} fields"));
    }
    let int = |i: usize| parts[i].parse::<u64>().map_err(|e| format!("field {i}: {e}"));
    let float = |i: usize| parts[i].parse::<f64>().map_err(|e| format!("field {i}: {e}"));
    let raw = u32::from_str_radix(parts[0], 16).map_err(|e| format!("mode: {e}"))?;
    f.kind = FileKind::from_mode(raw);
    f.mode = raw & 0o7777;
    f.uid = int(1)? as u32;
    f.gid = int(2)? as u32;
    f.size = int(3)?;
    f.atime = float(4)?;
    f.mtime = float(5)?;
    f.ctime = float(6)?;
    f.inode = int(7)?;
    f.dev = int(8)?;
    f.nlink = int(9)?;
    f.owner = parts[10].to_string();
    f.group = parts[11].to_string();
    f.blocks = int(12)?;
    f.block_size = int(13)?;
    let hex = |i: usize| u64::from_str_radix(parts[i], 16).map_err(|e| format!("field {i}: {e}"));
    let (major, minor) = (hex(14)?, hex(15)?);
    // glibc's makedev, which Python's st_rdev reports.
    f.rdev = ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32);
    Ok(())
}

/// Facts of several paths in one command (or from the read-ahead cache).
pub async fn file_facts(
    r: &dyn Reader,
    paths: &[&str],
    follow: bool,
    checksum: Option<&str>,
) -> Result<Vec<FileFacts>, FactsError> {
    let wants: Vec<Want> = paths.iter().map(|p| Want::new(*p, follow, checksum)).collect();
    wants_facts(r, &wants).await
}

/// Facts of several wants in one command (or from the read-ahead cache).
pub async fn wants_facts(r: &dyn Reader, wants: &[Want]) -> Result<Vec<FileFacts>, FactsError> {
    if let Some(found) = ahead::facts(r, wants).await? {
        return Ok(found);
    }
    let paths: Vec<&str> = wants.iter().map(|w| w.path.as_str()).collect();
    let script: String = wants.iter().map(want_script).collect();
    let out = r.read(script).await?;
    if out.rc != 0 {
        let text = out.stderr_text();
        let detail = text.trim();
        let detail = if detail.is_empty() { out.stdout_text().trim().to_string() } else { detail.to_string() };
        return Err(FactsError::Read {
            msg: format!("reading file facts failed (rc={}): {detail}", out.rc),
            out: Some(out),
        });
    }
    parse_facts(&out.stdout_text(), &paths).map_err(|msg| FactsError::Read { msg, out: None })
}
