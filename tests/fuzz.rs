//! Mutation fuzzing of the three loaders that read untrusted text: YAML, inventories and
//! templates (issue 14). Seeds are the repository's own playbooks, inventories and templates
//! plus hostile shapes (alias bombs, deep nesting, control characters); each input is a seed
//! mutated by byte edits, dictionary tokens and splices. Any panic fails the test and names
//! the seed and input; an abort (stack overflow, allocation failure) fails the whole run.
//!
//! Bounded time: `TROUPE_FUZZ_SECS` per target (default 8, so 24 s in all), seeded from
//! `TROUPE_FUZZ_SEED` (default: the clock, printed so a failure can be replayed).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use troupe::inventory::Inventory;
use troupe::template::Engine;
use troupe::vars::{Level, Scope};

/// Tokens that make parsers take their rare paths.
const DICTIONARY: &[&str] = &[
    "&a ",
    "*a",
    "&b [*a, *a, *a]",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "? ",
    "---\n",
    "...\n",
    "!!str ",
    "!unsafe ",
    "|\n  ",
    ">-\n  ",
    "\"",
    "'",
    "\\",
    "#",
    "\t",
    "\0",
    "\x0c",
    "\u{feff}",
    "\r\n",
    "  ",
    "\n",
    ".nan",
    ".inf",
    "-1",
    "1e400",
    "0x7fffffffffffffff",
    "18446744073709551616",
    "0o17",
    "0b1",
    "~",
    "yes",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "|",
    ".",
    "(",
    ")",
    "/",
    "//",
    "%",
    "*",
    "**",
    "~",
    " is defined",
    "| default(1)",
    "| to_json(indent=2)",
    "| from_yaml",
    "| indent(3)",
    "range(3)",
    "[1] * 3",
    "x / 0",
    "'{:>4}'.format(1)",
    "{% for i in range(2) %}",
    "{% endfor %}",
    "{% if x %}",
    "{% endif %}",
    "{% set y = 1 %}",
    "{% include 'x.j2' %}",
    "{% macro m() %}",
    "{% endmacro %}",
    "[g:children]\n",
    "[g:vars]\n",
    "h[0:3]",
    "h[a:c]",
    "h[1:18446744073709551615]",
    "ansible_host=1.2.3.4",
    "[all]\n",
    "all:\n  hosts:\n",
    "children:\n",
    "vars:\n",
];

fn fuzz_secs() -> Duration {
    let secs = std::env::var("TROUPE_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(8.0);
    Duration::from_secs_f64(secs)
}

fn rng() -> (StdRng, u64) {
    let seed = std::env::var("TROUPE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    (StdRng::seed_from_u64(seed), seed)
}

/// Every file under `dir` whose name ends with one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if exts.iter().any(|x| p.to_string_lossy().ends_with(x)) {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push(text);
            }
        }
    }
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn hostile_yaml() -> Vec<String> {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    vec![
        bomb,
        "[".repeat(600),
        (0..700).map(|i| format!("{}a:\n", " ".repeat(i))).collect(),
        "a: 1\na: 2\n<<: {b: 1}\n".into(),
        "k: \"\\x00\\u0000\"\nv: 0644\nw: -.inf\n".into(),
    ]
}

