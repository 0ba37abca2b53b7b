//! The HTTPS listener: Envoy terminates TLS with a certificate from files, read through
//! file-based SDS; a client that checks the certificate against the test's own CA gets the same
//! answers as over plain HTTP; a certificate replaced the way the kubelet updates a mounted
//! Secret is served without a restart and without a failed request; TLS 1.1 is refused while
//! 1.2 and 1.3 are accepted; the configs with TLS pass `envoy --mode validate`.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod kubelet;
mod support;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubelet::AtomicDir;

use support::{client::Response, Reply, Stack};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A CA and server certificates for 127.0.0.1/localhost signed by it (openssl CLI); the
/// server's pair is in `secret`, laid out like a mounted `kubernetes.io/tls` Secret, and named
/// by an SDS file (`tls_secret`) rendered from envoy/tls-secret.yaml.j2.
struct Pki {
    dir: tempfile::TempDir,
    secret: AtomicDir,
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
        issue(dir.path(), "first");
        let secret = AtomicDir::new(&pair(dir.path(), "first"));
        let (cert, key) = (secret.file("tls.crt").display().to_string(), secret.file("tls.key").display().to_string());
        let render = Command::new(support::binary("restrouter-render"))
            .args(["envoy", "--template"])
            .arg(support::repo_root().join("envoy/tls-secret.yaml.j2"))
            .args(["--set", &format!("tls_cert={cert}"), "--set", &format!("tls_key={key}")])
            .output()
            .expect("restrouter-render");
        assert!(render.status.success(), "{}", String::from_utf8_lossy(&render.stderr));
        std::fs::write(dir.path().join("tls-secret.yaml"), render.stdout).unwrap();
        Pki { dir, secret }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn sets(&self) -> Vec<(String, String)> {
        vec![
            ("tls_cert".into(), self.secret.file("tls.crt").display().to_string()),
            ("tls_key".into(), self.secret.file("tls.key").display().to_string()),
            ("tls_secret".into(), self.path("tls-secret.yaml").display().to_string()),
        ]
    }

    /// Issues a new server pair (new key) named `name` and swaps it into the Secret directory.
    fn rotate(&mut self, name: &str) {
        issue(self.dir.path(), name);
        self.secret.publish(&pair(self.dir.path(), name));
    }

    /// The serial number of the certificate `name`.
    fn serial(&self, name: &str) -> String {
        let out = Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(self.path(&format!("{name}.crt"))).output().expect("openssl CLI");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
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

/// A server key and certificate `<name>.key`, `<name>.crt` signed by the CA.
fn issue(dir: &Path, name: &str) {
    let (key, csr, crt) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
    openssl(dir, &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-keyout", &key, "-out", &csr]);
    openssl(dir, &["x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", &crt]);
}

/// The Secret's files (`tls.crt`, `tls.key`) of the pair `name`.
fn pair(dir: &Path, name: &str) -> Vec<(String, Vec<u8>)> {
    ["crt", "key"].iter().map(|ext| (format!("tls.{ext}"), std::fs::read(dir.join(format!("{name}.{ext}"))).unwrap())).collect()
}

/// The serial number of the certificate the HTTPS listener serves to a new connection.
fn served_serial(port: u16) -> String {
    let (_, text) = handshake(port, "-tls1_3");
    let pem = text.find("-----BEGIN CERTIFICATE-----").and_then(|b| text.find("-----END CERTIFICATE-----").map(|e| &text[b..e + 25]));
    let Some(pem) = pem else { return String::new() };
    let mut x509 = Command::new("openssl").args(["x509", "-noout", "-serial"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("openssl CLI");
    std::io::Write::write_all(&mut x509.stdin.take().unwrap(), pem.as_bytes()).unwrap();
    String::from_utf8_lossy(&x509.wait_with_output().unwrap().stdout).trim().to_string()
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
    s.backend.on("/en.wikipedia.org/v1/feed/onthisday/births/01/15", Reply::ok("application/json", "{\"tfa\":1}"));
    let https = pki.agent();
    let base = format!("https://127.0.0.1:{}", s.envoy.https_port());
    // Stored, pass-through, an error and the spec document: same status, body and the headers
    // the filter sets.
    for path in ["/en.wikipedia.org/v1/page/html/Earth", "/en.wikipedia.org/v1/feed/onthisday/births/01/15", "/en.wikipedia.org/v1/no/such/route", "/en.wikipedia.org/v1/?spec"] {
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

/// cert-manager renews the certificate and the kubelet swaps the Secret's files: new
/// connections get the new certificate, with no restart, while clients that open a new
/// connection for every request never fail.
#[test]
fn a_rotated_certificate_is_served_without_a_restart_or_a_failure() {
    let mut pki = Pki::new();
    let s = stack(&pki);
    let port = s.envoy.https_port();
    assert_eq!(served_serial(port), pki.serial("first"));

    let url = format!("https://127.0.0.1:{port}/en.wikipedia.org/v1/?spec");
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let ca = Arc::new(std::fs::read(pki.path("ca.crt")).unwrap());
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, sent, failures, ca, url) = (stop.clone(), sent.clone(), failures.clone(), ca.clone(), url.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // A new agent, so a new connection and handshake for every request.
                    let roots = RootCerts::Specific(Arc::new(vec![Certificate::from_pem(&ca).unwrap().to_owned()]));
                    match get(&agent(TlsConfig::builder().root_certs(roots).build()), &url) {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.lock().unwrap().push(format!("status {}", r.status)),
                        Err(e) => failures.lock().unwrap().push(e.to_string()),
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let traffic = |n: usize| {
        let from = sent.load(Ordering::Relaxed);
        assert!(support::wait_until(Duration::from_secs(30), || sent.load(Ordering::Relaxed) >= from + n), "the clients stalled");
    };
    traffic(20);
    pki.rotate("second");
    assert_ne!(pki.serial("second"), pki.serial("first"));
    let rotated = support::wait_until(Duration::from_secs(20), || served_serial(port) == pki.serial("second"));
    traffic(20);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(rotated, "still serving {} after the swap", served_serial(port));
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} of {} requests failed, first: {:?}", failures.len(), sent.load(Ordering::Relaxed), failures.first());
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
