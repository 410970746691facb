//! `ansible.builtin.iptables`: one rule, a chain's policy, a flush, or a user chain, decided as
//! ansible-core 2.19 decides: `iptables -C` says whether the rule is there, `-L`'s header gives
//! the policy and whether the chain exists. The rule's words come from the arguments in
//! Ansible's order (`rule`), so `-C` matches what Ansible would have added. `ip_version: both`
//! does the same with `ip6tables`. As in Ansible, `flush` always reports a change, and a chain
//! asked present or absent without a rule reports the change even when `chain_management` is
//! false (it is then only not made or removed).

use async_trait::async_trait;

use super::args::{ArgSpec, Args, Opt};
use super::script_out::failed_with;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd, Output};
use crate::value::{to_text, Map, Value};

const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];
const LOG_LEVELS: [&str; 16] =
    ["0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"];
const SET_FLAGS: [&str; 6] = ["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"];

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("table", "the table").choices(&TABLES).default("filter"),
        Opt::str("state", "whether the rule (or chain) is there").choices(&["absent", "present"]).default("present"),
        Opt::str("action", "a new rule is appended or inserted").choices(&["append", "insert"]).default("append"),
        Opt::str("ip_version", "iptables, ip6tables or both").choices(&["ipv4", "ipv6", "both"]).default("ipv4"),
        Opt::str("chain", "the chain (required unless flush)"),
        Opt::str("rule_num", "where `insert` puts the rule"),
        Opt::str("protocol", "-p"),
        Opt::str("wait", "-w: seconds to wait for the xtables lock"),
        Opt::str("source", "-s"),
        Opt::str("to_source", "--to-source"),
        Opt::str("destination", "-d"),
        Opt::str("to_destination", "--to-destination"),
        Opt::list("match", "-m, each").default("[]"),
        Opt::dict("tcp_flags", "--tcp-flags: `flags` and `flags_set` lists"),
        Opt::str("jump", "-j"),
        Opt::str("gateway", "--gateway (jump TEE)"),
        Opt::str("log_prefix", "--log-prefix (jump LOG)"),
        Opt::str("log_level", "--log-level (jump LOG)").choices(&LOG_LEVELS),
        Opt::str("goto", "-g"),
        Opt::str("in_interface", "-i"),
        Opt::str("out_interface", "-o"),
        Opt::str("fragment", "-f"),
        Opt::str("set_counters", "-c"),
        Opt::str("source_port", "--source-port"),
        Opt::str("destination_port", "--destination-port"),
        Opt::list("destination_ports", "-m multiport --dports").default("[]"),
        Opt::str("to_ports", "--to-ports"),
        Opt::str("set_dscp_mark", "--set-dscp"),
        Opt::str("set_dscp_mark_class", "--set-dscp-class"),
        Opt::str("comment", "-m comment --comment"),
        Opt::list("ctstate", "-m conntrack --ctstate").default("[]"),
        Opt::str("src_range", "-m iprange --src-range"),
        Opt::str("dst_range", "-m iprange --dst-range"),
        Opt::str("match_set", "-m set --match-set"),
        Opt::str("match_set_flags", "the flags of match_set").choices(&SET_FLAGS),
        Opt::str("limit", "-m limit --limit"),
        Opt::str("limit_burst", "-m limit --limit-burst"),
        Opt::str("uid_owner", "-m owner --uid-owner"),
        Opt::str("gid_owner", "-m owner --gid-owner"),
        Opt::str("reject_with", "--reject-with (jump REJECT when no jump)"),
        Opt::str("icmp_type", "--icmp-type / --icmpv6-type"),
        Opt::str("syn", "--syn").choices(&["ignore", "match", "negate"]).default("ignore"),
        Opt::bool("flush", "flush the chain (or the table)").default("false"),
        Opt::str("policy", "the chain's policy").choices(&["ACCEPT", "DROP", "QUEUE", "RETURN"]),
        Opt::bool("chain_management", "make or remove the chain when no rule is given").default("false"),
        Opt::bool("numeric", "-L --numeric when reading a chain").default("false"),
    ]],
    ..ArgSpec::NONE
};

pub struct Iptables;

