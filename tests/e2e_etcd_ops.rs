//! The etcd role's day-2 operations (issue 10 points 3, 4, 5), end to end on testbed hosts and
//! checked with real etcdctl: backup and restore, the rolling upgrade, root password rotation.
//!
//! Each test holds the testbed exclusively and leaves the hosts without etcd.

use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::e2e_etcd::{cluster_id, etcdctl, etcdctl_ok, main_pid, pids, watched, Scene, RESET};
use crate::support::run::{repo, Done, Run};
use crate::support::testbed::{testbed, TbHost, Testbed};

fn reset(tb: &Testbed, hosts: &[TbHost]) {
    for h in hosts {
        tb.on(h, &format!("{RESET}; rm -rf /var/lib/etcd-backup /data/etcd.restore"));
    }
}

/// `troupe -i <testbed> -i <group file> playbooks/<book> -e etcd_pki_dir=... <args>`.
fn book(s: &Scene, book: &str, group: &str, args: &[&str]) -> Run {
    let pki = format!("etcd_pki_dir={}", s.pki().display());
    Run::new()
        .in_dir(&repo())
        .args(["-i".as_ref(), s.tb.inventory.as_os_str(), "-i".as_ref(), s.path(group).as_os_str()])
        .args([format!("playbooks/{book}"), "-e".into(), pki])
        .args(args)
}

fn value(tb: &Testbed, host: &TbHost, key: &str) -> String {
    etcdctl_ok(tb, host, &format!("get {key} --print-value-only")).trim().to_string()
}

fn refused(done: &Done, what: &str, needles: &[&str]) {
    assert_ne!(done.out.status.code(), Some(0), "{what}: the run should refuse\n{}", done.stdout);
    for needle in needles {
        assert!(done.stdout.contains(needle), "{what}: no {needle:?} in the output\n{}", done.stdout);
    }
}

fn unchanged(done: &Done, hosts: &[TbHost], what: &str) {
    for h in hosts {
        assert_eq!(done.changed(&h.name), 0, "{what} changed {}:\n{}", h.name, done.stdout);
    }
}

