//! `file`'s `modification_time` / `access_time`: `now`, `preserve`, or a time in a strptime
//! format, read as the host's local time (as Ansible's module reads it on the host).

use crate::connection::{quote, Cmd};
use crate::facts::FileFacts;
use crate::value::Value;

use super::script_out::run_ok;
use super::{Ctx, ModuleError};

/// One wanted timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    Now,
    Preserve,
    /// `YYYY-MM-DD HH:MM:SS`, local time on the host (what `touch -d` and `date -d` read).
    At(String),
}

impl Stamp {
    /// Ansible's `keep_backward_compatibility_on_timestamps` and `get_timestamp_for_time`:
    /// unset means `now` for touch and `preserve` otherwise.
    pub fn parse(value: Option<&str>, format: &str, state: &str) -> Result<Stamp, String> {
        match value {
            None if state == "touch" => Ok(Stamp::Now),
            None | Some("preserve") => Ok(Stamp::Preserve),
            Some("now") => Ok(Stamp::Now),
            Some(text) => strptime(text, format)
                .map(Stamp::At)
                .map_err(|e| format!("Error while obtaining timestamp for time {text} using format {format}: {e}")),
        }
    }
}

/// `text` read with a strptime `format` (`%Y %y %m %d %H %M %S %%` and literal characters) as
/// `YYYY-MM-DD HH:MM:SS`.
pub fn strptime(text: &str, format: &str) -> Result<String, String> {
    let mismatch = || format!("time data '{text}' does not match format '{format}'");
    let (mut parts, mut rest) = ([1900u32, 1, 1, 0, 0, 0], text);
    let mut f = format.chars();
    while let Some(c) = f.next() {
        if c != '%' {
            rest = rest.strip_prefix(c).ok_or_else(mismatch)?;
            continue;
        }
        let (slot, width) = match f.next() {
            Some('Y') => (0, 4),
            Some('y') => (0, 2),
            Some('m') => (1, 2),
            Some('d') => (2, 2),
            Some('H') => (3, 2),
            Some('M') => (4, 2),
            Some('S') => (5, 2),
            Some('%') => {
                rest = rest.strip_prefix('%').ok_or_else(mismatch)?;
                continue;
            }
            other => return Err(format!("the directive %{} is not supported yet", other.unwrap_or(' '))),
        };
        let n = rest.chars().take(width).take_while(char::is_ascii_digit).count();
        let value: u32 = rest[..n].parse().map_err(|_| mismatch())?;
        parts[slot] = if width == 2 && slot == 0 {
            if value < 69 {
                2000 + value
            } else {
                1900 + value
            }
        } else {
            value
        };
        rest = &rest[n..];
    }
    let [y, mo, d, h, mi, s] = parts;
    if !rest.is_empty() {
        return Err(format!("unconverted data remains: {rest}"));
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 61 {
        return Err(mismatch());
    }
    Ok(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

/// What setting the times of an existing path takes: the script (empty: nothing differs) and
/// the `mtime`/`atime` diff entries (before, after).
pub async fn plan(
    cx: &Ctx<'_>,
    f: &FileFacts,
    p: &str,
    mtime: &Stamp,
    atime: &Stamp,
) -> Result<(String, Vec<(&'static str, Value, Value)>), ModuleError> {
    if *mtime == Stamp::Preserve && *atime == Stamp::Preserve {
        return Ok((String::new(), Vec::new()));
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    // Explicit times become seconds on the host, in its own time zone.
    let mut at = Vec::new();
    for s in [mtime, atime] {
        if let Stamp::At(t) = s {
            at.push(format!("date -d {} +%s", quote(t)));
        }
    }
    let mut secs = Vec::new();
    if !at.is_empty() {
        let out = run_ok(cx, Cmd::new(at.join("\n")).read_only(), "reading the time failed").await?.stdout_text();
        secs = out.lines().filter_map(|l| l.trim().parse::<f64>().ok()).collect();
    }
    let mut secs = secs.into_iter();
    let mut script = String::new();
    let mut diff = Vec::new();
    for (stamp, key, flag, before) in [(mtime, "mtime", "-m", f.mtime), (atime, "atime", "-a", f.atime)] {
        let (after, set) = match stamp {
            Stamp::Preserve => continue,
            Stamp::Now => (now, format!("touch -c {flag} -- {p}\n")),
            Stamp::At(t) => {
                let s =
                    secs.next().ok_or_else(|| ModuleError::failed(format!("the host could not read the time {t}")))?;
                (s, format!("touch -c {flag} -d {} -- {p}\n", quote(t)))
            }
        };
        if after != before {
            script.push_str(&set);
            diff.push((key, Value::from(before), Value::from(after)));
        }
    }
    // Both `now`: one plain `touch` (utime with no times), which needs only write access, as
    // Ansible's `os.utime(path, None)`; setting one time alone needs ownership.
    if *mtime == Stamp::Now && *atime == Stamp::Now && !script.is_empty() {
        script = format!("touch -c -- {p}\n");
    }
    Ok((script, diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_reads_ansibles_default_format_and_others() {
        assert_eq!(strptime("202001011230.05", "%Y%m%d%H%M.%S").as_deref(), Ok("2020-01-01 12:30:05"));
        assert_eq!(strptime("99-12-31 23:59", "%y-%m-%d %H:%M").as_deref(), Ok("1999-12-31 23:59:00"));
        assert!(strptime("2020", "%Y%m").is_err());
        assert!(strptime("2020011", "%Y%m%d%H").is_err());
        let e = strptime("x", "%j").unwrap_err();
        assert!(e.contains("%j is not supported yet"), "{e}");
        assert_eq!(Stamp::parse(None, "%Y", "touch"), Ok(Stamp::Now));
        assert_eq!(Stamp::parse(None, "%Y", "file"), Ok(Stamp::Preserve));
        let e = Stamp::parse(Some("bad"), "%Y%m%d%H%M.%S", "file").unwrap_err();
        assert!(e.starts_with("Error while obtaining timestamp for time bad using format %Y%m%d%H%M.%S"), "{e}");
    }
}