/// The arguments, as strings the way Ansible's `type='str'` options hold them.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub table: String,
    pub state_present: bool,
    pub insert: bool,
    pub ip_version: String,
    pub chain: Option<String>,
    pub rule_num: Option<String>,
    pub wait: Option<String>,
    pub flush: bool,
    pub policy: Option<String>,
    pub chain_management: bool,
    pub numeric: bool,
    pub jump: Option<String>,
    /// Every other `str` option by name, and the lists.
    pub strs: std::collections::HashMap<&'static str, String>,
    pub matches: Vec<String>,
    pub ctstate: Vec<String>,
    pub destination_ports: Vec<String>,
    pub tcp_flags: Option<(Vec<String>, Vec<String>)>,
    pub syn: String,
}

const STRS: [&str; 30] = [
    "protocol",
    "source",
    "to_source",
    "destination",
    "to_destination",
    "gateway",
    "log_prefix",
    "log_level",
    "goto",
    "in_interface",
    "out_interface",
    "fragment",
    "set_counters",
    "source_port",
    "destination_port",
    "to_ports",
    "set_dscp_mark",
    "set_dscp_mark_class",
    "comment",
    "src_range",
    "dst_range",
    "match_set",
    "match_set_flags",
    "limit",
    "limit_burst",
    "uid_owner",
    "gid_owner",
    "reject_with",
    "icmp_type",
    "chain",
];

impl Params {
    fn parse(a: &Args) -> Result<Params, ModuleError> {
        // Ansible's order: mutually exclusive, then required_if, then required_by.
        for pair in [["set_dscp_mark", "set_dscp_mark_class"], ["flush", "policy"]] {
            if pair.iter().all(|n| a.has(n)) {
                return Err(ModuleError::Args(format!("parameters are mutually exclusive: {}", pair.join("|"))));
            }
        }
        let mut p = Params {
            table: a.choice("table", &TABLES)?.unwrap_or("filter").into(),
            state_present: a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present",
            insert: a.choice("action", &["append", "insert"])? == Some("insert"),
            ip_version: a.choice("ip_version", &["ipv4", "ipv6", "both"])?.unwrap_or("ipv4").into(),
            chain: a.str("chain")?,
            rule_num: a.str("rule_num")?,
            wait: a.str("wait")?,
            flush: a.bool("flush", false)?,
            policy: a.choice("policy", &["ACCEPT", "DROP", "QUEUE", "RETURN"])?.map(String::from),
            chain_management: a.bool("chain_management", false)?,
            numeric: a.bool("numeric", false)?,
            jump: a.str("jump")?,
            syn: a.choice("syn", &["ignore", "match", "negate"])?.unwrap_or("ignore").into(),
            matches: a.list("match")?.unwrap_or_default(),
            ctstate: a.list("ctstate")?.unwrap_or_default(),
            destination_ports: a.list("destination_ports")?.unwrap_or_default(),
            ..Params::default()
        };
        a.choice("log_level", &LOG_LEVELS)?;
        a.choice("match_set_flags", &SET_FLAGS)?;
        for name in STRS {
            if let Some(v) = a.str(name)? {
                p.strs.insert(name, v);
            }
        }
        if let Some(v) = a.get("tcp_flags") {
            let Value::Object(m) = v else {
                return Err(a.error(format_args!("argument 'tcp_flags' must be a dict, got {}", to_text(v))));
            };
            let list = |k: &str| -> Option<Vec<String>> {
                match m.get(k)? {
                    Value::Array(items) => Some(items.iter().map(to_text).collect()),
                    Value::Null => None,
                    other => Some(to_text(other).split(',').map(|s| s.trim().to_string()).collect()),
                }
            };
            if let (Some(f), Some(s)) = (list("flags"), list("flags_set")) {
                p.tcp_flags = Some((f, s));
            }
        }
        if p.jump.as_deref().is_some_and(|j| j == "TEE" || j == "tee") && !a.has("gateway") {
            let j = p.jump.clone().unwrap_or_default();
            return Err(ModuleError::Args(format!("jump is {j} but all of the following are missing: gateway")));
        }
        if !p.flush && p.chain.is_none() {
            return Err(ModuleError::Args("flush is False but all of the following are missing: chain".into()));
        }
        for dscp in ["set_dscp_mark", "set_dscp_mark_class"] {
            if a.has(dscp) && p.jump.is_none() {
                return Err(ModuleError::Args(format!("missing parameter(s) required by '{dscp}': jump")));
            }
        }
        Ok(p)
    }

