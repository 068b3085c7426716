//! Fuzz target `archive_rar`: see qmvc_fuzzing::archive_rar.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::archive_rar(data));
