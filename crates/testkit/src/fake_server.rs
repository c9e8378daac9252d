//! A tiny HTTP/1.1 server on loopback whose answers a test scripts.
//!
//! One request per connection (every response says `Connection: close`),
//! a thread per connection, every request recorded for later assertions.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: u64 = 256 << 20;

/// One request as the server read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// Path and query, as sent: `/v2/x/blobs/uploads/?mount=...`.
    pub target: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// A response body: bytes, or a stream written until it ends (or forever).
pub enum Body {
    /// Sent with a `Content-Length` unless the handler set one.
    Bytes(Vec<u8>),
    /// Sent without length, delimited by closing the connection.
    Stream(Box<dyn Read + Send>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// What the handler answers.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers to send (`Connection: close` is always added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Response {
        self.body = Body::Bytes(bytes.into());
        self
    }

    /// Sets a streaming body (e.g. `std::io::repeat(b'x')` for an endless one).
    pub fn stream(mut self, reader: impl Read + Send + 'static) -> Response {
        self.body = Body::Stream(Box::new(reader));
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A scripted HTTP server on `127.0.0.1:<free port>`; stops when dropped.
pub struct FakeServer {
    address: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Starts serving on `127.0.0.1`; `handler` answers every request.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeServer {
        Self::start_on("127.0.0.1", handler)
    }

    /// Starts serving on another loopback address (`127.0.0.2`: loopback,
    /// but another host than `127.0.0.1` to a client).
    ///
    /// # Panics
    /// When `ip` is not a loopback address, or no port can be bound on it.
    pub fn start_on(
        ip: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> FakeServer {
        let loopback = ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
        assert!(loopback, "{ip} is not a loopback address");
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let address = listener.local_addr().expect("local address").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let acceptor = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, requests) = (handler.clone(), requests.clone());
                    std::thread::spawn(move || {
                        let _ = serve(stream, &*handler, &requests);
                    });
                }
            })
        };
        FakeServer {
            address,
            requests,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// `IP:PORT` (`127.0.0.1:PORT` unless started elsewhere).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(&self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    if let Ok(mut log) = log.lock() {
        log.push(request.clone());
    }
    let response = handler(&request);
    write_response(stream, &request, response)
}

fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    // A TLS handshake (record type 22): this server speaks plain HTTP, so
    // it hangs up at once, as a client trying HTTPS first needs.
    if reader.fill_buf()?.first() == Some(&0x16) {
        return Ok(None);
    }
    let mut line = String::new();
    let mut head_size = reader.read_line(&mut line)?;
    if head_size == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("malformed request line"));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        head_size += n;
        if n == 0 || head_size > MAX_HEAD {
            return Err(invalid("request head too long or cut off"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    let mut body = Vec::new();
    if value("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader, &mut body)?;
    } else if let Some(length) = value("content-length") {
        let length: u64 = length.parse().map_err(|_| invalid("bad content-length"))?;
        if length > MAX_BODY {
            return Err(invalid("request body too large"));
        }
        reader.take(length).read_to_end(&mut body)?;
    }
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if body.len() as u64 + size > MAX_BODY {
            return Err(invalid("request body too large"));
        }
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        reader.by_ref().take(size).read_to_end(body)?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

fn write_response(stream: TcpStream, request: &Request, response: Response) -> io::Result<()> {
    let mut out = io::BufWriter::new(stream);
    write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    )?;
    let has_length = response
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    for (name, value) in &response.headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    if let (Body::Bytes(bytes), false) = (&response.body, has_length) {
        write!(out, "Content-Length: {}\r\n", bytes.len())?;
    }
    write!(out, "Connection: close\r\n\r\n")?;
    if request.method != "HEAD" {
        match response.body {
            Body::Bytes(bytes) => out.write_all(&bytes)?,
            Body::Stream(mut reader) => {
                io::copy(&mut reader, &mut out)?;
            }
        }
    }
    out.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
