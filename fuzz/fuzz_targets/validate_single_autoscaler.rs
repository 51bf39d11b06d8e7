#![no_main]
//! `validate` of dynamo-single-autoscaler.
scaleguard_fuzz::policy_target!(validate, "dynamo-single-autoscaler");
