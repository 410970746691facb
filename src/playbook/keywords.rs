//! The keyword table (which keys are keywords where, and who applies them), and "did you
//! mean" suggestions for the ones that are not.

/// Where a keyword may be written (a set of these bits).
pub mod on {
    pub const PLAY: u8 = 1;
    pub const BLOCK: u8 = 2;
    pub const TASK: u8 = 4;
    /// An `include_tasks` / `include_role` task (Ansible's TaskInclude list).
    pub const INCLUDE: u8 = 8;
    /// A `roles:` entry (any other key there is a role parameter).
    pub const ROLE: u8 = 16;
    /// Keywords shared by plays, blocks, tasks and role entries (the `Attrs` struct).
    pub const SHARED: u8 = PLAY | BLOCK | TASK | ROLE;
    /// Shared, but not on a play (a play runs on hosts, not as one).
    pub const BELOW_PLAY: u8 = BLOCK | TASK | ROLE;
}

/// Who acts on a keyword once the loader has parsed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The loader itself: structure (`tasks`, `block`), names, or a value checked and refused
    /// unless it is what troupe does anyway (`strategy: linear`).
    Load,
    /// At run time, by the code in `file` that reads the parsed value `field`.
    At { file: &'static str, field: &'static str },
    /// Refused at load time with this reason.
    Refused(&'static str),
}

/// One keyword: its name, where it is allowed, who applies it.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    pub on: u8,
    pub applied: Applied,
}

const fn kw(name: &'static str, on: u8, applied: Applied) -> Keyword {
    Keyword { name, on, applied }
}

const fn at(file: &'static str, field: &'static str) -> Applied {
    Applied::At { file, field }
}

use on::{BELOW_PLAY, BLOCK, INCLUDE, PLAY, ROLE, SHARED, TASK};
use Applied::{Load, Refused};

const FLAGS: &str = "src/exec/flags.rs";
const RESOLVE: &str = "src/exec/resolve.rs";
const CALL: &str = "src/exec/call.rs";
const WALK: &str = "src/exec/walk.rs";
const LOOPS: &str = "src/exec/loops.rs";

