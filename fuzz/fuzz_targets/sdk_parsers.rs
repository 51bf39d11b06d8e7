#![no_main]
//! The sdk's parsers of the watched kinds.
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| scaleguard_fuzz::parse_models(bytes));
