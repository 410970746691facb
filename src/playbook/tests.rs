//! Loader tests: fixtures under tests/fixtures/playbooks and small inline playbooks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::error::Diagnose;
use crate::value::Value;

const MODULES: &[&str] = &[
    "debug",
    "command",
    "shell",
    "file",
    "copy",
    "template",
    "set_fact",
    "assert",
    "stat",
    "fail",
    "include_vars",
    "pause",
    "meta",
    "setup",
];

fn known(name: &str) -> bool {
    MODULES.contains(&name) || ActionKind::engine(name).is_some()
}

fn opts() -> LoadOptions {
    LoadOptions { known_action: known, ..Default::default() }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/playbooks")
}

fn fixture(name: &str) -> Playbook {
    match load_playbook(&fixtures().join(name), &opts()) {
        Ok(pb) => pb,
        Err(e) => panic!("{}", e.diagnostic().render()),
    }
}

fn fixture_err(name: &str) -> LoadError {
    load_playbook(&fixtures().join(name), &opts()).expect_err("this fixture must fail to load")
}

/// Write files into a fresh temp dir; returns it (kept alive by the caller).
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn load(files: &[(&str, &str)]) -> Result<Playbook, LoadError> {
    let dir = tree(files);
    load_playbook(&dir.path().join(files[0].0), &opts())
}

fn play(tasks_yaml: &str) -> Result<Play, LoadError> {
    let text = format!("- hosts: all\n  tasks:\n{}", indent(tasks_yaml, 4));
    load(&[("p.yml", &text)]).map(|mut pb| pb.plays.remove(0))
}

fn indent(s: &str, n: usize) -> String {
    s.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect()
}

fn task(item: &Item) -> &Task {
    match item {
        Item::Task(t) => t,
        Item::Block(b) => panic!("expected a task, got block {:?}", b.name),
    }
}

fn block(item: &Item) -> &Block {
    match item {
        Item::Block(b) => b,
        Item::Task(t) => panic!("expected a block, got task {:?}", t.name),
    }
}

fn one_task(yaml: &str) -> Arc<Task> {
    let p = play(yaml).unwrap_or_else(|e| panic!("{}", e.diagnostic().render()));
    match &p.tasks[0] {
        Item::Task(t) => t.clone(),
        Item::Block(_) => panic!("expected a task"),
    }
}

fn task_err(yaml: &str) -> LoadError {
    play(yaml).expect_err("this task must be refused")
}

fn at(e: &LoadError) -> (String, usize, usize) {
    let file = e.span.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    (file, e.span.line, e.span.col)
}

// ---- realistic fixtures ----

#[test]
fn site_play_sections_and_keywords() {
    let pb = fixture("site.yml");
    assert_eq!(pb.dir, fixtures());
    assert_eq!(pb.plays.len(), 1);
    let p = &pb.plays[0];
    assert_eq!(p.name, "configure app hosts");
    assert_eq!(p.hosts, "localhost");
    assert_eq!(p.gather_facts, Flag::Literal(false));
    assert_eq!(p.attrs.tags, vec!["site"]);
    assert_eq!(p.vars["app_version"], "1.2.3");
    // pre_tasks: import_tasks became a block holding the file's two tasks.
    let pre = block(&p.pre_tasks[0]);
    assert_eq!(pre.import.as_deref(), Some("tasks/prepare.yml"));
    assert_eq!(pre.block.len(), 2);
    let prep = task(&pre.block[0]);
    assert_eq!(prep.action, "file");
    assert_eq!(prep.args["mode"], "0755", "k=v values are strings");
    assert_eq!(prep.attrs.tags, vec!["prepare"]);
    assert_eq!(prep.base_dir, fixtures().join("tasks"));
    assert_eq!((prep.span.line, prep.span.col), (1, 3));
}

#[test]
fn site_roles_dependencies_vars_and_imports() {
    let pb = fixture("site.yml");
    let p = &pb.plays[0];
    assert_eq!(p.roles.len(), 2);
    let common = block(&p.roles[0]);
    let role = common.role.as_ref().unwrap();
    assert_eq!(role.name, "common");
    assert_eq!(role.path, fixtures().join("roles/common"));
    assert_eq!(role.defaults["common_users"], serde_json::json!(["alice", "bob"]));
    assert_eq!(role.vars["common_config"], "{{ common_root }}/app.conf");
    assert!(!common.duplicate_role);
    // The dependency comes first, as a nested role block with its meta tags.
    let base = block(&common.block[0]);
    assert_eq!(base.role.as_ref().unwrap().name, "base");
    assert_eq!(base.attrs.tags, vec!["deps"]);
    assert_eq!(base.role.as_ref().unwrap().defaults["base_packages_dir"], "/tmp/troupe-base");
    let root = task(&common.block[1]);
    assert_eq!(root.action, "file", "ansible.builtin. is stripped");
    assert_eq!(root.role.as_ref().unwrap().name, "common");
    assert_eq!(root.base_dir, fixtures().join("roles/common/tasks"));
    let users = block(&common.block[2]);
    assert_eq!(users.import.as_deref(), Some("users.yml"));
    assert_eq!(users.attrs.tags, vec!["users"]);
    let list = task(&users.block[0]);
    assert_eq!(list.loop_, Some(Value::from("{{ common_users }}")));
    assert_eq!(list.loop_control.label.as_deref(), Some("{{ item }}"));
    assert_eq!(list.role.as_ref().unwrap().name, "common");
    let render = task(&common.block[3]);
    assert_eq!(render.attrs.notify, vec!["restart app", "config changed"]);
    let include = task(&common.block[4]);
    assert_eq!(include.action, "include_tasks");
    assert_eq!(include.args["file"], "extra.yml");
    assert_eq!(include.attrs.when, vec!["common_extra | default(false) | bool"]);
}

