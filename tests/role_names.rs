//! Role names with `/` (`etcd/config`) are found where plain names are: `roles/` beside the
//! playbook, `roles_path`, beside the role that depends on them; from `roles:`, `import_role`,
//! `include_role` and meta dependencies. Compared with ansible-playbook when it is installed.

use crate::support::compare::check;
use crate::support::run::{scratch, Run};

const ARGS: [&str; 5] = ["-i", "localhost,", "-c", "local", "pb.yml"];

const PROJECT: &[(&str, &str)] = &[
    (
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  roles:\n    - etcd/config\n    - role: kubernetes/preinstall\n      \
         x: 1\n  tasks:\n    - import_role: name=etcd/common\n    - include_role:\n        name: kubernetes/preinstall\n      \
         vars: {x: 2}\n    - import_role: name=selfimp\n",
    ),
    ("roles/etcd/config/meta/main.yml", "dependencies:\n  - role: etcd/common\n"),
    ("roles/etcd/config/tasks/main.yml", "- debug: msg=\"config {{ role_name }}\"\n"),
    ("roles/etcd/common/tasks/main.yml", "- debug: msg=\"common {{ role_name }}\"\n"),
    ("extra/kubernetes/preinstall/tasks/main.yml", "- debug: msg=\"k8s {{ role_name }} {{ x }}\"\n"),
    (
        "roles/selfimp/tasks/main.yml",
        "- debug: msg=\"self main\"\n- import_role:\n    name: selfimp\n    tasks_from: other\n",
    ),
    ("roles/selfimp/tasks/other.yml", "- debug: msg=\"self other {{ role_name }}\"\n"),
];

#[test]
fn role_names_with_a_slash_load_from_every_place() {
    check(
        PROJECT,
        &ARGS,
        &[("ANSIBLE_ROLES_PATH", "$DIR/extra")],
        &[
            r#""msg": "common etcd/common""#,
            r#""msg": "config etcd/config""#,
            r#""msg": "k8s kubernetes/preinstall 1""#,
            r#""msg": "common etcd/common""#,
            r#""msg": "k8s kubernetes/preinstall 2""#,
            r#""msg": "self main""#,
            r#""msg": "self other selfimp""#,
        ],
    );
}

#[test]
fn a_dependency_with_a_slash_is_found_beside_its_role() {
    // roles_path holds `app/web`, which depends on `app/db`, a sibling in the same tree.
    check(
        &[
            ("pb.yml", "- hosts: all\n  gather_facts: false\n  roles: [app/web]\n"),
            ("lib/app/web/meta/main.yml", "dependencies: [app/db]\n"),
            ("lib/app/web/tasks/main.yml", "- debug: msg=\"web {{ role_name }}\"\n"),
            ("lib/app/db/tasks/main.yml", "- debug: msg=\"db {{ role_name }}\"\n"),
        ],
        &ARGS,
        &[("ANSIBLE_ROLES_PATH", "$DIR/lib")],
        &[r#""msg": "db app/db""#, r#""msg": "web app/web""#],
    );
}

#[test]
fn a_role_importing_itself_without_tasks_from_is_still_a_cycle() {
    let dir = scratch(&[
        ("pb.yml", "- hosts: all\n  gather_facts: false\n  roles: [loop/me]\n"),
        ("roles/loop/me/tasks/main.yml", "- import_role: name=loop/me\n"),
    ]);
    Run::new().in_dir(dir.path()).args(ARGS).code(4).stderr_has("depends on itself");
}

#[test]
fn include_role_and_import_role_take_the_name_as_role_too() {
    let pb = "- hosts: all\n  gather_facts: false\n  tasks:\n    - import_role:\n        role: r\n    \
              - include_role:\n        role: r\n        tasks_from: other\n    - include_role:\n        name: r\n        \
              role: ignored\n";
    check(
        &[
            ("pb.yml", pb),
            ("roles/r/tasks/main.yml", "- debug: msg=\"main {{ role_name }}\"\n"),
            ("roles/r/tasks/other.yml", "- debug: msg=\"other {{ role_name }}\"\n"),
        ],
        &ARGS,
        &[],
        &[r#""msg": "main r""#, r#""msg": "other r""#, r#""msg": "main r""#],
    );
}
