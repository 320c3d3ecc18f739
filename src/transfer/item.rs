//! The item tree a device exposes: root, scanner sources, storage folders
//! and files, each with a name, a full name and WIA item flags.

use super::codes::ItemFlags;
use serde::{Deserialize, Serialize};

/// One node of a device's item tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The item's own name, e.g. `Feeder` or `report.pdf`.
    pub name: String,
    /// Path from the root, `/`-separated, e.g. `Root/Storage/report.pdf`.
    pub full_name: String,
    /// WIA item flags.
    pub flags: ItemFlags,
    /// Size in bytes, for file items.
    pub size: Option<u64>,
    /// Child items, in the order the device lists them.
    pub children: Vec<Item>,
    /// For a Generated region item: where it lies on its source.
    pub area: Option<ItemArea>,
}

/// Where a region item (a photo found on the flatbed) lies, in millimetres
/// of the flatbed (`WIA_IPS_XPOS`/`YPOS`/`XEXTENT`/`YEXTENT`, plus the
/// angle the segmentation filter measured).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemArea {
    /// Horizontal position of the region's centre.
    pub x_mm: f64,
    /// Vertical position of the region's centre.
    pub y_mm: f64,
    /// Width of the straightened region.
    pub width_mm: f64,
    /// Height of the straightened region.
    pub height_mm: f64,
    /// Rotation, degrees counter-clockwise as seen on the flatbed.
    pub angle_deg: f64,
}

impl Item {
    /// A new item below `parent_full_name` (empty for the root).
    pub fn new(parent_full_name: &str, name: &str, flags: ItemFlags) -> Item {
        let full_name = if parent_full_name.is_empty() {
            name.to_string()
        } else {
            format!("{parent_full_name}/{name}")
        };
        Item {
            name: name.to_string(),
            full_name,
            flags,
            size: None,
            children: Vec::new(),
            area: None,
        }
    }

    /// True when the item can be downloaded.
    pub fn is_transferable(&self) -> bool {
        self.flags.contains(ItemFlags::TRANSFER)
    }

    /// True for folders (including the root and storage folders).
    pub fn is_folder(&self) -> bool {
        self.flags.contains(ItemFlags::FOLDER)
    }

    /// Finds an item by its full name or by a path relative to this item
    /// (e.g. `Storage/a.png` from the root, or just `Feeder`).
    pub fn find(&self, path: &str) -> Option<&Item> {
        let path = path.trim_matches('/');
        if path.is_empty() || path == self.full_name {
            return Some(self);
        }
        let relative = path
            .strip_prefix(&self.full_name)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(path);
        let mut current = self;
        for part in relative.split('/') {
            current = current
                .children
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(part))?;
        }
        Some(current)
    }

    /// Every Transfer-flagged item below this one that has no
    /// Transfer-flagged children (what ACQUIRE_CHILDREN downloads), in order.
    pub fn transfer_leaves(&self) -> Vec<&Item> {
        let mut out = Vec::new();
        for child in &self.children {
            let below = child.transfer_leaves();
            if below.is_empty() {
                if child.is_transferable() && !child.is_folder() {
                    out.push(child);
                }
            } else {
                out.extend(below);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Item {
        let mut root = Item::new("", "Root", ItemFlags::ROOT | ItemFlags::FOLDER);
        let flatbed = Item::new(
            &root.full_name,
            "Flatbed",
            ItemFlags::IMAGE | ItemFlags::TRANSFER,
        );
        let mut storage = Item::new(
            &root.full_name,
            "Storage",
            ItemFlags::FOLDER | ItemFlags::STORAGE | ItemFlags::TRANSFER,
        );
        storage.children.push(Item::new(
            &storage.full_name,
            "a.png",
            ItemFlags::FILE | ItemFlags::TRANSFER,
        ));
        root.children.push(flatbed);
        root.children.push(storage);
        root
    }

    #[test]
    fn find_accepts_full_and_relative_names() {
        let root = tree();
        assert_eq!(
            root.find("Root/Storage/a.png").map(|i| i.name.as_str()),
            Some("a.png")
        );
        assert_eq!(
            root.find("storage/a.png").map(|i| i.name.as_str()),
            Some("a.png")
        );
        assert_eq!(
            root.find("Flatbed").map(|i| i.full_name.as_str()),
            Some("Root/Flatbed")
        );
        assert!(root.find("Nothing").is_none());
    }

    #[test]
    fn transfer_leaves_skip_folders() {
        let root = tree();
        let storage = root.find("Storage").expect("storage");
        let names: Vec<&str> = storage
            .transfer_leaves()
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, vec!["a.png"]);
    }
}
