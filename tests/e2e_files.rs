//! `lineinfile`, `blockinfile`, `get_url` and `unarchive` over real SSH on tb4–tb6, with the
//! helpers of `e2e_modules.rs`: `--check` on a fresh state (the host is then asked that nothing
//! changed: the file is absent, or its SHA-256 and mtime are the same), then two real runs (the
//! second with `changed=0`), then the files on the hosts are read back.

use std::path::Path;
use std::process::Command;

use crate::e2e_modules::{absent, check, converge, mine, nonce, troupe, Cleanup};
use crate::support::http::{local_addr_towards, Server};
use crate::support::run::scratch;
use crate::support::testbed::{testbed, TbHost, Testbed};

/// SHA-256 and mtime (nanoseconds) of `path` on `host`: equal snapshots mean untouched.
fn snapshot(tb: &Testbed, host: &TbHost, path: &str) -> String {
    tb.ok(host, &format!("sha256sum < {path} && stat -c %y {path}"))
}

/// Writes `files` (name, content) into a fresh folder `d` on every host.
fn seed(tb: &Testbed, d: &str, files: &[(&str, &str)]) {
    for h in mine(tb) {
        tb.ok(h, &format!("rm -rf {d} && mkdir -p {d}"));
        for (name, content) in files {
            tb.write_file(h, &format!("{d}/{name}"), content).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

const LINES_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - lineinfile: {path: "{{ d }}/app.conf", regexp: '^port=', line: "port={{ port }}"}
    - lineinfile: {path: "{{ d }}/app.conf", line: "host={{ inventory_hostname }}", insertafter: '^# app'}
    - lineinfile: {path: "{{ d }}/app.conf", regexp: '^name=', state: absent}
    - lineinfile: {path: "{{ d }}/new.conf", line: "created=yes", create: true, mode: "0600"}
"#;

#[test]
fn lineinfile_edits_and_creates_files_over_ssh() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let d = format!("/var/tmp/troupe-e2e-lines-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    seed(tb, &d, &[("app.conf", "# app\nport=80\nname=old\n")]);
    let dir = scratch(&[("site.yml", LINES_PLAY)]);
    let vars = format!("d={d} port=8080");
    let extra = ["-e", vars.as_str()];

    let before: Vec<String> = mine(tb).iter().map(|h| snapshot(tb, h, &format!("{d}/app.conf"))).collect();
    let done = check(tb, dir.path(), "site.yml", &["-e", vars.as_str(), "--diff"]);
    let host_line = format!("+host={}", mine(tb)[0].name);
    for needle in ["-port=80", "+port=8080", host_line.as_str(), "-name=old", "+created=yes"] {
        done.stdout_has(needle);
    }
    for (h, was) in mine(tb).into_iter().zip(&before) {
        assert_eq!(&snapshot(tb, h, &format!("{d}/app.conf")), was, "--check touched app.conf on {}", h.name);
        absent(tb, h, &format!("{d}/new.conf"));
    }

    converge(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("cat {d}/app.conf")), format!("# app\nhost={}\nport=8080", h.name));
        assert_eq!(tb.ok(h, &format!("cat {d}/new.conf; stat -c %a {d}/new.conf")), "created=yes\n600");
        // No temporary or backup files beside them.
        assert_eq!(tb.ok(h, &format!("ls -A {d}")), "app.conf\nnew.conf");
    }
}

const BLOCK_PLAY: &str = r##"
- hosts: testbed
  gather_facts: false
  tasks:
    - blockinfile:
        path: "{{ d }}/hosts"
        block: |
          10.0.0.1 db
          10.0.0.2 {{ inventory_hostname }}-cache
        marker: "# {mark} TROUPE E2E"
        insertafter: '^127\.0\.0\.1'
    - blockinfile: {path: "{{ d }}/motd", block: "managed by {{ who }}", create: true}
"##;

#[test]
fn blockinfile_inserts_and_replaces_blocks_over_ssh() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let d = format!("/var/tmp/troupe-e2e-block-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    seed(tb, &d, &[("hosts", "127.0.0.1 localhost\n::1 localhost\n")]);
    let dir = scratch(&[("site.yml", BLOCK_PLAY)]);

    let before: Vec<String> = mine(tb).iter().map(|h| snapshot(tb, h, &format!("{d}/hosts"))).collect();
    let done = check(tb, dir.path(), "site.yml", &["-e", &format!("d={d} who=troupe"), "--diff"]);
    done.stdout_has("+# BEGIN TROUPE E2E")
        .stdout_has(&format!("+10.0.0.2 {}-cache", mine(tb)[1].name))
        .stdout_has("+managed by troupe");
    for (h, was) in mine(tb).into_iter().zip(&before) {
        assert_eq!(&snapshot(tb, h, &format!("{d}/hosts")), was, "--check touched hosts on {}", h.name);
        absent(tb, h, &format!("{d}/motd"));
    }

    converge(tb, dir.path(), "site.yml", &["-e", &format!("d={d} who=troupe")]);
    for h in mine(tb) {
        let want = format!(
            "127.0.0.1 localhost\n# BEGIN TROUPE E2E\n10.0.0.1 db\n10.0.0.2 {}-cache\n# END TROUPE E2E\n::1 localhost",
            h.name
        );
        assert_eq!(tb.ok(h, &format!("cat {d}/hosts")), want);
        let motd = "# BEGIN ANSIBLE MANAGED BLOCK\nmanaged by troupe\n# END ANSIBLE MANAGED BLOCK";
        assert_eq!(tb.ok(h, &format!("cat {d}/motd")), motd);
    }

    // A new block text replaces the old one in place; --diff shows the changed line.
    let vars = format!("d={d} who=ops");
    let done = converge(tb, dir.path(), "site.yml", &["-e", vars.as_str(), "--diff"]);
    done.stdout_has("-managed by troupe").stdout_has("+managed by ops");
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("sed -n 2p {d}/motd; wc -l < {d}/motd")), "managed by ops\n3");
    }
}

