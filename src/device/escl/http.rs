//! HTTP/1.1 client framing for the eSCL protocol core, over any byte pipe.
//!
//! eSCL is plain HTTP: over TCP to a network scanner, and over USB bulk
//! pipes (IPP-USB), where each interface pair carries one HTTP connection.
//! This module is the framing only, and it is sans-IO: a [`Request`] becomes
//! bytes to write, and the bytes read back are fed to a [`Connection`],
//! which answers with [`Event`]s: the response head, the body in pieces as
//! it arrives (never held whole), and its end. It opens no socket, starts no
//! thread and reads no clock; timeouts, retries and back-off belong to the
//! caller. It is not an HTTP library: no TLS, redirects, cookies, content
//! codings, request bodies in chunks or pipelining.
//!
//! Call order on a [`Connection`]: [`send`](Connection::send) one request
//! and write the bytes it returns; [`feed`](Connection::feed) whatever the
//! pipe reads until [`Event::End`]; then [`reusable`](Connection::reusable)
//! says whether the next `send` may go on the same connection. When the pipe
//! reports end of file, call [`finish`](Connection::finish): it ends a body
//! that runs to the close, and otherwise says what was cut off. One request
//! is in flight at a time. Bytes that arrive after a response's end are kept
//! and read as the start of the next response once the next request is
//! sent (`feed(&[])` processes them at once); after a response that closes
//! the connection they are dropped. An idle connection keeps at most
//! [`Limits::max_head`] bytes fed to it.
//!
//! Body framing follows RFC 9112 section 6.3: no body for a response to
//! HEAD nor for 1xx, 204 and 304; otherwise `Transfer-Encoding: chunked`
//! (strict CRLFs, extensions checked and ignored, trailers checked and
//! ignored), else `Content-Length`, else the body runs until the connection
//! closes. Interim 1xx responses (`100 Continue`) are skipped. Header names
//! are matched without regard to case. Line ends in the head may be bare LF
//! (as RFC 9112 allows a recipient to accept); in chunked framing they must
//! be CRLF.
//!
//! Giving up on a response part-way is a decision about the pipe, made once
//! per connection as an [`Abandon`] policy: over IPP-USB the rest of the
//! response must still be read (unread bytes would corrupt the next answer),
//! so [`Abandon::Drain`] keeps consuming and discarding until its end; over
//! TCP a half-read page body is not worth reading, so [`Abandon::Close`]
//! gives the connection up. [`Connection::abandon`] says what the caller
//! must do next.
//!
//! Limits ([`Limits`]) are checked before anything is stored: the size of a
//! head and of a trailer section, the number of header fields, the length of
//! a chunk-size line, and the size of a body. Every malformed input ends in
//! an [`HttpError`] saying what was wrong, never a panic. After an error the
//! connection is spent and repeats that error; when a call produced events
//! before it hit the error, it returns those events and the next call
//! returns the error.

use std::fmt;

use url::Url;

/// An HTTP request method. eSCL uses GET, POST and DELETE; PUT and HEAD
/// complete the set a device might need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: read a resource (capabilities, status, the next page).
    Get,
    /// `HEAD`: like GET, but the response never has a body.
    Head,
    /// `POST`: create a resource (a scan job).
    Post,
    /// `PUT`: replace a resource.
    Put,
    /// `DELETE`: remove a resource (cancel or clean up a scan job).
    Delete,
}

impl Method {
    /// The method's name as it goes on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether a request with this method is expected to carry content, so
    /// that an empty one still says `Content-Length: 0`.
    fn expects_content(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When the `Host` header carries the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortInHost {
    /// Only when the base URL's port is not its scheme's default (what
    /// browsers send).
    #[default]
    WhenNotDefault,
    /// Always, even `:80` for `http`: some devices refuse a `Host` without
    /// a port.
    Always,
}

/// The value of the `Host` header a connection sends with every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// A registered name, an IPv4 address, or an IPv6 address in brackets.
    name: String,
    port: Option<u16>,
}

impl Host {
    /// A `Host` of `name` (a registered name, an IPv4 address, or an IPv6
    /// address with or without brackets) and, when given, `port`. Fails
    /// when `name` has a character a host cannot have.
    pub fn new(name: &str, port: Option<u16>) -> Result<Host, HttpError> {
        let bad = || HttpError::BadHost {
            host: shown(name.as_bytes()),
        };
        let inner = name
            .strip_prefix('[')
            .map(|rest| rest.strip_suffix(']').ok_or_else(bad))
            .transpose()?;
        let name = match inner {
            Some(ip) => format!("[{ip}]"),
            None if name.contains(':') => format!("[{name}]"),
            None => name.to_owned(),
        };
        let valid = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(ip) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
            None => !name.is_empty() && name.bytes().all(is_reg_name_byte),
        };
        if valid {
            Ok(Host { name, port })
        } else {
            Err(bad())
        }
    }

    /// `Host: localhost`, without a port: what IPP-USB devices require.
    pub fn localhost() -> Host {
        Host {
            name: "localhost".to_owned(),
            port: None,
        }
    }

    /// The host (and, as `port` says, the port) of an `http` or `https`
    /// base URL.
    pub fn from_base(base: &Url, port: PortInHost) -> Result<Host, HttpError> {
        check_base(base)?;
        let name = match base.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(bad_base(base, "it has no host")),
        };
        let port = match port {
            PortInHost::WhenNotDefault => base.port(),
            PortInHost::Always => base.port_or_known_default(),
        };
        Ok(Host { name, port })
    }

    /// The header value: `name` or `name:port`.
    pub fn value(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One HTTP request: method, target (path and query), extra header fields
/// and an optional body.
///
/// `Host`, `Content-Length` and `Connection` are written by
/// [`to_bytes`](Request::to_bytes) and may not be given as extra fields;
/// `Transfer-Encoding` may not either (bodies are sent whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    keep_alive: bool,
}

