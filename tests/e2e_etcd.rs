//! The etcd role's acceptance (issue 5), end to end: the real troupe binary runs
//! `playbooks/etcd.yml` against testbed hosts, and real etcdctl checks the cluster.
//!
//! One test walks the whole story in order (each step needs the cluster the previous one left)
//! and holds the testbed exclusively; it leaves the hosts without etcd.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::run::{repo, Done, Run};
use crate::support::testbed::{testbed, CmdOutput, TbHost, Testbed};

/// Everything the role leaves on a member, removed before and after the test.
pub(crate) const RESET: &str = "systemctl stop etcd.service 2>/dev/null; systemctl disable etcd.service 2>/dev/null; \
    rm -rf /data/etcd /etc/etcd /etc/profile.d/etcdctl.sh /etc/systemd/system/etcd.service \
    /usr/local/bin/etcd /usr/local/bin/etcdctl /var/cache/etcd-release.tar.gz; \
    systemctl daemon-reload; systemctl reset-failed etcd.service 2>/dev/null; true";

/// What could change on a member: config, certificates, unit, profile (sha256 and mtime).
pub(crate) const FINGERPRINT: &str = "find /etc/etcd /etc/systemd/system/etcd.service /etc/profile.d/etcdctl.sh \
    -type f -exec stat -c '%n %Y' {} + 2>/dev/null | sort; \
    find /etc/etcd -type f -exec sha256sum {} + 2>/dev/null | sort";

/// etcdctl on a member with the profile the role wrote.
pub(crate) fn etcdctl(tb: &Testbed, host: &TbHost, args: &str) -> CmdOutput {
    // endpoint health reports on stderr: read both streams.
    tb.on(host, &format!(". /etc/profile.d/etcdctl.sh; etcdctl {args} 2>&1"))
}

pub(crate) fn etcdctl_ok(tb: &Testbed, host: &TbHost, args: &str) -> String {
    let out = etcdctl(tb, host, args);
    assert!(out.success(), "etcdctl {args} on {} failed:\n{}\n{}", host.name, out.stdout, out.stderr);
    out.stdout
}

pub(crate) fn main_pid(tb: &Testbed, host: &TbHost) -> String {
    tb.on(host, "systemctl show -p MainPID --value etcd.service").stdout.trim().to_string()
}

/// Stops sshd on `host` (its etcd keeps running); systemd starts it again after `secs`.
pub(crate) fn stop_sshd(tb: &Testbed, host: &TbHost, secs: u32) {
    tb.on(
        host,
        &format!(
            "systemd-run --on-active={secs} systemctl start ssh.service >/dev/null 2>&1; systemctl stop ssh.service"
        ),
    );
    assert!(tb.run_timeout(host, "true", Duration::from_secs(5)).map(|o| !o.success()).unwrap_or(true));
}

/// Waits until sshd answers again on `host`.
pub(crate) fn wait_sshd(tb: &Testbed, host: &TbHost) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if tb.run_timeout(host, "true", Duration::from_secs(5)).map(|o| o.success()).unwrap_or(false) {
            return;
        }
        thread::sleep(Duration::from_millis(500));
    }
    panic!("sshd on {} did not come back", host.name);
}

pub(crate) fn pids(tb: &Testbed, hosts: &[TbHost]) -> Vec<String> {
    hosts.iter().map(|h| main_pid(tb, h)).collect()
}

/// The cluster ID a member reports.
pub(crate) fn cluster_id(tb: &Testbed, host: &TbHost) -> String {
    let json = etcdctl_ok(tb, host, "member list -w json");
    let at = json.find("\"cluster_id\":").unwrap_or_else(|| panic!("no cluster_id in {json}"));
    json[at + 13..].chars().take_while(|c| c.is_ascii_digit()).collect()
}

pub(crate) struct Scene<'a> {
    pub(crate) tb: &'a Testbed,
    dir: tempfile::TempDir,
}

