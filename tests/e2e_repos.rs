//! The repository modules of issue 12 (apt_repository, apt_key, deb822_repository,
//! yum_repository, rpm_key) on testbed hosts, each through `support::module_e2e` (check mode
//! proven harmless, twice for idempotence, compared with ansible-playbook when installed).
//! Hosts reach no internet: apt repositories are local `file:` repositories built on the host
//! with dpkg-scanpackages, and keys are made here with `gpg --batch`.

use std::process::Command;

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::{skip, testbed, TbHost, Testbed};

/// An armored public key made with gpg in a throwaway home, and its long key id; `None`
/// (the test skips) when this machine has no gpg.
fn make_key() -> Option<(String, String)> {
    let home = tempfile::tempdir().expect("tempdir");
    let gpg = |args: &[&str]| Command::new("gpg").env("GNUPGHOME", home.path()).args(args).output();
    let made = gpg(&[
        "--batch",
        "--passphrase",
        "",
        "--quick-gen-key",
        "troupe e2e <e2e@example.invalid>",
        "rsa2048",
        "sign",
        "never",
    ]);
    if !made.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let armored = String::from_utf8(gpg(&["--armor", "--export"]).ok()?.stdout).ok()?;
    let colons = String::from_utf8(gpg(&["--with-colons", "--list-keys"]).ok()?.stdout).ok()?;
    let id = colons.lines().find(|l| l.starts_with("pub:"))?.split(':').nth(4)?.to_string();
    Some((armored, id))
}

/// A flat apt repository at `dir` on the host holding `troupe-e2e-hello` 1.0.
fn local_apt_repo(tb: &Testbed, host: &TbHost, dir: &str) {
    tb.ok(
        host,
        &format!(
            "set -e; rm -rf {dir}; mkdir -p {dir}/pkg/DEBIAN; cd {dir}
printf 'Package: troupe-e2e-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@example.invalid>\\nDescription: e2e\\n' > pkg/DEBIAN/control
dpkg-deb --build --root-owner-group pkg troupe-e2e-hello_1.0_all.deb >/dev/null
rm -rf pkg; dpkg-scanpackages . /dev/null > Packages 2>/dev/null"
        ),
    );
}

fn candidate(tb: &Testbed, host: &TbHost) -> String {
    tb.ok(host, "LANG=C apt-cache policy troupe-e2e-hello | sed -n 's/ *Candidate: //p'")
}

#[test]
fn yum_repository_writes_and_removes_a_section() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let f = "/etc/yum.repos.d/troupe-e2e.repo";
    let probe = format!("cat {f} 2>&1 || true");
    let args = "{name: troupe-e2e, description: troupe e2e, baseurl: [file:///srv/a, file:///srv/b], gpgcheck: false, priority: 10, exclude: [x, y], mode: '0600'}";
    let reset = format!("mkdir -p /etc/yum.repos.d; printf '[other]\\nname=Other\\nbaseurl=file:///o\\n' > {f}");
    let seen = ModuleE2e::new("yum_repository", args)
        .reset(&reset)
        .probe(&format!("{probe}; stat -c %a {f}"))
        .compare(&["changed", "repo", "state"])
        .run(tb, host);
    assert_eq!(seen.first["repo"], "troupe-e2e");
    assert_eq!(
        tb.ok(host, &format!("cat {f}")),
        "[other]\nname = Other\nbaseurl = file:///o\n\n[troupe-e2e]\nbaseurl = file:///srv/a\n\tfile:///srv/b\nexclude = x y\ngpgcheck = 0\nname = troupe e2e\npriority = 10"
    );
    // The last section gone: the file goes.
    let reset = format!("mkdir -p /etc/yum.repos.d; printf '[troupe-e2e]\\nname=x\\nbaseurl=file:///x\\n' > {f}");
    ModuleE2e::new("yum_repository", "{name: troupe-e2e, state: absent}")
        .reset(&reset)
        .probe(&probe)
        .compare(&["changed", "repo", "state"])
        .run(tb, host);
    assert!(!tb.on(host, &format!("test -e {f}")).success());
}

