//! The module bridge (src/bridge/): modules troupe does not implement, run as Ansible's own on
//! testbed hosts (the 4th–6th, as the module suite): one from ansible.builtin (`debconf`), one
//! from community.general (`pam_limits`), and one from a collection that exists only for these
//! tests (`troupe_test.bridge.marker`, in tests/fixtures/collections). Each runs in `--check`
//! (the hosts are proven unchanged), then twice (the second run changes nothing); with become,
//! environment, a failure, `no_log` (the secret is in no output, no command line on the host and
//! no file left there), a host without Python, and the load-time error for a missing module.
//!
//! Needs ansible-core on the controller (`TROUPE_ANSIBLE_PYTHON`, or the venv of
//! `TROUPE_ANSIBLE_PLAYBOOK`) and community.general in `target/ansible-collections` (both put
//! there by scripts/test.sh).

use std::path::PathBuf;

use crate::e2e_modules::{absent, mine, nonce, troupe, Cleanup};
use crate::support::run::{ansible_collections, ansible_playbook, repo, scratch, Run};
use crate::support::testbed::{skip, testbed};

/// `TROUPE_ANSIBLE_PYTHON` and `ANSIBLE_COLLECTIONS_PATH` for troupe, or `None` (skipped)
/// when ansible-core or community.general is not installed.
fn bridge_env() -> Option<[(String, String); 2]> {
    let python = match std::env::var("TROUPE_ANSIBLE_PYTHON") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => match ansible_playbook() {
            Some(pb) => pb.with_file_name("python3"),
            None => {
                skip("skipped: the bridge tests need ansible-core (scripts/test.sh installs it)");
                return None;
            }
        },
    };
    let Some(general) = ansible_collections()
        .filter(|p| p.join("ansible_collections/community/general/plugins/modules/pam_limits.py").is_file())
    else {
        skip("skipped: the bridge tests need community.general in target/ansible-collections (scripts/test.sh)");
        return None;
    };
    let paths = format!("{}:{}", general.display(), repo().join("tests/fixtures/collections").display());
    Some([
        ("TROUPE_ANSIBLE_PYTHON".into(), python.to_string_lossy().into_owned()),
        ("ANSIBLE_COLLECTIONS_PATH".into(), paths),
    ])
}

fn with(run: Run, env: &[(String, String); 2]) -> Run {
    env.iter().fold(run.env("TROUPE_BRIDGE", "1"), |r, (k, v)| r.env(k, v))
}

const PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  vars:
    d: /tmp/troupe-bridge-{{ n }}
    secret: "S3cr3t-{{ n }}-bridge"
  tasks:
    - name: ansible.builtin, not native
      ansible.builtin.debconf: {name: "troupe-bridge-{{ n }}", question: "troupe-bridge-{{ n }}/q", vtype: string, value: v1}
    - name: community.general
      community.general.pam_limits: {domain: troupe, limit_type: soft, limit_item: nofile, value: "1024", dest: "{{ d }}/limits.conf"}
    - name: a collection of the test's own
      troupe_test.bridge.marker: {path: "{{ d }}/marker", content: "hello {{ inventory_hostname }}\n"}
    - name: become and environment
      troupe_test.bridge.marker: {path: "{{ d }}-nobody", content: "x\n"}
      become: true
      become_method: su
      become_user: nobody
      environment: {TROUPE_MARK: env-ok}
      register: nb
    - debug: {msg: "who={{ nb.uid }} mark={{ nb.env_mark }}"}
    - name: a secret
      troupe_test.bridge.marker: {path: "{{ d }}/secret", secret: "{{ secret }}"}
      no_log: true
      register: s
    - debug: {msg: "secret in argv: {{ s.secret_in_argv }}"}
"#;