impl<'a> Scene<'a> {
    pub(crate) fn new(tb: &'a Testbed) -> Scene<'a> {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts = &tb.hosts;
        let group = |n: usize, extra: &str| {
            let mut s = String::from("etcd:\n  hosts:\n");
            for (i, h) in hosts.iter().take(n).enumerate() {
                s.push_str(&format!("    {}: {{ etcd_seq: {}{extra} }}\n", h.name, i + 1));
            }
            s
        };
        std::fs::write(dir.path().join("etcd3.yml"), group(3, "")).expect("write inventory");
        std::fs::write(dir.path().join("etcd4.yml"), group(4, "")).expect("write inventory");
        std::fs::write(
            dir.path().join("basic.yml"),
            "etcd_authentication_mode: basic\netcd_users:\n  - {name: app, password: app-pw-1, prefix: /app/, access: readwrite}\n  - {name: viewer, password: viewer-pw-1, prefix: /app/, access: read}\n",
        )
        .expect("write vars");
        Scene { tb, dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn pki(&self) -> PathBuf {
        self.path("pki")
    }

    /// `troupe -i <testbed> -i <group file> playbooks/etcd.yml -e etcd_pki_dir=... <args>`.
    pub(crate) fn play(&self, group: &str, args: &[&str]) -> Run {
        let pki = format!("etcd_pki_dir={}", self.pki().display());
        Run::new()
            .in_dir(&repo())
            .args(["-i".as_ref(), self.tb.inventory.as_os_str(), "-i".as_ref(), self.path(group).as_os_str()])
            .args(["playbooks/etcd.yml", "-e", &pki])
            .args(args)
    }

    pub(crate) fn hosts(&self, n: usize) -> &'a [TbHost] {
        &self.tb.hosts[..n]
    }

    pub(crate) fn fingerprints(&self, n: usize) -> Vec<String> {
        self.hosts(n).iter().map(|h| self.tb.on(h, FINGERPRINT).stdout).collect()
    }

    /// `/health` of one member, asked from the controller with the root client certificate.
    pub(crate) fn healthy(&self, host: &TbHost) -> bool {
        let pki = self.pki().join("etcd");
        Command::new("curl")
            .args(["-sf", "--max-time", "1", "--cacert"])
            .arg(self.pki().join("ca.pem"))
            .arg("--cert")
            .arg(pki.join("client-root.pem"))
            .arg("--key")
            .arg(pki.join("client-root-key.pem"))
            .arg(format!("https://{}:2379/health", host.ip))
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("true"))
            .unwrap_or(false)
    }

    /// A put through the controller's etcdctl to all of `hosts`; a failure gives etcdctl's words.
    pub(crate) fn put(&self, hosts: &[TbHost], key: &str) -> Result<(), String> {
        let pki = self.pki().join("etcd");
        let eps: Vec<String> = hosts.iter().map(|h| format!("https://{}:2379", h.ip)).collect();
        Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", eps.join(",")))
            .arg(format!("--cacert={}", self.pki().join("ca.pem").display()))
            .arg(format!("--cert={}", pki.join("client-root.pem").display()))
            .arg(format!("--key={}", pki.join("client-root-key.pem").display()))
            .args(["--command-timeout=3s", "put", key, "v"])
            .output()
            .map_err(|e| format!("{key}: etcdctl: {e}"))
            .and_then(|o| match o.status.success() {
                true => Ok(()),
                false => Err(format!("{key}: {}", String::from_utf8_lossy(&o.stderr).trim())),
            })
    }
}

/// What a poller saw while a run went: members down at worst, writes made, each write that
/// failed twice in a row, and each first attempt that failed (etcdctl's words).
pub(crate) struct Watched {
    pub(crate) worst: usize,
    pub(crate) writes: u32,
    pub(crate) failed: Vec<String>,
    pub(crate) retried: Vec<String>,
}

impl Watched {
    /// The failed writes, one per line, for an assertion's message.
    pub(crate) fn failures(&self) -> String {
        format!(
            "{} of {} writes failed twice:\n{}\nfirst attempts that failed:\n{}",
            self.failed.len(),
            self.writes,
            self.failed.join("\n"),
            self.retried.join("\n")
        )
    }
}

/// Runs `run` while a poller checks every member of `hosts` and then writes key `prefix/N`
/// with `write`, every `pause`. A write that fails is tried once more, 300 ms later, as an
/// application does: a member that stops cuts the requests in flight on its connections (etcd
/// hard-stops its TLS gRPC server), while a lost quorum fails the second attempt too.
pub(crate) fn watched<T>(
    s: &Scene,
    hosts: &[TbHost],
    prefix: &str,
    pause: Duration,
    write: impl Fn(&str) -> Result<(), String> + Sync,
    run: impl FnOnce() -> T,
) -> (T, Watched) {
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let mut seen = Watched { worst: 0, writes: 0, failed: Vec::new(), retried: Vec::new() };
            while !stop.load(Ordering::Relaxed) {
                seen.worst = seen.worst.max(hosts.iter().filter(|h| !s.healthy(h)).count());
                seen.writes += 1;
                let key = format!("{prefix}/{}", seen.writes);
                if let Err(first) = write(&key) {
                    thread::sleep(Duration::from_millis(300));
                    if let Err(again) = write(&key) {
                        seen.failed.push(again);
                    }
                    seen.retried.push(first);
                }
                thread::sleep(pause);
            }
            seen
        });
        let done = run();
        stop.store(true, Ordering::Relaxed);
        let seen = poller.join().expect("poller");
        for first in &seen.retried {
            eprintln!("a write was retried: {first}");
        }
        (done, seen)
    })
}

