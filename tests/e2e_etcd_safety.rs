//! The etcd role on the unhappy paths (issue 9), end to end on testbed hosts, each outcome
//! checked with real etcdctl on the members: data written before is still there, the member
//! list, the PIDs of members that must not have been touched.
//!
//! Each test holds the testbed exclusively (they stop sshd and etcd) and leaves the hosts
//! without etcd.

use std::time::{Duration, Instant};

use crate::e2e_etcd::{cluster_id, etcdctl, etcdctl_ok, pids, stop_sshd, wait_sshd, watched, Scene, RESET};
use crate::support::run::Done;
use crate::support::testbed::{testbed, TbHost, Testbed};

/// A refusal must come this fast: it reads the hosts, it does not wait for anything.
const REFUSAL_BUDGET: Duration = Duration::from_secs(20);

fn reset(s: &Scene, n: usize) {
    for h in s.hosts(n) {
        s.tb.on(h, RESET);
    }
}

fn token(tb: &Testbed, host: &TbHost) -> String {
    tb.ok(host, "sed -n 's/^initial-cluster-token: *//p' /etc/etcd/etcd.conf")
}

fn started_members(tb: &Testbed, host: &TbHost) -> usize {
    etcdctl_ok(tb, host, "member list").matches(", started, ").count()
}

fn assert_refused(done: &Done, took: Duration, what: &str, needles: &[&str]) {
    assert_ne!(done.out.status.code(), Some(0), "{what}: the run should refuse\n{}", done.stdout);
    assert!(took < REFUSAL_BUDGET, "{what}: refusing took {took:?}");
    for needle in needles {
        assert!(done.stdout.contains(needle), "{what}: no {needle:?} in the output\n{}", done.stdout);
    }
}

fn timed(run: crate::support::run::Run) -> (Done, Duration) {
    let start = Instant::now();
    let done = run.run();
    (done, start.elapsed())
}

