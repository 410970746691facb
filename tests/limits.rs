//! Values at the edge of what fits: each is a clear error or works, never a panic, a stack
//! overflow or an allocation abort (issue 14, points 5-9).

use crate::support::run::{scratch, Done, Run, LOCAL_INV};

/// Run `tasks` (YAML lines under `tasks:`) on the local host, requiring exit `code`.
pub fn play(tasks: &str, extra: &[&str], code: i32) -> Done {
    let pb = format!("- hosts: local\n  gather_facts: false\n  tasks:\n{tasks}");
    let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", &pb)]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).args(extra).code(code);
    no_panic(&d);
    d
}

pub fn no_panic(d: &Done) {
    assert!(!d.stderr.contains("panicked") && !d.stderr.contains("RUST_BACKTRACE"), "panic: {}", d.stderr);
}

#[test]
fn waits_too_long_or_negative_are_errors() {
    let until = "    - command: \"false\"\n      register: r\n      until: r.rc == 0\n      retries: 1\n";
    play(&format!("{until}      delay: 1e20\n"), &[], 2).stdout_has("`delay` is too large");
    play("    - pause: seconds=1e20\n", &[], 2).stdout_has("pause is too large");
    let loop_pause = "    - debug: msg={{ item }}\n      loop: [1]\n      loop_control:\n        pause: -1\n";
    play(loop_pause, &[], 4).stderr_has("`loop_control.pause` must not be negative").stderr_has("pb.yml:7:16");
}

#[test]
fn negative_delay_waits_one_second_as_ansible() {
    let t = std::time::Instant::now();
    let until =
        "    - command: \"false\"\n      register: r\n      until: r.rc == 0\n      retries: 1\n      delay: -1\n";
    play(until, &[], 2).stdout_has("\"attempts\"");
    assert!(t.elapsed() >= std::time::Duration::from_secs(1));
}

#[test]
fn huge_throttle_and_forks_run_as_in_ansible() {
    play("    - debug: msg=hi\n      throttle: 0x7fffffffffffffff\n", &[], 0);
    play("    - debug: msg=hi\n", &["-f", "2305843009213693952"], 0);
}

#[test]
fn huge_inventory_range_is_an_error() {
    let p = scratch(&[
        ("inv.ini", "[local]\nh[0:18446744073709551615] ansible_connection=local\n"),
        ("pb.yml", "- hosts: all\n  gather_facts: false\n  tasks: []\n"),
    ]);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(4);
    no_panic(&d);
    d.stderr_has("more than 1000000 hosts").stderr_has("inv.ini:2");
}

#[test]
fn division_by_zero_fails_as_in_ansible() {
    let tasks = "    - debug: msg=ran\n      when: (used/total) > 0.5\n      vars: {used: 5, total: 0}\n";
    play(tasks, &[], 2).stdout_has("division by zero").stdout_lacks("\"msg\": \"ran\"");
    play("    - debug: msg=\"{{ 5 // 0 }}\"\n", &[], 2).stdout_has("integer division or modulo by zero");
    // Ansible: "Error rendering expression: name 'inf' is not defined".
    play("    - debug: msg=ran\n      when: '1e400'\n", &[], 2).stdout_has("too large for a float");
    play("    - debug: msg=ran\n      when: 1e400\n", &[], 2).stdout_has("'inf' is undefined");
    play("    - debug: msg=\"{{ 6 / 4 }} {{ 2 ** 3 / 2 }}\"\n", &[], 0).stdout_has("1.5 4.0");
}

/// Run `pb.yml` among `files` on the local host, requiring exit `code`.
fn project(files: Vec<(String, String)>, code: i32) -> Done {
    let mut all = vec![("inv.ini".to_string(), LOCAL_INV.to_string())];
    all.extend(files);
    let refs: Vec<(&str, &str)> = all.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let p = scratch(&refs);
    let d = Run::new().in_dir(p.path()).args(["-i", "inv.ini", "pb.yml"]).code(code);
    no_panic(&d);
    d
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_string(), text.to_string())
}

const HEAD: &str = "- hosts: local\n  gather_facts: false\n";

