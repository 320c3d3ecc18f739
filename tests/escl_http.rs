//! The eSCL HTTP framing on recorded exchanges: the seed corpus of the
//! `http_response` fuzz target (`fuzz/corpus/http_response/`), which holds
//! responses as real devices send them (201 with Location, chunked page
//! bodies, 503 with Retry-After, 404, lowercase fields, HTTP/1.0 bodies that
//! run to the close, two responses back to back) and a few malformed ones.
//!
//! Each file is checked for what it says, and every file for the properties
//! of a push parser: every split into two feeds, and a byte at a time, give
//! what one feed gives; every prefix followed by end of file ends in a clear
//! error (or a complete exchange where the prefix is one) and never in data
//! the whole file does not hold.

use std::path::Path;

use streamscan::device::escl::http::{
    Abandon, AfterAbandon, Connection, Event, Host, HttpError, Limits, Method, PortInHost, Request,
    request_target, resolve_location,
};
use url::Url;

/// The recorded response file `name`.
fn recorded(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/http_response")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every recorded file with the number of requests it answers.
const FILES: [(&str, usize); 12] = [
    ("created_201_location.http", 1),
    ("next_document_chunked_jpeg.http", 1),
    ("busy_503_retry_after.http", 1),
    ("no_more_pages_404.http", 1),
    ("status_200_content_length.http", 1),
    ("status_200_lowercase_headers.http", 1),
    ("http10_close_delimited.http", 1),
    ("continue_100_then_201.http", 1),
    ("keepalive_503_then_200.http", 2),
    ("chunked_trailer_and_close.http", 1),
    ("bad_chunk_size.http", 1),
    ("bare_lf_chunked.http", 1),
];

/// One thing a replay gave: an event (bodies joined) or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Event(Event),
    Error(HttpError),
}

/// What a call gave, added to `steps` with bodies joined; false on error.
fn record(result: Result<Vec<Event>, HttpError>, steps: &mut Vec<Step>) -> bool {
    match result {
        Ok(events) => {
            for event in events {
                match (steps.last_mut(), event) {
                    (Some(Step::Event(Event::Body(last))), Event::Body(more)) => {
                        last.extend_from_slice(&more)
                    }
                    (_, event) => steps.push(Step::Event(event)),
                }
            }
            true
        }
        Err(error) => {
            steps.push(Step::Error(error));
            false
        }
    }
}

/// Feeds `pieces` to a fresh IPP-USB connection that sends up to
/// `requests` GETs (each once the last response ended and the connection
/// is reusable), then end of file.
fn replay<'a>(requests: usize, pieces: impl IntoIterator<Item = &'a [u8]>) -> Vec<Step> {
    let mut connection = Connection::ipp_usb();
    let mut steps = Vec::new();
    let mut sent = 0;
    let mut pieces = pieces.into_iter();
    loop {
        while sent < requests && connection.reusable() {
            sent += 1;
            connection
                .send(&Request::get("/eSCL/ScannerStatus"))
                .expect("send");
            if !record(connection.feed(&[]), &mut steps) {
                return steps;
            }
        }
        let done = sent == requests && !connection.in_flight();
        match pieces.next() {
            Some(piece) if !done => {
                if !record(connection.feed(piece), &mut steps) {
                    return steps;
                }
            }
            _ => break,
        }
    }
    record(connection.finish(), &mut steps);
    steps
}

fn whole(name: &str, requests: usize) -> Vec<Step> {
    replay(requests, [recorded(name).as_slice()])
}

/// The head of response `n` (from 0) among `steps`.
fn head(steps: &[Step], n: usize) -> (u16, String, streamscan::device::escl::http::Headers) {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Event(Event::Head {
                status,
                reason,
                headers,
            }) => Some((*status, reason.clone(), headers.clone())),
            _ => None,
        })
        .nth(n)
        .unwrap_or_else(|| panic!("no head {n} in {steps:?}"))
}

fn bodies(steps: &[Step]) -> Vec<Vec<u8>> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Event(Event::Body(b)) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn ends(steps: &[Step]) -> usize {
    steps
        .iter()
        .filter(|s| **s == Step::Event(Event::End))
        .count()
}