#[test]
fn rpm_key_imports_and_removes_a_key() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let Some((armored, id)) = make_key() else {
        skip("skipped: needs gpg on this machine to make a key");
        return;
    };
    let host = &tb.hosts[0];
    let short = id[8..].to_lowercase();
    tb.write_file(host, "/tmp/troupe-e2e-rpm.asc", &armored).expect("key file");
    let reset = format!("rpm -e --allmatches gpg-pubkey-{short} >/dev/null 2>&1; true");
    let probe = "rpm -q gpg-pubkey 2>&1 || true";
    let args = "{key: /tmp/troupe-e2e-rpm.asc}";
    ModuleE2e::new("rpm_key", args).reset(&reset).probe(probe).compare(&["changed"]).run(tb, host);
    assert!(tb.ok(host, "rpm -q gpg-pubkey").contains(&short));
    // By key id: removed; a wrong fingerprint fails before anything is imported.
    let gone = format!("{{key: '0x{id}', state: absent}}");
    let put = "rpm --import /tmp/troupe-e2e-rpm.asc >/dev/null 2>&1; true";
    ModuleE2e::new("rpm_key", &gone).reset(put).probe(probe).compare(&["changed"]).run(tb, host);
    assert!(!tb.on(host, &format!("rpm -q gpg-pubkey-{short}")).success());
}

#[test]
fn apt_key_adds_and_removes_through_apt_key() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let Some((armored, id)) = make_key() else {
        skip("skipped: needs gpg on this machine to make a key");
        return;
    };
    let host = &tb.hosts[1];
    tb.write_file(host, "/tmp/troupe-e2e-apt.asc", &armored).expect("key file");
    let short = &id[8..];
    let reset = format!("apt-key del {short} >/dev/null 2>&1; true");
    let probe = "apt-key adv --list-public-keys --keyid-format=long 2>/dev/null | grep ^pub || true";
    let fields: &[&str] = &["changed", "id", "short_id", "fp", "key_id", "before"];
    let seen = ModuleE2e::new("apt_key", "{file: /tmp/troupe-e2e-apt.asc}")
        .reset(&reset)
        .probe(probe)
        .compare(fields)
        .run(tb, host);
    assert_eq!((seen.first["id"].as_str(), seen.first["short_id"].as_str()), (Some(id.as_str()), Some(short)));
    assert!(seen.first["after"].as_array().is_some_and(|a| a.iter().any(|k| k == id.as_str())), "{:#}", seen.first);
    // Inline data, already there: nothing to do; then removed by id.
    let data = format!("{{data: {}}}", serde_json::to_string(&armored).unwrap());
    ModuleE2e::new("apt_key", &data).first_changed(false).probe(probe).compare(fields).run(tb, host);
    let gone = format!("{{id: '{id}', state: absent}}");
    let put = "apt-key add /tmp/troupe-e2e-apt.asc >/dev/null 2>&1; true";
    ModuleE2e::new("apt_key", &gone).reset(put).probe(probe).compare(fields).run(tb, host);
    assert!(!tb.ok(host, probe).contains(&id));
}

/// Puts the host's own apt sources back (see [`only_local_sources`]).
struct Restore<'a>(&'a Testbed, &'a TbHost);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(self.1, "for f in /etc/apt/sources.list.d/*.troupe-off; do [ -e \"$f\" ] && mv \"$f\" \"${f%.troupe-off}\"; done; true");
    }
}

/// Hosts reach no internet, and Ansible's `update_cache` (python-apt) fails when any index
/// fails to download (`apt-get` only warns): the host's deb.debian.org sources are set aside
/// while the test runs (the testbed is held exclusively meanwhile).
fn only_local_sources<'a>(tb: &'a Testbed, host: &'a TbHost) -> Restore<'a> {
    tb.ok(
        host,
        "for f in /etc/apt/sources.list.d/*.sources; do [ -e \"$f\" ] && mv \"$f\" \"$f.troupe-off\"; done; true",
    );
    Restore(tb, host)
}

