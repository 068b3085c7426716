//! Fuzz target `queue_envelope`: see qmvc_fuzzing::queue_envelope.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::queue_envelope(data));