impl Request {
    /// A request of `method` to `target`, the path and query on the server
    /// (`/eSCL/ScannerStatus`; see [`request_target`] for a URL's), with no
    /// extra fields and no body, asking to keep the connection open.
    pub fn new(method: Method, target: impl Into<String>) -> Request {
        Request {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: None,
            keep_alive: true,
        }
    }

    /// A `GET` of `target`.
    pub fn get(target: impl Into<String>) -> Request {
        Request::new(Method::Get, target)
    }

    /// A `DELETE` of `target`.
    pub fn delete(target: impl Into<String>) -> Request {
        Request::new(Method::Delete, target)
    }

    /// A `POST` of `body`, of type `content_type` (`text/xml` for eSCL's
    /// scan settings), to `target`.
    pub fn post(target: impl Into<String>, content_type: &str, body: Vec<u8>) -> Request {
        Request::new(Method::Post, target)
            .header("Content-Type", content_type)
            .body(body)
    }

    /// Adds the header field `name: value` (sent in the order added).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body, sent whole with its `Content-Length`.
    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = Some(body);
        self
    }

    /// Asks the server to close the connection after its response
    /// (`Connection: close`); the connection is then not reusable.
    pub fn close(mut self) -> Request {
        self.keep_alive = false;
        self
    }

    /// The request's method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The request's target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the request asks to keep the connection open afterwards
    /// (the default; see [`close`](Request::close)).
    pub fn keeps_alive(&self) -> bool {
        self.keep_alive
    }

    /// The request as bytes to write, with `Host: {host}`, a
    /// `Content-Length` when there is a body (or the method expects one),
    /// and `Connection: keep-alive` or `close`.
    ///
    /// Fails when the target is not an absolute path of visible ASCII, or a
    /// field's name is not a token, its value has a control character, or
    /// it is one of the fields written here.
    pub fn to_bytes(&self, host: &Host) -> Result<Vec<u8>, HttpError> {
        if !self.target.starts_with('/') || !self.target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpError::BadTarget {
                target: shown(self.target.as_bytes()),
            });
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(HttpError::BadHeaderName {
                    name: shown(name.as_bytes()),
                });
            }
            if RESERVED_FIELDS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(HttpError::ReservedHeader { name: name.clone() });
            }
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(HttpError::BadHeaderValue { name: name.clone() });
            }
        }
        let body = self.body.as_deref();
        let mut out = Vec::with_capacity(128 + body.map_or(0, <[u8]>::len));
        let mut line = |text: &str| {
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        line(&format!("{} {} HTTP/1.1", self.method, self.target));
        line(&format!("Host: {}", host.value()));
        for (name, value) in &self.headers {
            line(&format!("{name}: {value}"));
        }
        match body {
            Some(body) => line(&format!("Content-Length: {}", body.len())),
            None if self.method.expects_content() => line("Content-Length: 0"),
            None => {}
        }
        line(if self.keep_alive {
            "Connection: keep-alive"
        } else {
            "Connection: close"
        });
        line("");
        if let Some(body) = body {
            out.extend_from_slice(body);
        }
        Ok(out)
    }
}

/// Header fields that [`Request::to_bytes`] writes itself (or never).
const RESERVED_FIELDS: [&str; 4] = ["Host", "Content-Length", "Connection", "Transfer-Encoding"];

/// Resolves a `Location` header (of a `201 Created` for a scan job) against
/// `base`, keeping the base's scheme, host and port whatever host the
/// location names: devices are known to send a wrong one.
///
/// With base `http://10.0.0.5:8080/eSCL/`, each of
/// `http://other/eSCL/ScanJobs/1`, `/eSCL/ScanJobs/1` and `ScanJobs/1`
/// gives `http://10.0.0.5:8080/eSCL/ScanJobs/1`. A fragment is dropped.
/// Fails when the base is not an `http` or `https` URL with a host, the
/// location is empty, does not parse, or names another scheme.
pub fn resolve_location(base: &Url, location: &str) -> Result<Url, HttpError> {
    check_base(base)?;
    let bad = |reason: String| HttpError::BadLocation {
        location: shown(location.as_bytes()),
        reason,
    };
    if location.trim().is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    let joined = base.join(location.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(joined.scheme(), "http" | "https") {
        return Err(bad(format!(
            "its scheme `{}` is not http or https",
            joined.scheme()
        )));
    }
    let mut resolved = base.clone();
    resolved.set_path(joined.path());
    resolved.set_query(joined.query());
    resolved.set_fragment(None);
    Ok(resolved)
}

/// The request target of `url`: its path, and `?query` when it has one.
pub fn request_target(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Fails unless `base` is an `http` or `https` URL with a host.
fn check_base(base: &Url) -> Result<(), HttpError> {
    if !matches!(base.scheme(), "http" | "https") {
        return Err(bad_base(base, "its scheme is not http or https"));
    }
    if base.host().is_none() {
        return Err(bad_base(base, "it has no host"));
    }
    Ok(())
}

fn bad_base(base: &Url, reason: &str) -> HttpError {
    HttpError::BadBase {
        base: base.to_string(),
        reason: reason.to_owned(),
    }
}

/// Resource limits for the responses on one connection, checked before
/// anything is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head (status line and header fields, with line
    /// ends), and likewise the largest trailer section, in bytes. Also
    /// bounds what is kept when bytes arrive with no request in flight.
    /// Default 64 KiB.
    pub max_head: usize,
    /// Most header fields in a head or a trailer section. Default 100.
    pub max_headers: usize,
    /// Longest chunk-size line (size, extensions and CRLF), in bytes.
    /// Default 1 KiB.
    pub max_chunk_line: usize,
    /// Largest body, in bytes: a larger `Content-Length` fails at once, a
    /// chunked or close-delimited body when it grows past it. Default 1 GiB.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 64 << 10,
            max_headers: 100,
            max_chunk_line: 1 << 10,
            max_body: 1 << 30,
        }
    }
}

/// What a connection does with a response the caller gives up on before
/// its end: a property of the pipe, set once per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandon {
    /// Read the rest of the response and throw it away, so the next
    /// response starts clean: IPP-USB, where unread bytes stay in the
    /// device and corrupt the next answer.
    Drain,
    /// Give the connection up: TCP, where a new connection is cheap and the
    /// rest of a page body is not.
    Close,
}