    fn s(&self, name: &str) -> Option<&str> {
        self.strs.get(name).map(String::as_str)
    }

    /// Ansible's `construct_rule`, word for word.
    pub fn rule(&self) -> Vec<String> {
        let mut r: Vec<String> = Vec::new();
        let param = |r: &mut Vec<String>, v: Option<&str>, flag: &str| {
            if let Some(v) = v {
                match v.strip_prefix('!') {
                    Some(rest) => r.extend(["!".into(), flag.into(), rest.into()]),
                    None => r.extend([flag.into(), v.into()]),
                }
            }
        };
        let m = |r: &mut Vec<String>, on: bool, name: &str| {
            if on {
                r.extend(["-m".into(), name.into()]);
            }
        };
        let match_flag = |r: &mut Vec<String>, v: Option<&str>, flag: &str, negatable: bool| match v {
            Some("match") => r.push(flag.into()),
            Some("negate") if negatable => r.extend(["!".into(), flag.into()]),
            _ => {}
        };
        let csv = |r: &mut Vec<String>, v: &[String], flag: &str| {
            if !v.is_empty() {
                r.extend([flag.into(), v.join(",")]);
            }
        };
        let jump_to = |r: &mut Vec<String>, on: bool, target: &str| {
            if on {
                r.extend(["-j".into(), target.into()]);
            }
        };
        let has = |name: &str| self.s(name).is_some_and(|v| !v.is_empty());
        param(&mut r, self.s("protocol"), "-p");
        param(&mut r, self.s("source"), "-s");
        param(&mut r, self.s("destination"), "-d");
        for x in &self.matches {
            param(&mut r, Some(x), "-m");
        }
        if let Some((f, s)) = &self.tcp_flags {
            r.extend(["--tcp-flags".into(), f.join(","), s.join(",")]);
        }
        param(&mut r, self.jump.as_deref(), "-j");
        if self.jump.as_deref().is_some_and(|j| j.eq_ignore_ascii_case("tee")) {
            param(&mut r, self.s("gateway"), "--gateway");
        }
        param(&mut r, self.s("log_prefix"), "--log-prefix");
        param(&mut r, self.s("log_level"), "--log-level");
        param(&mut r, self.s("to_destination"), "--to-destination");
        m(&mut r, !self.destination_ports.is_empty(), "multiport");
        csv(&mut r, &self.destination_ports, "--dports");
        for (name, flag) in [
            ("to_source", "--to-source"),
            ("goto", "-g"),
            ("in_interface", "-i"),
            ("out_interface", "-o"),
            ("fragment", "-f"),
            ("set_counters", "-c"),
            ("source_port", "--source-port"),
            ("destination_port", "--destination-port"),
            ("to_ports", "--to-ports"),
            ("set_dscp_mark", "--set-dscp"),
        ] {
            param(&mut r, self.s(name), flag);
        }
        let not_dscp_jump = !self.jump.as_deref().is_some_and(|j| j.eq_ignore_ascii_case("dscp"));
        jump_to(&mut r, has("set_dscp_mark") && not_dscp_jump, "DSCP");
        param(&mut r, self.s("set_dscp_mark_class"), "--set-dscp-class");
        jump_to(&mut r, has("set_dscp_mark_class") && not_dscp_jump, "DSCP");
        match_flag(&mut r, Some(&self.syn), "--syn", true);
        if self.matches.iter().any(|x| x == "conntrack") {
            csv(&mut r, &self.ctstate, "--ctstate");
        } else if self.matches.iter().any(|x| x == "state") {
            csv(&mut r, &self.ctstate, "--state");
        } else if !self.ctstate.is_empty() {
            m(&mut r, true, "conntrack");
            csv(&mut r, &self.ctstate, "--ctstate");
        }
        let ranges = |r: &mut Vec<String>| {
            param(r, self.s("src_range"), "--src-range");
            param(r, self.s("dst_range"), "--dst-range");
        };
        if self.matches.iter().any(|x| x == "iprange") {
            ranges(&mut r);
        } else if has("src_range") || has("dst_range") {
            m(&mut r, true, "iprange");
            ranges(&mut r);
        }
        let set_flags = |r: &mut Vec<String>| {
            if let Some(f) = self.s("match_set_flags") {
                r.push(f.into());
            }
        };
        if self.matches.iter().any(|x| x == "set") {
            param(&mut r, self.s("match_set"), "--match-set");
            set_flags(&mut r);
        } else if has("match_set") {
            m(&mut r, true, "set");
            param(&mut r, self.s("match_set"), "--match-set");
            set_flags(&mut r);
        }
        m(&mut r, has("limit") || has("limit_burst"), "limit");
        param(&mut r, self.s("limit"), "--limit");
        param(&mut r, self.s("limit_burst"), "--limit-burst");
        for (name, flag) in [("uid_owner", "--uid-owner"), ("gid_owner", "--gid-owner")] {
            m(&mut r, has(name), "owner");
            match_flag(&mut r, self.s(name), flag, true);
            param(&mut r, self.s(name), flag);
        }
        if self.jump.is_none() {
            jump_to(&mut r, has("reject_with"), "REJECT");
            jump_to(&mut r, has("set_dscp_mark_class"), "DSCP");
            jump_to(&mut r, has("set_dscp_mark"), "DSCP");
        }
        param(&mut r, self.s("reject_with"), "--reject-with");
        let icmp = match self.ip_version.as_str() {
            "ipv6" => "--icmpv6-type",
            // As Ansible: one word holding both flags.
            "both" => "--icmp-type --icmpv6-type",
            _ => "--icmp-type",
        };
        param(&mut r, self.s("icmp_type"), icmp);
        m(&mut r, has("comment"), "comment");
        param(&mut r, self.s("comment"), "--comment");
        r
    }

