//! A raw HTTP/1.1 client on one TCP connection, for what an HTTP library hides: whether the
//! server keeps the connection after an answer (`connection: close`, or closing the socket), and
//! requests no library would send. Answers are read by `content-length`, the framing of every
//! answer restrouter and Envoy give here; a chunked answer fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::client::{Response, REQUEST_TIMEOUT};

/// One client connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    pub fn open(port: u16) -> Connection {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).expect("read timeout");
        stream.set_write_timeout(Some(REQUEST_TIMEOUT)).expect("write timeout");
        Connection { reader: BufReader::new(stream) }
    }

    /// Sends `method path` with `host: localhost`, the headers and the body (with its
    /// content-length), and reads the answer.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\n").into_bytes();
        for (n, v) in headers {
            raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if let Some(b) = body {
            raw.extend_from_slice(format!("content-length: {}\r\n", b.len()).as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(body.unwrap_or_default());
        self.send_raw(&raw);
        self.read_response(method == "HEAD")
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    /// Writes bytes as they are (a malformed request, several requests at once).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write request");
    }

    /// Reads one answer; `head`: it answers a HEAD (no body whatever the content-length).
    pub fn read_response(&mut self, head: bool) -> Response {
        let status_line = self.line();
        assert!(!status_line.is_empty(), "the server closed the connection instead of answering");
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line '{status_line}'"));
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap_or_else(|| panic!("header line '{line}'"));
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let mut r = Response { status, headers, body: Vec::new() };
        assert!(r.header("transfer-encoding").is_none(), "chunked answers are not read here: {r}");
        let len: usize = r.header("content-length").map_or(0, |v| v.parse().expect("content-length"));
        if !head {
            r.body = vec![0; len];
            self.reader.read_exact(&mut r.body).expect("read body");
        }
        r
    }

    /// Whether the server closed the connection (end of stream, with nothing more to read).
    /// Only call this after an answer the server may close on: it blocks until the server
    /// closes or the read timeout ends.
    pub fn closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.reader.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => panic!("unexpected bytes after the answer"),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => true,
            Err(e) => panic!("the server neither closed nor answered: {e}"),
        }
    }

    /// One CRLF-terminated line without its terminator; empty at the end of the stream.
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("read line");
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        String::from_utf8_lossy(&line).into_owned()
    }
}
