//! Incremental decoding of encoded page bodies (JPEG and PNG) as they arrive.
//!
//! A network scanner (eSCL) sends each page as an encoded body. A
//! [`BodyDecoder`] takes the body in pieces ([`BodyDecoder::push`]) and hands
//! back what those pieces decode to: a [`Decoded::Header`] once, then
//! [`Decoded::Band`]s of rows, top to bottom, and at [`BodyDecoder::finish`]
//! a [`Decoded::End`] with the true height. It does no I/O of its own and
//! knows nothing about devices or downloads; the caller feeds it bytes.
//!
//! Call order: `new`, any number of `push`, one `finish`. After an error the
//! decoder is spent and repeats that error.
//!
//! Determinism: when `push` returns, every row the underlying decoder can
//! produce from the bytes pushed so far has been returned. The decoders
//! (libjpeg through `mozjpeg`, and the `png` crate's row reader) pull from a
//! reader, so each body gets a helper thread whose reader blocks on a channel
//! of pushed chunks; before blocking it reports how many chunks it has used
//! up, and `push` waits for that report. The `png` crate keeps the last
//! 32 KiB it inflated (the deflate window) until the stream ends, so PNG rows
//! lag the input by up to 32 KiB of pixels; libjpeg lags by an MCU row or two. Dropping the decoder closes the
//! channels, which ends the thread; `Drop` joins it.
//!
//! Memory: baseline JPEG and non-interlaced PNG bodies are decoded row by
//! row; besides the decoder's few rows of working state the thread runs at
//! most 16 rows ahead, plus the unconsumed part of the last pushed chunk
//! (and for PNG the 32 KiB window).
//! What one `push` returns is as large as what its bytes decode to.
//! Progressive or multi-scan JPEG and interlaced PNG are held whole; their
//! size is checked against [`DecodeLimits::max_bytes`] from the header
//! before anything is allocated.
//!
//! Formats: gray bodies give [`PixelFormat::Gray8`], colour ones
//! [`PixelFormat::Rgb8`] (CMYK / YCCK JPEG converted, taken as Adobe-style
//! inverted CMYK; PNG palettes expanded, 16-bit reduced to 8, alpha
//! composited onto white, 1/2/4-bit gray widened to `Gray8`). The header's
//! resolution comes from JFIF density or PNG pHYs, and is 0 when the body
//! does not say: the caller then fills in the resolution it asked for.
//!
//! A JPEG whose frame height is 0 takes its height from a DNL marker after
//! the first scan: the header then has `height: None`, rows stream as usual
//! (the last MCU row is held back until the DNL says where the page ends)
//! and `End` gives the DNL height.
//!
//! [`PixelFormat::Gray8`]: crate::raster::PixelFormat::Gray8
//! [`PixelFormat::Rgb8`]: crate::raster::PixelFormat::Rgb8

mod jpeg;
mod png;
#[cfg(test)]
mod tests;
mod worker;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::raster::{Band, PageHeader};
use crate::stream::FileFormat;
use worker::{Event, Failure, Worker};

/// Rows per band at most.
pub const BAND_ROWS: u32 = 64;

/// Resource limits for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest decoded image (or JPEG coefficient buffer) that may be held
    /// whole, in bytes. Only progressive / multi-scan JPEG and interlaced PNG
    /// are held whole; the default is 1 GiB.
    pub max_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> DecodeLimits {
        DecodeLimits { max_bytes: 1 << 30 }
    }
}

