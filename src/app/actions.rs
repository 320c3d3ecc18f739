//! What a person asked for in a frame: the vocabulary between the widgets
//! and the app's state.
//!
//! The widgets in [`crate::ui`] read the app through `&StreamscanApp` and
//! push an [`Action`] for every intent (a click, a drag, an edited
//! setting) instead of changing anything. After drawing, the frame hands
//! them to [`StreamscanApp::apply`] in the order they were pushed, which
//! calls the app's methods. All of it happens within one frame, so the
//! app behaves as if the widgets had called those methods themselves; the
//! difference is that every widget draws the state as the frame found it,
//! and a change shows from the next frame on (which the app asks for).
//!
//! Actions are plain data: a test can draw the widgets, look at what they
//! asked for, and apply it (or not).

use super::*;

/// One thing the person asked for, pushed by a widget and applied by
/// [`StreamscanApp::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Scan with the current settings (Scan, Space).
    StartScan,
    /// A quick low-resolution scan of the whole flatbed (Preview).
    StartPreview,
    /// Stop the scan now, or the upload in progress (Cancel, Esc).
    Cancel,
    /// Let the feeder finish the current page, then stop.
    StopAfterPage,
    /// Scan again with the last scan's settings, continuing its document
    /// or set of files (Scan more).
    ScanMore,
    /// The answer to the open device question (Retry or Stop).
    Answer(StatusAnswer),
    /// Close the notice at the end of a job.
    DismissNotice,
    /// Write the pages of an interrupted session into the destination.
    RecoverLeftovers,
    /// Forget the pages of an interrupted session.
    DiscardLeftovers,
    /// Ask where to save the page strip, then export it (Save…, Ctrl+S).
    SaveAs,
    /// Undo the last edit of the page strip (Ctrl+Z).
    Undo,
    /// Redo the last undone edit of the page strip (Ctrl+Shift+Z).
    Redo,
    /// Manual duplex: interleave the last two scans as fronts and backs.
    InterleaveLastTwo,
    /// Select page `index` of the strip and show it with the current
    /// filter.
    SelectPage(usize),
    /// Move a page of the strip to another place.
    MovePage {
        /// Its index now.
        from: usize,
        /// The index it goes to.
        to: usize,
    },
    /// Turn page `index` of the strip a quarter clockwise.
    RotatePage(usize),
    /// Take page `index` out of the strip (its file stays).
    DeletePage(usize),
    /// Select device `index` of the device list.
    SelectDevice(usize),
    /// Look for devices again.
    RefreshDevices,
    /// Open the "Add scanner by address…" window.
    OpenAddDevice,
    /// The address typed in that window so far.
    SetAddressDraft(String),
    /// Add the device at this address (or with this id) to the list.
    AddDevice(String),
    /// Close that window without adding anything.
    CloseAddDevice,
    /// Take the device added by hand at this index out of the list.
    ForgetDevice(usize),
    /// Ask where to save this stored file of the selected device, then
    /// download it.
    Download(Item),
    /// Upload files into the storage of device `device` (dropped on it).
    UploadFiles {
        /// Index in the device list.
        device: usize,
        /// The local files.
        files: Vec<PathBuf>,
    },
    /// Clear the report of a finished upload.
    ClearUpload,
    /// New scan settings (source, resolution, mode, size, area, pages,
    /// format, quality and filter), edited in the settings panels.
    SetScanSettings(ScanSettings),
    /// A new destination (folder, file per page or one document, names).
    SetDestination(Destination),
    /// Ask for a destination folder.
    ChooseFolder,
    /// The name typed for a new profile.
    SetProfileName(String),
    /// Save the current settings as profile `name` (and clear the name
    /// typed for it).
    SaveProfile(String),
    /// Use the settings of profile `name`.
    ApplyProfile(String),
    /// Delete profile `name`.
    DeleteProfile(String),
    /// New zoom and pan of the preview.
    SetView(PreviewView),
    /// Show the last flatbed preview again.
    ShowFlatbed,
    /// A new scan area on the flatbed (`None`: the whole page); the app
    /// cuts it to the glass.
    SetScanArea(Option<ScanArea>),
    /// A drag on the flatbed preview began (`Some`) or ended (`None`).
    SetAreaDrag(Option<AreaDrag>),
    /// The preview draws these full-resolution tiles of a page: count them
    /// as used and ask the engine for those missing or stale.
    WantTiles {
        /// The grid places on screen.
        places: Vec<TileKey>,
        /// Page rows so far, while the page is being scanned.
        rows_now: Option<u32>,
    },
    /// Tell the person something on the status line (files dropped where
    /// nothing takes them).
    SetStatus(String),
}