/// What the caller must do after [`Connection::abandon`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAbandon {
    /// Keep feeding what the pipe reads until [`Event::End`] (or
    /// [`finish`](Connection::finish) at end of file). No more `Head` or
    /// `Body` events come for this response; afterwards
    /// [`reusable`](Connection::reusable) says whether the connection can
    /// carry the next request.
    ReadToEnd,
    /// Close the pipe: the connection cannot carry another request. Also
    /// the answer for a body that runs until the connection closes, which
    /// has nothing to gain from being read.
    CloseNow,
    /// No response was in progress; nothing to do.
    Nothing,
}

/// One piece of a response, as [`Connection::feed`] hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The response head: status code, reason phrase and header fields.
    /// Interim 1xx responses give none.
    Head {
        /// The status code, such as 201.
        status: u16,
        /// The reason phrase, such as `Created`; empty when missing or not
        /// ASCII.
        reason: String,
        /// The header fields, as sent.
        headers: Headers,
    },
    /// The next bytes of the body (after removing chunked framing).
    Body(Vec<u8>),
    /// The response is complete.
    End,
}

/// The header fields of a response head, in the order received, with
/// names looked up without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// The value of the first field called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every field called `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the comma-separated lists in the fields called `name` hold
    /// `token` (both compared without regard to case), as in
    /// `Connection: keep-alive, close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Every field as `(name, value)`, in the order received; names as
    /// sent, values with bytes that are not UTF-8 replaced.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Everything that can go wrong on a connection: a malformed or cut-off
/// response, a limit passed, a misuse of the call order, or a request or
/// URL that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The response head is not valid HTTP/1.x.
    #[error("malformed response head: {problem} (head starts `{start}`)")]
    MalformedHead {
        /// What is wrong with it.
        problem: String,
        /// The first bytes of the head, escaped.
        start: String,
    },
    /// The status code is below 100.
    #[error("status code {status:03} is not a valid HTTP status")]
    BadStatus {
        /// The code received.
        status: u16,
    },
    /// A `101 Switching Protocols`, which no request here asks for.
    #[error("the server switched protocols (101) although no upgrade was asked for")]
    UnexpectedSwitch,
    /// The head is longer than [`Limits::max_head`].
    #[error("response head is longer than the limit of {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The head or trailer section has more fields than
    /// [`Limits::max_headers`].
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A `Content-Length` that is not a decimal number.
    #[error("Content-Length `{value}` is not a decimal number of bytes")]
    BadContentLength {
        /// The value received, escaped.
        value: String,
    },
    /// Several `Content-Length` values that differ.
    #[error("Content-Length says both {first} and {second}")]
    ConflictingContentLength {
        /// The first length.
        first: u64,
        /// A different one.
        second: u64,
    },
    /// A `Transfer-Encoding` other than plain `chunked`.
    #[error("Transfer-Encoding `{value}` is not plain `chunked`, the only coding understood")]
    UnsupportedTransferCoding {
        /// The value received, escaped.
        value: String,
    },
    /// The body is (or says it will be) larger than [`Limits::max_body`].
    #[error("body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A chunk-size line that does not start with hexadecimal digits.
    #[error("chunk size line `{line}` is not hexadecimal")]
    ChunkSizeNotHex {
        /// The line, escaped, without its CRLF.
        line: String,
    },
    /// A chunk size that does not fit in 64 bits.
    #[error("chunk size line `{line}` gives a size too large to be real")]
    ChunkSizeOverflow {
        /// The line, escaped, without its CRLF.
        line: String,
    },
    /// A chunk extension that is not `;name` or `;name=value`.
    #[error("chunk size line `{line}` has a malformed extension")]
    BadChunkExtension {
        /// The line, escaped, without its CRLF.
        line: String,
    },
    /// A chunk-size line longer than [`Limits::max_chunk_line`].
    #[error("chunk size line is longer than the limit of {limit} bytes")]
    ChunkLineTooLong {
        /// The limit.
        limit: usize,
    },
    /// A line of chunked framing that ends in LF without CR.
    #[error("chunked framing line `{line}` ends in a bare LF, not CRLF")]
    BareLf {
        /// The line, escaped.
        line: String,
    },
    /// Chunk data followed by LF without CR.
    #[error("chunk data is followed by a bare LF, not CRLF")]
    BareLfAfterChunk,
    /// Chunk data followed by something other than CRLF: the chunk is
    /// longer than its size line says.
    #[error(
        "chunk data is followed by `{found}` where CRLF belongs (the chunk is longer than its size)"
    )]
    ChunkNotTerminated {
        /// The byte found, escaped.
        found: String,
    },
    /// A trailer section that is not valid header fields.
    #[error("malformed trailer section after the last chunk: {problem}")]
    MalformedTrailer {
        /// What is wrong with it.
        problem: String,
    },
    /// A trailer section longer than [`Limits::max_head`].
    #[error("trailer section is longer than the limit of {limit} bytes")]
    TrailerTooLarge {
        /// The limit.
        limit: usize,
    },
    /// More bytes than [`Limits::max_head`] arrived with no request in
    /// flight.
    #[error("{received} bytes arrived with no request in flight")]
    UnsolicitedBytes {
        /// How many are kept and arriving.
        received: usize,
    },
    /// The connection closed before any byte of the response; a new
    /// connection may retry the request if it is safe to repeat.
    #[error("the connection closed before the response began")]
    ClosedBeforeResponse,
    /// The connection closed inside the response head.
    #[error("the connection closed inside the response head, after {received} bytes")]
    TruncatedHead {
        /// Bytes of the head received.
        received: usize,
    },
    /// The connection closed before `Content-Length` bytes of body came.
    #[error("the connection closed after {received} of {expected} body bytes")]
    TruncatedBody {
        /// Body bytes received.
        received: u64,
        /// Body bytes announced.
        expected: u64,
    },
    /// The connection closed inside a chunked body.
    #[error("the connection closed inside a chunked body ({place}), after {received} body bytes")]
    TruncatedChunked {
        /// Body bytes received.
        received: u64,
        /// Where in the framing: a size line, chunk data, the CRLF after
        /// it, or the trailer section.
        place: &'static str,
    },
    /// A request was sent before the previous response ended.
    #[error("a request was sent before the previous response ended (one request at a time)")]
    Busy,
    /// A request was sent on a connection that the last response (or its
    /// request) said to close.
    #[error("the connection was to close after its last response; open a new one")]
    NotReusable,
    /// The connection was closed (end of file, or given up).
    #[error("the connection is closed; open a new one")]
    Closed,
    /// A request target that is not an absolute path of visible ASCII.
    #[error("request target `{target}` is not an absolute path of visible ASCII characters")]
    BadTarget {
        /// The target, escaped.
        target: String,
    },
    /// A request header name that is not a token.
    #[error("request header name `{name}` is not a token")]
    BadHeaderName {
        /// The name, escaped.
        name: String,
    },
    /// A request header value with a control character (CR, LF, NUL, ...).
    #[error("the value of request header `{name}` has a control character")]
    BadHeaderValue {
        /// The field's name.
        name: String,
    },
    /// A request header that the framing writes itself.
    #[error("request header `{name}` is written by the framing and cannot be given")]
    ReservedHeader {
        /// The field's name.
        name: String,
    },
    /// A host name that cannot go in a `Host` header.
    #[error("`{host}` is not a host name or IP address")]
    BadHost {
        /// The name, escaped.
        host: String,
    },
    /// A base URL that is not `http` or `https` with a host.
    #[error("base URL `{base}` cannot be used: {reason}")]
    BadBase {
        /// The URL.
        base: String,
        /// Why not.
        reason: String,
    },
    /// A `Location` that cannot be resolved.
    #[error("Location `{location}` cannot be resolved: {reason}")]
    BadLocation {
        /// The location, escaped.
        location: String,
        /// Why not.
        reason: String,
    },
}