/// The JPEG-like page the recorded chunked and close-delimited responses
/// carry: SOI, a JFIF APP0, `n` bytes of made-up scan data, EOI.
fn jpeg_like(n: usize) -> Vec<u8> {
    let mut page = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    page.extend_from_slice(b"JFIF\x00\x01\x01\x01\x01\x2c\x01\x2c\x00\x00");
    page.extend((0..n).map(|i| ((i * 31 + 7) % 251) as u8));
    page.extend_from_slice(&[0xFF, 0xD9]);
    page
}

// ---- each recorded exchange ----

#[test]
fn created_201_has_an_empty_body_and_a_location_on_the_base_host() {
    let steps = whole("created_201_location.http", 1);
    let (status, reason, headers) = head(&steps, 0);
    assert_eq!((status, reason.as_str()), (201, "Created"));
    assert!(bodies(&steps).is_empty());
    assert_eq!(steps.last(), Some(&Step::Event(Event::End)));
    let base = Url::parse("http://10.0.0.5:8080/eSCL/").expect("base");
    let job = resolve_location(&base, headers.get("location").expect("Location")).expect("job");
    assert_eq!(
        job.as_str(),
        "http://10.0.0.5:8080/eSCL/ScanJobs/4f0d2a3e-9a1b-4c1e-8f00-3c2b1a0e5d77"
    );
    assert_eq!(
        request_target(&job),
        "/eSCL/ScanJobs/4f0d2a3e-9a1b-4c1e-8f00-3c2b1a0e5d77"
    );
}

#[test]
fn next_document_page_arrives_in_many_chunks_and_reassembles() {
    let bytes = recorded("next_document_chunked_jpeg.http");
    let mut connection = Connection::tcp(
        &Url::parse("http://192.168.1.77/eSCL/").expect("base"),
        PortInHost::Always,
    )
    .expect("connection");
    let request = Request::get("/eSCL/ScanJobs/1/NextDocument");
    let written = connection.send(&request).expect("send");
    assert!(
        written.starts_with(
            b"GET /eSCL/ScanJobs/1/NextDocument HTTP/1.1\r\nHost: 192.168.1.77:80\r\n"
        )
    );
    // Read as a transport would, 512 bytes at a time: the body comes out as
    // it arrives, never held whole.
    let mut page = Vec::new();
    let mut body_events = 0;
    let mut ended = false;
    for piece in bytes.chunks(512) {
        for event in connection.feed(piece).expect("feed") {
            match event {
                Event::Head {
                    status, headers, ..
                } => {
                    assert_eq!(status, 200);
                    assert_eq!(headers.get("content-type"), Some("image/jpeg"));
                }
                Event::Body(b) => {
                    assert!(b.len() <= 512);
                    body_events += 1;
                    page.extend_from_slice(&b);
                }
                Event::End => ended = true,
            }
        }
    }
    assert!(ended);
    assert!(body_events >= 6, "{body_events}");
    assert_eq!(page, jpeg_like(3000));
    assert!(connection.reusable());
}

#[test]
fn busy_503_says_when_to_retry() {
    let steps = whole("busy_503_retry_after.http", 1);
    let (status, reason, headers) = head(&steps, 0);
    assert_eq!((status, reason.as_str()), (503, "Service Unavailable"));
    assert_eq!(headers.get("Retry-After"), Some("2"));
    assert_eq!(ends(&steps), 1);
    assert!(bodies(&steps).is_empty());
}

#[test]
fn no_more_pages_404_has_a_small_body() {
    let steps = whole("no_more_pages_404.http", 1);
    assert_eq!(head(&steps, 0).0, 404);
    assert_eq!(
        bodies(&steps),
        [b"<html><body>Not Found</body></html>\n".to_vec()]
    );
    assert_eq!(steps.last(), Some(&Step::Event(Event::End)));
}

#[test]
fn content_length_and_lowercase_fields_give_the_same_document() {
    let upper = whole("status_200_content_length.http", 1);
    let lower = whole("status_200_lowercase_headers.http", 1);
    assert_eq!(bodies(&upper), bodies(&lower));
    let (_, _, headers) = head(&lower, 0);
    assert_eq!(headers.get("Content-Type"), Some("text/xml"));
    assert_eq!(headers.iter().next(), Some(("content-type", "text/xml")));
    let document = String::from_utf8(bodies(&upper).concat()).expect("utf-8");
    assert!(document.contains("<pwg:State>Idle</pwg:State>"));
    assert!(document.ends_with("</scan:ScannerStatus>\n"));
}

