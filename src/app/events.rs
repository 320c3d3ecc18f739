//! Folding the engine's events into the app's state, once per frame: a
//! scan's pages, progress and questions, the other jobs (item lists,
//! uploads, downloads, exports), discovery, and how each job ended.

use super::*;

impl StreamscanApp {
    /// Folds a discovery event into the device list.
    pub(super) fn apply_discovery(&mut self, event: Event) {
        let change = match event {
            Event::DiscoveryStarted { round, backends } => {
                self.devices.started(round, backends);
                return;
            }
            Event::DeviceFound { round, device, .. } => self.devices.found(round, device),
            Event::DiscoveryFinished {
                round,
                backend,
                error,
            } => {
                self.devices.finished(round, &backend);
                if let Some(error) = error {
                    self.status = format!("Looking for {backend} devices failed: {error}");
                }
                return;
            }
            _ => return,
        };
        if let Some(id) = &change.selected {
            self.prefs.device = Some(id.clone());
        }
        for id in change.arrived {
            self.list_items(&id);
        }
    }

    /// Folds one engine event into the state.
    pub(super) fn apply_event(&mut self, ctx: &egui::Context, event: Event) {
        if let Event::ContractBroken { job, rule } = &event {
            // The engine's live checker: a bug in Streamscan.
            self.trace_violations.push(format!("job {job}: {rule}"));
        }
        if let Event::Trace { job, trace } = &event {
            // Only with `EngineConfig::keep_traces` (tests): every job's
            // messages go through the shared order checker.
            self.traces_checked += 1;
            if let Err(violation) = crate::transfer::check(trace) {
                self.trace_violations
                    .push(format!("job {job}: {violation:?}"));
            }
        }
        if matches!(
            event,
            Event::DiscoveryStarted { .. }
                | Event::DeviceFound { .. }
                | Event::DiscoveryFinished { .. }
        ) {
            self.apply_discovery(event);
            return;
        }
        let job = event.job();
        if let Some(other) = self.other_jobs.get(&job).cloned()
            && !matches!(
                event,
                Event::PreviewRendered { .. } | Event::TileRendered { .. }
            )
        {
            self.apply_other(job, other, event);
            return;
        }
        match event {
            Event::TileRendered {
                request, result, ..
            } => {
                self.tiles.answer(ctx, request, result);
            }
            Event::PreviewRendered {
                request,
                key,
                result,
            } if request == self.latest_flatbed_render => {
                if let (Some(flatbed), Ok(preview)) = (self.flatbed.as_mut(), result)
                    && flatbed.key == key
                    && preview.width > 0
                {
                    let old = flatbed.rendered.take();
                    flatbed.rendered = Some(RenderedView::show(
                        ctx,
                        old,
                        "flatbed-preview",
                        key,
                        request,
                        &preview,
                    ));
                }
            }
            Event::PreviewRendered {
                request,
                key,
                result,
            } => {
                if request != self.latest_render {
                    return;
                }
                match result {
                    Ok(preview) if preview.width > 0 => {
                        let old = self.rendered.take();
                        self.rendered = Some(RenderedView::show(
                            ctx,
                            old,
                            "rendered-page",
                            key,
                            request,
                            &preview,
                        ));
                    }
                    Ok(_) => {
                        self.status = format!("Page {} would be dropped as blank", key.page);
                    }
                    Err(e) => self.status = format!("Cannot show page {}: {e}", key.page),
                }
            }
            other => self.apply_scan(ctx, job, other),
        }
    }