/// Where a connection is in its current exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No request in flight.
    Idle,
    /// Reading a response head (or skipping interim ones).
    Head,
    /// Reading a body of known length.
    Fixed { remaining: u64 },
    /// Reading a chunk-size line.
    ChunkSize,
    /// Reading chunk data.
    ChunkData { remaining: u64 },
    /// Expecting the CR after chunk data.
    ChunkCr,
    /// Expecting the LF after chunk data.
    ChunkLf,
    /// Reading the trailer section after the last chunk.
    Trailers,
    /// Reading a body that ends when the connection closes.
    UntilClose,
    /// Closed by end of file or given up.
    Closed,
}

/// How the body of a response is delimited.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Finds the empty line that ends a head or trailer section, across feeds.
/// A CR does not count as content, so `\r\n` and `\n` both end an empty
/// line; the parser that reads the section afterwards judges the rest.
#[derive(Debug, Clone, Copy, Default)]
struct EmptyLine {
    line_has_content: bool,
}

impl EmptyLine {
    /// How many bytes of `bytes`, up to and including the LF of the empty
    /// line, end the section; `None` when it goes on past them.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if !self.line_has_content => return Some(i + 1),
                b'\n' => self.line_has_content = false,
                b'\r' => {}
                _ => self.line_has_content = true,
            }
        }
        None
    }
}

/// One HTTP/1.1 client connection's framing state: requests out, response
/// events in. See the module documentation for the call order.
#[derive(Debug)]
pub struct Connection {
    host: Host,
    policy: Abandon,
    limits: Limits,
    state: State,
    /// The method of the request in flight (a HEAD response has no body).
    method: Method,
    /// The request in flight asked for `Connection: close`.
    request_close: bool,
    /// Whether the connection may be used again after the current (or last)
    /// response, as far as it is known.
    keep_alive: bool,
    /// The caller gave up on the current response; it is read and dropped.
    draining: bool,
    /// Body bytes of the current response so far.
    body_received: u64,
    /// The head or trailer section read so far.
    section: Vec<u8>,
    section_end: EmptyLine,
    /// The chunk-size line read so far.
    chunk_line: Vec<u8>,
    /// Bytes that arrived after a response's end, for the next response.
    pending: Vec<u8>,
    /// The error that spent the connection.
    failure: Option<HttpError>,
}

impl Connection {
    /// A fresh connection that sends `Host: {host}`, treats abandoned
    /// responses as `policy` says, and holds responses to `limits`.
    pub fn new(host: Host, policy: Abandon, limits: Limits) -> Connection {
        Connection {
            host,
            policy,
            limits,
            state: State::Idle,
            method: Method::Get,
            request_close: false,
            keep_alive: true,
            draining: false,
            body_received: 0,
            section: Vec::new(),
            section_end: EmptyLine::default(),
            chunk_line: Vec::new(),
            pending: Vec::new(),
            failure: None,
        }
    }

    /// A connection over TCP to the device at `base`: `Host` from the base
    /// URL (with the port as `port` says), [`Abandon::Close`], default
    /// limits.
    pub fn tcp(base: &Url, port: PortInHost) -> Result<Connection, HttpError> {
        Ok(Connection::new(
            Host::from_base(base, port)?,
            Abandon::Close,
            Limits::default(),
        ))
    }

    /// A connection over one IPP-USB interface: `Host: localhost`,
    /// [`Abandon::Drain`], default limits.
    pub fn ipp_usb() -> Connection {
        Connection::new(Host::localhost(), Abandon::Drain, Limits::default())
    }

    /// The `Host` this connection sends.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// What this connection does with an abandoned response.
    pub fn policy(&self) -> Abandon {
        self.policy
    }