const GET_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - get_url: {url: "{{ base }}/app.bin", dest: "{{ d }}/app.bin", checksum: "sha256:{{ sum }}", mode: "0640"}
    - get_url: {url: "{{ base }}/app.bin", dest: "{{ d }}/forced.bin", force: true}
"#;

const BAD_SUM_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - get_url:
        url: "{{ base }}/app.bin"
        dest: "{{ d }}/bad.bin"
        checksum: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
"#;

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn get_url_downloads_from_the_controller_over_ssh() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let ip = local_addr_towards(&mine(tb)[0].ip).unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(ip).unwrap_or_else(|e| panic!("{e}"));
    let v1: Vec<u8> = (0..64 * 1024).map(|i| (i % 253) as u8).collect();
    server.put("app.bin", &v1);
    let d = format!("/var/tmp/troupe-e2e-get-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    seed(tb, &d, &[]);
    let dir = scratch(&[("site.yml", GET_PLAY), ("bad.yml", BAD_SUM_PLAY)]);
    let vars = format!("d={d} base=http://{} sum={}", server.addr, sha256_hex(&v1));
    let extra = ["-e", vars.as_str()];

    check(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        assert_eq!(tb.ok(h, &format!("ls -A {d}")), "", "--check left files on {}", h.name);
    }

    // The second run downloads forced.bin again and finds it unchanged: `ok`.
    converge(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        let sums = tb.ok(h, &format!("sha256sum < {d}/app.bin; sha256sum < {d}/forced.bin; stat -c %a {d}/app.bin"));
        let want = format!("{0}  -\n{0}  -\n640", sha256_hex(&v1));
        assert_eq!(sums, want, "on {}", h.name);
    }

    // New content on the server: only the forced download changes, on every host.
    let v2 = b"version 2\n".to_vec();
    server.put("app.bin", &v2);
    let done = troupe(tb, dir.path(), "site.yml", &extra).succeeds();
    for h in mine(tb) {
        assert_eq!(done.changed(&h.name), 1, "{}\n{}", h.name, done.stdout);
        assert_eq!(tb.ok(h, &format!("cat {d}/forced.bin")), "version 2");
    }

    // A wrong checksum fails with a clear message and leaves no file, not even a temporary one.
    let done = troupe(tb, dir.path(), "bad.yml", &extra).code(2);
    done.stdout_has(&format!("The checksum for {d}/bad.bin did not match 0000"));
    done.stdout_has(&format!("it was {}.", sha256_hex(&v2)));
    for h in mine(tb) {
        assert_eq!(done.recap(&h.name)[3], 1, "{}\n{}", h.name, done.stdout);
        assert_eq!(tb.ok(h, &format!("ls -A {d}")), "app.bin\nforced.bin");
    }
    assert!(server.requests().iter().all(|r| r.starts_with("GET /app.bin ")), "{:?}", server.requests());
}

