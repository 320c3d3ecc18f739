//! The `streamscan` program: parses the command line and runs it.
//!
//! Everything lives in the library (`streamscan::cli`, `streamscan::app`)
//! so that tests can drive it; this file only picks the front end and turns
//! the outcome into the process's exit status. Without a subcommand it
//! opens the desktop app, or prints the help where there is no display to
//! open it on (a terminal over SSH, CI); with one it runs that subcommand
//! headless.

use clap::Parser;
use streamscan::app::{self, AppOptions};
use streamscan::cli::{self, Cli};

/// True when a window can be opened: always on Windows and macOS; on other
/// systems when an X11 or Wayland display is named in the environment.
fn display_available() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

fn main() {
    // clap prints its own usage errors and exits with status 2.
    let args = Cli::parse();
    if args.command.is_none() && display_available() {
        if let Err(e) = app::run_native(AppOptions::desktop()) {
            eprintln!("error: cannot open the Streamscan window: {e}");
            eprintln!("Without a display, use the subcommands (`streamscan --help`).");
            std::process::exit(1);
        }
        return;
    }
    std::process::exit(cli::run(args));
}
