#![no_main]
//! `validate_settings` of dynamo-autoscaler-bounds.
scaleguard_fuzz::policy_target!(settings, "dynamo-autoscaler-bounds");
