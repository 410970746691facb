//! Play control flow measured by ansible-core's integration targets (issue 11): the free
//! strategy, templated `strategy`/`order`/`hosts`, `notify` on blocks, imports and include
//! `apply`, several handlers on one topic, `any_errors_fatal` with rescue/always,
//! `force_handlers`, `meta: clear_host_errors`. Each compares the `"msg"` lines and the exit
//! code with ansible-playbook's on the same playbook when ansible-core is installed.

use crate::support::compare::both_exit;
use crate::support::run::{scratch, Run};

const TWO: &str = "h1 ansible_connection=local\nh2 ansible_connection=local\n";
const FOUR: &str = "hb ansible_connection=local\nha ansible_connection=local\nhd ansible_connection=local\nhc ansible_connection=local\n";

/// Assert troupe's messages are `want` and, when Ansible ran, the same as its.
fn same(files: &[(&str, &str)], args: &[&str], code: i32, want: &[&str], sorted: bool) {
    let (mut ours, theirs) = both_exit(files, args, code);
    let mut want: Vec<String> = want.iter().map(|s| format!("\"msg\": \"{s}\"")).collect();
    if sorted {
        ours.sort();
        want.sort();
    }
    assert_eq!(ours, want, "troupe {args:?}");
    if let Some(mut theirs) = theirs {
        if sorted {
            theirs.sort();
        }
        assert_eq!(ours, theirs, "troupe {args:?} differs from ansible-playbook");
    }
}

const FREE: &str = r#"- hosts: all
  gather_facts: false
  strategy: "{{ s | default('linear') }}"
  tasks:
    - debug: msg="one {{ inventory_hostname }}"
    - command: sleep 2
      when: inventory_hostname == 'h1'
    - debug: msg="two {{ inventory_hostname }}"
      changed_when: true
      notify: h
    - meta: end_host
      when: inventory_hostname == 'h2'
    - debug: msg="three {{ inventory_hostname }}"
  handlers:
    - name: h
      debug: msg="handler {{ inventory_hostname }}"
"#;

#[test]
fn free_strategy_lets_each_host_go_on_its_own() {
    let files = [("inv", TWO), ("pb.yml", FREE)];
    let msgs = ["one h1", "one h2", "two h1", "two h2", "three h1", "handler h1"];
    same(&files, &["-i", "inv", "pb.yml", "-e", "s=free"], 0, &msgs, true);
    // h2 does not wait for h1's sleep: it is done before h1 gets past it.
    let dir = scratch(&files);
    let d = Run::new().in_dir(dir.path()).args(["-i", "inv", "pb.yml", "-e", "s=free"]).succeeds();
    let at = |m: &str| d.stdout.find(m).unwrap_or_else(|| panic!("no {m} in\n{}", d.stdout));
    assert!(at("\"two h2\"") < at("\"two h1\""), "h2 waited for h1:\n{}", d.stdout);
    // host_pinned runs the same way; linear keeps the hosts in step.
    same(&files, &["-i", "inv", "pb.yml", "-e", "s=host_pinned"], 0, &msgs, true);
    let d = Run::new().in_dir(dir.path()).args(["-i", "inv", "pb.yml"]).succeeds();
    assert!(d.stdout.find("\"two h1\"") < d.stdout.find("\"two h2\""), "linear let h2 run ahead:\n{}", d.stdout);
}

#[test]
fn an_unknown_strategy_is_refused_with_its_place() {
    let pb = "- hosts: all\n  gather_facts: false\n  strategy: debug\n  tasks: [{debug: msg=x}]\n";
    let dir = scratch(&[("pb.yml", pb)]);
    Run::new()
        .in_dir(dir.path())
        .args(["-i", "localhost,", "pb.yml"])
        .code(4)
        .stderr_has("`strategy: debug` is not supported by troupe yet");
    let pb = "- hosts: all\n  gather_facts: false\n  strategy: '{{ s }}'\n  tasks: [{debug: msg=x}]\n";
    let dir = scratch(&[("pb.yml", pb)]);
    Run::new()
        .in_dir(dir.path())
        .args(["-i", "localhost,", "-c", "local", "pb.yml", "-e", "s=nope"])
        .run()
        .stderr_has("`strategy: nope` is not supported by troupe yet");
}

