//! Shared helpers of the integration tests, each kept in one place; a test
//! file says `mod support;` and `use support::*;`.
//!
//! - [`destinations`]: the in-memory destination a test reads afterwards.
//! - [`callbacks`]: the recording, scripted application side (callback,
//!   status handler, page observer).
//! - [`drivers`]: the virtual scanner by id or opened directly, and the
//!   scripted driver that plays raw bands or (gated) encoded bodies.
//! - [`jobs`]: running a download or an engine job, and the message-order
//!   check every trace goes through.
//! - [`cli`]: running the `streamscan` binary and external tools.
//! - [`outputs`]: temporary folders, and decoding what jobs wrote.
//! - [`gui`]: stepping the desktop app's frames, under a watchdog.
//!
//! Each test binary uses a part of them, hence the `dead_code` allowance
//! here and the `unused_imports` one on the re-exports below.
#![allow(dead_code)]

pub mod callbacks;
pub mod cli;
pub mod destinations;
pub mod drivers;
pub mod gui;
pub mod jobs;
pub mod outputs;

#[allow(unused_imports)]
pub use {callbacks::*, cli::*, destinations::*, drivers::*, jobs::*, outputs::*};
