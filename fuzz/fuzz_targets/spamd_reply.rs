//! Fuzz target `spamd_reply`: see qmvc_fuzzing::spamd_reply.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::spamd_reply(data));
