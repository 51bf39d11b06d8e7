#![no_main]
//! The PromQL front end of dynamo-adapter-target.
libfuzzer_sys::fuzz_target!(|input: &[u8]| scaleguard_fuzz::promql(input));
