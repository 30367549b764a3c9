//! Fuzz target `svix_verify`: the checks of `clerk_sync_fuzz::svix_verify` on every input.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clerk_sync_fuzz::svix_verify(data));
