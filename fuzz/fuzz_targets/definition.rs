//! Fuzz target `definition`: see qmvc_fuzzing::definition.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::definition(data));
