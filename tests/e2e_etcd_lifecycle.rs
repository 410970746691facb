//! The etcd role's lifecycle operations (issue 10: remove, learners, health and maintenance,
//! Prometheus TLS, password-only clients), end to end on testbed hosts, each outcome checked
//! with real etcdctl on the members (member list, health, alarms, PIDs) and with the files the
//! operations leave.
//!
//! Each test holds the testbed exclusively and leaves the hosts without etcd.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::e2e_etcd::{etcdctl, etcdctl_ok, pids, stop_sshd, wait_sshd, Scene, RESET};
use crate::support::run::{repo, Done, Run};
use crate::support::testbed::{testbed, TbHost, Testbed};

/// A refusal reads the hosts and decides: it must come this fast.
const REFUSAL_BUDGET: Duration = Duration::from_secs(20);

fn reset(s: &Scene, n: usize) {
    for h in s.hosts(n) {
        s.tb.on(h, &format!("{RESET}; rm -rf /etc/prometheus"));
    }
}

/// An inventory file in the scene: group `etcd` of the first `n` hosts (seq 1..n) and group
/// `infra` of the first host.
fn group_file(s: &Scene, name: &str, n: usize) -> String {
    let mut text = String::from("etcd:\n  hosts:\n");
    for (i, h) in s.hosts(n).iter().enumerate() {
        text.push_str(&format!("    {}: {{ etcd_seq: {} }}\n", h.name, i + 1));
    }
    text.push_str(&format!("infra:\n  hosts:\n    {}:\n", s.hosts(1)[0].name));
    std::fs::write(s.path(name), text).expect("write inventory");
    name.to_string()
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

fn timed(run: Run) -> (Done, Duration) {
    let start = Instant::now();
    let done = run.run();
    (done, start.elapsed())
}

fn assert_refused(done: &Done, took: Duration, what: &str, needles: &[&str]) {
    assert_ne!(done.out.status.code(), Some(0), "{what}: the run should refuse\n{}", done.stdout);
    assert!(took < REFUSAL_BUDGET, "{what}: refusing took {took:?}");
    for needle in needles {
        assert!(done.stdout.contains(needle), "{what}: no {needle:?} in the output\n{}", done.stdout);
    }
}

fn started(tb: &Testbed, host: &TbHost) -> String {
    let list = etcdctl_ok(tb, host, "member list");
    let mut names: Vec<String> = list
        .lines()
        .filter(|l| l.contains(", started, "))
        .filter_map(|l| l.split(", ").nth(2))
        .map(String::from)
        .collect();
    names.sort();
    names.join(",")
}

/// `curl` from the controller to a member's /metrics with the given client certificate (none:
/// only the CA), as Prometheus scrapes it with the files the role put on the infra host.
fn scrape(s: &Scene, host: &TbHost, cert: Option<&str>) -> bool {
    let mut curl = Command::new("curl");
    curl.args(["-sf", "--max-time", "3", "--cacert"]).arg(s.pki().join("ca.pem"));
    if let Some(name) = cert {
        let dir = s.pki().join("etcd");
        curl.arg("--cert").arg(dir.join(format!("{name}.pem"))).arg("--key").arg(dir.join(format!("{name}-key.pem")));
    }
    curl.arg(format!("https://{}:2379/metrics", host.ip))
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("etcd_server_has_leader"))
        .unwrap_or(false)
}

/// The operations are executable playbooks that load and list their steps (no hosts needed).
#[test]
fn lifecycle_playbooks_are_executable_and_list_their_steps() {
    use std::os::unix::fs::PermissionsExt;
    let books = [
        (
            "etcd-rm.yml",
            &["survey every member", "the members that stay keep a quorum", "remove the member from the cluster"][..],
        ),
        ("etcd-health.yml", &["read the health and status of every member", "every member is healthy"][..]),
        (
            "etcd-defrag.yml",
            &["every member runs and answers", "defragment one member at a time", "disarm a NOSPACE alarm"][..],
        ),
    ];
    for (name, steps) in books {
        let path = repo().join("playbooks").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(text.lines().next(), Some("#!/usr/bin/env troupe"), "{name}");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_ne!(mode & 0o111, 0, "{name} is not executable");
        let listed = Run::new()
            .in_dir(&repo())
            .args(["-i", "inventory.example", &format!("playbooks/{name}"), "--list-tasks"])
            .succeeds();
        for step in steps {
            listed.stdout_has(step);
        }
    }
}