/// One piece of output of a [`BodyDecoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Exactly once, before any rows. `height` is `None` when the body does
    /// not say (a JPEG whose height comes from a DNL marker).
    Header(PageHeader),
    /// The next rows, top to bottom, in the header's pixel layout; at most
    /// [`BAND_ROWS`] rows.
    Band(Band),
    /// After the last row: the page's true height.
    End {
        /// Rows in the page.
        height: u32,
    },
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Only JPEG and PNG bodies are decoded as they arrive.
    #[error("{0:?} bodies cannot be decoded as they arrive; only JPEG and PNG can")]
    Unsupported(FileFormat),
    /// The body ended before the last row.
    #[error("{}", truncated_text(format, *rows, *expected))]
    Truncated {
        /// "JPEG" or "PNG".
        format: &'static str,
        /// Rows decoded (and returned) before the data ran out.
        rows: u32,
        /// Rows the header promised, when it said.
        expected: Option<u32>,
    },
    /// The decoder rejected the body.
    #[error("the {format} body is corrupt: {detail}")]
    Corrupt {
        /// "JPEG" or "PNG".
        format: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// The body would have to be held whole and that exceeds the limit.
    #[error("{}", too_large_text(format, *width, *height, *needed, *limit))]
    TooLarge {
        /// "JPEG" or "PNG".
        format: &'static str,
        /// Image width (0 when the decoder did not say).
        width: u32,
        /// Image height (0 when the decoder did not say).
        height: u32,
        /// Bytes it would take (0 when the decoder did not say).
        needed: u64,
        /// [`DecodeLimits::max_bytes`].
        limit: u64,
    },
    /// A progressive or multi-scan JPEG whose height comes from DNL.
    #[error(
        "the JPEG body is progressive or multi-scan with its height in a DNL marker, which cannot be decoded"
    )]
    WholeWithoutHeight,
    /// The helper thread could not be started.
    #[error("the body decoder could not start its thread: {0}")]
    Thread(String),
    /// `push` or `finish` after `finish`.
    #[error("the body was already finished")]
    Finished,
}

fn truncated_text(format: &str, rows: u32, expected: Option<u32>) -> String {
    match expected {
        Some(total) => format!("the {format} body ends after {rows} of {total} rows"),
        None => format!("the {format} body ends after {rows} rows"),
    }
}

fn too_large_text(format: &str, width: u32, height: u32, needed: u64, limit: u64) -> String {
    if needed == 0 {
        format!("the {format} image needs more memory than the limit of {limit} bytes")
    } else {
        format!(
            "the {format} image of {width} x {height} pixels needs {needed} bytes held whole, \
             more than the limit of {limit} bytes"
        )
    }
}

/// Format-specific state on the pushing side.
enum Kind {
    Jpeg {
        scan: jpeg::MarkerScan,
        control: Arc<jpeg::Control>,
    },
    Png,
}

/// Where the decoder is in its call order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Open,
    Finished,
    Failed(DecodeError),
}

/// A push decoder for one encoded page body; see the [module docs](self).
pub struct BodyDecoder {
    kind: Kind,
    format: &'static str,
    limits: DecodeLimits,
    worker: Worker,
    phase: Phase,
    /// The worker has sent `Done`.
    worker_done: bool,
    header: Option<PageHeader>,
    header_sent: bool,
    imcu_rows: u32,
    /// Rows received from the worker but not yet returned.
    pending: Vec<u8>,
    pending_rows: u32,
    /// Rows returned so far.
    rows_out: u32,
}

impl BodyDecoder {
    /// A decoder for a body in `format` (JPEG or PNG).
    pub fn new(format: FileFormat, limits: DecodeLimits) -> Result<BodyDecoder, DecodeError> {
        let thread = |e: std::io::Error| DecodeError::Thread(e.to_string());
        let (kind, name, worker) = match format {
            FileFormat::Jpeg => {
                let control = Arc::new(jpeg::Control::default());
                let shared = Arc::clone(&control);
                let worker = Worker::spawn("jpeg body", move |reader, sink| {
                    jpeg::decode(reader, sink, shared)
                })
                .map_err(thread)?;
                let scan = jpeg::MarkerScan::new(limits.max_bytes);
                (Kind::Jpeg { scan, control }, "JPEG", worker)
            }
            FileFormat::Png => {
                let max = limits.max_bytes;
                let worker = Worker::spawn("png body", move |reader, sink| {
                    png::decode(reader, sink, max)
                })
                .map_err(thread)?;
                (Kind::Png, "PNG", worker)
            }
            other => return Err(DecodeError::Unsupported(other)),
        };
        Ok(BodyDecoder {
            kind,
            format: name,
            limits,
            worker,
            phase: Phase::Open,
            worker_done: false,
            header: None,
            header_sent: false,
            imcu_rows: 1,
            pending: Vec::new(),
            pending_rows: 0,
            rows_out: 0,
        })
    }