    pub(super) fn apply_other(&mut self, job: JobId, kind: OtherJob, event: Event) {
        match (kind, event) {
            (
                OtherJob::List(device),
                Event::Items {
                    result,
                    capabilities,
                    ..
                },
            ) => {
                if let Some(entry) = self.devices.entry_mut(&device) {
                    match result {
                        Ok(items) => {
                            entry.items = Some(items);
                            entry.error = None;
                        }
                        Err(e) => entry.error = Some(e),
                    }
                    if capabilities.is_some() {
                        entry.capabilities = capabilities;
                    }
                }
            }
            (OtherJob::List(device), Event::JobFinished { result: Err(e), .. }) => {
                if let Some(entry) = self.devices.entry_mut(&device) {
                    entry.error = Some(e.message);
                }
                self.other_jobs.remove(&job);
            }
            (OtherJob::Upload, Event::Transfer { message, .. }) => {
                if let Some(upload) = &mut self.upload
                    && message.kind == MessageKind::Status
                    && let Some(file) = upload.files.iter_mut().find(|f| f.result.is_none())
                {
                    file.percent = message.percent.max(file.percent);
                }
            }
            (OtherJob::Upload, Event::Uploaded { report, .. }) => {
                if let Some(upload) = &mut self.upload
                    && let Some(file) = upload
                        .files
                        .iter_mut()
                        .find(|f| f.file == report.file && f.result.is_none())
                {
                    file.percent = 100;
                    file.result = Some(report.result.map(|_| ()));
                }
            }
            (OtherJob::Upload, Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                let device = self.upload.as_ref().map(|u| u.device.clone());
                if let Some(upload) = &mut self.upload {
                    upload.finished = true;
                    let ok = upload
                        .files
                        .iter()
                        .filter(|f| matches!(f.result, Some(Ok(()))))
                        .count();
                    self.status = match result {
                        Ok(s) if s.outcome == Outcome::Cancelled => {
                            format!("Upload cancelled; {ok} file(s) stored")
                        }
                        Ok(_) => format!("{ok} of {} file(s) uploaded", upload.files.len()),
                        Err(e) => format!("Upload failed: {e}"),
                    };
                }
                if let Some(device) = device {
                    self.list_items(&device);
                }
            }
            (OtherJob::Download(path), Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                self.status = match result {
                    Ok(_) => format!("Saved {}", path.display()),
                    Err(e) => format!("Download failed: {e}"),
                };
            }
            (OtherJob::SaveDocument { path, session_dir }, Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                match result {
                    Ok(summary) => {
                        self.status = format!(
                            "Saved {} page(s) to {}",
                            summary.totals.delivered,
                            path.display()
                        );
                        // Saved: the session copy is no longer needed.
                        let waker = self.waker.clone();
                        let done = self.status.clone();
                        self.session
                            .remove(vec![session_dir], &done, move || waker());
                    }
                    Err(e) => {
                        self.notice = Some(Notice {
                            title: "Scan problem",
                            text: format!(
                                "The document {} could not be written: {e}. The pages are kept in {}; they will be offered for recovery at the next start.",
                                path.display(),
                                session_dir.display()
                            ),
                            scan_more: false,
                            error: true,
                        });
                    }
                }
            }
            (OtherJob::Export(path), Event::JobFinished { result, .. }) => {
                self.other_jobs.remove(&job);
                self.status = match result {
                    Ok(summary) => format!("Saved {} page(s) to {path}", summary.totals.delivered),
                    Err(e) => format!("Saving failed: {e}"),
                };
            }
            (_, Event::JobFinished { .. }) => {
                self.other_jobs.remove(&job);
            }
            _ => {}
        }
    }

