//! Every target over its checked-in corpus plus random mutations, on the stable toolchain:
//! `FUZZ_SECONDS` per target (default 2), `FUZZ_SEED` for another sequence of mutations.

use restrouter_fuzz::{driver, TARGETS};
use std::path::Path;
use std::time::Duration;

#[test]
fn corpus_and_mutations_do_not_crash() {
    let seconds: f64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let only = std::env::var("FUZZ_TARGET").ok();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for (name, target) in TARGETS.iter().filter(|(n, _)| only.as_deref().is_none_or(|o| o == *n)) {
        let corpus = root.join("corpus").join(name);
        assert!(!driver::corpus(&corpus).is_empty(), "no corpus for {name}");
        let report = driver::run(name, *target, &corpus, &root.join("artifacts"), Duration::from_secs_f64(seconds), seed);
        println!("{name}: {} executions, {} crashes", report.executions, report.crashes.len());
        for (file, msg) in report.crashes {
            failures.push(format!("{name}: {} ({msg})", file.display()));
        }
    }
    assert!(failures.is_empty(), "crashes (inputs saved):\n{}", failures.join("\n"));
}
