//! A small, deterministic, libFuzzer-free fuzzing loop for the stable toolchain: replay the
//! corpus, then mutate corpus entries (byte edits, dictionary splices, cross-overs) for a time
//! budget. No coverage feedback, so it finds shallow bugs only; `cargo fuzz` (README.md) is the
//! deep search. A panic is caught, its input written to `artifacts/<target>/`, and reported.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: reproducible runs from a seed, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random edits of `input`, `other` being another corpus entry for cross-over.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = [0u8, 0xff, 0x7f, 0x80, b'%', b'/', b'.', b'{', b'"', b'0', b'9'][rng.below(11)];
            }
            2 => out.insert(at, rng.next() as u8),
            3 if !out.is_empty() => {
                let len = 1 + rng.below(16.min(out.len()));
                let start = at.min(out.len() - len);
                out.drain(start..start + len);
            }
            4 | 5 => {
                let token = dictionary[rng.below(dictionary.len())];
                out.splice(at..at, token.iter().copied());
            }
            6 if !out.is_empty() => {
                // Repeat a slice many times: deep nesting, long segments.
                let len = 1 + rng.below(8.min(out.len()));
                let start = at.min(out.len() - len);
                let chunk = out[start..start + len].to_vec();
                let max = if rng.below(8) == 0 { 2000 } else { 16 };
                let times = 1 + rng.below(max);
                for _ in 0..times {
                    out.splice(start..start, chunk.iter().copied());
                }
            }
            7 if !other.is_empty() => {
                let from = rng.below(other.len());
                let len = 1 + rng.below(other.len() - from);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out.truncate(1 << 16);
    out
}

/// The corpus of a target: every file under `corpus/<target>/`, sorted by name.
pub fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect()).unwrap_or_default();
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b))).collect()
}

#[derive(Debug)]
pub struct Report {
    pub executions: u64,
    /// Inputs that panicked, as written to the artifacts directory, with the panic message.
    pub crashes: Vec<(PathBuf, String)>,
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

/// Replays the corpus, then mutates for `budget`; stops at the first few crashes.
pub fn run(name: &str, target: fn(&[u8]), corpus_dir: &Path, artifacts: &Path, budget: Duration, seed: u64) -> Report {
    let entries = corpus(corpus_dir);
    let mut report = Report { executions: 0, crashes: Vec::new() };
    let exec = |input: &[u8], report: &mut Report| {
        report.executions += 1;
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| target(input))) {
            let file = artifacts.join(name).join(format!("crash-{:016x}", fnv(input)));
            let _ = std::fs::create_dir_all(file.parent().unwrap_or(artifacts));
            let _ = std::fs::write(&file, input);
            report.crashes.push((file, message(payload.as_ref())));
        }
    };
    // The default hook would print every caught panic; the report carries the message instead.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (_, input) in &entries {
        exec(input, &mut report);
    }
    let mut rng = Rng::new(seed ^ fnv(name.as_bytes()));
    let end = Instant::now() + budget;
    let empty: Vec<u8> = Vec::new();
    while Instant::now() < end && report.crashes.len() < 5 {
        for _ in 0..64 {
            let base = entries.get(rng.below(entries.len())).map_or(&empty, |(_, b)| b);
            let other = entries.get(rng.below(entries.len())).map_or(&empty, |(_, b)| b);
            let input = mutate(&mut rng, base, other, crate::DICTIONARY);
            exec(&input, &mut report);
        }
    }
    std::panic::set_hook(hook);
    report
}

/// FNV-1a: names crash files by content.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}
