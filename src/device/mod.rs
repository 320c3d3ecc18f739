//! Device back ends and device ids.
//!
//! Every device is named by an id `KIND:REST` used everywhere (CLI, GUI,
//! tests). This issue defines the built-in virtual scanner: `sim` or
//! `sim:key=value,...` (see [`sim::SimOptions`]).

pub mod sim;

use crate::transfer::{DeviceInfo, DeviceKind, Driver, DriverError};

/// A parsed device id.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceId {
    /// The virtual scanner with its options.
    Sim(sim::SimOptions),
}

/// Why an id could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    /// The kind before `:` is not known.
    #[error("unknown device kind `{0}` (known: sim)")]
    UnknownKind(String),
    /// The part after `:` is not valid for the kind.
    #[error("device id `{id}`: {reason}")]
    Invalid {
        /// The id as given.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl DeviceId {
    /// Parses `KIND` or `KIND:REST`.
    pub fn parse(id: &str) -> Result<DeviceId, DeviceIdError> {
        let (kind, rest) = id.split_once(':').unwrap_or((id, ""));
        match kind {
            "sim" => sim::SimOptions::parse(rest)
                .map(DeviceId::Sim)
                .map_err(|reason| DeviceIdError::Invalid {
                    id: id.to_string(),
                    reason,
                }),
            other => Err(DeviceIdError::UnknownKind(other.to_string())),
        }
    }
}

/// Opens the device an id names.
pub fn open(id: &str) -> Result<Box<dyn Driver>, DeviceOpenError> {
    match DeviceId::parse(id)? {
        DeviceId::Sim(options) => Ok(Box::new(sim::SimDriver::open(id, options)?)),
    }
}

/// Why a device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DeviceOpenError {
    /// The id is not valid.
    #[error(transparent)]
    Id(#[from] DeviceIdError),
    /// The device refused or is unreachable.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// The devices present now: the virtual scanner is always there.
pub fn list() -> Vec<DeviceInfo> {
    vec![DeviceInfo {
        id: String::from("sim"),
        name: String::from("Streamscan Virtual Scanner"),
        kind: DeviceKind::Virtual,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_refuses_unknown_ones() {
        assert!(matches!(DeviceId::parse("sim"), Ok(DeviceId::Sim(_))));
        assert!(matches!(
            DeviceId::parse("sim:pages=2"),
            Ok(DeviceId::Sim(o)) if o.pages == 2
        ));
        assert!(matches!(
            DeviceId::parse("scanjet:1"),
            Err(DeviceIdError::UnknownKind(_))
        ));
        assert!(matches!(
            DeviceId::parse("sim:bogus=1"),
            Err(DeviceIdError::Invalid { .. })
        ));
    }
}