/// Points 1, 2 and 7: a purge reads every member first and fails closed; a purge with -l keeps
/// quorum or refuses; the safeguard message keeps its lines; inventory `etcd_safeguard: true`
/// refuses `-e etcd_clean=true` but yields to an explicit `-e etcd_safeguard=false`; each
/// bootstrap gets its own token and cluster ID.
#[test]
fn etcd_purge_fails_closed_and_a_rebuilt_cluster_is_new() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 4);
    let three = s.hosts(3);
    let (m1, m3) = (&three[0], &three[2]);
    std::fs::write(s.path("safe.yml"), "etcd:\n  vars:\n    etcd_safeguard: true\n").expect("write inventory");

    s.play("etcd3.yml", &[]).succeeds();
    etcdctl_ok(tb, m1, "put /safety/k before");
    let (id_before, token_before) = (cluster_id(tb, m1), token(tb, m1));
    assert_ne!(token_before, "etcd", "the token is the cluster name");
    let pids_before = pids(tb, three);

    // sshd down on one member, its etcd still running: nothing is purged anywhere.
    stop_sshd(tb, m3, 12);
    let (done, took) = timed(s.play("etcd3.yml", &["-e", "etcd_clean=true"]));
    assert_refused(&done, took, "purge with a member unreadable", &["cannot read", &m3.name, "nothing was changed"]);
    wait_sshd(tb, m3);
    assert_eq!(pids_before, pids(tb, three), "a member was stopped or restarted");
    for h in three {
        assert!(etcdctl_ok(tb, h, "get /safety/k --print-value-only").contains("before"), "{}: key lost", h.name);
    }
    assert_eq!(started_members(tb, m1), 3);

    // -l purges: losing quorum is refused; keeping it needs the member removed first.
    let two = format!("{},{}", three[0].name, three[1].name);
    let (done, took) = timed(s.play("etcd3.yml", &["-l", &two, "-e", "etcd_clean=true"]));
    assert_refused(&done, took, "-l purge of 2 of 3", &["quorum", "nothing was changed"]);
    let (done, took) = timed(s.play("etcd3.yml", &["-l", &m1.name, "-e", "etcd_clean=true"]));
    assert_refused(&done, took, "-l purge of 1 of 3", &["cannot rejoin", "-e etcd_clean=true -e etcd_init=existing"]);
    assert_eq!(pids_before, pids(tb, three), "a refused -l purge touched a member");

    // ... as the message says: the member leaves the cluster, is purged and joins as a new one;
    // the others are not restarted and the data is replicated to it.
    let old_list = etcdctl_ok(tb, m1, "member list");
    s.play("etcd3.yml", &["-l", &m1.name, "-e", "etcd_clean=true", "-e", "etcd_init=existing"]).succeeds();
    let new_list = etcdctl_ok(tb, &three[1], "member list");
    assert_eq!(started_members(tb, &three[1]), 3, "{new_list}");
    let id_of = |list: &str| list.lines().find(|l| l.contains(", etcd-1, ")).map(|l| l[..16].to_string());
    assert_ne!(id_of(&old_list), id_of(&new_list), "etcd-1 kept its member ID:\n{new_list}");
    assert!(
        etcdctl_ok(tb, m1, "get /safety/k --print-value-only").contains("before"),
        "the replaced member lacks the data"
    );
    assert_eq!(pids_before[1..], pids(tb, three)[1..], "replacing a member restarted another one");
    let pids_before = pids(tb, three);

    // The safeguard message keeps its line breaks (JSON shows them as \n).
    let (done, took) = timed(s.play("etcd3.yml", &[]));
    assert_refused(&done, took, "full run on a live cluster", &["holds a member\\netcd_clean is false"]);

    // Inventory etcd_safeguard: true refuses a purge; an explicit -e etcd_safeguard=false wins.
    let safe_inventory = s.path("safe.yml");
    let safe = ["-i", safe_inventory.to_str().expect("path"), "-e", "etcd_clean=true"];
    let (done, took) = timed(s.play("etcd3.yml", &safe));
    assert_refused(&done, took, "purge under inventory safeguard", &["etcd_safeguard=true forbids purging"]);
    assert_eq!(pids_before, pids(tb, three), "a refused purge touched a member");
    s.play("etcd3.yml", &[&safe[..], &["-e", "etcd_safeguard=false"]].concat()).succeeds();

    // A rebuilt cluster is a new one: new token, new cluster ID, the old key gone.
    let (id_after, token_after) = (cluster_id(tb, m1), token(tb, m1));
    assert_ne!(id_before, id_after, "the re-created cluster has the old cluster ID");
    assert_ne!(token_before, token_after, "the re-created cluster has the old token");
    assert!(etcdctl_ok(tb, m1, "get /safety/k").trim().is_empty(), "the key survived the purge");
    assert_eq!(started_members(tb, m1), 3);
    for h in three {
        assert_eq!(token(tb, h), token_after, "{}: members disagree on the token", h.name);
    }
    let again = s.play("etcd3.yml", &["--tags", "etcd_config,etcd_launch"]).succeeds();
    for h in three {
        assert_eq!(again.changed(&h.name), 0, "second run changed {}:\n{}", h.name, again.stdout);
    }
    reset(&s, 4);
}

/// Point 6: wrong invocations stop in seconds before any change; --check works on a fresh
/// cluster and for a new member; a member joins through any healthy member.
#[test]
fn etcd_wrong_invocations_are_caught_before_any_change() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 4);
    let three = s.hosts(3);
    let (m1, m2, m4) = (&three[0], &three[1], &s.hosts(4)[3]);
    let nothing = "test ! -e /etc/etcd && test ! -e /data/etcd && ! systemctl is-active --quiet etcd.service";

    // --check on a fresh cluster: succeeds, changes nothing, creates no member certificate.
    s.play("etcd3.yml", &["--check"]).succeeds();
    for h in three {
        assert!(tb.on(h, nothing).success(), "{}: --check changed the host", h.name);
    }
    assert!(!s.pki().join("etcd/etcd-1.pem").exists(), "--check created a member certificate");

    s.play("etcd3.yml", &[]).succeeds();
    etcdctl_ok(tb, m1, "put /safety/k before");

    // A new member without etcd_init=existing next to a running cluster.
    let (done, took) = timed(s.play("etcd4.yml", &["-l", &m4.name]));
    assert_refused(&done, took, "-l newhost without etcd_init=existing", &["already exists", "-e etcd_init=existing"]);
    assert!(tb.on(m4, nothing).success(), "the refused run changed {}", m4.name);

    // --check for the new member.
    s.play("etcd4.yml", &["-l", &m4.name, "-e", "etcd_init=existing", "--check"]).succeeds();
    assert!(tb.on(m4, nothing).success(), "--check changed {}", m4.name);
    assert_eq!(started_members(tb, m1), 3);

    // The group's first host unreachable: the member joins through another healthy one.
    let pids_before = pids(tb, three);
    stop_sshd(tb, m1, 12);
    let joined = s.play("etcd4.yml", &["-l", &m4.name, "-e", "etcd_init=existing"]).run();
    wait_sshd(tb, m1);
    assert_eq!(joined.out.status.code(), Some(0), "join with the first host down failed:\n{}", joined.stdout);
    assert_eq!(started_members(tb, m2), 4);
    assert!(etcdctl_ok(tb, m4, "get /safety/k --print-value-only").contains("before"));
    assert_eq!(pids_before, pids(tb, three), "adding a member restarted an old one");
    reset(&s, 4);
}