#[test]
fn http10_body_runs_to_the_close_and_the_connection_is_spent() {
    let bytes = recorded("http10_close_delimited.http");
    let mut connection = Connection::ipp_usb();
    connection.send(&Request::get("/")).expect("send");
    let events = connection.feed(&bytes).expect("feed");
    assert!(!events.contains(&Event::End));
    assert!(!connection.reusable());
    assert_eq!(connection.finish(), Ok(vec![Event::End]));
    assert_eq!(
        bodies(&whole("http10_close_delimited.http", 1)),
        [jpeg_like(600)]
    );
    assert_eq!(connection.send(&Request::get("/")), Err(HttpError::Closed));
}

#[test]
fn continue_100_is_skipped() {
    let steps = whole("continue_100_then_201.http", 1);
    assert_eq!(head(&steps, 0).0, 201);
    assert_eq!(steps.len(), 2, "{steps:?}");
}

#[test]
fn back_to_back_responses_are_read_one_per_request() {
    let steps = whole("keepalive_503_then_200.http", 2);
    assert_eq!(head(&steps, 0).0, 503);
    assert_eq!(head(&steps, 1).0, 200);
    assert_eq!(ends(&steps), 2);
    // The start of a page: SOI and the JFIF segment, in two chunks.
    assert_eq!(bodies(&steps), [jpeg_like(0)[..20].to_vec()]);
    // With only one request sent, the second response waits.
    let steps = whole("keepalive_503_then_200.http", 1);
    assert_eq!(ends(&steps), 1);
}

#[test]
fn chunk_extensions_and_trailers_are_dropped_and_close_is_heard() {
    let bytes = recorded("chunked_trailer_and_close.http");
    let mut connection = Connection::ipp_usb();
    connection.send(&Request::get("/")).expect("send");
    let events = connection.feed(&bytes).expect("feed");
    assert_eq!(events.last(), Some(&Event::End));
    let body: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            Event::Body(b) => Some(b.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    assert_eq!(body, b"%PDF-1.4\n");
    assert!(!connection.reusable());
}

#[test]
fn malformed_chunked_framing_says_what_is_wrong() {
    let steps = whole("bad_chunk_size.http", 1);
    match steps.last() {
        Some(Step::Error(e)) => {
            assert_eq!(e.to_string(), "chunk size line `zz` is not hexadecimal")
        }
        other => panic!("{other:?}"),
    }
    let steps = whole("bare_lf_chunked.http", 1);
    match steps.last() {
        Some(Step::Error(e)) => {
            assert_eq!(
                e.to_string(),
                "chunked framing line `5` ends in a bare LF, not CRLF"
            )
        }
        other => panic!("{other:?}"),
    }
}

// ---- properties of every recorded file ----

#[test]
fn every_split_point_gives_what_one_feed_gives() {
    for (name, requests) in FILES {
        let bytes = recorded(name);
        let expected = replay(requests, [bytes.as_slice()]);
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(
                replay(requests, [a, b]),
                expected,
                "{name} split at {split}"
            );
        }
    }
}

#[test]
fn a_byte_at_a_time_gives_what_one_feed_gives() {
    for (name, requests) in FILES {
        let bytes = recorded(name);
        let expected = replay(requests, [bytes.as_slice()]);
        assert_eq!(replay(requests, bytes.chunks(1)), expected, "{name}");
        assert_eq!(replay(requests, bytes.chunks(3)), expected, "{name}");
    }
}

/// Whether `short` is what `full` starts with: the same steps, the last
/// body possibly cut short.
fn starts_like(short: &[Step], full: &[Step]) -> bool {
    short.len() <= full.len()
        && short.iter().zip(full).enumerate().all(|(i, (s, f))| {
            s == f
                || (i + 1 == short.len()
                    && matches!((s, f), (Step::Event(Event::Body(s)), Step::Event(Event::Body(f))) if f.starts_with(s)))
        })
}

