//! The helper thread that turns a pull decoder into a push decoder.
//!
//! libjpeg (through `mozjpeg`) and the `png` crate's `Reader` read their input
//! from a [`BufRead`]. Here that reader is a [`ChunkReader`] on a thread of its
//! own, fed byte chunks over a channel by [`Worker::send`]. Before it blocks
//! for the next chunk it reports [`Event::Hungry`] with the number of chunks it
//! has used up, so the pushing side knows that every row decodable from the
//! bytes so far has been sent. This module knows nothing about image formats;
//! `jpeg.rs` and `png.rs` supply the decoding loop.

use std::cell::Cell;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::raster::PageHeader;

/// Rows the worker may have decoded ahead of the pushing side: the only rows
/// held besides the decoder's own buffers.
const ROWS_IN_FLIGHT: usize = 16;

/// What the pushing side hands the worker.
pub(super) enum Chunk {
    /// The next bytes of the body.
    Data(Vec<u8>),
    /// The body is complete: the reader reports end of input from now on.
    End,
}

/// What the worker reports, in order.
pub(super) enum Event {
    /// The page header; `imcu_rows` is the row granularity of the entropy
    /// coding (8 to 32 for JPEG, 1 for PNG).
    Header { header: PageHeader, imcu_rows: u32 },
    /// The next decoded row, in the header's layout.
    Row(Vec<u8>),
    /// Every one of the first `chunks` chunks is used up; the worker waits.
    Hungry { chunks: u64 },
    /// All rows are out; the worker has stopped.
    Done,
    /// Decoding failed; the worker has stopped.
    Failed(Failure),
}

/// Why the worker stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// Input ran out before the last row.
    Truncated,
    /// The decoder rejected the body; the text says why.
    Corrupt(String),
    /// The body needs an image held whole that is larger than the limit.
    TooLarge {
        width: u32,
        height: u32,
        needed: u64,
    },
    /// The pushing side went away; nobody reads the answer.
    Abandoned,
}

/// Input bookkeeping shared by the reader and the decoding loop (one thread).
#[derive(Default)]
struct InputState {
    /// The reader has reported end of input to the decoder.
    eof: Cell<bool>,
    /// Bytes handed to the decoder so far.
    bytes: Cell<u64>,
}

/// A [`BufRead`] over the chunks pushed so far; blocks when they are used up.
pub(super) struct ChunkReader {
    chunks: Receiver<Chunk>,
    events: SyncSender<Event>,
    current: Vec<u8>,
    pos: usize,
    taken: u64,
    ended: bool,
    state: Rc<InputState>,
}

fn abandoned() -> io::Error {
    io::Error::other("the body decoder was dropped")
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.current.len() {
            if self.ended {
                self.state.eof.set(true);
                return Ok(&[]);
            }
            let hungry = Event::Hungry { chunks: self.taken };
            if self.events.send(hungry).is_err() {
                return Err(abandoned());
            }
            match self.chunks.recv() {
                Ok(Chunk::Data(data)) => {
                    self.taken += 1;
                    let total = self.state.bytes.get() + data.len() as u64;
                    self.state.bytes.set(total);
                    self.current = data;
                    self.pos = 0;
                }
                Ok(Chunk::End) => self.ended = true,
                Err(_) => return Err(abandoned()),
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.current.len());
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The `png` decoder asks for `Seek` but never seeks; a pushed body cannot.
impl Seek for ChunkReader {
    fn seek(&mut self, _pos: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a pushed body cannot seek",
        ))
    }
}

/// Where the decoding loop sends the header and rows.
pub(super) struct RowSink {
    events: SyncSender<Event>,
    state: Rc<InputState>,
}

impl RowSink {
    /// Sends the page header.
    pub(super) fn header(&self, header: PageHeader, imcu_rows: u32) -> Result<(), Failure> {
        self.events
            .send(Event::Header { header, imcu_rows })
            .map_err(|_| Failure::Abandoned)
    }