#[test]
fn site_role_params_and_duplicate_dependency() {
    let pb = fixture("site.yml");
    let webapp = block(&pb.plays[0].roles[1]);
    let role = webapp.role.as_ref().unwrap();
    assert_eq!(role.params["webapp_name"], "api");
    assert_eq!(webapp.attrs.tags, vec!["api"]);
    assert_eq!(webapp.attrs.when, vec!["deploy_api | default(true)"]);
    // webapp depends on common, already used the same way by `roles:` → Ansible skips it at
    // run time (but --list-tasks still shows it), and so does its own dependency.
    let dep = block(&webapp.block[0]);
    assert_eq!(dep.role.as_ref().unwrap().name, "common");
    assert!(dep.duplicate_role);
    assert!(block(&dep.block[0]).duplicate_role);
    assert!(!webapp.duplicate_role);
}

#[test]
fn site_handlers_roles_first_without_duplicates() {
    let pb = fixture("site.yml");
    // A role's handlers come in a block carrying the role (its keywords apply to them).
    let flat: Vec<&Item> = pb.plays[0]
        .handlers
        .iter()
        .flat_map(|h| match h {
            Item::Block(b) => {
                assert!(b.role.is_some());
                b.block.iter().collect::<Vec<_>>()
            }
            t => vec![t],
        })
        .collect();
    let names: Vec<String> = flat.iter().map(|h| task(h).name.clone().unwrap_or_default()).collect();
    assert_eq!(names, vec!["base changed", "restart app", "log config change", "reload webapp", "restart app"]);
    let listen = task(flat[2]);
    assert_eq!(listen.listen, vec!["config changed"]);
    assert_eq!(listen.role.as_ref().unwrap().name, "common");
}

#[test]
fn site_tasks_block_freeform_and_tags() {
    let pb = fixture("site.yml");
    let p = &pb.plays[0];
    let version = task(&p.tasks[0]);
    assert_eq!(version.attrs.tags, vec!["info", "always"]);
    let deploy = block(&p.tasks[1]);
    assert_eq!(deploy.name.as_deref(), Some("deploy block"));
    assert_eq!(deploy.attrs.tags, vec!["deploy"]);
    assert_eq!((deploy.block.len(), deploy.rescue.len(), deploy.always.len()), (2, 1, 1));
    let shell = task(&deploy.block[1]);
    assert_eq!(shell.action, "shell");
    assert_eq!(shell.args["_raw_params"], "echo deployed > /tmp/troupe-work/deployed");
    assert_eq!(shell.args["creates"], "/tmp/troupe-work/deployed");
    let reset = task(&p.tasks[3]);
    assert_eq!(reset.attrs.tags, vec!["reset", "never"]);
    let cleanup = block(&p.tasks[4]);
    assert_eq!(task(&cleanup.block[0]).attrs.tags, vec!["cleanup", "never"]);
    let flush = task(&p.post_tasks[0]);
    assert_eq!((flush.action.as_str(), &flush.args["_raw_params"]), ("meta", &Value::from("flush_handlers")));
}

#[test]
fn deploy_import_playbook_and_import_role() {
    let pb = fixture("deploy.yml");
    assert_eq!(pb.plays.len(), 3);
    let db = &pb.plays[0];
    assert_eq!(db.name, "database");
    assert_eq!(db.attrs.tags, vec!["db"]);
    assert_eq!(db.vars["db_name"], "orders");
    assert_eq!(db.file, fixtures().join("plays/db.yml"));
    let web = &pb.plays[1];
    assert_eq!(web.serial, vec![Value::from(1), Value::from("50%")]);
    let imported = block(&web.tasks[0]);
    assert_eq!(imported.import.as_deref(), Some("webapp"));
    assert_eq!(imported.role.as_ref().unwrap().name, "webapp");
    assert_eq!(imported.attrs.tags, vec!["web"]);
    assert_eq!(imported.attrs.vars["webapp_port"], 9090);
    let include = task(&web.tasks[1]);
    assert_eq!(include.action, "include_role");
    assert_eq!(include.args["name"], "base");
    let pause = task(&web.tasks[2]);
    assert_eq!(pause.attrs.tags, vec!["never", "slow"]);
    assert_eq!(pb.plays[2].attrs.when, vec!["run_smoke | default(true)"]);
    assert!(pb.plays[2].attrs.tags.is_empty());
}