#[test]
fn apt_repository_adds_a_local_repository_and_updates_the_cache() {
    let Some(tb) = testbed(2) else { return };
    let _alone = tb.exclusive();
    let host = &tb.hosts[1];
    let _restore = only_local_sources(tb, host);
    let dir = "/srv/troupe-e2e-apt";
    local_apt_repo(tb, host, dir);
    let list = "/etc/apt/sources.list.d/file_srv_troupe_e2e_apt.list";
    let reset = format!("rm -f {list}; apt-get update -q >/dev/null 2>&1; true");
    let probe = format!("cat {list} 2>&1; stat -c %a {list} 2>&1; true");
    let fields: &[&str] = &["changed", "repo", "state", "sources_added", "sources_removed"];
    let args = format!("{{repo: 'deb [trusted=yes] file:{dir} ./'}}");
    let seen = ModuleE2e::new("apt_repository", &args).reset(&reset).probe(&probe).compare(fields).run(tb, host);
    assert_eq!(seen.first["sources_added"], serde_json::json!([list]));
    assert_eq!(tb.ok(host, &format!("cat {list}")), format!("deb [trusted=yes] file:{dir} ./"));
    assert_eq!(candidate(tb, host), "1.0", "update_cache read the local repository");
    // A commented-out line is enabled again in its own file; then absent removes the file.
    let named = "/etc/apt/sources.list.d/troupe-e2e.list";
    let reset = format!("rm -f {list}; printf '#deb [trusted=yes] file:{dir} ./ # mine\\n' > {named}");
    ModuleE2e::new("apt_repository", &format!("{{repo: 'deb [trusted=yes] file:{dir} ./', update_cache: false}}"))
        .reset(&reset)
        .probe(&format!("cat {named}"))
        .compare(fields)
        .run(tb, host);
    assert_eq!(tb.ok(host, &format!("cat {named}")), format!("deb [trusted=yes] file:{dir} ./ # mine"));
    let gone = format!("{{repo: 'deb [trusted=yes] file:{dir} ./', state: absent, update_cache: false}}");
    let reset = format!("printf 'deb [trusted=yes] file:{dir} ./\\n' > {named}");
    let seen = ModuleE2e::new("apt_repository", &gone)
        .reset(&reset)
        .probe(&format!("ls {named} 2>&1; true"))
        .compare(fields)
        .run(tb, host);
    assert!(seen.first["sources_removed"].as_array().is_some_and(|a| a.len() == 1), "{:#}", seen.first);
    tb.ok(host, &format!("rm -rf {dir} {named} {list}; apt-get update -q >/dev/null 2>&1; true"));
}

/// `ppa:` repositories: one already present needs no network (nothing changes), `absent`
/// removes its file. (A new one asks Launchpad from the host: not tried here, the tests send
/// no traffic outside the testbed.)
#[test]
fn apt_repository_ppa_lines_expand_as_ansibles() {
    let Some(tb) = testbed(2) else { return };
    let _alone = tb.exclusive();
    let host = &tb.hosts[1];
    let list = "/etc/apt/sources.list.d/ppa_troupe_e2e_bookworm.list";
    let line = "deb https://ppa.launchpadcontent.net/troupe/e2e/ubuntu bookworm main";
    let fields: &[&str] = &["changed", "repo", "state", "sources_added", "sources_removed"];
    let there = format!("printf '%s\\n' '{line}' > {list}");
    ModuleE2e::new("apt_repository", "{repo: 'ppa:troupe/e2e', codename: bookworm, update_cache: false}")
        .reset(&there)
        .probe(&format!("cat {list}"))
        .first_changed(false)
        .compare(fields)
        .run(tb, host);
    let seen = ModuleE2e::new("apt_repository", "{repo: 'ppa:troupe/e2e', state: absent, update_cache: false}")
        .reset(&there)
        .probe(&format!("ls {list} 2>&1; true"))
        .compare(fields)
        .run(tb, host);
    assert_eq!(seen.first["sources_removed"], serde_json::json!([list]));
}

