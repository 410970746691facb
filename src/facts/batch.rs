//! The facts of many paths in one command. Shell builtins test each path. Then one `stat` runs
//! for each follow mode and one checksum tool runs, however many paths there are. A process
//! start costs 1–2.5 ms on a busy host; a builtin costs microseconds.
//!
//! Every line names its entry: by index (builtin tests) or by path (`stat`, `sha1sum`). So a
//! path that changes between the tests and `stat` shows up as missing data, never as another
//! path's facts. An entry with missing data is `None`, and its caller reads it the old way.

use crate::connection::quote;

use super::file::{parse_stat, FileFacts, FileKind, STAT_FIELDS};

/// SHA-1 of some bytes, in hex (what `sha1sum` prints).
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// One path's facts, as a module asks for them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Want {
    pub path: String,
    /// Follow a final symlink (`stat -L`).
    pub follow: bool,
    /// Digest name (`sha1`, `sha256`, ...) for regular files.
    pub checksum: Option<String>,
    /// The bytes of a regular file too (lineinfile, blockinfile).
    pub content: bool,
    /// `file --mime-type --mime-encoding` of the path (stat's `get_mime`).
    pub mime: bool,
    /// `lsattr -vd` of the path (stat's `get_attributes`).
    pub attrs: bool,
}

impl Want {
    pub fn new(path: impl Into<String>, follow: bool, checksum: Option<&str>) -> Want {
        Want {
            path: path.into(),
            follow,
            checksum: checksum.map(str::to_string),
            content: false,
            mime: false,
            attrs: false,
        }
    }

    /// A text file's facts and bytes, following links. The sha1 proves that the bytes cut out
    /// of one `cat` of many files are this file's.
    pub fn text(path: impl Into<String>) -> Want {
        Want { content: true, ..Want::new(path, true, Some("sha1")) }
    }
}

/// What the batch read for one want.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub facts: FileFacts,
    /// A regular file's bytes, for a `content` want.
    pub content: Option<Vec<u8>>,
}

const FMT: &str = "%f|%u|%g|%s|%.9X|%.9Y|%.9Z|%i|%d|%h|%U|%G|%b|%o|%t|%T|%n";

/// Paths whose `stat` and `sha1sum` lines can be read back by name. GNU tools escape a name
/// with a backslash or a newline.
pub fn batchable(path: &str) -> bool {
    !path.is_empty() && !path.contains(['\n', '\r', '\\'])
}

/// Lines `@m TAG <mime>` and `@a TAG <lsattr -vd>` as `w` asks for them; an empty text when
/// the tool failed or is missing (Ansible then reports `unknown`, no attributes).
pub fn extra_script(w: &Want, tag: &str) -> String {
    let mut s = String::new();
    if w.mime {
        s.push_str(&format!("printf '@m {tag} '; file -b --mime-type --mime-encoding -- \"$p\" 2>/dev/null || echo\n"));
    }
    if w.attrs {
        s.push_str(&format!("printf '@a {tag} '; lsattr -vd -- \"$p\" 2>/dev/null || echo\n"));
    }
    s
}

