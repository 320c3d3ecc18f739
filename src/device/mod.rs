//! Device back ends: one folder per back end, plugged in through the
//! [`Registry`].
//!
//! Every back end implements the contract's device side
//! ([`Driver`](crate::transfer::Driver)) and otherwise uses only the bottom
//! layer (`raster`, `stream`, `clock`) and its own folder; none imports the
//! filter, the output writers or another back end. A back end's folder has
//! the same shape for all: the protocol core (sans-IO), the transport (the
//! only code touching sockets, USB or a child process), the driver, and
//! discovery. [`sim`], the built-in virtual scanner, is the first entry of
//! [`Registry::builtin`] and so far the only one; [`escl`] has its
//! HTTP framing, XML documents and discovery and is not registered yet.

pub mod escl;
pub mod registry;
pub mod sim;

pub use registry::{Backend, DeviceIdError, DeviceOpenError, DiscoveryEvent, Registry};