/// Points 3 and 4: settings are validated before anything changes; a restart happens only on
/// a healthy cluster, one member at a time; the first member that does not come back stops the
/// roll with the others untouched and serving; a TLS switch is refused before any change, a
/// peer port change migrates (member update, then restart) one member at a time.
#[test]
fn etcd_roll_is_validated_and_health_gated() {
    let Some(tb) = testbed(3) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 3);
    let three = s.hosts(3);
    s.play("etcd3.yml", &[]).succeeds();
    etcdctl_ok(tb, &three[0], "put /safety/k before");
    let pids_before = pids(tb, three);
    let files_before = s.fingerprints(3);

    // While each run goes: how many members were down at worst, and which writes failed.
    let watch = |args: &[&str], writers: &[TbHost]| {
        let put = |key: &str| s.put(writers, key);
        watched(&s, three, "/safety/roll", Duration::from_millis(200), put, || s.play("etcd3.yml", args).run())
    };

    // A bogus value is refused by validation: no member restarts, no file changes.
    let (done, seen) = watch(&["--tags", "etcd_config,etcd_launch", "-e", "etcd_compaction_retention=bogus"], three);
    assert_ne!(done.out.status.code(), Some(0), "bogus retention accepted:\n{}", done.stdout);
    done.stdout_has("etcd_compaction_retention=bogus").stdout_has("no member was restarted");
    assert_eq!(seen.worst, 0, "a member went down over a value validation refuses");
    assert!(seen.failed.is_empty(), "{}", seen.failures());
    assert_eq!(pids_before, pids(tb, three), "a member restarted");
    assert_eq!(files_before, s.fingerprints(3), "a refused run changed a file");

    // Switching TLS off on the live cluster is refused before any change.
    let tls_off =
        ["--tags", "etcd_config,etcd_launch", "-e", "etcd_ssl_enabled=false", "-e", "etcd_authentication_mode=none"];
    let (done, took) = timed(s.play("etcd3.yml", &tls_off));
    assert_refused(&done, took, "TLS off", &["switch its peers' TLS", "snapshot save", "nothing was changed"]);
    assert_eq!(pids_before, pids(tb, three), "a refused TLS switch restarted a member");
    assert_eq!(files_before, s.fingerprints(3), "a refused TLS switch changed a file");

    // Another peer port migrates: member update and restart, one member at a time.
    let (done, seen) = watch(&["--tags", "etcd_config,etcd_launch", "-e", "etcd_peer_port=2390"], three);
    assert_eq!(done.out.status.code(), Some(0), "peer port migration failed:\n{}", done.stdout);
    assert!(seen.worst <= 1, "{} members were down at once during the peer port migration", seen.worst);
    assert!(seen.failed.len() * 5 <= seen.writes as usize, "during the migration, {}", seen.failures());
    let members = etcdctl_ok(tb, &three[0], "member list");
    assert_eq!(members.matches(":2390, ").count(), 3, "{members}");
    assert_eq!(started_members(tb, &three[0]), 3);
    let pids_before = pids(tb, three);

    // A value that passes validation but kills etcd (the client port is sshd's): the first
    // member does not come back, the roll stops there, the others keep serving writes.
    let kill = [
        "--tags",
        "etcd_config,etcd_launch",
        "-e",
        "etcd_peer_port=2390",
        "-e",
        "etcd_port=22",
        "-e",
        "etcd_restart_timeout=8",
    ];
    let (done, seen) = watch(&kill, &three[1..]);
    assert_ne!(done.out.status.code(), Some(0), "the roll did not stop:\n{}", done.stdout);
    let now = pids(tb, three);
    let restarted: Vec<&TbHost> =
        three.iter().zip(&now).zip(&pids_before).filter(|((_, a), b)| a != b).map(|((h, _), _)| h).collect();
    assert_eq!(restarted.len(), 1, "not exactly one member restarted: {pids_before:?} -> {now:?}");
    let first = restarted[0];
    done.stdout_has(&format!("({}) is not healthy", first.name)).stdout_has("Roll back").stdout_has("etcd.conf.good");
    assert!(seen.worst <= 1, "{} members were down at once", seen.worst);
    assert!(seen.failed.len() * 5 <= seen.writes as usize, "writing to the other members, {}", seen.failures());
    // (Their profile already names port 22: ask their running port.)
    for h in three.iter().filter(|h| *h != first) {
        let get = format!(
            ". /etc/profile.d/etcdctl.sh; ETCDCTL_ENDPOINTS=https://{}:2379 etcdctl get /safety/k --print-value-only",
            h.ip
        );
        assert!(tb.ok(h, &get).contains("before"), "{}: key lost", h.name);
    }

    // Rolling back: the same command with the previous values brings the member back.
    let port = ["--tags", "etcd_config,etcd_launch", "-e", "etcd_peer_port=2390"];
    s.play("etcd3.yml", &port).succeeds();
    let health = etcdctl_ok(tb, &three[1], "endpoint health --cluster");
    assert_eq!(health.matches("is healthy").count(), 3, "{health}");
    assert!(etcdctl_ok(tb, first, "get /safety/k --print-value-only").contains("before"));
    let again = s.play("etcd3.yml", &port).succeeds();
    for h in three {
        assert_eq!(again.changed(&h.name), 0, "second run changed {}:\n{}", h.name, again.stdout);
    }
    assert!(etcdctl(tb, first, "get /safety/k").success());
    reset(&s, 3);
}