/// Every keyword troupe knows: the one table the loader's checks, its "did you mean" hints
/// and the refusals come from. A test checks that each run-time keyword is read where the
/// table says, so a keyword cannot be parsed and then silently ignored.
pub const KEYWORDS: &[Keyword] = &[
    // Plays.
    kw("hosts", PLAY, at("src/lib.rs", "play.hosts")),
    kw("vars_files", PLAY, at(WALK, "play.vars_files")),
    kw("gather_facts", PLAY, at(WALK, "play.gather_facts")),
    kw("gather_subset", PLAY, at(WALK, "play.gather_subset")),
    kw("gather_timeout", PLAY, at(WALK, "play.gather_timeout")),
    kw("pre_tasks", PLAY, Load),
    kw("roles", PLAY, Load),
    kw("tasks", PLAY, Load),
    kw("post_tasks", PLAY, Load),
    kw("handlers", PLAY, Load),
    kw("serial", PLAY, at("src/exec/mod.rs", "play.serial")),
    kw("max_fail_percentage", PLAY, at(WALK, "play.max_fail_percentage")),
    // Only `linear` (what troupe does) is accepted.
    kw("strategy", PLAY, Load),
    kw("order", PLAY, at("src/lib.rs", "play.order")),
    // Only `false` (what troupe does) is accepted.
    kw("force_handlers", PLAY, Load),
    // Blocks and role entries.
    kw("block", BLOCK, Load),
    kw("rescue", BLOCK, Load),
    kw("always", BLOCK, Load),
    kw("role", ROLE, Load),
    // Shared (`Attrs`), flowing down from play to blocks to tasks.
    kw("name", SHARED | INCLUDE, Load),
    kw("when", BELOW_PLAY | INCLUDE, at("src/exec/frame.rs", "a.when")),
    kw("tags", SHARED | INCLUDE, at("src/plan/mod.rs", "attrs.tags")),
    kw("vars", SHARED | INCLUDE, at("src/exec/frame.rs", "attrs.vars")),
    kw("become", SHARED, at(FLAGS, "a.become_")),
    kw("become_user", SHARED, at(RESOLVE, "a.become_user")),
    kw("become_method", SHARED, at(RESOLVE, "a.become_method")),
    kw("environment", SHARED, at(RESOLVE, "a.environment")),
    kw("ignore_errors", SHARED | INCLUDE, at(FLAGS, "a.ignore_errors")),
    kw("ignore_unreachable", SHARED, at(FLAGS, "a.ignore_unreachable")),
    kw("no_log", SHARED | INCLUDE, at(FLAGS, "a.no_log")),
    kw("check_mode", SHARED, at(FLAGS, "a.check_mode")),
    kw("diff", SHARED, at(FLAGS, "a.diff")),
    kw("delegate_to", BELOW_PLAY, at(CALL, "a.delegate_to")),
    kw("delegate_facts", BELOW_PLAY, at(FLAGS, "a.delegate_facts")),
    kw("run_once", SHARED | INCLUDE, at(FLAGS, "a.run_once")),
    kw("any_errors_fatal", SHARED, at(FLAGS, "a.any_errors_fatal")),
    kw("throttle", SHARED, at(WALK, "a.throttle")),
    kw("connection", SHARED, at(RESOLVE, "a.connection")),
    kw("remote_user", SHARED, at(RESOLVE, "a.remote_user")),
    kw("port", SHARED, at(RESOLVE, "a.port")),
    // Only builtin modules exist in troupe, so the search list changes nothing.
    kw("collections", SHARED | INCLUDE, Load),
    // Tasks.
    kw("action", TASK | INCLUDE, Load),
    kw("local_action", TASK, Load),
    kw("args", TASK | INCLUDE, Load),
    kw("loop", TASK | INCLUDE, at(LOOPS, "task.loop_")),
    kw("loop_control", TASK | INCLUDE, at(LOOPS, "task.loop_control")),
    kw("register", TASK | INCLUDE, at(WALK, "task.register")),
    kw("changed_when", TASK, at(LOOPS, "task.changed_when")),
    kw("failed_when", TASK, at(LOOPS, "task.failed_when")),
    kw("until", TASK, at(LOOPS, "task.until")),
    kw("retries", TASK, at(LOOPS, "task.retries")),
    kw("delay", TASK, at(LOOPS, "task.delay")),
    kw("notify", TASK | BLOCK, at(WALK, "task.notify")),
    kw("listen", TASK, at("src/exec/meta.rs", "task.listen")),
    // troupe's own: a destructive task names the guards the plan must keep with it.
    kw("guarded_by", TASK, at("src/plan/mod.rs", "task.guarded_by")),
    // Known to Ansible, refused by troupe.
    kw("timeout", 0, Refused("the task `timeout` keyword is not supported by troupe (yet); use the module's own timeout (e.g. `wait_for: timeout=`, `async` is not supported either)")),
    kw("async", 0, Refused("background tasks (async/poll) are not supported by troupe (yet); run the task in the foreground")),
    kw("poll", 0, Refused("background tasks (async/poll) are not supported by troupe (yet); run the task in the foreground")),
    kw("vars_prompt", 0, Refused("troupe runs unattended and never prompts; pass the values with -e instead")),
    kw("module_defaults", 0, Refused("module_defaults is not supported by troupe; set the arguments on each task (YAML anchors help)")),
    kw("debugger", 0, Refused("the task debugger is not supported by troupe")),
    kw("become_flags", 0, Refused("custom become executables or flags are not supported by troupe")),
    kw("become_exe", 0, Refused("custom become executables or flags are not supported by troupe")),
    kw("fact_path", 0, Refused("local facts (fact_path) are not supported by troupe")),
    kw("static", 0, Refused("`static` is obsolete; use import_tasks (static) or include_tasks (dynamic)")),
];

