//! A trap in the filter costs one VM reload (`failure_policy: FAIL_RELOAD`), not a worker that
//! fails closed: a module built with the test-only `test-trap` feature traps its VM on request,
//! and Envoy rebuilds it and answers the next requests normally.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::envoy::TRAP_SIGNS;
use support::{client, repo_root, target_dir, wait_until, Envoy, Reply, Stack};

const EARTH: &str = "/en.wikipedia.org/v1/page/html/Earth";
const EARTH_BACKEND: &str = "/en.wikipedia.org/v3/page/html/Earth";
const TRAP_HEADER: &str = "x-restrouter-test-trap";

/// The filter built with `--features test-trap` into its own target directory, so the shipped
/// module (`make wasm`) never has the trigger. Cargo rebuilds it when the code changed.
fn trap_module() -> PathBuf {
    let dir = target_dir().join("trap");
    let out = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args(["build", "--profile", "wasm", "--target", "wasm32-wasip1", "--lib", "--features", "test-trap", "--target-dir"])
        .arg(&dir)
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "building the test-trap module failed:\n{}", String::from_utf8_lossy(&out.stderr));
    dir.join("wasm32-wasip1/wasm/restrouter.wasm")
}

#[test]
fn the_shipped_module_has_no_trap_trigger() {
    let shipped = std::fs::read(support::wasm_module()).unwrap();
    assert!(!shipped.windows(TRAP_HEADER.len()).any(|w| w == TRAP_HEADER.as_bytes()), "the shipped module carries the test-trap trigger");
    let trap = std::fs::read(trap_module()).unwrap();
    assert!(trap.windows(TRAP_HEADER.len()).any(|w| w == TRAP_HEADER.as_bytes()), "the test-trap module lacks its trigger");
}

#[test]
fn a_trapped_vm_is_rebuilt_and_answers_again() {
    let module = trap_module().display().to_string();
    // One worker: the VM that traps is the one that must answer afterwards.
    let s = Stack::with_builder(Envoy::builder().concurrency(1).set("wasm", &module));
    s.backend.on(EARTH_BACKEND, Reply::html("<p>Earth</p>").header("etag", "\"1/a\""));
    assert_eq!(s.envoy.get(EARTH).status, 200);
    assert_eq!(s.envoy.stat(".vm_reload_success"), 0);

    // The trapping request gets no answer from the filter (Envoy refuses it or resets it).
    let r = client::try_send("GET", &s.envoy.url(EARTH), &[(TRAP_HEADER, "1")], None);
    assert!(!r.as_ref().is_ok_and(|r| r.status < 500), "a trapped request was answered normally: {r:?}");
    assert!(wait_until(Duration::from_secs(10), || TRAP_SIGNS.iter().any(|t| s.envoy.log().contains(t))), "Envoy logged no trap:\n{}", s.envoy.log());

    // Within the reload back-off (1 s) requests may be refused; then the VM is rebuilt and the
    // worker answers normally again: a stored hit, the same as before the trap.
    let mut last = None;
    let back = wait_until(Duration::from_secs(60), || {
        let r = s.envoy.get(EARTH);
        let ok = r.status == 200 && r.text() == "<p>Earth</p>";
        last = Some(r);
        ok
    });
    assert!(back, "the worker did not answer again after the trap; last answer: {}", last.unwrap());
    assert_eq!(s.envoy.stat(".vm_reload_success"), 1, "{}", s.envoy.stats());
    assert_eq!(s.envoy.stat(".vm_reload_failure"), 0);
    assert_eq!(s.backend.count(EARTH_BACKEND), 1, "the rebuilt VM did not read storage");
    for _ in 0..5 {
        assert_eq!(s.envoy.get(EARTH).status, 200);
    }
    assert_eq!(s.envoy.stat(".vm_reload_success"), 1, "more reloads than traps");
    s.envoy.get("/en.wikipedia.org/v1/nothing").assert_problem(404, "not_found#route", "GET", "/en.wikipedia.org/v1/nothing");
}
