//! `add_host` and `group_by` change the run's inventory: later tasks see the new groups and
//! host variables, later plays run on the new hosts. Compared with ansible-playbook when
//! ansible-core is installed.

use crate::support::compare::check;
use crate::support::run::{scratch, Run};

const INVENTORY: &str = "[web]\nw1 ansible_connection=local\nw2 ansible_connection=local os=debian\n\
[db]\nd1 ansible_connection=local os=rhel\n[linux]\n[linux:vars]\nlv=from-linux\n";

const PLAYBOOK: &str = r#"
- hosts: all
  gather_facts: false
  tasks:
    - group_by: {key: "os_{{ os | default('none') }}", parents: [linux]}
      register: gb
    - debug: {msg: "gb {{ gb.changed }} {{ groups['os_none'] | join(',') }} {{ group_names | join(',') }} {{ lv | default('-') }}"}
      when: inventory_hostname == 'w1'
    - group_by: {key: "os_{{ os | default('none') }}", parents: [linux]}
      register: gb2
    - debug: {msg: "gb2 {{ gb2.changed }} {{ gb2.add_group }} {{ gb2.parent_groups | join(',') }}"}
      when: inventory_hostname == 'd1'
    - add_host:
        name: "new{{ item }}:2200"
        groups: [added, "extra{{ item }}"]
        color: blue
      loop: [1, 2]
      register: ah
    - debug:
        msg: "ah {{ ah.results | map(attribute='changed') | join(',') }} {{ ah.results[0].add_host.host_vars.ansible_ssh_port }} {{ groups['added'] | join(',') }} {{ hostvars['new1']['color'] }}"
      run_once: true
    - add_host: {name: w1, groups: added}
      register: again
    - add_host: {name: new1, groups: added}
      register: same
    - debug: {msg: "again {{ again.changed }} {{ same.changed }} {{ groups['added'] | join(',') }}"}
      run_once: true
- hosts: added:&extra2
  gather_facts: false
  tasks:
    - debug: {msg: "play2 {{ ansible_play_hosts | join(',') }} {{ ansible_ssh_port }} {{ group_names | join(',') }} {{ color }}"}
"#;

#[test]
fn add_host_and_group_by_reshape_the_inventory_like_ansible() {
    check(
        &[("inv", INVENTORY), ("pb.yml", PLAYBOOK)],
        &["-i", "inv", "pb.yml"],
        &[],
        &[
            "\"msg\": \"gb True w1 linux,os_none,web from-linux\"",
            "\"msg\": \"gb2 False os_rhel linux\"",
            "\"msg\": \"ah True,True 2200 new1,new2 blue\"",
            "\"msg\": \"again True False new1,new2,w1\"",
            "\"msg\": \"play2 new2 2200 added,extra2 blue\"",
        ],
    );
}

/// The new host is reached through its `ansible_host`/`ansible_connection` variables.
#[test]
fn add_host_variables_choose_the_connection() {
    let dir = scratch(&[(
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - add_host: {name: ghost, ansible_connection: local, groups: g}\n\
         - hosts: g\n  gather_facts: false\n  tasks:\n    - command: echo reached {{ inventory_hostname }}\n      register: r\n    - debug: var=r.stdout\n",
    )]);
    Run::new()
        .in_dir(dir.path())
        .args(["-i", "localhost,", "-c", "local", "pb.yml"])
        .succeeds()
        .stdout_has("\"r.stdout\": \"reached ghost\"");
}