fn assert_aborted(done: &Done, what: &str) {
    assert_ne!(done.out.status.code(), Some(0), "{what}: the run should abort\n{}", done.stdout);
    for needle in ["existing etcd instance", "-e etcd_clean=true", "--tags etcd_config,etcd_launch"] {
        assert!(done.stdout.contains(needle), "{what}: no {needle:?} in the abort message\n{}", done.stdout);
    }
}

#[test]
fn playbook_is_executable_with_a_troupe_shebang() {
    use std::os::unix::fs::PermissionsExt;
    let path = repo().join("playbooks/etcd.yml");
    let text = std::fs::read_to_string(&path).expect("playbooks/etcd.yml");
    assert_eq!(text.lines().next(), Some("#!/usr/bin/env troupe"));
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_ne!(mode & 0o111, 0, "playbooks/etcd.yml is not executable");
}

#[test]
fn cert_tag_lists_only_certificate_tasks_and_purge_drags_its_guard() {
    let listed = Run::new()
        .in_dir(&repo())
        .args(["-i", "inventory.example", "playbooks/etcd.yml", "--list-tasks", "--tags", "etcd_cert"])
        .succeeds();
    let tasks: Vec<&str> =
        listed.stdout.lines().filter(|l| l.contains("TAGS: [")).filter(|l| !l.contains("play #")).collect();
    assert!(!tasks.is_empty(), "{}", listed.stdout);
    assert!(tasks.iter().all(|l| l.contains("etcd_cert")), "non-certificate task listed:\n{}", listed.stdout);
    listed.stdout_has("member certificate").stdout_lacks("etcd config file");

    let purge = Run::new()
        .in_dir(&repo())
        .args(["-i", "inventory.example", "playbooks/etcd.yml", "--list-tasks", "--tags", "etcd_purge"])
        .succeeds();
    purge.stdout_has("survey every member of the cluster").stdout_has("safeguard");
}