    /// `BIN -t TABLE ACTION CHAIN [RULE_NUM] [-w WAIT] [RULE]`, as Ansible's `push_arguments`.
    fn command(&self, bin: &str, action: &str, wait: Option<&str>, rule: bool) -> Vec<String> {
        let mut c = vec![bin.to_string(), "-t".into(), self.table.clone(), action.into()];
        if let Some(chain) = &self.chain {
            c.push(chain.clone());
        }
        if action == "-I" {
            if let Some(n) = self.rule_num.as_deref().filter(|n| !n.is_empty()) {
                c.push(n.into());
            }
        }
        if let Some(w) = wait.filter(|w| !w.is_empty()) {
            c.extend(["-w".into(), w.into()]);
        }
        if rule {
            c.extend(self.rule());
        }
        c
    }

    fn list_command(&self, bin: &str, wait: Option<&str>) -> Vec<String> {
        let mut c = self.command(bin, "-L", wait, false);
        if self.numeric {
            c.push("--numeric".into());
        }
        c
    }
}

/// iptables' version from `iptables --version` (`iptables v1.8.9 (nf_tables)`), as numbers.
pub fn version(text: &str) -> Vec<u64> {
    let after = text.split_once('v').map(|(_, v)| v).unwrap_or_default();
    after.split(|c: char| !c.is_ascii_digit()).take_while(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// What `-w` becomes for this iptables: kept from 1.6.0, bare from 1.4.20, dropped before.
pub fn wait_for(version: &[u64], wait: Option<&str>) -> Option<String> {
    let wait = wait?;
    if version >= [1, 6, 0].as_slice() {
        Some(wait.to_string())
    } else if version >= [1, 4, 20].as_slice() {
        Some(String::new())
    } else {
        None
    }
}

/// The policy in `-L`'s first line: `Chain INPUT (policy ACCEPT)`.
pub fn policy_of(listing: &str) -> Option<String> {
    let head = listing.lines().next()?;
    let at = head.find("(policy ")? + "(policy ".len();
    let word: String = head[at..].chars().take_while(|c| c.is_ascii_uppercase()).collect();
    (!word.is_empty() && head[at + word.len()..].starts_with(')')).then_some(word)
}

fn shell(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// A command Ansible runs with `check_rc=True`: its failure is the command's stderr.
fn check_rc(out: &Output, argv: &[String]) -> Result<(), ModuleError> {
    if out.rc == 0 {
        return Ok(());
    }
    let msg = match out.stderr_text().trim() {
        "" => out.stdout_text().trim().to_string(),
        e => e.to_string(),
    };
    let mut err = failed_with(msg, out);
    if let ModuleError::Failed { result, .. } = &mut err {
        result.insert("cmd".into(), Value::from(argv.join(" ")));
    }
    Err(err)
}

#[async_trait]
impl Module for Iptables {
    fn name(&self) -> &'static str {
        "iptables"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("iptables", args, &SPEC)?;
        let mut p = Params::parse(&a)?;
        let rule_text = p.rule().join(" ");
        if p.s("log_prefix").is_some() || p.s("log_level").is_some() {
            match p.jump.as_deref() {
                None => p.jump = Some("LOG".into()),
                Some("LOG") => {}
                Some(_) => {
                    return Err(ModuleError::failed("Logging options can only be used with the LOG jump target."))
                }
            }
        }
        let bins: &[&str] = match p.ip_version.as_str() {
            "both" => &["iptables", "ip6tables"],
            "ipv6" => &["ip6tables"],
            _ => &["iptables"],
        };
        let mut todo: Vec<Vec<String>> = Vec::new();
        let mut changed = false;
        for bin in bins {
            // As Ansible's get_bin_path: PATH, then the sbin folders.
            let find = format!(
                "PATH=\"$PATH:/sbin:/usr/sbin:/usr/local/sbin\"\np=$(command -v {bin}) || {{ echo \"Failed to find required executable \\\"{bin}\\\" in paths: $PATH\" >&2; exit 127; }}\necho \"$p\"\n\"$p\" --version"
            );
            let out = cx.run(Cmd::new(find).read_only()).await?;
            if out.rc != 0 {
                let text = out.stderr_text();
                return Err(failed_with(text.trim().to_string(), &out));
            }
            let text = out.stdout_text();
            let mut lines = text.lines();
            let path = lines.next().unwrap_or(bin).to_string();
            let wait = wait_for(&version(lines.next().unwrap_or_default()), p.wait.as_deref());
            let wait = wait.as_deref();
            let run = |argv: Vec<String>| async move {
                let out = cx.run(Cmd::new(shell(&argv)).read_only()).await?;
                Ok::<_, ModuleError>((out, argv))
            };
            if p.flush {
                changed = true;
                todo.push(p.command(&path, "-F", wait, false));
            } else if let Some(policy) = p.policy.clone() {
                let (out, argv) = run(p.list_command(&path, wait)).await?;
                check_rc(&out, &argv)?;
                let current =
                    policy_of(&out.stdout_text()).ok_or_else(|| ModuleError::failed("Can't detect current policy"))?;
                if current != policy {
                    changed = true;
                    let mut c = p.command(&path, "-P", wait, false);
                    c.push(policy);
                    todo.push(c);
                }
            } else if rule_text.is_empty() {
                let (out, _) = run(p.list_command(&path, wait)).await?;
                let present = out.rc == 0;
                if present != p.state_present {
                    changed = true;
                    if p.chain_management {
                        todo.push(p.command(&path, if p.state_present { "-N" } else { "-X" }, wait, false));
                    }
                }
            } else {
                let (out, _) = run(p.command(&path, "-C", wait, true)).await?;
                let present = out.rc == 0;
                if present != p.state_present {
                    changed = true;
                    let action = match (p.state_present, p.insert) {
                        (false, _) => "-D",
                        (true, true) => "-I",
                        (true, false) => "-A",
                    };
                    todo.push(p.command(&path, action, wait, true));
                }
            }
        }
        let mut q = Query::ok();
        let text = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
        for (k, v) in [
            ("failed", Value::Bool(false)),
            ("ip_version", Value::from(p.ip_version.clone())),
            ("table", Value::from(p.table.clone())),
            ("chain", text(&p.chain)),
            ("flush", Value::Bool(p.flush)),
            ("rule", Value::from(rule_text)),
            ("state", Value::from(if p.state_present { "present" } else { "absent" })),
            ("chain_management", Value::Bool(p.chain_management)),
            ("wait", text(&p.wait)),
        ] {
            q.result.insert(k.into(), v);
        }
        q.changed = changed;
        // Possibly empty: a chain reported missing without chain_management is not made.
        q.change = Change::new(todo);
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let todo: Vec<Vec<String>> = q.change.take("iptables")?;
        for argv in todo {
            let out = cx.run(Cmd::new(shell(&argv))).await?;
            check_rc(&out, &argv)?;
        }
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: serde_json::Value) -> Result<Params, ModuleError> {
        Params::parse(&Args::parse("iptables", &crate::module_api::testutil::to_map(v), &SPEC)?)
    }

    #[test]
    fn rules_are_worded_as_ansible_words_them() {
        let p = params(serde_json::json!({"chain": "INPUT", "protocol": "tcp", "destination_port": 8080, "jump": "ACCEPT", "comment": "web ok", "ctstate": ["NEW", "ESTABLISHED"]})).unwrap();
        assert_eq!(
            p.rule().join(" "),
            "-p tcp -j ACCEPT --destination-port 8080 -m conntrack --ctstate NEW,ESTABLISHED -m comment --comment web ok"
        );
        let p = params(serde_json::json!({"chain": "INPUT", "source": "!10.0.0.0/8", "match": ["state"], "ctstate": ["NEW"], "reject_with": "tcp-reset", "destination_ports": ["80", "443:445"]})).unwrap();
        assert_eq!(
            p.rule().join(" "),
            "! -s 10.0.0.0/8 -m state -m multiport --dports 80,443:445 --state NEW -j REJECT --reject-with tcp-reset"
        );
        let p = params(serde_json::json!({"chain": "OUTPUT", "uid_owner": "0", "limit": "2/second", "tcp_flags": {"flags": ["ALL"], "flags_set": ["ACK", "SYN"]}}))
            .unwrap();
        assert_eq!(p.rule().join(" "), "--tcp-flags ALL ACK,SYN -m limit --limit 2/second -m owner --uid-owner 0");
        let p = params(serde_json::json!({"chain": "INPUT"})).unwrap();
        assert!(p.rule().is_empty());
    }

    #[test]
    fn commands_put_rule_num_and_wait_where_ansible_does() {
        let p = params(serde_json::json!({"chain": "INPUT", "action": "insert", "rule_num": "3", "wait": "5", "jump": "DROP", "table": "filter"})).unwrap();
        assert_eq!(
            p.command("/usr/sbin/iptables", "-I", Some("5"), true).join(" "),
            "/usr/sbin/iptables -t filter -I INPUT 3 -w 5 -j DROP"
        );
        assert_eq!(p.command("iptables", "-C", Some("5"), true).join(" "), "iptables -t filter -C INPUT -w 5 -j DROP");
        assert_eq!(p.command("iptables", "-C", Some(""), true).join(" "), "iptables -t filter -C INPUT -j DROP");
    }

    #[test]
    fn argument_rules_fail_with_ansibles_messages() {
        let e = |y: serde_json::Value| params(y).unwrap_err().to_string();
        assert!(e(serde_json::json!({"flush": true, "policy": "DROP", "chain": "INPUT"}))
            .contains("parameters are mutually exclusive: flush|policy"));
        assert!(e(serde_json::json!({"jump": "ACCEPT"}))
            .contains("flush is False but all of the following are missing: chain"));
        assert!(e(serde_json::json!({"chain": "INPUT", "jump": "TEE"}))
            .contains("jump is TEE but all of the following are missing: gateway"));
        assert!(e(serde_json::json!({"chain": "INPUT", "set_dscp_mark": "1"}))
            .contains("missing parameter(s) required by 'set_dscp_mark': jump"));
        assert!(e(serde_json::json!({"chain": "INPUT", "table": "nope"})).contains("table"));
        assert!(params(serde_json::json!({"flush": true})).is_ok());
    }

    #[test]
    fn versions_policies_and_wait() {
        assert_eq!(version("iptables v1.8.9 (nf_tables)"), vec![1, 8, 9]);
        assert_eq!(wait_for(&[1, 8, 9], Some("5")).as_deref(), Some("5"));
        assert_eq!(wait_for(&[1, 4, 21], Some("5")).as_deref(), Some(""));
        assert_eq!(wait_for(&[1, 4, 7], Some("5")), None);
        assert_eq!(wait_for(&[1, 8, 9], None), None);
        assert_eq!(policy_of("Chain INPUT (policy DROP)\ntarget"), Some("DROP".into()));
        assert_eq!(policy_of("Chain MINE (1 references)\n"), None);
    }
}
