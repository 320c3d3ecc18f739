//! Running programs: the built `streamscan` binary in a folder of the
//! test's (stdin closed, no display, so it never opens the desktop app),
//! what a finished run said (every job's message trace checked by the
//! program itself), its `--events json` lines, and the external
//! tools that read our outputs back (qpdf, poppler, ...), which fail the
//! test, never skip it, when they are missing. Talking to a running child
//! (Ctrl+C, reading events as they come) stays in `tests/cli.rs`.

use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The program with `args`, run in `dir`, stdin closed.
pub fn program(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamscan"));
    command
        .args(args)
        .current_dir(dir)
        // No display: without a subcommand the program prints its help
        // instead of opening the desktop app.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        // Every transfer the program makes goes through the message-order
        // checker; a violation ends it with status 70.
        .env("STREAMSCAN_CHECK_TRACES", "1")
        .stdin(Stdio::null());
    command
}

/// Runs the program with `args` in `dir` to its end.
pub fn run_cli(dir: &Path, args: &[&str]) -> CliRun {
    let output = program(dir, args).output().expect("the program starts");
    CliRun::from(output)
}

/// A finished run of the program.
pub struct CliRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for CliRun {
    fn from(output: Output) -> CliRun {
        CliRun {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl CliRun {
    /// Asserts the exit status and that no job broke the message order,
    /// showing everything the program said.
    pub fn expect(&self, code: i32) -> &CliRun {
        assert!(
            !self.stderr.contains("broke the message order"),
            "{}",
            self.stderr
        );
        assert_eq!(
            self.code,
            Some(code),
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The `--events json` lines on stdout whose `event` is `name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        json_lines(&self.stdout)
            .into_iter()
            .filter(|v| v["event"] == name)
            .collect()
    }
}

/// The JSON objects of an `--events json` stream, one per line.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

/// Runs an external tool to its end; a missing tool fails the test.
pub fn tool<S: AsRef<OsStr>>(name: &str, args: &[S]) -> Output {
    Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!(
            "`{name}` must be installed for this test (Debian: qpdf, poppler-utils; \
             ./.ci/run installs them): {e}"
        )
    })
}

/// The stdout of an external tool that must succeed.
pub fn tool_stdout<S: AsRef<OsStr>>(name: &str, args: &[S]) -> String {
    let out = tool(name, args);
    let shown: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    assert!(
        out.status.success(),
        "{name} {shown:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
