//! Files as destination streams: a page is written into a hidden temporary
//! file next to its final name and only takes that name once complete, so
//! a cancelled or failed page never leaves a half-written file behind, and
//! an existing file is never replaced unless overwriting was asked for.
//!
//! A temporary file is named `.NAME.part-PID-N` (see [`final_name_of`])
//! and its writer holds an advisory lock on it (`flock` on Unix) for as
//! long as it is open, so that another process can tell a scan still
//! running from a temporary file left over by one that crashed (see
//! [`leftover`](super::leftover)). A multipage document is
//! [checkpointed](Destination::checkpoint) after every complete page: the
//! destination then remembers how long the document of those pages is.
//!
//! Temporary files still being written are also kept in a process-wide
//! list, so that a program that must exit at once (a second Ctrl+C) can
//! settle them with [`settle_temporaries`]: a document is cut back to its
//! last checkpoint and takes its final name, a page in progress is
//! removed.
//!
//! This is the only place in `output` that writes files; `leftover` reads
//! and recovers the temporary files of other processes.

use crate::stream::Destination;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Tells temporary names of one process apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names to try before giving up.
const TEMP_ATTEMPTS: u32 = 100;

/// Bytes buffered before they go to the file.
const BUFFER: usize = 256 * 1024;

/// What separates the final name from the process id and counter in a
/// temporary file's name.
const PART: &str = ".part-";

/// The temporary files of every live destination of this process.
struct Temporaries {
    files: Vec<Arc<Mutex<Temp>>>,
    /// Set by [`settle_temporaries`]: no new temporary file may appear.
    closed: bool,
}

/// Temporary files not yet completed nor removed.
static LIVE: Mutex<Temporaries> = Mutex::new(Temporaries {
    files: Vec::new(),
    closed: false,
});

/// Locks `mutex`, also after a panic elsewhere (the data stays usable:
/// every update of it is a single assignment).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forgets a temporary file that was completed or removed.
fn unregister(temp: &Arc<Mutex<Temp>>) {
    lock(&LIVE).files.retain(|t| !Arc::ptr_eq(t, temp));
}

/// The final name a temporary file's name stands for: `a.pdf` for
/// `.a.pdf.part-123-4`; `None` for any other name.
pub fn final_name_of(temp_name: &OsStr) -> Option<OsString> {
    let name = temp_name.to_str()?;
    let rest = name.strip_prefix('.')?;
    let (final_name, tail) = rest.rsplit_once(PART)?;
    let (pid, counter) = tail.split_once('-')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (!final_name.is_empty() && digits(pid) && digits(counter)).then(|| OsString::from(final_name))
}

