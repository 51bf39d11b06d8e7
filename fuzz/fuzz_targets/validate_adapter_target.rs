#![no_main]
//! `validate` of dynamo-adapter-target.
scaleguard_fuzz::policy_target!(validate, "dynamo-adapter-target");
