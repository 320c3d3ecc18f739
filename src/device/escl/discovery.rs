//! Finding eSCL scanners on the network: DNS-SD services `_uscan._tcp`
//! (plain HTTP) and `_uscans._tcp` (HTTPS), browsed over multicast DNS.
//!
//! The part that knows eSCL is plain data in, data out: an
//! [`Advertisement`] (what one mDNS answer said) becomes an
//! [`EsclService`] (base URL from the `rs` TXT key, make and model, UUID,
//! what the device says it can do), and a [`ServiceBook`] merges the
//! answers that are one device (IPv4 and IPv6, `_uscan` and `_uscans`, a
//! daemon's loopback service), keyed by UUID. [`browse`] and [`Advertiser`]
//! are the transport: the only code here that touches the network, through
//! the `mdns-sd` crate.
//!
//! Setting `STREAMSCAN_MDNS` to a comma-separated list of interface names
//! (`lo` in the test suite) restricts both to those interfaces, so tests
//! never multicast on a real network.

use crate::clock::CancelToken;
use mdns_sd::{IfKind, ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The DNS-SD service type of eSCL over HTTP.
pub const SERVICE_HTTP: &str = "_uscan._tcp.local.";
/// The DNS-SD service type of eSCL over HTTPS.
pub const SERVICE_HTTPS: &str = "_uscans._tcp.local.";
/// The environment variable that restricts mDNS to some interfaces.
pub const MDNS_INTERFACES: &str = "STREAMSCAN_MDNS";

/// One mDNS answer about one service instance, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// True for `_uscans._tcp` (HTTPS).
    pub secure: bool,
    /// The instance name (`HP LaserJet MFP M426fdn [A1B2C3]`).
    pub instance: String,
    /// The host name it gave (`printer.local.`).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Its addresses, each with the interface index an IPv6 link-local
    /// address needs (`None` when not known).
    pub addresses: Vec<(IpAddr, Option<u32>)>,
    /// The TXT record's keys and values.
    pub txt: Vec<(String, String)>,
}

/// An eSCL scanner as discovery knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsclService {
    /// The device's UUID (TXT `UUID`), lower case without braces, when it
    /// gave one: the key that survives a changed address.
    pub uuid: Option<String>,
    /// The name to show: the make and model (TXT `ty`), else the instance
    /// name.
    pub name: String,
    /// Base URLs to reach it, best first: HTTPS before HTTP, IPv4 before
    /// IPv6, each ending in `/`.
    pub base_urls: Vec<String>,
    /// Document formats it says it sends (TXT `pdl`, MIME types).
    pub formats: Vec<String>,
    /// Colour spaces (TXT `cs`: `binary`, `grayscale`, `color`).
    pub colors: Vec<String>,
    /// Input sources (TXT `is`: `platen`, `adf`).
    pub sources: Vec<String>,
    /// Whether the feeder scans both sides (TXT `duplex`), when said.
    pub duplex: Option<bool>,
    /// The device's own web page (TXT `adminurl`), when given.
    pub admin_url: Option<String>,
}

