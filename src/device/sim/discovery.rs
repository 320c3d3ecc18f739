//! The virtual scanner's entry in the back-end registry: its `sim` prefix,
//! how its ids are checked and opened, and its discovery (it is always
//! there, so the search finds it at once).

use super::{SimDriver, SimOptions};
use crate::clock::CancelToken;
use crate::device::registry::Backend;
use crate::transfer::{DeviceInfo, Driver, DriverError};

/// The name the virtual scanner shows.
pub const SIM_NAME: &str = "Streamscan Virtual Scanner";

/// The kind label of the virtual scanner's devices.
pub const SIM_KIND: &str = "virtual";

/// The virtual scanner as a registered back end.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimBackend;

impl Backend for SimBackend {
    fn prefix(&self) -> &str {
        "sim"
    }

    fn parse(&self, rest: &str) -> Result<(), String> {
        SimOptions::parse(rest).map(|_| ())
    }

    fn open(&self, id: &str, rest: &str) -> Result<Box<dyn Driver>, DriverError> {
        let options = SimOptions::parse(rest).map_err(DriverError::InvalidSetting)?;
        Ok(Box::new(SimDriver::open(id, options)?))
    }

    fn discover(
        &self,
        found: &mut dyn FnMut(DeviceInfo),
        _cancel: &CancelToken,
    ) -> Result<(), DriverError> {
        found(self.describe("sim"));
        Ok(())
    }

    fn available_by_id(&self, _rest: &str) -> bool {
        true
    }

    fn describe(&self, id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.to_string(),
            name: String::from(SIM_NAME),
            kind: String::from(SIM_KIND),
        }
    }
}