#[test]
fn includes_that_include_themselves_stop_with_a_recursion_error() {
    let tasks = project(
        vec![
            file("pb.yml", &format!("{HEAD}  tasks:\n    - include_tasks: self.yml\n")),
            file("self.yml", "- debug: msg=again\n- include_tasks: self.yml\n"),
        ],
        2,
    );
    tasks.stdout_has("include_tasks: maximum recursion depth exceeded").stdout_has("self.yml:2:3");
    let role = project(
        vec![
            file("pb.yml", &format!("{HEAD}  roles: [r]\n")),
            file("roles/r/tasks/main.yml", "- debug: msg=r\n- include_role: name=r\n"),
        ],
        2,
    );
    role.stdout_has("include_role: maximum recursion depth exceeded");
}

#[test]
fn deep_imports_roles_and_blocks_are_load_errors() {
    let mut imports = vec![file("pb.yml", &format!("{HEAD}  tasks:\n    - import_tasks: t0.yml\n"))];
    imports.extend((0..700).map(|i| file(&format!("t{i}.yml"), &format!("- import_tasks: t{}.yml\n", i + 1))));
    imports.push(file("t700.yml", "- debug: msg=end\n"));
    project(imports, 4).stderr_has("nest deeper than 256 levels").stderr_has("caused by: …");

    let mut roles = vec![file("pb.yml", &format!("{HEAD}  roles: [d0]\n"))];
    for i in 0..1_100 {
        let deps = if i < 1_099 { format!("dependencies: [d{}]\n", i + 1) } else { "dependencies: []\n".into() };
        roles.push(file(&format!("roles/d{i}/meta/main.yml"), &deps));
    }
    project(roles, 4).stderr_has("nest deeper than 256 levels");

    let blocks = |n: usize| {
        let mut pb = format!("{HEAD}  tasks:\n");
        for i in 0..n {
            pb.push_str(&format!("{}- block:\n", "  ".repeat(2 + 2 * i)));
        }
        pb.push_str(&format!("{}- debug: msg=deep\n", "  ".repeat(2 + 2 * n)));
        pb
    };
    project(vec![file("pb.yml", &blocks(3_000))], 4).stderr_has("YAML nesting is deeper than 512 levels");
    // What Ansible still runs (it fails near 300) runs here too, quickly.
    let t = std::time::Instant::now();
    project(vec![file("pb.yml", &blocks(250))], 0).stdout_has("\"msg\": \"deep\"");
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn from_yaml_of_deep_data_is_a_task_error() {
    // Read from a host, as in the issue: the data is not known at load time.
    let deep: String = (0..3_000).map(|i| format!("{}a:\n", "  ".repeat(i))).collect();
    let pb = format!("{HEAD}  tasks:\n    - slurp: src=deep.yml\n      register: s\n    - debug: msg=\"{{{{ s.content | b64decode | from_yaml }}}}\"\n");
    project(vec![file("pb.yml", &pb), file("deep.yml", &deep)], 2).stdout_has("deeper than 512 levels");
}

#[test]
fn huge_expressions_fail_the_task_not_the_run() {
    for (expr, needle) in [
        ("[1] | to_json(indent=10**12)", "too large"),
        ("'a\\nb' | indent(10**10)", "too large"),
        ("'{:>10000000000}'.format(1)", "field width"),
        ("[1] * 10**9", "more than 2000000 items"),
        ("lookup('password', '/dev/null length=100000000000')", "too large"),
    ] {
        let tasks = format!(
            "    - debug:\n        msg: \"{{{{ {expr} }}}}\"\n      ignore_errors: true\n    - debug: msg=after\n"
        );
        // The old code aborted (or grew past this limit) on each of these.
        let p = scratch(&[("inv.ini", LOCAL_INV), ("pb.yml", &format!("{HEAD}  tasks:\n{tasks}"))]);
        let d = Run::new().in_dir(p.path()).max_memory(3 << 30).args(["-i", "inv.ini", "pb.yml"]).code(0);
        no_panic(&d);
        d.stdout_has(needle).stdout_has("\"msg\": \"after\"");
    }
}