/// What other users could read on a host while troupe works: every process's command line
/// (`ps`, as root: argv is public) and every environment the user `nobody` can read.
const POLLER: &str = r#"systemctl stop troupe-poll-argv troupe-poll-env 2>/dev/null; systemctl reset-failed troupe-poll-argv troupe-poll-env 2>/dev/null
rm -f /var/tmp/troupe-poll-*.log; install -o nobody -m 0600 /dev/null /var/tmp/troupe-poll-env.log
systemd-run --quiet --unit=troupe-poll-argv sh -c 'while :; do ps -eww -o args; sleep 0.05; done | awk "!seen[\$0]++ { print; fflush() }" > /var/tmp/troupe-poll-argv.log'
systemd-run --quiet --unit=troupe-poll-env -p User=nobody sh -c 'while :; do for f in /proc/[0-9]*/environ; do tr "\0" "\n" < "$f"; done 2>/dev/null; sleep 0.05; done | awk "!seen[\$0]++ { print; fflush() }" > /var/tmp/troupe-poll-env.log'"#;

/// Point 5: no private key or password in any output (every mode the playbook has, at -vvv
/// with -D), in no process argv or environment others can read, in no file left in /tmp.
#[test]
fn etcd_secrets_stay_secret() {
    let Some(tb) = testbed(4) else { return };
    let _only_us = tb.exclusive();
    let s = Scene::new(tb);
    reset(&s, 4);
    let (three, four) = (s.hosts(3), s.hosts(4));
    let users = |pw: &str| {
        format!(
            "etcd_users:\n  - {{name: app, password: app-{pw}, prefix: /app/, access: readwrite}}\n  - {{name: viewer, password: viewer-{pw}, prefix: /app/, access: read}}\n"
        )
    };
    std::fs::write(s.path("basic-a.yml"), format!("etcd_authentication_mode: basic\n{}", users("Qz7pw-first")))
        .expect("vars");
    std::fs::write(s.path("basic-b.yml"), format!("etcd_authentication_mode: basic\n{}", users("Qz7pw-second")))
        .expect("vars");
    std::fs::write(s.path("mtls.yml"), format!("etcd_authentication_mode: mtls\n{}", users("Qz7pw-mtls")))
        .expect("vars");
    let vars = |name: &str| format!("@{}", s.path(name).display());
    for h in four {
        assert!(tb.on(h, POLLER).success(), "{}: poller did not start", h.name);
    }
    let _stop_pollers = StopPollers(tb, four);

    // Every mode of the playbook, each at -vvv with --diff.
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut play = |what: &str, group: &str, args: &[&str], ok: bool| {
        let done = s.play(group, &[args, &["-vvv", "--diff"]].concat()).run();
        assert_eq!(done.out.status.code() == Some(0), ok, "{what}:\n{}", done.stdout);
        outputs.push((what.to_string(), format!("{}\n{}", done.stdout, done.stderr)));
    };
    play("fresh basic, --check", "etcd3.yml", &["-e", &vars("basic-a.yml"), "--check"], true);
    play("fresh basic", "etcd3.yml", &["-e", &vars("basic-a.yml")], true);
    play(
        "add a member",
        "etcd4.yml",
        &["-e", &vars("basic-a.yml"), "-l", &four[3].name, "-e", "etcd_init=existing"],
        true,
    );
    play(
        "new passwords, roll",
        "etcd4.yml",
        &["-e", &vars("basic-b.yml"), "--tags", "etcd_config,etcd_launch", "-e", "etcd_heartbeat_interval=110"],
        true,
    );
    play("refused full run", "etcd4.yml", &["-e", &vars("basic-b.yml")], false);
    play("mtls purge and re-create", "etcd4.yml", &["-e", &vars("mtls.yml"), "-e", "etcd_clean=true"], true);
    play(
        "mtls in place, --check",
        "etcd4.yml",
        &["-e", &vars("mtls.yml"), "--tags", "etcd_config,etcd_launch", "--check"],
        true,
    );
    play(
        "cert re-issue",
        "etcd4.yml",
        &["-e", &vars("mtls.yml"), "--tags", "etcd_cert", "-e", r#"{"etcd_cert_extra_sans": ["x.test"]}"#],
        true,
    );
    let health = etcdctl_ok(tb, &three[0], "endpoint health --cluster");
    assert_eq!(health.matches("is healthy").count(), 4, "{health}");

    let polled: Vec<(String, String)> = four
        .iter()
        .map(|h| {
            tb.on(h, "systemctl stop troupe-poll-argv troupe-poll-env");
            let seen = tb.ok(
                h,
                "cat /var/tmp/troupe-poll-argv.log /var/tmp/troupe-poll-env.log; rm -f /var/tmp/troupe-poll-*.log",
            );
            assert!(seen.contains("sh -c"), "{}: the poller saw no troupe command", h.name);
            // Files left in /tmp and /var/tmp, with their contents.
            let left = tb.ok(
                h,
                "find /tmp /var/tmp -xdev -type f -newer /etc/hostname -size -64k -exec cat {} + 2>/dev/null; true",
            );
            (h.name.clone(), format!("{seen}\n{left}"))
        })
        .collect();

    // The secrets: passwords, and each private key (any 40-character run of its body).
    let mut secrets: Vec<String> =
        ["Qz7pw-first", "Qz7pw-second", "Qz7pw-mtls"].iter().map(|p| p.to_string()).collect();
    let root_pw = std::fs::read_to_string(s.pki().join("etcd/root.password")).expect("root.password");
    secrets.push(root_pw.split_whitespace().next().expect("a root password").to_string());
    for entry in std::fs::read_dir(s.pki().join("etcd")).expect("pki") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with("-key.pem") {
            let key = std::fs::read_to_string(&path).expect("key");
            secrets.extend(key.lines().filter(|l| !l.starts_with("-----")).map(|l| l[..l.len().min(40)].to_string()));
        }
    }
    assert!(secrets.len() > 8, "too few secrets to look for: {secrets:?}");
    for (what, text) in outputs.iter().chain(&polled) {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what}: a secret ({}...) shows:\n{}",
                &secret[..6],
                context(text, secret)
            );
        }
    }
    // A diff of a key file says that it changed, not what.
    let fresh = &outputs[1].1;
    assert!(fresh.contains("server-key.pem"), "the key copy is not reported");
    reset(&s, 4);
}

/// Stops the pollers however the test ends (they sample `ps` 20 times a second).
struct StopPollers<'a>(&'a Testbed, &'a [TbHost]);

impl Drop for StopPollers<'_> {
    fn drop(&mut self) {
        for h in self.1 {
            let _ = self.0.run(
                h,
                "systemctl stop troupe-poll-argv troupe-poll-env 2>/dev/null; rm -f /var/tmp/troupe-poll-*.log",
            );
        }
    }
}

fn context(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let start = text[..at].char_indices().rev().nth(300).map(|(i, _)| i).unwrap_or(0);
    text[start..(at + needle.len()).min(text.len())].replace(needle, "<SECRET>")
}
