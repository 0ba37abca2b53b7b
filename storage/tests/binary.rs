//! The `restrouter-storage` binary: CLI, environment fallbacks, shutdown on
//! SIGTERM and persistence of a file database across restarts.

// Test code: a failed unwrap or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;

use common::{client, reply};

const BIN: &str = env!("CARGO_BIN_EXE_restrouter-storage");
const KEY: &str = "/en.wikipedia.org/v1/key_value/parsoidphp/AC%2FDC";

/// A running binary; killed if a test fails before stopping it.
struct Service {
    child: Option<Child>,
    base: String,
}

impl Service {
    /// Starts the binary on an ephemeral port and waits until it listens.
    fn start(mut command: Command) -> Self {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keep draining stderr so the service never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv() {
            Ok(addr) => addr,
            Err(_) => panic!("service exited before listening: {:?}", child.wait()),
        };
        Self {
            child: Some(child),
            base: format!("http://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks the service to stop the way Kubernetes does and waits for it.
    fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn file_database_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite3");

    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env_remove("RESTROUTER_STORAGE_LISTEN")
        .env_remove("RESTROUTER_STORAGE_DB");
    let first = Service::start(command);
    let r = reply(
        client()
            .put(first.url(KEY))
            .header("x-store-etag", "\"7/t\"")
            .header("x-store-content-type", "text/html")
            .send("<p>kept</p>"),
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        reply(client().get(first.url("/healthz")).call()).status,
        200
    );
    assert!(first.terminate().success());

    // Second run configured through the environment only.
    let mut command = Command::new(BIN);
    command
        .env("RESTROUTER_STORAGE_LISTEN", "127.0.0.1:0")
        .env("RESTROUTER_STORAGE_DB", &db);
    let second = Service::start(command);
    let r = reply(client().get(second.url(KEY)).call());
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"<p>kept</p>");
    assert_eq!(r.header("etag"), Some("\"7/t\""));
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(second.terminate().success());
}

#[test]
fn max_body_bytes_flag_is_honoured() {
    let mut command = Command::new(BIN);
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--db",
        ":memory:",
        "--max-body-bytes",
        "10",
    ]);
    let service = Service::start(command);
    assert_eq!(
        reply(client().put(service.url(KEY)).send("0123456789")).status,
        201
    );
    assert_eq!(
        reply(client().put(service.url(KEY)).send("0123456789a")).status,
        413
    );
    assert!(service.terminate().success());
}

#[test]
fn unusable_database_path_fails_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("missing-dir").join("store.sqlite3"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("storage service stopped"));
}
