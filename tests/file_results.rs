//! `file` and `slurp` results and messages as ansible-core 2.19 gives them (issue 11's ansint
//! targets file and slurp), compared with ansible-playbook on the same playbook when
//! ansible-core is installed.

use crate::support::compare::check;

const LOCAL: &str =
    "[g]\nh1 ansible_connection=local\n[all:vars]\nansible_python_interpreter={{ ansible_playbook_python }}\n";

#[test]
fn file_modes_with_special_bits_hard_link_errors_and_check_mode_owners() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - file: {path: "{{ playbook_dir }}/f", state: touch, mode: "0444"}
    - file: {path: "{{ playbook_dir }}/f", state: touch, mode: o+t}
      register: sticky
    - stat: {path: "{{ playbook_dir }}/f"}
      register: st
    - debug: msg="file {{ sticky.mode }} stat {{ st.stat.mode }}"
    - file: {path: "{{ playbook_dir }}/hard", state: hard}
      register: no_src
      ignore_errors: true
    - file: {path: "{{ playbook_dir }}/hard", src: "{{ playbook_dir }}/nope", state: hard}
      register: bad_src
      ignore_errors: true
    - debug: msg="{{ no_src.msg }} / {{ bad_src.msg }} / {{ bad_src.src | basename }}"
    - file: {path: "{{ playbook_dir }}/absent", owner: no_such_user_here, group: no_such_group_here}
      check_mode: true
      register: owners
      ignore_errors: true
    - debug: msg="{{ owners.warnings | join(' | ') }}"
"#;
    check(
        &[("inv", LOCAL), ("p.yml", play)],
        &["-i", "inv", "p.yml"],
        &[],
        &[
            r#""msg": "file 01444 stat 1444""#,
            r#""msg": "src is required for creating new hardlinks / src does not exist / nope""#,
            r#""msg": "failed to look up user no_such_user_here. Create user up to this point in real play | failed to look up group no_such_group_here. Create group up to this point in real play""#,
        ],
    );
}

#[test]
fn access_and_modification_times_now_and_recurse_following_links() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - file: {path: "{{ playbook_dir }}/t", state: touch, modification_time: "202001011200.00", access_time: "202001011200.00"}
    - file: {path: "{{ playbook_dir }}/t", access_time: now}
      register: now
    - stat: {path: "{{ playbook_dir }}/t"}
      register: st
    - debug: msg="changed {{ now.changed }} atime moved {{ st.stat.atime > 1600000000 }} mtime kept {{ st.stat.mtime == 1577880000 or st.stat.mtime < 1600000000 }}"
    - file: {path: "{{ playbook_dir }}/target", state: directory, mode: "0700"}
    - file: {path: "{{ playbook_dir }}/tree", state: directory}
    - file: {path: "{{ playbook_dir }}/tree/link", src: ../target, state: link}
    - file: {path: "{{ playbook_dir }}/tree", recurse: true, follow: false, mode: a-x}
    - stat: {path: "{{ playbook_dir }}/target"}
      register: kept
    - file: {path: "{{ playbook_dir }}/tree", recurse: true, follow: true, mode: a-x}
    - stat: {path: "{{ playbook_dir }}/target"}
      register: moved
    - debug: msg="{{ kept.stat.mode }} then {{ moved.stat.mode }}"
"#;
    check(
        &[("inv", LOCAL), ("p.yml", play)],
        &["-i", "inv", "p.yml"],
        &[],
        &[r#""msg": "changed True atime moved True mtime kept True""#, r#""msg": "0700 then 0600""#],
    );
}

#[test]
fn slurp_through_a_file_says_unable_to_slurp() {
    let play = r#"
- hosts: g
  gather_facts: false
  tasks:
    - copy: {dest: "{{ playbook_dir }}/plain", content: x}
    - slurp: {src: "{{ playbook_dir }}/plain/below"}
      register: through
      ignore_errors: true
    - slurp: {src: "{{ playbook_dir }}/missing"}
      register: missing
      ignore_errors: true
    - debug: msg="{{ through.msg }} / {{ missing.msg | regex_replace('/.*/', '') }}"
"#;
    check(
        &[("inv", LOCAL), ("p.yml", play)],
        &["-i", "inv", "p.yml"],
        &[],
        &[r#""msg": "Unable to slurp file: {source} / File not found: missing""#],
    );
}