#[test]
fn templated_order_and_hosts_from_a_list() {
    let pb = r#"- hosts: "{{ targets | default('all') }}"
  gather_facts: false
  order: "{{ o | default('inventory') }}"
  tasks:
    - debug: msg="{{ inventory_hostname }}"
"#;
    let files = [("inv", FOUR), ("pb.yml", pb)];
    let args = ["-i", "inv", "pb.yml", "-f", "1"];
    fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        args.iter().chain(extra).copied().collect()
    }
    same(&files, &args, 0, &["hb", "ha", "hd", "hc"], false);
    same(&files, &with(&args, &["-e", "o=sorted"]), 0, &["ha", "hb", "hc", "hd"], false);
    same(&files, &with(&args, &["-e", "o=reverse_sorted"]), 0, &["hd", "hc", "hb", "ha"], false);
    same(&files, &with(&args, &["-e", "o=reverse_inventory"]), 0, &["hc", "hd", "ha", "hb"], false);
    same(&files, &with(&args, &["-e", r#"{"targets": ["hc", "ha"], "o": "sorted"}"#]), 0, &["ha", "hc"], false);
}

#[test]
fn notify_on_blocks_imports_and_include_apply_reaches_every_listener() {
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - notify: by_block
      block:
        - debug: msg=in-block
          changed_when: true
    - import_tasks: t.yml
      notify: topic
    - include_tasks:
        file: t.yml
        apply:
          notify: by_apply
  handlers:
    - name: by_block
      debug: msg=block-handler
    - name: first
      listen: topic
      debug: msg=first-listener
    - name: second
      listen: topic
      debug: msg=second-listener
    - name: by_apply
      debug: msg=apply-handler
"#;
    let t = "- debug: msg=changed\n  changed_when: true\n";
    let files = [("pb.yml", pb), ("t.yml", t)];
    let want =
        ["in-block", "changed", "changed", "block-handler", "first-listener", "second-listener", "apply-handler"];
    same(&files, &["-i", "localhost,", "-c", "local", "pb.yml"], 0, &want, false);
}

#[test]
fn any_errors_fatal_sends_every_host_to_rescue_and_always() {
    // ansible-core's any_errors_fatal/80981.yml: both hosts are rescued and go on.
    let rescued = r#"- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - fail:
          when: inventory_hostname == "h1"
        - debug: msg="SHOULD NOT HAPPEN"
      rescue:
        - debug: msg=rescued
    - debug: msg=recovered
"#;
    let msgs = ["rescued", "rescued", "recovered", "recovered"];
    same(&[("inv", TWO), ("pb.yml", rescued)], &["-i", "inv", "pb.yml"], 0, &msgs, false);
    // 31543.yml: both run `always`, then stop; the run fails.
    let always = r#"- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - fail:
          when: inventory_hostname == 'h1'
      always:
        - debug: msg=always
    - debug: msg="SHOULD NOT HAPPEN"
"#;
    same(&[("inv", TWO), ("pb.yml", always)], &["-i", "inv", "pb.yml"], 2, &["always", "always"], false);
    // always_block.yml: a failure in the rescue still runs `always`.
    let nested = r#"- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - command: /bin/false
      rescue:
        - debug: msg=rescue-start
        - command: /bin/false
        - debug: msg=never
      always:
        - debug: msg=always-start
"#;
    let args = ["-i", "localhost,", "-c", "local", "pb.yml"];
    same(&[("pb.yml", nested)], &args, 2, &["rescue-start", "always-start"], false);
}

#[test]
fn a_failed_include_counts_for_any_errors_fatal() {
    let pb = r#"- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - include_tasks: missing.yml
      when: inventory_hostname == 'h2'
    - debug: msg=never
"#;
    same(&[("inv", TWO), ("pb.yml", pb)], &["-i", "inv", "pb.yml"], 2, &[], false);
}

#[test]
fn force_handlers_run_on_a_failed_host() {
    // ansible-core's any_errors_fatal/36308.yml.
    let pb = r#"- hosts: all
  gather_facts: false
  any_errors_fatal: true
  force_handlers: true
  tasks:
    - command: echo
      notify: handler1
    - fail:
  handlers:
    - name: handler1
      debug: msg="handler1 ran"
"#;
    same(&[("pb.yml", pb)], &["-i", "localhost,", "-c", "local", "pb.yml"], 2, &["handler1 ran"], false);
}

#[test]
fn clear_host_errors_in_always_lets_the_host_go_on() {
    // ansible-core's blocks/72725.yml: the run succeeds.
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - block:
        - block:
          - fail:
            when: inventory_hostname == 'h1'
          - set_fact:
               only_h2: yes
        - fail:
          when: only_h2 is not defined
      always:
        - block:
          - meta: clear_host_errors
    - debug: msg="{{ inventory_hostname }} {{ only_h2 is defined }}"
"#;
    same(&[("inv", TWO), ("pb.yml", pb)], &["-i", "inv", "pb.yml"], 0, &["h1 False", "h2 True"], false);
}

#[test]
fn templated_tags_are_rendered_then_selected() {
    // ansible-core's tags/test_template_*_tags.yml: play, block and role tags from play vars.
    let pb = r#"- hosts: all
  gather_facts: false
  vars:
    t: tag1
    listed: [tag2, tag3]
  tags: "{{ t }}"
  roles:
    - name: r
      tags: "{{ listed }}"
  tasks:
    - block:
        - debug: msg=in-block
      tags: "{{ listed }}"
    - debug: msg=by-extra
      tags: "{{ x | default('none') }}"
"#;
    let files = [("pb.yml", pb), ("roles/r/tasks/main.yml", "- debug: msg=in-role\n")];
    let args = |extra: &'static [&'static str]| -> Vec<&'static str> {
        ["-i", "localhost,", "-c", "local", "pb.yml"].iter().chain(extra).copied().collect()
    };
    same(&files, &args(&[]), 0, &["in-role", "in-block", "by-extra"], false);
    same(&files, &args(&["--tags", "tag3"]), 0, &["in-role", "in-block"], false);
    same(&files, &args(&["--skip-tags", "tag1"]), 0, &[], false);
    same(&files, &args(&["--tags", "xx", "-e", "x=xx"]), 0, &["by-extra"], false);
    let dir = scratch(&files);
    let d = Run::new().in_dir(dir.path()).args(["-i", "localhost,", "pb.yml", "--list-tasks"]).succeeds();
    d.stdout_has("TAGS: [tag1, tag2, tag3]");
}

