//! `community.general.ini_file`: one option (or section) of an INI file on the target. The
//! edit is community.general's own algorithm, line for line (`edit`), so the file it leaves,
//! `msg` and `changed` are the ones Ansible gives; the file is read, edited on the controller
//! and written back atomically only when it differs.

use async_trait::async_trait;
use regex::Regex;

use super::args::{ArgSpec, Args};
use super::content::Content;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::{Ctx, Diff, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{to_text, Map, Value};

const OWN: &[&str] = &[
    "path",
    "section",
    "section_has_values",
    "option",
    "value",
    "values",
    "backup",
    "state",
    "exclusive",
    "no_extra_spaces",
    "ignore_spaces",
    "allow_no_value",
    "modify_inactive_option",
    "create",
    "follow",
];
const FILE: &[&str] =
    &["mode", "owner", "group", "seuser", "serole", "setype", "selevel", "unsafe_writes", "attributes"];
const SPEC: ArgSpec =
    ArgSpec { names: &[OWN, FILE], aliases: &[("dest", "path"), ("attr", "attributes")], ..ArgSpec::NONE };

pub struct IniFile;

/// `section_has_values` entry: the section must have `option` with one of `values` (any when empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub option: String,
    pub values: Vec<String>,
}

/// What to do to the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edit {
    pub section: Option<String>,
    pub section_has_values: Option<Vec<Condition>>,
    pub option: Option<String>,
    pub values: Vec<String>,
    pub present: bool,
    pub exclusive: bool,
    pub no_extra_spaces: bool,
    pub ignore_spaces: bool,
    pub allow_no_value: bool,
    pub modify_inactive_option: bool,
}

fn opt_re(option: &str, inactive: bool) -> Regex {
    let o = regex::escape(option);
    let pat = if inactive {
        format!(r"^( |\t)*([#;]?)( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)")
    } else {
        format!(r"^()()( |\t)*({o})( |\t)*(=|$)( |\t)*(.*)")
    };
    Regex::new(&pat).expect("escaped option makes a valid pattern")
}

/// Group 8 (the value) of a match, without the line's newline.
fn matched_value(re: &Regex, line: &str) -> Option<String> {
    re.captures(line.trim_end_matches('\n')).map(|c| c.get(8).map_or("", |m| m.as_str()).to_string())
}

fn has_values(conds: &Option<Vec<Condition>>, lines: &[String]) -> bool {
    let Some(conds) = conds else { return true };
    conds.iter().all(|c| {
        let re = opt_re(&c.option, true);
        lines.iter().any(|l| matched_value(&re, l).is_some_and(|v| c.values.is_empty() || c.values.contains(&v)))
    })
}

