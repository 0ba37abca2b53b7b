//! Runs sidecar processes on loopback for the integration tests. Every process is killed when
//! its handle drops, so a failing test leaves nothing running.

// A test harness: failing loudly is its job.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_restrouter-ratelimit");

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command with the sidecar's environment cleared of anything that could change its flags.
pub fn sidecar_command() -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("RESTROUTER_RATELIMIT_") || k == "POD_IP" {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info,libp2p=warn");
    cmd
}

pub struct Sidecar {
    pub name: String,
    pub http: u16,
    pub dht: u16,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Sidecar {
    /// Starts a node listening on `127.0.0.1:{dht}` with the given seeds (DHT ports).
    pub fn start(name: &str, http: u16, dht: u16, seeds: &[u16]) -> Sidecar {
        Sidecar::start_with(name, http, dht, seeds, &[])
    }

    /// Like `start`, with extra flags.
    pub fn start_with(name: &str, http: u16, dht: u16, seeds: &[u16], extra: &[&str]) -> Sidecar {
        let log =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sidecar-{name}-{dht}.log"));
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let seeds: Vec<String> = seeds.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let child = sidecar_command()
            .args(["--http-listen", &format!("127.0.0.1:{http}")])
            .args(["--dht-listen", &format!("127.0.0.1:{dht}")])
            .args(["--advertise", &format!("127.0.0.1:{dht}")])
            .args(["--seed", &seeds.join(",")])
            .args([
                "--window-ms",
                "5000",
                "--redial-ms",
                "500",
                "--peer-expiry-ms",
                "20000",
            ])
            .args(["--cluster-secret", "test-secret"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let sidecar = Sidecar {
            name: name.to_owned(),
            http,
            dht,
            child: Some(child),
            log,
        };
        sidecar.wait_healthy();
        sidecar
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if agent().get(&self.url("/healthz")).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} not healthy; log:\n{}", self.name, self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `POST /v1/sync` with `(key, count, limit)` entries; returns the parsed answer.
    pub fn sync(&self, counts: &[(&str, u64, f64)]) -> Value {
        let body = json!({
            "counts": counts.iter().map(|(k, c, l)| json!({"key": k, "count": c, "limit": l})).collect::<Vec<_>>()
        });
        let mut resp = agent()
            .post(&self.url("/v1/sync"))
            .send_json(&body)
            .unwrap_or_else(|e| panic!("{} sync failed: {e}", self.name));
        resp.body_mut().read_json().unwrap()
    }

    /// Raw `POST /v1/sync` (status, body).
    pub fn sync_raw(&self, body: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut resp = agent
            .post(&self.url("/v1/sync"))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// A metric's value (sum over its label sets); 0 when absent.
    pub fn metric(&self, name: &str) -> f64 {
        let text = agent()
            .get(&self.url("/metrics"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        metric_value(&text, name)
    }

    pub fn wait_metric(&self, name: &str, want: f64, within: Duration) {
        let deadline = Instant::now() + within;
        let mut last = f64::NAN;
        while Instant::now() < deadline {
            last = self.metric(name);
            if last == want {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{}: {name} is {last}, wanted {want}; log:\n{}",
            self.name,
            self.log_text()
        );
    }

    /// Sends a signal (e.g. `STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([format!("-{signal}"), child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name)
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// The over-limit entry for `key` in a sync answer.
pub fn over_limit_entry<'a>(answer: &'a Value, key: &str) -> Option<&'a Value> {
    answer["over_limit"]
        .as_array()?
        .iter()
        .find(|e| e["key"] == key)
}

/// Runs `rounds` syncs, one per second on a fixed schedule, each sending `counts` to every
/// node; returns the answers of the last round, one per node.
pub fn feed(nodes: &[&Sidecar], counts: &[(&str, u64, f64)], rounds: u32) -> Vec<Value> {
    let start = Instant::now();
    let mut last = Vec::new();
    for round in 0..rounds {
        let due = start + Duration::from_secs(u64::from(round));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        last = nodes.iter().map(|n| n.sync(counts)).collect();
    }
    last
}

/// `|value - want| <= tolerance * want`.
pub fn near(value: f64, want: f64, tolerance: f64) -> bool {
    (value - want).abs() <= tolerance * want
}