#[test]
fn a_failure_shows_its_origin_and_play_hosts_drop_failed_hosts() {
    // ansible-core 2.19 prints where a failed task is before its result (blocks/runme.sh counts
    // these lines); blocks/78612.yml: a host that failed is out of ansible_play_hosts/batch.
    let pb = r#"- hosts: all
  gather_facts: false
  tasks:
    - block:
        - fail: msg="Failure in block"
          when: inventory_hostname == 'h1'
      rescue:
        - block:
          - fail: msg="Failure in rescue"
            when: inventory_hostname == 'h1'
    - debug: msg="{{ ansible_play_hosts }} {{ ansible_play_batch }} {{ play_hosts }}"
    - command: /bin/false
      ignore_errors: true
"#;
    let files = [("inv", TWO), ("pb.yml", pb)];
    let args = ["-i", "inv", "pb.yml"];
    let origin = |out: &str| -> Vec<String> {
        let keep = |l: &&str| l.starts_with("[ERROR]") || l.starts_with("Origin:") || l.contains("^ column");
        out.lines().filter(keep).map(String::from).collect()
    };
    let dir = scratch(&files);
    let d = Run::new().in_dir(dir.path()).args(args).code(2);
    let ours = origin(&d.stdout);
    assert_eq!(ours.len(), 9, "{}", d.stdout);
    assert!(ours[0].starts_with("[ERROR]: Task failed: Action failed: Failure in block"), "{ours:?}");
    d.stdout_has("\"msg\": \"['h2'] ['h2'] ['h2']\"");
    d.stdout_has("[ERROR]: Task failed: Module failed: non-zero return code");
    if let Some(ap) = crate::support::run::ansible_playbook() {
        let out = crate::support::compare::ansible(&ap, dir.path(), &args, &[]);
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(ours, origin(&theirs), "differs from ansible-playbook:\n{theirs}");
        let recap = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.contains("ok="))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        };
        assert_eq!(recap(&d.stdout), recap(&theirs), "recap differs from ansible-playbook:\n{theirs}");
    }
}

#[test]
fn meta_tasks_print_and_end_as_ansible() {
    // ansible-core's meta_tasks/test_end_host.yml and test_end_batch.yml, read with -vv.
    let pb = r#"- name: "end_host with {{ s | default('linear') }}"
  hosts: all
  gather_facts: false
  strategy: "{{ s | default('linear') }}"
  tasks:
    - meta: end_host
      when: inventory_hostname == 'h2'
    - debug: msg="not ended {{ inventory_hostname }}"
- hosts: all
  gather_facts: false
  serial: 1
  tasks:
    - debug: msg="batch {{ ansible_play_batch }}"
    - meta: end_batch
    - debug: msg=never
"#;
    let files = [("inv", TWO), ("pb.yml", pb)];
    let meta = |out: &str| -> Vec<String> {
        let keep = |l: &&str| l.starts_with("META:") || l.starts_with("PLAY [") || l.starts_with("skipping:");
        out.lines().filter(keep).map(|l| l.trim_end_matches(['*', ' ']).to_string()).collect()
    };
    for s in ["linear", "free"] {
        let args = ["-i", "inv", "pb.yml", "-vv", "-e", &format!("s={s}")].map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = scratch(&files);
        let d = Run::new().in_dir(dir.path()).args(&args).succeeds();
        d.stdout_has(&format!("PLAY [end_host with {s}]")).stdout_has("META: ending play for h2");
        d.stdout_has("META: end_host conditional evaluated to False, continuing execution for h1");
        assert_eq!(d.stdout.matches("META: ending batch").count(), 2, "{}", d.stdout);
        d.stdout_lacks("not ended h2").stdout_lacks("\"never\"");
        if let Some(ap) = crate::support::run::ansible_playbook() {
            let out = crate::support::compare::ansible(&ap, dir.path(), &args, &[]);
            let theirs = String::from_utf8_lossy(&out.stdout);
            let (mut ours, mut theirs) = (meta(&d.stdout), meta(&theirs));
            ours.sort();
            theirs.sort();
            assert_eq!(ours, theirs, "differs from ansible-playbook");
        }
    }
}
