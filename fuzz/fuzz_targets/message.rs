//! Fuzz target `message`: see qmvc_fuzzing::message.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::message(data));
