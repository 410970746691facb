//! Reading file facts ahead (`modules::prefetch`) through the real binary: a no-op run of file
//! tasks starts one `stat` for all of them, and a write on any host makes what was read stale.

use std::path::Path;

use crate::support::run::{scratch, Run};

/// `stat`, `sha1sum` and `cat` that log each start, then run the real tool.
fn counting_tools(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["stat", "sha1sum", "cat"] {
        let path = bin.join(tool);
        std::fs::write(&path, format!("#!/bin/sh\necho {tool} >> \"$TOOL_LOG\"\nexec /usr/bin/{tool} \"$@\"\n"))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

const MANY_FILES: &str = r#"
- hosts: local
  gather_facts: false
  tasks:
    - file: path={{ out }} state=directory
    - copy: content="1" dest={{ out }}/f1
    - copy: content="2" dest={{ out }}/f2
    - debug: msg="controller-only tasks are passed over"
    - copy: content="3" dest={{ out }}/f3
    - copy: content="4" dest={{ out }}/f4
    - template: src=t.j2 dest={{ out }}/t
    - file: path={{ out }}/f4 mode=0640
    - lineinfile: path={{ out }}/conf line="a=1" create=true
    - lineinfile: path={{ out }}/conf line="b=2"
    - blockinfile: path={{ out }}/block block="x" create=true
    - stat: path={{ out }}/f1
      register: s
    - assert:
        that: s.stat.checksum == '356a192b7913b04c54574d18c28d46e6395428ab'
"#;

#[test]
fn a_noop_run_of_file_tasks_starts_one_stat_for_all() {
    let p = scratch(&[
        ("inv.ini", "[local]\nlocalhost ansible_connection=local\n"),
        ("site.yml", MANY_FILES),
        ("templates/t.j2", "{{ inventory_hostname }}\n"),
    ]);
    let path = counting_tools(p.path());
    let log = p.path().join("tools.log");
    let out = format!("out={}", p.path().join("out").display());
    let run = |read_ahead: bool| {
        let _ = std::fs::remove_file(&log);
        let d = Run::new()
            .in_dir(p.path())
            .env("TROUPE_READ_AHEAD", if read_ahead { "on" } else { "off" })
            .env("PATH", &path)
            .env("TOOL_LOG", &log.to_string_lossy())
            .args(["-i", "inv.ini", "site.yml", "-e", &out])
            .succeeds();
        let starts = std::fs::read_to_string(&log).unwrap_or_default();
        let count = |tool: &str| starts.lines().filter(|l| *l == tool).count();
        (d, count("stat"), count("sha1sum"), count("cat"))
    };
    let (first, ..) = run(true);
    assert_eq!(first.changed("localhost"), 10, "{}", first.stdout);
    assert_eq!(std::fs::read_to_string(p.path().join("out/conf")).unwrap(), "a=1\nb=2\n");
    let (second, stats, sums, cats) = run(true);
    assert_eq!(second.changed("localhost"), 0, "{}", second.stdout);
    // 11 tasks read facts. One command reads them all: one `stat -L` for the file tasks and one
    // `stat` for the stat task (it does not follow links), one `sha1sum` for every checksum,
    // one `cat` for the three files the line and block edits read.
    assert_eq!((stats, sums, cats), (2, 1, 1), "process starts in a no-op run\n{}", second.stdout);
    // With reading ahead off, each task reads its own path: the same answers, 11 `stat`s.
    let (third, stats, _, cats) = run(false);
    assert_eq!(third.changed("localhost"), 0, "{}", third.stdout);
    assert_eq!((stats, cats), (11, 3), "TROUPE_READ_AHEAD=off\n{}", third.stdout);
}

const CROSS_HOST: &str = r#"
- hosts: local
  gather_facts: false
  tasks:
    - stat: path={{ out }}/shared
      register: before
    - copy: content="new content\n" dest={{ out }}/shared
      when: inventory_hostname == 'h1'
    - stat: path={{ out }}/shared follow=true
      register: after
    - assert:
        that:
          - before.stat.size == 4
          - after.stat.size == 12
"#;

#[test]
fn a_write_on_one_host_makes_every_hosts_read_ahead_stale() {
    // h1 and h2 are the same machine: h1's copy changes the file h2 read ahead in task 1.
    let p = scratch(&[
        ("inv.ini", "[local]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"),
        ("site.yml", CROSS_HOST),
        ("out/shared", "old\n"),
    ]);
    let out = format!("out={}", p.path().join("out").display());
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out, "-f", "1"]).succeeds();
    assert_eq!(d.recap("h2")[..2], [3, 0], "{}", d.stdout);
    assert_eq!(d.recap("h1")[..2], [4, 1], "{}", d.stdout);
}

const LOOKUP_LATER: &str = r#"
- hosts: local
  gather_facts: false
  tasks:
    - file: path={{ out }} state=directory
    - copy:
        content: "{{ lookup('pipe', 'echo ran >> ' ~ log ~ '; echo x') }}"
        dest: "{{ out }}/from-lookup"
"#;

#[test]
fn a_later_tasks_lookup_runs_once_when_that_task_runs() {
    let p = scratch(&[("inv.ini", "[local]\nlocalhost ansible_connection=local\n"), ("site.yml", LOOKUP_LATER)]);
    let out = format!("out={}", p.path().join("out").display());
    let log = format!("log={}", p.path().join("lookups.log").display());
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "site.yml", "-e", &out, "-e", &log]).succeeds();
    assert_eq!(d.changed("localhost"), 2, "{}", d.stdout);
    let log = std::fs::read_to_string(p.path().join("lookups.log")).unwrap_or_default();
    assert_eq!(log, "ran\n", "the pipe lookup ran while task 1 read ahead");
    assert_eq!(std::fs::read_to_string(p.path().join("out/from-lookup")).unwrap(), "x");
}
