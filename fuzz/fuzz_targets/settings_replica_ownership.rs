#![no_main]
//! `validate_settings` of dynamo-replica-ownership.
scaleguard_fuzz::policy_target!(settings, "dynamo-replica-ownership");
