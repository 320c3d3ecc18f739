//! The transfer layer: WIA 2.0 stream-transfer semantics, made portable.
//!
//! It drives a device back end ([`Driver`]) on behalf of the application's
//! [`TransferCallback`]: it asks for a stream before each page, wraps it in
//! the filter and the encoder, sends STATUS / NEW_PAGE / END_OF_STREAM /
//! END_OF_TRANSFER in the contract's order, runs the device-status handler
//! chain, honours the four ways to cancel, and records a [`Trace`] of every
//! job that [`trace::check`] verifies. See `shared/design/wia-transfers.md`.

pub mod callback;
pub mod codes;
pub mod decode;
pub mod download;
pub mod driver;
pub mod item;
pub mod legacy;
pub mod settings;
pub mod trace;

pub use callback::{
    Destination, DeviceStatus, Flow, MemoryDestination, Side, StatusAnswer, StatusHandler,
    StreamAnswer, StreamRequest, TransferCallback, TransferMessage,
};
pub use codes::{ItemFlags, MessageKind, StatusCode};
pub use download::{
    DeviceIo, Outcome, PageEnd, PageObserver, Totals, Transfer, TransferError, TransferOptions,
};
pub use driver::{
    AcquireEnd, AcquireRequest, AcquireSink, Capabilities, Choice, DeviceInfo, Driver, DriverError,
    Interrupted, PageData, PageGo, PageStart, SourceCapabilities, StatusFlow, StatusOutcome,
    UploadSource,
};
pub use item::{Item, ItemArea};
pub use settings::{ColorMode, PageSize, ScanArea, ScanSettings, Source};
pub use trace::{Trace, TraceEvent, check};
