//! The HTTPS listener: Envoy terminates TLS with a certificate from files; a client that checks
//! the certificate against the test's own CA gets the same answers as over plain HTTP; TLS 1.1
//! is refused while 1.2 and 1.3 are accepted; the configs with TLS pass `envoy --mode validate`.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use support::{client::Response, Reply, Stack};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A CA and a server certificate for 127.0.0.1/localhost signed by it (openssl CLI).
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new().prefix("restrouter-tls-").tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        std::fs::write(p("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            dir.path(),
            &[
                &["req", "-x509"],
                &ec[..],
                &["-days", "2", "-subj", "/CN=restrouter test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-keyout", "ca.key", "-out", "ca.crt"],
            ]
            .concat(),
        );
        openssl(dir.path(), &[&["req"], &ec[..], &["-subj", "/CN=localhost", "-keyout", "tls.key", "-out", "tls.csr"]].concat());
        openssl(dir.path(), &["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "tls.crt"]);
        Pki { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn sets(&self) -> Vec<(String, String)> {
        vec![("tls_cert".into(), self.path("tls.crt").display().to_string()), ("tls_key".into(), self.path("tls.key").display().to_string())]
    }

    /// A client that trusts only this CA.
    fn agent(&self) -> ureq::Agent {
        let pem = std::fs::read(self.path("ca.crt")).unwrap();
        let ca = Certificate::from_pem(&pem).unwrap();
        agent(TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![ca]))).build())
    }
}

fn agent(tls: TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).max_redirects(0).proxy(None).timeout_global(Some(support::client::REQUEST_TIMEOUT)).build().into()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl CLI");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn get(agent: &ureq::Agent, url: &str) -> Result<Response, ureq::Error> {
    let mut r = agent.get(url).call()?;
    let status = r.status().as_u16();
    let headers = r.headers().iter().map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let body = r.body_mut().read_to_vec()?;
    Ok(Response { status, headers, body })
}

fn stack(pki: &Pki) -> Stack {
    let sets = pki.sets();
    let sets: Vec<(&str, &str)> = sets.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Stack::with(&sets)
}

#[test]
fn https_answers_like_http() {
    let pki = Pki::new();
    let s = stack(&pki);
    s.backend.on("/en.wikipedia.org/v3/page/html/Earth", Reply::html("<p>Earth</p>").header("etag", "\"42/abc\""));
    s.backend.on("/en.wikipedia.org/v1/feed/featured/2024/01/15", Reply::ok("application/json", "{\"tfa\":1}"));
    let https = pki.agent();
    let base = format!("https://127.0.0.1:{}", s.envoy.https_port());
    // Stored, pass-through, an error and the spec document: same status, body and the headers
    // the filter sets.
    for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/feed/featured/2024/01/15", "/en.wikipedia.org/v1/page/html/", "/en.wikipedia.org/v1/?spec"] {
        let plain = s.envoy.get(path);
        let secure = get(&https, &format!("{base}{path}")).unwrap_or_else(|e| panic!("https {path}: {e}"));
        assert_eq!((secure.status, secure.text()), (plain.status, plain.text()), "{path}");
        for h in ["content-type", "etag", "cache-control", "access-control-allow-origin"] {
            assert_eq!(secure.header(h), plain.header(h), "{path}: {h}");
        }
    }
    assert_eq!(s.backend.count("/en.wikipedia.org/v3/page/html/Earth"), 1, "the second answer came from storage");
    // The certificate really is checked: a client with only the public roots refuses it.
    let untrusting = agent(TlsConfig::builder().build());
    assert!(get(&untrusting, &format!("{base}/en.wikipedia.org/v1/?spec")).is_err(), "a certificate from an unknown CA was accepted");
}

/// `openssl s_client` with one protocol version: (handshake succeeded, output).
fn handshake(port: u16, version_flag: &str) -> (bool, String) {
    // SECLEVEL=0 so the client itself is willing to speak TLS 1.0/1.1 (OpenSSL 3 refuses them
    // at the default level): a refusal must come from Envoy.
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", version_flag, "-cipher", "DEFAULT:@SECLEVEL=0"])
        .stdin(Stdio::null())
        .output()
        .expect("openssl CLI");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let ok = out.status.success() && text.contains("Cipher is") && !text.contains("Cipher is (NONE)");
    (ok, text)
}

#[test]
fn tls_1_1_is_refused_1_2_and_1_3_accepted() {
    let pki = Pki::new();
    let s = stack(&pki);
    let port = s.envoy.https_port();
    for flag in ["-tls1_1", "-tls1"] {
        let (ok, text) = handshake(port, flag);
        assert!(!ok, "{flag} handshake succeeded:\n{text}");
        // The server's alert, not a client-side refusal.
        assert!(text.contains("alert protocol version"), "{flag} not refused by the server:\n{text}");
    }
    for (flag, protocol) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (ok, text) = handshake(port, flag);
        assert!(ok && text.contains(protocol), "{flag} handshake failed:\n{text}");
    }
}

#[test]
fn tls_configs_validate() {
    let pki = Pki::new();
    let sets = pki.sets();
    let sets: Vec<(&str, &str)> = sets.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    validate::validate("envoy/restrouter.yaml.j2", &sets);
    validate::validate("envoy/rollout.yaml.j2", &sets);
}
