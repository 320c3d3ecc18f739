//! The eSCL (AirScan, Mopria scan) back end, in the making: so far its
//! discovery ([`discovery`]). The protocol core (HTTP framing, documents,
//! the job state machine), the transport and the driver come next; until
//! then the back end is not in [`Registry::builtin`](super::Registry::builtin)
//! and no eSCL device can be opened.

pub mod discovery;