const FAKE: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// community.general's `do_ini` on the file's text: (changed, msg, new text).
pub fn edit(text: &str, e: &Edit) -> (bool, String, String) {
    let mut values: Vec<String> = Vec::new();
    for v in &e.values {
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    let mut changed = false;
    if lines.is_empty() {
        lines.push("\n".into());
    }
    if !lines.last().is_some_and(|l| l.ends_with('\n')) {
        if let Some(l) = lines.last_mut() {
            l.push('\n');
        }
        changed = true;
    }
    lines.insert(0, format!("[{FAKE}]"));
    lines.push("[".into());
    let section = e.section.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| FAKE.to_string());
    let mut within = false;
    let (mut start, mut end) = (0, 0);
    let mut msg = "OK".to_string();
    let fmt = |o: &str, v: &str| if e.no_extra_spaces { format!("{o}={v}\n") } else { format!("{o} = {v}\n") };
    let blank_or_comment = Regex::new(r"^[ \t]*([#;].*)?$").expect("valid");
    let section_re = Regex::new(&format!(r"^\[\s*{}\s*]", regex::escape(section.trim()))).expect("valid");
    for (i, line) in lines.iter().enumerate() {
        if within && line.starts_with('[') {
            if has_values(&e.section_has_values, &lines[start..i]) {
                end = i;
                break;
            }
            within = false;
            start = 0;
            end = 0;
        }
        if section_re.is_match(line) {
            within = true;
            start = i;
        }
    }
    let before: Vec<String> = lines[..start].to_vec();
    let mut sec: Vec<String> = lines[start..end].to_vec();
    let after: Vec<String> = lines[end..].to_vec();
    let mut touched = vec![false; sec.len()];
    let option = e.option.clone().filter(|o| !o.is_empty());
    let mut no_value_present = false;
    let update = |sec: &mut Vec<String>,
                  touched: &mut Vec<bool>,
                  i: usize,
                  newline: String,
                  changed: &mut bool,
                  msg: &mut String| {
        let mut differs = None;
        if e.ignore_spaces {
            let re = opt_re(option.as_deref().unwrap_or_default(), true);
            if let Some(c) = re.captures(sec[i].trim_end_matches('\n')) {
                if c.get(2).map_or(true, |m| m.as_str().is_empty()) {
                    differs = Some(matched_value(&re, &sec[i]) != matched_value(&re, &newline));
                }
            }
        }
        let differs = differs.unwrap_or(sec[i] != newline);
        if differs {
            sec[i] = newline;
            *changed = true;
            *msg = "option changed".into();
        }
        touched[i] = true;
    };
    if let Some(opt) = option.as_deref() {
        let re = opt_re(opt, e.modify_inactive_option);
        if e.present {
            for i in 0..sec.len() {
                let Some(v) = matched_value(&re, &sec[i]) else { continue };
                if !values.is_empty() && values.contains(&v) {
                    let newline = if v.is_empty() && e.allow_no_value {
                        no_value_present = true;
                        format!("{opt}\n")
                    } else {
                        fmt(opt, &v)
                    };
                    update(&mut sec, &mut touched, i, newline, &mut changed, &mut msg);
                    values.retain(|x| *x != v);
                } else if values.is_empty() && e.allow_no_value {
                    update(&mut sec, &mut touched, i, format!("{opt}\n"), &mut changed, &mut msg);
                    no_value_present = true;
                    break;
                }
            }
            if e.exclusive && !e.allow_no_value {
                if !values.is_empty() {
                    for i in 0..sec.len() {
                        if !touched[i] && re.is_match(sec[i].trim_end_matches('\n')) {
                            let v = values.remove(0);
                            update(&mut sec, &mut touched, i, fmt(opt, &v), &mut changed, &mut msg);
                            if values.is_empty() {
                                break;
                            }
                        }
                    }
                }
                for i in (1..sec.len()).rev() {
                    if !touched[i] && re.is_match(sec[i].trim_end_matches('\n')) {
                        sec.remove(i);
                        touched.remove(i);
                        changed = true;
                        msg = "option changed".into();
                    }
                }
            }
        }
    }
    if e.present {
        for i in (1..=sec.len()).rev() {
            if !blank_or_comment.is_match(sec[i - 1].trim_end_matches('\n')) {
                if let (Some(opt), false) = (option.as_deref(), values.is_empty()) {
                    for v in values.iter().rev() {
                        sec.insert(i, fmt(opt, v));
                        msg = "option added".into();
                        changed = true;
                    }
                } else if let (Some(opt), true, true, false) =
                    (option.as_deref(), values.is_empty(), e.allow_no_value, no_value_present)
                {
                    sec.insert(i, format!("{opt}\n"));
                    msg = "option added".into();
                    changed = true;
                }
                break;
            }
        }
    } else if let Some(opt) = option.as_deref() {
        let active = opt_re(opt, false);
        let kept: Vec<String> = sec
            .iter()
            .filter(|l| match matched_value(&active, l) {
                Some(v) => !(e.exclusive || values.contains(&v)),
                None => true,
            })
            .cloned()
            .collect();
        if (e.exclusive || !values.is_empty()) && kept != sec {
            changed = true;
            msg = "option changed".into();
            sec = kept;
        }
    } else if !sec.is_empty() {
        sec.clear();
        msg = "section removed".into();
        changed = true;
    }
    let mut out: Vec<String> = before.into_iter().chain(sec).chain(after).collect();
    out.remove(0);
    out.pop();
    if !within && e.present {
        out.push(format!("[{section}]\n"));
        msg = "section and option added".into();
        if let Some(conds) = &e.section_has_values {
            for c in conds {
                if Some(&c.option) != option.as_ref() {
                    if !c.values.is_empty() {
                        out.extend(c.values.iter().map(|v| fmt(&c.option, v)));
                    } else if e.allow_no_value {
                        out.push(format!("{}\n", c.option));
                    }
                } else if !e.exclusive {
                    for v in &c.values {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
            }
        }
        match option.as_deref() {
            Some(opt) if !values.is_empty() => out.extend(values.iter().map(|v| fmt(opt, v))),
            Some(opt) if e.allow_no_value => out.push(format!("{opt}\n")),
            _ => msg = "only section added".into(),
        }
        changed = true;
    }
    (changed, msg, out.concat())
}

fn parse(a: &Args) -> Result<Edit, ModuleError> {
    let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
    let allow_no_value = a.bool("allow_no_value", false)?;
    if a.has("value") && a.has("values") {
        return Err(a.error("parameters are mutually exclusive: value|values"));
    }
    let values = match a.str("value")? {
        Some(v) => vec![v],
        None => a.list("values")?.unwrap_or_default(),
    };
    if present && !allow_no_value && values.is_empty() && !a.has("value") {
        return Err(a.error("Parameter 'value(s)' must be defined if state=present and allow_no_value=False."));
    }
    let section_has_values = match a.get("section_has_values") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| {
                    let option = i
                        .get("option")
                        .map(to_text)
                        .ok_or_else(|| a.error("section_has_values: option is required"))?;
                    let values = match (i.get("value"), i.get("values")) {
                        (Some(v), _) if !v.is_null() => vec![to_text(v)],
                        (_, Some(Value::Array(vs))) => vs.iter().map(to_text).collect(),
                        _ => vec![],
                    };
                    Ok(Condition { option, values })
                })
                .collect::<Result<Vec<_>, ModuleError>>()?,
        ),
        Some(_) => return Err(a.error("section_has_values must be a list of dictionaries")),
    };
    Ok(Edit {
        section: a.str("section")?,
        section_has_values,
        option: a.str("option")?,
        values,
        present,
        exclusive: a.bool("exclusive", true)?,
        no_extra_spaces: a.bool("no_extra_spaces", false)?,
        ignore_spaces: a.bool("ignore_spaces", false)?,
        allow_no_value,
        modify_inactive_option: a.bool("modify_inactive_option", true)?,
    })
}

