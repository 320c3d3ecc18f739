//! Streamscan: a scanning application with the semantics of Windows Image
//! Acquisition 2.0 stream transfers, on every platform.
//!
//! # Architecture
//!
//! Layers depend downwards only:
//!
//! - [`app`] and [`ui`]: the desktop app (eframe/egui), the only code that
//!   imports egui: [`app`] holds its state and talks to the engine,
//!   [`ui`] draws a read-only borrow of it and returns [`app::Action`]s,
//!   which the app applies after drawing. [`cli`] is the other front end.
//! - [`engine`]: jobs on worker threads; `Command`s in, `Event`s out over
//!   bounded channels, a waker for the front end. The CLI and the GUI both
//!   drive it.
//! - [`transfer`]: the contract of `shared/design/wia-transfers.md`: items,
//!   streams requested before every page, STATUS / NEW_PAGE /
//!   END_OF_STREAM / END_OF_TRANSFER in order, the device-status handler
//!   chain, the four ways to cancel, uploads, the legacy band adapters, and
//!   the message-order checker every test runs.
//! - [`device`]: back ends. [`device::sim`] is the built-in virtual scanner.
//! - [`filter`]: the image-processing filter that wraps every download
//!   stream (identity for now).
//! - [`output`]: encoders (PNG, JPEG, TIFF, BMP, PNM, multipage TIFF and
//!   PDF), file destinations, and reading back what a stopped scan left.
//! - [`raster`]: page headers and bands, shared by all.
//! - [`clock`]: injectable time and cancellation.
//!
//! # Failures
//!
//! Nothing is lost and nothing half-written stays behind. A page is
//! written to a temporary file and given its final name only when complete
//! (END_OF_STREAM); an abandoned page (cancel, device fault, full disk) is
//! discarded, and a multipage document is finalised with the pages
//! completed before it. A multipage document is valid after every page
//! (an incremental PDF update, a linked TIFF IFD) and synced to the disk
//! before the page is reported done, so a full disk cuts it back to its
//! last complete page, and a crash leaves a temporary file that opens with
//! the completed pages; such leftovers are never removed on their own
//! ([`output::leftover`], `streamscan recover`). Device conditions (jam, cover open, empty feeder)
//! travel the handler chain first, so a person can fix them and retry the
//! interrupted page; unhandled they end the job with the WIA code, the page
//! and the count of pages kept. A cancelled job ends `Outcome::Cancelled`,
//! never as an error, and leaves the device usable. A device that goes
//! silent fails with DEVICE_COMMUNICATION after the no-data timeout.
//! Parsers of device data return errors, never panic.

pub mod app;
pub mod cli;
pub mod clock;
pub mod device;
pub mod engine;
pub mod filter;
pub mod output;
pub mod raster;
pub mod stream;
#[cfg(test)]
pub(crate) mod testing;
pub mod transfer;
pub mod ui;
