//! Ansible's tag rules, exactly: `always`, `never`, `tagged`, `untagged`, `all`.

use std::collections::BTreeSet;

/// `--tags` and `--skip-tags` as given (comma lists already split).
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl TagFilter {
    pub fn new(only: Vec<String>, skip: Vec<String>) -> TagFilter {
        TagFilter { only, skip }
    }

    fn only_set(&self) -> BTreeSet<&str> {
        if self.only.is_empty() {
            ["all"].into_iter().collect()
        } else {
            self.only.iter().map(String::as_str).collect()
        }
    }

    /// Should a task with these effective tags run? (Ansible's `Taggable.evaluate_tags`.)
    pub fn selects(&self, task_tags: &BTreeSet<String>) -> bool {
        let untagged: BTreeSet<&str> = ["untagged"].into_iter().collect();
        let tags: BTreeSet<&str> =
            if task_tags.is_empty() { untagged.clone() } else { task_tags.iter().map(String::as_str).collect() };
        let only = self.only_set();
        let skip: BTreeSet<&str> = self.skip.iter().map(String::as_str).collect();

        let mut run = tags.contains("always")
            || (only.contains("all") && !tags.contains("never"))
            || !tags.is_disjoint(&only)
            || (only.contains("tagged") && tags != untagged && !tags.contains("never"));
        if run && !skip.is_empty() {
            if skip.contains("all") {
                if !tags.contains("always") || skip.contains("always") {
                    run = false;
                }
            } else if !tags.is_disjoint(&skip) || (skip.contains("tagged") && tags != untagged) {
                run = false;
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tags: &[&str]) -> BTreeSet<String> {
        tags.iter().map(|s| s.to_string()).collect()
    }
    fn f(only: &[&str], skip: &[&str]) -> TagFilter {
        TagFilter::new(only.iter().map(|s| s.to_string()).collect(), skip.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn default_runs_all_but_never() {
        assert!(f(&[], &[]).selects(&t(&[])));
        assert!(f(&[], &[]).selects(&t(&["a"])));
        assert!(!f(&[], &[]).selects(&t(&["never"])));
        assert!(!f(&[], &[]).selects(&t(&["never", "debug"])));
    }

    #[test]
    fn only_tags() {
        assert!(f(&["a"], &[]).selects(&t(&["a", "b"])));
        assert!(!f(&["a"], &[]).selects(&t(&["b"])));
        assert!(!f(&["a"], &[]).selects(&t(&[])));
        assert!(f(&["a"], &[]).selects(&t(&["always"])));
        assert!(f(&["debug"], &[]).selects(&t(&["never", "debug"])));
        assert!(f(&["untagged"], &[]).selects(&t(&[])));
        assert!(f(&["tagged"], &[]).selects(&t(&["x"])));
        assert!(!f(&["tagged"], &[]).selects(&t(&[])));
    }

    #[test]
    fn skip_tags() {
        assert!(!f(&[], &["a"]).selects(&t(&["a"])));
        assert!(f(&[], &["a"]).selects(&t(&["b"])));
        assert!(!f(&[], &["always"]).selects(&t(&["always"])));
        assert!(f(&[], &["all"]).selects(&t(&["always"])));
        assert!(!f(&[], &["all"]).selects(&t(&["x"])));
        assert!(!f(&[], &["tagged"]).selects(&t(&["x"])));
        assert!(f(&[], &["tagged"]).selects(&t(&[])));
    }
}
