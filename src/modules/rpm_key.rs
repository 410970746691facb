//! `rpm_key`: a GPG key in the rpm database, as ansible-core's module decides it: the key id
//! comes from the given id, or from the key file (on the host) or URL (fetched by the host)
//! through `gpg --with-colons`; it is there when a `gpg-pubkey` package's description holds
//! it. Import is `rpm --import`, removal `rpm --erase --allmatches gpg-pubkey-<short id>`.

use async_trait::async_trait;

use super::apt_key::{fetch_script, LANG_C};
use super::args::{ArgSpec, Args, Opt};
use super::script_out::{section, sections};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::Map;

const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("key", "a key id (`0x` and 8+ hex digits), a key file on the host, or a URL").required(),
        Opt::str("state", "present: import the key; absent: remove it")
            .choices(&["absent", "present"])
            .default("present"),
        Opt::list("fingerprint", "the fingerprints the key file must have before it is imported"),
        Opt::bool("validate_certs", "check the TLS certificate of a key URL").default("true"),
    ]],
    ..ArgSpec::NONE
};

pub struct RpmKey;

/// ansible-core's `is_keyid`: starts with 8 hex digits (optionally after `0x`).
pub fn is_keyid(key: &str) -> bool {
    regex::Regex::new("(?i)^(0x)?[0-9a-f]{8}").expect("valid").is_match(key)
}

/// ansible-core's `normalize_keyid`.
pub fn normalize_keyid(key: &str) -> String {
    let k = key.trim().to_uppercase();
    k.strip_prefix("0X").map(String::from).unwrap_or(k)
}

/// Field `n` of the first `kind:` line of `gpg --with-colons` output.
pub fn colon_fields(out: &str, kind: &str, n: usize) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&format!("{kind}:")))
        .filter_map(|l| l.split(':').nth(n).map(String::from))
        .collect()
}

/// The key is imported: a `pub` line of the rpm keys' gpg listing holds the key id.
pub fn is_imported(listing: &str, keyid: &str) -> bool {
    listing.lines().any(|l| l.split(':').nth(4).is_some_and(|f| f.contains(keyid)))
}

/// Where the key file comes from: given on the host, or fetched into `$k` by the script.
enum Source {
    Id,
    File(String),
    Url(String),
}

impl Source {
    fn of(key: &str) -> Source {
        if key.contains("://") {
            Source::Url(key.into())
        } else if is_keyid(key) {
            Source::Id
        } else {
            Source::File(key.into())
        }
    }

    /// Shell that sets `$k` to the key file (fetching a URL into a temporary file).
    fn setup(&self, validate: bool) -> String {
        match self {
            Source::Id => String::new(),
            Source::File(f) => format!(
                "k={}\n[ -f \"$k\" ] || {{ printf '%s\\n' {} >&2; exit 3; }}\n",
                quote(f),
                quote(&format!("Not a valid key {f}"))
            ),
            Source::Url(u) => format!(
                "k=$(mktemp) || exit 1\ntrap 'rm -f \"$k\"' EXIT\n{} > \"$k\" || exit 3\n\
                 grep -q -e '-----BEGIN PGP PUBLIC KEY BLOCK-----' \"$k\" || {{ printf '%s\\n' {} >&2; exit 3; }}\n",
                fetch_script(u, validate),
                quote(&format!("Not a public key: {u}"))
            ),
        }
    }
}

const TOOLS: &str = "command -v rpm >/dev/null 2>&1 || { echo 'Failed to find required executable \"rpm\" in paths' >&2; exit 3; }\n\
gpg=$(command -v gpg || command -v gpg2) || { echo 'Failed to find required executable \"gpg2\" in paths' >&2; exit 3; }\n";

/// The query script: the key file's ids and fingerprints, and the imported keys' listing.
pub fn query_script(key: &str, fingerprints: bool, validate: bool) -> String {
    let src = Source::of(key);
    let mut s = format!("{TOOLS}{}", src.setup(validate));
    let gpg = "\"$gpg\" --no-tty --batch --with-colons --fixed-list-mode";
    if !matches!(src, Source::Id) {
        s.push_str(&format!("{}\n{gpg} \"$k\" || exit 4\n", section("pub")));
        if fingerprints {
            s.push_str(&format!(
                "{}\n{gpg} --import --import-options show-only --dry-run \"$k\" || exit 4\n",
                section("fpr")
            ));
        }
    }
    s.push_str(&format!(
        "{}\nif rpm -q gpg-pubkey >/dev/null 2>&1; then rpm -q gpg-pubkey --qf '%{{description}}' | {gpg} - || exit 4; fi\n",
        section("imported")
    ));
    s
}

