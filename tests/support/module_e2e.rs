//! Issue 12's acceptance for one module on one testbed host, in one call:
//!
//! 1. `reset` (if any) puts the host in the starting state; `probe` prints that state;
//! 2. troupe in `--check`: it must predict the change, and `probe` must print the same as before;
//! 3. troupe for real: `changed=1` (unless [`ModuleE2e::first_changed`] says otherwise);
//! 4. troupe again: `changed=0` (unless [`ModuleE2e::second_changed`]);
//! 5. when ansible-core is installed ([`ansible_playbook`]): `reset` again, ansible-playbook runs
//!    the same task on the same host (or on [`ModuleE2e::ansible_host`]), and the registered
//!    results' named fields must be equal to troupe's first run (to its second run when there is
//!    no reset and the same host is used, since then ansible-playbook's run is the idempotent
//!    one); `probe` must print the same after both tools' runs when [`ModuleE2e::same_state`].
//!
//! The task is `- <module>: <args>` with `register: r`, then `debug: var=r`; the registered
//! result is read back from that `debug` output (the JSON both tools print after `=> `).
//!
//!     ModuleE2e::new("replace", "{path: /tmp/f, regexp: a, replace: b}")
//!         .reset("printf 'a\\n' > /tmp/f")
//!         .probe("cat /tmp/f")
//!         .compare(&["changed", "msg"])
//!         .run(tb, host);

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::run::{ansible_collections, ansible_playbook, scratch, Done, Run};
use super::testbed::{TbHost, Testbed};

pub struct ModuleE2e<'a> {
    module: &'a str,
    args: &'a str,
    vars: &'a str,
    reset: Option<&'a str>,
    probe: &'a str,
    compare: &'a [&'a str],
    present: &'a [&'a str],
    first_changed: bool,
    second_changed: bool,
    check_predicts: Option<bool>,
    same_state: bool,
    ansible_host: Option<&'a TbHost>,
    files: Vec<(&'a str, &'a str)>,
    links: Vec<(&'a str, &'a str)>,
}

/// What one `ModuleE2e::run` saw: troupe's registered results and ansible-playbook's (if run).
#[derive(Debug)]
pub struct Seen {
    pub check: Value,
    pub first: Value,
    pub second: Value,
    pub ansible: Option<Value>,
}

impl<'a> ModuleE2e<'a> {
    /// `args`: the module's arguments as YAML (a flow mapping, or a free-form string).
    pub fn new(module: &'a str, args: &'a str) -> ModuleE2e<'a> {
        ModuleE2e {
            module,
            args,
            vars: "{}",
            reset: None,
            probe: "true",
            compare: &["changed"],
            present: &[],
            first_changed: true,
            second_changed: false,
            check_predicts: None,
            same_state: true,
            ansible_host: None,
            files: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Play `vars:` (a YAML flow mapping), for arguments that template them.
    pub fn vars(mut self, yaml: &'a str) -> Self {
        self.vars = yaml;
        self
    }

    /// A shell command that puts the host in the starting state (run before troupe's check run
    /// and before ansible-playbook's run).
    pub fn reset(mut self, sh: &'a str) -> Self {
        self.reset = Some(sh);
        self
    }

    /// A shell command that prints the host state the module may change.
    pub fn probe(mut self, sh: &'a str) -> Self {
        self.probe = sh;
        self
    }

    /// Result fields that must be equal in troupe's and ansible-playbook's results (default `changed`).
    pub fn compare(mut self, keys: &'a [&'a str]) -> Self {
        self.compare = keys;
        self
    }

