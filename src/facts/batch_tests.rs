use super::*;
use crate::connection::local::Local;
use crate::connection::{Cmd, Connection};
use crate::facts::{facts_script, parse_facts};
use crate::modules::content::sha1_hex;

const MARK: &str = "@troupe-cat-0123456789abcdef";

/// A folder with one of each kind of path the modules meet.
fn tree() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("file"), "hello\n").unwrap();
    std::fs::write(d.join("a|b  c"), "odd name\n").unwrap();
    std::fs::create_dir(d.join("dir")).unwrap();
    std::os::unix::fs::symlink(d.join("file"), d.join("link")).unwrap();
    std::os::unix::fs::symlink(d.join("gone"), d.join("dangling")).unwrap();
    let names = ["file", "a|b  c", "dir", "link", "dangling", "absent", "file/"];
    let paths = names.iter().map(|n| d.join(n).to_string_lossy().into_owned()).collect();
    (dir, paths)
}

async fn sh(script: String) -> String {
    Local::new("localhost").exec(&Cmd::new(script)).await.unwrap().stdout_text()
}

/// What the one-path script (the old way, and the fallback) reads for `w`.
async fn one_by_one(w: &Want) -> Option<FileFacts> {
    let out = sh(facts_script(&w.path, w.follow, w.checksum.as_deref())).await;
    parse_facts(&out, &[&w.path]).ok()?.pop()
}

#[tokio::test]
async fn batch_reads_what_one_path_at_a_time_reads() {
    let (_dir, paths) = tree();
    for (follow, checksum) in [(true, Some("sha1")), (false, Some("sha1")), (true, None), (false, Some("md5"))] {
        let wants: Vec<Want> = paths.iter().map(|p| Want::new(p.clone(), follow, checksum)).collect();
        let got = parse(&sh(script(&wants, MARK)).await, &wants);
        for (w, g) in wants.iter().zip(&got) {
            let mut old = one_by_one(w).await;
            if w.path.ends_with("dangling") && follow {
                // The one-path script fails on it (stat -L of nothing); the batch says "unknown".
                assert!(old.is_none() && g.is_none(), "{w:?}: {g:?}");
                continue;
            }
            // atime moves when the old script reads the file; everything else must agree.
            if let (Some(o), Some(g)) = (old.as_mut(), g) {
                o.atime = g.atime;
            }
            assert_eq!(g.as_ref(), old.as_ref(), "{w:?}");
        }
        let file = got[0].as_ref().unwrap();
        assert_eq!(file.kind, FileKind::File);
        assert_eq!(file.size, 6);
        let sum = checksum.map(|alg| {
            if alg == "md5" {
                "b1946ac92492d2347c6235b4d2611184"
            } else {
                "f572d396fae9206628714fb2ce00f72e94f2258f"
            }
        });
        assert_eq!(file.checksum.as_deref(), sum);
        assert_eq!(got[5].as_ref().unwrap().kind, FileKind::Absent);
    }
}

#[tokio::test]
async fn one_stat_and_one_checksum_for_any_number_of_paths() {
    let (_dir, paths) = tree();
    let wants: Vec<Want> = paths.iter().map(|p| Want::new(p.clone(), true, Some("sha1"))).collect();
    let s = script(&wants, MARK);
    assert_eq!(s.matches("stat ").count(), 1, "{s}");
    assert_eq!(s.matches("sha1sum").count(), 1, "{s}");
}

#[test]
fn missing_data_is_unknown_not_another_paths() {
    let wants = vec![Want::new("/a", true, Some("sha1")), Want::new("/b", true, None), Want::new("/c", true, None)];
    // /a exists but its stat line went missing (it vanished in between); /b's line is present.
    let out = "@e 0 rw\n@e 1 r\n@s1 81a4|0|0|6|1|2|3|9|8|1|root|root|8|4096|0|0|/b\n";
    let got = parse(out, &wants);
    assert_eq!(got[0], None);
    assert_eq!(got[1].as_ref().map(|f| f.kind), Some(FileKind::File));
    assert_eq!(got[2].as_ref().map(|f| f.kind), Some(FileKind::Absent));
    // A regular readable file wanted with a checksum needs its sum line.
    let out = "@e 0 r\n@s1 81a4|0|0|6|1|2|3|9|8|1|root|root|8|4096|0|0|/a\n";
    assert_eq!(parse(out, &wants[..1])[0], None);
    let out = format!("{out}abc  /a\n");
    assert_eq!(parse(&out, &wants[..1])[0].as_ref().and_then(|f| f.checksum.clone()).as_deref(), Some("abc"));
}

