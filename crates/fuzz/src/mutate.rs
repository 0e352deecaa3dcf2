//! A coverage-less mutator: what libFuzzer's mutations do to bytes (bit flips, inserted,
//! erased, repeated and spliced ranges, dictionary tokens, interesting numbers), plus
//! structural edits of the input's JSON and YAML sections (sections are separated by a NUL
//! byte, see [`crate::targets`]): a value replaced by one of another type or an extreme
//! one, keys dropped or added, subtrees copied, nesting deepened. Without coverage feedback
//! the structural edits are what gets mutants past the first decoding step.
//!
//! Deterministic for a seed ([`Rng`]), so a run can be repeated from its printed seed.

use serde_json::{Map, Value};

/// splitmix64: small, fast and good enough to choose mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Numbers that sit on the edges parsers get wrong: signs, zero, the limits of i32, i64,
/// u64 and f64, Go duration and base64 corner cases.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "1e308",
    "1e309",
    "-1e308",
    "4.9e-324",
    "0.5",
    "1.5e3",
    "NaN",
    "Infinity",
];

/// Bytes worth writing over another.
const BYTES: &[u8] =
    &[0, 1, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', b'\n', b'.', b'='];

/// The mutator of one target: its dictionary and the longest input it makes.
pub struct Mutator {
    pub rng: Rng,
    dict: Vec<Vec<u8>>,
    max_len: usize,
}

impl Mutator {
    pub fn new(seed: u64, dict: &[&str], max_len: usize) -> Self {
        let mut words: Vec<Vec<u8>> = dict.iter().map(|w| w.as_bytes().to_vec()).collect();
        words.extend(NUMBERS.iter().map(|n| n.as_bytes().to_vec()));
        Self { rng: Rng::new(seed), dict: words, max_len: max_len.max(1) }
    }

    /// Applies one to five mutations to `input`; `others` are inputs to splice from.
    pub fn mutate(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let rounds = 1 + self.rng.below(5);
        for _ in 0..rounds {
            self.mutate_once(input, others);
        }
        input.truncate(self.max_len);
    }

    fn mutate_once(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        match self.rng.below(16) {
            0 => self.flip_bit(input),
            1 => self.set_byte(input),
            2 => self.insert_random(input),
            3 => self.erase(input),
            4 => self.repeat(input),
            5 | 6 => self.insert_word(input),
            7 => self.overwrite_word(input),
            8 => self.splice(input, others),
            9 | 10 => self.replace_number(input),
            11 => self.nest(input),
            12 => input.truncate(self.rng.below(input.len() + 1)),
            _ => {
                if !self.structural(input) {
                    self.insert_word(input);
                }
            }
        }
    }

    fn flip_bit(&mut self, input: &mut [u8]) {
        if let Some(b) = input.get_mut(self.rng.below(input.len().max(1))) {
            *b ^= 1 << self.rng.below(8);
        }
    }

    fn set_byte(&mut self, input: &mut [u8]) {
        let v = match self.rng.pick(BYTES) {
            Some(&b) if self.rng.chance(2) => b,
            _ => self.rng.next_u64() as u8,
        };
        if let Some(b) = input.get_mut(self.rng.below(input.len().max(1))) {
            *b = v;
        }
    }

    fn insert_random(&mut self, input: &mut Vec<u8>) {
        let at = self.rng.below(input.len() + 1);
        let n = 1 + self.rng.below(8);
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
        input.splice(at..at, bytes);
    }

    fn range(&mut self, len: usize) -> (usize, usize) {
        let start = self.rng.below(len + 1);
        let end = start + self.rng.below(len - start + 1).min(64);
        (start, end)
    }

    fn erase(&mut self, input: &mut Vec<u8>) {
        let (a, b) = self.range(input.len());
        input.drain(a..b);
    }

    /// A range repeated up to 64 times: long lists, long strings, repeated keys.
    fn repeat(&mut self, input: &mut Vec<u8>) {
        let (a, b) = self.range(input.len());
        let Some(chunk) = input.get(a..b).map(<[u8]>::to_vec) else { return };
        let times = 1 + self.rng.below(64);
        let mut extra = Vec::with_capacity(chunk.len() * times);
        for _ in 0..times {
            extra.extend_from_slice(&chunk);
        }
        input.splice(b..b, extra);
    }

    fn insert_word(&mut self, input: &mut Vec<u8>) {
        let Some(word) = self.rng.pick(&self.dict).cloned() else { return };
        let at = self.rng.below(input.len() + 1);
        input.splice(at..at, word);
    }

    fn overwrite_word(&mut self, input: &mut Vec<u8>) {
        let Some(word) = self.rng.pick(&self.dict).cloned() else { return };
        let at = self.rng.below(input.len() + 1);
        let end = (at + word.len()).min(input.len());
        input.splice(at..end, word);
    }

    fn splice(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let Some(other) = self.rng.pick(others) else { return };
        let (a, b) = self.range(other.len());
        let Some(part) = other.get(a..b).map(<[u8]>::to_vec) else { return };
        let at = self.rng.below(input.len() + 1);
        if self.rng.chance(2) {
            input.truncate(at);
        }
        input.splice(at.min(input.len())..at.min(input.len()), part);
    }

    /// A run of digits (with its sign) replaced by an interesting number.
    fn replace_number(&mut self, input: &mut Vec<u8>) {
        let digits: Vec<usize> =
            (0..input.len()).filter(|&i| input.get(i).is_some_and(u8::is_ascii_digit)).collect();
        let Some(&at) = self.rng.pick(&digits) else {
            self.insert_word(input);
            return;
        };
        let mut start = at;
        while start > 0 && input.get(start - 1).is_some_and(|b| b.is_ascii_digit() || *b == b'-') {
            start -= 1;
        }
        let mut end = at;
        while input.get(end).is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E')) {
            end += 1;
        }
        let Some(n) = self.rng.pick(NUMBERS) else { return };
        input.splice(start..end, n.bytes());
    }

    /// Brackets opened many times over: the depth limits.
    fn nest(&mut self, input: &mut Vec<u8>) {
        let open: &[u8] = match self.rng.below(4) {
            0 => b"[",
            1 => b"{\"a\":",
            2 => b"- ",
            _ => b"(",
        };
        let times = 1 + self.rng.below(300);
        let at = self.rng.below(input.len() + 1);
        let mut extra = Vec::with_capacity(open.len() * times);
        for _ in 0..times {
            extra.extend_from_slice(open);
        }
        input.splice(at..at, extra);
    }

    /// Edits the tree of one NUL-separated section that decodes as JSON (or YAML), and writes
    /// the section back in its format. False when no section decodes.
    fn structural(&mut self, input: &mut Vec<u8>) -> bool {
        let parts: Vec<&[u8]> = input.split(|b| *b == 0).collect();
        let i = self.rng.below(parts.len());
        let Some(section) = parts.get(i) else { return false };
        let (mut tree, yaml) = match serde_json::from_slice::<Value>(section) {
            Ok(v) => (v, false),
            Err(_) => {
                match std::str::from_utf8(section).ok().and_then(|t| apimachinery::yaml::from_str(t).ok()) {
                    Some(v) => (v, true),
                    None => return false,
                }
            }
        };
        self.edit_tree(&mut tree);
        let text = if yaml {
            apimachinery::yaml::to_string(&tree).map(String::into_bytes).ok()
        } else {
            serde_json::to_vec(&tree).ok()
        };
        let Some(text) = text else { return false };
        let mut out = Vec::with_capacity(input.len() + text.len());
        for (j, part) in parts.iter().enumerate() {
            if j > 0 {
                out.push(0);
            }
            out.extend_from_slice(if j == i { &text } else { part });
        }
        *input = out;
        true
    }

    /// Picks a node by a random descent and changes it.
    fn edit_tree(&mut self, root: &mut Value) {
        let donor = self.random_subtree(root);
        let mut path = Vec::new();
        let mut at: &Value = root;
        for _ in 0..32 {
            if self.rng.chance(3) {
                break;
            }
            let len = match at {
                Value::Object(m) => m.len(),
                Value::Array(a) => a.len(),
                _ => 0,
            };
            let k = self.rng.below(len);
            let next = match at {
                Value::Object(m) => m.values().nth(k),
                Value::Array(a) => a.get(k),
                _ => None,
            };
            let Some(next) = next else { break };
            path.push(k);
            at = next;
        }
        let mut node = root;
        for k in path {
            let next = match node {
                Value::Object(m) => m.values_mut().nth(k),
                Value::Array(a) => a.get_mut(k),
                _ => None,
            };
            // The path was read off this tree, so every step exists.
            let Some(next) = next else { return };
            node = next;
        }
        match self.rng.below(6) {
            0 | 1 => *node = self.interesting_value(),
            2 => *node = donor,
            3 => match node {
                Value::Object(m) if !m.is_empty() => {
                    let k = self.rng.below(m.len());
                    if let Some(key) = m.keys().nth(k).cloned() {
                        m.remove(&key);
                    }
                }
                Value::Array(a) if !a.is_empty() => {
                    let k = self.rng.below(a.len());
                    a.remove(k);
                }
                other => *other = Value::Null,
            },
            4 => match node {
                Value::Object(m) => {
                    let key = self.word_string();
                    let v = self.interesting_value();
                    m.insert(key, v);
                }
                Value::Array(a) => {
                    let dup = a.get(self.rng.below(a.len())).cloned().unwrap_or(Value::Null);
                    let times = 1 + self.rng.below(8);
                    a.extend(std::iter::repeat_n(dup, times));
                }
                other => *other = Value::Array(vec![other.clone()]),
            },
            _ => {
                let inner = std::mem::take(node);
                *node = if self.rng.chance(2) {
                    Value::Array(vec![inner])
                } else {
                    let mut m = Map::new();
                    m.insert(self.word_string(), inner);
                    Value::Object(m)
                };
            }
        }
    }

    fn random_subtree(&mut self, root: &Value) -> Value {
        let mut node = root;
        for _ in 0..32 {
            if self.rng.chance(3) {
                break;
            }
            let next = match node {
                Value::Object(m) => m.values().nth(self.rng.below(m.len())),
                Value::Array(a) => a.get(self.rng.below(a.len())),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.clone()
    }

    fn word_string(&mut self) -> String {
        let word = self.rng.pick(&self.dict).cloned().unwrap_or_default();
        String::from_utf8_lossy(&word).trim_matches('"').to_string()
    }

    fn interesting_value(&mut self) -> Value {
        match self.rng.below(12) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.chance(2)),
            2 => Value::from(i64::MAX),
            3 => Value::from(i64::MIN),
            4 => Value::from(u64::MAX),
            5 => serde_json::Number::from_f64(1e308).map_or(Value::Null, Value::Number),
            6 => Value::from(-1),
            7 => Value::String(String::new()),
            8 => Value::String("x".repeat(1 + self.rng.below(300))),
            9 => Value::Object(Map::new()),
            10 => Value::Array(Vec::new()),
            _ => Value::String(self.word_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_mutants() {
        let seeds = vec![br#"{"a":[1,2,{"b":"c"}]}"#.to_vec()];
        let run = |seed| {
            let mut m = Mutator::new(seed, &["kind"], 4096);
            (0..50)
                .map(|_| {
                    let mut x = seeds[0].clone();
                    m.mutate(&mut x, &seeds);
                    x
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutants_stay_within_the_length_bound() {
        let mut m = Mutator::new(1, &[], 64);
        let seeds = vec![vec![b'a'; 60]];
        for _ in 0..500 {
            let mut x = seeds[0].clone();
            m.mutate(&mut x, &seeds);
            assert!(x.len() <= 64);
        }
    }

    #[test]
    fn structural_edits_keep_json_decodable_and_change_it() {
        let mut m = Mutator::new(3, &["kind"], 1 << 16);
        let seed = br#"{"kind":"Pod","spec":{"containers":[{"name":"a"}]}}"#.to_vec();
        let mut changed = 0;
        for _ in 0..200 {
            let mut x = seed.clone();
            assert!(m.structural(&mut x));
            assert!(serde_json::from_slice::<Value>(&x).is_ok());
            changed += usize::from(x != seed);
        }
        assert!(changed > 150, "only {changed} of 200 structural edits changed the input");
    }

    #[test]
    fn structural_edits_touch_one_section() {
        let mut m = Mutator::new(5, &[], 1 << 16);
        let seed = b"{\"a\":1}\0not json at all: [".to_vec();
        for _ in 0..50 {
            let mut x = seed.clone();
            m.structural(&mut x);
            assert!(x.ends_with(b"\0not json at all: ["), "{}", String::from_utf8_lossy(&x));
        }
    }
}
