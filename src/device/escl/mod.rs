//! The eSCL (AirScan) back end: network and USB scanners that speak eSCL
//! over HTTP.
//!
//! So far only the first piece of its protocol core is here: the sans-IO
//! HTTP/1.1 client framing it runs over any byte pipe ([`http`]: TCP now,
//! IPP-USB bulk pipes later). The document layer, the job state machine,
//! the transport, the driver and discovery come next. Nothing here is
//! registered in the device [`Registry`](crate::device::Registry) yet.

pub mod http;