/// Points 1 and 8: a member leaves 4 → 3 (member list, health, its Prometheus target gone, etcd
/// stopped and disabled, data kept); --check and a second run change nothing; a removal that
/// would cost quorum, or of several members, is refused with nothing changed; a host that is
/// gone is removed by the others. Prometheus scrapes over TLS with the files the role wrote.
#[test]
fn etcd_member_removal_keeps_quorum_and_its_target_goes() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 4);
    let four = s.hosts(4);
    let (m1, m2, m3, m4) = (&four[0], &four[1], &four[2], &four[3]);
    let g4 = group_file(&s, "rm4.yml", 4);
    let g3 = group_file(&s, "rm3.yml", 3);

    book(&s, "etcd.yml", &g4, &[]).succeeds();
    etcdctl_ok(tb, m1, "put /rm/k before");
    assert_eq!(started(tb, m1), "etcd-1,etcd-2,etcd-3,etcd-4");

    // Prometheus: https targets, the CA and a client certificate of its own on the infra host.
    let target = "/etc/prometheus/targets/etcd/etcd-4.yml";
    assert!(tb.ok(m1, &format!("cat {target}")).contains("__scheme__: https"), "target without its scheme");
    let job = tb.ok(m1, "cat /etc/prometheus/scrape/etcd-etcd.yml");
    for needle in ["scheme: https", "ca_file: /etc/prometheus/tls/etcd-etcd-ca.pem", "cert_file:", "key_file:"] {
        assert!(job.contains(needle), "scrape job lacks {needle:?}:\n{job}");
    }
    let on_infra = tb.ok(m1, "sha256sum /etc/prometheus/tls/etcd-etcd-client.pem | cut -d' ' -f1");
    let issued = Command::new("sha256sum").arg(s.pki().join("etcd/client-prometheus.pem")).output().expect("sha256sum");
    assert!(String::from_utf8_lossy(&issued.stdout).starts_with(on_infra.trim()), "infra host has another client cert");
    assert!(scrape(&s, m4, Some("client-prometheus")), "the prometheus certificate cannot scrape /metrics");
    assert!(!scrape(&s, m4, None), "mtls: /metrics served without a client certificate");

    // --check shows the plan and changes nothing.
    let pids_before = pids(tb, four);
    let check = book(&s, "etcd-rm.yml", &g4, &["-l", &m4.name, "--check"]).succeeds();
    check.stdout_has("etcdctl member remove through").stdout_has("data kept in /data/etcd");
    assert_eq!(started(tb, m1), "etcd-1,etcd-2,etcd-3,etcd-4", "--check removed a member");
    assert_eq!(pids_before, pids(tb, four), "--check stopped a member");
    assert!(tb.on(m1, &format!("test -f {target}")).success(), "--check removed the target");

    // Refused: several members at once.
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g4, &["-l", &format!("{},{}", m3.name, m4.name)]));
    assert_refused(&done, took, "two members at once", &["one member at a time", "nothing was changed"]);

    // 4 -> 3.
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g4, &["-l", &m4.name]));
    assert_eq!(done.out.status.code(), Some(0), "removal failed:\n{}", done.stdout);
    eprintln!("etcd-rm 4 -> 3 took {took:?}");
    assert_eq!(started(tb, m1), "etcd-1,etcd-2,etcd-3");
    assert_eq!(etcdctl_ok(tb, m2, "endpoint health --cluster").matches("is healthy").count(), 3);
    assert!(!tb.on(m4, "systemctl is-active --quiet etcd.service").success(), "etcd still runs on the removed member");
    assert!(!tb.on(m4, "systemctl is-enabled --quiet etcd.service").success(), "etcd still enabled on it");
    assert!(tb.on(m4, "test -d /data/etcd/member").success(), "data purged although etcd_clean is false");
    assert!(!tb.on(m1, &format!("test -e {target}")).success(), "the removed member's target is still there");
    assert!(tb.on(m1, "test -f /etc/prometheus/targets/etcd/etcd-3.yml").success(), "another target went");
    assert!(etcdctl_ok(tb, m3, "get /rm/k --print-value-only").contains("before"), "data lost");
    assert_eq!(pids_before[..3], pids(tb, four)[..3], "removing a member restarted another one");

    // A second run changes nothing.
    let again = book(&s, "etcd-rm.yml", &g4, &["-l", &m4.name]).succeeds();
    assert_eq!(again.changed(&m4.name), 0, "second removal changed something:\n{}", again.stdout);
    again.stdout_has("not in the membership any more");

    // Refused: removing m1 while m3 is down leaves 1 healthy member of 2.
    tb.ok(m3, "systemctl stop etcd.service");
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g3, &["-l", &m1.name]));
    assert_refused(&done, took, "removal losing quorum", &["quorum", "etcd-3 (DOWN)", "nothing was changed"]);
    assert_eq!(started(tb, m2), "etcd-1,etcd-2,etcd-3", "a refused removal changed the membership");
    assert_eq!(pids_before[..2], pids(tb, four)[..2], "a refused removal restarted a member");
    tb.ok(m3, "systemctl start etcd.service");

    // A host that is gone (etcd stopped, sshd down) is removed through the others.
    tb.ok(m3, "systemctl stop etcd.service");
    stop_sshd(tb, m3, 20);
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g3, &["-l", &m3.name]));
    wait_sshd(tb, m3);
    assert_eq!(done.out.status.code(), Some(0), "removing an unreachable host failed:\n{}", done.stdout);
    eprintln!("etcd-rm of an unreachable host took {took:?}");
    assert_eq!(started(tb, m1), "etcd-1,etcd-2");
    assert_eq!(etcdctl_ok(tb, m1, "endpoint health --cluster").matches("is healthy").count(), 2);
    assert!(!tb.on(m1, "test -e /etc/prometheus/targets/etcd/etcd-3.yml").success(), "the gone host's target stayed");

    // 2 -> 1 keeps a quorum (of one); the very last member is refused.
    let g1 = group_file(&s, "rm1.yml", 1);
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g3, &["-l", &m2.name]));
    assert_eq!(done.out.status.code(), Some(0), "2 -> 1 failed:\n{}", done.stdout);
    eprintln!("etcd-rm 2 -> 1 took {took:?}");
    let (done, took) = timed(book(&s, "etcd-rm.yml", &g1, &["-l", &m1.name]));
    assert_refused(&done, took, "the last member", &["last member", "nothing was changed"]);
    assert_eq!(started(tb, m1), "etcd-1");
    assert!(etcdctl_ok(tb, m1, "get /rm/k --print-value-only").contains("before"), "data lost");
    reset(&s, 4);
}