#[async_trait]
impl Module for IniFile {
    fn name(&self) -> &'static str {
        "ini_file"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("ini_file", args, &SPEC)?;
        let path = a.req_str("path")?;
        let e = parse(&a)?;
        let file = read_text(cx, &path).await?;
        if file.content.is_none() && !a.bool("create", true)? {
            return Err(ModuleError::Failed {
                msg: format!("Destination {path} does not exist!"),
                result: Map::from_iter([("rc".to_string(), Value::from(257))]),
            });
        }
        let old = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default());
        let old = old.strip_prefix('\u{feff}').unwrap_or(&old).to_string();
        let (changed, msg, new) = edit(&old, &e);
        let attrs = Attrs::new(a.mode("mode")?, a.str("owner")?, a.str("group")?);
        let opts = WriteOpts { backup: a.bool("backup", false)?, validate: None };
        let mut q = if changed || file.facts.exists() {
            let content = if changed { new.as_bytes() } else { file.content.as_deref().unwrap_or_default() };
            query_write(cx, &file.facts, &Content::Bytes(content), &attrs, &opts, true).await?
        } else {
            Query::ok()
        };
        q.result = Map::new();
        q.result.insert("msg".into(), msg.into());
        q.result.insert("path".into(), path.clone().into());
        if cx.diff && changed {
            q.diff = Some(Diff { path: format!("{path} (content)"), before: old, after: new });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let path = args.get("path").or_else(|| args.get("dest")).map(to_text).unwrap_or_default();
        if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
            let d = quote(&dir.to_string_lossy());
            super::script_out::run_ok(
                cx,
                Cmd::new(format!("[ -d {d} ] || mkdir -p -- {d}")),
                "creating the folder failed",
            )
            .await?;
        }
        let result = std::mem::take(&mut q.result);
        let written = apply_write(cx, q).await?;
        let mut out = result;
        if let Some(b) = written.get("backup_file") {
            out.insert("backup_file".into(), b.clone());
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "ini_file_tests.rs"]
mod tests;
