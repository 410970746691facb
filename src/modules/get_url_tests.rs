use super::*;
use crate::modules::testutil::{err_text, mode_of, text, Harness};
use serde_json::json;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// A tiny HTTP server: `/missing` answers 404, anything else the fixed body.
/// Returns its base URL and the request heads it saw.
fn serve(body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let (status, body) =
                if head.starts_with("GET /missing") { ("404 Not Found", "") } else { ("200 OK", body) };
            log.lock().map(|mut l| l.push(head)).ok();
            let reply =
                format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            stream.write_all(reply.as_bytes()).ok();
        }
    });
    (url, seen)
}

/// A well-formed sha256 that matches none of the bodies served here.
const SUM: &str = "sha256:6c4d0b2cfbd0e3e1e54cc8ad2a16d3ce73bd8c76a54d0d68cb49e2b8d5ab64ad";

fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn checksums_and_file_names() {
    assert_eq!(parse_checksum("sha256:AB:cd"), Ok(("sha256", "abcd".to_string())));
    assert_eq!(parse_checksum("SHA1: ab12 "), Ok(("sha1", "ab12".to_string())));
    assert!(parse_checksum("ab12").is_err());
    assert!(parse_checksum("crc:ab").is_err());
    assert_eq!(parse_checksum("sha1:xyz"), Err("The checksum format is invalid".to_string()));
    assert!(parse_checksum("sha256:https://x/SHA256SUMS").is_err());
    assert_eq!(url_filename("https://h/a/etcd.tar.gz?x=1"), "etcd.tar.gz");
    assert_eq!(url_filename("https://h"), "index.html");
    assert_eq!(url_filename("https://h/dir/"), "index.html");
}