    pub(super) fn apply_scan(&mut self, ctx: &egui::Context, job: JobId, event: Event) {
        let Some(scan) = self.scan.as_mut().filter(|s| s.id == job) else {
            return;
        };
        match event {
            Event::JobQueued { ahead, device, .. } => {
                self.status = format!("Waiting for {device}: {ahead} job(s) ahead");
            }
            Event::JobStarted { .. } => {
                scan.started = true;
                self.status = String::from("Scanning");
            }
            Event::DeviceStatus { status, .. } => {
                if matches!(
                    status.code,
                    StatusCode::WARMING_UP | StatusCode::CALIBRATING
                ) {
                    if status.percent.is_some_and(|p| p >= 100) {
                        self.warming = None;
                    } else {
                        self.warming = Some(Warming {
                            job,
                            code: status.code,
                            percent: status.percent,
                        });
                    }
                } else if status.code == StatusCode::CLEAR {
                    self.warming = None;
                }
            }
            Event::Question {
                question, status, ..
            } => {
                self.warming = None;
                self.question = Some(OpenQuestion {
                    job,
                    question,
                    status,
                });
            }
            Event::QuestionClosed { question, .. }
                if self
                    .question
                    .as_ref()
                    .is_some_and(|q| q.question == question) =>
            {
                self.question = None;
            }
            Event::Progress { progress, .. } => {
                if let Stage::WarmingUp(percent) = progress.stage {
                    if percent.is_some_and(|p| p >= 100) {
                        self.warming = None;
                    } else {
                        self.warming = Some(Warming {
                            job,
                            code: StatusCode::WARMING_UP,
                            percent,
                        });
                    }
                }
                scan.progress = Some(progress);
            }
            Event::PageStarted {
                page,
                side,
                header,
                preview_size,
                preview_factor,
                ..
            } => {
                self.warming = None;
                let key = PageKey { job, page };
                self.tiles.forget(key);
                self.live = Some(LivePage::start(
                    ctx,
                    key,
                    header,
                    preview_size,
                    preview_factor,
                ));
                if scan.preview {
                    self.status = String::from("Previewing the flatbed");
                    return;
                }
                match self.strip.page_mut(key) {
                    Some(p) => {
                        p.state = PageState::Scanning;
                        p.side = side;
                    }
                    None => self
                        .strip
                        .push(StripPage::new(key, side, PageState::Scanning)),
                }
                self.status = format!("Scanning page {page} ({})", side.as_str());
            }
            Event::Preview { band, .. } => {
                if let Some(live) = self
                    .live
                    .as_mut()
                    .filter(|l| l.key.page == band.page && l.key.job == job)
                {
                    live.band(&band);
                }
            }
            Event::PageDone { page, .. } if scan.preview => {
                scan.pages_done += 1;
                let key = PageKey { job, page };
                if let Some(live) = self.live.take_if(|l| l.key == key) {
                    let header = live.header;
                    let mm = |px: u32, dpi: u32| f64::from(px) * 25.4 / f64::from(dpi.max(1));
                    self.flatbed = Some(FlatbedPreview {
                        key,
                        size_mm: (
                            mm(header.width, header.dpi_x),
                            mm(live.page_rows(), header.dpi_y),
                        ),
                        live,
                        rendered: None,
                    });
                }
            }
            Event::PageDone { page, path, .. } => {
                let key = PageKey { job, page };
                scan.pages_done += 1;
                let thumbnail = self
                    .live
                    .as_ref()
                    .filter(|l| l.key == key)
                    .map(|l| l.thumbnail(ctx));
                if let Some(p) = self.strip.page_mut(key) {
                    if p.state != PageState::BlankFlagged {
                        p.state = PageState::Done;
                    }
                    p.path = path;
                    p.thumbnail = thumbnail;
                }
            }
            Event::PageBlank { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::BlankFlagged;
                }
            }
            Event::PageDropped { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::Skipped;
                }
            }
            Event::PageAbandoned { page, .. } => {
                if let Some(p) = self.strip.page_mut(PageKey { job, page }) {
                    p.state = PageState::Failed;
                }
            }
            Event::JobFinished { result, .. } => self.scan_finished(job, result),
            _ => {}
        }
    }

    pub(super) fn scan_finished(&mut self, job: JobId, result: Result<JobSummary, TransferError>) {
        let Some(scan) = self.scan.take() else {
            return;
        };
        self.warming = None;
        self.question = None;
        if scan.preview {
            self.preview_finished(result);
            return;
        }
        // Pages the strip still waits for did not come.
        for page in self.strip.pages().iter().map(|p| p.key).collect::<Vec<_>>() {
            if let Some(p) = self.strip.page_mut(page)
                && page.job == job
                && p.state == PageState::Scanning
            {
                p.state = PageState::Failed;
            }
        }
        self.strip.drop_queued(job);
        let kept = |n: u32| match n {
            0 => String::from("no pages were kept"),
            1 => format!("1 page was saved in {}", scan.destination),
            n => format!("{n} pages were saved in {}", scan.destination),
        };
        match result {
            Ok(summary) => {
                if summary.totals.delivered > 0 {
                    self.finished_scans.push(job);
                }
                match summary.outcome {
                    Outcome::Completed => {
                        self.status = format!("Done: {}", kept(summary.totals.delivered));
                    }
                    Outcome::EndOfMedia { pages } => {
                        self.status = String::from("The feeder is empty");
                        self.notice = Some(Notice {
                            title: "Feeder empty",
                            text: format!(
                                "{pages} page{} came before the feeder ran empty; {}. Load more paper and choose Scan more to continue.",
                                if pages == 1 { "" } else { "s" },
                                kept(summary.totals.delivered)
                            ),
                            scan_more: true,
                            error: false,
                        });
                    }
                    Outcome::Cancelled => {
                        self.status = format!("Cancelled: {}", kept(summary.totals.delivered));
                    }
                }
            }
            Err(e) => {
                let page = e.page.map(|p| format!(" on page {p}")).unwrap_or_default();
                self.status = format!("Scan failed{page}");
                self.notice = Some(Notice {
                    title: "Scan problem",
                    text: format!(
                        "The scan failed{page}: {} ({}). {}.",
                        e.message,
                        e.code.description(),
                        kept(e.pages_completed)
                    ),
                    scan_more: false,
                    error: true,
                });
            }
        }
        if let (Some((path, format)), Some(dir)) = (&scan.document, &scan.session_dir) {
            self.save_document(job, &scan, path.clone(), *format, dir.clone());
        }
        if let Some((pattern, offset)) = &scan.files {
            self.place_files(job, &scan, pattern, *offset);
        }
        // The device's storage may have changed; its list stays current.
        let device = scan.device;
        self.list_items(&device);
    }
}
