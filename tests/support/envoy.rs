//! A real Envoy with the built filter, rendered from an Envoy template by `restrouter-render`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::client::{self, Response};
use super::{binary, envoy_binary, free_port, repo_root, wait_until, wasm_module, DEAD_ADDRESS};

/// How long Envoy may take to load the configuration and compile the module in every VM.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Addresses the templates know; the ones a test does not set point at [`DEAD_ADDRESS`], so a
/// test never reaches a service that happens to run on a default port.
const ADDRESS_VARS: &[&str] = &["storage", "parsoid", "mobileapps", "wikifeeds", "aqs", "cxserver", "mathoid", "proton", "citoid", "recommendation", "graphoid", "mwapi", "eventgate", "legacy"];

/// How to start an Envoy: template, `--set` variables, worker count, log level.
pub struct EnvoyBuilder {
    template: PathBuf,
    sets: Vec<(String, String)>,
    concurrency: u32,
    log_level: String,
    edit: Option<ConfigEdit>,
    /// Template variables that name another port of this Envoy (e.g. `shadow_port`).
    port_vars: Vec<String>,
}

/// A change to the rendered configuration ([`EnvoyBuilder::edit_config`]).
type ConfigEdit = Box<dyn Fn(&str) -> String>;

impl EnvoyBuilder {
    /// Another template than `envoy/restrouter.yaml.j2` (relative to the repository root, or
    /// absolute).
    pub fn template(mut self, path: impl AsRef<Path>) -> Self {
        self.template = repo_root().join(path);
        self
    }

    /// A template variable (`restrouter-render vars` lists them); later values win.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.sets.push((name.to_string(), value.to_string()));
        self
    }

    pub fn sets(mut self, sets: &[(&str, &str)]) -> Self {
        for (n, v) in sets {
            self = self.set(n, v);
        }
        self
    }

    /// Variables that the ones already set (and set later) override.
    pub fn defaults(mut self, sets: &[(&str, String)]) -> Self {
        let mut all: Vec<(String, String)> = sets.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        all.append(&mut self.sets);
        self.sets = all;
        self
    }

    /// A template variable that is another listening port of this Envoy: a free one is given
    /// on each start attempt (so a port taken meanwhile is retried like the others), read back
    /// with [`Envoy::port`].
    pub fn port(mut self, var: &str) -> Self {
        self.port_vars.push(var.to_string());
        self
    }

    /// Worker threads (`--concurrency`); 2 unless set.
    pub fn concurrency(mut self, workers: u32) -> Self {
        self.concurrency = workers;
        self
    }

    /// Envoy's `--log-level` (`warning` unless set; the wasm component logs at `info`).
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_string();
        self
    }

    /// Changes the rendered configuration before Envoy reads it (a configuration the templates
    /// cannot produce, e.g. a broken filter configuration).
    pub fn edit_config(mut self, edit: impl Fn(&str) -> String + 'static) -> Self {
        self.edit = Some(Box::new(edit));
        self
    }

    pub fn start(self) -> Envoy {
        Envoy::launch(self)
    }

    /// Like [`EnvoyBuilder::start`], but `Err(log)` when Envoy refuses the configuration.
    pub fn try_start(self) -> Result<Envoy, String> {
        Envoy::try_launch_retrying(self)
    }
}

/// A running Envoy; killed when dropped (also when the test panics).
pub struct Envoy {
    child: Child,
    dir: tempfile::TempDir,
    http_port: u16,
    admin_port: u16,
    https_port: u16,
    /// The ports of [`EnvoyBuilder::port`] variables.
    ports: Vec<(String, u16)>,
}

fn base_id() -> u32 {
    // Unique per process and Envoy, so parallel tests and a developer's `make run` do not share
    // Envoy's shared-memory region.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 100;
    10_000 + (std::process::id() % 40_000) * 100 + n
}

impl Envoy {
    /// Envoy from `envoy/restrouter.yaml.j2` with these variables, 2 workers.
    pub fn start(sets: &[(&str, &str)]) -> Envoy {
        Envoy::builder().sets(sets).start()
    }

    pub fn builder() -> EnvoyBuilder {
        EnvoyBuilder { template: repo_root().join("envoy/restrouter.yaml.j2"), sets: Vec::new(), concurrency: 2, log_level: "warning".into(), edit: None, port_vars: Vec::new() }
    }

    fn launch(b: EnvoyBuilder) -> Envoy {
        Envoy::try_launch_retrying(b).unwrap_or_else(|log| panic!("Envoy exited during start-up; log:\n{log}"))
    }

