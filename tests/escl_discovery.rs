//! eSCL discovery over multicast DNS, on the loopback interface only: a
//! service announced by [`Advertiser`] is found by [`browse`] with its
//! model, UUID and base URL, and a cancel ends the browse at once.
//!
//! Needs `STREAMSCAN_MDNS=lo` (`.ci/run` sets it) so that nothing is sent
//! on a real network; the test fails, and says so, when it is not set.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use streamscan::clock::CancelToken;
use streamscan::device::escl::discovery::{Advertiser, browse, restricted_interfaces};

/// Fails the test unless mDNS is restricted to loopback.
fn loopback_only() {
    let names = restricted_interfaces().unwrap_or_default();
    assert!(
        names == ["lo"],
        "these tests multicast: run them with STREAMSCAN_MDNS=lo (as .ci/run does), not on a real network (got {names:?})"
    );
}

/// A UUID of this run only, so concurrent runs do not see each other.
fn unique_uuid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "5ca77e57-0000-4000-8000-{:012x}",
        (nanos ^ u128::from(std::process::id())) & 0xffff_ffff_ffff
    )
}

#[test]
fn an_announced_scanner_is_found_on_loopback() {
    loopback_only();
    let uuid = unique_uuid();
    let _announced = Advertiser::announce(
        &format!("Streamscan test {uuid}"),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        18_080,
        &uuid,
        "Streamscan Test Scanner",
    )
    .expect("announced");
    let cancel = CancelToken::new();
    let stop = cancel.clone();
    let mut found = None;
    // Browsing ends as soon as our service is seen (the cancel), or
    // after the window when it never is.
    browse(Duration::from_secs(20), &cancel, |service| {
        if service.uuid.as_deref() == Some(uuid.as_str()) {
            found = Some(service.clone());
            stop.cancel();
        }
    })
    .expect("browse");
    let service = found.expect("the announced scanner was found");
    assert_eq!(service.name, "Streamscan Test Scanner");
    assert_eq!(service.base_urls, vec!["http://127.0.0.1:18080/eSCL/"]);
    assert_eq!(service.device_id(), format!("escl:uuid:{uuid}"));
    assert_eq!(service.duplex, Some(true));
    assert!(service.sources.contains(&String::from("adf")));
}

#[test]
fn a_cancelled_browse_returns_at_once() {
    loopback_only();
    let cancel = CancelToken::new();
    cancel.cancel();
    let mut calls = 0;
    // A window far longer than any test: only the cancel ends it.
    let browsing = std::thread::spawn({
        let cancel = cancel.clone();
        move || browse(Duration::from_secs(3600), &cancel, |_| calls += 1).map(|_| calls)
    });
    let calls = browsing.join().expect("browse returned").expect("browse");
    assert_eq!(calls, 0);
}
