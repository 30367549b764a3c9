//! Fuzz target `event_parse`: the checks of `clerk_sync_fuzz::event_parse` on every input.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clerk_sync_fuzz::event_parse(data));
