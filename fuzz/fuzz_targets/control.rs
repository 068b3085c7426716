//! Fuzz target `control`: see qmvc_fuzzing::control.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::control(data));