    /// Result fields that both must have, whatever their values (random names, times).
    pub fn present(mut self, keys: &'a [&'a str]) -> Self {
        self.present = keys;
        self
    }

    /// Whether the first real run reports `changed` (default true).
    pub fn first_changed(mut self, changed: bool) -> Self {
        self.first_changed = changed;
        self
    }

    /// Whether the second run reports `changed` (default false; `tempfile` always changes).
    pub fn second_changed(mut self, changed: bool) -> Self {
        self.second_changed = changed;
        self
    }

    /// Whether the `--check` run reports `changed` (default: as the first run).
    pub fn check_predicts(mut self, changed: bool) -> Self {
        self.check_predicts = Some(changed);
        self
    }

    /// Whether `probe` must print the same after ansible-playbook's run as after troupe's
    /// (default true; false for state with random names).
    pub fn same_state(mut self, same: bool) -> Self {
        self.same_state = same;
        self
    }

    /// Run ansible-playbook on this host instead of on the same one after `reset`.
    pub fn ansible_host(mut self, host: &'a TbHost) -> Self {
        self.ansible_host = Some(host);
        self
    }

    /// A file beside the playbook (`files/x.sh` for `script`, `templates/` ...).
    pub fn file(mut self, path: &'a str, content: &'a str) -> Self {
        self.files.push((path, content));
        self
    }

    /// A symlink beside the playbook: `path` → `target` (as written).
    pub fn link(mut self, path: &'a str, target: &'a str) -> Self {
        self.links.push((path, target));
        self
    }

    fn playbook(&self) -> String {
        format!(
            "- hosts: all\n  gather_facts: false\n  vars: {}\n  tasks:\n    - name: the module\n      {}: {}\n      register: r\n    - debug: var=r\n",
            self.vars, self.module, self.args
        )
    }

    fn on(&self, tb: &Testbed, host: &TbHost, sh: &str, what: &str) -> String {
        let out = tb.on(host, sh);
        assert!(out.success(), "{} e2e: {what} `{sh}` failed on {}: {out:?}", self.module, host.name);
        out.stdout
    }

    /// Run the whole sequence on `host`; panics with both outputs at the first difference.
    pub fn run(&self, tb: &Testbed, host: &TbHost) -> Seen {
        let playbook = self.playbook();
        let mut files = self.files.clone();
        files.push(("site.yml", &playbook));
        let dir = scratch(&files);
        for (path, target) in &self.links {
            std::os::unix::fs::symlink(target, dir.path().join(path)).expect("symlink");
        }
        if let Some(reset) = self.reset {
            self.on(tb, host, reset, "reset");
        }
        let before = self.on(tb, host, self.probe, "probe");

        let check = self.troupe(tb, host, dir.path(), true);
        let predicts = self.check_predicts.unwrap_or(self.first_changed);
        assert_eq!(check.changed(&host.name) > 0, predicts, "{} --check: changed\n{}", self.module, check.stdout);
        let after_check = self.on(tb, host, self.probe, "probe");
        assert_eq!(before, after_check, "{} --check changed the host\n{}", self.module, check.stdout);

        let first = self.troupe(tb, host, dir.path(), false);
        assert_eq!(first.changed(&host.name) > 0, self.first_changed, "{}: first run\n{}", self.module, first.stdout);
        let state = self.on(tb, host, self.probe, "probe");
        let second = self.troupe(tb, host, dir.path(), false);
        assert_eq!(
            second.changed(&host.name) > 0,
            self.second_changed,
            "{}: second run\n{}",
            self.module,
            second.stdout
        );
        let seen_first = registered(&first.stdout, &host.name);
        let seen_second = registered(&second.stdout, &host.name);

        let ansible = ansible_playbook().map(|ap| {
            let target = self.ansible_host.unwrap_or(host);
            if let Some(reset) = self.reset {
                self.on(tb, target, reset, "reset");
            }
            let out = ansible(&ap, tb, target, dir.path());
            let theirs = registered(&out, &target.name);
            let ours = if self.reset.is_none() && self.ansible_host.is_none() { &seen_second } else { &seen_first };
            for key in self.compare {
                assert_eq!(
                    ours.get(key),
                    theirs.get(key),
                    "{}: result field {key:?} differs from ansible-playbook's\ntroupe: {ours:#}\nansible: {theirs:#}",
                    self.module
                );
            }
            for key in self.present {
                assert!(
                    ours.get(key).is_some() && theirs.get(key).is_some(),
                    "{}: result field {key:?} missing\ntroupe: {ours:#}\nansible: {theirs:#}",
                    self.module
                );
            }
            if self.same_state {
                let theirs_state = self.on(tb, target, self.probe, "probe");
                assert_eq!(state, theirs_state, "{}: the host differs after ansible-playbook's run", self.module);
            }
            theirs
        });
        if ansible.is_none() {
            eprintln!("{}: ansible-core not installed, not compared with ansible-playbook", self.module);
        }
        Seen { check: registered(&check.stdout, &host.name), first: seen_first, second: seen_second, ansible }
    }

    fn troupe(&self, tb: &Testbed, host: &TbHost, dir: &Path, check: bool) -> Done {
        let inventory = tb.inventory.to_string_lossy().into_owned();
        let mut run = Run::new().in_dir(dir).args(["-i", inventory.as_str(), "-l", host.name.as_str(), "site.yml"]);
        if check {
            run = run.args(["--check"]);
        }
        run.succeeds()
    }
}

/// ansible-playbook on `host` (must succeed); its stdout. Modules run with the host's python3.
fn ansible(ap: &Path, tb: &Testbed, host: &TbHost, dir: &Path) -> String {
    let mut cmd = Command::new(ap);
    if let Some(colls) = ansible_collections() {
        cmd.env("ANSIBLE_COLLECTIONS_PATH", colls);
    }
    let out = cmd
        .args(["-i", &tb.inventory.to_string_lossy(), "-l", &host.name, "site.yml"])
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .expect("ansible-playbook runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ansible-playbook failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The `r` that `debug: var=r` printed for `host`: the JSON object after `ok: [host] => `.
pub fn registered(stdout: &str, host: &str) -> Value {
    let start = format!("ok: [{host}] => {{");
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with(&start));
    let mut text = String::from("{");
    lines.next().unwrap_or_else(|| panic!("no `{start}` in the output:\n{stdout}"));
    for line in lines {
        text.push_str(line);
        text.push('\n');
        if line == "}" {
            break;
        }
    }
    // Integers past 64 bits (an RSA modulus in community.crypto's results) become strings.
    let text = regex::Regex::new(r"(?m)(: |^\s+)(-?\d{20,})(,?)$").expect("valid").replace_all(&text, "$1\"$2\"$3");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("debug output is not JSON ({e}):\n{text}"));
    v.get("r").cloned().unwrap_or_else(|| panic!("no `r` in the debug output:\n{text}"))
}

#[test]
fn registered_reads_the_debug_json() {
    let out = "TASK [debug] ***\nok: [h1] => {\n    \"r\": {\n        \"changed\": true,\n        \"x\": [1]\n    }\n}\n\nPLAY RECAP\n";
    assert_eq!(registered(out, "h1"), serde_json::json!({"changed": true, "x": [1]}));
}
