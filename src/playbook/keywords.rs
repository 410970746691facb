//! Which keys are keywords where, and "did you mean" suggestions for the ones that are not.

/// Keys a play accepts.
pub const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "become",
    "become_user",
    "become_method",
    "serial",
    "any_errors_fatal",
    "max_fail_percentage",
    "ignore_errors",
    "ignore_unreachable",
    "environment",
    "tags",
    "connection",
    "remote_user",
    "strategy",
    "check_mode",
    "diff",
    "no_log",
    "run_once",
    "throttle",
    "order",
    "force_handlers",
    "collections",
    "timeout",
    "port",
];

/// Keywords blocks share with tasks (they flow down to the block's tasks).
pub const BLOCK_KEYS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "any_errors_fatal",
    "throttle",
    "connection",
    "remote_user",
    "diff",
    "ignore_unreachable",
    "timeout",
    "port",
    "collections",
];

/// Task keywords (besides the module key and `with_*`).
pub const TASK_KEYS: &[&str] = &[
    "name",
    "action",
    "local_action",
    "args",
    "when",
    "loop",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "ignore_errors",
    "ignore_unreachable",
    "notify",
    "listen",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "throttle",
    "tags",
    "vars",
    "environment",
    "no_log",
    "check_mode",
    "diff",
    "become",
    "become_user",
    "become_method",
    "connection",
    "remote_user",
    "any_errors_fatal",
    "timeout",
    "port",
    "collections",
    "guarded_by",
];

/// Keywords an `include_tasks` / `include_role` task may carry (Ansible's TaskInclude list).
pub const INCLUDE_KEYS: &[&str] = &[
    "name",
    "action",
    "args",
    "collections",
    "ignore_errors",
    "loop",
    "loop_control",
    "no_log",
    "register",
    "run_once",
    "tags",
    "timeout",
    "vars",
    "when",
];

/// Keys of a `roles:` entry that are keywords; any other key is a role parameter.
pub const ROLE_ENTRY_KEYS: &[&str] = &[
    "role",
    "name",
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
    "any_errors_fatal",
    "throttle",
    "connection",
    "remote_user",
    "timeout",
    "port",
    "collections",
];

/// `with_*` lookups troupe runs.
pub const LOOP_WITH: &[&str] = &["items", "list", "dict", "fileglob"];

/// Keywords Ansible knows that troupe refuses, with the reason shown to the user.
pub fn unsupported_reason(key: &str) -> Option<&'static str> {
    Some(match key {
        "async" | "poll" => {
            "background tasks (async/poll) are not supported by troupe (yet); run the task in the foreground"
        }
        "vars_prompt" => "troupe runs unattended and never prompts; pass the values with -e instead",
        "module_defaults" => {
            "module_defaults is not supported by troupe; set the arguments on each task (YAML anchors help)"
        }
        "debugger" => "the task debugger is not supported by troupe",
        "become_flags" | "become_exe" => "custom become executables or flags are not supported by troupe",
        "fact_path" => "local facts (fact_path) are not supported by troupe",
        "static" => "`static` is obsolete; use import_tasks (static) or include_tasks (dynamic)",
        _ => return None,
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
        assert_eq!(closest("taks", PLAY_KEYS.iter().copied()), Some("tasks"));
        assert_eq!(closest("registr", TASK_KEYS.iter().copied()), Some("register"));
        assert_eq!(closest("zzzz", PLAY_KEYS.iter().copied()), None);
        // Short words need a closer match, so `foo` is not `too`-like keyword noise.
        assert_eq!(closest("xyz", ["args"]), None);
    }

    #[test]
    fn reasons_for_refused_keywords() {
        assert!(unsupported_reason("async").unwrap().contains("not supported by troupe (yet)"));
        assert!(unsupported_reason("vars_prompt").unwrap().contains("-e"));
        assert!(unsupported_reason("when").is_none());
    }
}
