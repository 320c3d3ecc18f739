//! The eSCL (AirScan, Mopria scan) back end, in the making. So far, of its
//! protocol core (sans-IO: bytes and time in, typed values out):
//!
//! - [`http`]: the HTTP/1.1 client framing, for any byte pipe (TCP now,
//!   IPP-USB bulk pipes later);
//! - [`xml`]: the XML documents a scanner answers with
//!   (`ScannerCapabilities`, `ScannerStatus`, `ScanImageInfo`), the
//!   `ScanSettings` body of a new job, and the translation between eSCL's
//!   words and the app's [`Capabilities`](crate::transfer::Capabilities) and
//!   [`ScanSettings`](crate::transfer::ScanSettings);
//!
//! and [`discovery`] over mDNS. The job state machine, the transport and the
//! driver come next; until then the back end is not in
//! [`Registry::builtin`](super::Registry::builtin) and no eSCL device can be
//! opened.

pub mod discovery;
pub mod http;
pub mod xml;
