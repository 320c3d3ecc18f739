//! The image-processing filter that wraps every download stream.
//!
//! For now the filter is the identity: it forwards every page unchanged to
//! the encoder behind it (a device JPEG stays the same JPEG). The point and
//! geometric operations of the filter issue plug in here.

use crate::output::{FileFormat, PageEncoder};
use crate::raster::{Band, PageHeader};
use crate::transfer::Destination;
use serde::{Deserialize, Serialize};
use std::io;

/// Filter settings shared by the GUI and the CLI. All neutral by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterSettings {}

impl FilterSettings {
    /// True when the filter changes nothing (bytes pass through).
    pub fn is_neutral(&self) -> bool {
        true
    }
}

/// The filter stage: wraps the encoder of a destination stream.
pub struct Filter {
    settings: FilterSettings,
    inner: Box<dyn PageEncoder>,
}

impl Filter {
    /// Wraps `inner` with a filter applying `settings`.
    pub fn new(settings: FilterSettings, inner: Box<dyn PageEncoder>) -> Filter {
        Filter { settings, inner }
    }

    /// The settings this filter applies.
    pub fn settings(&self) -> &FilterSettings {
        &self.settings
    }
}

impl PageEncoder for Filter {
    fn begin_page(&mut self, header: &PageHeader) -> io::Result<()> {
        self.inner.begin_page(header)
    }
    fn write_band(&mut self, band: &Band) -> io::Result<()> {
        self.inner.write_band(band)
    }
    fn accepts_encoded(&self, format: FileFormat) -> bool {
        self.settings.is_neutral() && self.inner.accepts_encoded(format)
    }
    fn begin_encoded(&mut self, format: FileFormat, header: Option<&PageHeader>) -> io::Result<()> {
        self.inner.begin_encoded(format, header)
    }
    fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_encoded(bytes)
    }
    fn end_page(&mut self) -> io::Result<()> {
        self.inner.end_page()
    }
    fn abandon_page(&mut self) -> io::Result<()> {
        self.inner.abandon_page()
    }
    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
    fn pages(&self) -> u32 {
        self.inner.pages()
    }
    fn destination(&mut self) -> &mut dyn Destination {
        self.inner.destination()
    }
    fn into_destination(self: Box<Self>) -> Box<dyn Destination> {
        self.inner.into_destination()
    }
}
