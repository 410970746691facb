//! The ansible.builtin modules of issue 12 on testbed hosts, each through
//! `support::module_e2e` (check mode proven harmless, twice for idempotence, compared with
//! ansible-playbook when it is installed).

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// The helper itself, on a module troupe has had for long (`copy`).
#[test]
fn module_e2e_drives_copy() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let seen = ModuleE2e::new("copy", "{dest: /tmp/troupe-me2e-copy, content: \"hi\\n\", mode: \"0640\"}")
        .reset("rm -f /tmp/troupe-me2e-copy")
        .probe("stat -c '%a %s' /tmp/troupe-me2e-copy 2>&1 || true")
        .compare(&["changed", "dest", "mode", "size", "checksum"])
        .run(tb, host);
    assert_eq!(seen.first["changed"], true);
    assert_eq!(seen.second["changed"], false);
    assert!(seen.ansible.is_none() || seen.ansible.as_ref().is_some_and(|a| a["dest"] == "/tmp/troupe-me2e-copy"));
}