    fn try_launch_retrying(b: EnvoyBuilder) -> Result<Envoy, String> {
        // A port from `free_port` can still be taken before Envoy binds it (by any connection's
        // ephemeral port): then start again on other ports.
        for _ in 0..3 {
            match Envoy::try_launch(&b) {
                Err(log) if log.contains("Address already in use") => continue,
                result => return result,
            }
        }
        panic!("Envoy found its ports taken three times in a row");
    }

    fn try_launch(b: &EnvoyBuilder) -> Result<Envoy, String> {
        let dir = tempfile::Builder::new().prefix("restrouter-envoy-").tempdir().expect("temp dir");
        let (http_port, admin_port, https_port) = (free_port(), free_port(), free_port());
        let ports: Vec<(String, u16)> = b.port_vars.iter().map(|v| (v.clone(), free_port())).collect();
        let config = dir.path().join("envoy.yaml");
        render(b, &config, http_port, admin_port, https_port, &ports);
        if let Some(edit) = &b.edit {
            let text = std::fs::read_to_string(&config).expect("read envoy.yaml");
            std::fs::write(&config, edit(&text)).expect("write envoy.yaml");
        }
        let log_path = dir.path().join("envoy.log");
        let log = std::fs::File::create(&log_path).expect("envoy log");
        let child = Command::new(envoy_binary())
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", &b.concurrency.to_string()])
            .args(["--base-id", &base_id().to_string()])
            .args(["--log-level", &b.log_level, "--component-log-level", "wasm:info"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("envoy log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Envoy ({}): {e}", envoy_binary().display()));
        let mut envoy = Envoy { child, dir, http_port, admin_port, https_port, ports };
        envoy.wait_ready()?;
        Ok(envoy)
    }

    /// Err(log) when Envoy exited during start-up.
    fn wait_ready(&mut self) -> Result<(), String> {
        let url = self.admin_url("/ready");
        let mut exited = false;
        let ready = wait_until(READY_TIMEOUT, || {
            if let Ok(Some(_)) = self.child.try_wait() {
                exited = true;
                return true;
            }
            client::try_send("GET", &url, &[], None).is_ok_and(|r| r.status == 200)
        });
        if exited {
            return Err(self.log());
        }
        assert!(ready, "Envoy not ready within {READY_TIMEOUT:?}; log:\n{}", self.log());
        Ok(())
    }

    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// The port given to a [`EnvoyBuilder::port`] variable.
    pub fn port(&self, var: &str) -> u16 {
        self.ports.iter().find(|(v, _)| v == var).map(|(_, p)| *p).unwrap_or_else(|| panic!("no port variable {var}"))
    }

    /// The HTTPS listener's port (listening only when rendered with `tls_cert` and `tls_key`).
    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    /// `http://127.0.0.1:{http_port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    pub fn get(&self, path: &str) -> Response {
        client::get(&self.url(path))
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        client::get_with(&self.url(path), headers)
    }

    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        client::send(method, &self.url(path), headers, body)
    }

    fn admin(&self, path: &str) -> String {
        let r = client::get(&self.admin_url(path));
        assert_eq!(r.status, 200, "admin {path}: {r}");
        r.text()
    }

    /// Admin `/stats` (text).
    pub fn stats(&self) -> String {
        self.admin("/stats")
    }

    /// Admin `/stats/prometheus`.
    pub fn prometheus(&self) -> String {
        self.admin("/stats/prometheus")
    }

    /// The value of one Prometheus sample, e.g.
    /// `metric("restrouter_route_rq", &[("restrouter_route", "getPageHtml"), ("status_class", "2xx")])`;
    /// labels not given may have any value. `None` when no sample matches.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        prometheus_value(&self.prometheus(), name, labels)
    }

    /// Like [`Envoy::metric`] for a series that must exist: a missing one (a renamed or
    /// undefined metric) fails the test rather than reading as 0.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let text = self.prometheus();
        prometheus_value(&text, name, labels).unwrap_or_else(|| panic!("no series {name} {labels:?} in /stats/prometheus:\n{}", related(&text, name)))
    }

    /// Waits (bounded) until the metric reaches `at_least`, then returns its value (failing on
    /// a missing series): counters are updated once the answer is logged, which may be just
    /// after the client got it.
    pub fn wait_counter(&self, name: &str, labels: &[(&str, &str)], at_least: f64) -> f64 {
        wait_until(Duration::from_secs(20), || self.metric(name, labels).is_some_and(|v| v >= at_least));
        self.counter(name, labels)
    }

    /// Envoy's own counter of its `/stats` text (e.g. `wasm.restrouter.vm_reload_success`…, by
    /// a name suffix), failing when no such stat exists.
    pub fn stat(&self, suffix: &str) -> u64 {
        let stats = self.stats();
        let found: Vec<u64> = stats.lines().filter_map(|l| l.split_once(": ")).filter(|(n, _)| n.ends_with(suffix)).filter_map(|(_, v)| v.trim().parse().ok()).collect();
        assert!(!found.is_empty(), "no stat ending in {suffix}:\n{}", related(&stats, "wasm"));
        found.iter().sum()
    }

    /// The filter never trapped: every VM-reload stat (the filter's and the singleton's) exists
    /// and is 0, and Envoy logged no panic and no failed wasm call.
    pub fn assert_no_vm_trouble(&self) {
        let stats = self.stats();
        let reloads: Vec<&str> = stats.lines().filter(|l| l.contains("vm_reload_")).collect();
        assert!(!reloads.is_empty(), "Envoy exports no vm_reload_* stats:\n{}", related(&stats, "wasm"));
        for line in reloads {
            assert!(line.ends_with(": 0"), "{line}");
        }
        let log = self.log();
        for sign in TRAP_SIGNS {
            assert!(!log.contains(sign), "the filter trapped ({sign:?} in Envoy's log):\n{log}");
        }
    }

    /// Everything Envoy logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default()
    }

    /// The rendered configuration.
    pub fn config(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("envoy.yaml")).unwrap_or_default()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- Envoy log (admin port {}) ---\n{}", self.admin_port, self.log());
        }
    }
}

