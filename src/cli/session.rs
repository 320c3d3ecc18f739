//! One command-line session with the engine: start it, hand it jobs, and
//! wait for their events while listening for Ctrl+C.
//!
//! The wait is a crossbeam `select!` over the engine's event receiver and
//! a channel fed by the Ctrl+C handler. The first Ctrl+C cancels the job
//! through the engine (`Command::Cancel`), so completed pages are kept
//! and valid and the job ends `Cancelled` by itself. A second one exits
//! at once with status 130, after settling the temporary files still
//! being written: a document is cut back to its last complete page and
//! kept, a page in progress is removed.
//!
//! The engine checks every transfer's message order as it runs; a broken
//! rule (a bug in Streamscan, never the user's doing) is printed. With
//! `STREAMSCAN_CHECK_TRACES=1` in the environment (the test suite sets it
//! on every run of the program) the engine also keeps each transfer's
//! trace, the session checks it once more and says so on stderr, and a
//! violation ends the process with status 70.

use super::Exit;
use crate::engine::{Command, Engine, EngineConfig, Event, JobId, JobSummary};
use crate::output::file::{Settled, settle_temporaries};
use crate::transfer::TransferError;
use crossbeam_channel::{Receiver, bounded, select};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What a job's observer is told.
pub enum Happening<'a> {
    /// An event of the job.
    Event(&'a Event),
    /// An event that was still queued when the second Ctrl+C came: count
    /// it (a page it reports done is on disk), but report nothing more.
    Late(&'a Event),
    /// The user pressed Ctrl+C the first time: the job is being cancelled.
    Interrupt,
    /// The user pressed Ctrl+C again: the process exits right after this,
    /// and `kept` are the documents its temporary files became.
    Exiting {
        /// The documents cut back to their last complete page and kept.
        kept: &'a [Settled],
    },
}

/// The Ctrl+C channel, set up once per process (the handler is global).
static INTERRUPTS: OnceLock<Option<Receiver<()>>> = OnceLock::new();

/// Installs the Ctrl+C handler on first use; None when it cannot be
/// installed (Ctrl+C then ends the process the default way).
fn interrupts() -> Option<Receiver<()>> {
    INTERRUPTS
        .get_or_init(|| {
            let (tx, rx) = bounded(8);
            match ctrlc::set_handler(move || {
                // A full channel already holds enough presses.
                let _ = tx.try_send(());
            }) {
                Ok(()) => Some(rx),
                Err(e) => {
                    eprintln!("warning: Ctrl+C cannot cancel cleanly: {e}");
                    None
                }
            }
        })
        .clone()
}

/// The engine and the Ctrl+C channel of one CLI invocation.
pub struct Session {
    engine: Engine,
    interrupts: Receiver<()>,
    presses: u32,
    next_job: JobId,
    /// Check every transfer's message order (`STREAMSCAN_CHECK_TRACES`).
    check_traces: bool,
}

/// The variable that turns the message-order checker on.
pub const CHECK_TRACES: &str = "STREAMSCAN_CHECK_TRACES";

/// The exit status of a message-order violation.
const VIOLATION: i32 = 70;

impl Session {
    /// Starts the engine with the device no-data timeout `timeout`.
    pub fn start(timeout: Duration) -> Session {
        let interrupts = interrupts().unwrap_or_else(crossbeam_channel::never);
        let check_traces = std::env::var_os(CHECK_TRACES).is_some_and(|v| v == "1");
        let config = EngineConfig {
            keep_traces: check_traces,
            no_data_timeout: timeout,
            progress_interval: Duration::from_millis(200),
            // Nobody looks at the live preview here: keep it tiny.
            preview_width: 32,
            // Nor re-filters pages afterwards: no preview cache.
            cache_pages: 0,
            ..EngineConfig::default()
        };
        Session {
            engine: Engine::start(config, Arc::new(|| {})),
            interrupts,
            presses: 0,
            next_job: 1,
            check_traces,
        }
    }

    /// A fresh job id.
    pub fn job_id(&mut self) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        id
    }

    /// Sends `command` (for job `job`) and shows `observe` every event of
    /// that job and every Ctrl+C until the job finishes; returns how it
    /// ended. A second Ctrl+C does not return: the process exits with 130.
    pub fn run(
        &mut self,
        job: JobId,
        command: Command,
        mut observe: impl FnMut(Happening<'_>),
    ) -> Result<Result<JobSummary, TransferError>, SessionError> {
        if !self.engine.send(command) {
            return Err(SessionError::EngineGone);
        }
        let events = self.engine.events().clone();
        loop {
            select! {
                recv(events) -> event => {
                    let event = event.map_err(|_| SessionError::EngineGone)?;
                    if event.job() != job {
                        continue;
                    }
                    let broken = match &event {
                        Event::ContractBroken { rule, .. } => Some(rule.clone()),
                        Event::Trace { trace, .. } => self.check(job, trace),
                        _ => None,
                    };
                    if let Some(rule) = broken {
                        eprintln!("streamscan: internal error: job {job} broke the message order: {rule}");
                        if self.check_traces {
                            std::process::exit(VIOLATION);
                        }
                    }
                    observe(Happening::Event(&event));
                    if let Event::JobFinished { result, .. } = event {
                        return Ok(result);
                    }
                }
                recv(self.interrupts) -> _ => {
                    self.presses += 1;
                    if self.presses == 1 {
                        observe(Happening::Interrupt);
                        self.engine.send(Command::Cancel { job });
                        continue;
                    }
                    // From here on the job's writers fail, so the events
                    // still queued are all there will be.
                    let kept = settle_temporaries();
                    for event in events.try_iter().filter(|e| e.job() == job) {
                        observe(Happening::Late(&event));
                    }
                    observe(Happening::Exiting { kept: &kept });
                    std::process::exit(Exit::Cancelled.code());
                }
            }
        }
    }
}

impl Session {
    /// Runs `trace` of `job` through the order checker (only with
    /// [`CHECK_TRACES`]) and says so on stderr; returns the broken rule.
    fn check(&self, job: JobId, trace: &crate::transfer::Trace) -> Option<String> {
        if !self.check_traces {
            return None;
        }
        match crate::transfer::check(trace) {
            Ok(()) => {
                eprintln!(
                    "message order checked: job {job}, {} events",
                    trace.events.len()
                );
                None
            }
            Err(violation) => Some(violation.to_string()),
        }
    }
}

/// The engine itself failed (not a job).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The engine stopped answering.
    #[error("the scanning engine stopped unexpectedly")]
    EngineGone,
}
