#![no_main]
//! The DGD conversion between v1alpha1 and v1beta1, as a round-trip property.
libfuzzer_sys::fuzz_target!(|input: &[u8]| scaleguard_fuzz::convert_round_trip(input));
