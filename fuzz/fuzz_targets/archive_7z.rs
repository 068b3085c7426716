//! Fuzz target `archive_7z`: see qmvc_fuzzing::archive_7z.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::archive_7z(data));