/// The snapshots of cluster `etcd` in `dir`, oldest first.
fn snapshots(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "db"));
    found.sort();
    found
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Backup → more keys → restore: the snapshot's keys are back, the later ones gone, a new
/// cluster ID, three healthy members; a restore over a live cluster is refused without
/// etcd_clean, changes nothing under --check, and a second restore refuses cleanly. Losing the
/// generated root password file (mtls) rotates root's password through its certificate.
#[test]
fn etcd_backup_then_restore_brings_back_the_snapshot_in_a_new_cluster() {
    let Some(tb) = testbed(3) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    let three = s.hosts(3);
    reset(tb, three);
    let backups = s.path("backup");
    let backup_dir = format!("etcd_backup_dir={}", backups.display());

    s.play("etcd3.yml", &[]).succeeds();
    etcdctl_ok(tb, &three[0], "put /ops/before snapshot");

    // Three backups, each after a write, two kept: each verified, private, with its SHA-256 beside it.
    for i in 0..3 {
        etcdctl_ok(tb, &three[0], &format!("put /ops/n{i} {i}"));
        book(&s, "etcd-backup.yml", "etcd3.yml", &["-e", &backup_dir, "-e", "etcd_backup_keep=2"]).succeeds();
        thread::sleep(Duration::from_millis(1100)); // one snapshot name per second
    }
    let kept = snapshots(&backups);
    assert_eq!(kept.len(), 2, "etcd_backup_keep=2 kept {kept:?}");
    // Nothing written since the newest: a second run takes no snapshot and changes nothing.
    let again = book(&s, "etcd-backup.yml", "etcd3.yml", &["-e", &backup_dir, "-e", "etcd_backup_keep=2"]).succeeds();
    assert!(again.stdout.contains("at its present raft index"), "{}", again.stdout);
    assert!(!again.stdout.contains("changed=1"), "a current backup changed something:\n{}", again.stdout);
    assert_eq!(snapshots(&backups), kept, "a current backup took a snapshot");
    let snap = kept.last().expect("a snapshot").clone();
    let sums = std::fs::read_to_string(format!("{}.sha256", snap.display())).expect("the .sha256 file");
    assert!(sums.starts_with(&sha256(&snap)), "{sums}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&snap).expect("stat").permissions().mode() & 0o777, 0o600);
    let status = Command::new("etcdctl").env("ETCDCTL_API", "3").arg("snapshot").arg("status").arg(&snap).output();
    assert!(status.is_ok_and(|o| o.status.success()), "etcdctl snapshot status refuses {}", snap.display());
    assert_eq!(
        tb.on(&three[0], "ls /var/lib/etcd-backup 2>/dev/null").stdout.trim(),
        "",
        "a snapshot left on a member"
    );

    etcdctl_ok(tb, &three[1], "put /ops/after later");
    let (id_before, pids_before, files_before) = (cluster_id(tb, &three[0]), pids(tb, three), s.fingerprints(3));
    let snapshot = format!("etcd_snapshot={}", snap.display());

    // On the live cluster: refused without etcd_clean; --check with it changes nothing.
    let done = book(&s, "etcd-restore.yml", "etcd3.yml", &["-e", &snapshot]).run();
    refused(
        &done,
        "restore over a live cluster",
        &["nothing was changed", "every key written since is lost", "-e etcd_clean=true"],
    );
    let done =
        book(&s, "etcd-restore.yml", "etcd3.yml", &["-e", &snapshot, "-e", "etcd_clean=true", "--check"]).succeeds();
    assert_eq!(pids_before, pids(tb, three), "--check restarted a member:\n{}", done.stdout);
    assert_eq!(files_before, s.fingerprints(3), "--check changed a file");
    assert_eq!(value(tb, &three[2], "/ops/after"), "later", "--check lost a key");
    // ... with -l: refused (a restore rebuilds every member).
    let done =
        book(&s, "etcd-restore.yml", "etcd3.yml", &["-e", &snapshot, "-e", "etcd_clean=true", "-l", &three[0].name])
            .run();
    refused(&done, "restore with -l", &["drop -l", "nothing was changed"]);

    let started = std::time::Instant::now();
    book(&s, "etcd-restore.yml", "etcd3.yml", &["-e", &snapshot, "-e", "etcd_clean=true"]).succeeds();
    eprintln!("restore of 3 members took {:?}", started.elapsed());
    let health = etcdctl_ok(tb, &three[0], "endpoint health --cluster");
    assert_eq!(health.matches("is healthy").count(), 3, "{health}");
    for h in three {
        assert_eq!(value(tb, h, "/ops/before"), "snapshot", "{}: the snapshot's key is missing", h.name);
        assert_eq!(value(tb, h, "/ops/after"), "", "{}: a key written after the snapshot survived", h.name);
    }
    assert_ne!(id_before, cluster_id(tb, &three[0]), "the restored cluster kept its cluster ID");

    // Again, without etcd_clean: a clean refusal.
    let files_after = s.fingerprints(3);
    let done = book(&s, "etcd-restore.yml", "etcd3.yml", &["-e", &snapshot]).run();
    refused(&done, "a second restore", &["nothing was changed"]);
    assert_eq!(files_after, s.fingerprints(3));

    // mtls, the generated root password file lost: a new one, set through root's certificate.
    let pw_file = s.pki().join("etcd/root.password");
    let old_pw = std::fs::read_to_string(&pw_file).expect("root.password").trim().to_string();
    std::fs::remove_file(&pw_file).expect("rm root.password");
    let pids_before = pids(tb, three);
    s.play("etcd3.yml", &["--tags", "etcd_launch"]).succeeds();
    let new_pw = std::fs::read_to_string(&pw_file).expect("a new root.password").trim().to_string();
    assert_ne!(old_pw, new_pw);
    let as_root = |pw: &str| etcdctl(tb, &three[0], &format!("--user root:{pw} user get root")).success();
    assert!(as_root(&new_pw) && !as_root(&old_pw), "root's password was not rotated");
    assert_eq!(pids_before, pids(tb, three), "rotating root's password restarted a member");
    let again = s.play("etcd3.yml", &["--tags", "etcd_launch"]).succeeds();
    unchanged(&again, three, "a second run after the rotation");
    reset(tb, three);
}

/// Two release tarballs of the same etcd 3.4.23 build (Debian's binaries, the second with bytes
/// appended so its checksum differs): only one etcd version is installable on these machines.
fn tarballs(s: &Scene) -> (String, String, String) {
    let mut sums = Vec::new();
    for (name, extra) in [("a", ""), ("b", "\ntroupe upgrade test: build b\n")] {
        let dir = s.path(&format!("build-{name}/etcd-v3.4.23-linux-amd64"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for bin in ["etcd", "etcdctl"] {
            std::fs::copy(format!("/usr/bin/{bin}"), dir.join(bin)).expect("copy Debian's etcd binaries");
        }
        let mut etcd = std::fs::read(dir.join("etcd")).expect("read etcd");
        etcd.extend_from_slice(extra.as_bytes());
        std::fs::write(dir.join("etcd"), etcd).expect("write etcd");
        sums.push(sha256(&dir.join("etcd")));
        let status = Command::new("tar")
            .arg("-czf")
            .arg(s.path(&format!("etcd-{name}.tar.gz")))
            .arg("-C")
            .arg(s.path(&format!("build-{name}")))
            .arg("etcd-v3.4.23-linux-amd64")
            .status()
            .expect("tar");
        assert!(status.success());
    }
    assert_ne!(sums[0], sums[1]);
    (
        format!("etcd_archive={}", s.path("etcd-a.tar.gz").display()),
        format!("etcd_archive={}", s.path("etcd-b.tar.gz").display()),
        sums[1].clone(),
    )
}

/// The sha256 of the binary etcd runs now, and the version the member reports.
fn running(tb: &Testbed, host: &TbHost) -> (String, String) {
    let sum = tb.ok(host, "sha256sum /proc/$(systemctl show -p MainPID --value etcd.service)/exe | cut -d' ' -f1");
    let status = tb.ok(
        host,
        ". /etc/profile.d/etcdctl.sh; ETCDCTL_ENDPOINTS=https://127.0.0.1:2379 etcdctl endpoint status -w json",
    );
    let at = status.find("\"version\":\"").map(|i| i + 11).unwrap_or_else(|| panic!("no version in {status}"));
    (sum.trim().to_string(), status[at..].chars().take_while(|c| *c != '"').collect())
}

/// A new release tarball rolls through the members one at a time: never two down (health polled
/// during the run), writes go on, each member runs the new binary and reports its version; the
/// second run changes nothing; --check changes nothing; a downgrade across minor versions is
/// refused before any change.
#[test]
fn etcd_rolling_upgrade_never_has_two_members_down() {
    let Some(tb) = testbed(3) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    let three = s.hosts(3);
    reset(tb, three);
    let (a, b, b_sum) = tarballs(&s);
    let archive = ["-e", "etcd_install_method=archive"];
    s.play("etcd3.yml", &[&archive[..], &["-e", &a]].concat()).succeeds();
    etcdctl_ok(tb, &three[0], "put /ops/k v");
    let upgrade = [&archive[..], &["--tags", "etcd_install", "-e", &b]].concat();

    // --check: says what it would do, changes nothing.
    let (pids_before, files_before) = (pids(tb, three), s.fingerprints(3));
    let check = s.play("etcd3.yml", &[&upgrade[..], &["--check"]].concat()).succeeds();
    check.stdout_has("would upgrade etcd-1");
    assert_eq!(pids_before, pids(tb, three), "--check restarted a member");
    assert_eq!(files_before, s.fingerprints(3), "--check changed a file");
    assert_ne!(running(tb, &three[0]).0, b_sum, "--check installed the new binary");

    // A downgrade across minor versions (a tarball whose etcd says 3.3.0) is refused.
    let old = s.path("build-c/etcd-v3.3.0-linux-amd64");
    std::fs::create_dir_all(&old).expect("mkdir");
    std::fs::write(old.join("etcd"), "#!/bin/sh\necho 'etcd Version: 3.3.0'\n").expect("write");
    std::fs::set_permissions(old.join("etcd"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::copy("/usr/bin/etcdctl", old.join("etcdctl")).expect("copy etcdctl");
    let c = s.path("etcd-c.tar.gz");
    Command::new("tar")
        .arg("-czf")
        .arg(&c)
        .arg("-C")
        .arg(s.path("build-c"))
        .arg("etcd-v3.3.0-linux-amd64")
        .status()
        .expect("tar");
    let c = format!("etcd_archive={}", c.display());
    let done = s.play("etcd3.yml", &[&archive[..], &["--tags", "etcd_install", "-e", &c]].concat()).run();
    refused(&done, "downgrade to 3.3", &["would install 3.3.0", "older minor version", "nothing was changed"]);
    assert_eq!(pids_before, pids(tb, three), "a refused downgrade restarted a member");

    // The roll, watched: members down at worst, writes that failed.
    let started = std::time::Instant::now();
    let put = |key: &str| s.put(three, key);
    let roll = || s.play("etcd3.yml", &upgrade).run();
    let (done, seen) = watched(&s, three, "/ops/roll", Duration::from_millis(100), put, roll);
    assert_eq!(done.out.status.code(), Some(0), "the upgrade failed:\n{}", done.stdout);
    eprintln!("rolling upgrade of 3 members took {:?}; {} writes", started.elapsed(), seen.writes);
    assert!(seen.writes > 5, "the poller hardly ran ({} rounds)", seen.writes);
    assert!(seen.worst <= 1, "{} members were down at once", seen.worst);
    assert!(seen.failed.is_empty(), "during the upgrade, {}", seen.failures());
    for (h, pid) in three.iter().zip(&pids_before) {
        let (sum, version) = running(tb, h);
        assert_eq!(sum, b_sum, "{} does not run the new binary", h.name);
        assert_eq!(version, "3.4.23", "{} reports {version}", h.name);
        assert_ne!(&main_pid(tb, h), pid, "{} was not restarted", h.name);
        assert_eq!(value(tb, h, "/ops/k"), "v");
    }
    let health = etcdctl_ok(tb, &three[0], "endpoint health --cluster");
    assert_eq!(health.matches("is healthy").count(), 3, "{health}");

    // Again: nothing to do.
    let pids_after = pids(tb, three);
    let again = s.play("etcd3.yml", &upgrade).succeeds();
    unchanged(&again, three, "a second upgrade run");
    assert_eq!(pids_after, pids(tb, three), "a second upgrade run restarted a member");
    reset(tb, three);
}

/// etcdctl from the controller as `user:password`: a password-only client (TLS with the CA,
/// no client certificate), as basic mode serves them.
fn put_as(s: &Scene, hosts: &[TbHost], user: &str, key: &str) -> Result<(), String> {
    let eps: Vec<String> = hosts.iter().map(|h| format!("https://{}:2379", h.ip)).collect();
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .env("ETCDCTL_USER", user)
        .arg(format!("--endpoints={}", eps.join(",")))
        .arg(format!("--cacert={}", s.pki().join("ca.pem").display()))
        .args(["--command-timeout=3s", "put", key, "v"])
        .output()
        .map_err(|e| format!("{key}: etcdctl: {e}"))
        .and_then(|o| match o.status.success() {
            true => Ok(()),
            false => Err(format!("{key}: {}", String::from_utf8_lossy(&o.stderr).trim())),
        })
}

/// basic mode: a new etcd_root_password is set in place, without a restart and without a
/// failed write of an application user; the old password stops working; the second run
/// changes nothing; --check changes nothing.
#[test]
fn etcd_root_password_rotates_without_a_failed_write() {
    let Some(tb) = testbed(3) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    let three = s.hosts(3);
    reset(tb, three);
    let vars = format!("@{}", s.path("basic.yml").display());
    let with_pw = |pw: &str, more: &[&str]| -> Run {
        let pw = format!("etcd_root_password={pw}");
        s.play("etcd3.yml", &[&["-e", vars.as_str(), "-e", pw.as_str()][..], more].concat())
    };
    with_pw("root-pw-1", &[]).succeeds();
    let root_ok = |pw: &str| put_as(&s, &three[..1], &format!("root:{pw}"), "/ops/root").is_ok();
    assert!(root_ok("root-pw-1"));
    let pids_before = pids(tb, three);

    // --check: root keeps its password.
    let check = with_pw("root-pw-2", &["--tags", "etcd_config,etcd_launch", "--check"]).succeeds();
    assert!(root_ok("root-pw-1") && !root_ok("root-pw-2"), "--check rotated:\n{}", check.stdout);

    let put = |key: &str| put_as(&s, three, "app:app-pw-1", key);
    let rotate = || with_pw("root-pw-2", &["--tags", "etcd_config,etcd_launch"]).run();
    let (done, seen) = watched(&s, three, "/app/rotate", Duration::from_millis(100), put, rotate);
    assert_eq!(done.out.status.code(), Some(0), "the rotation failed:\n{}", done.stdout);
    assert!(seen.writes > 5, "the writer hardly ran ({})", seen.writes);
    assert!(seen.failed.is_empty(), "during the rotation, {}", seen.failures());
    assert!(root_ok("root-pw-2"), "the new root password does not work");
    assert!(!root_ok("root-pw-1"), "the old root password still works");
    assert_eq!(pids_before, pids(tb, three), "the rotation restarted a member");
    let kept = std::fs::read_to_string(s.pki().join("etcd/root.password")).expect("root.password");
    assert_eq!(kept.trim(), "root-pw-2", "the controller does not keep the password in effect");

    let again = with_pw("root-pw-2", &["--tags", "etcd_config,etcd_launch"]).succeeds();
    unchanged(&again, three, "a second rotation run");
    reset(tb, three);
}

#[test]
fn ops_playbooks_are_executable_and_parse() {
    use std::os::unix::fs::PermissionsExt;
    for name in ["etcd-backup.yml", "etcd-restore.yml"] {
        let path = repo().join("playbooks").join(name);
        let text = std::fs::read_to_string(&path).expect("playbook");
        assert_eq!(text.lines().next(), Some("#!/usr/bin/env troupe"), "{name}");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_ne!(mode & 0o111, 0, "{name} is not executable");
        Run::new()
            .in_dir(&repo())
            .args(["-i", "inventory.example", &format!("playbooks/{name}"), "--syntax-check"])
            .succeeds();
    }
    // `--tags etcd_install` (an upgrade) does not bypass the survey and the asserts.
    let done = Run::new()
        .in_dir(&repo())
        .args(["-i", "inventory.example", "playbooks/etcd.yml", "--list-tasks", "--tags", "etcd_install"])
        .succeeds();
    done.stdout_has("survey every member of the cluster")
        .stdout_has("every member of the cluster could be read")
        .stdout_has("settings written into etcd's config are valid")
        .stdout_has("rolling upgrade of running members");
}

/// Debian's etcd-server and etcd-client rebuilt from the installed files as version `version`
/// (no maintainer scripts, no dependencies) with a `Packages` index, in `dir/repo`: a second
/// package version of the same build, the only kind these machines can install.
fn repacked_etcd(dir: &std::path::Path, version: &str) -> bool {
    let script = format!(
        r#"set -e
mkdir -p repo
for p in etcd-server etcd-client; do
  rm -rf "pkg-$p"; mkdir -p "pkg-$p/DEBIAN"
  dpkg -L "$p" | grep -v -e '^/etc/' -e '^/lib/' | while read -r f; do
    if [ ! -d "$f" ] && {{ [ -f "$f" ] || [ -L "$f" ]; }}; then cp -P --parents "$f" "pkg-$p/"; fi
  done
  printf 'Package: %s\nVersion: {version}\nArchitecture: amd64\nMaintainer: troupe <troupe@example.invalid>\nDescription: %s rebuilt for the troupe upgrade test\n' "$p" "$p" > "pkg-$p/DEBIAN/control"
  dpkg-deb --build --root-owner-group -Zgzip -z1 "pkg-$p" "repo/${{p}}_{version}_amd64.deb" >/dev/null
done
cd repo && dpkg-scanpackages . /dev/null > Packages 2>/dev/null"#
    );
    Command::new("sh").arg("-c").arg(script).current_dir(dir).status().is_ok_and(|s| s.success())
}

/// The package path of the upgrade: a pinned package version rolls through the running members
/// one at a time (health polled, writes going on), each member ends with that version installed
/// and restarted; the second run changes nothing.
#[test]
fn etcd_pinned_package_version_rolls_one_member_at_a_time() {
    let Some(tb) = testbed(3) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    let three = s.hosts(3);
    let version = "3.4.23-4+troupe1";
    if !repacked_etcd(s.path("").as_path(), version) {
        crate::support::testbed::skip("skipped: needs dpkg-deb and dpkg-scanpackages (dpkg-dev)");
        return;
    }
    let list = "/etc/apt/sources.list.d/troupe-etcd-upgrade.list";
    let repo_dir = "/var/tmp/troupe-etcd-upgrade-repo";
    let update = format!(
        "apt-get update -qq -o Dir::Etc::sourcelist={list} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null 2>&1"
    );
    reset(tb, three);
    for h in three {
        tb.ok(h, &format!("rm -rf {repo_dir}; mkdir -p {repo_dir}"));
        for f in std::fs::read_dir(s.path("repo")).expect("repo").filter_map(|e| e.ok()) {
            let name = f.file_name().to_string_lossy().into_owned();
            let mut ssh = tb.ssh_command(h).expect("ssh");
            let file = std::fs::File::open(f.path()).expect("open");
            let copied = ssh.arg(format!("cat > {repo_dir}/{name}")).stdin(file).status().expect("ssh");
            assert!(copied.success(), "copying {name} to {} failed", h.name);
        }
        tb.ok(h, &format!("echo 'deb [trusted=yes] file:{repo_dir} ./' > {list}; {update}; apt-cache madison etcd-server | grep -c troupe1"));
    }
    s.play("etcd3.yml", &[]).succeeds();
    let pids_before = pids(tb, three);
    let pin = format!("etcd_package_version={version}");
    let upgrade = ["--tags", "etcd_install", "-e", pin.as_str()];

    let check = s.play("etcd3.yml", &[&upgrade[..], &["--check"]].concat()).succeeds();
    check.stdout_has("would upgrade etcd-1").stdout_has(version);
    assert_eq!(pids_before, pids(tb, three), "--check restarted a member");

    let put = |key: &str| s.put(three, key);
    let roll = || s.play("etcd3.yml", &upgrade).run();
    let (done, seen) = watched(&s, three, "/ops/pkg", Duration::from_millis(100), put, roll);
    let cleanup = |tb: &Testbed| {
        for h in three {
            tb.on(h, &format!("rm -rf {repo_dir} {list}"));
        }
    };
    if done.out.status.code() != Some(0) {
        cleanup(tb);
    }
    assert_eq!(done.out.status.code(), Some(0), "the package upgrade failed:\n{}", done.stdout);
    assert!(seen.worst <= 1, "{} members were down at once", seen.worst);
    assert!(seen.failed.is_empty(), "during the package upgrade, {}", seen.failures());
    for (h, pid) in three.iter().zip(&pids_before) {
        assert_eq!(tb.ok(h, "dpkg-query -W -f '${Version}' etcd-server"), version, "{}", h.name);
        assert_ne!(&main_pid(tb, h), pid, "{} was not restarted", h.name);
        assert_eq!(running(tb, h).1, "3.4.23");
    }
    let pids_after = pids(tb, three);
    let again = s.play("etcd3.yml", &upgrade).succeeds();
    unchanged(&again, three, "a second package upgrade run");
    assert_eq!(pids_after, pids(tb, three));
    cleanup(tb);
    reset(tb, three);
}