/// Points 2, 6 and 7: a learner joins and is promoted (member list shows it voting); in basic
/// mode a client with only the CA and a password reads and writes its prefix; the health
/// playbook reports every member and fails when one is down; defragmentation clears a NOSPACE
/// alarm after compaction; second runs change nothing or refuse cleanly; --check changes nothing.
#[test]
fn etcd_learner_health_defrag_and_password_clients() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 4);
    let four = s.hosts(4);
    let (m1, m2, m4) = (&four[0], &four[1], &four[3]);
    let basic = format!("@{}", s.path("basic.yml").display());
    // A small backend quota (3 MiB) so that the test can fill it and raise NOSPACE.
    let quota = "etcd_quota_backend_bytes=3145728";
    let common = ["-e", basic.as_str(), "-e", quota];
    s.play("etcd3.yml", &common).succeeds();
    let root_pw = std::fs::read_to_string(s.pki().join("etcd/root.password")).expect("root password");
    let root = format!("--user root:{}", root_pw.trim());

    // Basic auth: the CA and a password, no client certificate (Patroni's way).
    let password_client = |args: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ETCDCTL_API=3 etcdctl --endpoints=https://{}:2379 --cacert={} --dial-timeout=3s --command-timeout=5s {args}",
                m2.ip,
                s.pki().join("ca.pem").display()
            ))
            .output()
            .expect("etcdctl")
    };
    let put = password_client("--user app:app-pw-1 put /app/pw-only yes");
    assert!(put.status.success(), "password-only write failed: {}", String::from_utf8_lossy(&put.stderr));
    let got = password_client("--user app:app-pw-1 get /app/pw-only --print-value-only");
    assert!(String::from_utf8_lossy(&got.stdout).contains("yes"), "password-only read failed");
    assert!(!password_client("put /app/anon x").status.success(), "basic: a client without a password wrote");
    assert!(!password_client("--user app:wrong put /app/x x").status.success(), "basic: a wrong password wrote");
    assert!(!password_client("--user app:app-pw-1 put /other x").status.success(), "app wrote outside its prefix");

    // A learner joins and is promoted once it has caught up.
    let pids_before = pids(tb, &four[..3]);
    let (done, took) = timed(s.play(
        "etcd4.yml",
        &[&common[..], &["-l", &m4.name, "-e", "etcd_init=existing", "-e", "etcd_learner=true"]].concat(),
    ));
    assert_eq!(done.out.status.code(), Some(0), "learner join failed:\n{}", done.stdout);
    eprintln!("learner join + promote took {took:?}");
    let list = etcdctl_ok(tb, m1, "member list");
    let m4_line = list.lines().find(|l| l.contains(", etcd-4, ")).unwrap_or_else(|| panic!("etcd-4 missing:\n{list}"));
    assert!(m4_line.ends_with(", false"), "etcd-4 is still a learner: {m4_line}");
    assert_eq!(etcdctl_ok(tb, m4, &format!("{root} endpoint health --cluster")).matches("is healthy").count(), 4);
    assert_eq!(pids_before, pids(tb, &four[..3]), "the learner's join restarted a member");
    // The new member serves the password-only client too.
    let on_m4 = etcdctl(tb, m4, "--user app:app-pw-1 get /app/pw-only --print-value-only");
    assert!(on_m4.success() && on_m4.stdout.contains("yes"), "etcd-4 lacks the data: {}", on_m4.stdout);
    // Running the same join again refuses cleanly: the member exists now.
    let before = s.fingerprints(4);
    let again = s
        .play(
            "etcd4.yml",
            &[&common[..], &["-l", &m4.name, "-e", "etcd_init=existing", "-e", "etcd_learner=true"]].concat(),
        )
        .run();
    assert_ne!(again.out.status.code(), Some(0), "a second join should refuse:\n{}", again.stdout);
    assert!(again.stdout.contains("nothing was changed"), "{}", again.stdout);
    assert_eq!(before, s.fingerprints(4), "the refused second join changed a file");

    // Health: every member, its leader, version, DB size, raft index and alarms.
    let health = book(&s, "etcd-health.yml", "etcd4.yml", &common).succeeds();
    for h in four {
        health.stdout_has(&format!("({}): healthy", h.name));
    }
    health.stdout_has(", leader,").stdout_has("version 3.4").stdout_has("raft term").stdout_has("alarms: none");
    book(&s, "etcd-health.yml", "etcd4.yml", &[&common[..], &["--check"]].concat()).succeeds();
    tb.ok(m2, "systemctl stop etcd.service");
    let (down, took) = timed(book(&s, "etcd-health.yml", "etcd4.yml", &common));
    assert_refused(&down, took, "health with a member down", &["is not healthy", "etcd-2): etcd is not running"]);
    tb.ok(m2, "systemctl start etcd.service");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !etcdctl(tb, m2, &format!("{root} endpoint health")).success() {
        assert!(Instant::now() < deadline, "etcd-2 did not come back");
        std::thread::sleep(Duration::from_millis(500));
    }

    // Fill the 3 MiB quota: NOSPACE. Deleting the keys does not give the space back; the
    // maintenance playbook compacts, defragments one member at a time and disarms the alarm.
    let fill = "for i in $(seq 1 60); do head -c 98304 /dev/urandom | base64 -w0 | \
                etcdctl --user app:app-pw-1 put /app/fill/$i >/dev/null 2>&1 || break; done";
    tb.on(m1, &format!(". /etc/profile.d/etcdctl.sh; {fill}"));
    let alarms = etcdctl_ok(tb, m1, &format!("{root} alarm list"));
    assert!(alarms.contains("NOSPACE"), "the quota was not reached:\n{alarms}");
    etcdctl_ok(tb, m1, "--user app:app-pw-1 del --prefix /app/fill/");
    assert!(!etcdctl(tb, m1, "--user app:app-pw-1 put /app/after x").success(), "NOSPACE let a write through");
    let unhealthy = book(&s, "etcd-health.yml", "etcd4.yml", &common).run();
    assert_ne!(unhealthy.out.status.code(), Some(0), "health passed with NOSPACE:\n{}", unhealthy.stdout);
    unhealthy.stdout_has("alarm: ");

    book(&s, "etcd-defrag.yml", "etcd4.yml", &[&common[..], &["--check"]].concat()).succeeds();
    assert!(etcdctl_ok(tb, m1, &format!("{root} alarm list")).contains("NOSPACE"), "--check disarmed the alarm");
    let (done, took) = timed(book(&s, "etcd-defrag.yml", "etcd4.yml", &common));
    assert_eq!(done.out.status.code(), Some(0), "defrag failed:\n{}", done.stdout);
    eprintln!("etcd-defrag of 4 members (compaction, NOSPACE) took {took:?}");
    done.stdout_has("compacted revision").stdout_has("reclaimed").stdout_has("disarmed");
    assert!(!etcdctl_ok(tb, m1, &format!("{root} alarm list")).contains("NOSPACE"), "the alarm is still armed");
    etcdctl_ok(tb, m1, "--user app:app-pw-1 put /app/after x");
    book(&s, "etcd-health.yml", "etcd4.yml", &common).succeeds();
    let again = book(&s, "etcd-defrag.yml", "etcd4.yml", &common).succeeds();
    for h in four {
        assert_eq!(again.changed(&h.name), 0, "second defrag changed {}:\n{}", h.name, again.stdout);
    }

    // The documented manual promotion through the profile: remove etcd-4 (basic mode, purged),
    // join it again as a learner without the automatic promotion, promote it by hand.
    book(&s, "etcd-rm.yml", "etcd4.yml", &[&common[..], &["-l", &m4.name, "-e", "etcd_clean=true"]].concat())
        .succeeds();
    assert_eq!(started(tb, m1), "etcd-1,etcd-2,etcd-3");
    let join =
        ["-l", m4.name.as_str(), "-e", "etcd_init=existing", "-e", "etcd_learner=true", "--skip-tags", "etcd_promote"];
    s.play("etcd4.yml", &[&common[..], &join[..]].concat()).succeeds();
    let list = etcdctl_ok(tb, m1, "member list");
    let m4_line = list.lines().find(|l| l.contains(", etcd-4, ")).unwrap_or_else(|| panic!("etcd-4 missing:\n{list}"));
    assert!(m4_line.ends_with(", true"), "etcd-4 should still be a learner: {m4_line}");
    book(&s, "etcd-health.yml", "etcd4.yml", &common).succeeds().stdout_has(&format!("({}): learner", m4.name));
    let leader = etcdctl_ok(tb, m4, "endpoint status --cluster")
        .lines()
        .find(|l| l.split(", ").nth(4) == Some("true"))
        .and_then(|l| l.split(", ").next().map(String::from))
        .expect("a leader");
    let id = &m4_line[..m4_line.find(',').expect("id")];
    let manual = tb.on(
        m4,
        &format!(". /etc/profile.d/etcdctl.sh; ETCDCTL_ENDPOINTS={leader} etcdctl {root} member promote {id} 2>&1"),
    );
    assert!(
        manual.success() && manual.stdout.contains("promoted"),
        "the documented promote failed:\n{}",
        manual.stdout
    );
    assert!(
        etcdctl_ok(tb, m1, "member list").contains(&format!("{}, false", m4_line.rsplit_once(", ").expect("line").0))
    );
    reset(&s, 4);
}
