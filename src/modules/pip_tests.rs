use super::*;

fn w(state: &str, names: &[&str]) -> Want {
    Want {
        state: state.into(),
        names: names.iter().map(|s| s.to_string()).collect(),
        venv_cmd: "virtualenv".into(),
        chdir: "/tmp".into(),
        ..Want::default()
    }
}

#[test]
fn requirements_and_versions_as_pip_reads_them() {
    assert_eq!(
        parse_req("Django_Foo[x,y]>=1.2, <2"),
        Some(Req { name: "django-foo".into(), specs: vec![(">=".into(), "1.2".into()), ("<".into(), "2".into())] })
    );
    assert_eq!(parse_req("./dist/pkg.whl"), None);
    assert_eq!(parse_req("git+https://x/y.git"), None);
    assert!(satisfies("1.10", ">", "1.9") && satisfies("2.0", "==", "2") && !satisfies("2.0rc1", ">=", "2.0"));
    assert!(satisfies("1.4.5", "~=", "1.4.2") && !satisfies("1.5", "~=", "1.4.2") && satisfies("1.5", "~=", "1.4"));
    assert!(satisfies("1.2.3", "==", "1.2.*") && !satisfies("1.3", "==", "1.2.*"));
    assert_eq!(
        recover_names(&["django>1.11.1".into(), "<1.11.3".into(), "six".into()]),
        ["django>1.11.1,<1.11.3", "six"]
    );
}

#[test]
fn list_decides_present_and_absent() {
    let have = installed("six==1.16.0\nDemo_Pkg==0.2\n");
    assert!(!differs(&w("present", &["six", "demo-pkg>=0.1"]), &have, None));
    assert!(differs(&w("present", &["demo-pkg==0.1"]), &have, None), "wrong version");
    assert!(differs(&w("present", &["other"]), &have, None));
    assert!(differs(&w("absent", &["six"]), &have, None));
    assert!(!differs(&w("absent", &["other"]), &have, None));
    assert!(differs(&w("forcereinstall", &["six"]), &have, None), "always reinstalls");
    assert!(needs_dry_run(&w("latest", &["six"])) && needs_dry_run(&w("present", &["/tmp/x.whl"])));
    assert!(!needs_dry_run(&w("present", &["six"])));
    assert!(!differs(&w("latest", &["six"]), &have, Some("Requirement already satisfied: six\n")));
    assert!(differs(&w("latest", &["six"]), &have, Some("Would install six-1.17.0\n")));
}

#[test]
fn commands_as_ansible_builds_them() {
    let mut x = w("present", &["demo==1.0", "six"]);
    x.extra = vec!["--no-index".into(), "--find-links".into(), "/srv/wheels".into()];
    assert_eq!(command(&x), "python3 -m pip install --no-index --find-links /srv/wheels demo==1.0 six");
    x.env = Some("/opt/venv".into());
    x.state = "absent".into();
    x.extra.clear();
    assert_eq!(command(&x), "/opt/venv/bin/pip3 uninstall -y demo==1.0 six");
    x.venv_cmd = "python3 -m venv".into();
    assert_eq!(venv_command(&x, "/opt/venv").unwrap(), "python3 -m venv /opt/venv");
    x.venv_cmd = "virtualenv".into();
    x.venv_site = true;
    assert_eq!(
        venv_command(&x, "/opt/venv").unwrap(),
        "virtualenv --system-site-packages -p\"$(command -v python3)\" /opt/venv"
    );
    x.venv_cmd = "python3 -m venv".into();
    x.venv_python = Some("python3.11".into());
    assert!(err_text(venv_command(&x, "/v")).contains("virtualenv_python should not be used"));
    let mut r = w("present", &[]);
    r.requirements = Some("/srv/req.txt".into());
    assert_eq!(command(&r), "python3 -m pip install -r /srv/req.txt");
    assert!(read_script(&r, true).contains("install --dry-run -r /srv/req.txt"));
}

fn err_text<T>(r: Result<T, ModuleError>) -> String {
    r.err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn argument_errors_as_ansible() {
    let parse = |v: serde_json::Value| {
        let m = crate::module_api::testutil::to_map(v);
        Args::parse("pip", &m, &SPEC).and_then(|a| want(&a))
    };
    assert!(err_text(parse(serde_json::json!({}))).contains("one of the following is required: name, requirements"));
    assert!(err_text(parse(serde_json::json!({"name": "a", "version": "1", "state": "latest"})))
        .contains("version is incompatible with state=latest"));
    assert!(err_text(parse(serde_json::json!({"name": ["a", "b"], "version": "1"}))).contains("is ambiguous"));
    let ok = parse(serde_json::json!({"name": "demo", "version": "1.0", "editable": true})).unwrap();
    assert_eq!((ok.names, ok.extra), (vec!["demo==1.0".to_string()], vec!["-e".to_string()]));
}
