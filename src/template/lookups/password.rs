//! The `password` lookup: a random password stored in a controller file (created 0600 in
//! 0700 folders on first use, read back afterwards); `/dev/null` gives a fresh one each time.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};
use rand::{Rng, SeedableRng};

use super::{base_dir, string_list, term_text};
use crate::template::filters::convert::fail;
use crate::template::filters::text::{expanduser, text_of};

/// Options of the password lookup, from `path key=value ...` and keyword arguments.
struct PasswordSpec {
    path: String,
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
}

fn parse_password_term(label: &str, term: &str, kwargs: &Kwargs) -> Result<PasswordSpec, Error> {
    let (path, params) = match term.split_once(' ') {
        Some((p, rest)) => (p.to_string(), rest),
        None => (term.to_string(), ""),
    };
    let words = shlex::split(params).ok_or_else(|| fail(label, format!("cannot parse parameters '{params}'")))?;
    let mut spec = PasswordSpec {
        path,
        length: 20,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
    };
    let mut set = |key: &str, value: String| -> Result<(), Error> {
        match key {
            "length" => {
                spec.length =
                    value.trim().parse().map_err(|_| fail(label, format!("length '{value}' is not a number")))?;
                if spec.length > MAX_PASSWORD {
                    return Err(fail(label, format!("length {value} is too large (at most {MAX_PASSWORD})")));
                }
            }
            "chars" => {
                let mut chars = Vec::new();
                if value.contains(",,") {
                    chars.push(",".to_string());
                }
                chars.extend(value.replace(",,", ",").split(',').filter(|c| !c.is_empty()).map(str::to_string));
                spec.chars = chars;
            }
            "seed" => spec.seed = Some(value),
            "encrypt" | "ident" => {
                return Err(fail(
                    label,
                    format!("'{key}' is not supported; hash the password with a filter in the task instead"),
                ))
            }
            other => {
                return Err(fail(
                    label,
                    format!("unrecognized parameter '{other}'; valid ones are length, chars, seed"),
                ))
            }
        }
        Ok(())
    };
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(fail(label, format!("unrecognized value '{w}' after the path; parameters are key=value")));
        };
        set(k, v.to_string())?;
    }
    for key in ["length", "seed"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            set(key, text_of(label, &v)?)?;
        }
    }
    if let Some(v) = kwargs.get::<Option<Value>>("chars")? {
        match v.kind() {
            ValueKind::Seq => spec.chars = string_list(Some(v)),
            _ => set("chars", text_of(label, &v)?)?,
        }
    }
    Ok(spec)
}

/// A password is written to a file and into templates; a mebibyte is far more than enough.
const MAX_PASSWORD: usize = 1 << 20;

/// Python's `string` module constants, or the text itself; quotes are never used.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut out = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => out.extend([LOWER, UPPER]),
            "ascii_lowercase" => out.push_str(LOWER),
            "ascii_uppercase" => out.push_str(UPPER),
            "digits" => out.push_str("0123456789"),
            "hexdigits" => out.push_str("0123456789abcdefABCDEF"),
            "octdigits" => out.push_str("01234567"),
            "punctuation" => out.push_str(PUNCT),
            "printable" => out.extend(["0123456789", LOWER, UPPER, PUNCT, " \t\n\r\x0b\x0c"]),
            "whitespace" => out.push_str(" \t\n\r\x0b\x0c"),
            other => out.push_str(other),
        }
    }
    out.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

fn random_password(spec: &PasswordSpec) -> Option<String> {
    let chars = candidate_chars(&spec.chars);
    if chars.is_empty() {
        return None;
    }
    let pick = |rng: &mut dyn rand::RngCore| -> String {
        (0..spec.length).map(|_| chars[rng.random_range(0..chars.len())]).collect()
    };
    Some(match &spec.seed {
        Some(seed) => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(seed.as_bytes());
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&digest);
            pick(&mut rand::rngs::StdRng::from_seed(bytes))
        }
        None => pick(&mut rand::rng()),
    })
}

/// Serializes password-file creation across hosts templating in parallel.
static PASSWORD_FILES: Mutex<()> = Mutex::new(());

/// The stored password: the file's text up to a trailing ` salt=...` part, if any.
fn stored_password(content: &str) -> String {
    let content = content.trim_end();
    match content.rfind(" salt=") {
        Some(i) => content[..i].to_string(),
        None => content.to_string(),
    }
}

pub(super) fn lookup(state: &State, label: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let spec = parse_password_term(label, &term_text(label, t)?, kwargs)?;
        let fresh = || {
            random_password(&spec).ok_or_else(|| fail(label, "no characters to build a password from (check chars=)"))
        };
        if spec.path == "/dev/null" {
            out.push(Value::from(fresh()?));
            continue;
        }
        let expanded = expanduser(&spec.path);
        let path = match base_dir(state) {
            Some(base) if Path::new(&expanded).is_relative() => base.join(&expanded),
            _ => PathBuf::from(&expanded),
        };
        let _guard = PASSWORD_FILES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Ok(content) = fs::read_to_string(&path) {
            out.push(Value::from(stored_password(&content)));
            continue;
        }
        let password = fresh()?;
        write_password_file(&path, &password)
            .map_err(|e| fail(label, format!("cannot write {}: {e}", path.display())))?;
        out.push(Value::from(password));
    }
    Ok(out)
}

fn write_password_file(path: &Path, password: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    // The umask may have removed bits we never asked for, but never added any; be explicit.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(format!("{password}\n").as_bytes())
}
