//! WIA numeric codes: message kinds, device status codes, item flags and the
//! document-handling constants, with the values WIA's headers give them so
//! that traces and logs can be read against WIA documentation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a transfer message (`lMessage` of WIA's `WiaTransferParams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// WIA_TRANSFER_MSG_STATUS (1): progress of the current page.
    Status = 1,
    /// WIA_TRANSFER_MSG_END_OF_STREAM (2): the current stream is complete.
    EndOfStream = 2,
    /// WIA_TRANSFER_MSG_END_OF_TRANSFER (3): the transfer is over (always last).
    EndOfTransfer = 3,
    /// WIA_TRANSFER_MSG_DEVICE_STATUS (5): a device condition (goes to the
    /// status-handler chain, never to the transfer callback).
    DeviceStatus = 5,
    /// WIA_TRANSFER_MSG_NEW_PAGE (6): a new page starts in a multipage stream.
    NewPage = 6,
}

impl MessageKind {
    /// The WIA name of the message, e.g. `END_OF_STREAM`.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Status => "STATUS",
            MessageKind::EndOfStream => "END_OF_STREAM",
            MessageKind::EndOfTransfer => "END_OF_TRANSFER",
            MessageKind::DeviceStatus => "DEVICE_STATUS",
            MessageKind::NewPage => "NEW_PAGE",
        }
    }

    /// The numeric WIA value.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// A WIA status code: success codes are `0x002100NN`, errors `0x802100NN`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusCode(pub u32);

macro_rules! status_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr, $text:expr;)*) => {
        impl StatusCode {
            $($(#[$doc])* pub const $name: StatusCode = StatusCode($value);)*

            /// The WIA name without its prefix, e.g. `PAPER_JAM`.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($value => stringify!($name),)*
                    _ => "UNKNOWN",
                }
            }

            /// What the code means, in words a user understands.
            pub fn description(self) -> &'static str {
                match self.0 {
                    $($value => $text,)*
                    _ => "unknown device status",
                }
            }
        }
    };
}

status_codes! {
    /// WIA_STATUS_END_OF_MEDIA: the feeder ran out before the requested count.
    END_OF_MEDIA = 0x0021_0001, "the feeder ran out of paper";
    /// WIA_STATUS_WARMING_UP: the device warms up and the job waits.
    WARMING_UP = 0x0021_0002, "the scanner is warming up";
    /// WIA_STATUS_CALIBRATING: the device calibrates.
    CALIBRATING = 0x0021_0003, "the scanner is calibrating";
    /// WIA_STATUS_RESERVING_NETWORK_DEVICE.
    RESERVING_NETWORK_DEVICE = 0x0021_0006, "reserving the network scanner";
    /// WIA_STATUS_NETWORK_DEVICE_RESERVED.
    NETWORK_DEVICE_RESERVED = 0x0021_0007, "the network scanner is reserved";
    /// WIA_STATUS_CLEAR: the condition reported before is over.
    CLEAR = 0x0021_0008, "the condition is cleared";
    /// WIA_STATUS_SKIP_ITEM.
    SKIP_ITEM = 0x0021_0009, "the item is skipped";
    /// WIA_STATUS_NOT_HANDLED: a handler did not handle the status.
    NOT_HANDLED = 0x0021_000A, "the status was not handled";
    /// WIA_ERROR_GENERAL_ERROR.
    GENERAL_ERROR = 0x8021_0001, "the scanner reported an error";
    /// WIA_ERROR_PAPER_JAM.
    PAPER_JAM = 0x8021_0002, "paper is jammed in the feeder";
    /// WIA_ERROR_PAPER_EMPTY.
    PAPER_EMPTY = 0x8021_0003, "there is no paper in the feeder";
    /// WIA_ERROR_PAPER_PROBLEM.
    PAPER_PROBLEM = 0x8021_0004, "there is a problem with the paper";
    /// WIA_ERROR_OFFLINE.
    OFFLINE = 0x8021_0005, "the scanner is offline";
    /// WIA_ERROR_BUSY.
    BUSY = 0x8021_0006, "the scanner is busy";
    /// WIA_ERROR_WARMING_UP: the device refuses to start while warming up.
    WARMING_UP_ERROR = 0x8021_0007, "the scanner is still warming up";
    /// WIA_ERROR_USER_INTERVENTION.
    USER_INTERVENTION = 0x8021_0008, "the scanner needs attention";
    /// WIA_ERROR_ITEM_DELETED.
    ITEM_DELETED = 0x8021_0009, "the item no longer exists";
    /// WIA_ERROR_DEVICE_COMMUNICATION.
    DEVICE_COMMUNICATION = 0x8021_000A, "communication with the scanner failed";
    /// WIA_ERROR_INVALID_COMMAND.
    INVALID_COMMAND = 0x8021_000B, "the scanner rejected the command";
    /// WIA_ERROR_INCORRECT_HARDWARE_SETTING.
    INCORRECT_HARDWARE_SETTING = 0x8021_000C, "a scanner setting is wrong";
    /// WIA_ERROR_DEVICE_LOCKED.
    DEVICE_LOCKED = 0x8021_000D, "the scanner is locked";
    /// WIA_ERROR_EXCEPTION_IN_DRIVER.
    EXCEPTION_IN_DRIVER = 0x8021_000E, "the scanner driver failed";
    /// WIA_ERROR_INVALID_DRIVER_RESPONSE.
    INVALID_DRIVER_RESPONSE = 0x8021_000F, "the scanner sent an invalid answer";
    /// WIA_ERROR_COVER_OPEN.
    COVER_OPEN = 0x8021_0010, "the scanner cover is open";
    /// WIA_ERROR_LAMP_OFF.
    LAMP_OFF = 0x8021_0011, "the scanner lamp is off";
    /// WIA_ERROR_DESTINATION: the application's destination cannot be written.
    DESTINATION = 0x8021_0012, "the destination cannot be written";
    /// WIA_ERROR_NETWORK_RESERVATION_FAILED.
    NETWORK_RESERVATION_FAILED = 0x8021_0013, "the network scanner could not be reserved";
    /// WIA_ERROR_MULTI_FEED: two sheets were fed at once.
    MULTI_FEED = 0x8021_0014, "two or more sheets were fed at once";
    /// WIA_ERROR_MAXIMUM_PRINTER_ENDORSER_COUNTER.
    MAXIMUM_PRINTER_ENDORSER_COUNTER = 0x8021_0015, "the endorser counter is at its maximum";
}

