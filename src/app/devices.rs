//! The app's device list: the devices discovery found, the one named on
//! the command line, the one remembered from last time, which is selected,
//! and whether a search is still running.
//!
//! Discovery runs in the engine; this folds its events. A remembered device
//! is listed (and selected) at once as "searching…" and becomes ready when
//! its back end finds it, or "not found" (greyed, never silently replaced
//! by another device) when its back end finishes without it. A device named
//! on purpose, or one its back end makes from the id alone (every `sim:`
//! id), is present from the start.

use crate::device::Registry;
use crate::transfer::{Capabilities, DeviceInfo, Item, ItemFlags};
use std::collections::HashSet;

/// Whether a listed device is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Found by discovery, named on purpose, or made from its id.
    Present,
    /// Remembered; its back end is still searching.
    Searching,
    /// Remembered or found before, but its back end's last search did not
    /// find it.
    NotFound,
}

/// A device in the list.
#[derive(Debug, Clone)]
pub struct DeviceEntry {
    /// Who it is.
    pub info: DeviceInfo,
    /// The back end's prefix (the `KIND` of its id).
    pub backend: String,
    /// Whether it is there.
    pub presence: Presence,
    /// Present whatever discovery says (named on purpose, added by hand,
    /// or made from its id).
    pub pinned: bool,
    /// Added by hand (by address); the person can forget it.
    pub added: bool,
    /// Its item tree, once listed.
    pub items: Option<Item>,
    /// What it can do, once listed.
    pub capabilities: Option<Capabilities>,
    /// Why it could not be listed.
    pub error: Option<String>,
}

impl DeviceEntry {
    /// An entry for `info`, present or not.
    pub fn new(info: DeviceInfo, presence: Presence) -> DeviceEntry {
        let backend = info
            .id
            .split_once(':')
            .map_or(info.id.as_str(), |(kind, _)| kind)
            .to_string();
        DeviceEntry {
            info,
            backend,
            presence,
            pinned: false,
            added: false,
            items: None,
            capabilities: None,
            error: None,
        }
    }

    /// True when the device takes uploads.
    pub fn accepts_uploads(&self) -> bool {
        self.presence == Presence::Present
            && (self.capabilities.as_ref().is_some_and(|c| c.storage)
                || self.storage_folder().is_some())
    }

    /// The storage folder item, once listed.
    pub fn storage_folder(&self) -> Option<&Item> {
        self.items
            .as_ref()?
            .children
            .iter()
            .find(|i| i.flags.contains(ItemFlags::STORAGE))
    }
}

/// What changed in the list after an event, for the app to act on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListChange {
    /// Devices that became present: list their items.
    pub arrived: Vec<String>,
    /// The selection moved to this device (its settings must be filled).
    pub selected: Option<String>,
}

/// The device list and the search filling it.
#[derive(Debug, Default)]
pub struct DeviceList {
    entries: Vec<DeviceEntry>,
    selected: Option<usize>,
    /// The device the user wants (named or remembered); until it is
    /// listed nothing else is selected.
    wanted: Option<String>,
    round: u64,
    pending: Vec<String>,
    seen: HashSet<String>,
}

impl DeviceList {
    /// The list before any search: the device named on purpose (present)
    /// or else the remembered one (searching, unless its back end makes it
    /// from its id), selected.
    pub fn start(registry: &Registry, named: Option<&str>, remembered: Option<&str>) -> DeviceList {
        let mut list = DeviceList::default();
        let wanted = named.or(remembered);
        if let Some(id) = wanted
            && let Some(info) = registry.describe(id)
        {
            let pinned = named.is_some() || registry.available_by_id(id);
            let presence = if pinned {
                Presence::Present
            } else {
                Presence::Searching
            };
            let mut entry = DeviceEntry::new(info, presence);
            entry.pinned = pinned;
            list.entries.push(entry);
            list.selected = Some(0);
        }
        list.wanted = wanted.map(str::to_string);
        list
    }

    /// Every listed device.
    pub fn entries(&self) -> &[DeviceEntry] {
        &self.entries
    }

    /// Lists a device added by hand (present whatever discovery says) and
    /// returns its place; a device already listed is marked as added and
    /// keeps its place.
    pub fn add(&mut self, info: DeviceInfo) -> usize {
        if let Some(i) = self.entries.iter().position(|e| e.info.id == info.id) {
            let entry = &mut self.entries[i];
            entry.added = true;
            entry.pinned = true;
            entry.presence = Presence::Present;
            return i;
        }
        let mut entry = DeviceEntry::new(info, Presence::Present);
        entry.pinned = true;
        entry.added = true;
        self.entries.push(entry);
        self.entries.len() - 1
    }

    /// Takes the device added by hand at `index` out of the list (nothing
    /// for other entries); the selection moves to the first device left.
    /// Returns its id.
    pub fn forget(&mut self, index: usize) -> Option<String> {
        if !self.entries.get(index)?.added {
            return None;
        }
        let entry = self.entries.remove(index);
        self.selected = match self.selected {
            Some(s) if s == index => (!self.entries.is_empty()).then_some(0),
            Some(s) if s > index => Some(s - 1),
            other => other,
        };
        if self.wanted.as_deref() == Some(entry.info.id.as_str()) {
            self.wanted = None;
        }
        Some(entry.info.id)
    }

    /// The entry of `id`, to fill in.
    pub fn entry_mut(&mut self, id: &str) -> Option<&mut DeviceEntry> {
        self.entries.iter_mut().find(|e| e.info.id == id)
    }

