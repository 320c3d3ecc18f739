//! `ScannerStatus` (the scanner's and the feeder's state and the recent
//! jobs) and `ScanImageInfo` (the true size of the last page), as typed
//! values.
//!
//! A job is named by the `Location` the device answered its `POST
//! ScanJobs` with, an absolute URL or a path; the status lists it by
//! `JobUri`, a path, and `JobUuid`. [`ScannerStatus::job`] finds it either
//! way, ignoring the host (which devices get wrong) and a trailing slash.

use super::XmlError;
use super::keywords::{AdfState, JobState, ScannerState};
use super::read::{Reader, XmlNode, read_document};

/// What a device says about itself and its jobs (`ScannerStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerStatus {
    /// The eSCL version (`pwg:Version`).
    pub version: Option<String>,
    /// The scanner's state (`pwg:State`).
    pub state: ScannerState,
    /// The feeder's state (`scan:AdfState`), on devices with a feeder.
    pub adf_state: Option<AdfState>,
    /// The jobs the device remembers (`scan:Jobs/scan:JobInfo`), newest
    /// first on most devices.
    pub jobs: Vec<JobInfo>,
}

/// One job in a [`ScannerStatus`] (`scan:JobInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobInfo {
    /// The job's path on the device (`pwg:JobUri`, `/eSCL/ScanJobs/12`).
    pub job_uri: Option<String>,
    /// The job's id (`pwg:JobUuid`).
    pub job_uuid: Option<String>,
    /// Seconds since the job was last active (`scan:Age`).
    pub age: Option<u32>,
    /// Images scanned so far (`pwg:ImagesCompleted`).
    pub images_completed: Option<u32>,
    /// Images scanned and not yet fetched (`pwg:ImagesToTransfer`).
    pub images_to_transfer: Option<u32>,
    /// The job's state (`pwg:JobState`).
    pub state: Option<JobState>,
    /// Why it is in that state (`pwg:JobStateReasons/pwg:JobStateReason`:
    /// `JobScanning`, `JobCompletedSuccessfully`, `JobCanceledAtDevice`...).
    pub state_reasons: Vec<String>,
}

/// The true geometry of the page last fetched from a job
/// (`ScanImageInfo`); it gives the height of a JPEG whose header says 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanImageInfo {
    /// The job's path on the device (`pwg:JobUri`).
    pub job_uri: Option<String>,
    /// The job's id (`pwg:JobUuid`).
    pub job_uuid: Option<String>,
    /// Width of the page in pixels (`scan:ActualWidth`).
    pub actual_width: Option<u32>,
    /// Height of the page in pixels (`scan:ActualHeight`).
    pub actual_height: Option<u32>,
    /// Bytes in one row of the page (`scan:ActualBytesPerLine`).
    pub actual_bytes_per_line: Option<u32>,
}

impl ScannerStatus {
    /// The name of this document, as its root element and error messages
    /// have it.
    pub const DOCUMENT: &'static str = "ScannerStatus";

    /// The job that `location` names: the `Location` of a job as the
    /// device answered it (`http://host/eSCL/ScanJobs/12` or a path), or
    /// its UUID. Matches the path of `JobUri` (the host is not compared)
    /// or the last segment against `JobUuid`.
    pub fn job(&self, location: &str) -> Option<&JobInfo> {
        let wanted = url_path(location).trim_end_matches('/');
        let last = wanted.rsplit('/').next().unwrap_or(wanted);
        self.jobs.iter().find(|job| {
            job.job_uri
                .as_deref()
                .is_some_and(|uri| url_path(uri).trim_end_matches('/') == wanted)
                || job
                    .job_uuid
                    .as_deref()
                    .is_some_and(|uuid| !uuid.is_empty() && uuid == last)
        })
    }
}

impl ScanImageInfo {
    /// The name of this document, as its root element and error messages
    /// have it.
    pub const DOCUMENT: &'static str = "ScanImageInfo";
}

/// The path of a URL (`http://host:80/a/b` gives `/a/b`), or `text` when it
/// is no absolute URL.
fn url_path(text: &str) -> &str {
    match text.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('/') => {
            rest.find('/').map_or("/", |at| &rest[at..])
        }
        _ => text,
    }
}