impl StatusCode {
    /// True for error-severity codes (high bit set).
    pub fn is_error(self) -> bool {
        self.0 & 0x8000_0000 != 0
    }

    /// Parses a WIA name (`PAPER_JAM`) or a hex value (`0x80210002`).
    pub fn from_name(name: &str) -> Option<StatusCode> {
        if let Some(hex) = name.strip_prefix("0x") {
            return u32::from_str_radix(hex, 16).ok().map(StatusCode);
        }
        (0x0021_0001..=0x0021_000A)
            .chain(0x8021_0001..=0x8021_0015)
            .map(StatusCode)
            .find(|c| c.name() == name)
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(0x{:08X})", self.name(), self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.0)
    }
}

/// Item flags (`WIA_IPA_ITEM_FLAGS`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ItemFlags(pub u32);

impl ItemFlags {
    /// WiaItemTypeImage.
    pub const IMAGE: ItemFlags = ItemFlags(0x1);
    /// WiaItemTypeFile.
    pub const FILE: ItemFlags = ItemFlags(0x2);
    /// WiaItemTypeFolder.
    pub const FOLDER: ItemFlags = ItemFlags(0x4);
    /// WiaItemTypeRoot.
    pub const ROOT: ItemFlags = ItemFlags(0x8);
    /// WiaItemTypeStorage.
    pub const STORAGE: ItemFlags = ItemFlags(0x1000);
    /// WiaItemTypeTransfer: only items with this flag can be downloaded.
    pub const TRANSFER: ItemFlags = ItemFlags(0x2000);
    /// WiaItemTypeGenerated: created by the driver or the segmentation filter.
    pub const GENERATED: ItemFlags = ItemFlags(0x4000);
    /// WiaItemTypeProgrammableDataSource: a scanner source (flatbed, feeder).
    pub const PROGRAMMABLE_DATA_SOURCE: ItemFlags = ItemFlags(0x8_0000);

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: ItemFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ItemFlags {
    type Output = ItemFlags;
    fn bitor(self, rhs: ItemFlags) -> ItemFlags {
        ItemFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for ItemFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemFlags(0x{:X})", self.0)
    }
}

/// Download flags (`lFlags` of `IWiaTransfer::Download`).
pub mod download_flags {
    /// WIA_TRANSFER_ACQUIRE_CHILDREN: a folder download transfers every
    /// Transfer-flagged item below it.
    pub const ACQUIRE_CHILDREN: u32 = 1;
}

/// Document handling select (`WIA_IPS_DOCUMENT_HANDLING_SELECT`).
pub mod document_handling {
    /// FEEDER.
    pub const FEEDER: u32 = 1;
    /// FLATBED.
    pub const FLATBED: u32 = 2;
    /// DUPLEX.
    pub const DUPLEX: u32 = 4;
    /// FRONT_FIRST.
    pub const FRONT_FIRST: u32 = 8;
    /// BACK_FIRST.
    pub const BACK_FIRST: u32 = 16;
    /// FRONT_ONLY.
    pub const FRONT_ONLY: u32 = 32;
    /// BACK_ONLY.
    pub const BACK_ONLY: u32 = 64;
    /// ADVANCED_DUPLEX.
    pub const ADVANCED_DUPLEX: u32 = 1024;
    /// Document handling status FEED_READY.
    pub const STATUS_FEED_READY: u32 = 1;
    /// Document handling status FLAT_READY.
    pub const STATUS_FLAT_READY: u32 = 2;
    /// Document handling status DUP_READY.
    pub const STATUS_DUP_READY: u32 = 4;
    /// Document handling status PAPER_JAM.
    pub const STATUS_PAPER_JAM: u32 = 32;
    /// Document handling status STORAGE_FULL.
    pub const STATUS_STORAGE_FULL: u32 = 256;
    /// Document handling status MULTIPLE_FEED.
    pub const STATUS_MULTIPLE_FEED: u32 = 512;
    /// Document handling status LAMP_ERR.
    pub const STATUS_LAMP_ERR: u32 = 2048;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_wia_header_values() {
        assert_eq!(StatusCode::COVER_OPEN.0, 0x8021_0010);
        assert_eq!(StatusCode::MULTI_FEED.0, 0x8021_0014);
        assert_eq!(StatusCode::DESTINATION.0, 0x8021_0012);
        assert_eq!(StatusCode::CLEAR.0, 0x0021_0008);
        assert_eq!(MessageKind::NewPage.code(), 6);
        assert!(StatusCode::PAPER_JAM.is_error());
        assert!(!StatusCode::WARMING_UP.is_error());
    }

    #[test]
    fn names_round_trip() {
        for name in ["PAPER_JAM", "WARMING_UP", "MULTI_FEED", "CLEAR"] {
            let code = StatusCode::from_name(name).expect("known name");
            assert_eq!(code.name(), name);
        }
        assert_eq!(
            StatusCode::from_name("0x80210002"),
            Some(StatusCode::PAPER_JAM)
        );
    }
}
