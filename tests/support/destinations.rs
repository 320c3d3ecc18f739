//! The in-memory destination of the tests: a stream that a transfer, an
//! encoder or a callback writes into while the test keeps a handle on it,
//! so that its bytes, its end (completed or discarded) and every byte ever
//! written to it can be read afterwards. It can also play a full disk, and
//! it records the document's checkpoints (one per complete page).
//! Real files (`FileDestination`) are not here; `tests/output_files.rs`
//! tests them directly.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use streamscan::transfer::Destination;

/// A destination whose state the test can read after handing it over
/// (clones share one state).
#[derive(Clone, Default)]
pub struct SharedStream {
    pub state: Arc<Mutex<StreamState>>,
}

/// What a [`SharedStream`] holds.
#[derive(Default)]
pub struct StreamState {
    /// The stream's content.
    pub bytes: Vec<u8>,
    /// The write position.
    pub pos: usize,
    /// Every byte ever written, also those a discard or a shorter
    /// `set_len` threw away since.
    pub written: u64,
    /// `complete` was called.
    pub completed: bool,
    /// `discard` was called (it also empties the stream).
    pub discarded: bool,
    /// The disk holds this many bytes: a write past them stores what
    /// fits (a short write) and the next one fails.
    pub limit: Option<usize>,
    /// (length, pages) at every checkpoint.
    pub checkpoints: Vec<(u64, u32)>,
}

impl SharedStream {
    /// A stream on a disk of `limit` bytes: what does not fit fails with
    /// "No space left on device" (after a short write of what fits, as a
    /// file system does).
    pub fn with_limit(limit: usize) -> SharedStream {
        let stream = SharedStream::default();
        stream.state().limit = Some(limit);
        stream
    }

    /// The stream's state, locked.
    pub fn state(&self) -> MutexGuard<'_, StreamState> {
        self.state.lock().expect("stream lock")
    }

    /// The stream's content now.
    pub fn bytes(&self) -> Vec<u8> {
        self.state().bytes.clone()
    }

    /// True once `complete` was called.
    pub fn is_completed(&self) -> bool {
        self.state().completed
    }

    /// True once `discard` was called.
    pub fn is_discarded(&self) -> bool {
        self.state().discarded
    }

    /// Every byte ever written to the stream.
    pub fn written(&self) -> u64 {
        self.state().written
    }

    /// The stream's length and page count at every checkpoint so far.
    pub fn checkpoints(&self) -> Vec<(u64, u32)> {
        self.state().checkpoints.clone()
    }
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.state();
        let mut buf = buf;
        if let Some(limit) = s.limit
            && s.pos + buf.len() > limit
        {
            let room = limit.saturating_sub(s.pos);
            if room == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "No space left on device",
                ));
            }
            buf = &buf[..room];
        }
        let end = s.pos + buf.len();
        if s.bytes.len() < end {
            s.bytes.resize(end, 0);
        }
        let pos = s.pos;
        s.bytes[pos..end].copy_from_slice(buf);
        s.pos = end;
        s.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SharedStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut s = self.state();
        let new = match pos {
            SeekFrom::Start(p) => p as i64,
            SeekFrom::End(d) => s.bytes.len() as i64 + d,
            SeekFrom::Current(d) => s.pos as i64 + d,
        };
        if new < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "negative seek"));
        }
        s.pos = new as usize;
        Ok(new as u64)
    }
}

impl Destination for SharedStream {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| io::Error::other("length too large"))?;
        self.state().bytes.resize(len, 0);
        Ok(())
    }
    fn complete(&mut self) -> io::Result<()> {
        self.state().completed = true;
        Ok(())
    }
    fn discard(&mut self) {
        let mut s = self.state();
        s.discarded = true;
        s.bytes.clear();
        s.pos = 0;
    }
    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        let mut s = self.state();
        let len = s.bytes.len() as u64;
        s.checkpoints.push((len, pages));
        Ok(())
    }
}
