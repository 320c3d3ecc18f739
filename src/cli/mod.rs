//! The command line: `streamscan devices | scan | ls | upload | get |
//! recover`.
//!
//! `main.rs` parses the arguments into [`Cli`] and calls [`run`], which
//! returns the process's exit status. Every subcommand drives the same
//! engine the GUI uses, with the non-interactive status policy: success
//! statuses (warming up) continue with a progress line, error statuses are
//! not handled, so the job ends with that error. Ctrl+C cancels through
//! the engine; a second Ctrl+C exits at once (see `session`).
//!
//! Exit statuses ([`Exit`]): 0 completed (also when the feeder ran out
//! early, with a warning), 1 device or transfer error (or a leftover that
//! `recover` could not keep), 2 usage error, 3 destination error,
//! 130 cancelled.
//!
//! This module is the program's edge: it prints to stdout and stderr and
//! decides exit statuses; the layers below only return values and errors.

pub mod args;
mod devices;
mod events;
mod progress;
mod recover;
mod scan;
mod session;
mod storage;

pub use args::{Cli, CliCommand};

use crate::transfer::{StatusCode, TransferError};
use clap::CommandFactory;
use clap::error::ErrorKind;

/// The exit statuses of `streamscan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The work was done (a feeder that ran out early included).
    Success,
    /// The device or the transfer failed (also: some uploads failed, or
    /// `recover` could not keep a leftover).
    Failure,
    /// The command line was wrong (clap's own errors exit 2 as well).
    Usage,
    /// The destination could not be written (DESTINATION: disk full, no
    /// permission, the file exists without `--overwrite`).
    Destination,
    /// Cancelled, by Ctrl+C or otherwise.
    Cancelled,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Destination => 3,
            Exit::Cancelled => 130,
        }
    }

    /// The status for a failed transfer job.
    pub fn for_error(error: &TransferError) -> Exit {
        if error.code == StatusCode::DESTINATION {
            Exit::Destination
        } else {
            Exit::Failure
        }
    }
}

/// Runs the parsed command line and returns the exit status.
pub fn run(cli: Cli) -> i32 {
    let exit = match cli.command {
        None => print_help(),
        Some(CliCommand::Devices(args)) => devices::run(&args),
        Some(CliCommand::Scan(args)) => scan::run(&args),
        Some(CliCommand::Ls(args)) => storage::ls(&args),
        Some(CliCommand::Upload(args)) => storage::upload(&args),
        Some(CliCommand::Get(args)) => storage::get(&args),
        Some(CliCommand::Recover(args)) => recover::run(&args),
    };
    exit.code()
}

/// No subcommand and no display for the desktop app: the help.
fn print_help() -> Exit {
    let mut command = Cli::command();
    if let Err(e) = command.print_help() {
        eprintln!("error: cannot print the help: {e}");
        return Exit::Failure;
    }
    println!();
    println!("No display was found for the desktop app; use the subcommands above,");
    println!("e.g. `streamscan scan --source feeder -o scan.pdf`.");
    Exit::Success
}

/// Reports a usage error found after parsing (arguments that contradict
/// each other) the way clap reports its own, for `subcommand`.
fn usage_error(subcommand: &str, message: &str) -> Exit {
    let mut command = Cli::command();
    command.build();
    let error = match command.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(ErrorKind::ArgumentConflict, message),
        None => command.error(ErrorKind::ArgumentConflict, message),
    };
    // Printing to stderr only fails when stderr is gone.
    let _ = error.print();
    Exit::Usage
}

/// `1 page` / `3 pages`.
fn pages(count: u32) -> String {
    if count == 1 {
        String::from("1 page")
    } else {
        format!("{count} pages")
    }
}
