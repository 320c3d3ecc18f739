//! `--events json`: the scan's machine-readable event stream, one JSON
//! object per line on stdout.
//!
//! The first line is a `start` header (format version, device, settings),
//! then `transfer` lines (every transfer message, as the callback got it),
//! `device_status` lines (every status that went through the handler
//! chain), `page` lines (a page done or abandoned), and finally exactly one
//! `job` line with the outcome. This module only builds the objects and
//! writes lines; it decides nothing about the job.

use crate::engine::JobSummary;
use crate::transfer::{DeviceStatus, Outcome, ScanSettings, StatusCode, TransferError, TransferMessage};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::Path;

/// Version of the event format, in the `start` header.
pub const FORMAT_VERSION: u32 = 1;

/// `0x80210002`: a status code as the JSON events print it.
pub fn hex_code(code: StatusCode) -> String {
    format!("0x{:08X}", code.0)
}

/// The header: `{"event":"start","v":1,"device":...,"settings":...,"output":...}`.
pub fn start(device: &str, settings: &ScanSettings, output: &str) -> Value {
    json!({
        "event": "start",
        "v": FORMAT_VERSION,
        "device": device,
        "settings": serde_json::to_value(settings).unwrap_or(Value::Null),
        "output": output,
    })
}

/// A transfer message: `{"event":"transfer","msg":"STATUS","code":1,...}`.
pub fn transfer(message: &TransferMessage) -> Value {
    json!({
        "event": "transfer",
        "msg": message.kind.name(),
        "code": message.kind.code(),
        "item": message.item,
        "page": message.page,
        "side": message.side.as_str(),
        "percent": message.percent,
        "bytes": message.bytes,
    })
}

/// A device status: `{"event":"device_status","status":"WARMING_UP",...}`;
/// `percent` is null when the device gave none.
pub fn device_status(status: &DeviceStatus) -> Value {
    json!({
        "event": "device_status",
        "status": status.code.name(),
        "code": hex_code(status.code),
        "percent": status.percent,
    })
}

/// A completed page: `{"event":"page","page":2,"state":"done","path":...}`.
pub fn page_done(page: u32, path: Option<&Path>) -> Value {
    json!({
        "event": "page",
        "page": page,
        "state": "done",
        "path": path.map(|p| p.display().to_string()),
    })
}

/// An abandoned page: `{"event":"page","page":2,"state":"abandoned"}`.
pub fn page_abandoned(page: u32) -> Value {
    json!({
        "event": "page",
        "page": page,
        "state": "abandoned",
    })
}

/// The last line: the job's outcome and the pages it delivered, or its
/// error with the code, the page it failed on and the pages kept.
pub fn job(result: &Result<JobSummary, TransferError>) -> Value {
    match result {
        Ok(summary) => job_ok(summary.outcome, summary.totals.delivered),
        Err(error) => json!({
            "event": "job",
            "outcome": "Error",
            "code": hex_code(error.code),
            "error": error.code.name(),
            "message": error.message,
            "page": error.page,
            "pages": error.pages_completed,
        }),
    }
}

/// A job line for an outcome that is not an error.
pub fn job_ok(outcome: Outcome, pages: u32) -> Value {
    json!({
        "event": "job",
        "outcome": outcome.name(),
        "pages": pages,
    })
}

/// Writes event lines to a stream (stdout in the CLI).
pub struct EventWriter<W: Write> {
    out: W,
    failed: bool,
}

impl<W: Write> EventWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> EventWriter<W> {
        EventWriter { out, failed: false }
    }

    /// Writes `event` as one line and flushes it, so that a reader sees
    /// each event as it happens.
    pub fn emit(&mut self, event: &Value) {
        if self.failed {
            return;
        }
        if let Err(e) = self.write_line(event) {
            // The reader went away (a closed pipe): the scan itself goes
            // on; say so once.
            self.failed = true;
            eprintln!("warning: cannot write events any more: {e}");
        }
    }

    fn write_line(&mut self, event: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// The stream (for tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::{MessageKind, Side, Totals};

    #[test]
    fn transfer_lines_carry_every_field() {
        let message = TransferMessage {
            kind: MessageKind::Status,
            item: String::from("Feeder"),
            page: 2,
            side: Side::Front,
            percent: 40,
            bytes: 123_456,
        };
        assert_eq!(
            transfer(&message),
            json!({"event":"transfer","msg":"STATUS","code":1,"item":"Feeder","page":2,
                   "side":"front","percent":40,"bytes":123456})
        );
    }

    #[test]
    fn device_status_lines_use_names_and_hex_codes() {
        let status = DeviceStatus {
            code: StatusCode::WARMING_UP,
            percent: Some(50),
            page: 0,
            side: Side::Front,
        };
        assert_eq!(
            device_status(&status),
            json!({"event":"device_status","status":"WARMING_UP","code":"0x00210002","percent":50})
        );
    }

    #[test]
    fn job_lines_for_success_and_error() {
        let ok = Ok(JobSummary {
            outcome: Outcome::Completed,
            totals: Totals {
                delivered: 3,
                ..Totals::default()
            },
            files: Vec::new(),
        });
        assert_eq!(job(&ok), json!({"event":"job","outcome":"Completed","pages":3}));
        let err = Err(TransferError {
            code: StatusCode::PAPER_JAM,
            page: Some(2),
            pages_completed: 1,
            message: String::from("jammed"),
        });
        assert_eq!(
            job(&err),
            json!({"event":"job","outcome":"Error","code":"0x80210002","error":"PAPER_JAM",
                   "message":"jammed","page":2,"pages":1})
        );
    }

    #[test]
    fn the_writer_puts_one_object_on_each_line() {
        let mut writer = EventWriter::new(Vec::new());
        writer.emit(&page_done(1, Some(Path::new("a.png"))));
        writer.emit(&page_abandoned(2));
        let text = String::from_utf8(writer.into_inner()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            serde_json::from_str::<Value>(lines[0]).expect("json"),
            json!({"event":"page","page":1,"state":"done","path":"a.png"})
        );
    }
}
