//! `set_fact` as ansible-core 2.19's `set_fact` integration target checks it: the variable
//! name rules, `cacheable` and the fact cache (`memory`, `jsonfile`, `--flush-cache`),
//! `ANSIBLE_INJECT_FACT_VARS`, the reserved `_ansible_` prefix. troupe's output is asserted, and
//! compared with ansible-playbook's on the same playbooks when ansible-core is installed.

use std::path::Path;

use crate::support::compare::{ansible, check, messages};
use crate::support::run::{ansible_playbook, scratch, Run};

const INV: &str = "[all]\nlocalhost ansible_connection=local\n";
const ARGS: [&str; 3] = ["-i", "inv", "pb.yml"];

#[test]
fn names_that_are_not_variables_fail_as_in_ansible() {
    let pb = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - set_fact:
        "{{ 'true' }}": value
      register: r
      ignore_errors: true
    - debug: msg="{{ r.msg }} {{ r.failed }}"
    - set_fact:
        "{{ 1 }}": value
      register: r
      ignore_errors: true
    - debug: msg="{{ r.msg }}"
    - set_fact:
        "{{ [1] }}": value
      register: r
      ignore_errors: true
    - debug: msg="{{ r.msg }}"
    - set_fact:
        a-b: 1
      register: r
      ignore_errors: true
    - debug: msg="{{ r.msg }} {{ r.exception is defined }}"
    - set_fact:
        cacheable: true
      register: r
      ignore_errors: true
    - debug: msg="{{ r.msg }}"
    - set_fact:
        "{{ 'good' }}": "{{ 'name' }}"
    - debug: msg="{{ good }}"
"#;
    check(
        &[("pb.yml", pb), ("inv", INV)],
        &ARGS,
        &[],
        &[
            r#""msg": "Task failed: Invalid variable name 'true'. True""#,
            r#""msg": "Task failed: Invalid variable name '1' of type 'int'.""#,
            r#""msg": "Task failed: Invalid variable name of type 'list'.""#,
            r#""msg": "Task failed: Invalid variable name 'a-b'. True""#,
            r#""msg": "No key/value pairs provided, at least one is required for this action to succeed""#,
            r#""msg": "name""#,
        ],
    );
}

#[test]
fn reserved_prefix_is_refused_once_with_ansibles_words() {
    let pb = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - set_fact:\n        _ansible_foo: bar\n";
    let dir = scratch(&[("pb.yml", pb), ("inv", INV)]);
    let want = "Invalid parameter specified beginning with keyword '_ansible_' for action 'set_fact': \
                '_ansible_foo'. The prefix '_ansible_' is reserved for internal use only.";
    let ours = Run::new().in_dir(dir.path()).args(ARGS).code(1);
    assert_eq!(ours.stderr.matches(want).count(), 1, "{}", ours.stderr);
    if let Some(ap) = ansible_playbook() {
        let theirs = ansible(&ap, dir.path(), &ARGS, &[]);
        assert_eq!(theirs.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&theirs.stderr).matches(want).count(), 1);
    }
}

/// Run `steps` (arguments, environment) in turn in one fresh folder holding `files`, with
/// troupe, and in another with ansible-playbook when installed: each step's `"msg"` lines,
/// and the files each left in the folder's `cache/`.
type Runs = (Vec<Vec<String>>, Vec<String>);
/// One run: its arguments and environment (`$DIR` is the folder).
type Step<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

fn in_turn(files: &[(&str, &str)], steps: &[Step]) -> (Runs, Option<Runs>) {
    let cache_files = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("cache"))
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let dir = scratch(files);
    let mut ours = Vec::new();
    for (args, env) in steps {
        let mut run = Run::new().in_dir(dir.path()).args(*args);
        for (k, v) in *env {
            run = run.env(k, &v.replace("$DIR", &dir.path().display().to_string()));
        }
        ours.push(messages(&run.succeeds().stdout));
    }
    let ours = (ours, cache_files(dir.path()));
    let theirs = ansible_playbook().map(|ap| {
        let dir = scratch(files);
        let mut msgs = Vec::new();
        for (args, env) in steps {
            let out = ansible(&ap, dir.path(), args, env);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "ansible-playbook {args:?}:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            msgs.push(messages(&stdout));
        }
        (msgs, cache_files(dir.path()))
    });
    (ours, theirs)
}

const SET: &str = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - set_fact:
        ansible_foobar: from_set_fact
        plain: also_cached
        cacheable: true
    - set_fact: "cacheable=no not_cached=here"
    - debug: msg="{{ ansible_foobar }} {{ ansible_facts.foobar }} {{ ansible_facts.plain }} {{ not_cached }}"
