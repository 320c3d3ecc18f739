//! The eSCL (AirScan, Mopria "driverless" scanning) back end.
//!
//! Today this is only the document layer of its protocol core: [`xml`]
//! reads the XML documents an eSCL scanner answers with
//! (`ScannerCapabilities`, `ScannerStatus`, `ScanImageInfo`), writes the
//! `ScanSettings` body of a new job, and translates between eSCL's words
//! and the app's [`Capabilities`](crate::transfer::Capabilities) and
//! [`ScanSettings`](crate::transfer::ScanSettings). It does no I/O: bytes
//! in, typed values out, and back.
//!
//! Still to come, each in this folder: the HTTP exchanges of a job and its
//! state machine (sans-IO, over the shared HTTP framing), the transport
//! (TCP and IPP-USB), the driver that runs them, and DNS-SD discovery.
//! Until the driver exists nothing here is registered in the
//! [`Registry`](crate::device::Registry).

pub mod xml;
