//! The `streamscan` program: parses the command line and runs it.
//!
//! Everything lives in the library (`streamscan::cli`) so that tests can
//! drive it; this file only turns the outcome into the process's exit
//! status. Until the GUI lands, running without a subcommand prints the
//! help.

use clap::Parser;
use streamscan::cli::{self, Cli};

fn main() {
    // clap prints its own usage errors and exits with status 2.
    let args = Cli::parse();
    std::process::exit(cli::run(args));
}
