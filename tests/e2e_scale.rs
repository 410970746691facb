//! `--forks 100` against 100 hosts. Booting 100 containers on a 2-core machine is not
//! practical, so 100 inventory names (`s001`..`s100`) share the six testbed hosts through
//! `ansible_host`: each name is still its own ControlMaster and its own login, so one sshd
//! sees 16–17 connection setups at once — more than its default `MaxStartups` lets through
//! without dropping some. Files go under a folder of this run in /tmp on each host, removed
//! at the end.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use troupe::inventory::Inventory;
use troupe::value::{Map, Value};

use crate::support::run::{scratch, troupe_bin, Run};
use crate::support::testbed::{quote, testbed, TbHost, Testbed};

const ALIASES: usize = 100;
/// Open files the second run starts with: below what 100 hosts need, so the run only works
/// because troupe raises its soft limit (a login's default is 1024; macOS's 256).
const LOW_SOFT_LIMIT: u32 = 256;

const PLAYBOOK: &str = r#"
- hosts: aliases
  gather_facts: false
  tasks:
    - name: a folder per host
      file:
        path: "{{ root }}/{{ inventory_hostname }}"
        state: directory
        mode: "0755"
    - name: a file naming its host
      copy:
        content: "{{ inventory_hostname }} on {{ ansible_host }}\n"
        dest: "{{ root }}/{{ inventory_hostname }}/name"
    - name: read it back
      command: cat {{ root }}/{{ inventory_hostname }}/name
      register: back
      changed_when: false
      failed_when: back.stdout != inventory_hostname ~ ' on ' ~ ansible_host
"#;

fn nonce() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (nanos as u64 ^ (u64::from(std::process::id()) << 32)) % 1_000_000_000
}

/// Removes the run's folder from every host, also when the test fails.
struct Cleanup<'a> {
    tb: &'a Testbed,
    root: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(root) = quote(&self.root) {
            for h in &self.tb.hosts[..6] {
                let _ = self.tb.run(h, &format!("rm -rf {root}"));
            }
        }
    }
}

/// `s001`..`s100` spread over the six hosts, each with its host's connection variables (read
/// with troupe's own inventory loader, so any inventory shape works). Returned as YAML (its
/// JSON form) with the host each name reaches.
fn alias_inventory(tb: &Testbed) -> (String, Vec<(String, TbHost)>) {
    let source = tb.inventory.to_string_lossy().into_owned();
    let inv = Inventory::load(&[source]).unwrap_or_else(|e| panic!("loading {}: {e:?}", tb.inventory.display()));
    let mut hosts = Map::new();
    let mut aliases = Vec::new();
    for i in 0..ALIASES {
        let target = &tb.hosts[i % 6];
        let layers = inv.host_layers(&target.name);
        let mut vars: Map = layers.group_inventory.clone();
        vars.extend(layers.host_inventory.clone());
        vars.insert("ansible_host".into(), Value::from(target.ip.clone()));
        // One 2-core machine is both the controller and all 100 servers: the default
        // post-quantum key exchange costs ~0.1 s of CPU per handshake on each side, which
        // would make this test about the CPU rather than about forks.
        let extra = match vars.get("ansible_ssh_extra_args").and_then(Value::as_str) {
            Some(e) => format!("{e} -o KexAlgorithms=curve25519-sha256"),
            None => "-o KexAlgorithms=curve25519-sha256".into(),
        };
        vars.insert("ansible_ssh_extra_args".into(), Value::from(extra));
        let alias = format!("s{:03}", i + 1);
        hosts.insert(alias.clone(), Value::Object(vars));
        aliases.push((alias, target.clone()));
    }
    let doc = serde_json::json!({ "aliases": { "hosts": hosts } });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| panic!("{e}"));
    (text, aliases)
}

