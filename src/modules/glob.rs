//! Shell-style globs (`*`, `?`) for matching names: package names, fact names.

/// Glob (`*`, `?`) to an anchored extended regex, for matching names on the target.
pub fn glob_to_ere(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':' => re.push(c),
            c => {
                re.push('\\');
                re.push(c);
            }
        }
    }
    re.push('$');
    re
}

/// Whether `text` matches a shell-style glob (`*`, `?`).
pub fn glob_match(glob: &str, text: &str) -> bool {
    regex::Regex::new(&glob_to_ere(glob)).is_ok_and(|re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("lib*-dev", "libssl-dev"));
        assert!(!glob_match("lib*-dev", "libssl-dev2"));
        assert!(glob_match("a.b?", "a.bc"));
        assert!(!glob_match("a.b", "aXb"));
    }
}
