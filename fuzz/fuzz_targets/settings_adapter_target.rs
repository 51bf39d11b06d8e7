#![no_main]
//! `validate_settings` of dynamo-adapter-target.
scaleguard_fuzz::policy_target!(settings, "dynamo-adapter-target");