/// The `PLAY RECAP` rows: host and (ok, changed, unreachable, failed), in printed order.
fn recap_rows(stdout: &str) -> Vec<(String, [u32; 4])> {
    let Some(at) = stdout.find("PLAY RECAP") else { return Vec::new() };
    stdout[at..]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (host, counts) = line.split_once(" : ")?;
            let mut out = [u32::MAX; 4];
            for (i, key) in ["ok=", "changed=", "unreachable=", "failed="].iter().enumerate() {
                let from = counts.find(key)? + key.len();
                out[i] = counts[from..].split_whitespace().next()?.parse().ok()?;
            }
            Some((host.trim().to_string(), out))
        })
        .collect()
}

/// Every alias once in the recap, sorted, each with `want` as (ok, changed, unreachable, failed).
fn assert_recap(stdout: &str, aliases: &[(String, TbHost)], want: [u32; 4], which: &str) {
    let rows = recap_rows(stdout);
    let names: Vec<&str> = rows.iter().map(|(h, _)| h.as_str()).collect();
    let expected: Vec<&str> = aliases.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, expected, "{which} run: recap hosts\n{stdout}");
    for (host, counts) in &rows {
        assert_eq!(*counts, want, "{which} run: {host} (ok, changed, unreachable, failed)\n{stdout}");
    }
}

/// The hard limit on open files of a shell started from here (`None`: unlimited).
fn hard_file_limit() -> Option<u64> {
    let out = Command::new("sh").args(["-c", "ulimit -Hn"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn forks_100_reaches_100_hosts_at_once() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let root = format!("/tmp/troupe-e2e-scale-{}", nonce());
    let _cleanup = Cleanup { tb, root: root.clone() };
    let (inventory, aliases) = alias_inventory(tb);
    let dir = scratch(&[("aliases.yml", &inventory), ("site.yml", PLAYBOOK)]);
    let root_var = format!("root={root}");
    let args = ["-i", "aliases.yml", "-f", "100", "-e", root_var.as_str(), "site.yml"];

    let started = Instant::now();
    let first = Run::new().in_dir(dir.path()).args(args).succeeds();
    let first_took = started.elapsed();
    assert_recap(&first.stdout, &aliases, [3, 2, 0, 0], "first");

    // Each name's file is on the host it points at, with its own content, and nowhere else.
    let mut seen = 0;
    for host in &tb.hosts[..6] {
        let listing = tb.ok(
            host,
            &format!(
                "cd {} && for d in *; do printf '%s=%s\\n' \"$d\" \"$(cat \"$d/name\")\"; done",
                quote(&root).unwrap_or_default()
            ),
        );
        let want: Vec<String> =
            aliases.iter().filter(|(_, t)| t.name == host.name).map(|(a, t)| format!("{a}={a} on {}", t.ip)).collect();
        assert_eq!(listing, want.join("\n"), "files on {}", host.name);
        seen += want.len();
    }
    assert_eq!(seen, ALIASES);

    // Again, with few open files allowed at start: nothing changes, nothing fails.
    let lower = match hard_file_limit() {
        Some(hard) if hard < 1024 => String::new(),
        _ => format!("ulimit -Sn {LOW_SOFT_LIMIT} && "),
    };
    let started = Instant::now();
    let second = Command::new("sh")
        .arg("-c")
        .arg(format!("{lower}exec \"$0\" \"$@\""))
        .arg(troupe_bin())
        .args(args)
        .current_dir(dir.path())
        .env_remove("TROUPE_INVENTORY")
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("ANSIBLE_INVENTORY")
        .env("CI", "1")
        .output()
        .unwrap_or_else(|e| panic!("running troupe: {e}"));
    let second_took = started.elapsed();
    let stdout = String::from_utf8_lossy(&second.stdout);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "second run\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(!stderr.contains("open files"), "{stderr}");
    assert_recap(&stdout, &aliases, [3, 0, 0, 0], "second");

    eprintln!("e2e_scale: {ALIASES} hosts with -f 100: first run {first_took:?}, second run {second_took:?}");
    // Not a benchmark: a bound that catches stalls (retry storms, connect timeouts).
    assert!(first_took + second_took < Duration::from_secs(90), "two runs took {:?}", first_took + second_took);
}