/// Gives `from` the name `to`, never replacing a file that exists at `to`
/// unless `overwrite` is true.
pub(crate) fn move_into_place(from: &Path, to: &Path, overwrite: bool) -> io::Result<()> {
    if overwrite {
        return fs::rename(from, to).map_err(|err| with_path(err, "cannot write", to));
    }
    // A hard link fails instead of replacing an existing file.
    match fs::hard_link(from, to) {
        Ok(()) => fs::remove_file(from).map_err(|err| with_path(err, "cannot remove", from)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(exists_error(to)),
        Err(link_err) => {
            // File systems without hard links (FAT, some network shares):
            // check, then rename.
            if fs::symlink_metadata(to).is_ok() {
                return Err(exists_error(to));
            }
            fs::rename(from, to).map_err(|err| {
                with_path(
                    io::Error::new(err.kind(), format!("{err} (hard link: {link_err})")),
                    "cannot write",
                    to,
                )
            })
        }
    }
}

/// Makes a new name in `dir` durable. Some file systems refuse to sync a
/// directory; the file's data is already safe then.
fn sync_dir_of(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// A document kept by [`settle_temporaries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Where the document is now: its final name, or its temporary name
    /// when the final name could not be taken (then it is a leftover that
    /// `streamscan recover` keeps).
    pub path: PathBuf,
    /// Its complete pages.
    pub pages: u32,
    /// Why it kept its temporary name, when it did.
    pub problem: Option<String>,
}

/// Settles the temporary file of every destination still being written,
/// and refuses to create new ones from then on: a document that reached
/// a [checkpoint](Destination::checkpoint) is cut back to it (its last
/// complete page) and takes its final name; anything else (a page in
/// progress, a document without a complete page) is removed. Returns the
/// documents kept.
///
/// For a process about to exit at once (a second Ctrl+C) that cannot let
/// its jobs wind down: a writer still running fails from then on, and
/// [`FileDestination::create`] fails, so call this only right before
/// exiting. Completed files are not touched.
pub fn settle_temporaries() -> Vec<Settled> {
    let files = {
        let mut live = lock(&LIVE);
        live.closed = true;
        std::mem::take(&mut live.files)
    };
    let mut kept = Vec::new();
    for temp in files {
        let mut temp = lock(&temp);
        match temp.checkpoint {
            Some((len, pages)) if pages > 0 && temp.file.is_some() => {
                kept.push(temp.settle(len, pages));
            }
            _ => temp.remove(),
        }
    }
    kept
}

/// The state of one temporary file, shared by its destination and the
/// process-wide list (so that a program exiting at once can settle it
/// while a writer may still be using it).
struct Temp {
    final_path: PathBuf,
    temp_path: PathBuf,
    overwrite: bool,
    /// The open, locked temporary file; `None` once completed, discarded
    /// or settled.
    file: Option<BufWriter<File>>,
    /// Why `file` is gone.
    closed: &'static str,
    /// Length and page count of the document at its last checkpoint.
    checkpoint: Option<(u64, u32)>,
}

impl Temp {
    fn open_file(&mut self) -> io::Result<&mut BufWriter<File>> {
        let closed = self.closed;
        let path = &self.final_path;
        self.file.as_mut().ok_or_else(|| {
            io::Error::other(format!("the stream for {} was {closed}", path.display()))
        })
    }

    /// Forgets what the buffer holds, without writing it.
    fn drop_buffer(&mut self) {
        if let Some(writer) = self.file.take() {
            let (file, _unwritten) = writer.into_parts();
            self.file = Some(BufWriter::with_capacity(BUFFER, file));
        }
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let writer = self.open_file()?;
        if let Err(err) = writer.flush() {
            // A full disk keeps the bytes it refused in the buffer, and
            // they would be refused again. They start at the file's own
            // position; when the stream is cut before that, they are not
            // wanted anyway.
            let at = writer.get_mut().stream_position()?;
            if len > at {
                return Err(err);
            }
            self.drop_buffer();
        }
        self.open_file()?.get_ref().set_len(len)
    }

    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        let writer = self.open_file()?;
        writer.flush()?;
        let file = writer.get_ref();
        file.sync_data()?;
        let len = file.metadata()?.len();
        self.checkpoint = Some((len, pages));
        Ok(())
    }

    fn complete(&mut self) -> io::Result<()> {
        let writer = self.open_file()?;
        writer.flush()?;
        writer.get_ref().sync_all()?;
        move_into_place(&self.temp_path, &self.final_path, self.overwrite)?;
        // Closing the file releases the lock.
        self.file = None;
        self.closed = "completed already";
        sync_dir_of(&self.final_path);
        Ok(())
    }

    /// Removes the temporary file (best effort: it may be gone already).
    fn remove(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp_path);
        }
        self.closed = "discarded already";
    }

    /// Cuts the document back to `len` bytes (`pages` pages) and gives it
    /// its final name.
    fn settle(&mut self, len: u64, pages: u32) -> Settled {
        self.drop_buffer();
        let result = self.open_file().and_then(|writer| {
            let file = writer.get_ref();
            file.set_len(len)?;
            file.sync_all()
        });
        let result = result
            .and_then(|()| move_into_place(&self.temp_path, &self.final_path, self.overwrite));
        self.file = None;
        self.closed = "settled: the program is exiting";
        match result {
            Ok(()) => {
                sync_dir_of(&self.final_path);
                Settled {
                    path: self.final_path.clone(),
                    pages,
                    problem: None,
                }
            }
            Err(err) => Settled {
                path: self.temp_path.clone(),
                pages,
                problem: Some(err.to_string()),
            },
        }
    }
}