/// One mutated input from the seeds.
fn mutate(rng: &mut StdRng, seeds: &[String]) -> String {
    let mut bytes = seeds[rng.random_range(0..seeds.len())].as_bytes().to_vec();
    for _ in 0..rng.random_range(1..8) {
        let at = if bytes.is_empty() { 0 } else { rng.random_range(0..=bytes.len()) };
        match rng.random_range(0..6) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !bytes.is_empty() => {
                let end = (at + rng.random_range(1..32)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 => {
                let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())];
                bytes.splice(at..at, token.bytes());
            }
            3 => {
                // Splice in a piece of another seed.
                let other = seeds[rng.random_range(0..seeds.len())].as_bytes();
                if !other.is_empty() {
                    let s = rng.random_range(0..other.len());
                    let e = (s + rng.random_range(1..64)).min(other.len());
                    bytes.splice(at..at, other[s..e].iter().copied());
                }
            }
            4 if bytes.len() > 1 => {
                // Repeat a slice (deeper nesting, longer lists).
                let s = rng.random_range(0..bytes.len());
                let e = (s + rng.random_range(1..16)).min(bytes.len());
                let piece = bytes[s..e].to_vec();
                for _ in 0..rng.random_range(1..20) {
                    bytes.splice(at..at, piece.iter().copied());
                }
            }
            _ => bytes.insert(at, rng.random()),
        }
    }
    // The loaders take text; invalid UTF-8 is tested on the file path (yaml::utf8).
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Run `check` on mutated inputs for the time budget; fail on the first panic.
fn fuzz(name: &str, seeds: Vec<String>, mut check: impl FnMut(&str)) {
    let (mut rng, seed) = rng();
    let budget = fuzz_secs();
    let start = Instant::now();
    let mut runs = 0u64;
    for s in &seeds {
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| check(s))).is_err() {
            panic!("fuzz {name}: a seed panics:\n{s}");
        }
    }
    while start.elapsed() < budget {
        let input = mutate(&mut rng, &seeds);
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            panic!("fuzz {name}: panic (TROUPE_FUZZ_SEED={seed}, input {runs}) on:\n{input:?}");
        }
    }
    eprintln!(
        "fuzz {name}: {runs} inputs in {:.1} s, no panic (TROUPE_FUZZ_SEED={seed})",
        start.elapsed().as_secs_f64()
    );
    assert!(runs > seeds.len() as u64, "fuzz {name}: no mutated input ran");
    let peak = peak_rss_mb();
    assert!(peak < 3_000, "fuzz {name}: peak memory {peak} MB");
}

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kb.unwrap_or(0) / 1024
}

#[test]
fn fuzz_yaml_loader() {
    let mut seeds = hostile_yaml();
    for dir in ["playbooks", "roles", "tests/fixtures"] {
        files(&repo(dir), &[".yml", ".yaml"], &mut seeds);
    }
    fuzz("yaml", seeds, |text| {
        if let Ok(node) = troupe::yaml::parse_str(text, Path::new("fuzz.yml")) {
            let _ = node.to_value();
            let _ = node.vars();
        }
    });
}

#[test]
fn fuzz_inventory_loader() {
    let mut seeds = hostile_yaml();
    files(&repo("tests/fixtures/inventory"), &[".ini", ".yml", ".yaml", "hosts"], &mut seeds);
    seeds.push("[web]\nw[01:03] ansible_port=22\n[db:children]\nweb\n[db:vars]\nx=1\n".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut n = 0u64;
    fuzz("inventory", seeds, |text| {
        n += 1;
        // No extension: troupe tries YAML, then INI, as Ansible's auto plugins do.
        let name = ["hosts", "hosts.yml", "hosts.ini"][(n % 3) as usize];
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        if let Ok(inv) = Inventory::load(&[path.display().to_string()]) {
            let _ = inv.groups_map();
            for h in inv.select("all").unwrap_or_default().iter().take(3) {
                let _ = inv.host_layers(h);
                let _ = inv.group_names(h);
            }
        }
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn fuzz_template_engine() {
    let mut seeds: Vec<String> = vec![
        "{{ x / y }} {{ a.b | default('z') }} {{ l | to_json }}".into(),
        "{% for i in l %}{{ i * 2 }}{% endfor %}{{ '{:>3}'.format(x) }}".into(),
        "{{ (s | from_yaml).k }} {{ x // 1 }} {{ 1e3 }} {{ l * 2 }}".into(),
        "{% if x is defined and y > 0 %}{{ x % y }}{% else %}{{ s | indent(2) }}{% endif %}".into(),
    ];
    files(&repo("roles"), &[".j2"], &mut seeds);
    let engine = Arc::new(Engine::new());
    let vars = serde_json::json!({"x": 7, "y": 0, "l": [1, 2, 3], "s": "k: v\nw: [1, 2]\n", "a": {"b": 1}});
    let base = Scope::new(engine);
    let scope = Arc::new(base.child(Level::TaskVars, vars.as_object().cloned().unwrap_or_default()));
    fuzz("template", seeds, |text| {
        let _ = scope.render_str(text);
        let _ = scope.eval(text);
    });
}