#[test]
fn maintenance_nested_blocks_loops_and_legacy_action() {
    let pb = fixture("maintenance.yml");
    let p = &pb.plays[0];
    assert_eq!(p.max_fail_percentage, Some(20.0));
    assert_eq!(p.attrs.become_, Some(Flag::Literal(false)));
    let outer = block(&p.tasks[0]);
    let inner = block(&outer.block[0]);
    assert_eq!(inner.attrs.when, vec!["services | length > 0"]);
    let per = task(&inner.block[0]);
    assert_eq!(per.args["msg"], "service {{ item }}");
    let legacy = task(&inner.block[1]);
    assert_eq!(legacy.loop_with.as_deref(), Some("items"));
    assert_eq!(legacy.loop_, Some(serde_json::json!(["one", "two"])));
    let action = task(&p.tasks[2]);
    assert_eq!((action.action.as_str(), &action.args["msg"]), ("debug", &Value::from("old style")));
    assert_eq!(task(&p.handlers[0]).listen, vec!["maintenance done"]);
}

#[test]
fn ids_are_unique() {
    fn walk(items: &[Item], ids: &mut Vec<usize>) {
        for item in items {
            match item {
                Item::Task(t) => ids.push(t.id),
                Item::Block(b) => {
                    ids.push(b.id);
                    walk(&b.block, ids);
                    walk(&b.rescue, ids);
                    walk(&b.always, ids);
                }
            }
        }
    }
    let pb = fixture("site.yml");
    let mut ids = Vec::new();
    for p in &pb.plays {
        for section in [&p.pre_tasks, &p.roles, &p.tasks, &p.post_tasks, &p.handlers] {
            walk(section, &mut ids);
        }
    }
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(ids.iter().all(|&i| i > 0));
}

// ---- error fixtures: position and message ----

#[test]
fn error_yaml_syntax_keeps_position() {
    let e = fixture_err("errors/syntax.yml");
    assert_eq!(e.kind, LoadErrorKind::Syntax);
    assert_eq!(at(&e).0, "syntax.yml");
    assert_eq!(at(&e), ("syntax.yml".into(), 5, 5), "where ansible-playbook reports it too");
    assert!(e.message.contains("YAML syntax error"), "{e}");
    assert_eq!(e.exit_code(), 4);
}

#[test]
fn error_unknown_play_key() {
    let e = fixture_err("errors/unknown_play_key.yml");
    assert_eq!(e.kind, LoadErrorKind::UnknownKey);
    assert_eq!(at(&e), ("unknown_play_key.yml".into(), 3, 3));
    assert_eq!(e.message, "'taks' is not a valid attribute for a Play");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'tasks'?"));
}

#[test]
fn error_unknown_task_key() {
    let e = fixture_err("errors/unknown_task_key.yml");
    assert_eq!(e.kind, LoadErrorKind::UnknownKey);
    assert_eq!(at(&e), ("unknown_task_key.yml".into(), 6, 7));
    assert_eq!(e.message, "`registr` is not a valid task keyword");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'register'?"));
}

#[test]
fn error_unknown_module() {
    let e = fixture_err("errors/unknown_module.yml");
    assert_eq!(e.kind, LoadErrorKind::UnknownModule);
    assert_eq!(at(&e), ("unknown_module.yml".into(), 5, 7));
    assert_eq!(e.message, "unknown module 'comand'");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'command'?"));
}

#[test]
fn error_two_modules() {
    let e = fixture_err("errors/two_modules.yml");
    assert_eq!(e.kind, LoadErrorKind::ConflictingModules);
    assert_eq!(at(&e), ("two_modules.yml".into(), 6, 7));
    assert_eq!(e.message, "conflicting action statements: command, shell");
}

#[test]
fn error_missing_role_names_the_search() {
    let e = fixture_err("errors/missing_role.yml");
    assert_eq!(e.kind, LoadErrorKind::NotFound);
    assert_eq!(at(&e), ("missing_role.yml".into(), 6, 7));
    // Ansible's words: the folders looked in, joined with ':'.
    assert!(e.message.starts_with("the role 'nosuchrole' was not found in "), "{}", e.message);
    assert!(e.message.contains("errors/roles:"), "{}", e.message);
    assert!(!e.message.contains("nosuchrole:") && !e.message.ends_with("nosuchrole"), "{}", e.message);
    assert!(e.hint.unwrap().contains("roles_path"));
}

