//! Fuzz target `event_decide`: the checks of `clerk_sync_fuzz::event_decide` on every input.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clerk_sync_fuzz::event_decide(data));
