//! The streams a transfer reads and writes around the application's
//! destination: the upload source as a driver reads it, the counted
//! destination that publishes a stream's length, the pass-through encoder
//! for a stored file's own bytes, and the observer tap behind the filter.

use super::record::{DestinationLog, Recorder};
use super::*;
/// The application's upload source as the driver reads it.
pub(super) struct UploadReader<'r> {
    pub(super) source: &'r mut dyn Read,
    pub(super) size: Option<u64>,
    pub(super) read: u64,
    pub(super) item: String,
    pub(super) cancel: CancelToken,
    pub(super) on_message: &'r mut dyn FnMut(&TransferMessage) -> Flow,
    pub(super) recorder: &'r mut Recorder,
    pub(super) io_error: Option<io::Error>,
}

impl UploadSource for UploadReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, DriverError> {
        if self.cancel.is_cancelled() {
            return Err(DriverError::Cancelled);
        }
        let n = loop {
            match self.source.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let text = e.to_string();
                    self.io_error = Some(e);
                    return Err(DriverError::Source(text));
                }
            }
        };
        if n == 0 {
            if self.read == 0 {
                return Err(DriverError::Source(String::from("the file is empty")));
            }
            return Ok(0);
        }
        self.read += n as u64;
        let percent = match self.size {
            Some(size) if size > 0 => ((self.read * 100) / size).min(100) as i32,
            _ => -1,
        };
        let message = TransferMessage {
            kind: MessageKind::Status,
            item: self.item.clone(),
            page: 1,
            side: Side::Front,
            percent,
            bytes: self.read,
        };
        let answer = (self.on_message)(&message);
        self.recorder
            .record(TraceEvent::Message { message, answer });
        if answer == Flow::Cancel {
            self.cancel.cancel();
        }
        Ok(n)
    }

    fn size(&self) -> Option<u64> {
        self.size
    }
}

/// The application's destination as the layer writes it: publishes the
/// stream's length (for STATUS) and notes every operation for the trace
/// and the checker, so they see what the destination really got.
pub(super) struct Counted {
    pub(super) inner: Box<dyn Destination>,
    pub(super) pos: u64,
    pub(super) len: u64,
    pub(super) shared: Arc<AtomicU64>,
    pub(super) log: DestinationLog,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        if self.pos > self.len {
            self.len = self.pos;
            self.shared.store(self.len, Ordering::Relaxed);
        }
        if n > 0 {
            self.log.note(DestinationOp::Wrote { len: self.len });
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for Counted {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(pos)?;
        Ok(self.pos)
    }
}

impl Destination for Counted {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)?;
        self.len = len;
        self.shared.store(len, Ordering::Relaxed);
        self.log.note(DestinationOp::Truncated { len });
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.inner.complete()?;
        self.log.note(DestinationOp::Completed);
        Ok(())
    }
    fn discard(&mut self) {
        self.inner.discard();
        self.log.note(DestinationOp::Discarded);
    }
    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        self.inner.checkpoint(pages)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Copies an item's own bytes (a stored file) into the stream untouched.
pub(super) struct PassThrough {
    pub(super) dest: Box<dyn Destination>,
    pub(super) pages: u32,
}

impl PageEncoder for PassThrough {
    fn begin_page(&mut self, _header: &PageHeader) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a stored file arrives encoded, not as rows",
        ))
    }
    fn write_band(&mut self, _band: &Band) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a stored file arrives encoded, not as rows",
        ))
    }
    fn accepts_encoded(&self, _format: FileFormat) -> bool {
        true
    }
    fn begin_encoded(&mut self, _: FileFormat, _: Option<&PageHeader>) -> io::Result<()> {
        Ok(())
    }
    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.dest.write_all(bytes)
    }
    fn end_page(&mut self) -> io::Result<()> {
        self.pages += 1;
        self.dest.flush()
    }
    fn abandon_page(&mut self) -> io::Result<()> {
        self.dest.set_len(0)?;
        self.dest.seek(SeekFrom::Start(0)).map(|_| ())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn pages(&self) -> u32 {
        self.pages
    }
    fn destination(&mut self) -> &mut dyn Destination {
        self.dest.as_mut()
    }
    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.dest
    }
}

/// Shows the observer the rows after the filter's point operations.
pub(super) struct ObserverTap(pub(super) Arc<dyn PageObserver>);

impl BandTap for ObserverTap {
    fn band(&self, band: &Band) {
        self.0.filtered_band(band);
    }
}

/// The stream currently open.
pub(super) struct OpenStream {
    pub(super) encoder: Filter,
    pub(super) bytes: Arc<AtomicU64>,
    pub(super) item: String,
    /// Per-page: the page this stream holds. Multipage: the last page begun.
    pub(super) page: u32,
    pub(super) side: Side,
    /// Per-page: the page is complete, END_OF_STREAM is due.
    pub(super) complete: bool,
}
