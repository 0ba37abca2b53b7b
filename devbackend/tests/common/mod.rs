//! What the tests of the stand-ins share: one development back-end per test process, and a
//! client that does not follow redirects.

// Helpers shared by the tests may fail loudly; not every test file uses every helper.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::sync::OnceLock;

use restrouter_devbackend::Config;
use serde_json::Value;

/// Starts a server on its own thread; it lives as long as the test process.
pub fn start(config: Config) -> String {
    restrouter_devbackend::spawn(config).unwrap()
}

pub fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| start(Config::default()))
}

pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Redirects are answers to check, so they are not followed.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .build()
        .into()
}

pub fn collect(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

pub fn get_from(base: &str, path: &str) -> Reply {
    collect(agent().get(format!("{base}{path}")).call().unwrap())
}

pub fn get(path: &str) -> Reply {
    get_from(base(), path)
}

/// Parsoid's latest-revision HTML: the `302` to the revision's URL, then that URL.
pub fn get_latest_html(path: &str) -> Reply {
    let redirect = get(path);
    assert_eq!(redirect.status, 302, "{path}: {}", redirect.body);
    get(redirect.header("location"))
}

pub fn post_from(base: &str, path: &str, content_type: &str, body: &str) -> Reply {
    collect(
        agent()
            .post(format!("{base}{path}"))
            .header("content-type", content_type)
            .send(body)
            .unwrap(),
    )
}

pub fn post(path: &str, content_type: &str, body: &str) -> Reply {
    post_from(base(), path, content_type, body)
}
