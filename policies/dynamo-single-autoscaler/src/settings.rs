//! Settings of `dynamo-single-autoscaler`.

use scaleguard_sdk::PolicySettings;
use serde::{Deserialize, Serialize};

/// Settings of the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}
