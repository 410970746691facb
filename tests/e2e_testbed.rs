//! The testbed itself: its hosts are separate, real machines as far as troupe can tell, with
//! systemd running, units that start, and a reboot that comes back. Everything else end-to-end
//! builds on these facts.

use std::collections::HashSet;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::testbed::{testbed, TbHost, Testbed, REQUIRE_VAR};

/// A word no other run or test uses, for file and unit names.
fn token(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("troupe-e2e-{what}-{}-{nanos}", std::process::id())
}

/// Runs one host test of this binary again where no hosts can be had (no inventory named, no
/// systemd-nspawn on PATH): it skips, and it fails when hosts are required.
#[test]
fn requiring_the_testbed_turns_a_skip_into_a_failure() {
    let empty = tempfile::tempdir().expect("temp dir");
    let run = |require: &str| {
        std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "e2e_testbed::a_file_written_on_one_host_is_on_no_other_host_nor_here"])
            .env_remove("TROUPE_TESTBED_INVENTORY")
            .env("PATH", empty.path())
            .env(REQUIRE_VAR, require)
            .output()
            .expect("run the test binary")
    };
    let skipped = run("0");
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(skipped.status.success(), "without {REQUIRE_VAR} the test skips: {}", text(&skipped));
    assert!(text(&skipped).contains("1 passed"), "{}", text(&skipped));
    let failed = run("1");
    assert!(!failed.status.success(), "with {REQUIRE_VAR}=1 the test must fail: {}", text(&failed));
    assert!(text(&failed).contains("TROUPE_REQUIRE_TESTBED=1, but this test cannot run"), "{}", text(&failed));
}

#[test]
fn a_file_written_on_one_host_is_on_no_other_host_nor_here() {
    let Some(tb) = testbed(3) else { return };
    let _steady = tb.shared();
    let (h1, h2) = (&tb.hosts[0], &tb.hosts[1]);
    let name = token("isolation");
    let path = format!("/var/tmp/{name}");

    tb.write_file(h1, &path, &name).expect("write on host 1");
    assert_eq!(tb.ok(h1, &format!("cat {path}")), name);

    // `test -e` exits 1 for "absent": any other code (255 = ssh failed) is not a proof.
    let on_h2 = tb.on(h2, &format!("test -e {path}"));
    assert_eq!(on_h2.status, Some(1), "{path} on {}: {on_h2:?}", h2.name);
    assert!(!Path::new(&path).exists(), "{path} showed up on this machine");

    tb.ok(h1, &format!("rm {path}"));
}

#[test]
fn hosts_are_distinct_machines_on_their_own_addresses() {
    let Some(tb) = testbed(3) else { return };
    let _steady = tb.shared();
    let here = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let mut ids = HashSet::new();
    for host in &tb.hosts[..3] {
        assert_eq!(tb.ok(host, "hostname"), host.name);
        let id = tb.ok(host, "cat /etc/machine-id");
        assert_eq!(id.len(), 32, "machine-id of {}: {id:?}", host.name);
        assert_ne!(id, here.trim(), "{} shares this machine's machine-id", host.name);
        assert!(ids.insert(id), "{} repeats another host's machine-id", host.name);

        let addrs = tb.ok(host, "ip -4 -o addr show dev host0");
        assert!(
            addrs.contains(&format!("inet {}/24", host.ip)),
            "{} has not its address {}: {addrs}",
            host.name,
            host.ip
        );
        // Only the bridge's subnet is routed: the hosts reach nothing but each other and here.
        let subnet = match host.ip.rsplit_once('.') {
            Some((net, _)) => format!("{net}.0/24 "),
            None => panic!("{} has no IPv4 address: {:?}", host.name, host.ip),
        };
        let routes = tb.ok(host, "ip -4 route show");
        assert!(
            !routes.is_empty() && routes.lines().all(|r| r.starts_with(&subnet)),
            "{} has routes beyond the testbed subnet: {routes}",
            host.name
        );
    }
}

#[test]
fn systemd_runs_as_pid_1_and_reports_running() {
    let Some(tb) = testbed(3) else { return };
    let _steady = tb.shared();
    for host in &tb.hosts[..3] {
        assert_eq!(tb.ok(host, "cat /proc/1/comm"), "systemd", "PID 1 on {}", host.name);
        // is-system-running exits non-zero for "degraded", which is still a booted system.
        let state = tb.on(host, "systemctl is-system-running").stdout;
        assert!(matches!(state.trim(), "running" | "degraded"), "{} is {state:?}", host.name);
    }
}