#[test]
fn error_missing_import_file() {
    let e = fixture_err("errors/missing_import.yml");
    assert_eq!(e.kind, LoadErrorKind::NotFound);
    assert_eq!(at(&e), ("missing_import.yml".into(), 5, 7));
    assert!(e.message.contains("'no_such_file.yml'"), "{}", e.message);
    assert!(e.hint.unwrap().contains("errors/no_such_file.yml"));
}

#[test]
fn async_and_poll_load_as_numbers_or_templates() {
    let pb =
        load(&[("p.yml", "- hosts: all\n  tasks:\n    - command: sleep 10\n      async: 30\n      poll: '{{ p }}'\n")])
            .unwrap();
    let Item::Task(t) = &pb.plays[0].tasks[0] else { panic!("not a task") };
    assert_eq!((t.async_.clone(), t.poll.clone()), (Some(Value::from(30)), Some(Value::from("{{ p }}"))));
    let e = task_err("- command: sleep 1\n  async: soon\n");
    assert!(e.message.contains("`async` must be a number"), "{}", e.message);
}

#[test]
fn error_inside_a_role_points_into_the_role_file() {
    let e = fixture_err("errors/bad_in_role.yml");
    assert_eq!(at(&e), ("main.yml".into(), 5, 3));
    assert!(e.span.file.ends_with("roles/broken/tasks/main.yml"));
    assert!(e.causes[0].contains("in role 'broken'"), "{:?}", e.causes);
    let rendered = e.diagnostic().render();
    assert!(rendered.contains("when_changed"), "{rendered}");
    assert!(rendered.contains("caused by: in role 'broken'"), "{rendered}");
}

// ---- plays ----

#[test]
fn play_hosts_list_vars_list_and_defaults() {
    let pb = load(&[("p.yml", "- hosts: [web, db]\n  vars: [{a: 1}, {b: 2}]\n  gather_facts: no\n  serial: 30%\n")])
        .unwrap();
    let p = &pb.plays[0];
    assert_eq!(p.hosts, "web,db");
    assert_eq!((p.vars["a"].clone(), p.vars["b"].clone()), (Value::from(1), Value::from(2)));
    assert_eq!(p.gather_facts, Flag::Literal(false));
    assert_eq!(p.serial, vec![Value::from("30%")]);
    assert_eq!(p.name, "");
    let pb = load(&[("p.yml", "- hosts: all\n  order: sorted\n  force_handlers: false\n")]).unwrap();
    assert_eq!(pb.plays[0].gather_facts, Flag::Literal(true), "gather_facts defaults to true");
    assert_eq!(pb.plays[0].order.as_deref(), Some("sorted"));
    assert_eq!(pb.plays[0].force_handlers, Some(false));
}

#[test]
fn play_refusals() {
    let e = load(&[("p.yml", "- hosts: all\n  vars_prompt:\n    - name: x\n")]).unwrap_err();
    assert_eq!((e.kind, e.span.line, e.span.col), (LoadErrorKind::Unsupported, 2, 3));
    assert!(e.message.contains("never prompts"), "{}", e.message);
    let e = load(&[("p.yml", "- hosts: all\n  module_defaults: {group/aws: {}}\n")]).unwrap_err();
    assert_eq!((e.kind, e.span.line, e.span.col), (LoadErrorKind::Unsupported, 2, 21));
    let e = load(&[("p.yml", "- hosts: all\n  module_defaults: [1]\n")]).unwrap_err();
    assert!(e.message.contains("must be a mapping"), "{}", e.message);
    let e = load(&[("p.yml", "- name: x\n  tasks: []\n")]).unwrap_err();
    assert!(e.message.contains("no `hosts`"), "{}", e.message);
    let e = load(&[("p.yml", "- hosts: all\n  order: random\n")]).unwrap_err();
    assert!(e.hint.unwrap().contains("shuffle"));
    let e = load(&[("p.yml", "hosts: all\n")]).unwrap_err();
    assert!(e.message.contains("list of plays"), "{}", e.message);
}

#[test]
fn import_playbook_merges_vars_tags_and_when() {
    let pb = load(&[
        ("main.yml", "- import_playbook: sub/other.yml\n  vars: {x: 2}\n  tags: t\n  when: go\n"),
        ("sub/other.yml", "- hosts: all\n  vars: {x: 1, y: 1}\n  tags: own\n  tasks:\n    - debug: msg=hi\n"),
    ])
    .unwrap();
    let p = &pb.plays[0];
    assert_eq!((p.vars["x"].clone(), p.vars["y"].clone()), (Value::from(2), Value::from(1)));
    assert_eq!(p.attrs.tags, vec!["own", "t"]);
    assert_eq!(p.attrs.when, vec!["go"]);
    assert!(task(&p.tasks[0]).base_dir.ends_with("sub"));
    let e = load(&[("a.yml", "- import_playbook: b.yml\n"), ("b.yml", "- import_playbook: a.yml\n")]).unwrap_err();
    assert!(e.to_string().contains("import cycle"), "{e}");
}