/// Reads a `ScannerStatus` document. `pwg:State` is required.
pub fn parse_status(bytes: &[u8]) -> Result<ScannerStatus, XmlError> {
    read_document(ScannerStatus::DOCUMENT, bytes, |reader, root| {
        let state = reader
            .text_of(root, "State")
            .ok_or_else(|| reader.missing(root, "State"))?;
        let mut jobs = Vec::new();
        if let Some(list) = reader.child(root, "Jobs") {
            for job in reader.children(list, "JobInfo") {
                jobs.push(job_of(reader, job)?);
            }
        }
        Ok(ScannerStatus {
            version: reader.text_of(root, "Version"),
            state: ScannerState::parse(&state),
            adf_state: reader
                .text_of(root, "AdfState")
                .map(|text| AdfState::parse(&text)),
            jobs,
        })
    })
}

fn job_of(reader: &Reader, node: XmlNode<'_, '_>) -> Result<JobInfo, XmlError> {
    Ok(JobInfo {
        job_uri: reader.text_of(node, "JobUri"),
        job_uuid: reader.text_of(node, "JobUuid"),
        age: reader.opt_u32(node, "Age")?,
        images_completed: reader.opt_u32(node, "ImagesCompleted")?,
        images_to_transfer: reader.opt_u32(node, "ImagesToTransfer")?,
        state: reader
            .text_of(node, "JobState")
            .map(|text| JobState::parse(&text)),
        state_reasons: reader
            .child(node, "JobStateReasons")
            .map(|reasons| reader.texts_of(reasons, "JobStateReason"))
            .unwrap_or_default(),
    })
}

/// Reads a `ScanImageInfo` document.
pub fn parse_image_info(bytes: &[u8]) -> Result<ScanImageInfo, XmlError> {
    read_document(ScanImageInfo::DOCUMENT, bytes, |reader, root| {
        Ok(ScanImageInfo {
            job_uri: reader.text_of(root, "JobUri"),
            job_uuid: reader.text_of(root, "JobUuid"),
            actual_width: reader.opt_u32(root, "ActualWidth")?,
            actual_height: reader.opt_u32(root, "ActualHeight")?,
            actual_bytes_per_line: reader.opt_u32(root, "ActualBytesPerLine")?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with_jobs() -> ScannerStatus {
        let job = |uri: &str, uuid: &str| JobInfo {
            job_uri: Some(uri.to_string()),
            job_uuid: Some(uuid.to_string()),
            ..JobInfo::default()
        };
        ScannerStatus {
            version: None,
            state: ScannerState::Idle,
            adf_state: None,
            jobs: vec![
                job("/eSCL/ScanJobs/12", "166-12"),
                job("/eSCL/ScanJobs/urn:uuid:4509", "urn:uuid:4509"),
            ],
        }
    }

    #[test]
    fn a_job_is_found_by_its_location_whatever_the_host() {
        let status = status_with_jobs();
        for location in [
            "http://192.168.1.9:8080/eSCL/ScanJobs/12",
            "https://printer.local/eSCL/ScanJobs/12/",
            "/eSCL/ScanJobs/12",
            "166-12",
        ] {
            let job = status.job(location).expect(location);
            assert_eq!(
                job.job_uri.as_deref(),
                Some("/eSCL/ScanJobs/12"),
                "{location}"
            );
        }
        let kyocera = status
            .job("http://h/eSCL/ScanJobs/urn:uuid:4509")
            .expect("found");
        assert_eq!(kyocera.job_uuid.as_deref(), Some("urn:uuid:4509"));
        assert!(status.job("http://h/eSCL/ScanJobs/13").is_none());
        assert!(status.job("").is_none());
    }

    #[test]
    fn a_status_without_state_is_refused() {
        let text =
            "<scan:ScannerStatus xmlns:scan=\"http://schemas.hp.com/imaging/escl/2011/05/03\"/>";
        assert_eq!(
            parse_status(text.as_bytes()).map_err(|e| e.to_string()),
            Err("ScannerStatus: element State is missing".to_string())
        );
    }
}