#[test]
fn names_tools_would_escape_are_not_batched() {
    assert!(batchable("/etc/etcd/etcd.conf"));
    assert!(batchable("/tmp/a b|c"));
    assert!(!batchable("/tmp/a\nb"));
    assert!(!batchable("/tmp/a\\b"));
    assert!(!batchable(""));
}

async fn sh_bytes(script: String) -> Vec<u8> {
    Local::new("localhost").exec(&Cmd::new(script)).await.unwrap().stdout
}

#[tokio::test]
async fn text_wants_cut_one_cat_into_each_files_bytes() {
    let (dir, mut paths) = tree();
    let d = dir.path();
    std::fs::write(d.join("no-newline"), "last line").unwrap();
    std::fs::write(d.join("binary"), [0u8, 255, 10, 13, 0]).unwrap();
    std::fs::write(d.join("empty"), "").unwrap();
    std::fs::write(d.join("fake-mark"), format!("x\n{MARK}\ny")).unwrap();
    for n in ["no-newline", "binary", "empty", "fake-mark"] {
        paths.push(d.join(n).to_string_lossy().into_owned());
    }
    let wants: Vec<Want> = paths.iter().map(|p| Want::text(p.clone())).collect();
    let s = script(&wants, MARK);
    assert_eq!(s.matches("cat --").count(), 1, "{s}");
    let got = parse_found(&sh_bytes(s).await, &wants, MARK);
    let content = |name: &str| {
        let at = paths.iter().position(|p| p.ends_with(&format!("/{name}"))).unwrap();
        got[at].as_ref().map(|f| f.content.clone())
    };
    assert_eq!(content("file"), Some(Some(b"hello\n".to_vec())));
    assert_eq!(content("link"), Some(Some(b"hello\n".to_vec())), "a link is followed");
    assert_eq!(content("no-newline"), Some(Some(b"last line".to_vec())));
    assert_eq!(content("binary"), Some(Some(vec![0, 255, 10, 13, 0])));
    assert_eq!(content("empty"), Some(Some(Vec::new())));
    assert_eq!(content("fake-mark"), Some(Some(format!("x\n{MARK}\ny").into_bytes())));
    assert_eq!(content("absent"), Some(None));
    assert_eq!(content("dir"), Some(None), "a folder has facts (the module refuses it), no bytes");
}

#[test]
fn bytes_that_do_not_match_their_checksum_are_unknown() {
    let wants = vec![Want::text("/a"), Want::text("/b")];
    let head = "@e 0 r\n@e 1 r\n@s1 81a4|0|0|2|1|2|3|9|8|1|root|root|8|4096|0|0|/a\n@s1 81a4|0|0|2|1|2|3|9|8|1|root|root|8|4096|0|0|/b\n";
    let sums = format!("{}  /a\n{}  /b\n", sha1_hex(b"a\n"), sha1_hex(b"b\n"));
    let good = format!("{head}{sums}\n{MARK}\na\nb\n");
    let got = parse_found(good.as_bytes(), &wants, MARK);
    assert_eq!(got[1].as_ref().and_then(|f| f.content.clone()), Some(b"b\n".to_vec()));
    // /a grew between stat and cat: its bytes and every later file's are unknown.
    let grown = format!("{head}{sums}\n{MARK}\naa\nb\n");
    assert!(parse_found(grown.as_bytes(), &wants, MARK).iter().all(Option::is_none));
    // Same sizes, other bytes (changed after sha1sum ran).
    let edited = format!("{head}{sums}\n{MARK}\na\nc\n");
    let got = parse_found(edited.as_bytes(), &wants, MARK);
    assert!(got[0].is_some() && got[1].is_none());
    // An unreadable file is never "no content": the plain read must report why.
    let unreadable = "@e 0 \n@s1 81a4|0|0|2|1|2|3|9|8|1|root|root|8|4096|0|0|/a\n";
    assert_eq!(parse_found(unreadable.as_bytes(), &wants[..1], MARK)[0], None);
}
