#![no_main]
//! `validate_settings` of dynamo-single-autoscaler.
scaleguard_fuzz::policy_target!(settings, "dynamo-single-autoscaler");
