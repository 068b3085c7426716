//! Fuzz target `log_line`: see qmvc_fuzzing::log_line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::log_line(data));
