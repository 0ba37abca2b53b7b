//! A loopback HTTP/1.1 server the test scripts per path: status, headers, body, delay or a
//! connection reset; it records every request it receives.
//!
//! Hand-rolled on tokio rather than a framework so that a test can answer with exactly the bytes
//! it wants, hold an answer past a timeout, or reset the connection (`SO_LINGER` 0).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What the server answers on one path.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (or resetting).
    pub delay: Duration,
    /// Reset the connection instead of answering.
    pub reset: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Vec::new(), delay: Duration::ZERO, reset: false }
    }

    /// 200 with this body and content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200).header("content-type", content_type).body(body)
    }

    /// 200 `text/html` (what Parsoid and mobileapps answer).
    pub fn html(body: &str) -> Reply {
        Reply::ok("text/html; charset=utf-8", body)
    }

    /// 200 `application/json`.
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply::ok("application/json; charset=utf-8", value.to_string())
    }

    /// A connection reset after the request was read.
    pub fn reset() -> Reply {
        Reply { reset: true, ..Reply::status(0) }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request (its head) arrived.
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("request body of {} is not JSON ({e}): {}", self.path, String::from_utf8_lossy(&self.body)))
    }
}

#[derive(Default)]
struct State {
    /// Keyed by path without query.
    routes: HashMap<String, Reply>,
    /// Keyed by method and path without query; before `routes`.
    method_routes: HashMap<(String, String), Reply>,
    fallback: Option<Reply>,
    requests: Vec<Recorded>,
}

impl State {
    fn reply_for(&self, method: &str, path: &str) -> Reply {
        let key = path.split('?').next().unwrap_or_default();
        let by_method = self.method_routes.get(&(method.to_string(), key.to_string()));
        by_method.or(self.routes.get(key)).or(self.fallback.as_ref()).cloned().unwrap_or_else(|| {
            // Unscripted paths are loud: the test most likely expected another path.
            Reply::status(404).header("content-type", "text/plain").body(format!("upstream: no reply scripted for {key}"))
        })
    }
}

/// A scripted loopback server on its own tokio runtime thread; stops when dropped.
pub struct Upstream {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let state = Arc::new(Mutex::new(State::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("upstream runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("upstream bind");
                addr_tx.send(listener.local_addr().expect("upstream address")).expect("upstream address channel");
                tokio::select! {
                    _ = accept_loop(listener, shared) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection task, so held answers end too.
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("upstream did not start");
        Upstream { addr, state, stop: Some(stop), thread: Some(thread) }
    }

    /// `127.0.0.1:port`, as a `--set` value.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Answers requests for `path` (query ignored) with `reply` from now on.
    pub fn on(&self, path: &str, reply: Reply) -> &Upstream {
        self.lock().routes.insert(path.to_string(), reply);
        self
    }

    /// Answers `method` requests for `path` (query ignored) with `reply` from now on, before
    /// what [`Upstream::on`] scripted for the path.
    pub fn on_method(&self, method: &str, path: &str, reply: Reply) -> &Upstream {
        self.lock().method_routes.insert((method.to_string(), path.to_string()), reply);
        self
    }

    /// Answers every unscripted path with `reply` (instead of a 404).
    pub fn on_any(&self, reply: Reply) -> &Upstream {
        self.lock().fallback = Some(reply);
        self
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests received for `path` (query ignored).
    pub fn count(&self, path: &str) -> usize {
        self.lock().requests.iter().filter(|r| r.path_only() == path).count()
    }

    /// The latest request for `path` (query ignored).
    pub fn last(&self, path: &str) -> Option<Recorded> {
        self.lock().requests.iter().rev().find(|r| r.path_only() == path).cloned()
    }

    /// The latest request of any path.
    pub fn last_any(&self) -> Option<Recorded> {
        self.lock().requests.last().cloned()
    }

    pub fn total(&self) -> usize {
        self.lock().requests.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, state.clone()));
    }
}

/// Serves one keep-alive connection until the peer closes it or a reply resets it.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader).await {
        let reply = {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.requests.push(req.clone());
            s.reply_for(&req.method, &req.path)
        };
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let stream = reader.get_mut();
        if reply.reset {
            let _ = stream.set_zero_linger();
            return;
        }
        if stream.write_all(&encode(&reply, req.method == "HEAD")).await.is_err() {
            return;
        }
    }
}

fn encode(reply: &Reply, head: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status)).into_bytes();
    for (n, v) in &reply.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", reply.body.len()).as_bytes());
    if !head {
        out.extend_from_slice(&reply.body);
    }
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// Reads one request (content-length or chunked body); `None` when the connection ends.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let start = read_line(reader).await?;
    let at = Instant::now();
    let mut parts = start.split(' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader).await?;
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let size = usize::from_str_radix(read_line(reader).await?.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !read_line(reader).await?.is_empty() {}
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).await.ok()?;
            body.extend_from_slice(&chunk);
            read_line(reader).await?;
        }
    } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some(Recorded { method, path, headers, body, at })
}