/// Writes, enables and starts a unit that records that it ran, then waits until it has.
fn start_probe_unit(tb: &Testbed, host: &TbHost, unit: &str) {
    let proof = format!("/run/{unit}.started");
    let text = format!(
        "[Unit]\nDescription=troupe e2e probe\n\n[Service]\n\
         ExecStart=/bin/sh -c 'echo started > {proof}; exec sleep infinity'\n\n\
         [Install]\nWantedBy=multi-user.target\n"
    );
    tb.write_file(host, &format!("/etc/systemd/system/{unit}.service"), &text).expect("write unit");
    tb.ok(host, &format!("systemctl daemon-reload && systemctl enable --now {unit}.service"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if tb.on(host, &format!("cat {proof}")).stdout.trim() == "started" {
            return;
        }
        assert!(Instant::now() < deadline, "{unit} on {} never wrote {proof}", host.name);
        thread::sleep(Duration::from_millis(100));
    }
}

fn remove_probe_unit(tb: &Testbed, host: &TbHost, unit: &str) {
    tb.ok(
        host,
        &format!(
            "systemctl disable --now {unit}.service && rm /etc/systemd/system/{unit}.service \
             && systemctl daemon-reload"
        ),
    );
}

#[test]
fn a_unit_written_enabled_and_started_over_ssh_runs() {
    let Some(tb) = testbed(3) else { return };
    let _steady = tb.shared();
    let (h1, h2) = (&tb.hosts[0], &tb.hosts[1]);
    let unit = token("unit");

    start_probe_unit(tb, h1, &unit);
    assert_eq!(tb.ok(h1, &format!("systemctl is-enabled {unit}.service")), "enabled");
    assert_eq!(tb.ok(h1, &format!("systemctl is-active {unit}.service")), "active");
    let main_pid = tb.ok(h1, &format!("systemctl show -P MainPID {unit}.service"));
    assert_eq!(tb.ok(h1, &format!("cat /proc/{main_pid}/comm")), "sleep", "{unit}'s process");

    // The other host never heard of it.
    let there = tb.on(h2, &format!("systemctl is-active {unit}.service"));
    assert_eq!(there.stdout.trim(), "inactive", "{unit} on {}: {there:?}", h2.name);

    // Each host's systemd has cgroups of its own: the same unit stopped on host 2 keeps
    // running on host 1.
    start_probe_unit(tb, h2, &unit);
    remove_probe_unit(tb, h2, &unit);
    assert_eq!(tb.ok(h1, &format!("systemctl is-active {unit}.service")), "active");
    assert_eq!(tb.ok(h1, &format!("systemctl show -P MainPID {unit}.service")), main_pid);

    remove_probe_unit(tb, h1, &unit);
    let after = tb.on(h1, &format!("systemctl is-active {unit}.service"));
    assert_ne!(after.stdout.trim(), "active", "{unit} still active after stop");
}

#[test]
fn a_host_rebooted_from_inside_comes_back_with_sshd() {
    let Some(tb) = testbed(3) else { return };
    let _alone = tb.exclusive();
    let host = &tb.hosts[2];
    let kept = format!("/var/tmp/{}", token("kept"));
    let gone = format!("/run/{}", token("gone"));
    // PID 1's start time (clock ticks since the kernel booted): a new boot has a new one.
    let started = "cut -d' ' -f22 /proc/1/stat";

    tb.ok(host, &format!("echo kept > {kept} && echo gone > {gone}"));
    let before = tb.ok(host, started);

    // The connection may drop as the host goes down: its result does not matter.
    let _ = tb.run_timeout(host, "systemctl reboot", Duration::from_secs(15));

    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last: String;
    loop {
        let probe = format!("{started}; test -e {gone} && echo stale; systemctl is-system-running");
        match tb.run_timeout(host, &probe, Duration::from_secs(10)) {
            Ok(out) if out.status != Some(255) => {
                let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
                let rebooted = lines.first().is_some_and(|t| *t != before)
                    && !lines.contains(&"stale")
                    && lines.last().is_some_and(|s| matches!(*s, "running" | "degraded"));
                if rebooted {
                    break;
                }
                last = out.stdout;
            }
            Ok(out) => last = out.stderr,
            Err(err) => last = err,
        }
        assert!(
            Instant::now() < deadline,
            "{} did not come back within 90 s of `systemctl reboot`; last: {last}",
            host.name
        );
        thread::sleep(Duration::from_millis(300));
    }

    // The same host came back (its disk kept the file), not a fresh one.
    assert_eq!(tb.ok(host, &format!("cat {kept}")), "kept");
    assert_eq!(tb.ok(host, "hostname"), host.name);
    tb.ok(host, &format!("rm {kept}"));
}