// ---- tasks ----

#[test]
fn module_names_and_free_form() {
    let t = one_task("- ansible.legacy.command: echo hi chdir=/tmp removes=/y foo=bar\n");
    assert_eq!(t.action, "command");
    assert_eq!(t.args["_raw_params"], "echo hi foo=bar");
    assert_eq!(t.args["chdir"], "/tmp");
    assert_eq!(t.args["removes"], "/y");
    let t = one_task("- copy: src=a dest=\"b c\" mode=0644\n");
    assert_eq!(
        (t.args["src"].clone(), t.args["dest"].clone(), t.args["mode"].clone()),
        ("a".into(), "b c".into(), "0644".into())
    );
    // Refused when the task runs, as Ansible does.
    let t = one_task("- debug: hello there\n");
    assert_eq!(t.args.get(crate::playbook::REFUSED_RAW_PARAMS), Some(&Value::from("hello there")));
    assert!(!t.args.contains_key("_raw_params"));
}

#[test]
fn action_and_local_action_forms() {
    let t = one_task("- local_action: command echo hi\n");
    assert_eq!((t.action.as_str(), t.attrs.delegate_to.as_deref()), ("command", Some("localhost")));
    assert_eq!(t.args["_raw_params"], "echo hi");
    let t = one_task("- action: ansible.builtin.copy src=a dest=b\n");
    assert_eq!((t.action.as_str(), &t.args["dest"]), ("copy", &Value::from("b")));
    let e = task_err("- action: nosuch x=1\n");
    assert_eq!(e.kind, LoadErrorKind::UnknownModule);
    let e = task_err("- action: debug msg=a\n  command: echo\n");
    assert_eq!(e.kind, LoadErrorKind::ConflictingModules);
}

#[test]
fn args_keyword_is_overridden_by_module_args() {
    let t = one_task("- command: pwd\n  args:\n    chdir: /tmp\n    creates: /a\n");
    assert_eq!((t.args["_raw_params"].clone(), t.args["chdir"].clone()), ("pwd".into(), "/tmp".into()));
    let t = one_task("- file:\n    path: /b\n  args:\n    path: /a\n    state: touch\n");
    assert_eq!((t.args["path"].clone(), t.args["state"].clone()), ("/b".into(), "touch".into()));
}

#[test]
fn conditions_tags_notify_and_loop_keywords() {
    let t = one_task(
        "- debug: msg=x\n  when: [a, b]\n  tags: [1, two]\n  changed_when: false\n  failed_when: [rc != 0, x]\n  until: ok\n  retries: 3\n  delay: 1\n  notify: h\n  register: out\n  loop: [1, 2]\n  loop_control:\n    loop_var: n\n    index_var: i\n    pause: 0.5\n    extended: yes\n",
    );
    assert_eq!(t.attrs.when, vec!["a", "b"]);
    assert_eq!(t.attrs.tags, vec!["1", "two"]);
    assert!(matches!(t.changed_when, Some(Conditions::Literal(false))));
    assert!(matches!(&t.failed_when, Some(Conditions::Exprs(v)) if v == &["rc != 0", "x"]));
    assert!(matches!(&t.until, Some(Conditions::Exprs(v)) if v == &["ok"]));
    assert_eq!((t.retries.clone(), t.delay.clone()), (Some(Value::from(3)), Some(Value::from(1))));
    assert_eq!(t.attrs.notify, vec!["h"]);
    assert_eq!(t.register.as_deref(), Some("out"));
    assert_eq!(t.loop_control.loop_var.as_deref(), Some("n"));
    assert_eq!(t.loop_control.index_var.as_deref(), Some("i"));
    assert_eq!(t.loop_control.pause, Some(0.5));
    assert!(t.loop_control.extended);
    let t = one_task("- debug: msg=x\n  when: true\n  tags: a,b\n  with_dict: {k: v}\n  guarded_by: [backup]\n");
    assert_eq!(t.attrs.when, vec!["True"]);
    assert_eq!(t.attrs.tags, vec!["a", "b"]);
    assert_eq!(t.loop_with.as_deref(), Some("dict"));
    assert_eq!(t.guarded_by, vec!["backup"]);
    let t = one_task("- debug: msg=x\n  guarded_by: backup db\n  become: yes\n  become_user: root\n  no_log: true\n");
    assert_eq!(t.guarded_by, vec!["backup db"]);
    assert_eq!(
        (t.attrs.become_.clone(), t.attrs.become_user.as_deref(), t.attrs.no_log.clone()),
        (Some(Flag::Literal(true)), Some("root"), Some(Flag::Literal(true)))
    );
}

