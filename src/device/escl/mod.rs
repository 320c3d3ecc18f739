//! The eSCL (AirScan, Mopria scan) back end, in the making: so far the
//! HTTP/1.1 client framing of its protocol core ([`http`], sans-IO, for
//! any byte pipe: TCP now, IPP-USB bulk pipes later) and its discovery
//! ([`discovery`]). The document layer, the job state machine, the
//! transport and the driver come next; until then the back end is not in
//! [`Registry::builtin`](super::Registry::builtin) and no eSCL device can
//! be opened.

pub mod discovery;
pub mod http;
