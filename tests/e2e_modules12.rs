//! pip, git, iptables, synchronize and reboot (issue 12, branch mods12a) on testbed hosts,
//! each through `support::module_e2e` (check mode proven harmless, twice for idempotence,
//! compared with ansible-playbook when it is installed). Hosts have no internet: pip installs
//! from a wheel made on the host, git clones a bare repository made on the host.

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// A wheel of `troupe-demo` VERSION in /srv/troupe-wheels (a zip with a module and its dist-info).
fn wheel(version: &str) -> String {
    let d = format!("troupe_demo-{version}.dist-info");
    format!(
        "mkdir -p /srv/troupe-wheels && cd /srv/troupe-wheels && python3 -c \"import zipfile; \
         z = zipfile.ZipFile('troupe_demo-{version}-py3-none-any.whl', 'w'); \
         z.writestr('troupe_demo.py', 'VERSION = 1\\n'); \
         z.writestr('{d}/METADATA', 'Metadata-Version: 2.1\\nName: troupe-demo\\nVersion: {version}\\n'); \
         z.writestr('{d}/WHEEL', 'Wheel-Version: 1.0\\nGenerator: troupe\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'); \
         z.writestr('{d}/RECORD', ''); z.close()\""
    )
}

#[test]
fn pip_installs_into_a_new_virtualenv_from_local_wheels() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[1];
    let reset = format!("{} && rm -rf /opt/troupe-venv", wheel("1.0"));
    let args =
        "{name: troupe-demo, version: '1.0', virtualenv: /opt/troupe-venv, virtualenv_command: python3 -m venv, \
                extra_args: --no-index --find-links /srv/troupe-wheels}";
    let seen = ModuleE2e::new("pip", args)
        .reset(&reset)
        .probe("/opt/troupe-venv/bin/pip list --format=freeze 2>/dev/null | grep -i troupe || echo none")
        .compare(&["changed", "name", "version", "state", "virtualenv", "requirements"])
        .run(tb, host);
    assert_eq!(seen.first["name"], serde_json::json!(["troupe-demo"]));
    assert!(seen.first["stdout"].as_str().is_some_and(|s| s.contains("Successfully installed troupe-demo-1.0")));

    // latest: a newer wheel appears; absent: it goes.
    let reset = format!(
        "{} && {}",
        wheel("1.1"),
        "/opt/troupe-venv/bin/pip install -q --no-index --find-links /srv/troupe-wheels troupe-demo==1.0"
    );
    ModuleE2e::new("pip", "{name: troupe-demo, state: latest, virtualenv: /opt/troupe-venv, extra_args: --no-index --find-links /srv/troupe-wheels}")
        .reset(&reset)
        .probe("/opt/troupe-venv/bin/pip list --format=freeze | grep -i troupe || echo none")
        .compare(&["changed", "name", "state"])
        .run(tb, host);
    ModuleE2e::new("pip", "{name: troupe_demo, state: absent, virtualenv: /opt/troupe-venv}")
        .probe("/opt/troupe-venv/bin/pip list --format=freeze | grep -i troupe || echo none")
        .reset("/opt/troupe-venv/bin/pip install -q --no-index --find-links /srv/troupe-wheels troupe-demo")
        .compare(&["changed", "name", "state"])
        .run(tb, host);
}
