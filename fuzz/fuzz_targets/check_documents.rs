#![no_main]
//! `scaleguard check`'s reader of repository files.
libfuzzer_sys::fuzz_target!(|input: &[u8]| scaleguard_fuzz::check_documents(input));
