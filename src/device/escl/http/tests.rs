//! Unit tests of the HTTP framing: request bytes, `Host`, `Location`, the
//! chunk-size line, each framing rule and limit, the call order, and giving
//! up on a response. Recorded exchanges and every-split / every-prefix
//! checks are in `tests/escl_http.rs`.

use super::*;

fn base() -> Url {
    Url::parse("http://10.0.0.5:8080/eSCL/").expect("base URL")
}

fn conn() -> Connection {
    Connection::new(Host::localhost(), Abandon::Drain, Limits::default())
}

fn conn_with(policy: Abandon, limits: Limits) -> Connection {
    Connection::new(Host::localhost(), policy, limits)
}

/// A connection with a GET in flight.
fn sent() -> Connection {
    let mut c = conn();
    c.send(&Request::get("/")).expect("send");
    c
}

/// The body bytes in `events`, joined.
fn body(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Body(b) => Some(b.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

fn status(events: &[Event]) -> Option<u16> {
    events.iter().find_map(|e| match e {
        Event::Head { status, .. } => Some(*status),
        _ => None,
    })
}

fn ends(events: &[Event]) -> bool {
    events.last() == Some(&Event::End)
}

/// Feeds `bytes` to a fresh connection with a GET in flight; the error a
/// feed or the following finish gives.
fn error_of(bytes: &[u8]) -> HttpError {
    let mut c = sent();
    match c.feed(bytes) {
        Err(e) => e,
        Ok(_) => c.finish().expect_err("an error"),
    }
}

// ---- requests ----

#[test]
fn get_is_written_with_host_port_and_keep_alive() {
    let host = Host::from_base(&base(), PortInHost::WhenNotDefault).expect("host");
    let bytes = Request::get("/eSCL/ScannerStatus")
        .header("Accept", "text/xml")
        .to_bytes(&host)
        .expect("bytes");
    assert_eq!(
        String::from_utf8(bytes).expect("ascii"),
        "GET /eSCL/ScannerStatus HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nAccept: text/xml\r\n\
         Connection: keep-alive\r\n\r\n"
    );
}

#[test]
fn post_carries_its_length_and_body() {
    let body = b"<scan:ScanSettings/>".to_vec();
    let bytes = Request::post("/eSCL/ScanJobs", "text/xml", body.clone())
        .to_bytes(&Host::localhost())
        .expect("bytes");
    let text = String::from_utf8(bytes).expect("ascii");
    assert_eq!(
        text,
        format!(
            "POST /eSCL/ScanJobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
             Content-Length: {}\r\nConnection: keep-alive\r\n\r\n<scan:ScanSettings/>",
            body.len()
        )
    );
}

#[test]
fn empty_post_says_length_zero_and_get_says_no_length() {
    let post = Request::new(Method::Post, "/x")
        .to_bytes(&Host::localhost())
        .expect("bytes");
    assert!(String::from_utf8_lossy(&post).contains("\r\nContent-Length: 0\r\n"));
    let get = Request::get("/x")
        .to_bytes(&Host::localhost())
        .expect("bytes");
    assert!(!String::from_utf8_lossy(&get).contains("Content-Length"));
    let delete = Request::delete("/eSCL/ScanJobs/1")
        .to_bytes(&Host::localhost())
        .expect("bytes");
    assert!(String::from_utf8_lossy(&delete).starts_with("DELETE /eSCL/ScanJobs/1 HTTP/1.1\r\n"));
}

#[test]
fn a_closing_request_says_so_and_leaves_the_connection_spent() {
    let request = Request::get("/").close();
    assert!(!request.keeps_alive());
    let bytes = request.to_bytes(&Host::localhost()).expect("bytes");
    assert!(String::from_utf8_lossy(&bytes).contains("\r\nConnection: close\r\n"));
    let mut c = conn();
    c.send(&request).expect("send");
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .expect("feed");
    assert!(ends(&events));
    assert!(!c.reusable());
    assert_eq!(c.send(&Request::get("/")), Err(HttpError::NotReusable));
}

#[test]
fn request_fields_that_could_smuggle_are_refused() {
    let host = Host::localhost();
    let cases = [
        (
            Request::get("/a\r\nX: y"),
            HttpError::BadTarget {
                target: "/a\\r\\nX: y".into(),
            },
        ),
        (
            Request::get("/a b"),
            HttpError::BadTarget {
                target: "/a b".into(),
            },
        ),
        (
            Request::get("eSCL/ScannerStatus"),
            HttpError::BadTarget {
                target: "eSCL/ScannerStatus".into(),
            },
        ),
        (
            Request::get("/\u{e9}"),
            HttpError::BadTarget {
                target: "/\\xc3\\xa9".into(),
            },
        ),
        (
            Request::get("/").header("X-A", "b\r\nHost: evil"),
            HttpError::BadHeaderValue { name: "X-A".into() },
        ),
        (
            Request::get("/").header("X A", "b"),
            HttpError::BadHeaderName { name: "X A".into() },
        ),
        (
            Request::get("/").header("", "b"),
            HttpError::BadHeaderName { name: "".into() },
        ),
        (
            Request::get("/").header("host", "evil"),
            HttpError::ReservedHeader {
                name: "host".into(),
            },
        ),
        (
            Request::get("/").header("Content-Length", "5"),
            HttpError::ReservedHeader {
                name: "Content-Length".into(),
            },
        ),
        (
            Request::get("/").header("transfer-encoding", "chunked"),
            HttpError::ReservedHeader {
                name: "transfer-encoding".into(),
            },
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(request.to_bytes(&host), Err(expected));
    }
    // A tab in a value is allowed.
    assert!(
        Request::get("/")
            .header("X-A", "a\tb")
            .to_bytes(&host)
            .is_ok()
    );
}

#[test]
fn a_refused_request_leaves_the_connection_as_it_was() {
    let mut c = conn();
    assert!(c.send(&Request::get("no slash")).is_err());
    assert!(c.reusable());
    assert!(!c.in_flight());
    c.send(&Request::get("/")).expect("send");
    assert!(c.in_flight());
}

// ---- Host ----

#[test]
fn host_has_the_port_only_when_asked_or_not_default() {
    let value = |url: &str, port| {
        Host::from_base(&Url::parse(url).expect("url"), port)
            .expect("host")
            .value()
    };
    assert_eq!(
        value("http://10.0.0.5/eSCL/", PortInHost::WhenNotDefault),
        "10.0.0.5"
    );
    assert_eq!(
        value("http://10.0.0.5/eSCL/", PortInHost::Always),
        "10.0.0.5:80"
    );
    assert_eq!(
        value("https://scanner.local/", PortInHost::Always),
        "scanner.local:443"
    );
    assert_eq!(
        value("http://scanner.local:8080/", PortInHost::WhenNotDefault),
        "scanner.local:8080"
    );
    assert_eq!(
        value("http://[fe80::1]:631/eSCL/", PortInHost::WhenNotDefault),
        "[fe80::1]:631"
    );
    assert_eq!(value("http://[::1]/", PortInHost::Always), "[::1]:80");
    assert_eq!(Host::localhost().value(), "localhost");
}

#[test]
fn host_names_are_checked() {
    assert_eq!(
        Host::new("::1", Some(60000)).expect("ipv6").value(),
        "[::1]:60000"
    );
    assert_eq!(Host::new("[::1]", None).expect("ipv6").value(), "[::1]");
    assert_eq!(
        Host::new("printer-7.local", None).expect("name").value(),
        "printer-7.local"
    );
    for bad in ["", "a b", "a/b", "[::1", "[zz::1]", "a\r\nb", "1:2:x"] {
        assert!(
            matches!(Host::new(bad, None), Err(HttpError::BadHost { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn a_base_must_be_http_with_a_host() {
    for bad in ["ftp://10.0.0.5/", "mailto:a@b", "file:///tmp/x"] {
        let url = Url::parse(bad).expect("url");
        assert!(
            matches!(
                Host::from_base(&url, PortInHost::Always),
                Err(HttpError::BadBase { .. })
            ),
            "{bad}"
        );
        assert!(matches!(
            resolve_location(&url, "/x"),
            Err(HttpError::BadBase { .. })
        ));
    }
    assert!(Connection::tcp(&base(), PortInHost::Always).is_ok());
}

// ---- Location ----

#[test]
fn location_keeps_the_base_host_and_port() {
    let expected = "http://10.0.0.5:8080/eSCL/ScanJobs/1";
    for location in [
        "http://other/eSCL/ScanJobs/1",
        "https://other:9999/eSCL/ScanJobs/1",
        "//other/eSCL/ScanJobs/1",
        "/eSCL/ScanJobs/1",
        "ScanJobs/1",
        " ScanJobs/1 ",
        "http://other/eSCL/ScanJobs/1#frag",
    ] {
        let url = resolve_location(&base(), location).expect(location);
        assert_eq!(url.as_str(), expected, "{location}");
        assert_eq!(request_target(&url), "/eSCL/ScanJobs/1");
    }
}

#[test]
fn location_keeps_its_query_and_dot_segments_resolve() {
    let url = resolve_location(&base(), "http://192.168.0.9/eSCL/ScanJobs/7?x=1").expect("url");
    assert_eq!(url.as_str(), "http://10.0.0.5:8080/eSCL/ScanJobs/7?x=1");
    assert_eq!(request_target(&url), "/eSCL/ScanJobs/7?x=1");
    let url = resolve_location(&base(), "../other/ScanJobs/2").expect("url");
    assert_eq!(url.as_str(), "http://10.0.0.5:8080/other/ScanJobs/2");
}

#[test]
fn a_bad_location_says_why() {
    for (location, why) in [
        ("", "empty"),
        ("   ", "empty"),
        ("mailto:a@b", "scheme `mailto`"),
        ("http://[::1/x", "invalid"),
    ] {
        match resolve_location(&base(), location) {
            Err(e @ HttpError::BadLocation { .. }) => {
                assert!(e.to_string().contains(why), "{location}: {e}")
            }
            other => panic!("{location}: {other:?}"),
        }
    }
}

// ---- chunk-size lines ----

#[test]
fn chunk_sizes_are_hexadecimal_with_optional_extensions() {
    for (line, size) in [
        (&b"0\r\n"[..], 0),
        (b"1a\r\n", 0x1a),
        (b"1A\r\n", 0x1a),
        (b"000f\r\n", 15),
        (b"ffffffffffffffff\r\n", u64::MAX),
        (b"00000000000000001\r\n", 1),
        (b"10;name\r\n", 16),
        (b"10 ; name = value\r\n", 16),
        (b"10;a=1;b;c=\"x y \\\" z\"\r\n", 16),
        (b"10 \r\n", 16),
        (b"10\t;a=\"\"\r\n", 16),
    ] {
        assert_eq!(
            parse_chunk_line(line),
            Ok(size),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn a_bad_chunk_size_line_says_what_is_wrong() {
    assert_eq!(
        parse_chunk_line(b"zz\r\n")
            .expect_err("not hex")
            .to_string(),
        "chunk size line `zz` is not hexadecimal"
    );
    for line in [
        &b"\r\n"[..],
        b"1z\r\n",
        b"1 z\r\n",
        b"-1\r\n",
        b"0x10\r\n",
        b" 1\r\n",
    ] {
        assert!(
            matches!(
                parse_chunk_line(line),
                Err(HttpError::ChunkSizeNotHex { .. })
            ),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    assert_eq!(
        parse_chunk_line(b"5\n"),
        Err(HttpError::BareLf { line: "5".into() })
    );
    assert_eq!(
        parse_chunk_line(b"10000000000000000\r\n"),
        Err(HttpError::ChunkSizeOverflow {
            line: "10000000000000000".into()
        })
    );
    for line in [
        &b"1;\r\n"[..],
        b"1;=x\r\n",
        b"1;a=\r\n",
        b"1;a=\"open\r\n",
        b"1;a b\r\n",
        b"1;a=b c\r\n",
        b"1;a\x01\r\n",
        b"1;a\rb\r\n",
    ] {
        assert!(
            matches!(
                parse_chunk_line(line),
                Err(HttpError::BadChunkExtension { .. })
            ),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn errors_show_bytes_escaped_and_cut() {
    assert_eq!(shown(b"a\r\n\t\\\x00\xff"), "a\\r\\n\\t\\\\\\x00\\xff");
    let long = shown(&[b'x'; 100]);
    assert_eq!(long.len(), 64 + 3);
    assert!(long.ends_with("..."));
}

#[test]
fn the_empty_line_is_found_across_feeds() {
    let mut d = EmptyLine::default();
    assert_eq!(d.scan(b"HTTP/1.1 200 OK\r"), None);
    assert_eq!(d.scan(b"\nA: b\r\n\r"), None);
    assert_eq!(d.scan(b"\nbody"), Some(1));
    let mut d = EmptyLine::default();
    assert_eq!(d.scan(b"A: b\n\nrest"), Some(6));
    let mut d = EmptyLine::default();
    assert_eq!(d.scan(b"\r\n"), Some(2));
}

// ---- framing ----

#[test]
fn content_length_frames_the_body_and_the_connection_is_reused() {
    let mut c = sent();
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
        .expect("feed");
    assert_eq!(status(&events), Some(200));
    assert_eq!(body(&events), b"hel");
    assert!(!ends(&events) && !c.reusable() && c.in_flight());
    let events = c.feed(b"lo").expect("feed");
    assert_eq!(events, vec![Event::Body(b"lo".to_vec()), Event::End]);
    assert!(c.reusable() && !c.in_flight());
}

#[test]
fn head_fields_keep_their_names_and_are_found_in_any_case() {
    let mut c = sent();
    let events = c
        .feed(
            b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\nX-Multi: a\r\n\
              x-multi: b\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("feed");
    let Some(Event::Head {
        status,
        reason,
        headers,
    }) = events.first()
    else {
        panic!("{events:?}")
    };
    assert_eq!((*status, reason.as_str()), (503, "Service Unavailable"));
    assert_eq!(headers.get("Retry-After"), Some("5"));
    assert_eq!(headers.get_all("X-MULTI").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(headers.len(), 4);
    assert!(!headers.is_empty());
    assert_eq!(headers.iter().next(), Some(("retry-after", "5")));
    assert_eq!(headers.get("Missing"), None);
}

#[test]
fn a_status_line_without_reason_and_bare_lf_heads_are_read() {
    let mut c = sent();
    let events = c.feed(b"HTTP/1.1 204\nServer: x\n\n").expect("feed");
    assert!(matches!(&events[0], Event::Head { status: 204, reason, .. } if reason.is_empty()));
    assert!(ends(&events));
}

#[test]
fn no_body_for_head_requests_204_and_304() {
    let mut c = conn();
    c.send(&Request::new(Method::Head, "/")).expect("send");
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nTransfer-Encoding: chunked\r\n\r\n")
        .expect("feed");
    assert!(ends(&events) && c.reusable());
    for code in [204, 304] {
        let mut c = sent();
        let head = format!("HTTP/1.1 {code} X\r\nContent-Length: 9\r\n\r\n");
        let events = c.feed(head.as_bytes()).expect("feed");
        assert_eq!(events.len(), 2, "{code}");
        assert!(ends(&events) && c.reusable(), "{code}");
    }
}

#[test]
fn interim_responses_are_skipped() {
    let mut c = sent();
    let events = c
        .feed(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
              HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("feed");
    assert_eq!(events.len(), 2);
    assert_eq!(status(&events), Some(201));
}

#[test]
fn switching_protocols_and_bad_codes_fail() {
    assert_eq!(
        error_of(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
        HttpError::UnexpectedSwitch
    );
    assert_eq!(
        error_of(b"HTTP/1.1 099 Odd\r\n\r\n"),
        HttpError::BadStatus { status: 99 }
    );
    assert_eq!(
        error_of(b"HTTP/1.1 099 Odd\r\n\r\n").to_string(),
        "status code 099 is not a valid HTTP status"
    );
}

#[test]
fn malformed_heads_say_what_is_wrong() {
    for (head, problem) in [
        (&b"HTTP/2 200 OK\r\n\r\n"[..], "HTTP/1.0 or HTTP/1.1"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "three-digit"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "header name"),
        (b"HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n", "header value"),
        (b"HTTP/1.1 200 OK\r\n\r\r\n", "stray CR"),
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "header name"),
    ] {
        match error_of(head) {
            HttpError::MalformedHead { problem: p, start } => {
                assert!(p.contains(problem), "{p}");
                assert!(start.starts_with("HTTP/"), "{start}");
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(head)),
        }
    }
}

#[test]
fn bytes_that_cannot_start_a_response_fail_at_once() {
    for garbage in [&b"<html>"[..], b"\xff\xd8", b"http/1.1 200 OK", b"HTTP 200"] {
        let mut c = sent();
        match c.feed(garbage) {
            Err(HttpError::MalformedHead { problem, .. }) => {
                assert!(problem.contains("HTTP/"), "{problem}")
            }
            other => panic!("{garbage:?}: {other:?}"),
        }
    }
    // A prefix of `HTTP/` is not yet wrong.
    let mut c = sent();
    assert_eq!(c.feed(b"HT"), Ok(vec![]));
}

#[test]
fn stray_line_ends_between_responses_are_tolerated() {
    let mut c = sent();
    let events = c
        .feed(b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\r\n")
        .expect("feed");
    assert!(ends(&events));
    c.send(&Request::get("/")).expect("send");
    let events = c
        .feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        .expect("feed");
    assert_eq!(status(&events), Some(404));
}

#[test]
fn content_length_values_are_checked() {
    for (value, ok) in [
        ("42, 42", true),
        ("0042", true),
        (" 7 ", true),
        ("+5", false),
        ("-1", false),
        ("", false),
        ("5 5", false),
        ("0x10", false),
        ("99999999999999999999999", false),
    ] {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
        let mut c = sent();
        let result = c.feed(head.as_bytes());
        assert_eq!(result.is_ok(), ok, "{value:?}: {result:?}");
        if !ok {
            assert!(matches!(result, Err(HttpError::BadContentLength { .. })));
        }
    }
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"),
        HttpError::ConflictingContentLength {
            first: 4,
            second: 5
        }
    );
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nContent-Length: 4, 6\r\n\r\n"),
        HttpError::ConflictingContentLength {
            first: 4,
            second: 6
        }
    );
}

#[test]
fn only_plain_chunked_is_understood() {
    for value in [
        "gzip",
        "gzip, chunked",
        "chunked, gzip",
        "chunked, chunked",
        "identity",
        "",
    ] {
        let head = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {value}\r\n\r\n");
        assert!(
            matches!(
                error_of(head.as_bytes()),
                HttpError::UnsupportedTransferCoding { .. }
            ),
            "{value:?}"
        );
    }
    let mut c = sent();
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
        .expect("feed");
    assert_eq!(body(&events), b"x");
}

#[test]
fn chunked_beside_content_length_wins_but_the_connection_closes() {
    let mut c = sent();
    let events = c
        .feed(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n0\r\n\r\n",
        )
        .expect("feed");
    assert_eq!(body(&events), b"abc");
    assert!(ends(&events));
    assert!(!c.reusable());
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let mut c = sent();
    let events = c
        .feed(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\
              Expires: never\r\nX-Sum: 7\r\n\r\n",
        )
        .expect("feed");
    assert_eq!(body(&events), b"Wikipedia in\r\n\r\nchunks.");
    // Bodies of one call are joined into one event.
    assert_eq!(events.len(), 3);
    assert!(ends(&events) && c.reusable());
}

#[test]
fn chunked_framing_wants_crlf_everywhere() {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let with = |rest: &[u8]| [head.as_slice(), rest].concat();
    assert_eq!(
        error_of(&with(b"3\r\nabcd\r\n")),
        HttpError::ChunkNotTerminated { found: "d".into() }
    );
    assert_eq!(
        error_of(&with(b"3\r\nabc\rd")),
        HttpError::ChunkNotTerminated {
            found: "\\rd".into()
        }
    );
    assert_eq!(
        error_of(&with(b"3\r\nabc\n0\r\n\r\n")),
        HttpError::BareLfAfterChunk
    );
    assert_eq!(
        error_of(&with(b"3\nabc\r\n")),
        HttpError::BareLf { line: "3".into() }
    );
    assert_eq!(
        error_of(&with(b"0\r\n\n")),
        HttpError::BareLf { line: "".into() }
    );
    assert_eq!(
        error_of(&with(b"0\r\nX: y\n\r\n")),
        HttpError::BareLf {
            line: "X: y".into()
        }
    );
    assert!(matches!(
        error_of(&with(b"0\r\nno colon\r\n\r\n")),
        HttpError::MalformedTrailer { .. }
    ));
}

#[test]
fn close_delimited_bodies_end_at_end_of_file() {
    let mut c = sent();
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\nabc")
        .expect("feed");
    assert_eq!(body(&events), b"abc");
    assert!(!c.reusable());
    assert_eq!(c.feed(b"def"), Ok(vec![Event::Body(b"def".to_vec())]));
    assert_eq!(c.finish(), Ok(vec![Event::End]));
    assert!(!c.reusable());
    assert_eq!(c.finish(), Ok(vec![]));
    assert_eq!(c.feed(b"x"), Err(HttpError::Closed));
    assert_eq!(c.send(&Request::get("/")), Err(HttpError::Closed));
}

// ---- keep-alive ----

#[test]
fn reuse_follows_version_and_connection_tokens() {
    for (head, reusable) in [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            "HTTP/1.1 200 OK\r\nconnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            "HTTP/1.1 200 OK\r\nConnection: x-close\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
            true,
        ),
        (
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            false,
        ),
    ] {
        let mut c = sent();
        let events = c.feed(head.as_bytes()).expect(head);
        assert!(ends(&events), "{head}");
        assert_eq!(c.reusable(), reusable, "{head}");
        assert_eq!(c.send(&Request::get("/")).is_ok(), reusable, "{head}");
    }
}

#[test]
fn two_responses_in_one_feed_are_read_in_turn() {
    let mut c = sent();
    let events = c
        .feed(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        )
        .expect("feed");
    assert_eq!(status(&events), Some(503));
    assert_eq!(events.len(), 2);
    // The second response waits for its request.
    assert_eq!(c.feed(&[]), Ok(vec![]));
    assert!(c.reusable());
    c.send(&Request::get("/")).expect("send");
    let events = c.feed(&[]).expect("kept bytes");
    assert_eq!(status(&events), Some(200));
    assert_eq!(body(&events), b"ok");
    assert!(ends(&events));
}

#[test]
fn kept_bytes_are_read_as_a_head_response_after_a_head_request() {
    let mut c = sent();
    c.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
    )
    .expect("feed");
    c.send(&Request::new(Method::Head, "/")).expect("send");
    let events = c.feed(&[]).expect("kept");
    assert!(ends(&events));
    assert!(c.reusable());
}

#[test]
fn bytes_after_a_closing_response_are_dropped() {
    let mut c = sent();
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\ngarbage")
        .expect("feed");
    assert!(ends(&events));
    assert_eq!(c.feed(b"more garbage"), Ok(vec![]));
    assert_eq!(c.finish(), Ok(vec![]));
}

#[test]
fn an_idle_connection_keeps_at_most_a_head() {
    let limits = Limits {
        max_head: 16,
        ..Limits::default()
    };
    let mut c = conn_with(Abandon::Drain, limits);
    assert_eq!(c.feed(b"HTTP/1.1 408 Req"), Ok(vec![]));
    assert_eq!(
        c.feed(b"u"),
        Err(HttpError::UnsolicitedBytes { received: 17 })
    );
    assert!(!c.reusable());
}

#[test]
fn unsolicited_bytes_then_a_request_are_read_as_its_response() {
    let mut c = conn();
    assert_eq!(c.feed(b"HTTP/1.1 408 Request Timeout\r\n"), Ok(vec![]));
    c.send(&Request::get("/")).expect("send");
    let events = c
        .feed(b"Connection: close\r\nContent-Length: 0\r\n\r\n")
        .expect("feed");
    assert_eq!(status(&events), Some(408));
    assert!(!c.reusable());
}

// ---- call order and errors ----

#[test]
fn one_request_at_a_time() {
    let mut c = sent();
    assert_eq!(c.send(&Request::get("/")), Err(HttpError::Busy));
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n")
        .expect("feed");
    assert_eq!(c.send(&Request::get("/")), Err(HttpError::Busy));
    c.feed(b"x").expect("feed");
    assert!(c.send(&Request::get("/")).is_ok());
}

#[test]
fn errors_are_latched_and_events_before_them_kept() {
    let mut c = sent();
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n")
        .expect("events before the error");
    assert_eq!(status(&events), Some(200));
    assert_eq!(body(&events), b"ab");
    assert!(!c.reusable() && !c.in_flight());
    let error = HttpError::ChunkSizeNotHex { line: "zz".into() };
    assert_eq!(c.feed(b"more"), Err(error.clone()));
    assert_eq!(c.finish(), Err(error.clone()));
    assert_eq!(c.send(&Request::get("/")), Err(error));
    assert_eq!(c.abandon(), AfterAbandon::CloseNow);
}

#[test]
fn end_of_file_says_where_the_response_was_cut() {
    let cut = |bytes: &[u8]| {
        let mut c = sent();
        c.feed(bytes).expect("feed");
        c.finish().expect_err("cut off")
    };
    assert_eq!(cut(b""), HttpError::ClosedBeforeResponse);
    assert_eq!(cut(b"\r\n"), HttpError::ClosedBeforeResponse);
    assert_eq!(
        cut(b"HTTP/1.1 100 Continue\r\n\r\n"),
        HttpError::ClosedBeforeResponse
    );
    assert_eq!(
        cut(b"HTTP/1.1 200 OK\r\n"),
        HttpError::TruncatedHead { received: 17 }
    );
    assert_eq!(
        cut(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        HttpError::TruncatedBody {
            received: 3,
            expected: 10
        }
    );
    assert_eq!(
        cut(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").to_string(),
        "the connection closed after 3 of 10 body bytes"
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for (rest, place) in [
        (&b""[..], "size line"),
        (b"a", "size line"),
        (b"a\r\nabc", "chunk data"),
        (b"3\r\nabc", "CRLF"),
        (b"3\r\nabc\r", "CRLF"),
        (b"0\r\n", "trailer"),
        (b"0\r\nX: y\r\n", "trailer"),
    ] {
        let error = cut(&[chunked.as_slice(), rest].concat());
        assert!(
            matches!(error, HttpError::TruncatedChunked { .. })
                && error.to_string().contains(place),
            "{rest:?}: {error}"
        );
    }
}

// ---- limits ----

#[test]
fn limits_are_checked_before_storing() {
    let limits = Limits {
        max_head: 64,
        max_headers: 2,
        max_chunk_line: 8,
        max_body: 10,
    };
    let run = |bytes: &[u8]| {
        let mut c = conn_with(Abandon::Drain, limits);
        c.send(&Request::get("/")).expect("send");
        let result = c.feed(bytes);
        assert!(c.section.len() <= limits.max_head);
        assert!(c.chunk_line.len() <= limits.max_chunk_line);
        result
    };
    let long = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; 100]].concat();
    assert_eq!(run(&long), Err(HttpError::HeadTooLarge { limit: 64 }));
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        Err(HttpError::TooManyHeaders { limit: 2 })
    );
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"),
        Err(HttpError::BodyTooLarge { limit: 10 })
    );
    assert!(run(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n").is_ok());
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    assert_eq!(
        run(&[chunked.as_slice(), b"1;abcdefgh"].concat()),
        Ok(vec![Event::Head {
            status: 200,
            reason: "OK".into(),
            headers: Headers {
                fields: vec![("Transfer-Encoding".into(), "chunked".into())]
            }
        }])
    );
    let mut c = conn_with(Abandon::Drain, limits);
    c.send(&Request::get("/")).expect("send");
    c.feed(&chunked).expect("head");
    assert_eq!(
        c.feed(b"1;abcdefgh"),
        Err(HttpError::ChunkLineTooLong { limit: 8 })
    );
    let mut c = conn_with(Abandon::Drain, limits);
    c.send(&Request::get("/")).expect("send");
    c.feed(&chunked).expect("head");
    assert_eq!(
        c.feed(b"6\r\nabcdef\r\n5\r\n"),
        Ok(vec![Event::Body(b"abcdef".to_vec())])
    );
    assert_eq!(c.feed(b""), Err(HttpError::BodyTooLarge { limit: 10 }));
    let mut c = conn_with(Abandon::Drain, limits);
    c.send(&Request::get("/")).expect("send");
    c.feed(b"HTTP/1.1 200 OK\r\n\r\n").expect("head");
    // What fits is handed out, then the error.
    assert_eq!(
        c.feed(b"0123456789abc"),
        Ok(vec![Event::Body(b"0123456789".to_vec())])
    );
    assert_eq!(c.finish(), Err(HttpError::BodyTooLarge { limit: 10 }));
    let trailers = [chunked.as_slice(), b"0\r\nX: ", &[b'a'; 100]].concat();
    assert_eq!(run(&trailers).map(|_| ()), Ok(()));
    let mut c = conn_with(Abandon::Drain, limits);
    c.send(&Request::get("/")).expect("send");
    c.feed(&chunked).expect("head");
    assert_eq!(
        c.feed(&trailers[chunked.len()..]),
        Err(HttpError::TrailerTooLarge { limit: 64 })
    );
}

// ---- abandoning ----

#[test]
fn drain_reads_the_rest_of_an_abandoned_body_and_the_next_response_parses() {
    let mut c = conn_with(Abandon::Drain, Limits::default());
    c.send(&Request::get("/eSCL/ScanJobs/1/NextDocument"))
        .expect("send");
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        .expect("feed");
    assert_eq!(body(&events), b"hel");
    assert_eq!(c.abandon(), AfterAbandon::ReadToEnd);
    assert!(c.in_flight());
    assert_eq!(c.feed(b"lo\r\n100\r\n"), Ok(vec![]));
    assert_eq!(c.feed(&[b'x'; 0x100]), Ok(vec![]));
    assert_eq!(c.feed(b"\r\n0\r\n\r\n"), Ok(vec![Event::End]));
    assert!(c.reusable());
    c.send(&Request::get("/eSCL/ScannerStatus")).expect("send");
    let events = c
        .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nIdle")
        .expect("feed");
    assert_eq!(status(&events), Some(200));
    assert_eq!(body(&events), b"Idle");
}

#[test]
fn drain_before_the_head_drops_the_whole_response() {
    let mut c = conn_with(Abandon::Drain, Limits::default());
    c.send(&Request::get("/")).expect("send");
    assert_eq!(c.feed(b"HTTP/1.1 2"), Ok(vec![]));
    assert_eq!(c.abandon(), AfterAbandon::ReadToEnd);
    assert_eq!(
        c.feed(b"00 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\n"),
        Ok(vec![Event::End])
    );
    c.send(&Request::get("/")).expect("send");
    let events = c.feed(b"Content-Length: 0\r\n\r\n").expect("feed");
    assert_eq!(status(&events), Some(404));
}

#[test]
fn drain_checks_the_framing_it_drops() {
    let mut c = conn_with(Abandon::Drain, Limits::default());
    c.send(&Request::get("/")).expect("send");
    c.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .expect("head");
    assert_eq!(c.abandon(), AfterAbandon::ReadToEnd);
    assert_eq!(
        c.feed(b"zz\r\n"),
        Err(HttpError::ChunkSizeNotHex { line: "zz".into() })
    );
    assert!(!c.reusable());
}

#[test]
fn close_gives_the_connection_up() {
    let mut c = conn_with(Abandon::Close, Limits::default());
    assert_eq!(c.policy(), Abandon::Close);
    c.send(&Request::get("/")).expect("send");
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
        .expect("feed");
    assert_eq!(c.abandon(), AfterAbandon::CloseNow);
    assert!(!c.reusable() && !c.in_flight());
    assert_eq!(c.feed(b"more"), Err(HttpError::Closed));
    assert_eq!(c.send(&Request::get("/")), Err(HttpError::Closed));
    assert_eq!(c.finish(), Ok(vec![]));
    assert_eq!(c.abandon(), AfterAbandon::Nothing);
}

#[test]
fn a_body_that_runs_to_the_close_is_never_drained() {
    let mut c = conn_with(Abandon::Drain, Limits::default());
    c.send(&Request::get("/")).expect("send");
    c.feed(b"HTTP/1.0 200 OK\r\n\r\npartial").expect("feed");
    assert_eq!(c.abandon(), AfterAbandon::CloseNow);
    assert!(!c.reusable());
}

#[test]
fn nothing_to_abandon_when_idle() {
    let mut c = conn_with(Abandon::Drain, Limits::default());
    assert_eq!(c.abandon(), AfterAbandon::Nothing);
    c.send(&Request::get("/")).expect("send");
    c.feed(b"HTTP/1.1 204 No Content\r\n\r\n").expect("feed");
    assert_eq!(c.abandon(), AfterAbandon::Nothing);
    assert!(c.reusable());
}

#[test]
fn presets_for_tcp_and_ipp_usb() {
    let tcp = Connection::tcp(&base(), PortInHost::Always).expect("tcp");
    assert_eq!(tcp.policy(), Abandon::Close);
    assert_eq!(tcp.host().value(), "10.0.0.5:8080");
    assert_eq!(tcp.limits(), Limits::default());
    let usb = Connection::ipp_usb();
    assert_eq!(usb.policy(), Abandon::Drain);
    assert_eq!(usb.host().value(), "localhost");
}

#[test]
fn fuzz_one_takes_anything() {
    fuzz_one(&[]);
    fuzz_one(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No\r\n\r\n");
    fuzz_one(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n");
    fuzz_one(&[b'\n'; 5000]);
    fuzz_one(b"HTTP/1.1 200 OK\r\n\r\n");
}