impl Action {
    /// True when applying the action may change what the next frame
    /// draws. Only [`Action::WantTiles`], which the preview pushes every
    /// frame while it is zoomed in, answers false: its tiles arrive as
    /// engine events, which ask for a frame of their own.
    pub fn redraws(&self) -> bool {
        !matches!(self, Action::WantTiles { .. })
    }
}

impl StreamscanApp {
    /// Does what `action` asks, with the app's own methods; the frame
    /// calls it for each action the widgets pushed, in order. Nothing here
    /// blocks: slow work goes to the engine or to a dialog thread.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::StartScan => self.start_scan(),
            Action::StartPreview => self.start_preview(),
            Action::Cancel => self.cancel(),
            Action::StopAfterPage => self.stop_after_page(),
            Action::ScanMore => self.scan_more(),
            Action::Answer(answer) => self.answer(answer),
            Action::DismissNotice => self.dismiss_notice(),
            Action::RecoverLeftovers => self.recover_leftovers(),
            Action::DiscardLeftovers => self.discard_leftovers(),
            Action::SaveAs => self.save_as(),
            Action::Undo => {
                self.strip.undo();
            }
            Action::Redo => {
                self.strip.redo();
            }
            Action::InterleaveLastTwo => {
                self.interleave_last_two();
            }
            Action::SelectPage(index) => self.select_page(index),
            Action::MovePage { from, to } => self.strip.move_page(from, to),
            Action::RotatePage(index) => self.strip.rotate(index),
            Action::DeletePage(index) => self.strip.delete(index),
            Action::SelectDevice(index) => self.select_device(index),
            Action::RefreshDevices => self.refresh_devices(),
            Action::OpenAddDevice => self.open_add_device(),
            Action::SetAddressDraft(address) => {
                let adding = self.adding.get_or_insert_with(AddingDevice::default);
                adding.address = address;
                adding.error = None;
            }
            Action::AddDevice(address) => self.add_device(&address),
            Action::CloseAddDevice => self.close_add_device(),
            Action::ForgetDevice(index) => self.forget_device(index),
            Action::Download(item) => self.download(&item),
            Action::UploadFiles { device, files } => self.upload_files(device, files),
            Action::ClearUpload => self.clear_upload(),
            Action::SetScanSettings(scan) => {
                self.prefs.scan = scan;
                self.filter_changed();
            }
            Action::SetDestination(destination) => self.prefs.destination = destination,
            Action::ChooseFolder => self.choose_folder(),
            Action::SetProfileName(name) => self.profile_name = name,
            Action::SaveProfile(name) => {
                self.prefs.save_profile(&name);
                self.profile_name.clear();
            }
            Action::ApplyProfile(name) => {
                self.prefs.apply_profile(&name);
                self.filter_changed();
            }
            Action::DeleteProfile(name) => self.prefs.delete_profile(&name),
            Action::SetView(view) => self.view = view,
            Action::ShowFlatbed => self.show_flatbed(),
            Action::SetScanArea(area) => self.set_scan_area(area),
            Action::SetAreaDrag(drag) => self.area_drag = drag,
            Action::WantTiles { places, rows_now } => {
                let (_, commands) = self.tiles.want(&places, rows_now);
                for command in commands {
                    self.engine.send(command);
                }
            }
            Action::SetStatus(text) => self.status = text,
        }
    }
}