/// The script for `wants`, which must be batchable and share one checksum algorithm (or none;
/// `sha1` when any want's content is read). `mark` starts the file bytes: it must be random.
pub fn script(wants: &[Want], mark: &str) -> String {
    let alg = wants.iter().find_map(|w| w.checksum.clone());
    let mut s = String::from("set --\nnf=\nf=\nc=\n");
    for (i, w) in wants.iter().enumerate() {
        let regular = if w.follow { r#"[ -f "$p" ]"# } else { r#"[ -f "$p" ] && [ ! -L "$p" ]"# };
        let sum = match w.checksum {
            Some(_) => format!("if {regular} && [ -r \"$p\" ]; then set -- \"$@\" \"$p\"; fi\n"),
            None => String::new(),
        };
        // `c` holds quoted words for one `cat`: the path is quoted twice, for `eval`.
        let cat = match w.content {
            true => format!("if [ -f \"$p\" ] && [ -r \"$p\" ]; then c=\"$c \"{}; fi\n", quote(&quote(&w.path))),
            false => String::new(),
        };
        let sum = sum + &cat + &extra_script(w, &i.to_string());
        let seen = if w.follow { "f=1" } else { "nf=1" };
        s.push_str(&format!(
            "p={p}\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then {seen}\n\
             printf '@e {i} '; [ -r \"$p\" ] && printf r; [ -w \"$p\" ] && printf w; [ -x \"$p\" ] && printf x; echo\n\
             if [ -L \"$p\" ]; then printf '@l {i} '; readlink -- \"$p\" || echo; \
             printf '@r {i} '; readlink -f -- \"$p\" || echo; fi\n{sum}fi\n",
            p = quote(&w.path)
        ));
    }
    for follow in [false, true] {
        let paths: Vec<String> = wants.iter().filter(|w| w.follow == follow).map(|w| quote(&w.path)).collect();
        if paths.is_empty() {
            continue;
        }
        let (flag, l) = if follow { ("f", "-L ") } else { ("nf", "") };
        s.push_str(&format!(
            "[ -n \"${flag}\" ] && stat {l}-c '@s{} {FMT}' -- {} 2>/dev/null\n",
            u8::from(follow),
            paths.join(" ")
        ));
    }
    if let Some(alg) = alg {
        s.push_str(&format!("[ $# -gt 0 ] && {alg}sum -- \"$@\" 2>/dev/null\n"));
    }
    s.push_str(&format!("if [ -n \"$c\" ]; then printf '\\n%s\\n' {mark}; eval \"cat -- $c\" 2>/dev/null; fi\n"));
    s.push_str("exit 0\n");
    s
}

/// What the script printed, entry by entry: `None` when an entry's data is incomplete.
pub fn parse_found(out: &[u8], wants: &[Want], mark: &str) -> Vec<Option<Found>> {
    let marker = format!("\n{mark}\n");
    let (head, blob) = match out.windows(marker.len()).position(|w| w == marker.as_bytes()) {
        Some(at) => (&out[..at], Some(&out[at + marker.len()..])),
        None => (out, None),
    };
    let facts = parse(&String::from_utf8_lossy(head), wants);
    let mut found: Vec<Option<Found>> =
        facts.into_iter().map(|f| f.map(|facts| Found { facts, content: None })).collect();
    // The files `cat` read, in order: each content want that is a regular file we can read.
    let mut rest = blob.unwrap_or_default();
    let mut cut_ok = true;
    for (w, f) in wants.iter().zip(found.iter_mut()) {
        let Some(entry) = f.as_mut() else { continue };
        if !w.content || entry.facts.kind != FileKind::File {
            continue;
        }
        // Not readable: `cat` skipped it, and the plain read must say why, never "no content".
        if !entry.facts.readable {
            *f = None;
            continue;
        }
        let size = usize::try_from(entry.facts.size).unwrap_or(usize::MAX);
        let bytes = (cut_ok && size <= rest.len()).then(|| {
            let (bytes, tail) = rest.split_at(size);
            rest = tail;
            bytes
        });
        match bytes.filter(|b| entry.facts.checksum.as_deref() == Some(sha1_hex(b).as_str())) {
            Some(bytes) => entry.content = Some(bytes.to_vec()),
            // The file changed between `stat`, `sha1sum` and `cat`: every later cut is off too.
            None => {
                cut_ok = false;
                *f = None;
            }
        }
    }
    if !rest.is_empty() {
        for (w, f) in wants.iter().zip(found.iter_mut()) {
            if w.content && f.as_ref().is_some_and(|e| e.facts.kind == FileKind::File) {
                *f = None;
            }
        }
    }
    found
}

/// The text part of what the script printed, entry by entry (see [`parse_found`]).
fn parse(out: &str, wants: &[Want]) -> Vec<Option<FileFacts>> {
    let mut seen = vec![None::<String>; wants.len()];
    let mut links = vec![(None::<String>, None::<String>); wants.len()];
    let mut extras = links.clone();
    let mut stats: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
    let mut sums: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        let entry = |rest: &str| {
            let (i, text) = rest.split_once(' ').unwrap_or((rest, ""));
            i.parse::<usize>().ok().filter(|i| *i < wants.len()).map(|i| (i, text.to_string()))
        };
        if let Some((i, access)) = line.strip_prefix("@e ").and_then(entry) {
            seen[i] = Some(access);
        } else if let Some((i, target)) = line.strip_prefix("@l ").and_then(entry) {
            links[i].0 = Some(target);
        } else if let Some((i, real)) = line.strip_prefix("@r ").and_then(entry) {
            links[i].1 = Some(real);
        } else if let Some((i, text)) = line.strip_prefix("@m ").and_then(entry) {
            extras[i].0 = Some(text);
        } else if let Some((i, text)) = line.strip_prefix("@a ").and_then(entry) {
            extras[i].1 = Some(text);
        } else if let Some(rest) = line.strip_prefix("@s0 ").or_else(|| line.strip_prefix("@s1 ")) {
            let follow = line.as_bytes()[2] == b'1';
            // The fields, then the name (which may hold `|`).
            let mut parts = rest.splitn(STAT_FIELDS + 1, '|');
            let fields: Vec<&str> = parts.by_ref().take(STAT_FIELDS).collect();
            if let Some(name) = parts.next() {
                stats[usize::from(follow)].push((name.to_string(), fields.join("|")));
            }
        } else if let Some((sum, name)) = line.split_once("  ") {
            sums.push((name.to_string(), sum.to_string()));
        }
    }
    wants
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut f = FileFacts { path: w.path.clone(), ..FileFacts::default() };
            let Some(access) = &seen[i] else { return Some(f) };
            let stat = stats[usize::from(w.follow)].iter().find(|(n, _)| *n == w.path)?;
            parse_stat(&mut f, &stat.1).ok()?;
            f.readable = access.contains('r');
            f.writeable = access.contains('w');
            f.executable = access.contains('x');
            (f.link_target, f.link_source) = links[i].clone();
            (f.mime, f.attrs) = extras[i].clone();
            if (w.mime && f.mime.is_none()) || (w.attrs && f.attrs.is_none()) {
                return None;
            }
            if w.checksum.is_some() && f.kind == FileKind::File && f.readable {
                f.checksum = Some(sums.iter().find(|(n, _)| *n == w.path)?.1.clone());
            }
            Some(f)
        })
        .collect()
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
