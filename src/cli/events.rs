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
use crate::transfer::{
    DeviceStatus, Outcome, ScanSettings, StatusCode, TransferError, TransferMessage,
};
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// Version of the event format, in the `start` header.
pub const FORMAT_VERSION: u32 = 1;

/// `0x80210002`: a status code as the JSON events print it.
pub fn hex_code(code: StatusCode) -> String {
    format!("0x{:08X}", code.0)
}

/// One line of the event stream. Serialized with `"event"` first and the
/// other fields in the documented order, so the lines read well too.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JsonEvent<'a> {
    /// The header: format version, device id, settings, output.
    Start {
        /// [`FORMAT_VERSION`].
        v: u32,
        /// The device id as given.
        device: &'a str,
        /// The scan settings sent to the engine.
        settings: &'a ScanSettings,
        /// The output path or pattern.
        output: &'a str,
    },
    /// A transfer message, as the callback received it.
    Transfer {
        /// `STATUS`, `NEW_PAGE`, `END_OF_STREAM`, `END_OF_TRANSFER`.
        msg: &'static str,
        /// The message's WIA value.
        code: u32,
        /// The item's name.
        item: &'a str,
        /// Delivered page number (0: none).
        page: u32,
        /// `front` or `back`.
        side: &'static str,
        /// Percent of the page, -1 when unknown.
        percent: i32,
        /// Bytes written to the current stream.
        bytes: u64,
    },
    /// A device status that went through the handler chain.
    DeviceStatus {
        /// The WIA name, e.g. `WARMING_UP`.
        status: &'static str,
        /// The code in hex, e.g. `0x00210002`.
        code: String,
        /// Progress of the condition; null when unknown.
        percent: Option<u8>,
    },
    /// A page done (saved) or abandoned (removed).
    Page {
        /// Page number.
        page: u32,
        /// `done` or `abandoned`.
        state: &'static str,
        /// The file the page is in (done pages only).
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// The job ended without an error: the last line.
    Job {
        /// `Completed`, `EndOfMedia` or `Cancelled`.
        outcome: &'static str,
        /// Pages delivered and kept.
        pages: u32,
    },
    /// The job failed: the last line.
    #[serde(rename = "job")]
    JobError {
        /// Always `Error`.
        outcome: &'static str,
        /// The code in hex, e.g. `0x80210002`.
        code: String,
        /// The WIA name, e.g. `PAPER_JAM`.
        error: &'static str,
        /// What failed, in words.
        message: &'a str,
        /// The page in progress when it failed; null when none.
        page: Option<u32>,
        /// Pages completed and kept.
        pages: u32,
    },
}

/// The header line.
pub fn start<'a>(device: &'a str, settings: &'a ScanSettings, output: &'a str) -> JsonEvent<'a> {
    JsonEvent::Start {
        v: FORMAT_VERSION,
        device,
        settings,
        output,
    }
}

/// A transfer message line.
pub fn transfer(message: &TransferMessage) -> JsonEvent<'_> {
    JsonEvent::Transfer {
        msg: message.kind.name(),
        code: message.kind.code(),
        item: &message.item,
        page: message.page,
        side: message.side.as_str(),
        percent: message.percent,
        bytes: message.bytes,
    }
}

/// A device status line.
pub fn device_status(status: &DeviceStatus) -> JsonEvent<'static> {
    JsonEvent::DeviceStatus {
        status: status.code.name(),
        code: hex_code(status.code),
        percent: status.percent,
    }
}

/// A completed page.
pub fn page_done(page: u32, path: Option<&Path>) -> JsonEvent<'static> {
    JsonEvent::Page {
        page,
        state: "done",
        path: path.map(|p| p.display().to_string()),
    }
}

/// An abandoned page.
pub fn page_abandoned(page: u32) -> JsonEvent<'static> {
    JsonEvent::Page {
        page,
        state: "abandoned",
        path: None,
    }
}

/// A page the filter flagged blank (kept) or dropped (not saved).
pub fn page_state(page: u32, state: &'static str) -> JsonEvent<'static> {
    JsonEvent::Page {
        page,
        state,
        path: None,
    }
}

/// The last line: the job's outcome and the pages it delivered, or its
/// error with the code, the page it failed on and the pages kept.
pub fn job(result: &Result<JobSummary, TransferError>) -> JsonEvent<'_> {
    match result {
        Ok(summary) => job_ok(summary.outcome, summary.totals.delivered),
        Err(error) => JsonEvent::JobError {
            outcome: "Error",
            code: hex_code(error.code),
            error: error.code.name(),
            message: &error.message,
            page: error.page,
            pages: error.pages_completed,
        },
    }
}

/// A job line for an outcome that is not an error.
pub fn job_ok(outcome: Outcome, pages: u32) -> JsonEvent<'static> {
    JsonEvent::Job {
        outcome: outcome.name(),
        pages,
    }
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
    pub fn emit(&mut self, event: &JsonEvent<'_>) {
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

    fn write_line(&mut self, event: &JsonEvent<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// The stream (for tests).
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::{MessageKind, Side, Totals};
    use serde_json::{Value, json};

    fn value(event: &JsonEvent<'_>) -> Value {
        serde_json::to_value(event).expect("serializes")
    }

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
            value(&transfer(&message)),
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
            value(&device_status(&status)),
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
        assert_eq!(
            value(&job(&ok)),
            json!({"event":"job","outcome":"Completed","pages":3})
        );
        let err = Err(TransferError {
            code: StatusCode::PAPER_JAM,
            page: Some(2),
            pages_completed: 1,
            message: String::from("jammed"),
        });
        assert_eq!(
            value(&job(&err)),
            json!({"event":"job","outcome":"Error","code":"0x80210002","error":"PAPER_JAM",
                   "message":"jammed","page":2,"pages":1})
        );
    }

    #[test]
    fn the_event_name_comes_first_and_fields_keep_their_order() {
        let mut writer = EventWriter::new(Vec::new());
        writer.emit(&job_ok(Outcome::Cancelled, 1));
        writer.emit(&page_abandoned(2));
        let err = Err(TransferError {
            code: StatusCode::PAPER_JAM,
            page: None,
            pages_completed: 0,
            message: String::from("jammed"),
        });
        writer.emit(&job(&err));
        let text = String::from_utf8(writer.into_inner()).expect("utf-8");
        assert_eq!(
            text,
            "{\"event\":\"job\",\"outcome\":\"Cancelled\",\"pages\":1}\n\
             {\"event\":\"page\",\"page\":2,\"state\":\"abandoned\"}\n\
             {\"event\":\"job\",\"outcome\":\"Error\",\"code\":\"0x80210002\",\
             \"error\":\"PAPER_JAM\",\"message\":\"jammed\",\"page\":null,\"pages\":0}\n"
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