/// A file that receives one page or document: written under a temporary
/// name, moved to its final name by [`Destination::complete`], removed by
/// [`Destination::discard`] or when dropped unfinished.
pub struct FileDestination {
    temp: Arc<Mutex<Temp>>,
    final_path: PathBuf,
    temp_path: PathBuf,
    /// Position of the next byte, tracked so asking for it costs nothing.
    pos: u64,
}

impl std::fmt::Debug for FileDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDestination")
            .field("final_path", &self.final_path)
            .field("temp_path", &self.temp_path)
            .finish_non_exhaustive()
    }
}

/// An error that names `path`, keeping the kind of `err`.
fn with_path(err: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

/// The error when a finished page would replace an existing file.
fn exists_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} already exists (choose another name or allow overwriting)",
            path.display()
        ),
    )
}

impl FileDestination {
    /// Opens a temporary file that will become `path`, and locks it.
    ///
    /// Fails with [`io::ErrorKind::AlreadyExists`] when `path` exists and
    /// `overwrite` is false (checked again when the page completes).
    pub fn create(path: &Path, overwrite: bool) -> io::Result<FileDestination> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", path.display()),
            )
        })?;
        if !overwrite && fs::symlink_metadata(path).is_ok() {
            return Err(exists_error(path));
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Held while the file is created, so that settle_temporaries()
        // sees every temporary file that exists.
        let mut live = lock(&LIVE);
        if live.closed {
            return Err(io::Error::other(format!(
                "not writing {}: the program is exiting",
                path.display()
            )));
        }
        let mut last_error = None;
        for _ in 0..TEMP_ATTEMPTS {
            let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!("{PART}{}-{counter}", std::process::id()));
            let temp_path = dir.join(temp_name);
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&temp_path)
            {
                Ok(file) => file,
                // Left over by another process that reused our pid.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    last_error = Some(err);
                    continue;
                }
                Err(err) => return Err(with_path(err, "cannot create a temporary file in", &dir)),
            };
            if let Err(err) = file.try_lock() {
                // `streamscan recover` opened the brand-new file in the
                // instant before it was locked: leave it to it.
                let err = match err {
                    TryLockError::WouldBlock => {
                        io::Error::new(io::ErrorKind::WouldBlock, "locked by another program")
                    }
                    TryLockError::Error(err) => err,
                };
                last_error = Some(with_path(err, "cannot lock", &temp_path));
                continue;
            }
            let temp = Arc::new(Mutex::new(Temp {
                final_path: path.to_path_buf(),
                temp_path: temp_path.clone(),
                overwrite,
                file: Some(BufWriter::with_capacity(BUFFER, file)),
                closed: "",
                checkpoint: None,
            }));
            live.files.push(temp.clone());
            return Ok(FileDestination {
                temp,
                final_path: path.to_path_buf(),
                temp_path,
                pos: 0,
            });
        }
        let err = last_error.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(with_path(err, "cannot create a temporary file in", &dir))
    }

    /// The name the file takes when complete.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// The temporary file written until the page completes.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    fn temp(&self) -> MutexGuard<'_, Temp> {
        lock(&self.temp)
    }
}

impl Write for FileDestination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.temp().open_file()?.write(buf)?;
        self.pos += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp().open_file()?.flush()
    }
}

impl Seek for FileDestination {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = self.temp().open_file()?.seek(pos)?;
        self.pos = new;
        Ok(new)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        self.temp().open_file()?;
        Ok(self.pos)
    }
}

impl Destination for FileDestination {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.temp().set_len(len)
    }

    fn complete(&mut self) -> io::Result<()> {
        self.temp().complete()?;
        unregister(&self.temp);
        Ok(())
    }

    fn discard(&mut self) {
        let removed = {
            let mut temp = self.temp();
            let open = temp.file.is_some();
            if open {
                temp.remove();
            }
            open
        };
        if removed {
            unregister(&self.temp);
        }
    }

    fn checkpoint(&mut self, pages: u32) -> io::Result<()> {
        self.temp().checkpoint(pages)
    }

    fn describe(&self) -> String {
        self.final_path.display().to_string()
    }
}