    /// The limits responses are held to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Starts an exchange: the bytes of `request` to write to the pipe.
    /// Fails when a response is still in flight, the connection is closed,
    /// spent or not reusable, or the request cannot be written; apart from
    /// a spent connection's, such an error changes nothing.
    pub fn send(&mut self, request: &Request) -> Result<Vec<u8>, HttpError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        match self.state {
            State::Idle if self.keep_alive => {}
            State::Idle => return Err(HttpError::NotReusable),
            State::Closed => return Err(HttpError::Closed),
            _ => return Err(HttpError::Busy),
        }
        let bytes = request.to_bytes(&self.host)?;
        self.method = request.method();
        self.request_close = !request.keeps_alive();
        self.draining = false;
        self.body_received = 0;
        self.start_section();
        self.state = State::Head;
        Ok(bytes)
    }

    /// Reads `bytes` from the pipe: the events they complete, in order.
    /// Body bytes come out as they arrive; consecutive ones from one call
    /// are joined into one [`Event::Body`]. An empty `bytes` processes what
    /// is kept from earlier (bytes that came after the last response's end).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, HttpError> {
        self.step(bytes, false)
    }

    /// Tells the connection that the pipe reached end of file: the events
    /// this completes ([`Event::End`] of a body that runs until the close),
    /// or an error saying what was cut off. Afterwards the connection is
    /// closed; calling `finish` again returns no events.
    pub fn finish(&mut self) -> Result<Vec<Event>, HttpError> {
        self.step(&[], true)
    }

    /// Whether the last response has ended and the connection may carry the
    /// next request: not after `Connection: close` (sent or received), an
    /// HTTP/1.0 response without `Connection: keep-alive`, a body that ran
    /// until the close, end of file, an error, or giving up with
    /// [`Abandon::Close`]. A fresh connection is reusable.
    pub fn reusable(&self) -> bool {
        self.failure.is_none() && self.state == State::Idle && self.keep_alive
    }

    /// Whether a request was sent and its response has not ended yet
    /// (false once the connection is closed or spent).
    pub fn in_flight(&self) -> bool {
        !matches!(self.state, State::Idle | State::Closed) && self.failure.is_none()
    }

    /// Gives up on the response in flight, as this connection's
    /// [`Abandon`] policy says, and tells the caller what to do next: with
    /// [`Abandon::Drain`] the rest of the response is read and dropped
    /// ([`AfterAbandon::ReadToEnd`]); with [`Abandon::Close`], or when the
    /// body runs until the connection closes, the connection is closed
    /// ([`AfterAbandon::CloseNow`]).
    pub fn abandon(&mut self) -> AfterAbandon {
        if self.failure.is_some() {
            return AfterAbandon::CloseNow;
        }
        match self.state {
            State::Idle | State::Closed => AfterAbandon::Nothing,
            State::UntilClose => self.close(),
            _ => match self.policy {
                Abandon::Close => self.close(),
                Abandon::Drain => {
                    self.draining = true;
                    AfterAbandon::ReadToEnd
                }
            },
        }
    }

    fn close(&mut self) -> AfterAbandon {
        self.state = State::Closed;
        self.keep_alive = false;
        self.pending = Vec::new();
        AfterAbandon::CloseNow
    }

    /// `feed` and `finish`: runs kept bytes and then `bytes` through the
    /// state machine, then end of file when `eof`, latching any error.
    fn step(&mut self, bytes: &[u8], eof: bool) -> Result<Vec<Event>, HttpError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let began_idle = self.state == State::Idle;
        let mut out = Vec::new();
        let result = self.consume_kept(&mut out).and_then(|()| {
            self.consume(bytes, began_idle, &mut out)?;
            if eof {
                self.end_of_file(&mut out)?;
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(out),
            Err(error) => {
                if error != HttpError::Closed {
                    self.failure = Some(error.clone());
                }
                self.keep_alive = false;
                if out.is_empty() { Err(error) } else { Ok(out) }
            }
        }
    }

    /// Runs the bytes kept from an earlier call, once a request is in
    /// flight.
    fn consume_kept(&mut self, out: &mut Vec<Event>) -> Result<(), HttpError> {
        if self.state == State::Idle || self.pending.is_empty() {
            return Ok(());
        }
        let kept = std::mem::take(&mut self.pending);
        self.consume(&kept, false, out)
    }

    fn consume(
        &mut self,
        mut input: &[u8],
        began_idle: bool,
        out: &mut Vec<Event>,
    ) -> Result<(), HttpError> {
        while !input.is_empty() {
            let used = match self.state {
                State::Idle => {
                    self.keep_for_next(input, began_idle)?;
                    input.len()
                }
                State::Closed => return Err(HttpError::Closed),
                State::Head => self.read_head(input, out)?,
                State::Fixed { remaining } => {
                    let n = clamp(remaining, input.len());
                    self.emit_body(&input[..n], out)?;
                    let remaining = remaining - n as u64;
                    self.state = State::Fixed { remaining };
                    if remaining == 0 {
                        self.end(out);
                    }
                    n
                }
                State::ChunkSize => self.read_chunk_line(input)?,
                State::ChunkData { remaining } => {
                    let n = clamp(remaining, input.len());
                    self.emit_body(&input[..n], out)?;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 {
                        State::ChunkCr
                    } else {
                        State::ChunkData { remaining }
                    };
                    n
                }
                State::ChunkCr => {
                    self.state = match input[0] {
                        b'\r' => State::ChunkLf,
                        b'\n' => return Err(HttpError::BareLfAfterChunk),
                        other => {
                            return Err(HttpError::ChunkNotTerminated {
                                found: shown(&[other]),
                            });
                        }
                    };
                    1
                }
                State::ChunkLf => {
                    if input[0] != b'\n' {
                        return Err(HttpError::ChunkNotTerminated {
                            found: shown(&[b'\r', input[0]]),
                        });
                    }
                    self.state = State::ChunkSize;
                    1
                }
                State::Trailers => self.read_trailers(input, out)?,
                State::UntilClose => {
                    self.emit_body(input, out)?;
                    input.len()
                }
            };
            input = &input[used..];
        }
        Ok(())
    }

    /// Keeps bytes that arrived with no request in flight for the next
    /// response; drops them when the connection is not to be reused.
    fn keep_for_next(&mut self, input: &[u8], began_idle: bool) -> Result<(), HttpError> {
        if !self.keep_alive {
            return Ok(());
        }
        let received = self.pending.len().saturating_add(input.len());
        // Bytes handed over with the end of a response are kept whole (the
        // caller held them already); an idle connection keeps at most a head.
        if began_idle && received > self.limits.max_head {
            return Err(HttpError::UnsolicitedBytes { received });
        }
        self.pending.extend_from_slice(input);
        Ok(())
    }

    fn end_of_file(&mut self, out: &mut Vec<Event>) -> Result<(), HttpError> {
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.keep_alive = false;
        self.pending = Vec::new();
        let truncated = |place| HttpError::TruncatedChunked {
            received: self.body_received,
            place,
        };
        match state {
            State::Idle | State::Closed => Ok(()),
            State::Head if self.section.is_empty() => Err(HttpError::ClosedBeforeResponse),
            State::Head => Err(HttpError::TruncatedHead {
                received: self.section.len(),
            }),
            State::Fixed { remaining } => Err(HttpError::TruncatedBody {
                received: self.body_received,
                expected: self.body_received.saturating_add(remaining),
            }),
            State::ChunkSize => Err(truncated("in a chunk size line")),
            State::ChunkData { .. } => Err(truncated("in chunk data")),
            State::ChunkCr | State::ChunkLf => Err(truncated("before the CRLF after chunk data")),
            State::Trailers => Err(truncated("in the trailer section")),
            State::UntilClose => {
                out.push(Event::End);
                self.draining = false;
                Ok(())
            }
        }
    }

    fn start_section(&mut self) {
        self.section.clear();
        self.section_end = EmptyLine::default();
    }

    /// Reads head bytes; on the empty line, parses the head and sets up the
    /// body. Returns how many bytes of `input` it used.
    fn read_head(&mut self, input: &[u8], out: &mut Vec<Event>) -> Result<usize, HttpError> {
        let mut skipped = 0;
        if self.section.is_empty() {
            // Stray line ends between responses are tolerated.
            skipped = input
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
        }
        let rest = &input[skipped..];
        let (take, complete) = match self.section_end.scan(rest) {
            Some(n) => (n, true),
            None => (rest.len(), false),
        };
        // Fail at once on bytes that cannot start a response, rather than
        // at the head's end or its limit.
        const START: &[u8] = b"HTTP/";
        let have = self.section.len();
        if have < START.len() {
            let mut probe = self.section.clone();
            probe.extend_from_slice(&rest[..take.min(START.len() - have)]);
            if let Some(wrong) = probe.iter().zip(START).position(|(a, b)| a != b) {
                // Shown up to the first wrong byte: the same however split.
                return Err(HttpError::MalformedHead {
                    problem: "it does not start with `HTTP/`".to_owned(),
                    start: shown(&probe[..=wrong]),
                });
            }
        }
        if self.section.len().saturating_add(take) > self.limits.max_head {
            return Err(HttpError::HeadTooLarge {
                limit: self.limits.max_head,
            });
        }
        self.section.extend_from_slice(&rest[..take]);
        if complete {
            self.parse_head(out)?;
        }
        Ok(skipped + take)
    }

    fn parse_head(&mut self, out: &mut Vec<Event>) -> Result<(), HttpError> {
        let section = std::mem::take(&mut self.section);
        self.start_section();
        let mut fields = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(&section) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HttpError::MalformedHead {
                    problem: "it ends before its empty line".to_owned(),
                    start: shown(&section),
                });
            }
            Err(error) => return Err(self.head_error(error, &section)),
        }
        let version = response.version.unwrap_or(1);
        let status = response.code.unwrap_or(0);
        let reason = response.reason.unwrap_or("").to_owned();
        let headers = Headers {
            fields: response
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value);
                    (h.name.to_owned(), value.into_owned())
                })
                .collect(),
        };
        if status < 100 {
            return Err(HttpError::BadStatus { status });
        }
        if status == 101 {
            return Err(HttpError::UnexpectedSwitch);
        }
        if status < 200 {
            // An interim response: the final one follows.
            return Ok(());
        }
        let close = headers.has_token("Connection", "close");
        let mut keep_alive = !close
            && !self.request_close
            && (version == 1 || headers.has_token("Connection", "keep-alive"));
        let framing = self.framing(status, version, &headers, &mut keep_alive)?;
        self.keep_alive = keep_alive;
        if !self.draining {
            out.push(Event::Head {
                status,
                reason,
                headers,
            });
        }
        match framing {
            Framing::None | Framing::Length(0) => self.end(out),
            Framing::Length(n) => self.state = State::Fixed { remaining: n },
            Framing::Chunked => self.state = State::ChunkSize,
            Framing::UntilClose => {
                self.keep_alive = false;
                self.state = State::UntilClose;
            }
        }
        Ok(())
    }

    /// How the body of a response with `status` and `headers` is delimited
    /// (RFC 9112 section 6.3); clears `keep_alive` where the framing is
    /// doubtful.
    fn framing(
        &self,
        status: u16,
        version: u8,
        headers: &Headers,
        keep_alive: &mut bool,
    ) -> Result<Framing, HttpError> {
        if self.method == Method::Head || status == 204 || status == 304 {
            return Ok(Framing::None);
        }
        let mut codings = headers.get_all("Transfer-Encoding").peekable();
        if codings.peek().is_some() {
            let value = codings.collect::<Vec<_>>().join(", ");
            let mut list = value.split(',').map(str::trim).filter(|t| !t.is_empty());
            let chunked = list
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
                && list.next().is_none();
            if !chunked {
                return Err(HttpError::UnsupportedTransferCoding {
                    value: shown(value.as_bytes()),
                });
            }
            // Chunked beside a Content-Length, or in HTTP/1.0, is framing a
            // server should not send: read this response, then close.
            if version == 0 || headers.get("Content-Length").is_some() {
                *keep_alive = false;
            }
            return Ok(Framing::Chunked);
        }
        let mut length: Option<u64> = None;
        for value in headers.get_all("Content-Length") {
            for part in value.split(',') {
                let part = part.trim();
                let parsed = (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| part.parse::<u64>().ok())
                    .flatten()
                    .ok_or_else(|| HttpError::BadContentLength {
                        value: shown(value.as_bytes()),
                    })?;
                match length {
                    Some(first) if first != parsed => {
                        return Err(HttpError::ConflictingContentLength {
                            first,
                            second: parsed,
                        });
                    }
                    _ => length = Some(parsed),
                }
            }
        }
        match length {
            Some(n) if n > self.limits.max_body => Err(HttpError::BodyTooLarge {
                limit: self.limits.max_body,
            }),
            Some(n) => Ok(Framing::Length(n)),
            None => Ok(Framing::UntilClose),
        }
    }

    fn head_error(&self, error: httparse::Error, section: &[u8]) -> HttpError {
        let problem = match error {
            httparse::Error::TooManyHeaders => {
                return HttpError::TooManyHeaders {
                    limit: self.limits.max_headers,
                };
            }
            httparse::Error::Version => "the status line does not start with HTTP/1.0 or HTTP/1.1",
            httparse::Error::Status => "the status line has no three-digit status code",
            httparse::Error::HeaderName => "a header name has a character not allowed in a token",
            httparse::Error::HeaderValue => "a header value has a control character",
            httparse::Error::NewLine => "a line ends in a stray CR",
            httparse::Error::Token => "a token has a character not allowed in it",
        };
        HttpError::MalformedHead {
            problem: problem.to_owned(),
            start: shown(section),
        }
    }

    /// Reads a chunk-size line; at its LF, sets up the chunk's data (or the
    /// trailer section after the last chunk).
    fn read_chunk_line(&mut self, input: &[u8]) -> Result<usize, HttpError> {
        let (take, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(lf) => (lf + 1, true),
            None => (input.len(), false),
        };
        if self.chunk_line.len().saturating_add(take) > self.limits.max_chunk_line {
            return Err(HttpError::ChunkLineTooLong {
                limit: self.limits.max_chunk_line,
            });
        }
        self.chunk_line.extend_from_slice(&input[..take]);
        if complete {
            let line = std::mem::take(&mut self.chunk_line);
            let size = parse_chunk_line(&line)?;
            if self.body_received.saturating_add(size) > self.limits.max_body {
                return Err(HttpError::BodyTooLarge {
                    limit: self.limits.max_body,
                });
            }
            self.state = if size == 0 {
                self.start_section();
                State::Trailers
            } else {
                State::ChunkData { remaining: size }
            };
        }
        Ok(take)
    }

    /// Reads the trailer section; at its empty line, checks it and ends the
    /// response.
    fn read_trailers(&mut self, input: &[u8], out: &mut Vec<Event>) -> Result<usize, HttpError> {
        let (take, complete) = match self.section_end.scan(input) {
            Some(n) => (n, true),
            None => (input.len(), false),
        };
        if self.section.len().saturating_add(take) > self.limits.max_head {
            return Err(HttpError::TrailerTooLarge {
                limit: self.limits.max_head,
            });
        }
        self.section.extend_from_slice(&input[..take]);
        if complete {
            let section = std::mem::take(&mut self.section);
            self.start_section();
            check_crlf_lines(&section)?;
            let mut fields = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
            match httparse::parse_headers(&section, &mut fields) {
                Ok(httparse::Status::Complete(_)) => {}
                Ok(httparse::Status::Partial) => {
                    return Err(HttpError::MalformedTrailer {
                        problem: "it ends before its empty line".to_owned(),
                    });
                }
                Err(httparse::Error::TooManyHeaders) => {
                    return Err(HttpError::TooManyHeaders {
                        limit: self.limits.max_headers,
                    });
                }
                Err(error) => {
                    return Err(HttpError::MalformedTrailer {
                        problem: format!("{error} in `{}`", shown(&section)),
                    });
                }
            }
            self.end(out);
        }
        Ok(take)
    }

    fn emit_body(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), HttpError> {
        // What fits under the limit is handed out before the error, so the
        // outcome does not depend on how the bytes were split.
        let room = self.limits.max_body.saturating_sub(self.body_received);
        let allowed = &bytes[..clamp(room, bytes.len())];
        self.body_received += allowed.len() as u64;
        if !self.draining && !allowed.is_empty() {
            match out.last_mut() {
                Some(Event::Body(last)) => last.extend_from_slice(allowed),
                _ => out.push(Event::Body(allowed.to_vec())),
            }
        }
        if allowed.len() < bytes.len() {
            return Err(HttpError::BodyTooLarge {
                limit: self.limits.max_body,
            });
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        out.push(Event::End);
        self.draining = false;
        self.state = State::Idle;
    }
}

