//! Fuzz target `clamd_reply`: see qmvc_fuzzing::clamd_reply.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::clamd_reply(data));
