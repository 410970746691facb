//! Gathered facts on a testbed host, compared with ansible-core's `setup` on the same host:
//! the `ansible_facts` dictionary, the `ansible_*` names, `gather_subset`.

use crate::support::compare::both;
use crate::support::testbed::testbed;

/// Facts that do not change between two gatherings a few seconds apart.
const STABLE: &str = r#"- hosts: "{{ target }}"
  gather_subset: ['!all']
  tasks:
    - debug:
        msg: "{{ ansible_facts.distribution is defined }} {{ ansible_facts.mounts is defined }} {{ ansible_facts.interfaces is defined }} {{ ansible_facts.gather_subset }}"
    - setup:
        gather_subset: [network]
        filter: ['ansible_interfaces', 'ansible_all_ipv4*']
    - debug:
        msg: "{{ ansible_facts.interfaces is defined }} {{ ansible_all_ipv4_addresses | length > 0 }}"
- hosts: "{{ target }}"
  vars:
    keys: [distribution, distribution_version, distribution_major_version, distribution_release,
      os_family, pkg_mgr, service_mgr, system, kernel, kernel_version, architecture, machine,
      hostname, nodename, fqdn, domain, memtotal_mb, swaptotal_mb, processor, processor_vcpus,
      processor_count, processor_cores, processor_threads_per_core, processor_nproc,
      all_ipv4_addresses, all_ipv6_addresses, default_ipv4, default_ipv6, python, python_version,
      user_id, user_dir, user_shell, user_uid, user_gid, user_gecos, effective_user_id,
      real_group_id, lsb, dns, virtualization_role, virtualization_type, selinux, apparmor, fips,
      userspace_bits, userspace_architecture, distribution_file_variety, systemd,
      bios_vendor, product_name, system_vendor]
  tasks:
    - debug:
        msg: "{% for k in keys %}{{ k }}={{ ansible_facts[k] | to_json(sort_keys=true) }} {% endfor %}"
    - debug:
        msg: "{% for k in keys %}{{ (lookup('vars', 'ansible_' ~ k) == ansible_facts[k]) | ternary('', k) }}{% endfor %}."
    - debug:
        msg: "{{ ansible_facts.interfaces | sort }} {{ ansible_facts[ansible_facts.interfaces | sort | first] | dict2items | rejectattr('key', 'eq', 'speed') | items2dict | to_json(sort_keys=true) }}"
    - debug:
        msg: "{{ ansible_facts.mounts | map(attribute='mount') | sort }} {{ ansible_facts.mounts | map(attribute='size_total') | sort }} {{ ansible_facts.mounts[0].keys() | sort }}"
    - debug:
        msg: "{{ ansible_env.HOME }} {{ ansible_date_time.keys() | sort }} {{ ansible_date_time.iso8601 is match('\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$') }} {{ ansible_uptime_seconds > 0 }} {{ ansible_facts.gather_subset }} {{ ansible_facts.module_setup }}"

"#;

#[test]
fn facts_match_ansible_setup_on_a_host() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let inv = tb.inventory.display().to_string();
    let target = format!("target={}", host.name);
    // The host's own Python, found as Ansible discovers it (the comparison's default is the
    // controller venv's interpreter, for local runs).
    let python = "ansible_python_interpreter=auto_silent";
    let (ours, theirs) = both(&[("facts.yml", STABLE)], &["-i", &inv, "facts.yml", "-e", &target, "-e", python], &[]);
    assert_eq!(ours.len(), 7, "{ours:#?}");
    assert_eq!(ours[0], r#""msg": "True False False ['!all']""#);
    assert_eq!(ours[1], r#""msg": "True True""#);
    assert!(ours[2].contains("distribution=\\\"Debian\\\""), "{}", ours[2]);
    assert!(ours[2].contains("\\\"executable\\\": \\\"/usr/bin/python3"), "{}", ours[2]);
    assert_eq!(ours[3], r#""msg": ".""#, "every ansible_facts entry has its ansible_ name");
    if let Some(theirs) = theirs {
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "debug #{i} differs from ansible-playbook");
        }
        assert_eq!(ours.len(), theirs.len());
    }
}
