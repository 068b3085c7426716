//! Fuzz target `rep`: see qmvc_fuzzing::rep.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::rep(data));
