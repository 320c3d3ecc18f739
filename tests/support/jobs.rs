//! Running jobs and checking them: one download on any driver with a
//! virtual clock, and an engine on a virtual clock that records every
//! event and can hold a job's worker at an exact point. Every trace either
//! produces goes through the shared message-order checker
//! (`streamscan::transfer::check`) via [`check_trace`]; a test that drives
//! a `Transfer` by hand calls it too.

use super::callbacks::ScriptedHandler;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use streamscan::clock::{CancelToken, VirtualClock};
use streamscan::engine::{Command, Engine, EngineConfig, Event, JobId, JobSummary, OutputTarget};
use streamscan::output::OutputPattern;
use streamscan::transfer::{
    DeviceStatus, Driver, Outcome, PageObserver, ScanSettings, StatusAnswer, Totals, Trace,
    Transfer, TransferCallback, TransferError, TransferMessage, TransferOptions, check,
};

/// How long a test waits for a job's next step before it declares the job
/// hung (a hang detector, not a timing assertion).
pub const HANG_TIMEOUT: Duration = Duration::from_secs(60);

/// Fails the test when `trace` (of `what`: "the download", "job 2")
/// breaks the transfer contract's message order, showing the events
/// around the violation.
pub fn check_trace(what: &str, trace: &Trace) {
    if let Err(violation) = check(trace) {
        panic!(
            "{what}: message order violated: {violation}\n{:#?}",
            &trace.events
                [violation.at.saturating_sub(3)..(violation.at + 2).min(trace.events.len())]
        );
    }
}

/// The result of one transfer run.
pub struct Run {
    pub result: Result<Outcome, TransferError>,
    pub trace: Trace,
    pub totals: Totals,
    pub clock: Arc<VirtualClock>,
}

/// Options of a transfer run.
pub struct RunOptions {
    pub handler: Option<ScriptedHandler>,
    pub observer: Option<Arc<dyn PageObserver>>,
    /// Download flags (`ACQUIRE_CHILDREN`).
    pub flags: u32,
    pub cancel: CancelToken,
    pub timeout: Duration,
    pub clock: Arc<VirtualClock>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            handler: None,
            observer: None,
            flags: 0,
            cancel: CancelToken::new(),
            timeout: Duration::from_secs(30),
            clock: VirtualClock::shared(),
        }
    }
}

impl RunOptions {
    /// The default options with a page observer.
    pub fn observed(observer: Arc<dyn PageObserver>) -> RunOptions {
        RunOptions {
            observer: Some(observer),
            ..RunOptions::default()
        }
    }
}

/// Runs one download of `item` on `driver` with a virtual clock and checks
/// the trace with the shared message-order checker.
pub fn run(
    driver: &mut dyn Driver,
    item: &str,
    settings: &ScanSettings,
    callback: &mut dyn TransferCallback,
    mut options: RunOptions,
) -> Run {
    let transfer_options = TransferOptions {
        clock: options.clock.clone(),
        cancel: options.cancel.clone(),
        no_data_timeout: options.timeout,
    };
    let mut transfer = Transfer::new(driver, transfer_options);
    if let Some(handler) = options.handler.as_mut() {
        transfer = transfer.with_status_handler(handler);
    }
    if let Some(observer) = options.observer.take() {
        transfer = transfer.with_observer(observer);
    }
    let result = transfer.download(item, options.flags, settings, callback);
    let trace = transfer.trace().clone();
    let totals = transfer.totals();
    check_trace(&format!("the download of {item}"), &trace);
    // The layer's live checker saw the same events and agrees.
    assert_eq!(
        transfer.violation(),
        None,
        "the live checker disagrees with the recorded trace"
    );
    Run {
        result,
        trace,
        totals,
        clock: options.clock,
    }
}

/// One file per page in `dir`, named by `pattern` (`page-{n}.png`).
pub fn files_output(dir: &Path, pattern: &str) -> OutputTarget {
    OutputTarget::Files {
        pattern: OutputPattern::parse(&dir.join(pattern).display().to_string())
            .expect("a valid output pattern"),
        overwrite: false,
    }
}

/// Holds chosen jobs' worker threads inside the engine's waker, which the
/// engine calls on the sending thread right after every event. A held job
/// sends one event, then waits until the test lets it take one more step
/// (or releases it), so a test can act at an exact point of a job without
/// any timing. Workers are recognised by their thread name
/// `streamscan-job-<id>`.
#[derive(Default)]
pub struct Gate {
    /// Held jobs and the steps each may still take.
    held: Mutex<HashMap<JobId, u64>>,
    wake: Condvar,
}

impl Gate {
    /// Holds `job` after each event it sends (call before the job starts).
    pub fn hold(&self, job: JobId) {
        self.held.lock().expect("gate lock").insert(job, 0);
    }

    /// Lets a held `job` send one more event.
    pub fn step(&self, job: JobId) {
        if let Some(steps) = self.held.lock().expect("gate lock").get_mut(&job) {
            *steps += 1;
        }
        self.wake.notify_all();
    }

    /// Lets `job` run freely from now on.
    pub fn release(&self, job: JobId) {
        self.held.lock().expect("gate lock").remove(&job);
        self.wake.notify_all();
    }

    /// Lets every job run freely.
    pub fn release_all(&self) {
        self.held.lock().expect("gate lock").clear();
        self.wake.notify_all();
    }

    /// Called by the waker on the thread that sent an event.
    fn pass(&self) {
        let job: Option<JobId> = std::thread::current()
            .name()
            .and_then(|n| n.strip_prefix("streamscan-job-"))
            .and_then(|id| id.parse().ok());
        let Some(job) = job else { return };
        let mut held = self.held.lock().expect("gate lock");
        loop {
            match held.get_mut(&job) {
                None => return,
                Some(steps) if *steps > 0 => {
                    *steps -= 1;
                    return;
                }
                Some(_) => held = self.wake.wait(held).expect("gate lock"),
            }
        }
    }
}