/// How many of `available` bytes to take toward `remaining`.
fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

/// The size of a chunk from its size line (`1a;name=value\r\n`): hex digits,
/// then optional extensions, then CRLF.
fn parse_chunk_line(line: &[u8]) -> Result<u64, HttpError> {
    let without_lf = line.strip_suffix(b"\n").unwrap_or(line);
    let Some(content) = without_lf.strip_suffix(b"\r") else {
        return Err(HttpError::BareLf {
            line: shown(without_lf),
        });
    };
    let digits = content.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &content[digits..];
    let rest_start = rest.iter().position(|&b| b != b' ' && b != b'\t');
    if digits == 0 || rest_start.is_some_and(|i| rest[i] != b';') {
        return Err(HttpError::ChunkSizeNotHex {
            line: shown(content),
        });
    }
    let mut size: u64 = 0;
    for &b in &content[..digits] {
        let digit = u64::from(char::from(b).to_digit(16).unwrap_or(0));
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(digit))
            .ok_or_else(|| HttpError::ChunkSizeOverflow {
                line: shown(content),
            })?;
    }
    if let Some(start) = rest_start
        && !valid_extensions(&rest[start..])
    {
        return Err(HttpError::BadChunkExtension {
            line: shown(content),
        });
    }
    Ok(size)
}

