//! What a transfer records and checks as it runs: every event goes to the
//! live [`OrderChecker`] and, unless the job keeps no trace, into the
//! [`Trace`]. Operations on the application's destination are queued by
//! the stream wrapper that sees them ([`DestinationLog`]) and recorded in
//! their place among the messages at the next event, so the checker
//! compares what the callback was told with what the destination got.

use crate::transfer::trace::{DestinationOp, OrderChecker, Trace, TraceEvent, Violation};
use std::sync::{Arc, Mutex};

/// Destination operations not yet recorded, shared with the stream
/// wrapper (which lives inside the encoder chain).
#[derive(Clone, Default)]
pub(super) struct DestinationLog(Arc<Mutex<Vec<DestinationOp>>>);

impl DestinationLog {
    /// Notes `op`; consecutive writes are kept as one.
    pub(super) fn note(&self, op: DestinationOp) {
        let mut ops = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(DestinationOp::Wrote { len: last }), DestinationOp::Wrote { len }) =
            (ops.last_mut(), op)
        {
            *last = len;
        } else {
            ops.push(op);
        }
    }

    fn take(&self) -> Vec<DestinationOp> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The trace and the live checker of one transfer.
pub(super) struct Recorder {
    /// What was recorded (empty when the trace is not kept).
    pub(super) trace: Trace,
    /// Keep events in `trace`.
    pub(super) keep: bool,
    checker: OrderChecker,
    log: DestinationLog,
}

impl Recorder {
    /// A recorder that keeps its trace when `keep`.
    pub(super) fn new(keep: bool) -> Recorder {
        Recorder {
            trace: Trace::default(),
            keep,
            checker: OrderChecker::new(false, false),
            log: DestinationLog::default(),
        }
    }

    /// Starts over for a new download (`multipage`) or upload. Call
    /// before the job's first event.
    pub(super) fn begin(&mut self, multipage: bool, upload: bool) {
        self.trace = Trace {
            multipage,
            upload,
            events: Vec::new(),
        };
        self.checker = OrderChecker::new(multipage, upload);
        self.log.take();
    }

    /// Where the stream wrapper notes destination operations.
    pub(super) fn log(&self) -> DestinationLog {
        self.log.clone()
    }

    /// Records `event`, after the destination operations that came
    /// before it.
    pub(super) fn record(&mut self, event: TraceEvent) {
        self.flush_log();
        self.store(event);
    }

    /// Records what is left and checks that the job ended as it must.
    pub(super) fn finish(&mut self) {
        self.flush_log();
        // The violation stays in the checker.
        let _ = self.checker.finish();
    }

    /// The first broken rule of the contract, if any.
    pub(super) fn violation(&self) -> Option<&Violation> {
        self.checker.violation()
    }

    fn flush_log(&mut self) {
        for op in self.log.take() {
            self.store(TraceEvent::Destination(op));
        }
    }

    fn store(&mut self, event: TraceEvent) {
        // The violation stays in the checker.
        let _ = self.checker.observe(&event);
        if !self.keep {
            return;
        }
        if let (
            Some(TraceEvent::Destination(DestinationOp::Wrote { len: last })),
            TraceEvent::Destination(DestinationOp::Wrote { len }),
        ) = (self.trace.events.last_mut(), &event)
        {
            *last = *len;
            return;
        }
        self.trace.events.push(event);
    }
}
