use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;

use super::*;
use crate::connection::local::Local;
use crate::connection::Cmd;
use crate::connection::{Connection, ConnectionError, Output};
use crate::facts::{file_facts, FileKind};
use crate::modules::testutil::TestRender;
use crate::modules::Ctx;

/// The local connection, counting the commands it runs.
struct Counting {
    inner: Local,
    runs: AtomicUsize,
}

#[async_trait]
impl Connection for Counting {
    fn host(&self) -> &str {
        self.inner.host()
    }
    async fn exec(&self, cmd: &Cmd) -> Result<Output, ConnectionError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.exec(cmd).await
    }
}

struct Ahead(Vec<(usize, Want)>);

impl Lookahead for Ahead {
    fn wants(&self) -> Vec<(usize, Want)> {
        self.0.clone()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    conn: Counting,
    render: TestRender,
    cache: Prefetch,
    ahead: Ahead,
}

impl Fixture {
    /// Files a, b, c. Task 1 reads a; tasks 2, 3 and 4 come next and will read b and c (with
    /// sha1) and the folder d.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a", "b", "c"] {
            std::fs::write(dir.path().join(n), n).unwrap();
        }
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        let ahead = Ahead(vec![
            (2, Want::new(p("b"), true, Some("sha1"))),
            (3, Want::new(p("c"), true, Some("sha1"))),
            (4, Want::new(p("d"), true, None)),
        ]);
        Fixture {
            conn: Counting { inner: Local::new("localhost"), runs: AtomicUsize::new(0) },
            render: TestRender::default(),
            cache: Prefetch::default(),
            ahead,
            dir,
        }
    }
    /// The context of task `task`.
    fn cx(&self, task: usize) -> Ctx<'_> {
        Ctx {
            conn: &self.conn,
            host: "localhost",
            check_mode: false,
            diff: false,
            no_log: false,
            render: &self.render,
            search: Vec::new(),
            escalate: None,
            env: Vec::new(),
            read_ahead: Some(ReadAhead { cache: &self.cache, task, next: Some(&self.ahead) }),
            deadline: None,
        }
    }
    fn path(&self, n: &str) -> String {
        self.dir.path().join(n).to_string_lossy().into_owned()
    }
    fn runs(&self) -> usize {
        self.conn.runs.load(Ordering::SeqCst)
    }
    /// What task `task` reads for file `n`.
    async fn facts(&self, task: usize, n: &str, checksum: Option<&str>) -> FileFacts {
        let cx = self.cx(task);
        file_facts(&cx, &[&self.path(n)], true, checksum).await.unwrap().remove(0)
    }
}

#[tokio::test]
async fn next_tasks_read_in_the_same_command() {
    let f = Fixture::new();
    let a = f.facts(1, "a", Some("sha1")).await;
    assert_eq!(f.runs(), 1);
    assert_eq!(a.checksum.as_deref(), Some("86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"));
    let b = f.facts(2, "b", Some("sha1")).await;
    let c = f.facts(3, "c", Some("sha1")).await;
    let d = f.facts(4, "d", None).await;
    assert_eq!(f.runs(), 1, "b, c and d came with a");
    assert_eq!(b.checksum.as_deref(), Some("e9d71f5ee7c92d6dc9e92ffdad17b8bd49418f98"));
    assert_eq!(c.size, 1);
    assert_eq!(d.kind, FileKind::Dir);
    // Each answer is used once: task 2 again (a retry) reads the host again.
    f.facts(2, "b", Some("sha1")).await;
    assert_eq!(f.runs(), 2);
}

#[tokio::test]
async fn answers_belong_to_the_task_they_were_read_for() {
    let f = Fixture::new();
    f.facts(1, "a", Some("sha1")).await;
    // Task 9 asks what task 2 will ask: it is read again, and task 2 still has its answer.
    f.facts(9, "b", Some("sha1")).await;
    assert_eq!(f.runs(), 2);
    f.facts(2, "b", Some("sha1")).await;
    assert_eq!(f.runs(), 2);
}

#[tokio::test]
async fn a_write_anywhere_makes_read_ahead_stale() {
    let f = Fixture::new();
    f.facts(1, "a", Some("sha1")).await;
    f.cx(1).run(Cmd::new(format!("printf changed > {}", f.path("b")))).await.unwrap();
    let b = f.facts(2, "b", Some("sha1")).await;
    assert_eq!(b.size, 7, "b was read again after the write");
    // An apply (on any host) counts as a write too.
    f.facts(1, "a", Some("sha1")).await;
    let before = f.runs();
    f.cache.note_write();
    f.facts(3, "c", Some("sha1")).await;
    assert_eq!(f.runs(), before + 1);
}

#[tokio::test]
async fn only_the_same_user_and_environment_share_answers() {
    let f = Fixture::new();
    f.facts(1, "a", Some("sha1")).await;
    let mut other = f.cx(2);
    other.env = vec![("LC_ALL".into(), "C".into())];
    let before = f.runs();
    file_facts(&other, &[&f.path("b")], true, Some("sha1")).await.unwrap();
    assert_eq!(f.runs(), before + 1);
}

#[tokio::test]
async fn a_different_question_is_not_answered_from_the_cache() {
    let f = Fixture::new();
    f.facts(1, "a", None).await;
    // b was read ahead with sha1 (task 2's question); asked without, it is read again.
    let before = f.runs();
    f.facts(2, "b", None).await;
    assert_eq!(f.runs(), before + 1);
}

#[tokio::test]
async fn without_anything_to_read_ahead_the_plain_read_runs() {
    let f = Fixture::new();
    let mut cx = f.cx(1);
    cx.read_ahead = cx.read_ahead.map(ReadAhead::without_next);
    let a = file_facts(&cx, &[&f.path("a")], true, Some("sha1")).await.unwrap().remove(0);
    assert_eq!(a.size, 1);
    assert_eq!(f.runs(), 1);
    assert!(f.cache.entries.lock().unwrap().is_empty());
}
