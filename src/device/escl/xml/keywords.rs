//! eSCL's keyword values (colour modes, intents, states, ...) as enums
//! that keep any word they do not know as `Other`.
//!
//! Reading compares the keyword after dropping a namespace-style prefix
//! (`escl:Photo` reads as `Photo`), since devices and clients write some
//! keywords that way; a keyword that is still unknown is kept verbatim,
//! prefix and all, so nothing a device says is lost or refused.

/// Declares a keyword enum: the known words, `Other(String)` for the
/// rest, `parse` and `as_str`.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
            /// A word this layer does not know, as the document had it.
            Other(String),
        }

        impl $name {
            /// Reads a keyword: a known word (with or without a prefix such
            /// as `scan:`), else [`Self::Other`] with the text unchanged.
            pub fn parse(text: &str) -> Self {
                match unprefixed(text) {
                    $( $word => Self::$variant, )+
                    _ => Self::Other(text.to_string()),
                }
            }

            /// The keyword as eSCL writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $word, )+
                    Self::Other(text) => text,
                }
            }
        }
    };
}

/// `text` without a leading `prefix:` when the prefix looks like an XML
/// name (so `urn:uuid:...` or a URL is left alone: they hold a `/` or
/// more than one colon).
fn unprefixed(text: &str) -> &str {
    match text.split_once(':') {
        Some((prefix, rest))
            if !prefix.is_empty()
                && !rest.contains(':')
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') =>
        {
            rest
        }
        _ => text,
    }
}

keyword_enum! {
    /// A colour mode as eSCL names it (`scan:ColorMode`).
    EsclColorMode {
        /// 1-bit black and white.
        BlackAndWhite1 = "BlackAndWhite1",
        /// 8-bit gray.
        Grayscale8 = "Grayscale8",
        /// 16-bit gray.
        Grayscale16 = "Grayscale16",
        /// 24-bit colour.
        Rgb24 = "RGB24",
        /// 48-bit colour.
        Rgb48 = "RGB48",
    }
}

keyword_enum! {
    /// What a scan is for (`scan:Intent`); devices tune their image
    /// processing to it.
    Intent {
        /// Text documents.
        Document = "Document",
        /// Mixed text and pictures.
        TextAndGraphic = "TextAndGraphic",
        /// Photographs.
        Photo = "Photo",
        /// A quick low-resolution preview.
        Preview = "Preview",
        /// A three-dimensional object (cameras).
        Object = "Object",
        /// Business cards.
        BusinessCard = "BusinessCard",
    }
}

keyword_enum! {
    /// Where the paper is scanned from in a request (`pwg:InputSource`).
    InputSource {
        /// The flatbed glass.
        Platen = "Platen",
        /// The automatic document feeder.
        Feeder = "Feeder",
        /// A camera.
        Camera = "Camera",
    }
}

keyword_enum! {
    /// The scanner's state (`pwg:State` in `ScannerStatus`).
    ScannerState {
        /// Ready for a job.
        Idle = "Idle",
        /// Working on a job.
        Processing = "Processing",
        /// Running a self-test.
        Testing = "Testing",
        /// Stopped: it needs attention.
        Stopped = "Stopped",
        /// Out of order.
        Down = "Down",
    }
}

keyword_enum! {
    /// The feeder's state (`scan:AdfState` in `ScannerStatus`).
    AdfState {
        /// Feeding a sheet (not empty, even when no sheet is in the tray).
        Processing = "ScannerAdfProcessing",
        /// No paper in the tray.
        Empty = "ScannerAdfEmpty",
        /// Paper is jammed.
        Jam = "ScannerAdfJam",
        /// Paper is in the tray.
        Loaded = "ScannerAdfLoaded",
        /// A sheet was not picked up.
        Mispick = "ScannerAdfMispick",
        /// The feeder's hatch is open.
        HatchOpen = "ScannerAdfHatchOpen",
        /// A sheet is too short to be scanned on both sides.
        DuplexPageTooShort = "ScannerAdfDuplexPageTooShort",
        /// A sheet is too long to be scanned on both sides.
        DuplexPageTooLong = "ScannerAdfDuplexPageTooLong",
        /// Several sheets were pulled in at once.
        MultipickDetected = "ScannerAdfMultipickDetected",
        /// The input tray failed.
        InputTrayFailed = "ScannerAdfInputTrayFailed",
        /// The input tray holds more than it can feed.
        InputTrayOverloaded = "ScannerAdfInputTrayOverloaded",
    }
}

keyword_enum! {
    /// A job's state (`pwg:JobState` in a `JobInfo`).
    JobState {
        /// Accepted, not started.
        Pending = "Pending",
        /// Scanning or transferring.
        Processing = "Processing",
        /// Finished; every image was made.
        Completed = "Completed",
        /// Cancelled by the client.
        Canceled = "Canceled",
        /// Ended by the device (cancelled at its panel, or failed).
        Aborted = "Aborted",
    }
}

keyword_enum! {
    /// A feeder option (`scan:AdfOption` in `AdfOptions`).
    AdfOption {
        /// The feeder senses whether paper is loaded.
        DetectPaperLoaded = "DetectPaperLoaded",
        /// The feeder can take one sheet only on request.
        SelectSinglePage = "SelectSinglePage",
        /// The feeder scans both sides.
        Duplex = "Duplex",
    }
}

impl JobState {
    /// True for the states a job does not leave (completed, cancelled,
    /// aborted).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Canceled | JobState::Aborted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_words_read_with_or_without_a_prefix() {
        assert_eq!(EsclColorMode::parse("RGB24"), EsclColorMode::Rgb24);
        assert_eq!(Intent::parse("escl:Photo"), Intent::Photo);
        assert_eq!(AdfState::parse("ScannerAdfEmpty"), AdfState::Empty);
        assert_eq!(AdfState::Empty.as_str(), "ScannerAdfEmpty");
    }

    #[test]
    fn unknown_words_are_kept_as_written() {
        let auto = EsclColorMode::parse("scan:AutoColorDetection");
        assert_eq!(auto, EsclColorMode::Other("scan:AutoColorDetection".into()));
        assert_eq!(auto.as_str(), "scan:AutoColorDetection");
        assert_eq!(JobState::parse(""), JobState::Other(String::new()));
        assert_eq!(
            ScannerState::parse("urn:x:Idle"),
            ScannerState::Other("urn:x:Idle".into())
        );
    }

    #[test]
    fn final_job_states() {
        assert!(JobState::Aborted.is_final());
        assert!(!JobState::Processing.is_final());
        assert!(!JobState::Other("Held".into()).is_final());
    }
}
