//! What configuring the filter costs in heap: the peak while the spec is compiled and what stays
//! allocated after. Wasm linear memory never shrinks, so the peak stays resident in every VM
//! that compiles the spec (BENCHMARKS.md, memory). Ignored: the figures are printed, run with
//! `cargo test --release --lib configure_heap -- --ignored --nocapture` (natively, or with
//! `--target wasm32-wasip1` for the module's own allocator and pointer size).

use crate::pipeline::fake::FakeHost;
use crate::pipeline::Filter;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The plugin configuration the memory benchmark renders: the shipped spec with 800 more
/// domains in the wikipedia project.
fn bench_config() -> Vec<u8> {
    let mut spec = crate::spec::tests::shipped();
    let projects = spec.pointer_mut("/x-restrouter/projects").and_then(|p| p.as_array_mut()).unwrap();
    let wikipedia = projects.iter_mut().find(|p| p["name"] == "wikipedia").unwrap();
    let domains = wikipedia["domains"].as_array_mut().unwrap();
    domains.extend((0..800).map(|i| serde_json::Value::String(format!("wiki{i}.wikipedia.example.org"))));
    serde_json::to_vec(&serde_json::json!({"spec": spec, "settings": {}})).unwrap()
}

#[cfg(target_arch = "wasm32")]
fn linear_memory() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

#[cfg(not(target_arch = "wasm32"))]
fn linear_memory() -> usize {
    0
}

#[test]
#[ignore]
fn configure_heap() {
    let config = bench_config();
    let host = FakeHost::default();
    let (base, pages) = (CURRENT.load(Ordering::Relaxed), linear_memory());
    PEAK.store(base, Ordering::Relaxed);
    // As the glue does: the configuration is copied out of the host, parsed, then compiled.
    let bytes = config.clone();
    let parsed = crate::config::parse(&bytes).unwrap();
    drop(bytes);
    let filter = Filter::from_config(&host, parsed, "restrouter".into()).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let retained = CURRENT.load(Ordering::Relaxed) - base;
    let grown = linear_memory() - pages;
    println!("configuration {} bytes; heap peak {peak} bytes, retained {retained} bytes; linear memory grown {grown} bytes", config.len());
    drop(filter);
}

#[test]
#[ignore]
fn configure_heap_parts() {
    let config = bench_config();
    let mark = || CURRENT.load(Ordering::Relaxed);
    let b0 = mark();
    PEAK.store(b0, Ordering::Relaxed);
    let parsed = crate::config::parse(&config).unwrap();
    let b1 = mark();
    println!("parse: retained {} peak {}", b1 - b0, PEAK.load(Ordering::Relaxed) - b0);
    PEAK.store(b1, Ordering::Relaxed);
    let api = crate::spec::Api::compile(parsed.spec.as_ref().unwrap()).unwrap();
    let b2 = mark();
    println!("compile: retained {} peak {}", b2 - b1, PEAK.load(Ordering::Relaxed) - b1);
    let b3 = mark();
    drop(parsed);
    println!("configuration tree: {}", b3 - mark());
    drop(api);
}
