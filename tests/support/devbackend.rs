//! The development back-end (`restrouter-devbackend`) on a loopback port: the stand-ins for
//! Parsoid, mobileapps and the action API, with their test controls (`/_dev/...`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::client::{self, Response};
use super::{binary, free_port, wait_until};

pub struct DevBackend {
    child: Child,
    addr: String,
}

impl DevBackend {
    pub fn start() -> DevBackend {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(binary("restrouter-devbackend"))
            .args(["--listen", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start restrouter-devbackend");
        assert!(wait_until(Duration::from_secs(15), || client::try_send("GET", &format!("http://{addr}/healthz"), &[], None).is_ok()), "restrouter-devbackend did not come up on {addr}");
        DevBackend { child, addr }
    }

    /// `127.0.0.1:port`, as a `--set` value.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Its action API, for the storage service's page_revisions.
    pub fn mwapi_url(&self) -> String {
        format!("http://{}/w/api.php", self.addr)
    }

    /// A test control: `POST /_dev/action/{domain}/{what}` (hide a revision, delete or edit a page).
    pub fn control(&self, domain: &str, what: &str) -> Response {
        client::send("POST", &format!("http://{}/_dev/action/{domain}/{what}", self.addr), &[], None)
    }
}

impl Drop for DevBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
