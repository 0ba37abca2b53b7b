//! The integration-test harness: a real Envoy with the built filter, the real storage service,
//! and loopback back-ends the test scripts.
//!
//! ```ignore
//! let s = Stack::start();                          // storage + back-end + event service + Envoy
//! s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("<p>Earth</p>"));
//! let r = s.envoy.get("/en.wikipedia.org/v1/page/html/Earth");
//! assert_eq!(r.status, 200);
//! assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth"), 1);
//! ```
//!
//! Pieces can be used alone: [`Envoy::builder`] renders any template with any `--set`
//! variables, [`Storage`] can be killed and restarted, [`Upstream`] answers what a test scripts
//! (delays and resets included). Everything listens on 127.0.0.1 on free ports, lives in a
//! temporary directory and stops when dropped, also when a test panics. Every wait is bounded.
//!
//! Needs `make build` first: the release binaries and the wasm module; Envoy comes from
//! `.venv/bin/envoy` (`scripts/setup.sh`) or the `ENVOY` environment variable.

#![allow(dead_code)]

pub mod api_table;
pub mod client;
pub mod devbackend;
pub mod envoy;
pub mod keepalive;
pub mod storage;
pub mod upstream;

#[allow(unused_imports)]
pub use client::{Response, EXTERNAL};
#[allow(unused_imports)]
pub use devbackend::DevBackend;
pub use envoy::Envoy;
pub use storage::Storage;
#[allow(unused_imports)]
pub use upstream::{Recorded, Reply, Upstream};

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every back-end cluster the filter routes to (besides storage, the action API and the event
/// service).
pub const BACKEND_CLUSTERS: &[&str] = &["parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver", "mathoid", "proton", "citoid", "recommendation", "graphoid"];

/// An address nothing listens on (connections are refused at once).
pub const DEAD_ADDRESS: &str = "127.0.0.1:1";

/// The client address external requests claim through `x-forwarded-for` (see [`EXTERNAL`]).
pub const EXTERNAL_IP: &str = "198.51.100.7";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).map(|p| repo_root().join(p)).unwrap_or_else(|| repo_root().join("target"))
}

fn must_exist(path: PathBuf, what: &str) -> PathBuf {
    assert!(path.is_file(), "{what} not found at {}: run `make build` first", path.display());
    path
}

/// A release binary of this workspace, e.g. `restrouter-storage`.
pub fn binary(name: &str) -> PathBuf {
    must_exist(target_dir().join("release").join(name), name)
}

/// The filter module Envoy loads: the newest of the `wasm` profile's build (what `make build`
/// makes) and a plain `--release` one.
pub fn wasm_module() -> PathBuf {
    let candidates = ["wasm32-wasip1/wasm/restrouter.wasm", "wasm32-wasip1/release/restrouter.wasm"].map(|p| target_dir().join(p));
    let newest = candidates.iter().filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p))).max().map(|(_, p)| p.clone());
    newest.unwrap_or_else(|| must_exist(candidates[0].clone(), "the wasm module"))
}

/// Envoy: `$ENVOY` if set, else the one `scripts/setup.sh` installs.
pub fn envoy_binary() -> PathBuf {
    let path = std::env::var_os("ENVOY").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv/bin/envoy"));
    assert!(path.is_file(), "Envoy not found at {}: run `make setup` or set ENVOY", path.display());
    path
}

/// A free loopback port, never the same twice in this process.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed = handed.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("no free port").port();
        if handed.insert(port) {
            return port;
        }
    }
}

/// Polls `check` every 25 ms until it holds or `timeout` passes; true if it held.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The siteinfo the development back-end's action API answers for en.wikipedia.org.
pub const EN_SITEINFO: &[u8] = include_bytes!("../fixtures/siteinfo/en.wikipedia.org.json");

/// An action API that answers en.wikipedia.org's siteinfo (for every wiki) on `/w/api.php`.
pub fn siteinfo_upstream() -> Upstream {
    let mwapi = Upstream::start();
    mwapi.on("/w/api.php", Reply::ok("application/json; charset=utf-8", EN_SITEINFO));
    mwapi
}

/// The usual set-up: the storage service, one [`Upstream`] for every back-end cluster
/// (parsoid, mobileapps, wikifeeds, aqs, cxserver), one for the event service (answering `POST
/// /v1/events` with 201), one for the action API (answering en.wikipedia.org's siteinfo for
/// every wiki), and Envoy with `xff_trusted_hops=1` so requests sending [`EXTERNAL`]
/// are external while plain loopback requests are internal.
pub struct Stack {
    // Field order is drop order: Envoy goes first, so nothing it calls disappears under it.
    pub envoy: Envoy,
    pub backend: Upstream,
    pub events: Upstream,
    pub mwapi: Upstream,
    pub storage: Storage,
}

impl Stack {
    pub fn start() -> Stack {
        Stack::with(&[])
    }

    /// With extra template variables (e.g. `("backend_timeout_ms", "300")`).
    pub fn with(sets: &[(&str, &str)]) -> Stack {
        Stack::with_builder(Envoy::builder().sets(sets))
    }

    /// With an Envoy builder of the caller's (template, concurrency, variables); the stack's
    /// addresses are set first, so the builder's own values win.
    pub fn with_builder(builder: envoy::EnvoyBuilder) -> Stack {
        Stack::with_storage(Storage::start(), builder)
    }

    /// With a storage service of the caller's (e.g. one whose page_revisions reads an action
    /// API).
    pub fn with_storage(storage: Storage, builder: envoy::EnvoyBuilder) -> Stack {
        let backend = Upstream::start();
        let events = Upstream::start();
        events.on("/v1/events", Reply::status(201));
        let mwapi = siteinfo_upstream();
        let mut defaults = vec![("storage", storage.addr()), ("eventgate", events.addr()), ("mwapi", mwapi.addr()), ("xff_trusted_hops", "1".to_string())];
        for cluster in BACKEND_CLUSTERS {
            defaults.push((cluster, backend.addr()));
        }
        let envoy = builder.defaults(&defaults).start();
        Stack { envoy, backend, events, mwapi, storage }
    }

    /// Every service real: the development back-end for every back-end cluster, the action API
    /// and the event service, and a storage service whose page_revisions reads that action API.
    pub fn on_devbackend(dev: &DevBackend) -> Stack {
        let mut sets: Vec<(&str, &str)> = BACKEND_CLUSTERS.iter().map(|c| (*c, dev.addr())).collect();
        sets.extend([("mwapi", dev.addr()), ("eventgate", dev.addr())]);
        Stack::with_storage(Storage::with_mwapi(Some(dev.mwapi_url())), Envoy::builder().sets(&sets))
    }

    /// The `resource_change` events the event service received so far (all batches, flattened).
    pub fn events_received(&self) -> Vec<serde_json::Value> {
        self.events.requests().iter().filter(|r| r.path_only() == "/v1/events").flat_map(|r| r.json().as_array().cloned().unwrap_or_default()).collect()
    }
}
