//! Fuzzes the eSCL document layer: any bytes go through every parser
//! (`ScannerCapabilities`, `ScannerStatus`, `ScanImageInfo`,
//! `ScanSettings`); what parses goes on through the translation to the
//! app's capabilities, the request builder and the writer, whose output
//! must read back unchanged. Nothing may panic.
//! Run with `cargo fuzz run escl_xml` from the repository root; the seed
//! corpus in `fuzz/corpus/escl_xml/` (the real captures plus mutated ones)
//! is replayed by `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    streamscan::device::escl::xml::fuzz_one(data);
});
