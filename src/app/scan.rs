//! Starting and steering scans: the settings fitted to the source, the
//! destination prepared off the UI thread, the scan command sent, and
//! cancel, stop-after-page, answers to device questions, "scan more" and
//! interleaving two feeder passes.

use super::*;

impl StreamscanApp {
    /// Starts a scan with the current settings on the selected device.
    pub fn start_scan(&mut self) {
        if self.scan.is_some() {
            return;
        }
        let Some(entry) = self.selected_device() else {
            self.status = String::from("No device to scan with");
            return;
        };
        match entry.presence {
            Presence::Present => {}
            Presence::Searching => {
                self.status = format!("Still looking for {}…", entry.info.name);
                return;
            }
            Presence::NotFound => {
                self.status = format!(
                    "{} is not found: connect it and press Refresh, or choose another device",
                    entry.info.name
                );
                return;
            }
        }
        let device = entry.info.id.clone();
        // The saved preference stays; this scan uses what the source offers.
        let mut settings = self.fitted().settings;
        let destination = self.prefs.destination.clone();
        if destination.document && !settings.format.is_multipage() {
            settings.format = FileFormat::Pdf;
        }
        let stamp = job_stamp();
        let job = self.job_id();
        let stamp = format!("{stamp}-{job}");
        let mut document = None;
        let mut session_dir = None;
        let mut prior_pages = Vec::new();
        let continued = self.continue_document.take();
        let continued_files = self.continue_files.take();
        // The set of files pages go to, and the number before the first.
        let mut files: Option<(OutputPattern, u32)> = None;
        let (output, described) = if destination.document {
            // Pages go to the session folder first (lossless, one file
            // each); the document is written from them when the job ends.
            let path = match continued {
                Some((path, prior)) => {
                    prior_pages = prior;
                    path
                }
                None => destination.document_path(&stamp, settings.format),
            };
            let described = path.display().to_string();
            let dir = self.session.job_dir(&stamp);
            let pattern = OutputPattern::parse(&format!(
                "{}/page-{{n:04}}.png",
                dir.display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}")
            ));
            let pattern = match pattern {
                Ok(pattern) => pattern,
                Err(e) => {
                    self.notice = Some(Notice {
                        title: "Scan problem",
                        text: format!("Cannot use the session folder {}: {e}", dir.display()),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            };
            document = Some((path, settings.format));
            session_dir = Some(dir);
            (
                OutputTarget::Files {
                    pattern,
                    overwrite: false,
                },
                described,
            )
        } else if let Some((pattern, offset)) = continued_files {
            // "Scan more" into the same set of files: the pages go to the
            // session folder, and take the next numbers of the set when
            // the job ends.
            let dir = self.session.job_dir(&stamp);
            let text = format!(
                "{}/page-{{n:04}}.{}",
                dir.display()
                    .to_string()
                    .replace('{', "{{")
                    .replace('}', "}}"),
                settings.format.extension()
            );
            match OutputPattern::parse(&text) {
                Ok(session_pattern) => {
                    let described = destination.folder.display().to_string();
                    files = Some((pattern, offset));
                    session_dir = Some(dir);
                    (
                        OutputTarget::Files {
                            pattern: session_pattern,
                            overwrite: false,
                        },
                        described,
                    )
                }
                Err(e) => {
                    self.notice = Some(Notice {
                        title: "Scan problem",
                        text: format!("Cannot use the session folder {}: {e}", dir.display()),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            }
        } else {
            match destination.page_pattern(&stamp, settings.format) {
                Ok(pattern) => {
                    let described = destination.folder.display().to_string();
                    files = Some((pattern.clone(), 0));
                    (
                        OutputTarget::Files {
                            pattern,
                            overwrite: false,
                        },
                        described,
                    )
                }
                Err(e) => {
                    self.notice = Some(Notice {
                        title: "Scan problem",
                        text: format!("The file name pattern is not valid: {e}"),
                        scan_more: false,
                        error: true,
                    });
                    return;
                }
            }
        };
        let mut folders = vec![destination.folder.clone()];
        folders.extend(session_dir.clone());
        let expected = match settings.source {
            Source::Flatbed => 1,
            _ => settings.pages,
        };
        for page in 1..=expected.min(500) {
            self.strip.push(StripPage::new(
                PageKey { job, page },
                crate::transfer::Side::Front,
                PageState::Queued,
            ));
        }
        self.notice = None;
        self.status = format!("Waiting for {device}");
        self.last_settings = Some(settings.clone());
        self.scan = Some(ScanJob {
            id: job,
            device: device.clone(),
            settings: settings.clone(),
            destination: described,
            folder: destination.folder.clone(),
            started: false,
            progress: None,
            pages_done: 0,
            stop_requested: false,
            cancel_requested: false,
            document,
            session_dir,
            preview: false,
            prior_pages,
            files,
        });
        self.showing_flatbed = false;
        let mut scan_settings = settings;
        if self.scan.as_ref().is_some_and(|s| s.document.is_some()) {
            scan_settings.format = FileFormat::Png;
        }
        let command = Command::Scan {
            job,
            device,
            settings: scan_settings,
            output,
            interactive: true,
        };
        // The folders are made off the UI thread; the job goes to the
        // engine once they exist (see `poll`).
        let tx = self.prepared_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name(String::from("streamscan-prepare"))
            .spawn(move || {
                let made = folders.iter().try_for_each(|folder| {
                    std::fs::create_dir_all(folder).map_err(|e| {
                        format!(
                            "cannot create the folder {}: {e}; choose another destination",
                            folder.display()
                        )
                    })
                });
                // The app may be gone; then nobody waits for the job.
                let _gone = tx.send((job, made.map(|()| command)));
                waker();
            });
        if let Err(e) = spawned {
            self.scan_finished(
                job,
                Err(prepare_error(format!("cannot start a thread: {e}"))),
            );
        }
    }

    /// Hands prepared scans to the engine (or ends them when their folders
    /// could not be made, or they were cancelled meanwhile).
    pub(super) fn submit_prepared(&mut self) {
        while let Ok((job, prepared)) = self.prepared.try_recv() {
            let Some(scan) = self.scan.as_ref().filter(|s| s.id == job) else {
                continue;
            };
            match prepared {
                Ok(_) if scan.cancel_requested => self.scan_finished(
                    job,
                    Ok(JobSummary {
                        outcome: Outcome::Cancelled,
                        totals: crate::transfer::Totals::default(),
                        files: Vec::new(),
                    }),
                ),
                Ok(command) => {
                    self.engine.send(command);
                }
                Err(message) => self.scan_finished(job, Err(prepare_error(message))),
            }
        }
    }

    /// Cancels the scan in progress (completed pages are kept).
    pub fn cancel(&mut self) {
        if let Some(scan) = &mut self.scan {
            scan.cancel_requested = true;
            self.status = String::from("Cancelling…");
            self.engine.send(Command::Cancel { job: scan.id });
        } else if let Some(upload) = self.upload.as_ref().filter(|u| !u.finished) {
            self.engine.send(Command::Cancel { job: upload.id });
        }
    }

    /// Lets a feeder scan finish the current page, then stop.
    pub fn stop_after_page(&mut self) {
        if let Some(scan) = &mut self.scan {
            scan.stop_requested = true;
            self.engine.send(Command::StopAfterPage { job: scan.id });
        }
    }

    /// Answers the open question: `Handled` retries, `Cancel` stops.
    pub fn answer(&mut self, answer: StatusAnswer) {
        if let Some(q) = self.question.take() {
            self.engine.send(Command::Answer {
                job: q.job,
                question: q.question,
                answer,
            });
        }
    }

    /// Scans again with the last scan's settings ("Scan more"); after a
    /// scan into one document, the new pages are added to that document.
    pub fn scan_more(&mut self) {
        if let Some(settings) = self.last_settings.clone() {
            self.prefs.scan.source = settings.source;
        }
        // A document scan goes on in the same document, a file-per-page
        // scan in the same set of files with the next page numbers.
        if self.prefs.destination.document {
            self.continue_document = self.last_document.clone();
        } else {
            self.continue_files = self.last_files.clone();
        }
        self.start_scan();
    }

    /// Interleaves the last two scans as fronts and (reversed) backs.
    pub fn interleave_last_two(&mut self) -> bool {
        let n = self.finished_scans.len();
        if n < 2 {
            self.status = String::from("Manual duplex needs two scans: the fronts, then the backs");
            return false;
        }
        let (fronts, backs) = (self.finished_scans[n - 2], self.finished_scans[n - 1]);
        let done = self.strip.interleave(fronts, backs);
        self.status = if done {
            String::from("Fronts and backs interleaved")
        } else {
            String::from("The two scans have different page counts")
        };
        done
    }
}