impl EsclService {
    /// What an advertisement says; `None` when it gives no address to
    /// reach the device.
    pub fn from_advertisement(ad: &Advertisement) -> Option<EsclService> {
        let txt = |key: &str| {
            ad.txt
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().to_string())
        };
        let list = |key: &str| {
            txt(key)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        // `rs` missing: the resource is `eSCL`; empty: the root.
        let resource = txt("rs").unwrap_or_else(|| String::from("eSCL"));
        let resource = resource.trim_matches('/');
        let path = if resource.is_empty() {
            String::from("/")
        } else {
            format!("/{resource}/")
        };
        let scheme = if ad.secure { "https" } else { "http" };
        let mut addresses = ad.addresses.clone();
        // IPv4 first, then IPv6; a stable order within each.
        addresses.sort_by_key(|(ip, _)| (ip.is_ipv6(), *ip));
        addresses.dedup();
        let base_urls: Vec<String> = addresses
            .iter()
            .map(|(ip, scope)| {
                let host = match ip {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => match scope {
                        Some(index) if is_link_local(ip) => format!("[{v6}%25{index}]"),
                        _ => format!("[{v6}]"),
                    },
                };
                format!("{scheme}://{host}:{}{path}", ad.port)
            })
            .collect();
        if base_urls.is_empty() {
            return None;
        }
        let uuid = txt("UUID")
            .map(|u| {
                u.trim_matches(|c| c == '{' || c == '}')
                    .to_ascii_lowercase()
            })
            .filter(|u| !u.is_empty());
        let instance = ad
            .instance
            .split("._uscan")
            .next()
            .unwrap_or(&ad.instance)
            .to_string();
        let duplex = txt("duplex").and_then(|d| match d.to_ascii_uppercase().as_str() {
            "T" | "TRUE" => Some(true),
            "F" | "FALSE" => Some(false),
            _ => None,
        });
        Some(EsclService {
            uuid,
            name: txt("ty").filter(|t| !t.is_empty()).unwrap_or(instance),
            base_urls,
            formats: list("pdl"),
            colors: list("cs"),
            sources: list("is"),
            duplex,
            admin_url: txt("adminurl").filter(|u| !u.is_empty()),
        })
    }

    /// The device id to show and save: `escl:uuid:<UUID>` when the UUID
    /// is known (it survives a changed address), else `escl:<base URL>`.
    pub fn device_id(&self) -> String {
        match &self.uuid {
            Some(uuid) => format!("escl:uuid:{uuid}"),
            None => format!("escl:{}", self.base_urls[0]),
        }
    }

    /// Adds what `other` (the same device, found another way) knows.
    fn absorb(&mut self, other: EsclService) {
        for url in other.base_urls {
            if !self.base_urls.contains(&url) {
                self.base_urls.push(url);
            }
        }
        // HTTPS first, then IPv4 before IPv6, keeping the order otherwise.
        self.base_urls
            .sort_by_key(|u| (!u.starts_with("https:"), u.contains('[')));
        for (mine, theirs) in [
            (&mut self.formats, other.formats),
            (&mut self.colors, other.colors),
            (&mut self.sources, other.sources),
        ] {
            for value in theirs {
                if !mine.contains(&value) {
                    mine.push(value);
                }
            }
        }
        self.duplex = self.duplex.or(other.duplex);
        self.admin_url = self.admin_url.take().or(other.admin_url);
    }
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// The scanners found so far, one entry per device.
#[derive(Debug, Default)]
pub struct ServiceBook {
    /// Keyed by UUID, or by name and first URL for devices without one.
    services: BTreeMap<String, EsclService>,
}

impl ServiceBook {
    /// An empty book.
    pub fn new() -> ServiceBook {
        ServiceBook::default()
    }

    /// Takes in an answer; returns the device's merged entry when the
    /// answer added something (a new device, or a new way to reach one).
    pub fn add(&mut self, ad: &Advertisement) -> Option<&EsclService> {
        let service = EsclService::from_advertisement(ad)?;
        let key = match &service.uuid {
            Some(uuid) => uuid.clone(),
            None => format!("{}\u{0}{}", service.name, service.base_urls[0]),
        };
        match self.services.get_mut(&key) {
            Some(known) => {
                let before = known.clone();
                known.absorb(service);
                if *known == before {
                    return None;
                }
            }
            None => {
                self.services.insert(key.clone(), service);
            }
        }
        self.services.get(&key)
    }

    /// Every device found.
    pub fn services(&self) -> impl Iterator<Item = &EsclService> {
        self.services.values()
    }
}

/// Why mDNS could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The mDNS daemon could not start or browse.
    #[error("multicast DNS is not available: {0}")]
    Mdns(String),
}

fn mdns_error(e: mdns_sd::Error) -> DiscoveryError {
    DiscoveryError::Mdns(e.to_string())
}