fn render(b: &EnvoyBuilder, out: &Path, http: u16, admin: u16, https: u16, ports: &[(String, u16)]) {
    let mut sets: Vec<(String, String)> = ADDRESS_VARS.iter().map(|n| (n.to_string(), DEAD_ADDRESS.to_string())).collect();
    sets.push(("http_port".into(), http.to_string()));
    sets.push(("admin_port".into(), admin.to_string()));
    sets.push(("https_port".into(), https.to_string()));
    sets.push(("wasm".into(), wasm_module().display().to_string()));
    sets.extend(b.sets.iter().cloned());
    sets.extend(ports.iter().map(|(v, p)| (v.clone(), p.to_string())));
    let mut cmd = Command::new(binary("restrouter-render"));
    cmd.current_dir(repo_root()).arg("envoy").arg("--template").arg(&b.template);
    for (n, v) in &sets {
        cmd.arg("--set").arg(format!("{n}={v}"));
    }
    // The developer's RESTROUTER_* settings must not leak into a test's configuration.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RESTROUTER_") {
            cmd.env_remove(name);
        }
    }
    let output = cmd.output().expect("cannot run restrouter-render");
    assert!(output.status.success(), "restrouter-render envoy failed: {}", String::from_utf8_lossy(&output.stderr));
    std::fs::write(out, &output.stdout).expect("write envoy.yaml");
}

/// What Envoy logs when the module traps: the panic message the SDK's hook logs, and V8's
/// report of the failed call (seen with the test-trap module, tests/vm_reload.rs).
pub const TRAP_SIGNS: &[&str] = &["panicked at", "Uncaught RuntimeError"];

/// The lines of `text` that mention `needle`, for failure messages.
fn related(text: &str, needle: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(needle)).take(60).collect();
    lines.join("\n")
}

/// One sample of Prometheus text: `name{labels} value`.
pub fn prometheus_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, label_text) = match series.split_once('{') {
            Some((m, rest)) => (m, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            return None;
        }
        let all = labels.iter().all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
        if all {
            value.parse().ok()
        } else {
            None
        }
    })
}

/// Replaces the filter's configuration (not the singleton service's) in a rendered config.
pub fn with_filter_configuration(config: serde_json::Value) -> impl Fn(&str) -> String {
    move |text: &str| {
        let mut parsed: serde_json::Value = serde_norway::from_str(text).expect("rendered config is YAML");
        let listeners = parsed["static_resources"]["listeners"].as_array_mut().expect("listeners");
        let mut replaced = 0;
        for listener in listeners {
            for chain in listener["filter_chains"].as_array_mut().into_iter().flatten() {
                for filter in chain["filters"].as_array_mut().into_iter().flatten() {
                    for http in filter["typed_config"]["http_filters"].as_array_mut().into_iter().flatten() {
                        if http["name"] == "envoy.filters.http.wasm" {
                            http["typed_config"]["config"]["configuration"]["value"] = serde_json::Value::String(config.to_string());
                            replaced += 1;
                        }
                    }
                }
            }
        }
        assert!(replaced > 0, "no wasm filter in the rendered config");
        // JSON is YAML: Envoy reads it as such.
        parsed.to_string()
    }
}
