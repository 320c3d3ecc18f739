//! The flatbed preview and the scan area: the quick low-resolution scan
//! of the glass, the area dragged on it, and the re-renderings of cached
//! pages and tiles the preview shows.

use super::*;

impl StreamscanApp {
    /// The last flatbed preview.
    pub fn flatbed_preview(&self) -> Option<&FlatbedPreview> {
        self.flatbed.as_ref()
    }

    /// True when the preview area shows the flatbed preview.
    pub fn showing_flatbed(&self) -> bool {
        self.showing_flatbed && self.flatbed.is_some()
    }

    /// Shows the last flatbed preview again (after looking at a page).
    pub fn show_flatbed(&mut self) {
        if self.flatbed.is_some() {
            self.showing_flatbed = true;
            self.request_flatbed_render();
        }
    }

    /// The full-resolution tiles of the session.
    pub fn tiles(&self) -> &TileStore {
        &self.tiles
    }

    /// The scan area (flatbed), when one is set.
    pub fn scan_area(&self) -> Option<ScanArea> {
        self.prefs.scan.area
    }

    /// Sets the scan area (`None`: the whole page), cut to the glass of
    /// the selected device.
    pub fn set_scan_area(&mut self, area: Option<ScanArea>) {
        let glass = self
            .flatbed
            .as_ref()
            .map(|f| f.size_mm)
            .or_else(|| {
                self.selected_device()
                    .and_then(|d| d.capabilities.as_ref())
                    .and_then(|c| c.source(Source::Flatbed))
                    .map(|c| c.max_area_mm)
            })
            .unwrap_or((215.9, 355.6));
        self.prefs.scan.area = area.and_then(|a| a.clamped(glass));
    }

    /// Starts a quick low-resolution scan of the whole flatbed, shown in
    /// the preview area, on which the scan area can then be dragged.
    /// Nothing is written; the settings' filter shows on it.
    pub fn start_preview(&mut self) {
        if self.scan.is_some() {
            return;
        }
        let Some(device) = self.selected_device().map(|d| d.info.id.clone()) else {
            self.status = String::from("No device to preview with");
            return;
        };
        let caps = self.selected_device().and_then(|d| d.capabilities.clone());
        let flatbed = caps.as_ref().map(|c| c.source(Source::Flatbed));
        if matches!(flatbed, Some(None)) {
            self.status = String::from("This device has no flatbed to preview");
            return;
        }
        let dpi = flatbed
            .flatten()
            .and_then(|f| f.resolutions.nearest(FLATBED_PREVIEW_DPI))
            .unwrap_or(FLATBED_PREVIEW_DPI);
        let settings = ScanSettings {
            source: Source::Flatbed,
            dpi,
            mode: ColorMode::Color,
            area: None,
            pages: 1,
            multipage: false,
            ..self.prefs.scan.clone()
        };
        let job = self.job_id();
        if let Some(old) = self.flatbed.take() {
            self.engine
                .send(Command::ForgetPages { key: Some(old.key) });
        }
        self.notice = None;
        self.status = String::from("Previewing the flatbed");
        self.showing_flatbed = true;
        self.scan = Some(ScanJob {
            id: job,
            device: device.clone(),
            settings: settings.clone(),
            destination: String::from("the preview"),
            folder: PathBuf::new(),
            started: false,
            progress: None,
            pages_done: 0,
            stop_requested: false,
            cancel_requested: false,
            document: None,
            session_dir: None,
            preview: true,
            prior_pages: Vec::new(),
            files: None,
        });
        self.engine.send(Command::Scan {
            job,
            device,
            settings,
            output: OutputTarget::Preview,
            interactive: true,
        });
    }

    pub(super) fn request_flatbed_render(&mut self) {
        let Some(flatbed) = &self.flatbed else {
            return;
        };
        let request = self.next_request;
        self.next_request += 1;
        self.latest_flatbed_render = request;
        let (max_width, max_height) = self.render_box;
        self.engine.send(Command::RenderPreview {
            request,
            key: flatbed.key,
            settings: self.prefs.scan.filter,
            max_width,
            max_height,
        });
    }

    /// Asks the engine to re-render the selected page with the current
    /// filter (no device I/O).
    pub fn request_render(&mut self) {
        let Some(page) = self
            .strip
            .selected
            .and_then(|i| self.strip.pages().get(i))
            .filter(|p| p.state.is_complete())
        else {
            return;
        };
        let request = self.next_request;
        self.next_request += 1;
        self.latest_render = request;
        self.rendered_filter = self.prefs.scan.filter;
        let (max_width, max_height) = self.render_box;
        self.engine.send(Command::RenderPreview {
            request,
            key: page.key,
            settings: self.prefs.scan.filter,
            max_width,
            max_height,
        });
    }

    pub(super) fn preview_finished(&mut self, result: Result<JobSummary, TransferError>) {
        match result {
            Ok(summary) if summary.outcome == Outcome::Cancelled => {
                self.status = String::from("Preview cancelled");
            }
            Ok(_) if self.flatbed.is_some() => {
                self.status =
                    String::from("Preview ready: drag on it to choose the area to scan, then Scan");
                self.showing_flatbed = true;
                self.rendered_filter = self.prefs.scan.filter;
                self.request_flatbed_render();
            }
            Ok(_) => self.status = String::from("The preview brought no page"),
            Err(e) => {
                self.status = String::from("Preview failed");
                self.notice = Some(Notice {
                    title: "Preview problem",
                    text: format!(
                        "The preview failed: {} ({}).",
                        e.message,
                        e.code.description()
                    ),
                    scan_more: false,
                    error: true,
                });
            }
        }
    }
}
