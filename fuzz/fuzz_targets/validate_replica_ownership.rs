#![no_main]
//! `validate` of dynamo-replica-ownership.
scaleguard_fuzz::policy_target!(validate, "dynamo-replica-ownership");