/// An engine on a virtual clock, with every event received so far. Every
/// job's trace goes through [`check_trace`] as it arrives.
pub struct EngineHarness {
    pub engine: Engine,
    pub clock: Arc<VirtualClock>,
    pub gate: Arc<Gate>,
    pub log: Vec<Event>,
}

impl EngineHarness {
    /// Starts an engine on a fresh virtual clock that keeps traces;
    /// `configure` may change the configuration (its clock is already the
    /// virtual one).
    pub fn start(configure: impl FnOnce(&mut EngineConfig)) -> EngineHarness {
        let clock = VirtualClock::shared();
        let gate = Arc::new(Gate::default());
        let mut config = EngineConfig {
            clock: clock.clone(),
            keep_traces: true,
            ..EngineConfig::default()
        };
        configure(&mut config);
        let waker_gate = gate.clone();
        let engine = Engine::start(config, Arc::new(move || waker_gate.pass()));
        EngineHarness {
            engine,
            clock,
            gate,
            log: Vec::new(),
        }
    }

    /// Sends a command (fails the test when the engine is gone).
    pub fn send(&self, command: Command) {
        assert!(
            self.engine.send(command),
            "the engine stopped taking commands"
        );
    }

    /// The next event; fails the test when none comes within
    /// [`HANG_TIMEOUT`].
    pub fn next(&mut self, waiting_for: &str) -> Event {
        match self.engine.events().recv_timeout(HANG_TIMEOUT) {
            Ok(event) => {
                if let Event::Trace { job, trace } = &event {
                    check_trace(&format!("job {job}"), trace);
                }
                if let Event::ContractBroken { job, rule } = &event {
                    panic!("job {job} broke the message order (live checker): {rule}");
                }
                self.log.push(event.clone());
                event
            }
            Err(e) => panic!(
                "no engine event within {} s while waiting for {waiting_for} ({e}): the engine hangs; last events: {:#?}",
                HANG_TIMEOUT.as_secs(),
                &self.log[self.log.len().saturating_sub(8)..]
            ),
        }
    }

    /// Receives events until one satisfies `matches`, and returns it.
    pub fn until(&mut self, waiting_for: &str, mut matches: impl FnMut(&Event) -> bool) -> Event {
        loop {
            let event = self.next(waiting_for);
            if matches(&event) {
                return event;
            }
        }
    }

    /// Receives events until `job` finishes; every question of that job is
    /// answered with `answer(status)`. Returns the job's result.
    pub fn finish_answering(
        &mut self,
        job: JobId,
        mut answer: impl FnMut(&DeviceStatus) -> StatusAnswer,
    ) -> Result<JobSummary, TransferError> {
        loop {
            match self.next(&format!("the end of job {job}")) {
                Event::JobFinished { job: j, result } if j == job => return result,
                Event::Question {
                    job: j,
                    question,
                    status,
                } if j == job => {
                    let answer = answer(&status);
                    self.send(Command::Answer {
                        job,
                        question,
                        answer,
                    });
                }
                _ => {}
            }
        }
    }

    /// Receives events until `job` finishes (questions stay unanswered).
    pub fn finish(&mut self, job: JobId) -> Result<JobSummary, TransferError> {
        loop {
            if let Event::JobFinished { job: j, result } =
                self.next(&format!("the end of job {job}"))
                && j == job
            {
                return result;
            }
        }
    }

    /// Steps a held `job` event by event until one satisfies `matches`;
    /// the job stays held right after that event. Events of other jobs are
    /// received on the way.
    pub fn step_until(
        &mut self,
        job: JobId,
        waiting_for: &str,
        mut matches: impl FnMut(&Event) -> bool,
    ) -> Event {
        loop {
            let event = self.next(waiting_for);
            if event.job() == job {
                if matches(&event) {
                    return event;
                }
                self.gate.step(job);
            }
        }
    }

    /// Every event of `job` received so far, in order.
    pub fn events_of(&self, job: JobId) -> Vec<&Event> {
        self.log.iter().filter(|e| e.job() == job).collect()
    }

    /// The events of a finished `job`, checked to open with its one
    /// `JobStarted` and close with its one `JobFinished`; `what` names the
    /// job in failures.
    pub fn framed_events_of(&self, job: JobId, what: &str) -> Vec<&Event> {
        let events = self.events_of(job);
        assert!(
            matches!(events.first(), Some(Event::JobStarted { .. })),
            "{what}: first event: {:?}",
            events.first()
        );
        assert!(
            matches!(events.last(), Some(Event::JobFinished { .. })),
            "{what}: last event: {:?}",
            events.last()
        );
        let count = |started: bool| {
            events
                .iter()
                .filter(|e| match e {
                    Event::JobStarted { .. } => started,
                    Event::JobFinished { .. } => !started,
                    _ => false,
                })
                .count()
        };
        assert_eq!(count(true), 1, "{what}: JobStarted events");
        assert_eq!(count(false), 1, "{what}: JobFinished events");
        events
    }

    /// The transfer messages of `job` received so far, in order.
    pub fn messages_of(&self, job: JobId) -> Vec<&TransferMessage> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Transfer { job: j, message } if *j == job => Some(message),
                _ => None,
            })
            .collect()
    }
}

impl Drop for EngineHarness {
    fn drop(&mut self) {
        // A held worker would keep the engine from shutting down.
        self.gate.release_all();
    }
}