- hosts: localhost
  gather_facts: false
  vars:
    ansible_foobar: from_play_vars
  tasks:
    - debug: msg="{{ ansible_foobar }} {{ not_cached }}"
"#;

const READ: &str = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - debug: msg="{{ ansible_foobar | default('undef') }} {{ ansible_facts.plain | default('undef') }} {{ not_cached is defined }}"
"#;

#[test]
fn cacheable_facts_outlive_the_run_with_jsonfile_until_flushed() {
    let env: &[(&str, &str)] = &[
        ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
        ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "$DIR/cache"),
        ("ANSIBLE_CACHE_PLUGIN_PREFIX", "prefix_"),
    ];
    let files = [("set.yml", SET), ("read.yml", READ), ("inv", INV)];
    let steps: [Step; 4] = [
        (&["-i", "inv", "set.yml"], env),
        (&["-i", "inv", "read.yml"], env),
        (&["-i", "inv", "--flush-cache", "read.yml"], env),
        (&["-i", "inv", "read.yml"], env),
    ];
    let (ours, theirs) = in_turn(&files, &steps);
    let want = [
        vec![
            r#""msg": "from_set_fact from_set_fact also_cached here""#.to_string(),
            r#""msg": "from_set_fact here""#.into(),
        ],
        vec![r#""msg": "from_set_fact also_cached False""#.into()],
        vec![r#""msg": "undef undef False""#.into()],
        vec![r#""msg": "undef undef False""#.into()],
    ];
    assert_eq!(ours.0, want);
    // Flushing removes the file; nothing wrote it again (no facts were gathered or cached).
    assert_eq!(ours.1, Vec::<String>::new());
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe differs from ansible-playbook");
    }
}

#[test]
fn memory_cache_keeps_facts_for_the_run_only() {
    let (ours, theirs) = in_turn(
        &[("set.yml", SET), ("read.yml", READ), ("inv", INV)],
        &[(&["-i", "inv", "set.yml"], &[]), (&["-i", "inv", "read.yml"], &[])],
    );
    assert_eq!(ours.0[1], [r#""msg": "undef undef False""#]);
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe differs from ansible-playbook");
    }
}

#[test]
fn ansible_cfg_chooses_the_cache_and_the_files_are_ansibles() {
    let cfg = "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = cache\nfact_caching_timeout = 600\n";
    let files = [("set.yml", SET), ("read.yml", READ), ("inv", INV), ("ansible.cfg", cfg)];
    let (ours, theirs) = in_turn(&files, &[(&["-i", "inv", "set.yml"], &[]), (&["-i", "inv", "read.yml"], &[])]);
    assert_eq!(ours.0[1], [r#""msg": "from_set_fact also_cached False""#]);
    // No prefix unless one is set; the schema id `s1_` as ansible-core 2.19 writes it.
    assert_eq!(ours.1, ["s1_localhost"]);
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe differs from ansible-playbook");
    }
}

#[test]
fn a_cache_written_by_one_is_read_by_the_other() {
    let Some(ap) = ansible_playbook() else {
        eprintln!("skipped: needs ansible-core (run scripts/test.sh, or set TROUPE_ANSIBLE_PLAYBOOK)");
        return;
    };
    let env = [("ANSIBLE_CACHE_PLUGIN", "jsonfile"), ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "$DIR/cache")];
    let want = [r#""msg": "from_set_fact also_cached False""#];
    let files = [("set.yml", SET), ("read.yml", READ), ("inv", INV)];
    // Ansible writes (with its origin and trust tags on the values), troupe reads.
    let dir = scratch(&files);
    assert!(ansible(&ap, dir.path(), &["-i", "inv", "set.yml"], &env).status.success());
    let mut run = Run::new().in_dir(dir.path()).args(["-i", "inv", "read.yml"]);
    for (k, v) in env {
        run = run.env(k, &v.replace("$DIR", &dir.path().display().to_string()));
    }
    assert_eq!(messages(&run.succeeds().stdout), want);
    // troupe writes, Ansible reads.
    let dir = scratch(&files);
    let mut run = Run::new().in_dir(dir.path()).args(["-i", "inv", "set.yml"]);
    for (k, v) in env {
        run = run.env(k, &v.replace("$DIR", &dir.path().display().to_string()));
    }
    run.succeeds();
    let out = ansible(&ap, dir.path(), &["-i", "inv", "read.yml"], &env);
    assert_eq!(messages(&String::from_utf8_lossy(&out.stdout)), want);
}

#[test]
fn expired_cache_files_are_not_read() {
    let env: &[(&str, &str)] = &[
        ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
        ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "$DIR/cache"),
        ("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "60"),
    ];
    let dir = scratch(&[("set.yml", SET), ("read.yml", READ), ("inv", INV)]);
    let run = |pb: &str| {
        let mut run = Run::new().in_dir(dir.path()).args(["-i", "inv", pb]);
        for (k, v) in env {
            run = run.env(k, &v.replace("$DIR", &dir.path().display().to_string()));
        }
        messages(&run.succeeds().stdout)
    };
    run("set.yml");
    assert_eq!(run("read.yml"), [r#""msg": "from_set_fact also_cached False""#]);
    let file = std::fs::File::options().write(true).open(dir.path().join("cache/s1_localhost")).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120)).unwrap();
    assert_eq!(run("read.yml"), [r#""msg": "undef undef False""#]);
}

#[test]
fn gathered_facts_are_cached_and_injected_unless_turned_off() {
    let pb = r#"- hosts: localhost
  gather_facts: true
  gather_subset: [min]
  tasks:
    - debug: msg="{{ ansible_system | default('undef') }} {{ ansible_facts.system }}"
"#;
    let read = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - debug: msg="{{ ansible_system | default('undef') }} {{ ansible_facts.system | default('undef') }}"
"#;
    let files = [("pb.yml", pb), ("read.yml", read), ("inv", INV)];
    let jsonfile = [("ANSIBLE_CACHE_PLUGIN", "jsonfile"), ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "$DIR/cache")];
    let no_inject = [jsonfile[0], jsonfile[1], ("ANSIBLE_INJECT_FACT_VARS", "0")];
    let steps: [Step; 4] = [
        (&["-i", "inv", "pb.yml"], &no_inject),
        (&["-i", "inv", "read.yml"], &jsonfile),
        (&["-i", "inv", "read.yml"], &no_inject),
        (&["-i", "inv", "pb.yml"], &jsonfile),
    ];
    let (ours, theirs) = in_turn(&files, &steps);
    let want = [
        vec![r#""msg": "undef Linux""#.to_string()],
        vec![r#""msg": "Linux Linux""#.to_string()],
        vec![r#""msg": "undef Linux""#.to_string()],
        vec![r#""msg": "Linux Linux""#.to_string()],
    ];
    assert_eq!(ours.0, want);
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe differs from ansible-playbook");
    }
}

#[test]
fn a_corrupt_cache_file_stops_the_run_and_is_removed() {
    let env = [("ANSIBLE_CACHE_PLUGIN", "jsonfile"), ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "cache")];
    let files = [("read.yml", READ), ("inv", INV), ("cache/s1_localhost", "garbage\n")];
    let dir = scratch(&files);
    let file = dir.path().join("cache/s1_localhost");
    let want = format!(
        "The cache file {} was corrupt, or did not otherwise contain valid data. It has been removed, so you can \
         re-run your command now.",
        file.display()
    );
    let mut run = Run::new().in_dir(dir.path()).args(["-i", "inv", "read.yml"]);
    for (k, v) in env {
        run = run.env(k, v);
    }
    let ours = run.code(1);
    assert!(ours.stderr.contains(&want), "{}", ours.stderr);
    assert!(!ours.stdout.contains("TASK ["), "no task runs:\n{}", ours.stdout);
    assert!(!file.exists());
    if let Some(ap) = ansible_playbook() {
        let dir = scratch(&files);
        let out = ansible(&ap, dir.path(), &["-i", "inv", "read.yml"], &env);
        assert_eq!(out.status.code(), Some(1));
        assert!(!dir.path().join("cache/s1_localhost").exists());
    }
}

#[test]
fn other_modules_facts_are_cached_too() {
    let set = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - getent: database=passwd key=root\n";
    let read = r#"- hosts: localhost
  gather_facts: false
  tasks:
    - debug: msg="{{ getent_passwd.root[1] | default('undef') }} {{ ansible_facts.getent_passwd.root[1] | default('undef') }}"
"#;
    let env: &[(&str, &str)] =
        &[("ANSIBLE_CACHE_PLUGIN", "jsonfile"), ("ANSIBLE_CACHE_PLUGIN_CONNECTION", "$DIR/cache")];
    let (ours, theirs) = in_turn(
        &[("set.yml", set), ("read.yml", read), ("inv", INV)],
        &[(&["-i", "inv", "set.yml"], env), (&["-i", "inv", "read.yml"], env)],
    );
    assert_eq!(ours.0[1], [r#""msg": "0 0""#]);
    if let Some(theirs) = theirs {
        assert_eq!(ours, theirs, "troupe differs from ansible-playbook");
    }
}