#[tokio::test]
async fn downloads_once_and_check_mode_writes_nothing() {
    let body = "etcd binary\n";
    let (base, seen) = serve(body);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("etcd");
    let d = dest.to_string_lossy().into_owned();
    let mut h = Harness::new();
    let args = json!({
        "url": format!("{base}/etcd"), "dest": d, "mode": "0750",
        "checksum": format!("sha256:{}", sha256(body)),
        "headers": {"X-Token": "s3cret"}, "url_username": "u", "url_password": "p w",
    });

    h.check_mode = true;
    assert!(h.run(&GetUrl, args.clone()).await.unwrap().0);
    assert!(!dest.exists());
    assert!(seen.lock().unwrap().is_empty(), "check mode does not download");
    h.check_mode = false;

    let (changed, r) = h.run(&GetUrl, args.clone()).await.unwrap();
    assert!(changed, "{r:?}");
    assert_eq!(text(&dest), body);
    assert_eq!(mode_of(&dest), 0o750);
    assert_eq!(r.get("status_code"), Some(&json!(200)));
    assert_eq!(r.get("msg"), Some(&json!("OK (12 bytes)")));
    assert_eq!(r.get("checksum_dest"), Some(&Value::Null));
    let head = seen.lock().unwrap().first().cloned().unwrap_or_default();
    assert!(head.contains("X-Token: s3cret"), "{head}");
    assert!(head.contains("Authorization: Basic dTpwIHc="), "{head}");

    let (changed, r) = h.run(&GetUrl, args.clone()).await.unwrap();
    assert!(!changed);
    assert_eq!(r.get("msg"), Some(&json!("file already exists")));
    assert_eq!(seen.lock().unwrap().len(), 1, "an up-to-date file is not downloaded again");

    // Only the mode differs: no download, just chmod.
    let mut args = args;
    args["mode"] = json!("0700");
    let (changed, r) = h.run(&GetUrl, args).await.unwrap();
    assert!(changed);
    assert_eq!(r.get("msg"), Some(&json!("file already exists but file attributes changed")));
    assert_eq!(mode_of(&dest), 0o700);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // No leftovers beside dest.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn force_and_folder_dest_compare_the_download() {
    let (base, seen) = serve("v2\n");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("app.conf");
    std::fs::write(&dest, "v1\n").unwrap();
    let mut h = Harness::new();
    let url = format!("{base}/x/app.conf");
    let forced = json!({"url": url, "dest": dest.to_string_lossy(), "force": true, "backup": true});
    // Exists, no checksum, no force: kept without asking the server.
    let kept = json!({"url": url, "dest": dest.to_string_lossy()});
    assert!(!h.run(&GetUrl, kept).await.unwrap().0);
    assert_eq!(seen.lock().unwrap().len(), 0);

    // Forced and different: check mode downloads to compare, writes nothing.
    h.check_mode = true;
    assert!(h.run(&GetUrl, forced.clone()).await.unwrap().0);
    assert_eq!(text(&dest), "v1\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    h.check_mode = false;

    let (changed, r) = h.run(&GetUrl, forced.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(text(&dest), "v2\n");
    assert_eq!(r.get("checksum_dest"), Some(&json!(crate::modules::content::sha1_hex(b"v1\n"))));
    let backup = r.get("backup_file").and_then(Value::as_str).unwrap_or_default().to_string();
    assert_eq!(text(std::path::Path::new(&backup)), "v1\n");
    std::fs::remove_file(&backup).unwrap();
    let before = seen.lock().unwrap().len();

    // Forced again, same content: downloaded once to compare, `ok`, file untouched.
    let mtime = std::fs::metadata(&dest).unwrap().modified().unwrap();
    let (changed, r) = h.run(&GetUrl, forced).await.unwrap();
    assert!(!changed, "{r:?}");
    assert_eq!(r.get("msg"), Some(&json!("file already exists")));
    assert_eq!(seen.lock().unwrap().len(), before + 1);
    assert_eq!(std::fs::metadata(&dest).unwrap().modified().unwrap(), mtime);

    // A folder dest downloads every time and replaces only changed content.
    let folder = json!({"url": url, "dest": dir.path().to_string_lossy()});
    assert!(!h.run(&GetUrl, folder.clone()).await.unwrap().0);
    std::fs::write(&dest, "v1\n").unwrap();
    assert!(h.run(&GetUrl, folder).await.unwrap().0);
    assert_eq!(text(&dest), "v2\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no backup without backup: true");
}

#[tokio::test]
async fn checksum_mismatch_fails_and_leaves_nothing() {
    let (base, _) = serve("etcd binary\n");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("etcd");
    let h = Harness::new();
    let args = json!({"url": format!("{base}/etcd"), "dest": dest.to_string_lossy(), "checksum": SUM});
    let e = err_text(h.run(&GetUrl, args).await);
    assert!(e.starts_with(&format!("The checksum for {} did not match 6c4d", dest.display())), "{e}");
    assert!(e.ends_with(&format!("it was {}.", sha256("etcd binary\n"))), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
}

#[tokio::test]
async fn http_errors_and_missing_folders() {
    let (base, _) = serve("x");
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::new();
    let dest = dir.path().join("f").to_string_lossy().into_owned();
    let r = h.run(&GetUrl, json!({"url": format!("{base}/missing"), "dest": dest})).await;
    match r {
        Err(ModuleError::Failed { msg, result }) => {
            assert!(msg.starts_with("Request failed: curl: (22)"), "{msg}");
            assert_eq!(result.get("status_code"), Some(&json!(404)));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let dest = dir.path().join("no/such/f").to_string_lossy().into_owned();
    let e = err_text(h.run(&GetUrl, json!({"url": base, "dest": dest})).await);
    assert_eq!(e, format!("Destination {}/no/such does not exist", dir.path().display()));
    let e = err_text(h.run(&GetUrl, json!({"url": base, "dest": "/tmp/x", "headers": {"a": "b\nc"}})).await);
    assert!(e.contains("line breaks"), "{e}");
}

#[tokio::test]
async fn falls_back_to_wget() {
    let (base, seen) = serve("via wget\n");
    let dir = tempfile::tempdir().unwrap();
    // A PATH with the usual tools but no curl.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["dirname", "mktemp", "cat", "sed", "wget", "sha1sum", "cut", "chmod", "chown", "mv", "rm", "stat"] {
        for prefix in ["/usr/bin", "/bin"] {
            let p = std::path::Path::new(prefix).join(tool);
            if p.exists() {
                std::os::unix::fs::symlink(&p, bin.join(tool)).unwrap();
                break;
            }
        }
    }
    let dest = dir.path().join("out");
    let h = Harness::new();
    let mut cx = h.cx();
    cx.env = vec![("PATH".into(), bin.to_string_lossy().into_owned())];
    let args = crate::modules::testutil::to_map(json!({
        "url": format!("{base}/f"), "dest": dest.to_string_lossy(), "headers": {"X-A": "1"}, "url_username": "u",
    }));
    let q = GetUrl.query(&cx, &args).await.unwrap();
    assert!(q.changed);
    let r = GetUrl.apply(&cx, &args, q).await.unwrap();
    assert_eq!(text(&dest), "via wget\n");
    assert_eq!(r.get("msg"), Some(&json!("OK (9 bytes)")));
    let head = seen.lock().unwrap().first().cloned().unwrap_or_default();
    assert!(head.contains("X-A: 1"), "{head}");
}