/// The interfaces `STREAMSCAN_MDNS` names, when it is set.
pub fn restricted_interfaces() -> Option<Vec<String>> {
    let value = std::env::var(MDNS_INTERFACES).ok()?;
    let names: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// An mDNS daemon, restricted as `STREAMSCAN_MDNS` says.
fn daemon() -> Result<ServiceDaemon, DiscoveryError> {
    let daemon = ServiceDaemon::new().map_err(mdns_error)?;
    if let Some(names) = restricted_interfaces() {
        daemon.disable_interface(IfKind::All).map_err(mdns_error)?;
        for name in names {
            daemon
                .enable_interface(IfKind::Name(name))
                .map_err(mdns_error)?;
        }
    }
    Ok(daemon)
}

/// Browses both eSCL service types for `window` (or until `cancel`),
/// calling `found` with a device's merged entry whenever an answer adds
/// something to it.
pub fn browse(
    window: Duration,
    cancel: &CancelToken,
    mut found: impl FnMut(&EsclService),
) -> Result<(), DiscoveryError> {
    let daemon = daemon()?;
    let (tx, rx) = crossbeam_channel::unbounded();
    for (ty, secure) in [(SERVICE_HTTP, false), (SERVICE_HTTPS, true)] {
        let events = daemon.browse(ty).map_err(mdns_error)?;
        let tx = tx.clone();
        std::thread::Builder::new()
            .name(String::from("streamscan-mdns"))
            .spawn(move || {
                // Ends when the daemon shuts down and drops its sender.
                while let Ok(event) = events.recv() {
                    if tx.send(Some((event, secure))).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| DiscoveryError::Mdns(e.to_string()))?;
    }
    // A cancel wakes the wait at once.
    let wake = tx.clone();
    cancel.on_cancel(move || {
        let _ = wake.send(None);
    });
    drop(tx);
    let mut book = ServiceBook::new();
    let deadline = Instant::now() + window;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || cancel.is_cancelled() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok(Some((ServiceEvent::ServiceResolved(service), secure))) => {
                let ad = Advertisement {
                    secure,
                    instance: service.fullname.clone(),
                    host: service.host.clone(),
                    port: service.port,
                    addresses: service.addresses.iter().map(scoped).collect(),
                    txt: service
                        .txt_properties
                        .iter()
                        .map(|p| (p.key().to_string(), p.val_str().to_string()))
                        .collect(),
                };
                if let Some(entry) = book.add(&ad) {
                    found(entry);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    // Shutting down ends the forwarding threads.
    let _ = daemon.shutdown();
    Ok(())
}

fn scoped(ip: &ScopedIp) -> (IpAddr, Option<u32>) {
    match ip {
        ScopedIp::V6(v6) => (IpAddr::V6(*v6.addr()), Some(v6.scope_id().index)),
        other => (other.to_ip_addr(), None),
    }
}

/// A service announced on the network (by `serve-escl --advertise`, and
/// by tests); withdrawn when dropped.
pub struct Advertiser {
    daemon: ServiceDaemon,
    fullname: String,
}

impl Advertiser {
    /// Announces an eSCL scanner named `instance` at `address:port`,
    /// resource `rs`, with `uuid` and the model `ty`.
    pub fn announce(
        instance: &str,
        address: IpAddr,
        port: u16,
        uuid: &str,
        model: &str,
    ) -> Result<Advertiser, DiscoveryError> {
        let daemon = daemon()?;
        let host = format!("{}.local.", uuid.replace('-', ""));
        let txt = [
            ("rs", "eSCL"),
            ("ty", model),
            ("UUID", uuid),
            ("pdl", "image/jpeg,image/png,application/pdf"),
            ("cs", "binary,grayscale,color"),
            ("is", "platen,adf"),
            ("duplex", "T"),
            ("vers", "2.63"),
        ];
        let info = ServiceInfo::new(
            SERVICE_HTTP,
            instance,
            &host,
            address.to_string().as_str(),
            port,
            &txt[..],
        )
        .map_err(mdns_error)?;
        let fullname = info.get_fullname().to_string();
        daemon.register(info).map_err(mdns_error)?;
        Ok(Advertiser { daemon, fullname })
    }
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ad(
        secure: bool,
        addresses: Vec<(IpAddr, Option<u32>)>,
        txt: &[(&str, &str)],
    ) -> Advertisement {
        Advertisement {
            secure,
            instance: String::from("Office MFP._uscan._tcp.local."),
            host: String::from("office.local."),
            port: if secure { 443 } else { 8080 },
            addresses,
            txt: txt
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20));

    #[test]
    fn the_resource_key_makes_the_base_url() {
        let url = |txt: &[(&str, &str)]| {
            EsclService::from_advertisement(&ad(false, vec![(V4, None)], txt))
                .expect("a service")
                .base_urls[0]
                .clone()
        };
        assert_eq!(url(&[]), "http://192.168.1.20:8080/eSCL/");
        assert_eq!(url(&[("rs", "")]), "http://192.168.1.20:8080/");
        assert_eq!(url(&[("rs", "/scan/")]), "http://192.168.1.20:8080/scan/");
        assert_eq!(url(&[("RS", "eSCL")]), "http://192.168.1.20:8080/eSCL/");
    }

    #[test]
    fn link_local_ipv6_carries_its_interface_and_ipv4_comes_first() {
        let link_local = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4));
        let global = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7));
        let service = EsclService::from_advertisement(&ad(
            false,
            vec![(link_local, Some(3)), (global, Some(3)), (V4, None)],
            &[],
        ))
        .expect("a service");
        assert_eq!(
            service.base_urls,
            vec![
                "http://192.168.1.20:8080/eSCL/",
                "http://[2001:db8::7]:8080/eSCL/",
                "http://[fe80::1:2:3:4%253]:8080/eSCL/",
            ]
        );
    }

    #[test]
    fn txt_keys_describe_the_device() {
        let service = EsclService::from_advertisement(&ad(
            false,
            vec![(V4, None)],
            &[
                ("ty", "HP LaserJet MFP M426fdn"),
                ("UUID", "{A1B2C3D4-0000-1111-2222-333344445555}"),
                ("pdl", "application/pdf, image/jpeg"),
                ("cs", "color,grayscale,binary"),
                ("is", "platen,adf"),
                ("duplex", "T"),
                ("adminurl", "http://192.168.1.20/"),
            ],
        ))
        .expect("a service");
        assert_eq!(service.name, "HP LaserJet MFP M426fdn");
        assert_eq!(
            service.uuid.as_deref(),
            Some("a1b2c3d4-0000-1111-2222-333344445555")
        );
        assert_eq!(
            service.device_id(),
            "escl:uuid:a1b2c3d4-0000-1111-2222-333344445555"
        );
        assert_eq!(service.formats, vec!["application/pdf", "image/jpeg"]);
        assert_eq!(service.sources, vec!["platen", "adf"]);
        assert_eq!(service.duplex, Some(true));
        // Without a model or UUID: the instance name and the URL.
        let bare =
            EsclService::from_advertisement(&ad(false, vec![(V4, None)], &[])).expect("a service");
        assert_eq!(bare.name, "Office MFP");
        assert_eq!(bare.device_id(), "escl:http://192.168.1.20:8080/eSCL/");
        assert_eq!(bare.duplex, None);
        // No address: nothing to reach.
        assert_eq!(
            EsclService::from_advertisement(&ad(false, vec![], &[])),
            None
        );
    }

    #[test]
    fn one_device_found_several_ways_is_one_entry_preferring_https() {
        let uuid = [("UUID", "1234"), ("ty", "Scanner")];
        let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9));
        let mut book = ServiceBook::new();
        assert!(book.add(&ad(false, vec![(V4, None)], &uuid)).is_some());
        assert!(
            book.add(&ad(false, vec![(V4, None)], &uuid)).is_none(),
            "nothing new"
        );
        let merged = book
            .add(&ad(true, vec![(v6, None)], &uuid))
            .expect("a new way to reach it")
            .clone();
        assert_eq!(book.services().count(), 1);
        assert_eq!(
            merged.base_urls,
            vec![
                "https://[2001:db8::9]:443/eSCL/",
                "http://192.168.1.20:8080/eSCL/"
            ]
        );
        // Another device with the same name but its own UUID stays apart.
        book.add(&ad(
            false,
            vec![(V4, None)],
            &[("UUID", "5678"), ("ty", "Scanner")],
        ));
        assert_eq!(book.services().count(), 2);
    }
}
