//! Background jobs (`async`, `poll`, `async_status`), the task `timeout` keyword,
//! `module_defaults` and the `gather_facts` module: what ansible-playbook does with the same
//! playbook (compared when ansible-core is installed), on the local connection.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::run::{ansible_playbook, scratch, Run};

/// A local host, with the Python ansible-playbook's modules need.
const LOCAL: &str = "local ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n";

/// The `msg` lines a run printed, in order.
fn messages(stdout: &str) -> Vec<String> {
    stdout.lines().filter(|l| l.trim_start().starts_with("\"msg\"")).map(|l| l.trim().to_string()).collect()
}

/// ansible-playbook's messages for the same playbook, when ansible-core is installed.
fn ansible_messages(dir: &std::path::Path) -> Option<Vec<String>> {
    let ap = ansible_playbook()?;
    let out = Command::new(ap)
        .args(["-i", "inv.ini", "p.yml"])
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ansible-playbook failed: {stdout}");
    Some(messages(&stdout))
}

/// Run `play` with troupe (it must succeed), then with ansible-playbook: the same messages.
fn same_messages(play: &str) -> Vec<String> {
    let p = scratch(&[("inv.ini", LOCAL), ("p.yml", play)]);
    let ours = messages(&Run::new().in_dir(p.path()).args(["-i", "inv.ini", "p.yml"]).succeeds().stdout);
    if let Some(theirs) = ansible_messages(p.path()) {
        assert_eq!(ours, theirs, "troupe and ansible-playbook differ");
    }
    ours
}

#[test]
fn a_job_started_with_poll_0_is_read_and_cleaned_up_by_async_status() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 1; echo done; echo "a \"quoted\" line" >&2
      async: 20
      poll: 0
      register: job
    - debug:
        msg: "started={{ job.started }} finished={{ job.finished }} changed={{ job.changed }} file={{ job.results_file == lookup('env', 'HOME') ~ '/.ansible_async/' ~ job.ansible_job_id }}"
    - async_status: jid={{ job.ansible_job_id }}
      register: st
      until: st.finished
      retries: 30
      delay: 1
    - debug:
        msg: "rc={{ st.rc }} out={{ st.stdout_lines }} err={{ st.stderr }} changed={{ st.changed }} cmd={{ st.cmd }} started={{ st.started }} delta={{ st.delta is match('0:00:0[0-9][.][0-9]{6}$') }}"
    - async_status: jid={{ job.ansible_job_id }} mode=cleanup
      register: cl
    - stat: path={{ st.results_file }}
      register: f
    - debug:
        msg: "erased={{ cl.erased == st.results_file }} changed={{ cl.changed }} exists={{ f.stat.exists }}"
    - command: sh -c 'echo out; exit 3'
      async: 10
      poll: 1
      register: w
      ignore_errors: true
    - debug:
        msg: "failed={{ w.failed }} rc={{ w.rc }} out={{ w.stdout }} finished={{ w.finished }} started={{ w.started }} msg={{ w.msg }} file={{ w.results_file is defined }}"
    - async_status: jid=j1.nope
      register: nj
      ignore_errors: true
    - debug:
        msg: "{{ nj.msg }} finished={{ nj.finished }} failed={{ nj.failed }}"
"#;
    let got = same_messages(play);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0], r#""msg": "started=True finished=False changed=True file=True""#);
    assert_eq!(
        got[1],
        r#""msg": "rc=0 out=['done'] err=a \"quoted\" line changed=True cmd=sleep 1; echo done; echo \"a \\\"quoted\\\" line\" >&2 started=True delta=True""#
    );
    assert_eq!(got[2], r#""msg": "erased=True changed=False exists=False""#);
    assert_eq!(got[4], r#""msg": "could not find job finished=True failed=True""#);
}

#[test]
fn a_job_past_its_limit_is_killed_and_poll_0_does_not_wait() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 30
      async: 2
      poll: 1
      register: to
      ignore_errors: true
    - debug: msg="{{ to.msg }} failed={{ to.failed }} finished={{ to.finished }} changed={{ to.changed }}"
    - shell: sleep 2; touch "$JOBDIR/late"
      environment:
        JOBDIR: "{{ playbook_dir }}"
      async: 1
      poll: 0
      register: bg
    - async_status: jid={{ bg.ansible_job_id }}
      register: st
      until: st.finished
      retries: 10
      delay: 1
    - debug: msg="{{ st.msg }} {{ st.failed | default(false) }}"
"#;
    let p = scratch(&[("inv.ini", LOCAL), ("p.yml", play)]);
    let started = Instant::now();
    let run = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "p.yml"]).run();
    assert!(started.elapsed() < Duration::from_secs(20), "the jobs were not stopped at their limit");
    let got = messages(&run.stdout);
    assert_eq!(got[0], r#""msg": "Timeout exceeded failed=True finished=True changed=False""#, "{}", run.stdout);
    assert!(run.stdout.contains("ASYNC POLL on local: jid="), "{}", run.stdout);
    assert!(run.stdout.contains("ASYNC FAILED on local: jid="), "{}", run.stdout);
    // The second job outlived its 1 s limit: async_status fails with the job's result.
    assert_eq!(run.out.status.code(), Some(2), "{}", run.stdout);
    assert!(run.stdout.contains("Timeout exceeded"), "{}", run.stdout);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!p.path().join("late").exists(), "the killed job went on");
}

#[test]
fn the_timeout_keyword_stops_the_action_and_fails_the_task() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - command: sleep 20
      timeout: 1
      register: t
      ignore_errors: true
    - debug: msg="{{ t.msg }} period={{ t.timedout.period }} changed={{ t.changed }} failed={{ t.failed }}"
    - name: a command leaving a process in the background returns
      shell: sleep 10 &
      timeout: 5
    - block:
        - command: echo fast
          register: fast
      timeout: 10
    - debug: msg="{{ fast.stdout }}"
"#;
    let started = Instant::now();
    let got = same_messages(play);
    assert_eq!(
        got,
        [
            r#""msg": "Task failed: Timed out after 1 second(s). period=1 changed=False failed=True""#,
            r#""msg": "fast""#
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn module_defaults_fill_in_arguments_from_the_play_blocks_and_task() {
    let play = r#"
- hosts: all
  gather_facts: false
  module_defaults:
    debug: {msg: play default}
  tasks:
    - debug:
    - debug:
      module_defaults:
        ansible.builtin.debug: {msg: "task {{ 'default' }}"}
    - block:
        - debug:
        - debug: msg=explicit
        - command: pwd
          register: here
        - debug: msg="{{ here.stdout }}"
      module_defaults:
        - ansible.builtin.debug: {msg: block default}
        - command: {chdir: /usr}
          shell: {chdir: /}
"#;
    let got = same_messages(play);
    assert_eq!(
        got,
        [
            r#""msg": "play default""#,
            r#""msg": "task default""#,
            r#""msg": "block default""#,
            r#""msg": "explicit""#,
            r#""msg": "/usr""#,
        ]
    );
}

#[test]
fn gather_facts_runs_as_a_task() {
    let play = r#"
- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="{{ ansible_distribution is defined }}"
    - gather_facts:
        gather_subset: distribution
    - debug: msg="{{ ansible_distribution is defined }} {{ ansible_facts.distribution == ansible_distribution }}"
"#;
    assert_eq!(same_messages(play), [r#""msg": false"#, r#""msg": "True True""#]);
}