#[test]
fn task_refusals() {
    let e = task_err("- debug: msg=x\n  with_cartesian: [[1], [2]]\n");
    assert_eq!(e.kind, LoadErrorKind::Unsupported);
    let e = task_err("- debug: msg=x\n  loop: [1]\n  with_items: [2]\n");
    assert!(e.message.contains("already has a loop"), "{}", e.message);
    let e = task_err("- debug: msg=x\n  listen: y\n");
    assert!(e.message.contains("only valid on handlers"), "{}", e.message);
    let e = task_err("- name: nothing\n  when: x\n");
    assert_eq!((e.kind, e.span.line, e.span.col), (LoadErrorKind::NoModule, 3, 7));
    let e = task_err("- debug: msg=x\n  loop_control:\n    lopo_var: y\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'loop_var'?"));
    let e = task_err("- debug: msg=x\n  become_exe: x\n");
    assert!(e.message.contains("not supported by troupe"));
    let e = task_err("- whn: x\n  debug: msg=x\n");
    assert_eq!((e.kind, e.hint.as_deref()), (LoadErrorKind::UnknownKey, Some("did you mean 'when'?")));
    let e = task_err("- import_playbook: other.yml\n");
    assert!(e.message.contains("top level"), "{}", e.message);
    let e = task_err("- include: other.yml\n");
    assert!(e.hint.unwrap().contains("include_tasks"));
}

#[test]
fn includes_stay_tasks_and_check_their_keywords() {
    let t = one_task("- include_tasks: f.yml\n  when: x\n  loop: [1]\n");
    assert_eq!((t.action.as_str(), &t.args["file"]), ("include_tasks", &Value::from("f.yml")));
    assert!(t.args.get("_raw_params").is_none());
    let t = one_task("- include_tasks:\n    file: f.yml\n    apply:\n      tags: [a]\n");
    assert_eq!(t.args["apply"]["tags"][0], "a");
    let t = one_task("- ansible.builtin.include_role:\n    name: r\n    tasks_from: other\n");
    assert_eq!((t.action.as_str(), &t.args["tasks_from"]), ("include_role", &Value::from("other")));
    let e = task_err("- include_tasks: f.yml\n  become: true\n");
    assert!(e.message.contains("`become` is not a valid keyword for include_tasks"), "{}", e.message);
    let e = task_err("- include_role:\n    tasks_from: x\n");
    assert!(e.message.contains("'name' is a required field"), "{}", e.message);
    let e = task_err("- include_tasks:\n    file: f.yml\n    bogus: 1\n");
    assert!(e.message.contains("Invalid options for include_tasks: bogus"), "{}", e.message);
}

#[test]
fn import_tasks_wraps_children_and_refuses_loops() {
    let pb = load(&[
        ("p.yml", "- hosts: all\n  tasks:\n    - import_tasks: sub/t.yml\n      when: x\n      tags: [i]\n      become: true\n"),
        ("sub/t.yml", "- import_tasks: u.yml\n"),
        ("sub/u.yml", "- debug: msg=deep\n"),
    ])
    .unwrap();
    let outer = block(&pb.plays[0].tasks[0]);
    assert_eq!(
        (outer.attrs.when.clone(), outer.attrs.tags.clone(), outer.attrs.become_.clone()),
        (vec!["x".into()], vec!["i".into()], Some(Flag::Literal(true)))
    );
    let inner = block(&outer.block[0]);
    assert_eq!(inner.import.as_deref(), Some("u.yml"), "resolved next to sub/t.yml");
    assert_eq!(task(&inner.block[0]).args["msg"], "deep");
    let e = task_err("- import_tasks: t.yml\n  loop: [1]\n");
    assert!(e.message.contains("cannot be used on import_tasks"), "{}", e.message);
    let e = task_err("- import_tasks: \"{{ f }}.yml\"\n");
    assert_eq!(e.kind, LoadErrorKind::Unsupported);
    let e = load(&[
        ("p.yml", "- hosts: all\n  tasks:\n    - import_tasks: p2.yml\n"),
        ("p2.yml", "- import_tasks: p2.yml\n"),
    ])
    .unwrap_err();
    assert!(e.message.contains("import cycle"), "{}", e.message);
}

#[test]
fn blocks_accept_block_keywords_only() {
    let p = play("- name: b\n  become: true\n  when: x\n  block:\n    - debug: msg=a\n  always:\n    - debug: msg=z\n")
        .unwrap();
    let b = block(&p.tasks[0]);
    assert_eq!((b.attrs.become_.clone(), b.block.len(), b.always.len()), (Some(Flag::Literal(true)), 1, 1));
    let e = task_err("- block:\n    - debug: msg=a\n  register: r\n");
    assert_eq!((e.span.line, e.span.col, e.message.as_str()), (5, 7, "`register` cannot be used on a block"));
    let e = task_err("- block:\n    - debug: msg=a\n  becom: true\n");
    assert_eq!(e.hint.as_deref(), Some("did you mean 'become'?"));
}

