//! Streamscan: a scanning application with the semantics of Windows Image
//! Acquisition 2.0 stream transfers, on every platform.

pub mod clock;
pub mod device;
pub mod engine;
pub mod filter;
pub mod output;
pub mod raster;
pub mod transfer;
