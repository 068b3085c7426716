//! Fuzz target `rspamd_reply`: see qmvc_fuzzing::rspamd_reply.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qmvc_fuzzing::rspamd_reply(data));