#[test]
fn deb822_repository_writes_a_sources_file_apt_reads() {
    let Some(tb) = testbed(2) else { return };
    let _steady = tb.shared();
    let Some((armored, _id)) = make_key() else {
        skip("skipped: needs gpg on this machine to make a key");
        return;
    };
    let host = &tb.hosts[1];
    let dir = "/srv/troupe-e2e-deb822";
    local_apt_repo(tb, host, dir);
    let f = "/etc/apt/sources.list.d/troupe-e2e-822.sources";
    let reset = format!("rm -f {f}");
    let probe = format!("cat {f} 2>&1; stat -c %a {f} 2>&1; true");
    let fields: &[&str] = &["changed", "repo", "dest", "key_filename"];
    let args = format!(
        "{{name: Troupe_E2E 822, uris: 'file:{dir}', suites: ./, trusted: true, check_date: false, mode: '0640'}}"
    );
    let seen = ModuleE2e::new("deb822_repository", &args).reset(&reset).probe(&probe).compare(fields).run(tb, host);
    assert_eq!(seen.first["dest"], f);
    tb.ok(host, "apt-get update -q >/dev/null 2>&1; true");
    assert_eq!(candidate(tb, host), "1.0", "apt reads the written file");
    // The key inline: a multi-line Signed-By field.
    let signed = format!(
        "{{name: Troupe_E2E 822, uris: 'file:{dir}', suites: ./, signed_by: {}}}",
        serde_json::to_string(&armored).unwrap()
    );
    let seen = ModuleE2e::new("deb822_repository", &signed).reset(&reset).probe(&probe).compare(fields).run(tb, host);
    assert!(seen.first["repo"]
        .as_str()
        .is_some_and(|r| r.contains("Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n")));
    ModuleE2e::new("deb822_repository", "{name: Troupe_E2E 822, state: absent}")
        .reset(&format!("printf 'Types: deb\\n' > {f}"))
        .probe(&probe)
        .compare(fields)
        .run(tb, host);
    tb.ok(host, &format!("rm -rf {dir} {f}; apt-get update -q >/dev/null 2>&1; true"));
}

/// Errors with Ansible's texts, nothing changed; `--check --diff` shows the file as it would be.
#[test]
fn repository_errors_and_diffs() {
    let Some(tb) = testbed(1) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let Some((armored, id)) = make_key() else {
        skip("skipped: needs gpg on this machine to make a key");
        return;
    };
    tb.write_file(host, "/tmp/troupe-e2e-rpm-fp.asc", &armored).expect("key file");
    let play = r#"- hosts: all
  gather_facts: false
  tasks:
    - apt_repository: {repo: "foo bar", update_cache: false}
      ignore_errors: true
    - rpm_key: {key: /tmp/troupe-e2e-rpm-fp.asc, fingerprint: "0000 1111"}
      ignore_errors: true
    - rpm_key: {key: /tmp/troupe-e2e-nope.asc}
      ignore_errors: true
    - apt_key: {id: "12345", file: /tmp/troupe-e2e-rpm-fp.asc}
      ignore_errors: true
    - yum_repository: {name: troupe-e2e-diff, description: d, baseurl: "file:///d", reposdir: /tmp}
"#;
    let dir = crate::support::run::scratch(&[("site.yml", play)]);
    let inventory = tb.inventory.to_string_lossy().into_owned();
    let done = crate::support::run::Run::new()
        .in_dir(dir.path())
        .args(["-i", inventory.as_str(), "-l", host.name.as_str(), "site.yml", "--check", "--diff"])
        .succeeds();
    done.stdout_has("Invalid repository string: foo bar")
        .stdout_has("The specified fingerprint, '{'00001111'}', does not match any key fingerprints in")
        .stdout_has("Not a valid key /tmp/troupe-e2e-nope.asc")
        .stdout_has("Invalid key_id")
        .stdout_has("+[troupe-e2e-diff]")
        .stdout_has("+baseurl = file:///d");
    assert!(!tb.on(host, "test -e /tmp/troupe-e2e-diff.repo").success(), "--check wrote the file");
    assert!(!tb.ok(host, "rpm -q gpg-pubkey 2>&1 || true").contains(&id[8..].to_lowercase()));
}