#[async_trait]
impl Module for RpmKey {
    fn name(&self) -> &'static str {
        "rpm_key"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("rpm_key", args, &SPEC)?;
        let key = a.req_str("key")?;
        let present = a.choice("state", &["absent", "present"])?.unwrap_or("present") == "present";
        let validate = a.bool("validate_certs", true)?;
        let wanted: Vec<String> =
            a.list("fingerprint")?.unwrap_or_default().iter().map(|f| f.replace(' ', "").to_uppercase()).collect();
        let script = query_script(&key, present && !wanted.is_empty(), validate);
        let out = cx.run(Cmd::new(format!("{LANG_C}{script}")).read_only()).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
        }
        let parts = sections(&out.stdout_text());
        let part = |n: &str| parts.get(n).cloned().unwrap_or_default();
        let keyid = match Source::of(&key) {
            Source::Id => normalize_keyid(&key),
            _ => normalize_keyid(
                &colon_fields(&part("pub"), "pub", 4)
                    .into_iter()
                    .next()
                    .ok_or_else(|| ModuleError::failed("Unexpected gpg output"))?,
            ),
        };
        let imported = is_imported(&part("imported"), &keyid);
        let mut q = Query::ok();
        if present == imported {
            return Ok(q);
        }
        if present {
            if matches!(Source::of(&key), Source::Id) {
                return Err(ModuleError::failed("When importing a key, a valid file must be given"));
            }
            if !wanted.is_empty() {
                let have = colon_fields(&part("fpr"), "fpr", 9);
                if have.is_empty() {
                    return Err(ModuleError::failed("Unexpected gpg output"));
                }
                if !wanted.iter().all(|w| have.contains(w)) {
                    let set = |v: &[String]| format!("{{'{}'}}", v.join("', '"));
                    return Err(ModuleError::failed(format!(
                        "The specified fingerprint, '{}', does not match any key fingerprints in '{}'",
                        set(&wanted),
                        set(&have)
                    )));
                }
            }
        }
        let src = Source::of(&key);
        let cmd = if present {
            format!("{TOOLS}{}rpm --import \"$k\"\n", src.setup(validate))
        } else {
            format!("rpm --erase --allmatches {}\n", quote(&format!("gpg-pubkey-{}", tail8(&keyid).to_lowercase())))
        };
        q.changed = true;
        q.change = Change::new(cmd);
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let script: String = q.change.take("rpm_key")?;
        let out = cx.run(Cmd::new(script)).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(out.stderr_text().trim().to_string()));
        }
        Ok(std::mem::take(&mut q.result))
    }
}

/// The last 8 characters (the short key id).
pub fn tail8(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "pub:-:4096:1:ABCDEF0123456789:1700000000:::-:::scESC::::::23::0:\n\
                           fpr:::::::::0123456789ABCDEF0123ABCDEF0123456789:\n\
                           uid:-::::1700000000::X::Test <t@example.org>::::::::::0:\n";

    #[test]
    fn key_ids_as_ansible_reads_them() {
        assert!(is_keyid("0xDEADBEEF") && is_keyid("deadbeef01") && !is_keyid("/etc/pki/key.asc"));
        assert_eq!(normalize_keyid(" 0xdeadbeef "), "DEADBEEF");
        assert_eq!(colon_fields(LISTING, "pub", 4), ["ABCDEF0123456789"]);
        assert_eq!(colon_fields(LISTING, "fpr", 9), ["0123456789ABCDEF0123ABCDEF0123456789"]);
        assert!(is_imported(LISTING, "ABCDEF0123456789") && is_imported(LISTING, "23456789"));
        assert!(!is_imported(LISTING, "FFFFFFFF"));
        assert_eq!(tail8("ABCDEF0123456789"), "23456789");
    }

    #[test]
    fn scripts_quote_and_fetch() {
        let s = query_script("/tmp/my key.asc", true, true);
        assert!(s.contains("k='/tmp/my key.asc'") && s.contains("--import-options show-only"), "{s}");
        assert!(s.contains("rpm -q gpg-pubkey --qf '%{description}'"), "{s}");
        let s = query_script("https://example.org/k.asc", false, false);
        assert!(s.contains("curl") && s.contains("Not a public key: https://example.org/k.asc"), "{s}");
        assert!(!s.contains("show-only"), "{s}");
        let s = query_script("0xDEADBEEF", false, true);
        assert!(!s.contains("k=") && !s.contains("@@troupe:pub@@"), "{s}");
    }
}