impl Drop for FileDestination {
    fn drop(&mut self) {
        // An unfinished stream leaves nothing behind.
        self.discard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temporary_name_is_hidden_and_derived_from_the_final_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("page-1.png");
        let dest = FileDestination::create(&path, false).expect("create");
        let temp = dest
            .temp_path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(temp.starts_with(".page-1.png.part-"), "{temp}");
        assert_eq!(dest.describe(), path.display().to_string());
        assert_eq!(dest.final_path(), path);
    }

    #[test]
    fn temporary_names_lead_back_to_their_final_names() {
        let name = |text: &str| final_name_of(OsStr::new(text));
        assert_eq!(name(".a.pdf.part-123-4"), Some(OsString::from("a.pdf")));
        assert_eq!(
            name(".x.part-1.png.part-9-0"),
            Some(OsString::from("x.part-1.png"))
        );
        for other in [
            "a.pdf.part-1-2",
            ".a.pdf.part-1",
            ".a.pdf.part--2",
            ".a.pdf.part-x-2",
            "..part-1-2",
        ] {
            assert_eq!(name(other), None, "{other}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = FileDestination::create(&dir.path().join("p-1.tiff"), false).expect("create");
        let temp = dest.temp_path().file_name().expect("name");
        assert_eq!(final_name_of(temp), Some(OsString::from("p-1.tiff")));
    }

    #[test]
    fn the_writer_holds_the_lock_of_its_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dest = FileDestination::create(&dir.path().join("a.pdf"), false).expect("create");
        let other = File::open(dest.temp_path()).expect("open");
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        dest.discard();
        drop(dest);
        let dest = FileDestination::create(&dir.path().join("b.pdf"), false).expect("create");
        let temp = dest.temp_path().to_path_buf();
        let mut dest = dest;
        dest.write_all(b"done").expect("write");
        dest.complete().expect("complete");
        // Completed: the file is closed, and its lock gone with it.
        let done = File::open(dir.path().join("b.pdf")).expect("open");
        done.try_lock().expect("no lock held");
        assert!(!temp.exists());
    }

    #[test]
    fn a_checkpoint_makes_the_document_durable_and_remembers_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dest = FileDestination::create(&dir.path().join("d.tiff"), false).expect("create");
        dest.write_all(b"page one").expect("write");
        dest.checkpoint(1).expect("checkpoint");
        // Flushed: another reader sees it.
        assert_eq!(fs::read(dest.temp_path()).expect("read"), b"page one");
        assert_eq!(lock(&dest.temp).checkpoint, Some((8, 1)));
        dest.write_all(b" and two").expect("write");
        dest.set_len(8).expect("cut back");
        dest.seek(SeekFrom::Start(8)).expect("seek");
        dest.checkpoint(1).expect("checkpoint");
        assert_eq!(lock(&dest.temp).checkpoint, Some((8, 1)));
    }

    #[test]
    fn seeking_and_truncating_work_through_the_buffer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        let mut dest = FileDestination::create(&path, false).expect("create");
        dest.write_all(b"hello world").expect("write");
        assert_eq!(dest.stream_position().expect("pos"), 11);
        dest.seek(SeekFrom::Start(0)).expect("seek");
        dest.write_all(b"J").expect("write");
        dest.seek(SeekFrom::End(0)).expect("seek");
        dest.set_len(5).expect("set_len");
        dest.seek(SeekFrom::Start(5)).expect("seek");
        dest.write_all(b"!").expect("write");
        dest.complete().expect("complete");
        assert_eq!(fs::read(&path).expect("read"), b"Jello!");
        assert_eq!(names_in(dir.path()), vec!["x.bin"]);
        assert!(dest.write_all(b"more").is_err(), "closed after complete");
    }

    #[test]
    fn completing_refuses_a_file_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("late.txt");
        let mut dest = FileDestination::create(&path, false).expect("create");
        dest.write_all(b"mine").expect("write");
        fs::write(&path, b"theirs").expect("someone else");
        let err = dest.complete().expect_err("must not replace");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("late.txt"), "{err}");
        drop(dest);
        assert_eq!(fs::read(&path).expect("read"), b"theirs");
        assert_eq!(names_in(dir.path()), vec!["late.txt"]);
    }
}
