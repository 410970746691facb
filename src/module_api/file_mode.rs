//! File modes as modules take them: octal (`'0644'`, 420 from YAML 1.1 `0644`) or symbolic
//! (`u+rwx,g-w`), and as Ansible prints them.

/// A wanted file mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Octal(u32),
    /// Validated symbolic clauses, applied to the current mode by [`Mode::resolve`].
    Symbolic(String),
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode, String> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            let bits = u32::from_str_radix(t, 8).map_err(|_| "octal digits are 0-7".to_string())?;
            if bits > 0o7777 {
                return Err("an octal mode is at most 07777".into());
            }
            return Ok(Mode::Octal(bits));
        }
        // Validate now so a typo fails before anything runs.
        apply_symbolic(t, 0, false)?;
        Ok(Mode::Symbolic(t.to_string()))
    }

    /// The permission bits this mode gives a file whose current bits are `current`.
    pub fn resolve(&self, current: u32, is_dir: bool) -> u32 {
        match self {
            Mode::Octal(bits) => *bits,
            Mode::Symbolic(s) => apply_symbolic(s, current, is_dir).unwrap_or(current),
        }
    }
}

/// Apply `chmod`-style symbolic clauses (`u+rwx,g-w,o=`, `a+X`) to `mode`.
fn apply_symbolic(spec: &str, mut mode: u32, is_dir: bool) -> Result<u32, String> {
    for clause in spec.split(',') {
        let ops_at = clause.find(['+', '-', '=']).ok_or_else(|| format!("clause {clause:?} has no +, - or ="))?;
        let (who_text, mut rest) = clause.split_at(ops_at);
        let mut who = 0u32;
        for c in who_text.chars() {
            who |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(format!("unknown user class {c:?} (use u, g, o, a)")),
            };
        }
        if who == 0 {
            who = 0o7777;
        }
        while let Some(op) = rest.chars().next() {
            rest = &rest[1..];
            let perms_end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let (perms, tail) = rest.split_at(perms_end);
            rest = tail;
            let mut bits = 0u32;
            for p in perms.chars() {
                bits |= match p {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || mode & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return Err(format!("unknown permission {p:?} (use r, w, x, X, s, t)")),
                };
            }
            let bits = bits & who;
            match op {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                _ => mode = (mode & !(who & 0o777)) | bits,
            }
        }
    }
    Ok(mode & 0o7777)
}

/// A mode as Ansible prints it (`'0%03o'`): `'0644'`, `'01444'` with a special bit.
pub fn mode_text(bits: u32) -> String {
    format!("0{:03o}", bits & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_modes_follow_chmod() {
        let r = |s: &str, cur: u32, dir: bool| Mode::parse(s).map(|m| m.resolve(cur, dir));
        assert_eq!(r("u+x", 0o644, false), Ok(0o744));
        assert_eq!(r("go-r", 0o644, false), Ok(0o600));
        assert_eq!(r("u=rwx,g=rx,o=", 0o666, false), Ok(0o750));
        assert_eq!(r("a+X", 0o644, true), Ok(0o755));
        assert_eq!(r("a+X", 0o644, false), Ok(0o644));
        assert_eq!(r("+x", 0o600, false), Ok(0o711));
        assert_eq!(r("u+s", 0o755, false), Ok(0o4755));
        assert!(Mode::parse("z+x").is_err());
        assert!(Mode::parse("u+q").is_err());
        assert!(Mode::parse("rwx").is_err());
        assert_eq!(r("o+t", 0o444, false), Ok(0o1444));
        assert_eq!(
            (mode_text(0o644), mode_text(0o1444), mode_text(0o4755)),
            ("0644".into(), "01444".into(), "04755".into())
        );
    }
}
