//! `getent`: a database of the host's name service (`passwd`, `group`, `hosts`, ...) read
//! with `getent`, as facts `getent_<database>` (key → the other fields; a key seen twice maps
//! to a list of records), as Ansible's module gives them. Reads only.

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::failed_with;
use super::{Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("database", "the database to read (`passwd`, `group`, `hosts`, `services`...)").required(),
        Opt::str("key", "one entry to read (unset: the whole database)"),
        Opt::str("service", "the NSS service to ask (`getent -s`)"),
        Opt::str("split", "the field separator (default `:` for passwd, shadow, group, gshadow; else blanks)"),
        Opt::bool("fail_key", "fail when the key is not found").default("true"),
    ]],
    ..ArgSpec::NONE
};

/// Databases whose fields are separated by `:`.
const COLON: [&str; 4] = ["passwd", "shadow", "group", "gshadow"];

pub struct Getent;

/// `getent`'s output as Ansible's module arranges it.
pub fn parse(out: &str, split: Option<&str>) -> Map {
    let mut tree = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in out.lines() {
        let record: Vec<String> = match split {
            Some(sep) => line.split(sep).map(String::from).collect(),
            None => line.split_whitespace().map(String::from).collect(),
        };
        let Some((key, rest)) = record.split_first() else { continue };
        let fields = Value::from(rest.to_vec());
        let count = seen.entry(key.clone()).or_insert(0);
        *count += 1;
        match (*count, tree.get_mut(key)) {
            (1, _) | (_, None) => {
                tree.insert(key.clone(), fields);
            }
            (2, Some(first)) => *first = Value::Array(vec![first.take(), fields]),
            (_, Some(Value::Array(list))) => list.push(fields),
            (_, Some(_)) => {}
        }
    }
    tree
}

#[async_trait]
impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("getent", args, &SPEC)?;
        let database = a.req_str("database")?;
        let key = a.str("key")?;
        let mut words = vec!["getent".to_string(), quote(&database)];
        if let Some(k) = &key {
            words.push(quote(k));
        }
        if let Some(s) = a.str("service")? {
            words.extend(["-s".to_string(), quote(&s)]);
        }
        let split = a.str("split")?.or_else(|| COLON.contains(&database.as_str()).then(|| ":".to_string()));
        let script = format!(
            "command -v getent >/dev/null 2>&1 || {{ echo 'Failed to find required executable \"getent\" in paths' >&2; exit 127; }}\n{}",
            words.join(" ")
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        let tree_name = format!("getent_{database}");
        let mut tree = Map::new();
        let msg = match out.rc {
            0 => None,
            1 => Some("Missing arguments, or database unknown."),
            2 => Some("One or more supplied key could not be found in the database."),
            3 => Some("Enumeration not supported on this database."),
            127 => return Err(failed_with(out.stderr_text().trim(), &out)),
            _ => Some("Unexpected failure!"),
        };
        match msg {
            None => tree = parse(&out.stdout_text(), split.as_deref()),
            Some(m) if out.rc == 2 && !a.bool("fail_key", true)? => {
                tree.insert(key.clone().unwrap_or_default(), Value::Null);
                let facts = Map::from_iter([(tree_name, Value::Object(tree))]);
                return Ok(Query::ok().with("msg", m).with_facts(facts));
            }
            Some(m) => return Err(ModuleError::failed(m)),
        }
        let facts = Map::from_iter([(tree_name, Value::Object(tree))]);
        Ok(Query::ok().with_facts(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[test]
    fn records_as_ansible_arranges_them() {
        let t = parse("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1::/:/sbin/nologin\n", Some(":"));
        assert_eq!(Value::Object(t)["root"], json!(["x", "0", "0", "root", "/root", "/bin/bash"]));
        let t = parse("::1  localhost ip6-localhost\n::1  localhost\n::1 x\n", None);
        assert_eq!(Value::Object(t), json!({"::1": [["localhost", "ip6-localhost"], ["localhost"], ["x"]]}));
    }

    #[tokio::test]
    async fn reads_the_local_passwd() {
        let h = Harness::new();
        let q = h.query(&Getent, json!({"database": "passwd", "key": "root"})).await.unwrap();
        assert!(!q.changed);
        assert_eq!(q.facts.unwrap()["getent_passwd"]["root"][1], "0");
        let err = h.query(&Getent, json!({"database": "passwd", "key": "no-such-user-troupe"})).await.unwrap_err();
        assert_eq!(err.to_string(), "One or more supplied key could not be found in the database.");
        let q = h
            .query(&Getent, json!({"database": "passwd", "key": "no-such-user-troupe", "fail_key": false}))
            .await
            .unwrap();
        assert_eq!(q.result["ansible_facts"], json!({"getent_passwd": {"no-such-user-troupe": null}}));
        let err = h.query(&Getent, json!({})).await.unwrap_err();
        assert!(err.to_string().contains("missing required arguments: database"), "{err}");
    }
}
