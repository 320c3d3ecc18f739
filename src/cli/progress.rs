//! The scan's progress on stderr, in two styles.
//!
//! On a terminal, one compact line is rewritten in place with a carriage
//! return: page i of N, side, percent of the page and the pace in pages
//! per minute (or the warm-up percent while the device warms up). Anywhere
//! else (a pipe, a log file, a test) every event worth telling gets one
//! plain line of its own and the in-place line is never drawn, so the
//! output stays readable. Notes (warnings, "cancelling") first clear the
//! in-place line so the two never mix.

use crate::engine::{Progress, Stage};
use crate::transfer::{DeviceStatus, Side, StatusCode};
use std::io::Write;
use std::path::Path;

/// Writes progress to a stream (stderr in the CLI).
pub struct ProgressLine<W: Write> {
    out: W,
    /// Draw the in-place line (the stream is a terminal).
    live: bool,
    /// Pages asked for, when known (flatbed: 1; feeder: `--pages`).
    total: Option<u32>,
    /// Width of the in-place line drawn last (0: none on screen).
    drawn: usize,
    /// The success status told last, so that a rising percent of the same
    /// status is one plain line, not ten.
    last_status: Option<StatusCode>,
}

impl<W: Write> ProgressLine<W> {
    /// Progress into `out`; `live` draws the in-place line (set it when
    /// `out` is a terminal). `total` is the number of pages asked for.
    pub fn new(out: W, live: bool, total: Option<u32>) -> ProgressLine<W> {
        ProgressLine {
            out,
            live,
            total,
            drawn: 0,
            last_status: None,
        }
    }

    /// `page 2 of 5` or `page 2`.
    fn page_label(&self, page: u32) -> String {
        match self.total {
            Some(total) if total >= page => format!("page {page} of {total}"),
            _ => format!("page {page}"),
        }
    }

    /// Throttled progress from the engine: redraws the in-place line.
    pub fn progress(&mut self, progress: &Progress) {
        if !self.live {
            return;
        }
        let text = match progress.stage {
            Stage::WarmingUp(Some(percent)) => format!("warming up {percent}%"),
            Stage::WarmingUp(None) => String::from("warming up"),
            Stage::Uploading => format!("uploading {} bytes", progress.bytes),
            Stage::Scanning if progress.page == 0 => String::from("starting"),
            Stage::Scanning => {
                let mut text = format!(
                    "{} ({})",
                    self.page_label(progress.page),
                    progress.side.as_str()
                );
                if progress.percent >= 0 {
                    text.push_str(&format!(" {:>3}%", progress.percent));
                }
                if progress.pages_per_minute > 0.0 {
                    text.push_str(&format!("  {:.1} pages/min", progress.pages_per_minute));
                }
                text
            }
        };
        self.draw(&text);
    }

    /// A device status that went through the handler chain. Success
    /// statuses are told (once per status); errors are left to the final
    /// report, which names them.
    pub fn status(&mut self, status: &DeviceStatus) {
        if status.code.is_error() || self.last_status == Some(status.code) {
            return;
        }
        self.last_status = Some(status.code);
        if self.live {
            // The in-place line shows the percent from now on.
            return;
        }
        self.note(&format!("scanner: {}", status.code.description()));
    }

    /// A page is complete and saved in `path`.
    pub fn page_done(&mut self, page: u32, side: Side, path: Option<&Path>) {
        self.last_status = None;
        let mut text = format!("{} ({}) done", self.page_label(page), side.as_str());
        if let Some(path) = path {
            text.push_str(&format!(": {}", path.display()));
        }
        self.note(&text);
    }

    /// The page in progress was abandoned (its file removed).
    pub fn page_abandoned(&mut self, page: u32) {
        self.note(&format!("page {page} abandoned"));
    }

    /// Prints a line of its own, clearing the in-place line first.
    pub fn note(&mut self, text: &str) {
        self.clear();
        // Progress is a courtesy: a closed stderr must not stop a scan.
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Removes the in-place line, if one is on screen.
    pub fn clear(&mut self) {
        if self.drawn > 0 {
            let _ = write!(self.out, "\r{}\r", " ".repeat(self.drawn));
            let _ = self.out.flush();
            self.drawn = 0;
        }
    }

    fn draw(&mut self, text: &str) {
        let width = text.chars().count();
        let pad = self.drawn.saturating_sub(width);
        let _ = write!(self.out, "\r{text}{}", " ".repeat(pad));
        let _ = self.out.flush();
        self.drawn = width;
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

    fn scanning(page: u32, percent: i32) -> Progress {
        Progress {
            stage: Stage::Scanning,
            page,
            pages_total: Some(3),
            side: Side::Front,
            percent,
            bytes: 0,
            pages_per_minute: 12.5,
        }
    }

    fn warming() -> DeviceStatus {
        DeviceStatus {
            code: StatusCode::WARMING_UP,
            percent: Some(10),
            page: 0,
            side: Side::Front,
        }
    }

    #[test]
    fn plain_output_has_one_line_per_event_and_no_carriage_returns() {
        let mut line = ProgressLine::new(Vec::new(), false, Some(3));
        line.status(&warming());
        line.status(&warming());
        line.progress(&scanning(1, 50));
        line.page_done(1, Side::Front, Some(Path::new("p-1.png")));
        line.page_abandoned(2);
        let text = String::from_utf8(line.into_inner()).expect("utf-8");
        assert_eq!(
            text,
            "scanner: the scanner is warming up\n\
             page 1 of 3 (front) done: p-1.png\n\
             page 2 abandoned\n"
        );
    }

    #[test]
    fn live_output_rewrites_one_line_and_clears_it_for_notes() {
        let mut line = ProgressLine::new(Vec::new(), true, Some(3));
        line.progress(&scanning(1, 50));
        line.progress(&scanning(1, 5));
        line.page_done(1, Side::Front, None);
        let text = String::from_utf8(line.into_inner()).expect("utf-8");
        let first = "page 1 of 3 (front)  50%  12.5 pages/min";
        let second = "page 1 of 3 (front)   5%  12.5 pages/min";
        assert_eq!(
            text,
            format!(
                "\r{first}\r{second}\r{}\rpage 1 of 3 (front) done\n",
                " ".repeat(second.len())
            )
        );
    }

    #[test]
    fn unknown_totals_and_percents_are_left_out() {
        let mut line = ProgressLine::new(Vec::new(), true, None);
        let mut progress = scanning(4, -1);
        progress.pages_per_minute = 0.0;
        line.progress(&progress);
        let text = String::from_utf8(line.into_inner()).expect("utf-8");
        assert_eq!(text, "\rpage 4 (front)");
    }
}
