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