/// Whether `ext` is `*( BWS ";" BWS name [ BWS "=" BWS value ] ) BWS` with
/// a token name and a token or quoted-string value (RFC 9112 section 7.1.1).
fn valid_extensions(ext: &[u8]) -> bool {
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while ext.get(*i).is_some_and(|&b| b == b' ' || b == b'\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while ext.get(*i).is_some_and(|&b| is_token_byte(b)) {
            *i += 1;
        }
        *i > start
    };
    loop {
        skip_ws(&mut i);
        match ext.get(i) {
            None => return true,
            Some(b';') => i += 1,
            Some(_) => return false,
        }
        skip_ws(&mut i);
        if !token(&mut i) {
            return false;
        }
        skip_ws(&mut i);
        if ext.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        skip_ws(&mut i);
        if ext.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match ext.get(i) {
                    None => return false,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => match ext.get(i + 1) {
                        Some(&b) if b == b'\t' || b >= 0x20 && b != 0x7f => i += 2,
                        _ => return false,
                    },
                    Some(&b) if b == b'\t' || b >= 0x20 && b != 0x7f => i += 1,
                    Some(_) => return false,
                }
            }
        } else if !token(&mut i) {
            return false;
        }
    }
}

/// Fails unless every LF in `section` follows a CR.
fn check_crlf_lines(section: &[u8]) -> Result<(), HttpError> {
    for (i, &b) in section.iter().enumerate() {
        if b == b'\n' && (i == 0 || section[i - 1] != b'\r') {
            let start = section[..i]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            return Err(HttpError::BareLf {
                line: shown(&section[start..i]),
            });
        }
    }
    Ok(())
}

