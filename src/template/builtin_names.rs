//! Every builtin filter and test also answers to its `ansible.builtin.` name
//! (`ansible.builtin.intersect`, `is ansible.builtin.link_exists`), as in Ansible, where Jinja's
//! own filters and tests are reachable that way too. One forwarding registration per name;
//! lookups strip the prefix where they are dispatched (`lookups::run`).

use minijinja::value::{Rest, Value};
use minijinja::{Environment, State};

/// Ansible's and Jinja's filter names that troupe provides.
pub const FILTERS: &[&str] = &[
    // ansible.builtin (core, mathstuff, urls, urlsplit, encryption)
    "b64decode",
    "b64encode",
    "basename",
    "bool",
    "checksum",
    "combine",
    "commonpath",
    "comment",
    "dict2items",
    "difference",
    "dirname",
    "expanduser",
    "extract",
    "fileglob",
    "flatten",
    "from_json",
    "from_yaml",
    "from_yaml_all",
    "hash",
    "human_readable",
    "human_to_bytes",
    "intersect",
    "items2dict",
    "log",
    "mandatory",
    "md5",
    "password_hash",
    "path_join",
    "pow",
    "product",
    "quote",
    "random",
    "realpath",
    "regex_escape",
    "regex_findall",
    "regex_replace",
    "regex_search",
    "rekey_on_member",
    "relpath",
    "root",
    "sha1",
    "shuffle",
    "splitext",
    "strftime",
    "subelements",
    "symmetric_difference",
    "ternary",
    "to_json",
    "to_nice_json",
    "to_nice_yaml",
    "to_uuid",
    "to_yaml",
    "type_debug",
    "union",
    "unvault",
    "urldecode",
    "urlsplit",
    "vault",
    "zip",
    "zip_longest",
    "version_compare",
    // Jinja's builtins (overridden by Ansible's where both exist)
    "abs",
    "attr",
    "batch",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "split",
];

/// Ansible's and Jinja's test names that troupe provides.
pub const TESTS: &[&str] = &[
    // ansible.builtin
    "abs",
    "all",
    "any",
    "change",
    "changed",
    "contains",
    "directory",
    "exists",
    "failed",
    "failure",
    "falsy",
    "file",
    "finished",
    "is_abs",
    "is_dir",
    "is_file",
    "is_link",
    "is_mount",
    "is_same_file",
    "isnan",
    "issubset",
    "issuperset",
    "link",
    "link_exists",
    "match",
    "mount",
    "nan",
    "reachable",
    "regex",
    "same_file",
    "search",
    "skip",
    "skipped",
    "started",
    "subset",
    "succeeded",
    "success",
    "successful",
    "superset",
    "timedout",
    "truthy",
    "unreachable",
    "vault_encrypted",
    "vaulted_file",
    "version",
    "version_compare",
    // Jinja's builtins
    "boolean",
    "defined",
    "divisibleby",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "sameas",
    "sequence",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// Register `ansible.builtin.<name>` for every name above, forwarding to `<name>`.
pub fn register(env: &mut Environment<'static>) {
    for name in FILTERS {
        env.add_filter(format!("ansible.builtin.{name}"), move |state: &State, args: Rest<Value>| {
            state.apply_filter(name, &args)
        });
    }
    for name in TESTS {
        env.add_test(format!("ansible.builtin.{name}"), move |state: &State, args: Rest<Value>| {
            state.perform_test(name, &args)
        });
    }
}

#[cfg(test)]
mod tests {
    use minijinja::{Environment, UndefinedBehavior};

    use super::{FILTERS, TESTS};

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        crate::template::filters::register(&mut env);
        env
    }

    #[test]
    fn prefixed_names_forward() {
        let out = env()
            .render_str(
                "{{ [1,2,3] | ansible.builtin.intersect([2,3,4]) }} {{ x | ansible.builtin.default('d') }} \
                 {{ 'A' | ansible.builtin.lower }} {{ 'x' is ansible.builtin.string }} \
                 {{ '/' is ansible.builtin.exists }} {{ {'a': 1} | ansible.builtin.to_json(indent=1) | length }}",
                (),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, "[2, 3] d a True True 11");
    }

    /// Every listed name resolves: an unknown one would fail as "unknown filter/test".
    #[test]
    fn every_listed_name_exists() {
        let env = env();
        let unknown = |src: String, kind| env.render_str(&src, ()).is_err_and(|e| e.kind() == kind);
        let missing: Vec<String> = FILTERS
            .iter()
            .filter(|n| unknown(format!("{{{{ 1 | {n} }}}}"), minijinja::ErrorKind::UnknownFilter))
            .chain(TESTS.iter().filter(|n| unknown(format!("{{{{ 1 is {n} }}}}"), minijinja::ErrorKind::UnknownTest)))
            .map(|n| n.to_string())
            .collect();
        assert!(missing.is_empty(), "not provided: {missing:?}");
    }
}
