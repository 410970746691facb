//! copy of folders (a controller folder as `src`) and `remote_src` (a file or a folder on the
//! target) on testbed hosts, through `support::module_e2e`: check mode harmless, twice for
//! idempotence, results and host state compared with ansible-playbook's.

use crate::support::module_e2e::ModuleE2e;
use crate::support::testbed::testbed;

/// What a folder holds: each path with its mode, type and owner, then every file's content.
const TREE: &str =
    "cd /srv/tc && find . -printf '%p %m %y %u:%g\\n' | sort && find . -type f | sort | xargs -r cat; true";

#[test]
fn copy_folder_content_with_a_trailing_slash() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let seen = ModuleE2e::new("copy", "{src: conf.d/, dest: /srv/tc/app, mode: '0640', directory_mode: '0750'}")
        .file("files/conf.d/a.conf", "a = 1\n")
        .file("files/conf.d/sub/b.conf", "b = 2\n")
        .file("files/conf.d/sub/deeper/c.conf", "c = 3\n")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc")
        .probe(TREE)
        .compare(&["changed", "dest", "src"])
        .run(tb, host);
    assert_eq!(seen.first["dest"], "/srv/tc/app/");
}

#[test]
fn copy_folder_itself_without_a_slash_with_owner() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[1];
    ModuleE2e::new("copy", "{src: conf.d, dest: /srv/tc/, owner: daemon, group: daemon}")
        .file("files/conf.d/a.conf", "a = 1\n")
        .file("files/conf.d/sub/b.conf", "b = 2\n")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc/conf.d/sub && echo old > /srv/tc/conf.d/a.conf")
        .probe(TREE)
        .compare(&["changed", "dest", "src"])
        .run(tb, host);
}

#[test]
fn copy_folder_with_one_file_returns_the_file_result() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[2];
    ModuleE2e::new("copy", "{src: one/, dest: /srv/tc/one/, mode: '0600'}")
        .file("files/one/x.txt", "hello\n")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc")
        .probe(TREE)
        .compare(&["changed", "dest", "checksum", "mode", "size", "state"])
        .run(tb, host);
}

#[test]
fn remote_src_file_to_file() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[3];
    ModuleE2e::new("copy", "{src: /srv/tc/in.txt, dest: /srv/tc/out.txt, remote_src: true}")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc && printf 'hello\\n' > /srv/tc/in.txt && chmod 0600 /srv/tc/in.txt")
        .probe(TREE)
        .compare(&["changed", "dest", "src", "checksum", "md5sum", "mode", "owner", "size", "state"])
        .run(tb, host);
    // An existing file with other content and mode: replaced, the source's mode taken; then
    // `mode` and a folder dest.
    ModuleE2e::new("copy", "{src: /srv/tc/in.txt, dest: /srv/tc/d/, remote_src: true, mode: 'u=rw,g=r'}")
        .reset(
            "rm -rf /srv/tc && mkdir -p /srv/tc/d && printf 'hello\\n' > /srv/tc/in.txt && chmod 0600 /srv/tc/in.txt \
             && echo old > /srv/tc/d/in.txt && chmod 0755 /srv/tc/d/in.txt",
        )
        .probe(TREE)
        .compare(&["changed", "dest", "src", "checksum", "md5sum", "mode", "size", "state"])
        .run(tb, host);
    let existing =
        "rm -rf /srv/tc && mkdir -p /srv/tc && printf 'hello\\n' > /srv/tc/in.txt && echo old > /srv/tc/out.txt";
    // force: false leaves an existing file alone.
    ModuleE2e::new("copy", "{src: /srv/tc/in.txt, dest: /srv/tc/out.txt, remote_src: true, force: false}")
        .reset(existing)
        .probe(TREE)
        .first_changed(false)
        .compare(&["changed", "dest", "src", "msg"])
        .run(tb, host);
    // backup keeps the old file beside the new one.
    ModuleE2e::new("copy", "{src: /srv/tc/in.txt, dest: /srv/tc/out.txt, remote_src: true, backup: true}")
        .reset(existing)
        .probe("cat /srv/tc/out.txt; ls /srv/tc | wc -l")
        .compare(&["changed", "dest", "src", "checksum"])
        .present(&["backup_file"])
        .run(tb, host);
}

#[test]
fn remote_src_folder_to_a_new_folder() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[4];
    ModuleE2e::new("copy", "{src: /srv/tc/tree, dest: /srv/tc/out/, remote_src: true}")
        .reset(
            "rm -rf /srv/tc && mkdir -p /srv/tc/tree/sub/empty /srv/tc/out && echo a > /srv/tc/tree/a \
             && echo b > /srv/tc/tree/sub/b && chmod 0700 /srv/tc/tree/sub && ln -s a /srv/tc/tree/link",
        )
        .probe(TREE)
        .compare(&["changed", "dest", "src", "checksum", "md5sum", "mode", "state"])
        .run(tb, host);
    // A dest that is missing: the folder goes inside it (the module joins the source's name).
    ModuleE2e::new("copy", "{src: /srv/tc/tree, dest: /srv/tc/new, remote_src: true}")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc/tree/sub && echo a > /srv/tc/tree/a && echo b > /srv/tc/tree/sub/b")
        .probe(TREE)
        .compare(&["changed", "dest", "src", "mode", "state"])
        .run(tb, host);
    // A dest ending in `/` whose folders are missing: made with directory_mode.
    ModuleE2e::new("copy", "{src: /srv/tc/tree/, dest: /srv/tc/x/y/, remote_src: true, directory_mode: '0700'}")
        .reset("rm -rf /srv/tc && mkdir -p /srv/tc/tree/sub && echo a > /srv/tc/tree/a && echo b > /srv/tc/tree/sub/b")
        .probe(TREE)
        .compare(&["changed", "dest", "src", "mode", "state"])
        .run(tb, host);
}

