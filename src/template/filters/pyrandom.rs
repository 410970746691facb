//! `random` and `shuffle`: with a `seed`, the same results as Ansible (Python's Mersenne
//! Twister, seeded as `random.Random(seed)` seeds it); without one, the system's randomness.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};
use rand::Rng;
use sha2::{Digest, Sha512};

use super::convert::{fail, items, require_defined};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
}

/// Python's `random.Random`: MT19937 with CPython's seeding and `_randbelow`.
pub struct PyRandom {
    mt: [u32; 624],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)` for an int or (version 2 seeding) a string seed.
    pub fn from_seed(seed: &Value) -> PyRandom {
        let key = match seed.as_i64() {
            Some(n) if seed.kind() == ValueKind::Number => words_of(&n.unsigned_abs().to_be_bytes()),
            _ => {
                let text = match seed.as_str() {
                    Some(s) => s.to_string(),
                    None => seed.to_string(),
                };
                let mut bytes = text.as_bytes().to_vec();
                bytes.extend_from_slice(&Sha512::digest(text.as_bytes()));
                words_of(&bytes)
            }
        };
        PyRandom::by_array(&key)
    }

    fn by_array(key: &[u32]) -> PyRandom {
        let mut r = PyRandom { mt: [0; 624], index: 624 };
        r.mt[0] = 19_650_218;
        for i in 1..624 {
            let prev = r.mt[i - 1];
            r.mt[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            let prev = r.mt[i - 1];
            r.mt[i] =
                (r.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                r.mt[0] = r.mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            let prev = r.mt[i - 1];
            r.mt[i] = (r.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                r.mt[0] = r.mt[623];
                i = 1;
            }
        }
        r.mt[0] = 0x8000_0000;
        r
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for k in 0..624 {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % 624] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for k <= 64.
    fn bits(&mut self, k: u32) -> u64 {
        if k <= 32 {
            return u64::from(self.next_u32() >> (32 - k));
        }
        let low = u64::from(self.next_u32());
        let high = u64::from(self.next_u32() >> (64 - k));
        low | (high << 32)
    }

    /// `_randbelow(n)`, n > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.bits(k);
            if r < n {
                return r;
            }
        }
    }
}

/// A non-negative big-endian integer as CPython's little-endian 32-bit key words.
fn words_of(be: &[u8]) -> Vec<u32> {
    let mut words: Vec<u32> = be.rchunks(4).map(|c| c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))).collect();
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    if words.is_empty() {
        words.push(0);
    }
    words
}

/// A source of `_randbelow`: seeded like Python, or the system's randomness.
enum Source {
    Seeded(Box<PyRandom>),
    System,
}

impl Source {
    fn new(seed: Option<Value>) -> Source {
        match seed {
            Some(s) if !s.is_none() && !s.is_undefined() => Source::Seeded(Box::new(PyRandom::from_seed(&s))),
            _ => Source::System,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        match self {
            Source::Seeded(r) => r.below(n),
            Source::System => rand::rng().random_range(0..n),
        }
    }
}

/// Ansible's `random(end, start=None, step=None, seed=None)`: a number in `range(start, end,
/// step)` for an integer, else one item of the sequence.
fn random(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    require_defined("random", &value)?;
    let start: Option<i64> =
        kwargs.get::<Option<Value>>("start")?.filter(Value::is_true).map(i64::try_from).transpose()?;
    let step: Option<i64> =
        kwargs.get::<Option<Value>>("step")?.filter(Value::is_true).map(i64::try_from).transpose()?;
    let mut source = Source::new(kwargs.get("seed")?);
    kwargs.assert_all_used()?;
    if !matches!(
        value.kind(),
        ValueKind::Number | ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable
    ) {
        return Err(fail("random", "random can only be used on sequences and integers"));
    }
    if value.kind() != ValueKind::Number && (start.is_some() || step.is_some()) {
        return Err(fail("random", "start and step can only be used with integer values"));
    }
    if value.kind() == ValueKind::Number {
        let end = i64::try_from(value).map_err(|_| fail("random", "the end must be an integer"))?;
        let (start, step) = (start.unwrap_or(0), step.unwrap_or(1));
        if step <= 0 {
            return Err(fail("random", "step must be a positive integer"));
        }
        let width = end.saturating_sub(start);
        if width <= 0 {
            return Err(fail("random", format!("empty range for randrange({start}, {end}, {step})")));
        }
        let n = (width as u64).div_ceil(step as u64);
        return Ok(Value::from(start + step * source.below(n) as i64));
    }
    let all = items("random", &value)?;
    if all.is_empty() {
        return Err(fail("random", "cannot choose from an empty sequence"));
    }
    Ok(all[source.below(all.len() as u64) as usize].clone())
}

/// Ansible's `shuffle(seed=None)`: a shuffled copy of the list (anything else unchanged, as
/// Ansible swallows the error of `list(value)`).
fn shuffle(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    require_defined("shuffle", &value)?;
    if !matches!(value.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable) {
        return Ok(value);
    }
    let mut all = items("shuffle", &value)?;
    let mut source = Source::new(kwargs.get("seed")?);
    kwargs.assert_all_used()?;
    for i in (1..all.len()).rev() {
        let j = source.below(i as u64 + 1) as usize;
        all.swap(i, j);
    }
    Ok(Value::from(all))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    fn eval(src: &str) -> String {
        env().render_str(src, ()).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    #[test]
    fn seeded_like_python() {
        // python3 -c "import random; r=random.Random(42); print(r.getrandbits(32))"
        assert_eq!(PyRandom::from_seed(&Value::from(42)).next_u32(), 2_746_317_213);
        // random.Random('web1').randrange(0, 60) and .randrange(0, 100, 10), as Ansible computes
        assert_eq!(eval("{{ 60 | random(seed='web1') }}"), eval("{{ 60 | random(seed='web1') }}"));
        assert_eq!(eval("{{ 60 | random(seed='web1') }}"), "52");
        assert_eq!(eval("{{ 100 | random(step=10, seed='web1') }}"), "50");
        assert_eq!(eval("{{ range(10) | list | shuffle(seed='abc') }}"), "[4, 3, 0, 9, 1, 2, 6, 5, 7, 8]");
        assert_eq!(eval("{{ 1000 | random(seed=1099511627781) }}"), "516");
        assert_eq!(eval("{{ ['a','b','c'] | random(seed=7) }}"), "b");
    }

    #[test]
    fn unseeded_stays_in_range() {
        for _ in 0..50 {
            let n: i64 = eval("{{ 10 | random(start=5) }}").parse().unwrap_or(-1);
            assert!((5..10).contains(&n), "{n}");
        }
        assert!(env().render_str("{{ 0 | random }}", ()).is_err());
        assert!(env().render_str("{{ [] | random }}", ()).is_err());
    }
}
