#![no_main]
//! `validate_settings` of dynamo-deprecated-autoscaling.
scaleguard_fuzz::policy_target!(settings, "dynamo-deprecated-autoscaling");