#[test]
fn etcd_role_acceptance() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    for h in s.hosts(4) {
        tb.on(h, RESET);
    }
    let three = s.hosts(3);
    let (m1, m2) = (&three[0], &three[1]);

    // From scratch: three healthy members over TLS with client certificates.
    s.play("etcd3.yml", &[]).succeeds();
    let health = etcdctl_ok(tb, m1, "endpoint health --cluster");
    assert_eq!(health.matches("is healthy").count(), 3, "{health}");
    assert!(health.contains("https://"), "{health}");
    let members = etcdctl_ok(tb, m1, "member list");
    for name in ["etcd-1", "etcd-2", "etcd-3"] {
        assert!(members.contains(&format!(", {name}, https://")), "{name} missing:\n{members}");
    }
    etcdctl_ok(tb, m1, "put /acceptance/k1 v1");
    assert!(etcdctl_ok(tb, m2, "get /acceptance/k1 --print-value-only").contains("v1"));
    let no_cert = tb.on(
        m2,
        ". /etc/profile.d/etcdctl.sh; unset ETCDCTL_CERT ETCDCTL_KEY; etcdctl --dial-timeout=3s get /acceptance/k1",
    );
    assert!(!no_cert.success(), "mtls: a client without a certificate was served:\n{}", no_cert.stdout);

    // Update in place twice: the second run changes nothing and restarts nothing.
    s.play("etcd3.yml", &["--tags", "etcd_config,etcd_launch"]).succeeds();
    let pids: Vec<String> = three.iter().map(|h| main_pid(tb, h)).collect();
    let again = s.play("etcd3.yml", &["--tags", "etcd_config,etcd_launch"]).succeeds();
    for h in three {
        assert_eq!(again.changed(&h.name), 0, "second in-place run changed {}:\n{}", h.name, again.stdout);
    }
    assert_eq!(pids, three.iter().map(|h| main_pid(tb, h)).collect::<Vec<_>>(), "a member restarted");

    // A full run on the live cluster aborts before changing anything, in every variant.
    let before = s.fingerprints(3);
    assert_aborted(&s.play("etcd3.yml", &[]).run(), "full re-run");
    assert_aborted(
        &s.play("etcd3.yml", &["-e", "etcd_clean=true", "-e", "etcd_safeguard=true"]).run(),
        "clean with safeguard",
    );
    assert_aborted(
        &s.play("etcd3.yml", &["--tags", "etcd_purge", "-e", "etcd_safeguard=true"]).run(),
        "purge tag with safeguard",
    );
    assert_aborted(
        &s.play("etcd3.yml", &["--tags", "etcd_purge", "-e", "etcd_clean=false"]).run(),
        "purge tag, clean=false",
    );
    assert_eq!(before, s.fingerprints(3), "an aborted run changed a file on a member");
    assert_eq!(pids, three.iter().map(|h| main_pid(tb, h)).collect::<Vec<_>>(), "an aborted run restarted a member");
    assert!(etcdctl_ok(tb, m2, "get /acceptance/k1 --print-value-only").contains("v1"), "the key is gone");

    // --tags etcd_cert runs only certificate tasks; a new SAN re-issues member certificates only.
    let client_before = std::fs::read(s.pki().join("etcd/client-root.pem")).expect("client cert");
    let certs = s
        .play("etcd3.yml", &["--tags", "etcd_cert", "-e", r#"{"etcd_cert_extra_sans": ["etcd.acceptance.test"]}"#])
        .succeeds();
    certs.stdout_lacks("etcd config file").stdout_lacks("rolling restart");
    for h in three {
        assert!(certs.changed(&h.name) > 0, "{}: certificate not re-issued\n{}", h.name, certs.stdout);
        let cert = tb.on(h, "openssl x509 -noout -text -in /etc/etcd/server.pem").stdout;
        assert!(cert.contains("etcd.acceptance.test"), "{}: SAN missing", h.name);
    }
    assert_eq!(
        client_before,
        std::fs::read(s.pki().join("etcd/client-root.pem")).expect("client cert"),
        "client cert re-issued"
    );

    // ... and the next etcd_launch rolls: never two members down, writes keep working.
    let put = |key: &str| s.put(three, key);
    let roll = || s.play("etcd3.yml", &["--tags", "etcd_launch"]).run();
    let (rolled, seen) = watched(&s, three, "/acceptance/roll", Duration::from_millis(100), put, roll);
    assert_eq!(rolled.out.status.code(), Some(0), "roll failed:\n{}", rolled.stdout);
    let restarted = rolled.stdout.split("rolling restart").nth(1).unwrap_or("").split("TASK [").next().unwrap_or("");
    assert_eq!(restarted.matches("changed: [").count(), 3, "not every member restarted:\n{}", rolled.stdout);
    assert!(seen.worst <= 1, "{} members were down at once during the roll", seen.worst);
    assert!(seen.writes > 5 && seen.failed.is_empty(), "during the roll, {}", seen.failures());

    // Purge and re-create on request: the old key is gone.
    s.play("etcd3.yml", &["-e", "etcd_clean=true"]).succeeds();
    let gone = etcdctl_ok(tb, m1, "get /acceptance/k1");
    assert!(gone.trim().is_empty(), "the old key survived a purge: {gone}");
    assert_eq!(etcdctl_ok(tb, m1, "endpoint health --cluster").matches("is healthy").count(), 3);

    // A fourth member joins the running cluster; the others are not restarted.
    let pids: Vec<String> = three.iter().map(|h| main_pid(tb, h)).collect();
    let m4 = &s.hosts(4)[3];
    s.play("etcd4.yml", &["-l", &m4.name, "-e", "etcd_init=existing"]).succeeds();
    let members = etcdctl_ok(tb, m4, "member list");
    assert_eq!(members.matches(", started, ").count(), 4, "{members}");
    assert_eq!(etcdctl_ok(tb, m4, "endpoint health --cluster").matches("is healthy").count(), 4);
    assert_eq!(pids, three.iter().map(|h| main_pid(tb, h)).collect::<Vec<_>>(), "adding a member restarted an old one");

    // Basic auth: no password, no access; a user writes only its prefix, a reader only reads.
    let basic = format!("@{}", s.path("basic.yml").display());
    s.play("etcd4.yml", &["-e", "etcd_clean=true", "-e", &basic]).succeeds();
    let anon = etcdctl(tb, m1, "put /app/x 1");
    assert!(!anon.success(), "basic: a request without a password was served");
    etcdctl_ok(tb, m1, "--user app:app-pw-1 put /app/x 1");
    assert!(!etcdctl(tb, m1, "--user app:app-pw-1 put /other 1").success(), "app wrote outside its prefix");
    assert!(etcdctl_ok(tb, m2, "--user viewer:viewer-pw-1 get /app/x --print-value-only").contains('1'));
    assert!(!etcdctl(tb, m2, "--user viewer:viewer-pw-1 put /app/y 1").success(), "a read-only user wrote");
    let idem = s.play("etcd4.yml", &["-e", &basic, "--tags", "etcd_config,etcd_launch"]).succeeds();
    for h in s.hosts(4) {
        assert_eq!(idem.changed(&h.name), 0, "basic: in-place run changed {}:\n{}", h.name, idem.stdout);
    }

    for h in s.hosts(4) {
        tb.on(h, RESET);
    }
    archive_install(&s);
}

/// The archive method on a host without the etcd packages: a one-member cluster from a release
/// tarball made of this machine's etcd binaries. The packages are put back afterwards.
fn archive_install(s: &Scene) {
    let tb = s.tb;
    let host = &s.hosts(4)[3];
    let rel = s.path("rel/etcd-v3.4-linux-amd64");
    std::fs::create_dir_all(&rel).expect("mkdir");
    for b in ["etcd", "etcdctl"] {
        std::fs::copy(Path::new("/usr/bin").join(b), rel.join(b)).expect("copy etcd binary");
    }
    let tarball = s.path("etcd.tar.gz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(s.path("rel"))
        .arg("etcd-v3.4-linux-amd64")
        .status();
    assert!(tar.map(|st| st.success()).unwrap_or(false), "tar failed");
    std::fs::write(
        s.path("archive.yml"),
        format!(
            "etcd:\n  hosts:\n    {}: {{ etcd_seq: 1, etcd_install_method: archive, etcd_archive: {} }}\n",
            host.name,
            tarball.display()
        ),
    )
    .expect("write inventory");

    // Keep the packages' files to restore them (the hosts cannot download anything).
    let saved = "/var/tmp/troupe-e2e-etcd-pkg";
    let save = format!(
        "set -e; mkdir -p {saved}; dpkg -L etcd-server etcd-client | while read -r f; do [ -d \"$f\" ] || echo \"$f\"; done > {saved}/files; \
         ls /var/lib/dpkg/info/etcd-server.* /var/lib/dpkg/info/etcd-client.* >> {saved}/files; echo /var/lib/dpkg/status >> {saved}/files; \
         tar -cpf {saved}/pkg.tar -T {saved}/files 2>/dev/null"
    );
    let saved_ok = tb.on(host, &save);
    assert!(saved_ok.success(), "could not save the etcd packages: {}", saved_ok.stderr);
    let removed = tb.on(
        host,
        "dpkg -r etcd-server etcd-client >/dev/null 2>&1; ! test -e /usr/bin/etcd && \
         ! dpkg-query -W -f='${db:Status-Status}\\n' etcd-server etcd-client | grep -qx installed",
    );
    let pki = format!("etcd_pki_dir={}", s.path("pki-archive").display());
    let run = removed.success().then(|| {
        Run::new()
            .in_dir(&repo())
            .args(["-i".as_ref(), tb.inventory.as_os_str(), "-i".as_ref(), s.path("archive.yml").as_os_str()])
            .args(["playbooks/etcd.yml", "-l", &host.name, "-e", &pki])
            .run()
    });
    let health = tb.on(host, ". /etc/profile.d/etcdctl.sh; /usr/local/bin/etcdctl endpoint health");
    let unit = tb.on(host, "systemctl cat etcd.service").stdout;

    tb.on(host, RESET);
    let restored =
        tb.on(host, &format!("tar -xpf {saved}/pkg.tar -C / && rm -rf {saved} && dpkg -s etcd-server >/dev/null"));
    assert!(restored.success(), "could not restore the etcd packages on {}: {}", host.name, restored.stderr);
    assert!(removed.success(), "could not remove the etcd packages: {}", removed.stderr);
    let run = run.expect("ran");
    assert_eq!(run.out.status.code(), Some(0), "archive run failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(health.success(), "archive member unhealthy: {}{}", health.stdout, health.stderr);
    assert!(unit.contains("/usr/local/bin/etcd --config-file"), "{unit}");
}