    /// Feeds the next bytes of the body. When this returns, every row that
    /// can be decoded from the bytes given so far has been returned. Bytes
    /// after the end of the image are ignored.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
        self.check_open()?;
        let result = self.push_inner(bytes);
        self.settle(result)
    }

    /// The body is complete. Returns the remaining rows and
    /// [`Decoded::End`], or an error ([`DecodeError::Truncated`] when the
    /// body ends before the last row).
    pub fn finish(&mut self) -> Result<Vec<Decoded>, DecodeError> {
        self.check_open()?;
        let result = self.finish_inner();
        self.phase = Phase::Finished;
        self.settle(result)
    }

    fn check_open(&self) -> Result<(), DecodeError> {
        match &self.phase {
            Phase::Open => Ok(()),
            Phase::Finished => Err(DecodeError::Finished),
            Phase::Failed(error) => Err(error.clone()),
        }
    }

    fn settle(
        &mut self,
        result: Result<Vec<Decoded>, DecodeError>,
    ) -> Result<Vec<Decoded>, DecodeError> {
        if let Err(error) = &result {
            self.phase = Phase::Failed(error.clone());
        }
        result
    }

    fn push_inner(&mut self, bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
        if bytes.is_empty() || self.worker_done {
            return Ok(Vec::new());
        }
        let forward = match &mut self.kind {
            Kind::Jpeg { scan, control } => {
                let mut forward = Vec::with_capacity(bytes.len());
                let scanned = scan.feed(bytes, &mut forward);
                // Tell the worker before it can see the bytes that matter.
                if let Some(height) = scan.dnl_height {
                    control.limit.store(height, Ordering::Release);
                } else if scan.first_scan_dnl == Some(false)
                    && scan.frame.is_some_and(|f| f.height == 0)
                {
                    // No DNL after the first scan: the height never comes,
                    // and libjpeg would invent rows; stop where it is.
                    control.limit.store(0, Ordering::Release);
                }
                if scan.whole == Some(true) {
                    control.whole.store(true, Ordering::Release);
                }
                scanned.map_err(|issue| match issue {
                    jpeg::ScanIssue::TooLarge(frame) => DecodeError::TooLarge {
                        format: "JPEG",
                        width: frame.width,
                        height: frame.height,
                        needed: frame.whole_bytes(),
                        limit: self.limits.max_bytes,
                    },
                    jpeg::ScanIssue::WholeWithoutHeight => DecodeError::WholeWithoutHeight,
                })?;
                forward
            }
            Kind::Png => bytes.to_vec(),
        };
        if !forward.is_empty() && self.worker.send(forward) {
            self.collect(false)?;
        }
        let mut out = Vec::new();
        self.release(&mut out);
        Ok(out)
    }

    fn finish_inner(&mut self) -> Result<Vec<Decoded>, DecodeError> {
        if let Kind::Jpeg { scan, .. } = &mut self.kind {
            let mut rest = Vec::new();
            scan.flush(&mut rest);
            if !rest.is_empty() && !self.worker_done && self.worker.send(rest) {
                self.collect(false)?;
            }
        }
        if !self.worker_done {
            self.worker.end();
            self.collect(true)?;
        }
        let mut out = Vec::new();
        let expected = self.expected_height();
        let height = match expected {
            Some(height) => height,
            None => return Err(self.truncated()),
        };
        self.release(&mut out);
        if self.rows_out < height || !self.header_sent {
            return Err(self.truncated());
        }
        out.push(Decoded::End { height });
        Ok(out)
    }

    /// The page height, once known: the header's, or the DNL height.
    fn expected_height(&self) -> Option<u32> {
        if self.dnl_mode() {
            match &self.kind {
                Kind::Jpeg { scan, .. } => scan.dnl_height,
                Kind::Png => None,
            }
        } else {
            self.header.and_then(|h| h.height)
        }
    }

    /// The JPEG frame height is 0: the DNL marker gives it.
    fn dnl_mode(&self) -> bool {
        match &self.kind {
            Kind::Jpeg { scan, .. } => scan.frame.is_some_and(|f| f.height == 0),
            Kind::Png => false,
        }
    }

    fn truncated(&self) -> DecodeError {
        DecodeError::Truncated {
            format: self.format,
            rows: self.rows_out,
            expected: if self.dnl_mode() {
                None
            } else {
                self.header.and_then(|h| h.height)
            },
        }
    }

    /// Takes the worker's events until it is hungry for more than it was
    /// given (or, with `to_end`, until it stops).
    fn collect(&mut self, to_end: bool) -> Result<(), DecodeError> {
        loop {
            let Some(event) = self.worker.next_event() else {
                self.worker_done = true;
                return Err(DecodeError::Corrupt {
                    format: self.format,
                    detail: "the decoder stopped unexpectedly".to_owned(),
                });
            };
            match event {
                Event::Header { header, imcu_rows } => {
                    let header = if self.dnl_mode() {
                        PageHeader {
                            height: None,
                            ..header
                        }
                    } else {
                        header
                    };
                    self.header = Some(header);
                    self.imcu_rows = imcu_rows.max(1);
                }
                Event::Row(row) => {
                    let expected = self.header.map_or(0, |h| h.row_bytes());
                    if row.len() != expected {
                        return Err(DecodeError::Corrupt {
                            format: self.format,
                            detail: "a row of the wrong length".to_owned(),
                        });
                    }
                    self.pending.extend_from_slice(&row);
                    self.pending_rows += 1;
                }
                Event::Hungry { chunks } => {
                    if !to_end && chunks >= self.worker.sent() {
                        return Ok(());
                    }
                }
                Event::Done => {
                    self.worker_done = true;
                    return Ok(());
                }
                Event::Failed(failure) => {
                    self.worker_done = true;
                    return Err(self.error_from(failure));
                }
            }
        }
    }

    fn error_from(&self, failure: Failure) -> DecodeError {
        match failure {
            Failure::Truncated | Failure::Abandoned => self.truncated(),
            Failure::Corrupt(detail) => DecodeError::Corrupt {
                format: self.format,
                detail,
            },
            Failure::TooLarge {
                width,
                height,
                needed,
            } => DecodeError::TooLarge {
                format: self.format,
                width,
                height,
                needed,
                limit: self.limits.max_bytes,
            },
        }
    }

    /// Moves the rows that may be returned from `pending` into bands.
    fn release(&mut self, out: &mut Vec<Decoded>) {
        let Some(header) = self.header else {
            return;
        };
        if !self.header_sent {
            out.push(Decoded::Header(header));
            self.header_sent = true;
        }
        let received = self.rows_out + self.pending_rows;
        let releasable_to = if self.dnl_mode() {
            match self.expected_height() {
                Some(height) => received.min(height),
                // A row of a MCU row proves that the page reaches that MCU
                // row, so every row above it is a real row.
                None => received.saturating_sub(1) / self.imcu_rows * self.imcu_rows,
            }
        } else {
            received
        };
        let row_bytes = header.row_bytes();
        while self.rows_out < releasable_to {
            let rows = (releasable_to - self.rows_out).min(BAND_ROWS);
            let data: Vec<u8> = self.pending.drain(..rows as usize * row_bytes).collect();
            out.push(Decoded::Band(Band {
                first_row: self.rows_out,
                rows,
                data,
            }));
            self.rows_out += rows;
            self.pending_rows -= rows;
        }
        if let Some(height) = self.expected_height()
            && self.rows_out >= height
        {
            // Rows past the DNL height are discarded.
            self.pending.clear();
            self.pending_rows = 0;
        }
    }
}

/// Decodes `bytes` as a JPEG and as a PNG body, pushed in two pieces, and
/// ignores the outcome: the fuzz target and its corpus replay call this to
/// check that no input panics or hangs.
pub fn fuzz_one(bytes: &[u8]) {
    let limits = DecodeLimits {
        max_bytes: 64 << 20,
    };
    let half = bytes.len() / 2;
    for format in [FileFormat::Jpeg, FileFormat::Png] {
        let Ok(mut decoder) = BodyDecoder::new(format, limits) else {
            continue;
        };
        let _ = decoder.push(&bytes[..half]);
        let _ = decoder.push(&bytes[half..]);
        let _ = decoder.finish();
    }
}
