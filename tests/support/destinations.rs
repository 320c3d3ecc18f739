//! The in-memory destination of the tests: a stream that a transfer, an
//! encoder or a callback writes into while the test keeps a handle on it,
//! so that its bytes, its end (completed or discarded) and every byte ever
//! written to it can be read afterwards. It can also play a full disk.
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
    /// Fail writes once the stream would exceed this many bytes.
    pub limit: Option<usize>,
}

impl SharedStream {
    /// A stream that fails every write with "No space left on device"
    /// once it would hold more than `limit` bytes.
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
}

impl Write for SharedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.state();
        if let Some(limit) = s.limit
            && s.pos + buf.len() > limit
        {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device",
            ));
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
}