    /// Sends one decoded row. A row produced after input ran out is padding
    /// the decoder made up (libjpeg does this), so it is refused: Truncated.
    pub(super) fn row(&self, row: Vec<u8>) -> Result<(), Failure> {
        if self.state.eof.get() {
            return Err(Failure::Truncated);
        }
        self.events
            .send(Event::Row(row))
            .map_err(|_| Failure::Abandoned)
    }

    /// Bytes of the body handed to the decoder so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.state.bytes.get()
    }
}

/// The handle the pushing side keeps: channel ends and the thread.
pub(super) struct Worker {
    chunks: Option<Sender<Chunk>>,
    events: Option<Receiver<Event>>,
    thread: Option<JoinHandle<()>>,
    sent: u64,
}

impl Worker {
    /// Starts `decode` on a new thread, reading from a [`ChunkReader`].
    pub(super) fn spawn<F>(name: &str, decode: F) -> io::Result<Worker>
    where
        F: FnOnce(ChunkReader, &RowSink) -> Result<(), Failure> + Send + 'static,
    {
        let (chunk_tx, chunk_rx) = channel();
        let (event_tx, event_rx) = sync_channel(ROWS_IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(chunk_rx, event_tx, decode))?;
        Ok(Worker {
            chunks: Some(chunk_tx),
            events: Some(event_rx),
            thread: Some(thread),
            sent: 0,
        })
    }

    /// Hands the worker the next bytes (false if it has stopped already).
    pub(super) fn send(&mut self, data: Vec<u8>) -> bool {
        let Some(chunks) = &self.chunks else {
            return false;
        };
        let ok = chunks.send(Chunk::Data(data)).is_ok();
        if ok {
            self.sent += 1;
        }
        ok
    }

    /// Tells the worker the body is complete.
    pub(super) fn end(&mut self) {
        if let Some(chunks) = &self.chunks {
            // A worker that has stopped needs no end; ignoring is right.
            let _ = chunks.send(Chunk::End);
        }
    }

    /// Chunks sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.sent
    }

    /// Waits for the next event; `None` if the thread is gone without a word.
    pub(super) fn next_event(&self) -> Option<Event> {
        self.events.as_ref()?.recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing both channels wakes the thread wherever it waits: the
        // reader fails (libjpeg unwinds, png returns an error) and any send
        // of a row fails. Then it ends promptly and can be joined.
        self.chunks = None;
        self.events = None;
        if let Some(thread) = self.thread.take() {
            // A panic on the worker was already turned into an event.
            let _ = thread.join();
        }
    }
}

fn run<F>(chunks: Receiver<Chunk>, events: SyncSender<Event>, decode: F)
where
    F: FnOnce(ChunkReader, &RowSink) -> Result<(), Failure>,
{
    let state = Rc::new(InputState::default());
    let reader = ChunkReader {
        chunks,
        events: events.clone(),
        current: Vec::new(),
        pos: 0,
        taken: 0,
        ended: false,
        state: Rc::clone(&state),
    };
    let sink = RowSink {
        events: events.clone(),
        state: Rc::clone(&state),
    };
    // libjpeg reports fatal errors by unwinding (mozjpeg's error manager
    // resumes a Rust unwind carrying the message); catch it here.
    let outcome = catch_unwind(AssertUnwindSafe(|| decode(reader, &sink)));
    let result = match outcome {
        Ok(result) => result,
        Err(payload) => Err(Failure::Corrupt(panic_text(payload.as_ref()))),
    };
    let event = match result {
        Ok(()) => Event::Done,
        Err(Failure::Corrupt(_)) if state.eof.get() => Event::Failed(Failure::Truncated),
        Err(Failure::Abandoned) => return,
        Err(failure) => Event::Failed(failure),
    };
    // Nobody listening means the decoder was dropped: nothing to tell.
    let _ = events.send(event);
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "the decoder stopped unexpectedly".to_owned()
    };
    text.trim_start_matches("libjpeg fatal error: ").to_owned()
}
