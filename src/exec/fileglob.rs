//! `with_fileglob`: controller files matching each pattern, found as Ansible's `fileglob`
//! lookup finds them: a bare pattern is tried in `files/` then directly in each search folder
//! (role, task file, playbook), the first folder with a match wins; a pattern with a folder
//! looks in the first search folder that has it (under `files/` or directly); an absolute
//! pattern is used as it is. Only files match, not folders. Names are sorted.

use std::path::{Path, PathBuf};

use crate::value::{to_text, Value};

/// The files matching every pattern in `terms`, as absolute path strings.
pub fn expand(terms: &[Value], search: &[PathBuf]) -> Vec<Value> {
    let mut out = Vec::new();
    for term in terms {
        let term = to_text(term);
        let path = Path::new(&term);
        let Some(pattern) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let folders: Vec<PathBuf> = match dir {
            Some(d) if d.is_absolute() => vec![d.to_path_buf()],
            Some(d) => search
                .iter()
                .flat_map(|s| [s.join("files").join(d), s.join(d)])
                .find(|c| c.is_dir())
                .into_iter()
                .collect(),
            None => search.iter().flat_map(|s| [s.join("files"), s.clone()]).collect(),
        };
        for folder in folders {
            let found = matching_files(&folder, &pattern);
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    out
}

fn matching_files(folder: &Path, pattern: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // Python's glob skips hidden files unless the pattern starts with a dot.
        .filter(|n| (!n.starts_with('.') || pattern.starts_with('.')) && crate::glob::matches(pattern, n))
        .collect();
    names.sort();
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    names.into_iter().map(|n| folder.join(n).display().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_dir_first_then_the_folder_itself_and_folders_in_patterns() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        for f in ["files/a.conf", "files/b.conf", "files/sub/c.conf", "d.conf", "files/.hidden.conf"] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::fs::create_dir_all(root.join("files/dir.conf")).unwrap();
        let search = [root.clone()];
        let got = |p: &str| expand(&[Value::from(p)], &search);
        let path = |f: &str| Value::from(root.join(f).display().to_string());
        assert_eq!(got("*.conf"), [path("files/a.conf"), path("files/b.conf")], "folders and hidden files left out");
        assert_eq!(got("d.*"), [path("d.conf")], "the search folder itself after its files/");
        assert_eq!(got("sub/*.conf"), [path("files/sub/c.conf")]);
        let abs = format!("{}/files/a*", root.display());
        assert_eq!(got(&abs), [path("files/a.conf")]);
        assert!(got("*.nothing").is_empty());
    }
}