/// Whether `key` is a keyword allowed at `place` (one of the [`on`] bits).
pub fn allowed(place: u8, key: &str) -> bool {
    KEYWORDS.iter().any(|k| k.name == key && k.on & place != 0)
}

/// The keywords allowed at `place`, for "did you mean" hints.
pub fn names(place: u8) -> impl Iterator<Item = &'static str> + Clone {
    KEYWORDS.iter().filter(move |k| k.on & place != 0).map(|k| k.name)
}

/// `with_*` loops troupe runs: `fileglob` (run by the engine) and every lookup it has.
pub fn loop_with(name: &str) -> bool {
    name == "fileglob" || crate::template::lookups::SUPPORTED.contains(&name)
}

/// Keywords Ansible knows that troupe refuses, with the reason shown to the user.
pub fn unsupported_reason(key: &str) -> Option<&'static str> {
    KEYWORDS.iter().find_map(|k| match k.applied {
        Refused(reason) if k.name == key => Some(reason),
        _ => None,
    })
}

/// Levenshtein distance on characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean 'x'?" or None.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean '{c}'?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("taks", "tasks"), 1);
        assert_eq!(edit_distance("whn", "when"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn closest_ignores_far_words() {
        assert_eq!(closest("taks", names(on::PLAY)), Some("tasks"));
        assert_eq!(closest("registr", names(on::TASK)), Some("register"));
        assert_eq!(closest("zzzz", names(on::PLAY)), None);
        // Short words need a closer match, so `foo` is not `too`-like keyword noise.
        assert_eq!(closest("xyz", ["args"]), None);
    }

    /// The keyword test: each keyword applied at run time is read by the code the table names,
    /// and every field the loader fills in `Attrs` has a row. A keyword parsed into a field that
    /// nothing reads fails here.
    #[test]
    fn every_parsed_keyword_is_applied_where_the_table_says() {
        use crate::playbook::Attrs;
        // Naming every field (no `..`) makes a new field a compile error here until it is
        // listed below, and so in the table.
        let Attrs {
            when: _,
            tags: _,
            vars: _,
            become_: _,
            become_user: _,
            become_method: _,
            environment: _,
            ignore_errors: _,
            ignore_unreachable: _,
            no_log: _,
            check_mode: _,
            diff: _,
            delegate_to: _,
            delegate_facts: _,
            run_once: _,
            throttle: _,
            connection: _,
            remote_user: _,
            any_errors_fatal: _,
            port: _,
        } = Attrs::default();
        let fields = [
            "when",
            "tags",
            "vars",
            "become",
            "become_user",
            "become_method",
            "environment",
            "ignore_errors",
            "ignore_unreachable",
            "no_log",
            "check_mode",
            "diff",
            "delegate_to",
            "delegate_facts",
            "run_once",
            "throttle",
            "connection",
            "remote_user",
            "any_errors_fatal",
            "port",
        ];
        for name in fields {
            let row = KEYWORDS.iter().find(|k| k.name == name);
            assert!(
                row.is_some_and(|k| matches!(k.applied, Applied::At { .. })),
                "`{name}` is parsed into Attrs but the keyword table says nothing applies it"
            );
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut unapplied = Vec::new();
        for k in KEYWORDS {
            if let Applied::At { file, field } = k.applied {
                let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
                if !text.contains(field) {
                    unapplied.push(format!("`{}`: {file} never reads `{field}`", k.name));
                }
            }
            let refused = matches!(k.applied, Applied::Refused(_));
            assert_eq!(k.on == 0, refused, "`{}`: a refused keyword is allowed nowhere, the others somewhere", k.name);
        }
        assert!(unapplied.is_empty(), "keywords parsed but not applied:\n{}", unapplied.join("\n"));
    }

    #[test]
    fn reasons_for_refused_keywords() {
        assert!(unsupported_reason("async").unwrap().contains("not supported by troupe (yet)"));
        assert!(unsupported_reason("vars_prompt").unwrap().contains("-e"));
        assert!(unsupported_reason("when").is_none());
    }
}