const UNPACK_SETUP_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - file: {path: "{{ d }}/{{ item }}", state: directory}
      loop: [local, remote, created, skipped]
    - copy: {src: app.tar.gz, dest: "{{ d }}/app.tar.gz"}
    - copy: {dest: "{{ d }}/skip-marker", content: ""}
"#;

const UNPACK_PLAY: &str = r#"
- hosts: testbed
  gather_facts: false
  tasks:
    - unarchive: {src: app.tar.gz, dest: "{{ d }}/local"}
    - unarchive: {src: "{{ d }}/app.tar.gz", dest: "{{ d }}/remote", remote_src: true}
    - unarchive: {src: app.tar.gz, dest: "{{ d }}/created", creates: "{{ d }}/created/app/README"}
    - unarchive: {src: app.tar.gz, dest: "{{ d }}/skipped", creates: "{{ d }}/skip-marker"}
"#;

/// `files/app.tar.gz` in `dir`, made with `tar` from `app/README` and `app/bin/tool`.
fn make_tarball(dir: &Path) {
    let stage = dir.join("stage");
    std::fs::create_dir_all(stage.join("app/bin")).expect("mkdir");
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::fs::write(stage.join("app/README"), "read me\n").expect("write");
    std::fs::write(stage.join("app/bin/tool"), "#!/bin/sh\necho tool\n").expect("write");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(dir.join("files/app.tar.gz"))
        .arg("-C")
        .arg(&stage)
        .arg("app")
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar -czf failed");
}

#[test]
fn unarchive_from_the_controller_and_the_host_over_ssh() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let d = format!("/var/tmp/troupe-e2e-unpack-{}", nonce());
    let _cleanup = Cleanup { tb, command: format!("rm -rf {d}") };
    let dir = scratch(&[("setup.yml", UNPACK_SETUP_PLAY), ("site.yml", UNPACK_PLAY)]);
    make_tarball(dir.path());
    let vars = format!("d={d}");
    let extra = ["-e", vars.as_str()];
    troupe(tb, dir.path(), "setup.yml", &extra).succeeds();

    check(tb, dir.path(), "site.yml", &extra);
    for h in mine(tb) {
        let listing = tb.ok(h, &format!("cd {d} && find . | sort"));
        let want = "./app.tar.gz\n./created\n./local\n./remote\n./skip-marker\n./skipped";
        assert_eq!(listing, format!(".\n{want}"), "--check extracted something on {}", h.name);
    }

    converge(tb, dir.path(), "site.yml", &extra);
    let tree = "app\napp/README\napp/bin\napp/bin/tool";
    for h in mine(tb) {
        for sub in ["local", "remote", "created"] {
            assert_eq!(tb.ok(h, &format!("cd {d}/{sub} && find app | sort")), tree, "{sub} on {}", h.name);
            assert_eq!(tb.ok(h, &format!("cat {d}/{sub}/app/README")), "read me");
        }
        assert_eq!(tb.ok(h, &format!("ls -A {d}/skipped")), "", "creates: did not skip on {}", h.name);
    }

    // The tree is compared with the archive: a removed or edited file is extracted again.
    for h in mine(tb) {
        tb.ok(h, &format!("rm {d}/local/app/bin/tool && echo edited > {d}/remote/app/README"));
    }
    let done = troupe(tb, dir.path(), "site.yml", &extra).succeeds();
    for h in mine(tb) {
        assert_eq!(done.changed(&h.name), 2, "{}\n{}", h.name, done.stdout);
        assert_eq!(
            tb.ok(h, &format!("cat {d}/local/app/bin/tool {d}/remote/app/README")),
            "#!/bin/sh\necho tool\nread me"
        );
    }
    let done = troupe(tb, dir.path(), "site.yml", &extra).succeeds();
    for h in mine(tb) {
        assert_eq!(done.changed(&h.name), 0, "{}\n{}", h.name, done.stdout);
        // Nothing but the trees: no marker files, no uploaded archives.
        assert_eq!(tb.ok(h, &format!("ls -A {d}/local; ls -A {d}/remote")), "app\napp");
    }
}
