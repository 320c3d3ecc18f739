//! Native file dialogs behind a small trait, run off the UI thread.
//!
//! A native dialog blocks the thread that opens it, and none exists on a
//! headless machine; so the app never calls one directly. It asks a
//! [`DialogRunner`], which runs the [`FileDialogs`] implementation on a
//! helper thread and hands the answer back through a channel that the UI
//! drains each frame. [`NativeDialogs`] uses `rfd` (the XDG desktop portal
//! on Linux); [`ScriptedDialogs`] answers from a list, for tests and for
//! machines without a portal.

use crossbeam_channel::{Receiver, Sender, unbounded};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Opens file dialogs; each call may block until the person answers.
pub trait FileDialogs: Send + Sync {
    /// Asks for a folder; `None` when the person cancels.
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
    /// Asks where to save a file, suggesting `file_name`.
    fn save_file(&self, title: &str, file_name: &str) -> Option<PathBuf>;
}

/// The platform's dialogs, through `rfd`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }

    fn save_file(&self, title: &str, file_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(file_name)
            .save_file()
    }
}

/// Dialogs that answer from a queue (tests; machines without a desktop
/// portal). With an empty queue every dialog is cancelled.
#[derive(Debug, Default, Clone)]
pub struct ScriptedDialogs {
    answers: Arc<Mutex<VecDeque<Option<PathBuf>>>>,
}

impl ScriptedDialogs {
    /// Queues the answer to the next dialog.
    pub fn push(&self, answer: Option<PathBuf>) {
        self.answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(answer);
    }

    fn next(&self) -> Option<PathBuf> {
        self.answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
            .flatten()
    }
}

impl FileDialogs for ScriptedDialogs {
    fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        self.next()
    }

    fn save_file(&self, _title: &str, _file_name: &str) -> Option<PathBuf> {
        self.next()
    }
}

/// What a dialog was opened for, so its answer goes to the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogPurpose {
    /// The destination folder of scans.
    DestinationFolder,
    /// Saving a stored file of a device.
    Download {
        /// Device id.
        device: String,
        /// Item path on the device.
        item: String,
    },
    /// Saving the page strip as a document or files.
    Export,
}

/// Runs dialogs on helper threads and collects their answers.
pub struct DialogRunner {
    dialogs: Arc<dyn FileDialogs>,
    answers_tx: Sender<(DialogPurpose, Option<PathBuf>)>,
    answers: Receiver<(DialogPurpose, Option<PathBuf>)>,
    open: usize,
}

impl DialogRunner {
    /// A runner over `dialogs`.
    pub fn new(dialogs: Arc<dyn FileDialogs>) -> DialogRunner {
        let (answers_tx, answers) = unbounded();
        DialogRunner {
            dialogs,
            answers_tx,
            answers,
            open: 0,
        }
    }

    /// True while a dialog is open.
    pub fn is_open(&self) -> bool {
        self.open > 0
    }

    /// Opens a folder dialog without blocking; `wake` runs when it is
    /// answered.
    pub fn pick_folder(
        &mut self,
        purpose: DialogPurpose,
        title: &str,
        wake: impl Fn() + Send + 'static,
    ) {
        let title = title.to_string();
        self.spawn(purpose, wake, move |d| d.pick_folder(&title));
    }

    /// Opens a save dialog without blocking.
    pub fn save_file(
        &mut self,
        purpose: DialogPurpose,
        title: &str,
        file_name: &str,
        wake: impl Fn() + Send + 'static,
    ) {
        let title = title.to_string();
        let file_name = file_name.to_string();
        self.spawn(purpose, wake, move |d| d.save_file(&title, &file_name));
    }

    fn spawn(
        &mut self,
        purpose: DialogPurpose,
        wake: impl Fn() + Send + 'static,
        ask: impl FnOnce(&dyn FileDialogs) -> Option<PathBuf> + Send + 'static,
    ) {
        let dialogs = self.dialogs.clone();
        let tx = self.answers_tx.clone();
        let failed_tx = self.answers_tx.clone();
        let failed_purpose = purpose.clone();
        let spawned = std::thread::Builder::new()
            .name(String::from("streamscan-dialog"))
            .spawn(move || {
                let answer = ask(dialogs.as_ref());
                // The app may be gone; then nobody needs the answer.
                let _gone = tx.send((purpose, answer));
                wake();
            });
        if spawned.is_err() {
            // Without a thread there is no dialog: answer "cancelled".
            let _gone = failed_tx.send((failed_purpose, None));
        }
        self.open += 1;
    }

    /// Answers that arrived since the last call.
    pub fn answers(&mut self) -> Vec<(DialogPurpose, PathBuf)> {
        let mut out = Vec::new();
        while let Ok((purpose, answer)) = self.answers.try_recv() {
            self.open = self.open.saturating_sub(1);
            if let Some(path) = answer {
                out.push((purpose, path));
            }
        }
        out
    }
}
