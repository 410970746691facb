//! `community.general.locale_gen`: locales compiled on the host. As community.general does on
//! a glibc system: a locale must be listed in `/usr/share/i18n/SUPPORTED` (or already be
//! available); `locale -a` says whether it is present; a change uncomments (or comments) its
//! line in `/etc/locale.gen` and runs `locale-gen`.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::script_out::{failed_with, run_ok};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const SPEC: ArgSpec = ArgSpec { names: &[&["name", "state"]], aliases: &[], ..ArgSpec::NONE };

pub struct LocaleGen;

/// `locale -a` spells encodings its own way (`en_US.utf8`): one spelling for comparing.
pub fn fix_case(name: &str) -> String {
    let mut n = name.to_string();
    for (s, r) in [
        (".utf8", ".UTF-8"),
        (".eucjp", ".EUC-JP"),
        (".iso885915", ".ISO-8859-15"),
        (".cp1251", ".CP1251"),
        (".koi8r", ".KOI8-R"),
        (".armscii8", ".ARMSCII-8"),
        (".euckr", ".EUC-KR"),
        (".gbk", ".GBK"),
        (".gb18030", ".GB18030"),
        (".euctw", ".EUC-TW"),
    ] {
        n = n.replace(s, r);
    }
    n
}

/// Locales of `names` that `locale -a` does not list.
pub fn not_present<'a>(names: &'a [String], locale_a: &str) -> Vec<&'a String> {
    names.iter().filter(|n| !locale_a.lines().any(|l| fix_case(l) == fix_case(n))).collect()
}

/// Names listed in SUPPORTED (or locale.gen): `name charset` lines, commented or not.
pub fn supported(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start().trim_start_matches('#').trim_start();
        let mut parts = l.split_whitespace();
        parts.next() == Some(name) && parts.next().is_some() && parts.next().is_none()
    })
}

/// `/etc/locale.gen` with each name's line enabled (or commented out).
pub fn set_lines(text: &str, names: &[String], enabled: bool) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for n in names {
            let body = line.strip_prefix('#').unwrap_or(line).trim_start();
            if let Some(rest) =
                body.strip_prefix(n.as_str()).and_then(|r| r.strip_prefix(' ')).filter(|r| !r.trim().is_empty())
            {
                l = if enabled { format!("{n} {rest}") } else { format!("# {n} {rest}") };
            }
        }
        out.push_str(&l);
    }
    out
}

const MARK: &str = "\n@troupe-locale-a\n";

#[async_trait]
impl Module for LocaleGen {
    fn name(&self) -> &'static str {
        "locale_gen"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("locale_gen", args, &SPEC)?;
        let names =
            a.list("name")?.filter(|n| !n.is_empty()).ok_or_else(|| a.error("missing required arguments: name"))?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let script = format!(
            "[ -e /etc/locale.gen ] || {{ echo '/var/lib/locales/supported.d/ and /etc/locale.gen are missing. Is the package \"locales\" installed?' >&2; exit 3; }}\ncat /usr/share/i18n/SUPPORTED 2>/dev/null\nprintf {}\nLC_ALL=C locale -a\n",
            quote(MARK)
        );
        let out = cx.run(Cmd::new(script).read_only()).await?;
        if out.rc != 0 {
            return Err(failed_with(out.stderr_text().trim().to_string(), &out));
        }
        let text = out.stdout_text();
        let (supported_text, locale_a) = text.split_once(MARK).unwrap_or((&text, ""));
        let unknown: Vec<&String> = names.iter().filter(|n| !supported(supported_text, n)).collect();
        let unknown: Vec<String> =
            not_present(&unknown.into_iter().cloned().collect::<Vec<_>>(), locale_a).into_iter().cloned().collect();
        if !unknown.is_empty() {
            return Err(ModuleError::failed(format!(
                "The following locales you have entered are not available on your system: {}",
                unknown.join(", ")
            )));
        }
        let is_present = not_present(&names, locale_a).is_empty();
        let mut q = Query::ok();
        q.result.insert("name".into(), Value::Array(names.iter().cloned().map(Value::from).collect()));
        q.result.insert("mechanism".into(), "glibc".into());
        q.result.insert("ubuntu_mode".into(), false.into());
        if is_present != present {
            q.changed = true;
            q.change = Change::new((names, present));
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let (names, present): (Vec<String>, bool) = q.change.take("locale_gen")?;
        let file = super::lineinfile::read_text(cx, "/etc/locale.gen").await?;
        let old = String::from_utf8_lossy(file.content.as_deref().unwrap_or_default()).into_owned();
        let new = set_lines(&old, &names, present);
        let w = super::remote_file::query_write(
            cx,
            &file.facts,
            &super::content::Content::Bytes(new.as_bytes()),
            &Default::default(),
            &Default::default(),
            true,
        )
        .await?;
        if w.changed {
            super::remote_file::apply_write(cx, w).await?;
        }
        run_ok(cx, Cmd::new("locale-gen"), "locale-gen failed").await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_names_and_lines() {
        assert_eq!(fix_case("de_CH.utf8"), "de_CH.UTF-8");
        let names = vec!["de_CH.UTF-8".to_string(), "fr_FR.UTF-8".into()];
        assert_eq!(not_present(&names, "C\nC.utf8\nde_CH.utf8\nPOSIX\n"), [&names[1]]);
        assert!(supported("de_CH.UTF-8 UTF-8\nde_CH ISO-8859-1\n", "de_CH.UTF-8"));
        assert!(!supported("de_CH.UTF-8 UTF-8\n", "de_CH"));
        let gen = "# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n";
        assert_eq!(
            set_lines(gen, &["en_US.UTF-8".into()], true),
            "# en_US ISO-8859-1\nen_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n"
        );
        assert_eq!(
            set_lines(gen, &["fr_FR.UTF-8".into()], false),
            "# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n"
        );
    }
}
