//! What the application supplies to a transfer: the callback that hands out
//! destination streams and receives messages, the destination streams
//! themselves, and the application's device-status handler.

use super::codes::{MessageKind, StatusCode};
pub use crate::stream::{Destination, MemoryDestination, Side};
use serde::{Deserialize, Serialize};

/// A message the transfer layer sends to the application's callback
/// (`WiaTransferParams`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferMessage {
    /// Message kind (STATUS, END_OF_STREAM, END_OF_TRANSFER, NEW_PAGE).
    pub kind: MessageKind,
    /// Name of the item being transferred.
    pub item: String,
    /// Delivered page number (1-based), 0 when no page is concerned.
    pub page: u32,
    /// Side of the current page.
    pub side: Side,
    /// Percent of the current page, 0..=100, or -1 when unknown.
    pub percent: i32,
    /// Bytes written to the current destination stream so far.
    pub bytes: u64,
}

/// The callback's answer to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Cancel the whole job.
    Cancel,
}

/// What the layer asks for before the first byte of a page
/// (`GetNextStream(item_name, full_item_name)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// The item's name.
    pub item_name: String,
    /// The item's full name.
    pub full_item_name: String,
    /// The number the page will have if it is delivered (1-based; skipped
    /// pages do not use numbers). For a multipage stream: 1.
    pub page: u32,
    /// The side of the page.
    pub side: Side,
}

/// The callback's answer to a stream request.
pub enum StreamAnswer {
    /// Write the page into this stream.
    Stream(Box<dyn Destination>),
    /// Drop this item (this page); the job goes on.
    Skip,
    /// Cancel the whole job.
    Cancel,
    /// The application cannot provide a stream (e.g. the file exists, the
    /// folder is not writable): the job fails with DESTINATION and this
    /// reason.
    Fail(String),
}

impl std::fmt::Debug for StreamAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamAnswer::Stream(_) => "Stream",
            StreamAnswer::Skip => "Skip",
            StreamAnswer::Cancel => "Cancel",
            StreamAnswer::Fail(_) => "Fail",
        })
    }
}

/// The application's side of a transfer (`IWiaTransferCallback`).
pub trait TransferCallback: Send {
    /// Gives the destination for the next page (or document).
    fn next_stream(&mut self, request: &StreamRequest) -> StreamAnswer;

    /// Receives a transfer message; may cancel the job.
    fn message(&mut self, message: &TransferMessage) -> Flow;
}

/// A device status as it travels the handler chain (DEVICE_STATUS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// The status code.
    pub code: StatusCode,
    /// Progress of the condition (e.g. warm-up percent), when known.
    pub percent: Option<u8>,
    /// Delivered page number the condition interrupted (0 = none yet).
    pub page: u32,
    /// The side concerned.
    pub side: Side,
}

/// A status handler's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusAnswer {
    /// The condition was dealt with: go on; the driver retries the
    /// interrupted page.
    Handled,
    /// Ask the next handler of the chain.
    NotHandled,
    /// Cancel the job.
    Cancel,
    /// Fail the job with this code.
    Fail(StatusCode),
}

/// A handler of the device-status chain (application, driver, default).
///
/// Handlers run on the transfer thread and may wait (for a person), but
/// must return [`StatusAnswer::Cancel`] promptly when `cancel` fires.
pub trait StatusHandler: Send {
    /// Handles one device status.
    fn handle(&mut self, status: &DeviceStatus, cancel: &crate::clock::CancelToken)
    -> StatusAnswer;
}