#[test]
fn every_prefix_then_end_of_file_fails_clearly_or_is_whole() {
    for (name, requests) in FILES {
        let bytes = recorded(name);
        let full = replay(requests, [bytes.as_slice()]);
        let full_ok = !matches!(full.last(), Some(Step::Error(_)));
        let close_delimited = name.starts_with("http10");
        for cut in 0..=bytes.len() {
            let steps = replay(requests, [&bytes[..cut]]);
            let (last, before) = steps.split_last().expect("a step");
            match last {
                Step::Error(error) => {
                    assert!(!error.to_string().is_empty());
                    assert!(starts_like(before, &full), "{name} cut at {cut}: {steps:?}");
                }
                Step::Event(Event::End) => {
                    assert!(
                        cut == bytes.len() || close_delimited,
                        "{name} complete when cut at {cut}"
                    );
                    assert!(
                        starts_like(&steps, &full) || close_delimited,
                        "{name} at {cut}"
                    );
                    assert!(full_ok, "{name}");
                }
                other => panic!("{name} cut at {cut} ends in {other:?}"),
            }
        }
    }
}

#[test]
fn a_cut_head_and_a_cut_body_say_so() {
    let bytes = recorded("no_more_pages_404.http");
    let steps = replay(1, [&bytes[..20]]);
    assert_eq!(
        steps,
        [Step::Error(HttpError::TruncatedHead { received: 20 })]
    );
    let steps = replay(1, [&bytes[..bytes.len() - 5]]);
    assert!(matches!(
        steps.last(),
        Some(Step::Error(HttpError::TruncatedBody {
            expected: 36,
            received: 31
        }))
    ));
    let steps = replay(1, [&b""[..]]);
    assert_eq!(steps, [Step::Error(HttpError::ClosedBeforeResponse)]);
}

// ---- giving up on a page ----

#[test]
fn over_ipp_usb_an_abandoned_page_is_drained_and_the_next_answer_is_clean() {
    let page = recorded("next_document_chunked_jpeg.http");
    let status = recorded("status_200_content_length.http");
    let mut connection = Connection::ipp_usb();
    assert_eq!(connection.policy(), Abandon::Drain);
    connection
        .send(&Request::get("/eSCL/ScanJobs/1/NextDocument"))
        .expect("send");
    let (first, rest) = page.split_at(700);
    let events = connection.feed(first).expect("feed");
    assert!(matches!(events[0], Event::Head { status: 200, .. }));
    assert_eq!(connection.abandon(), AfterAbandon::ReadToEnd);
    // The device keeps sending the page; every byte is read and dropped.
    let mut drained = Vec::new();
    for piece in rest.chunks(100) {
        drained.extend(connection.feed(piece).expect("drain"));
    }
    assert_eq!(drained, [Event::End]);
    assert!(connection.reusable());
    connection
        .send(&Request::get("/eSCL/ScannerStatus"))
        .expect("send");
    let events = connection.feed(&status).expect("status");
    assert!(matches!(events[0], Event::Head { status: 200, .. }));
    assert_eq!(events.last(), Some(&Event::End));
}

#[test]
fn over_tcp_an_abandoned_page_closes_the_connection() {
    let page = recorded("next_document_chunked_jpeg.http");
    let base = Url::parse("http://192.168.1.77/eSCL/").expect("base");
    let mut connection = Connection::tcp(&base, PortInHost::WhenNotDefault).expect("tcp");
    assert_eq!(connection.host().value(), "192.168.1.77");
    connection
        .send(&Request::get("/eSCL/ScanJobs/1/NextDocument"))
        .expect("send");
    connection.feed(&page[..700]).expect("feed");
    assert_eq!(connection.abandon(), AfterAbandon::CloseNow);
    assert!(!connection.reusable());
    assert_eq!(connection.feed(&page[700..]), Err(HttpError::Closed));
}

#[test]
fn a_closing_policy_with_custom_limits_and_host() {
    let limits = Limits {
        max_body: 100,
        ..Limits::default()
    };
    let host = Host::new("localhost", Some(60000)).expect("host");
    let mut connection = Connection::new(host, Abandon::Close, limits);
    let written = connection
        .send(&Request::new(Method::Get, "/eSCL/ScannerCapabilities"))
        .expect("send");
    assert!(String::from_utf8_lossy(&written).contains("\r\nHost: localhost:60000\r\n"));
    let page = recorded("next_document_chunked_jpeg.http");
    let steps = {
        let mut steps = Vec::new();
        record(connection.feed(&page), &mut steps);
        record(connection.finish(), &mut steps);
        steps
    };
    // The chunk that would pass the limit fails at its size line, after
    // 1 + 2 + 7 + 16 + 64 bytes.
    assert_eq!(bodies(&steps).concat().len(), 90);
    assert_eq!(
        steps.last(),
        Some(&Step::Error(HttpError::BodyTooLarge { limit: 100 }))
    );
}