// ---- roles ----

#[test]
fn role_search_order_and_roles_path() {
    let dir = tree(&[
        ("pb/p.yml", "- hosts: all\n  roles: [r, s, t, ./local/u]\n"),
        ("pb/roles/r/tasks/main.yml", "- debug: msg=pb-roles\n"),
        ("pb/r/tasks/main.yml", "- debug: msg=pb-dir\n"),
        ("pb/s/tasks/main.yml", "- debug: msg=s-pb-dir\n"),
        ("roles/t/tasks/main.yml", "- debug: msg=parent-roles\n"),
        ("extra/t/tasks/main.yml", "- debug: msg=extra\n"),
        ("pb/local/u/tasks/main.yaml", "- debug: msg=by-path\n"),
    ]);
    let o = LoadOptions { roles_path: vec![dir.path().join("extra")], ..opts() };
    let pb = load_playbook(&dir.path().join("pb/p.yml"), &o).unwrap();
    let msg = |i: usize| task(&block(&pb.plays[0].roles[i]).block[0]).args["msg"].clone();
    assert_eq!(msg(0), "pb-roles");
    assert_eq!(msg(1), "s-pb-dir");
    // As Ansible: roles_path comes before the playbook's own folder; `../roles` is last.
    assert_eq!(msg(2), "extra");
    assert_eq!(msg(3), "by-path");
    // As Ansible: the role keeps the name it was written with.
    assert_eq!(block(&pb.plays[0].roles[3]).role.as_ref().unwrap().name, "./local/u");
    std::fs::remove_dir_all(dir.path().join("extra")).unwrap();
    let pb = load_playbook(&dir.path().join("pb/p.yml"), &o).unwrap();
    assert_eq!(task(&block(&pb.plays[0].roles[2]).block[0]).args["msg"], "parent-roles");
}

#[test]
fn role_entries_dedup_and_allow_duplicates() {
    let pb = load(&[
        ("p.yml", "- hosts: all\n  roles:\n    - a\n    - a\n    - {role: a, x: 1}\n    - {role: a, tags: t}\n    - d\n    - d\n"),
        ("roles/a/tasks/main.yml", "- debug: msg=a\n"),
        ("roles/a/handlers/main.yml", "- name: ha\n  debug: msg=h\n"),
        ("roles/d/meta/main.yml", "allow_duplicates: true\n"),
        ("roles/d/tasks/main.yml", "- debug: msg=d\n"),
    ])
    .unwrap();
    let dup: Vec<bool> = pb.plays[0].roles.iter().map(|r| block(r).duplicate_role).collect();
    assert_eq!(dup, vec![false, true, false, false, false, false]);
    assert_eq!(block(&pb.plays[0].roles[2]).role.as_ref().unwrap().params["x"], 1);
    assert_eq!(pb.plays[0].handlers.len(), 3, "a, a+x, a+tags each add handlers once; the duplicate does not");
}

#[test]
fn role_errors() {
    let e = load(&[
        ("p.yml", "- hosts: all\n  roles: [a]\n"),
        ("roles/a/meta/main.yml", "dependencies: [b]\n"),
        ("roles/b/meta/main.yml", "dependencies: [a]\n"),
    ])
    .unwrap_err();
    assert!(e.message.contains("dependency cycle"), "{}", e.message);
    let e = load(&[("p.yml", "- hosts: all\n  roles:\n    - {tags: x}\n")]).unwrap_err();
    assert!(e.message.contains("needs `role: <name>`"), "{}", e.message);
    let e = load(&[
        ("p.yml", "- hosts: all\n  tasks:\n    - import_role:\n        name: a\n        tasks_from: nope\n"),
        ("roles/a/tasks/main.yml", "- debug: msg=a\n"),
    ])
    .unwrap_err();
    assert_eq!((e.kind, e.span.line, e.span.col), (LoadErrorKind::NotFound, 3, 7));
    assert!(e.message.contains("tasks/nope"), "{}", e.message);
}

#[test]
fn import_role_from_files_and_tasks_relative_to_role() {
    let pb = load(&[
        ("p.yml", "- hosts: all\n  tasks:\n    - import_role:\n        name: a\n        tasks_from: setup\n        vars_from: other\n      tags: x\n"),
        ("roles/a/tasks/setup.yml", "- import_tasks: part.yml\n"),
        ("roles/a/tasks/part.yml", "- debug: msg=part\n"),
        ("roles/a/vars/other.yml", "v: 1\n"),
        ("roles/a/defaults/main/b.yml", "d: 2\ne: 2\n"),
        ("roles/a/defaults/main/a.yml", "d: 1\n"),
    ])
    .unwrap();
    let b = block(&pb.plays[0].tasks[0]);
    let role = b.role.as_ref().unwrap();
    assert_eq!(role.vars["v"], 1);
    assert_eq!(
        (role.defaults["d"].clone(), role.defaults["e"].clone()),
        (Value::from(2), Value::from(2)),
        "files merge in name order"
    );
    assert_eq!(b.attrs.tags, vec!["x"]);
    let part = task(&block(&b.block[0]).block[0]);
    assert_eq!(part.role.as_ref().unwrap().name, "a");
}