#[test]
fn remote_src_folder_content_into_an_existing_folder() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[5];
    ModuleE2e::new("copy", "{src: /srv/tc/tree/, dest: /srv/tc/out, remote_src: true, owner: daemon}")
        .reset(
            "rm -rf /srv/tc && mkdir -p /srv/tc/tree/sub/new /srv/tc/out/sub && echo a > /srv/tc/tree/a \
             && echo b > /srv/tc/tree/sub/b && echo c > /srv/tc/tree/sub/new/c && echo old > /srv/tc/out/sub/b \
             && echo keep > /srv/tc/out/extra && echo a > /srv/tc/out/a",
        )
        .probe(TREE)
        .compare(&["changed", "dest", "src", "checksum", "mode", "state"])
        .run(tb, host);
}

#[test]
fn remote_src_links_with_local_follow() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[2];
    let tree = "rm -rf /srv/tcl && mkdir -p /srv/tcl/tree /srv/tcl/out && echo a > /srv/tcl/tree/a \
                && ln -s a /srv/tcl/tree/la && mkdir /srv/tcl/tree/d && echo x > /srv/tcl/tree/d/x";
    let probe = "cd /srv/tcl && find . -printf '%p %m %y %l\\n' | sort";
    // false: a link the destination lacks is made as a link.
    ModuleE2e::new("copy", "{src: /srv/tcl/tree/, dest: /srv/tcl/out, remote_src: true, local_follow: false}")
        .reset(tree)
        .probe(probe)
        .compare(&["changed", "dest", "src", "state"])
        .run(tb, host);
    // true: the file it leads to is copied.
    ModuleE2e::new("copy", "{src: /srv/tcl/tree/, dest: /srv/tcl/out, remote_src: true, local_follow: true}")
        .reset(tree)
        .probe(probe)
        .compare(&["changed", "dest", "src", "state"])
        .run(tb, host);
}

#[test]
fn copy_folder_links_followed_or_kept() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[3];
    let probe = "cd /srv/tcf && find . -printf '%p %m %y %l\\n' | sort && find . -type f | sort | xargs -r cat; true";
    for args in ["{src: site/, dest: /srv/tcf/, local_follow: false}", "{src: site/, dest: /srv/tcf/}"] {
        ModuleE2e::new("copy", args)
            .file("files/site/real.txt", "real\n")
            .file("files/site/sub/x.txt", "x\n")
            .link("files/site/alias.txt", "real.txt")
            .link("files/site/subalias", "sub")
            .reset("rm -rf /srv/tcf")
            .probe(probe)
            .compare(&["changed", "dest", "src"])
            .run(tb, host);
    }
}

/// Many files and one past the inline limit: small ones go in one command, the big one streamed.
#[test]
fn copy_folder_many_files_and_a_big_one() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[5];
    let big = "0123456789abcdef\n".repeat(80_000);
    let names: Vec<(String, String)> =
        (0..25).map(|i| (format!("files/many/d{}/f{i}.conf", i % 3), format!("value = {i}\n"))).collect();
    let mut e2e = ModuleE2e::new("copy", "{src: many/, dest: /srv/tcm/, mode: '0644'}")
        .file("files/many/big.txt", &big)
        .reset("rm -rf /srv/tcm && mkdir /srv/tcm")
        .probe("cd /srv/tcm && find . -printf '%p %m %y %s\\n' | sort && find . -type f | sort | xargs cat | sha1sum")
        .compare(&["changed", "dest", "src"]);
    for (path, content) in &names {
        e2e = e2e.file(path, content);
    }
    e2e.run(tb, host);
}

/// remote_src onto a link: replaced by a file, or (`follow: true`) the file it leads to written.
#[test]
fn remote_src_file_onto_a_link() {
    let Some(tb) = testbed(6) else { return };
    let _steady = tb.shared();
    let host = &tb.hosts[0];
    let reset = "rm -rf /srv/tcs && mkdir -p /srv/tcs && printf 'new\\n' > /srv/tcs/in && echo old > /srv/tcs/target \
                 && ln -s target /srv/tcs/link";
    let probe = "cd /srv/tcs && find . -printf '%p %m %y %l\\n' | sort && cat target link";
    for args in [
        "{src: /srv/tcs/in, dest: /srv/tcs/link, remote_src: true}",
        "{src: /srv/tcs/in, dest: /srv/tcs/link, remote_src: true, follow: true}",
    ] {
        ModuleE2e::new("copy", args)
            .reset(reset)
            .probe(probe)
            .compare(&["changed", "dest", "src", "checksum", "state"])
            .run(tb, host);
    }
}
