#![no_main]
//! `validate` of dynamo-autoscaler-bounds.
scaleguard_fuzz::policy_target!(validate, "dynamo-autoscaler-bounds");
