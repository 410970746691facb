use super::*;

const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";
const T: &str = "3333333333333333333333333333333333333333";

fn w(version: &str) -> Want {
    Want {
        git: "git".into(),
        repo: "file:///srv/repo.git".into(),
        dest: Some("/opt/app".into()),
        version: version.into(),
        remote: "origin".into(),
        recursive: true,
        ..Want::default()
    }
}

fn remote() -> Vec<(String, String)> {
    parse_refs(&format!(
        "{B}\tHEAD\n{B}\trefs/heads/main\n{A}\trefs/heads/old\n{A}\trefs/tags/v1\n{T}\trefs/tags/v1^{{}}\n"
    ))
}

#[test]
fn the_query_reads_the_clone_and_the_remote() {
    let out = format!(
        "@@troupe:exists@@\n@@troupe:before@@\n{A}\n@@troupe:branch@@\nmain\n@@troupe:mods@@\n M x\n@@troupe:url@@\n/srv/old.git\n\
         @@troupe:submodules@@\n@@troupe:local@@\n@@troupe:refs@@\n{B}\tHEAD\n"
    );
    let f = parse_found(&out, "origin");
    assert!(f.exists && f.local_mods && !f.submodules);
    assert_eq!((f.before.as_str(), f.head_branch.as_str(), f.url.as_deref()), (A, "main", Some("/srv/old.git")));
    assert_eq!(f.refs, vec![(B.to_string(), "HEAD".to_string())]);
    let detached = parse_found("@@troupe:exists@@\n@@troupe:branch@@\nrefs/remotes/origin/dev\n", "origin");
    assert_eq!(detached.head_branch, "dev");
    let s = read_script(&w("v1"));
    assert!(
        s.contains("if [ -e /opt/app/.git/config ]") && s.contains("git ls-remote file:///srv/repo.git || exit 1"),
        "{s}"
    );
}

#[test]
fn versions_resolve_as_ansibles_get_remote_head() {
    let f = Found { refs: remote(), ..Found::default() };
    assert_eq!(f.remote_head("HEAD").unwrap(), B, "a fresh clone: the remote HEAD");
    assert_eq!(f.remote_head("old").unwrap(), A);
    assert_eq!(f.remote_head("v1").unwrap(), T, "a tag: the commit it peels to");
    assert_eq!(f.remote_head("abc123").unwrap(), "abc123");
    let existing = Found { exists: true, head_branch: "old".into(), refs: remote(), ..Found::default() };
    assert_eq!(existing.remote_head("HEAD").unwrap(), A, "an existing clone follows its own branch");
    let none = Found { exists: true, head_branch: "gone".into(), ..Found::default() };
    assert_eq!(none.remote_head("HEAD").unwrap_err().to_string(), "Could not determine remote revision for HEAD");
}

#[test]
fn clone_update_and_idempotence() {
    let fresh = Found { refs: remote(), ..Found::default() };
    let (plan, r) = decide(&w("HEAD"), &fresh, true, true).unwrap();
    assert_eq!((plan, r["before"].clone(), r["after"].as_str()), (Some(Plan::Clone), Value::Null, Some(B)));
    let s = apply_script(&w("HEAD"), &fresh, &Plan::Clone);
    assert!(s.contains("git clone --origin origin file:///srv/repo.git /opt/app || exit 1"), "{s}");
    assert!(s.contains("git checkout --force \"$b\"") && s.contains("git reset --hard origin/\"$b\" --"), "{s}");

    let same = Found {
        exists: true,
        before: B.into(),
        head_branch: "main".into(),
        url: Some("file:///srv/repo.git".into()),
        refs: remote(),
        ..Found::default()
    };
    let (plan, r) = decide(&w("HEAD"), &same, true, true).unwrap();
    assert_eq!((plan, r["remote_url_changed"].clone()), (None, Value::Bool(false)));

    let behind = Found { before: A.into(), ..same.clone() };
    let (plan, _) = decide(&w("main"), &behind, true, true).unwrap();
    assert_eq!(plan, Some(Plan::Update { set_url: false, reset: false }));
    let s = apply_script(&w("main"), &behind, &Plan::Update { set_url: false, reset: false });
    assert!(
        s.contains("git fetch --tags origin || exit 1")
            && s.contains("git checkout --force main && git reset --hard origin/main"),
        "{s}"
    );
    assert!(apply_script(&w("v1"), &behind, &Plan::Update { set_url: false, reset: false })
        .contains("git checkout --force v1 || exit 1"));

    let moved = Found { url: Some("file:///srv/other.git".into()), ..same.clone() };
    let (plan, r) = decide(&w("HEAD"), &moved, true, true).unwrap();
    assert_eq!(
        (plan, r["remote_url_changed"].clone()),
        (Some(Plan::Update { set_url: true, reset: false }), Value::Bool(true))
    );
    let (plan, r) = decide(&w("HEAD"), &behind, true, false).unwrap();
    assert_eq!((plan, r["after"].as_str()), (None, Some(A)), "update=no keeps what is there");
}

#[test]
fn local_changes_need_force() {
    let dirty = Found {
        exists: true,
        before: B.into(),
        head_branch: "main".into(),
        local_mods: true,
        url: Some("file:///srv/repo.git".into()),
        refs: remote(),
        ..Found::default()
    };
    let err = decide(&w("HEAD"), &dirty, true, true).unwrap_err();
    assert_eq!(err.to_string(), "Local modifications exist in the destination: /opt/app (force=no).");
    let mut forced = w("HEAD");
    forced.force = true;
    let (plan, _) = decide(&forced, &dirty, true, true).unwrap();
    assert_eq!(plan, Some(Plan::Update { set_url: false, reset: true }));
    assert!(apply_script(&forced, &dirty, &Plan::Update { set_url: false, reset: true })
        .contains("git reset --hard HEAD --"));
}

#[test]
fn arguments_as_ansible() {
    let parse = |v: serde_json::Value| {
        let m = crate::module_api::testutil::to_map(v);
        Args::parse("git", &m, &SPEC).and_then(|a| want(&a))
    };
    let x = parse(serde_json::json!({"name": "/srv/r.git", "dest": "/d/", "key_file": "/k", "accept_hostkey": true}))
        .unwrap();
    assert_eq!((x.repo.as_str(), x.dest.as_deref()), ("file:///srv/r.git", Some("/d")));
    assert_eq!(x.ssh.as_deref(), Some("ssh -i /k -o IdentitiesOnly=yes -o StrictHostKeyChecking=no"));
    let err = |v| parse(v).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err(serde_json::json!({"repo": "r"})), "the destination directory must be specified unless clone=no");
    assert!(err(serde_json::json!({"repo": "r", "dest": "/d", "archive": "/a.zip"})).contains("not supported yet"));
    assert_eq!(
        err(serde_json::json!({"repo": "r", "dest": "/d", "umask": 18})),
        "umask must be defined as a quoted octal integer"
    );
}