    /// The selected device.
    pub fn selected(&self) -> Option<&DeviceEntry> {
        self.selected.and_then(|i| self.entries.get(i))
    }

    /// The selected device's position.
    pub fn selected_index(&self) -> Option<usize> {
        self.selected
    }

    /// Selects entry `index`; false when there is none.
    pub fn select(&mut self, index: usize) -> bool {
        if index < self.entries.len() {
            self.selected = Some(index);
            true
        } else {
            false
        }
    }

    /// True while a back end is still searching.
    pub fn searching(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The back ends still searching.
    pub fn pending(&self) -> &[String] {
        &self.pending
    }

    /// A search began.
    pub fn started(&mut self, round: u64, backends: Vec<String>) {
        if round < self.round {
            return;
        }
        self.round = round;
        self.pending = backends;
        self.seen.clear();
        for entry in &mut self.entries {
            if entry.presence == Presence::NotFound {
                entry.presence = Presence::Searching;
            }
        }
    }

    /// A back end found `device`.
    pub fn found(&mut self, round: u64, device: DeviceInfo) -> ListChange {
        let mut change = ListChange::default();
        if round != self.round {
            return change;
        }
        self.seen.insert(device.id.clone());
        match self.entries.iter_mut().find(|e| e.info.id == device.id) {
            Some(entry) => {
                if entry.presence != Presence::Present {
                    entry.presence = Presence::Present;
                    entry.error = None;
                    change.arrived.push(device.id.clone());
                }
                if !entry.pinned {
                    entry.info = device;
                }
            }
            None => {
                change.arrived.push(device.id.clone());
                self.entries
                    .push(DeviceEntry::new(device, Presence::Present));
            }
        }
        if self.selected.is_none() && self.wanted.is_none() {
            self.selected = Some(self.entries.len() - 1);
            change.selected = self.selected().map(|e| e.info.id.clone());
        }
        change
    }

    /// A back end's search is over: what it did not find is not there.
    pub fn finished(&mut self, round: u64, backend: &str) {
        if round != self.round {
            return;
        }
        self.pending.retain(|p| p != backend);
        for entry in &mut self.entries {
            if entry.backend == backend && !entry.pinned && !self.seen.contains(&entry.info.id) {
                entry.presence = Presence::NotFound;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.to_string(),
            name: id.to_string(),
            kind: String::from("test"),
        }
    }

    #[test]
    fn a_remembered_device_waits_for_its_back_end() {
        let registry = Registry::builtin();
        // `sim` ids are made from the id: present at once.
        let list = DeviceList::start(&registry, None, Some("sim:pages=3"));
        assert_eq!(list.selected().map(|e| e.presence), Some(Presence::Present));
        // An id no back end takes is not listed.
        let list = DeviceList::start(&registry, None, Some("gone:1"));
        assert!(list.entries().is_empty());
    }

    #[test]
    fn the_first_device_found_is_selected_when_none_is_wanted() {
        let mut list = DeviceList::default();
        list.started(1, vec![String::from("sim")]);
        assert!(list.searching());
        let change = list.found(1, info("sim"));
        assert_eq!(change.selected.as_deref(), Some("sim"));
        assert_eq!(change.arrived, vec![String::from("sim")]);
        list.finished(1, "sim");
        assert!(!list.searching());
        // Stale rounds change nothing.
        assert_eq!(list.found(0, info("sim:x")), ListChange::default());
        assert_eq!(list.entries().len(), 1);
    }

    #[test]
    fn a_device_missing_from_a_search_is_not_found_and_stays_selected() {
        let mut list = DeviceList::default();
        list.entries
            .push(DeviceEntry::new(info("net:a"), Presence::Searching));
        list.selected = Some(0);
        list.wanted = Some(String::from("net:a"));
        list.started(1, vec![String::from("sim"), String::from("net")]);
        let change = list.found(1, info("sim"));
        // The wanted device keeps the selection.
        assert_eq!(change.selected, None);
        list.finished(1, "net");
        assert_eq!(
            list.selected().map(|e| e.presence),
            Some(Presence::NotFound)
        );
        assert_eq!(list.selected().map(|e| e.info.id.as_str()), Some("net:a"));
        // Found in the next search: present again.
        list.started(2, vec![String::from("net")]);
        assert_eq!(list.entries()[0].presence, Presence::Searching);
        let change = list.found(2, info("net:a"));
        assert_eq!(change.arrived, vec![String::from("net:a")]);
        assert_eq!(list.entries()[0].presence, Presence::Present);
    }

    #[test]
    fn a_device_added_by_hand_stays_listed_until_forgotten() {
        let mut list = DeviceList::default();
        list.started(1, vec![String::from("sim"), String::from("net")]);
        list.found(1, info("sim"));
        let at = list.add(info("net:http://10.0.0.9/eSCL/"));
        assert_eq!(at, 1);
        assert!(list.select(at));
        // Its back end's search does not find it: it is still there.
        list.finished(1, "net");
        assert_eq!(list.entries()[1].presence, Presence::Present);
        // Adding it again keeps one entry.
        assert_eq!(list.add(info("net:http://10.0.0.9/eSCL/")), 1);
        assert_eq!(list.entries().len(), 2);
        // Only added devices can be forgotten; the selection moves on.
        assert_eq!(list.forget(0), None);
        assert_eq!(list.forget(1).as_deref(), Some("net:http://10.0.0.9/eSCL/"));
        assert_eq!(list.entries().len(), 1);
        assert_eq!(list.selected().map(|e| e.info.id.as_str()), Some("sim"));
    }
}
