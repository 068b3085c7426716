//! Fuzz target `archive`: see qmvc_fuzzing::archive.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::archive(data));
