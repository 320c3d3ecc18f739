//! Fuzzes the eSCL HTTP/1.1 response framing: any bytes, read as the
//! responses on one connection (to GET and to HEAD, fed whole, in two pieces
//! and a byte at a time, and abandoned after the first head with each
//! policy), must give the same events however they are split, and end in
//! events or an error, never a panic or a hang.
//! Run with `cargo fuzz run http_response` from the repository root; the
//! seed corpus in `fuzz/corpus/http_response/` (recorded responses) is
//! replayed by `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    streamscan::device::escl::http::fuzz_one(data);
});