#[test]
fn bridged_modules_run_in_check_mode_then_converge() {
    let Some(env) = bridge_env() else { return };
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let n = nonce();
    let d = format!("/tmp/troupe-bridge-{n}");
    let _cleanup = Cleanup {
        tb,
        command: format!(
            "rm -rf {d} {d}-nobody; echo PURGE | debconf-communicate troupe-bridge-{n} >/dev/null 2>&1; true"
        ),
    };
    for h in mine(tb) {
        assert!(tb.on(h, &format!("mkdir {d}")).success());
    }
    let dir = scratch(&[("bridge.yml", PLAY)]);
    let nv = format!("n={n}");
    let extra = ["-e", nv.as_str(), "-v"];
    let secret = format!("S3cr3t-{n}-bridge");

    // --check: every module reports the change, none makes it (their own check mode).
    let dry = with(troupe(tb, dir.path(), "bridge.yml", &extra), &env).args(["--check", "--diff"]).succeeds();
    assert!(mine(tb).iter().all(|h| dry.changed(&h.name) >= 4), "{}", dry.stdout);
    dry.stdout_has("+troupe\tsoft\tnofile\t1024").stdout_has("who=65534 mark=env-ok").stdout_lacks(&secret);
    for h in mine(tb) {
        for f in ["limits.conf", "marker", "secret"] {
            absent(tb, h, &format!("{d}/{f}"));
        }
        absent(tb, h, &format!("{d}-nobody"));
        let shown = tb.on(h, &format!("debconf-show troupe-bridge-{n}"));
        assert!(!shown.stdout.contains("v1"), "--check set the debconf value on {}: {shown:?}", h.name);
    }

    // For real, twice: the second run changes nothing.
    let first = with(troupe(tb, dir.path(), "bridge.yml", &extra), &env).succeeds();
    first.stdout_has("secret in argv: False").stdout_lacks(&secret);
    let again = with(troupe(tb, dir.path(), "bridge.yml", &extra), &env).succeeds();
    again.stdout_has("secret in argv: False").stdout_lacks(&secret);
    for h in mine(tb) {
        assert!(first.changed(&h.name) >= 4, "{}", first.stdout);
        assert_eq!(again.changed(&h.name), 0, "second run changed {}\n{}", h.name, again.stdout);
        let marker = tb.on(h, &format!("cat {d}/marker"));
        assert_eq!(marker.stdout, format!("hello {}\n", h.name));
        assert!(tb.on(h, &format!("grep -qx 'troupe\tsoft\tnofile\t1024' {d}/limits.conf")).success());
        let shown = tb.on(h, &format!("debconf-show troupe-bridge-{n}"));
        assert!(shown.stdout.contains(&format!("troupe-bridge-{n}/q: v1")), "{shown:?}");
        assert_eq!(tb.on(h, &format!("stat -c %U {d}-nobody")).stdout.trim(), "nobody");
        // The secret reached the module (its length is in the file), and no file holds it.
        assert_eq!(tb.on(h, &format!("cat {d}/secret")).stdout, format!("secret-length={}\n", secret.len()));
        let left = tb.on(h, &format!("grep -rlsF {secret} /tmp /var/tmp /root 2>/dev/null; true"));
        assert_eq!(left.stdout.trim(), "", "files on {} hold the secret", h.name);
    }
}

/// A module's own failure (the test module's `fail`, an argument ansible.builtin.debconf
/// refuses) fails the task with the module's message; a host without Python gets an error
/// naming the module and the host.
#[test]
fn bridged_failures_say_what_the_module_said() {
    let Some(env) = bridge_env() else { return };
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let n = nonce();
    let play = format!(
        r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - troupe_test.bridge.marker: {{path: /tmp/troupe-bridge-fail-{n}, fail: true}}
      ignore_errors: true
    - ansible.builtin.debconf: {{name: x, question: x/q, vtype: nonsense, value: v}}
      ignore_errors: true
    - name: no python here
      troupe_test.bridge.marker: {{path: /tmp/troupe-bridge-fail-{n}}}
      vars: {{ansible_python_interpreter: /nonexistent/python3}}
"#
    );
    let dir = scratch(&[("fail.yml", &play)]);
    let done = with(troupe(tb, dir.path(), "fail.yml", &[]), &env).code(2);
    done.stdout_has(&format!("marker was asked to fail at /tmp/troupe-bridge-fail-{n}"))
        .stdout_has("value of vtype must be one of")
        .stdout_has("troupe_test.bridge.marker is Ansible's own module and runs with Python");
    for h in mine(tb) {
        assert_eq!(done.recap(&h.name)[3], 1, "{}", done.stdout);
        assert_eq!(done.recap(&h.name)[6], 2, "{}", done.stdout);
        done.stdout_has(&format!("but host {} has none (/nonexistent/python3 not found)", h.name));
        absent(tb, h, &format!("/tmp/troupe-bridge-fail-{n}"));
    }
}

/// A module neither troupe nor the installed collections have refuses the playbook at load,
/// naming where troupe looked and what to install; one whose action plugin the bridge can't
/// run says so; without ansible-core the error says how to get it. No host is needed.
#[test]
fn a_missing_module_names_where_troupe_looked() {
    let Some(env) = bridge_env() else { return };
    let dir = scratch(&[
        ("missing.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - nosuch.things.widget: {}\n"),
        (
            "action.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.assemble: {src: a, dest: b}\n",
        ),
        (
            "fine.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - troupe_test.bridge.marker: {path: /x}\n",
        ),
    ]);
    let missing = with(Run::new().in_dir(dir.path()).args(["--syntax-check", "missing.yml"]), &env).code(4);
    missing
        .stderr_has("unknown module 'nosuch.things.widget'")
        .stderr_has("ansible-galaxy collection install nosuch.things")
        .stderr_has(&repo().join("tests/fixtures/collections").display().to_string());
    with(Run::new().in_dir(dir.path()).args(["--syntax-check", "action.yml"]), &env)
        .code(4)
        .stderr_has("action plugin");
    with(Run::new().in_dir(dir.path()).args(["--list-tasks", "fine.yml"]), &env)
        .succeeds()
        .stdout_has("troupe_test.bridge.marker");
    Run::new()
        .in_dir(dir.path())
        .env("TROUPE_ANSIBLE_PYTHON", "/nonexistent/python3")
        .args(["--syntax-check", "fine.yml"])
        .code(4)
        .stderr_has("unknown module 'troupe_test.bridge.marker'")
        .stderr_has("pip install ansible-core");
}

