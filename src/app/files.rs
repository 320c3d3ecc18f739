//! The app's files: uploads dropped on a device, downloads of stored
//! files, choosing folders, export and "save as", writing the document of
//! a session, placing per-page files, and recovering pages a crashed
//! session left behind.

use super::*;

impl StreamscanApp {
    /// Uploads `files` into the storage folder of device `index`.
    pub fn upload_files(&mut self, index: usize, files: Vec<PathBuf>) {
        let Some(entry) = self.devices.entries().get(index) else {
            return;
        };
        if files.is_empty() {
            return;
        }
        let folder = entry
            .storage_folder()
            .map(|i| i.name.clone())
            .unwrap_or_else(|| String::from("Storage"));
        let device = entry.info.id.clone();
        let job = self.job_id();
        self.other_jobs.insert(job, OtherJob::Upload);
        self.upload = Some(UploadJob {
            id: job,
            device: device.clone(),
            files: files
                .iter()
                .map(|f| UploadFile {
                    file: f.clone(),
                    percent: 0,
                    result: None,
                })
                .collect(),
            finished: false,
        });
        self.status = format!("Uploading {} file(s) to {device}", files.len());
        self.engine.send(Command::Upload {
            job,
            device,
            files,
            folder,
        });
    }

    /// Clears a finished upload's report.
    pub fn clear_upload(&mut self) {
        if self.upload.as_ref().is_some_and(|u| u.finished) {
            self.upload = None;
        }
    }

    /// Asks where to save stored file `item` of the selected device, then
    /// downloads it.
    pub fn download(&mut self, item: &Item) {
        let Some(device) = self.selected_device().map(|d| d.info.id.clone()) else {
            return;
        };
        let waker = self.waker.clone();
        self.dialogs.save_file(
            DialogPurpose::Download {
                device,
                item: item.full_name.clone(),
            },
            "Save the stored file",
            &item.name,
            move || waker(),
        );
    }

    /// Asks for a destination folder.
    pub fn choose_folder(&mut self) {
        let waker = self.waker.clone();
        self.dialogs.pick_folder(
            DialogPurpose::DestinationFolder,
            "Folder for scanned pages",
            move || waker(),
        );
    }

    /// Asks where to save the page strip, then exports it.
    pub fn save_as(&mut self) {
        if self.strip.export_pages().is_empty() {
            self.status = String::from("Nothing to save: scan some pages first");
            return;
        }
        let waker = self.waker.clone();
        self.dialogs.save_file(
            DialogPurpose::Export,
            "Save the pages",
            "scan.pdf",
            move || waker(),
        );
    }

    /// Exports the strip's complete pages (in strip order, with their
    /// rotations, filtered with the current filter settings) to `path`:
    /// PDF or TIFF as one document, other formats as a file per page
    /// (`name-1.png`, ...).
    pub fn export_to(&mut self, path: &Path) {
        let pages = self.strip.export_pages();
        if pages.is_empty() {
            return;
        }
        let format = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(FileFormat::from_name)
            .unwrap_or(FileFormat::Pdf);
        let output = if format.is_multipage() {
            OutputTarget::Document {
                path: path.to_path_buf(),
                overwrite: true,
            }
        } else {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| String::from("page"));
            let folder = path.parent().unwrap_or(Path::new("."));
            let text = format!(
                "{}/{}-{{n}}.{}",
                folder
                    .display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}"),
                stem.replace('{', "{{").replace('}', "}}"),
                format.extension()
            );
            match OutputPattern::parse(&text) {
                Ok(pattern) => OutputTarget::Files {
                    pattern,
                    overwrite: true,
                },
                Err(e) => {
                    self.status = format!("Cannot save there: {e}");
                    return;
                }
            }
        };
        let job = self.job_id();
        self.other_jobs
            .insert(job, OtherJob::Export(path.display().to_string()));
        self.status = format!("Saving {} page(s) to {}", pages.len(), path.display());
        self.engine.send(Command::Export {
            job,
            pages,
            settings: self.prefs.scan.filter,
            format,
            quality: self.prefs.scan.quality,
            output,
        });
    }

    /// Writes the document of a finished document scan from its pages.
    pub(super) fn save_document(
        &mut self,
        job: JobId,
        scan: &ScanJob,
        path: PathBuf,
        format: FileFormat,
        session_dir: PathBuf,
    ) {
        let keys: Vec<PageKey> = self
            .strip
            .pages()
            .iter()
            .filter(|p| p.key.job == job && p.state.is_complete())
            .map(|p| p.key)
            .collect();
        if keys.is_empty() {
            let waker = self.waker.clone();
            self.session
                .remove(vec![session_dir], "No pages to save", move || waker());
            return;
        }
        // A continued document is written again with the earlier pages
        // first (they are still in the engine's page cache).
        let continues = !scan.prior_pages.is_empty();
        let all: Vec<PageKey> = scan.prior_pages.iter().copied().chain(keys).collect();
        let pages = all
            .iter()
            .map(|&key| crate::engine::ExportPage {
                key,
                rotation: crate::filter::Rotation::None,
            })
            .collect();
        self.last_document = Some((path.clone(), all));
        let export = self.job_id();
        self.other_jobs.insert(
            export,
            OtherJob::SaveDocument {
                path: path.clone(),
                session_dir,
            },
        );
        self.engine.send(Command::Export {
            job: export,
            pages,
            settings: scan.settings.filter,
            format,
            quality: scan.settings.quality,
            output: OutputTarget::Document {
                path,
                overwrite: continues,
            },
        });
    }

    /// Records the set of files a scan wrote, and moves the pages of a
    /// continued set from the session folder to their numbers in it.
    pub(super) fn place_files(
        &mut self,
        job: JobId,
        scan: &ScanJob,
        pattern: &OutputPattern,
        offset: u32,
    ) {
        let numbers: Vec<u32> = self
            .strip
            .pages()
            .iter()
            .filter(|p| p.key.job == job && p.state.is_complete())
            .map(|p| p.key.page)
            .collect();
        let last = numbers.iter().copied().max().unwrap_or(0);
        if last > 0 || offset > 0 {
            self.last_files = Some((pattern.clone(), offset + last));
        }
        let Some(dir) = scan.session_dir.clone() else {
            return;
        };
        let ext = scan.settings.format.extension();
        let mut moves = Vec::new();
        for n in numbers {
            let target = pattern.path_for(offset + n);
            moves.push((dir.join(format!("page-{n:04}.{ext}")), target.clone()));
            if let Some(page) = self.strip.page_mut(PageKey { job, page: n }) {
                page.path = Some(target);
            }
        }
        let waker = self.waker.clone();
        self.session.place(moves, dir, move || waker());
    }

    /// Pages of an interrupted session, offered for recovery.
    pub fn leftovers(&self) -> &[Leftover] {
        &self.leftovers
    }

    /// Copies the interrupted session's pages into the destination folder.
    pub fn recover_leftovers(&mut self) {
        let leftovers = std::mem::take(&mut self.leftovers);
        let waker = self.waker.clone();
        self.status = String::from("Recovering pages…");
        self.session.recover(
            leftovers,
            self.prefs.destination.folder.clone(),
            move || waker(),
        );
    }

    /// Deletes the interrupted session's pages.
    pub fn discard_leftovers(&mut self) {
        let dirs = std::mem::take(&mut self.leftovers)
            .into_iter()
            .map(|l| l.dir)
            .collect();
        let waker = self.waker.clone();
        self.session
            .remove(dirs, "Discarded the pages of the last session", move || {
                waker()
            });
    }
}