#[test]
fn public_load_role_and_load_tasks_file() {
    let dir = tree(&[
        ("roles/a/tasks/main.yml", "- debug: msg=a\n- include_tasks: more.yml\n"),
        ("roles/a/tasks/more.yml", "- debug: msg=more\n"),
        ("roles/a/handlers/main.yml", "- name: h\n  debug: msg=h\n"),
        ("roles/a/meta/main.yml", "dependencies:\n  - role: b\n    when: y\n    p: 2\n"),
        ("roles/b/tasks/main.yml", "- debug: msg=b\n"),
    ]);
    let spec = RoleSpec { tasks_from: Some("main".into()), ..Default::default() };
    let (item, handlers) = load_role("a", dir.path(), spec, &opts()).unwrap();
    let b = block(&item);
    let dep = block(&b.block[0]);
    assert_eq!(dep.role.as_ref().unwrap().params["p"], 2);
    assert_eq!(dep.attrs.when, vec!["y"]);
    assert_eq!(handlers.len(), 1);
    let role = b.role.clone();
    let items = load_tasks_file(&dir.path().join("roles/a/tasks/more.yml"), role, false, &opts()).unwrap();
    let t = task(&items[0]);
    assert_eq!(t.role.as_ref().unwrap().name, "a");
    assert_eq!(t.base_dir, dir.path().join("roles/a/tasks"));
    let e = load_tasks_file(&dir.path().join("nope.yml"), None, false, &opts()).unwrap_err();
    assert_eq!(e.kind, LoadErrorKind::NotFound);
}

#[test]
fn default_options_know_engine_actions_only_plus_registry() {
    let o = LoadOptions::default();
    assert!((o.known_action)("include_tasks"));
    assert!((o.known_action)("meta"));
    assert!(!(o.known_action)("no_such_module"));
}

#[test]
fn boolean_keywords_keep_templates_for_run_time() {
    let t = one_task("- command: whoami\n  become: \"{{ use_sudo }}\"\n  no_log: '{{ hide }}'\n  ignore_errors: no\n");
    assert_eq!(t.attrs.become_, Some(Flag::Template("{{ use_sudo }}".into())));
    assert_eq!(t.attrs.no_log, Some(Flag::Template("{{ hide }}".into())));
    assert_eq!(t.attrs.ignore_errors, Some(Flag::Literal(false)));
    let pb = load(&[("p.yml", "- hosts: all\n  gather_facts: \"{{ gf }}\"\n  run_once: '{{ x }}'\n")]).unwrap();
    assert_eq!(pb.plays[0].gather_facts, Flag::Template("{{ gf }}".into()));
    assert_eq!(pb.plays[0].attrs.run_once, Some(Flag::Template("{{ x }}".into())));
}

#[test]
fn error_boolean_keyword_nonsense_is_refused_at_load_time() {
    let e = task_err("- command: whoami\n  become: maybe\n");
    assert_eq!(e.kind, LoadErrorKind::Invalid);
    assert_eq!((e.span.line, e.span.col), (4, 15), "the value's position");
    assert!(e.message.contains("`become` must be a boolean") && e.message.contains("'maybe'"), "{}", e.message);
    let e = load(&[("p.yml", "- hosts: all\n  gather_facts: sometimes\n")]).unwrap_err();
    assert_eq!((e.span.line, e.span.col), (2, 17));
}

#[test]
fn a_tasks_file_a_handler_includes_holds_handlers() {
    let dir = tree(&[
        ("flat.yml", "- block:\n    - debug: msg=a\n  name: top\n- name: b\n  debug: msg=b\n  listen: topic\n"),
        ("nested.yml", "- block:\n    - block:\n        - debug: msg=a\n"),
    ]);
    let items = load_tasks_file(&dir.path().join("flat.yml"), None, true, &opts()).unwrap();
    assert_eq!(task(&items[1]).listen, vec!["topic"]);
    let e = load_tasks_file(&dir.path().join("nested.yml"), None, true, &opts()).unwrap_err();
    assert_eq!(e.message, "Using a block as a handler is not supported.");
    assert_eq!(e.span.line, 2);
    // The same file included by a task is a plain tasks file.
    assert!(load_tasks_file(&dir.path().join("nested.yml"), None, false, &opts()).is_ok());
}