/// The same bridged tasks, locally, give the values ansible-playbook gives: `changed` on the
/// first run and not the second, a check-mode run, a failure and its message.
#[test]
fn bridged_results_match_ansible_playbook() {
    let Some(env) = bridge_env() else { return };
    let play = r#"
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    # Both tools run in the same folder, one after the other: each starts from no file.
    - file: {path: "{{ playbook_dir }}/limits.conf", state: absent}
    - community.general.pam_limits: &limits {domain: troupe, limit_type: soft, limit_item: nofile, value: "1024", dest: "{{ playbook_dir }}/limits.conf"}
      register: a
    - community.general.pam_limits: *limits
      register: b
    - troupe_test.bridge.marker: {path: "{{ playbook_dir }}/m", content: "x"}
      check_mode: true
      register: c
    - troupe_test.bridge.marker: {path: "{{ playbook_dir }}/m", fail: true}
      register: f
      ignore_errors: true
    - debug:
        msg: "{{ a.changed }} {{ a.msg | trim }} | {{ b.changed }} | {{ c.changed }} {{ c.uid }} | {{ f.failed }} {{ f.msg | basename }}"
"#;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    crate::support::compare::check(
        &[("bridge.yml", play)],
        &["-i", "localhost,", "bridge.yml"],
        &env,
        &["\"msg\": \"True troupe\\tsoft\\tnofile\\t1024 | False | True 0 | True m\""],
    );
}

const GREET: &str = r#"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.troupe_words import greeting


def main():
    m = AnsibleModule(argument_spec=dict(name=dict(type='str', required=True), secret=dict(type='str', no_log=True)),
                      supports_check_mode=True)
    if m.params['name'] == 'fail':
        m.fail_json(msg='asked to fail')
    m.exit_json(changed=not m.check_mode, greeting=greeting(m.params['name']), check=m.check_mode)


if __name__ == '__main__':
    main()
"#;

/// A `ping` of a role's own: a bare name in a role's `library/` wins over troupe's native one.
const ROLE_PING: &str = r#"#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    m = AnsibleModule(argument_spec=dict(data=dict(type='str', default='x')), supports_check_mode=True)
    m.exit_json(changed=False, ping='role library ping ' + m.params['data'])


if __name__ == '__main__':
    main()
"#;

/// Modules of the playbook's own `library/` (with a `module_utils/` beside it) and of a role's
/// `library/` run through the bridge, in check mode too, as ansible-playbook runs them.
#[test]
fn library_modules_of_the_playbook_and_its_roles_run_through_the_bridge() {
    let Some(env) = bridge_env() else { return };
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - troupe_greet: name=world secret=s3cr3t-library-value
      register: g
    - debug: msg="{{ g.greeting }} {{ g.changed }} {{ g.check }}"
    - import_role: name=r1
    - troupe_greet: name=fail
      ignore_errors: true
      register: f
    - debug: msg="{{ f.msg }} {{ f.failed }}"
"#;
    let files = [
        ("pb.yml", pb),
        ("library/troupe_greet.py", GREET),
        ("module_utils/troupe_words.py", "def greeting(name):\n    return 'hello %s' % name\n"),
        ("roles/r1/library/ping.py", ROLE_PING),
        ("roles/r1/tasks/main.yml", "- ping: data=inrole\n  register: p\n- debug: msg=\"{{ p.ping }}\"\n"),
    ];
    let env: Vec<(&str, &str)> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain([("TROUPE_BRIDGE", "1")]).collect();
    let args = ["-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3", "pb.yml"];
    let want = [
        r#""msg": "hello world True False""#,
        r#""msg": "role library ping inrole""#,
        r#""msg": "asked to fail True""#,
    ];
    crate::support::compare::check(&files, &args, &env, &want);
    let check: Vec<&str> = args.iter().copied().chain(["--check"]).collect();
    let want = [want[0].replace("True False", "False True"), want[1].to_string(), want[2].to_string()];
    crate::support::compare::check(&files, &check, &env, &want.iter().map(String::as_str).collect::<Vec<_>>());
    // The secret the module marks no_log is in no output, even at -vvv.
    let dir = scratch(&files);
    let run = env.iter().fold(Run::new().in_dir(dir.path()), |r, (k, v)| r.env(k, v));
    let out = run.args(args.iter().copied().chain(["-vvv"])).run();
    assert!(out.stdout.contains("hello world"), "{}", out.stdout);
    assert!(!out.stdout.contains("s3cr3t-library-value") && !out.stderr.contains("s3cr3t-library-value"));
}
