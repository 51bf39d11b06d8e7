#![no_main]
//! `validate` of dynamo-deprecated-autoscaling.
scaleguard_fuzz::policy_target!(validate, "dynamo-deprecated-autoscaling");
