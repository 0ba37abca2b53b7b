//! The real storage service (`restrouter-storage`) on a loopback port with a temporary SQLite
//! file; it can be killed and restarted on the same port and file for outage tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::client::{self, Response};
use super::{binary, free_port, wait_until};

pub struct Storage {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    /// The action API page_revisions reads on a miss (`--mwapi`), if any.
    mwapi: Option<String>,
}

impl Storage {
    pub fn start() -> Storage {
        Storage::with_mwapi(None)
    }

    /// With page_revisions reading this action API URL (`http://host:port/w/api.php`).
    pub fn with_mwapi(mwapi: Option<String>) -> Storage {
        let dir = tempfile::Builder::new().prefix("restrouter-storage-").tempdir().expect("temp dir");
        let mut s = Storage { child: None, port: 0, dir, mwapi };
        // A port from `free_port` can be taken before the service binds it: then another one.
        for _ in 0..3 {
            s.port = free_port();
            if s.launch() {
                return s;
            }
        }
        panic!("restrouter-storage could not bind a port three times; log:\n{}", s.log());
    }

    /// `127.0.0.1:port`, as a `--set` value.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// Reads `/{domain}/v1/key_value/{bucket}/{key}` directly; `key` is sent as given (encode
    /// it the way the router would).
    pub fn get(&self, domain: &str, bucket: &str, key: &str) -> Response {
        client::get(&self.url(&format!("/{domain}/v1/key_value/{bucket}/{key}")))
    }

    /// Stores a value directly, as the router would (`x-store-*` headers).
    pub fn put(&self, domain: &str, bucket: &str, key: &str, content_type: &str, etag: &str, body: &str) -> Response {
        let headers = [("content-type", "application/octet-stream"), ("x-store-content-type", content_type), ("x-store-etag", etag)];
        client::send("PUT", &self.url(&format!("/{domain}/v1/key_value/{bucket}/{key}")), &headers, Some(body.as_bytes()))
    }

    /// Stops the service (an outage); the data stays for [`Storage::restart`].
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// (Re)starts the service on the same port and database, and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.launch(), "restrouter-storage could not bind its port {} again; log:\n{}", self.port, self.log());
    }

    /// Starts the service and waits until it answers; false if it exited because its port was
    /// taken.
    fn launch(&mut self) -> bool {
        self.kill();
        let log = std::fs::File::create(self.log_path()).expect("storage log");
        let child = Command::new(binary("restrouter-storage"))
            .arg("--listen")
            .arg(self.addr())
            .arg("--db")
            .arg(self.dir.path().join("storage.sqlite3"))
            .args(self.mwapi.iter().flat_map(|url| ["--mwapi", url.as_str()]))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("storage log"))
            .stderr(log)
            .spawn()
            .expect("cannot start restrouter-storage");
        self.child = Some(child);
        let url = self.url("/");
        let mut exited = None;
        let ready = wait_until(Duration::from_secs(15), || {
            exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            exited.is_some() || client::try_send("GET", &url, &[], None).is_ok()
        });
        if let Some(status) = exited {
            self.child = None;
            let log = self.log();
            assert!(log.contains("in use"), "restrouter-storage exited ({status}); log:\n{log}");
            return false;
        }
        assert!(ready, "restrouter-storage did not come up on {}; log:\n{}", self.addr(), self.log());
        true
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("storage.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.kill();
    }
}
