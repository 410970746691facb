use super::*;
use serde_json::json;

fn args(v: serde_json::Value) -> Args {
    Args::parse("synchronize", &crate::module_api::testutil::to_map(v), &SPEC).unwrap()
}

fn host() -> Remote {
    Remote {
        address: "10.0.0.5".into(),
        user: Some("deploy".into()),
        port: Some(2222),
        key: Some("/keys/id".into()),
        ssh_args: vec!["-o".into(), "UserKnownHostsFile=/kh".into()],
        sudo_user: None,
    }
}

#[test]
fn push_over_the_hosts_ssh_settings() {
    let a = args(json!({"src": "site/", "dest": "/srv/www"}));
    let cmd = command(&a, "/play/files/site/", Some(&host()), false).unwrap();
    assert_eq!(
        cmd,
        "rsync --delay-updates -F --compress --archive \
         --rsh='ssh -S none -i /keys/id -o Port=2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null' \
         --out-format='<<CHANGED>>%i %n%L' /play/files/site/ deploy@10.0.0.5:/srv/www"
    );
    assert!(command(&a, "/x", Some(&host()), true).unwrap().contains("--compress --dry-run --archive"));
}

#[test]
fn options_become_ssh_args_and_pull() {
    let a = args(json!({"src": "/var/log/app", "dest": "/tmp/logs", "mode": "pull", "delete": true, "perms": false,
                        "use_ssh_args": true, "verify_host": true, "rsync_opts": ["--exclude=*.gz"], "set_remote_user": false}));
    let mut h = host();
    h.sudo_user = Some("root".into());
    let cmd = command(&a, "/var/log/app", Some(&h), false).unwrap();
    assert!(cmd.contains("--delete-after --archive --no-perms"), "{cmd}");
    assert!(cmd.contains("--rsh='ssh -S none -i /keys/id -o Port=2222 -o UserKnownHostsFile=/kh'"), "{cmd}");
    assert!(cmd.contains("--rsync-path='sudo -u root rsync' --exclude=*.gz"), "{cmd}");
    assert!(cmd.ends_with(" 10.0.0.5:/var/log/app /tmp/logs"), "{cmd}");
    let local =
        command(&args(json!({"src": "/a", "dest": "/b", "archive": false, "times": true})), "/a", None, false).unwrap();
    assert_eq!(local, "rsync --delay-updates -F --compress --times --out-format='<<CHANGED>>%i %n%L' /a /b");
}

#[test]
fn changes_read_from_the_marker() {
    let (changed, msg, lines) = outcome("<<CHANGED>>>f+++++++++ a.txt\n<<CHANGED>>cd+++++++++ d/\n", false);
    assert!(changed);
    assert_eq!(msg, ">f+++++++++ a.txt\ncd+++++++++ d/\n");
    assert_eq!(lines, [">f+++++++++ a.txt", "cd+++++++++ d/"]);
    assert!(!outcome("", false).0);
    assert!(!outcome("<<CHANGED>>.f a\n", true).0, "with link_dest, `.` lines are hard links");
    assert_eq!(target("fe80::1", "/p", Some("u")), "[u@fe80::1]:/p");
    assert_eq!(target("h", "other:/p", Some("u")), "u@other:/p");
}

#[tokio::test]
async fn a_local_sync_runs_rsync_only_when_something_differs() {
    if std::process::Command::new("rsync").arg("--version").output().is_err() {
        panic!("rsync is not installed: run tests/testbed/install-deps.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    let (src, dest) = (dir.path().join("src"), dir.path().join("dest"));
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a.txt"), "hello\n").unwrap();
    let h = crate::modules::testutil::Harness::new();
    let a = json!({"src": format!("{}/", src.display()), "dest": dest.display().to_string()});
    let (changed, r) = h.run(&Synchronize, a.clone()).await.unwrap();
    assert!(changed, "{r:?}");
    assert_eq!(std::fs::read_to_string(dest.join("a.txt")).unwrap(), "hello\n");
    let (changed, r) = h.run(&Synchronize, a).await.unwrap();
    assert!(!changed, "{r:?}");
}
