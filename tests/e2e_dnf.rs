//! `dnf` (and `package` with `use: dnf`) over real SSH on tb4–tb6, against real dnf 4 on the
//! Debian hosts: a tiny noarch rpm built here with rpmbuild, in a repository made with
//! createrepo_c and copied to each host. A second repository that cannot be read stays
//! configured, so only `disablerepo: "*"` plus `enablerepo` lets dnf install anything.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::e2e_modules::{absent, check, converge, mine, nonce, Cleanup};
use crate::support::run::scratch;
use crate::support::testbed::{skip, testbed, TbHost, Testbed};

const PKG: &str = "troupe-e2e-hello";
const FILE: &str = "/usr/share/troupe-e2e-rpm/hello.txt";

const SPEC: &str = "Name: troupe-e2e-hello
Version: 1.0
Release: 1
Summary: troupe e2e test package
License: MIT
BuildArch: noarch

%description
troupe e2e test package

%install
mkdir -p %{buildroot}/usr/share/troupe-e2e-rpm
echo hello > %{buildroot}/usr/share/troupe-e2e-rpm/hello.txt

%files
%dir /usr/share/troupe-e2e-rpm
/usr/share/troupe-e2e-rpm/hello.txt
";

const PRESENT_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - dnf: {name: troupe-e2e-hello, state: present, disablerepo: "*", enablerepo: troupe-e2e}
      register: r
    - assert: {that: "r.results == ['Installed: troupe-e2e-hello-1.0-1.noarch']"}
      when: r is changed and not ansible_check_mode
    - dnf: {name: [troupe-e2e-hello], state: latest, disablerepo: ["*"], enablerepo: [troupe-e2e]}
"#;

const ABSENT_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - package: {name: troupe-e2e-hello, state: absent, use: dnf}
      register: r
    - assert: {that: "r.results == ['Removed: troupe-e2e-hello-1.0-1.noarch']"}
      when: r is changed and not ansible_check_mode
"#;

/// Builds the rpm and its repository in `dir/repo`, packed as `dir/repo.tar`; false when this
/// machine lacks rpmbuild, createrepo_c or tar.
fn local_rpm_repo(dir: &Path) -> bool {
    let top = dir.join("rpmbuild");
    let spec = dir.join("hello.spec");
    let repo = dir.join("repo");
    std::fs::write(&spec, SPEC).expect("write spec");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let built = Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .args(["--define", "_build_id_links none"])
        .arg(&spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(built, Ok(s) if s.success()) {
        return false;
    }
    let rpm = top.join("RPMS/noarch/troupe-e2e-hello-1.0-1.noarch.rpm");
    std::fs::copy(&rpm, repo.join("troupe-e2e-hello-1.0-1.noarch.rpm")).expect("copy the built rpm");
    let indexed = Command::new("createrepo_c").arg(&repo).stdout(Stdio::null()).status();
    let packed = Command::new("tar").arg("-C").arg(&repo).arg("-cf").arg(dir.join("repo.tar")).arg(".").status();
    matches!((indexed, packed), (Ok(i), Ok(p)) if i.success() && p.success())
}

/// Unpacks `tarball` into `dest` on `host`.
fn upload(tb: &Testbed, host: &TbHost, tarball: &Path, dest: &str) {
    let mut cmd = tb.ssh_command(host).expect("ssh command");
    let out = cmd
        .arg("--")
        .arg(format!("mkdir -p {dest} && tar -C {dest} -xf -"))
        .stdin(File::open(tarball).expect("open repo.tar"))
        .output()
        .expect("ssh runs");
    assert!(out.status.success(), "upload to {} failed: {}", host.name, String::from_utf8_lossy(&out.stderr));
}

/// `rpm -q` on the host: the installed NEVRA, or `None` when the package is not installed.
fn rpm_q(tb: &Testbed, host: &TbHost) -> Option<String> {
    let out = tb.on(host, &format!("rpm -q {PKG}"));
    out.success().then(|| out.stdout.trim().to_string())
}

#[test]
fn dnf_installs_and_removes_an_rpm_from_a_local_repository() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let dir = scratch(&[("present.yml", PRESENT_PLAY), ("absent.yml", ABSENT_PLAY)]);
    if !local_rpm_repo(dir.path()) {
        skip(
            "\n!!! skipped dnf e2e: needs rpmbuild (rpm) and createrepo_c (createrepo-c); \
             run tests/testbed/install-deps.sh !!!\n",
        );
        return;
    }
    let repo = format!("/var/tmp/troupe-e2e-rpmrepo-{}", nonce());
    let repo_files = "/etc/yum.repos.d/troupe-e2e.repo /etc/yum.repos.d/troupe-e2e-broken.repo";
    let _cleanup = Cleanup {
        tb,
        command: format!(
            "rpm -e {PKG} >/dev/null 2>&1; rm -rf {repo} {repo_files} /var/cache/dnf/troupe-e2e* /usr/share/troupe-e2e-rpm; \
             rmdir /etc/yum.repos.d 2>/dev/null; true"
        ),
    };
    for h in mine(tb) {
        tb.on(h, &format!("rpm -e {PKG} >/dev/null 2>&1; true"));
        assert_eq!(tb.ok(h, "dnf --version | head -1").split('.').next(), Some("4"), "dnf 4 on {}", h.name);
        upload(tb, h, &dir.path().join("repo.tar"), &repo);
        tb.ok(h, "mkdir -p /etc/yum.repos.d");
        let good = format!("[troupe-e2e]\nname=troupe e2e\nbaseurl=file://{repo}\ngpgcheck=0\nenabled=1\n");
        tb.write_file(h, "/etc/yum.repos.d/troupe-e2e.repo", &good).expect("repo file");
        let broken = format!(
            "[troupe-e2e-broken]\nname=unreadable\nbaseurl=file://{repo}-missing\ngpgcheck=0\nenabled=1\n\
             skip_if_unavailable=False\n"
        );
        tb.write_file(h, "/etc/yum.repos.d/troupe-e2e-broken.repo", &broken).expect("repo file");
    }

    check(tb, dir.path(), "present.yml", &[]);
    for h in mine(tb) {
        assert_eq!(rpm_q(tb, h), None, "--check installed {PKG} on {}", h.name);
        absent(tb, h, FILE);
    }

    converge(tb, dir.path(), "present.yml", &[]);
    for h in mine(tb) {
        assert_eq!(rpm_q(tb, h).as_deref(), Some("troupe-e2e-hello-1.0-1.noarch"), "on {}", h.name);
        assert_eq!(tb.ok(h, &format!("cat {FILE}")), "hello");
    }

    check(tb, dir.path(), "absent.yml", &[]);
    for h in mine(tb) {
        assert!(rpm_q(tb, h).is_some(), "--check removed {PKG} on {}", h.name);
    }

    converge(tb, dir.path(), "absent.yml", &[]);
    for h in mine(tb) {
        assert_eq!(rpm_q(tb, h), None, "{PKG} still installed on {}", h.name);
        absent(tb, h, FILE);
        absent(tb, h, "/usr/share/troupe-e2e-rpm");
    }
}