/// `tchar` of RFC 9110: the bytes a token (a field name, a method) may hold.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The bytes of a URI's reg-name: unreserved, percent and sub-delims.
fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)
}

/// Up to 64 bytes of `bytes` for an error message, with anything but
/// printable ASCII escaped (`\r`, `\n`, `\t`, `\xNN`) and `...` when cut.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let mut text = String::new();
    for &b in bytes.iter().take(MAX) {
        match b {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            0x20..=0x7e => text.push(char::from(b)),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > MAX {
        text.push_str("...");
    }
    text
}

/// Reads `bytes` as the responses on one connection, every way the fuzz
/// target and its corpus replay check: as answers to GET and to HEAD, fed
/// at once, in two pieces and a byte at a time, with up to three requests
/// in turn while the connection stays reusable; and once more giving up on
/// the first response after its head, with each [`Abandon`] policy.
///
/// # Panics
///
/// When the outcome depends on how the bytes were split, which is a bug in
/// the framing. The framing itself must not panic on any input.
pub fn fuzz_one(bytes: &[u8]) {
    let limits = Limits {
        max_head: 4 << 10,
        max_headers: 16,
        max_chunk_line: 64,
        max_body: 1 << 20,
    };
    let half = bytes.len() / 2;
    for method in [Method::Get, Method::Head] {
        let whole = replay(method, limits, [bytes]);
        let halves = replay(method, limits, [&bytes[..half], &bytes[half..]]);
        assert_eq!(whole, halves, "split in two at {half}");
        if bytes.len() <= 16 << 10 {
            let single = replay(method, limits, bytes.chunks(1));
            assert_eq!(whole, single, "fed a byte at a time");
        }
    }
    for policy in [Abandon::Drain, Abandon::Close] {
        let mut connection = Connection::new(Host::localhost(), policy, limits);
        if connection.send(&Request::get("/")).is_err() {
            return;
        }
        let mut abandoned = false;
        for piece in bytes.chunks(7) {
            let Ok(events) = connection.feed(piece) else {
                break;
            };
            if !abandoned && events.iter().any(|e| matches!(e, Event::Head { .. })) {
                abandoned = true;
                if connection.abandon() == AfterAbandon::CloseNow {
                    break;
                }
            }
            if connection.reusable() && connection.send(&Request::get("/")).is_err() {
                break;
            }
        }
        let _ = connection.finish();
    }
}

/// What one piece of a replay gave, with bodies joined across feeds.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Event(Event),
    Error(HttpError),
}

/// Feeds `pieces` to a fresh connection that sends `method` requests (up to
/// three, each once the last response ended and the connection is
/// reusable), then end of file; what came out, bodies joined.
fn replay<'a>(
    method: Method,
    limits: Limits,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Outcome> {
    const REQUESTS: usize = 3;
    let mut connection = Connection::new(Host::localhost(), Abandon::Drain, limits);
    let mut outcomes = Vec::new();
    let mut sent = 0;
    let mut pieces = pieces.into_iter();
    loop {
        while sent < REQUESTS && connection.reusable() {
            sent += 1;
            if let Err(error) = connection.send(&Request::new(method, "/")) {
                outcomes.push(Outcome::Error(error));
                return outcomes;
            }
            // Bytes kept from the last feed may hold this whole response.
            if !record(connection.feed(&[]), &mut outcomes) {
                return outcomes;
            }
        }
        // Once every request is answered, the rest is not read.
        let answered = !connection.in_flight();
        let piece = pieces.next();
        match piece {
            Some(piece) if !(answered && sent == REQUESTS) => {
                if !record(connection.feed(piece), &mut outcomes) {
                    return outcomes;
                }
            }
            _ => break,
        }
    }
    record(connection.finish(), &mut outcomes);
    outcomes
}

/// Adds what a call returned to `outcomes`, joining bodies; false on an
/// error.
fn record(result: Result<Vec<Event>, HttpError>, outcomes: &mut Vec<Outcome>) -> bool {
    match result {
        Ok(events) => {
            for event in events {
                match (outcomes.last_mut(), event) {
                    (Some(Outcome::Event(Event::Body(last))), Event::Body(more)) => {
                        last.extend_from_slice(&more);
                    }
                    (_, event) => outcomes.push(Outcome::Event(event)),
                }
            }
            true
        }
        Err(error) => {
            outcomes.push(Outcome::Error(error));
            false
        }
    }
}

#[cfg(test)]
mod tests;
