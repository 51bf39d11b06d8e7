//! DynamoGraphDeployments in both served versions, read into one version-neutral view ([`DgdView`])
//! that every rule uses: components with their role, replicas, adapter, GPUs and JSON path, and the
//! component groups that scale together. The adapter-name, replica-default and `dynamo_namespace` rules
//! live here too.
//!
//! * [`v1alpha1`]: `spec.services`, a map; `scalingAdapter.enabled: true` opts in.
//! * [`v1beta1`]: `spec.components`, a list keyed by `name`; the `scalingAdapter` marker opts in.
//! * [`convert`]: the operator's conversion between the two, reporting what has no field on the other side.

pub mod convert;
pub mod v1alpha1;
pub mod v1beta1;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::meta::{ObjectMeta, api_group};
use crate::parse::{FieldError, from_str, from_value};

/// API group of Dynamo's resources.
pub const GROUP: &str = "nvidia.com";
/// Kind of a DynamoGraphDeployment.
pub const KIND: &str = "DynamoGraphDeployment";
/// Plural resource name of DynamoGraphDeployments.
pub const RESOURCE: &str = "dynamographdeployments";
/// Replicas of a component that does not set `replicas`.
pub const DEFAULT_REPLICAS: i32 = 1;
/// `dynamo_namespace` of components with `globalDynamoNamespace: true`.
pub const GLOBAL_DYNAMO_NAMESPACE: &str = "dynamo";
/// The DGD annotation that selects the power budget mode.
pub const POWER_CONTROL_MODE_ANNOTATION: &str = "dynamo.nvidia.com/power-control-mode";
/// The power budget mode: every worker component gets an adapter.
pub const POWER_BUDGET_MODE: &str = "transactional-replica-fence";

/// The served versions of Dynamo's DGD and DGDSA, newest first: the order look-ups try them in.
pub const SERVED_VERSIONS: [DgdVersion; 2] = [DgdVersion::V1beta1, DgdVersion::V1alpha1];

/// A served version of Dynamo's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DgdVersion {
    /// `nvidia.com/v1alpha1`: Dynamo 0.8 – 1.1, deprecated since 1.2.
    V1alpha1,
    /// `nvidia.com/v1beta1`: the storage version since Dynamo 1.2.
    V1beta1,
}

impl DgdVersion {
    /// The version of an `apiVersion` of group `nvidia.com`; `None` for anything else.
    pub fn of(api_version: &str) -> Option<Self> {
        match api_version {
            v1alpha1::API_VERSION => Some(Self::V1alpha1),
            v1beta1::API_VERSION => Some(Self::V1beta1),
            _ => None,
        }
    }

    /// The version an object is read as: its `apiVersion`, v1alpha1 when it has none or another one of
    /// group `nvidia.com` (lenient, as before v1beta1 existed).
    pub fn of_object(object: &Value) -> Self {
        object
            .get("apiVersion")
            .and_then(Value::as_str)
            .and_then(Self::of)
            .unwrap_or(Self::V1alpha1)
    }

    /// [`Self::of_object`] of an object's JSON text, read without building the object.
    pub fn of_json(text: &str) -> Self {
        Self::declared_in(text).unwrap_or(Self::V1alpha1)
    }

    /// The version an object's JSON text declares: `None` without `apiVersion`, else as
    /// [`Self::of_object`] reads it.
    fn declared_in(text: &str) -> Option<Self> {
        // The API server writes `apiVersion` first: then it is read without scanning the object.
        if let Some((api_version, _)) = text
            .strip_prefix(r#"{"apiVersion":""#)
            .and_then(|rest| rest.split_once('"'))
            .filter(|(api_version, _)| !api_version.contains('\\'))
        {
            return Some(Self::of(api_version).unwrap_or(Self::V1alpha1));
        }
        /// Just the `apiVersion`, when present (`null` included).
        #[derive(Deserialize)]
        struct Versioned<'a> {
            #[serde(
                rename = "apiVersion",
                borrow,
                default,
                deserialize_with = "present_raw"
            )]
            api_version: Option<&'a RawValue>,
        }
        fn present_raw<'de, D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<&'de RawValue>, D::Error> {
            <&RawValue>::deserialize(deserializer).map(Some)
        }
        let raw = serde_json::from_str::<Versioned<'_>>(text)
            .ok()?
            .api_version?;
        let version = serde_json::from_str::<Cow<'_, str>>(raw.get())
            .ok()
            .and_then(|api_version| Self::of(&api_version));
        Some(version.unwrap_or(Self::V1alpha1))
    }

    /// `nvidia.com/v1alpha1` or `nvidia.com/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V1alpha1 => v1alpha1::API_VERSION,
            Self::V1beta1 => v1beta1::API_VERSION,
        }
    }

    /// What messages call a scalable part of a DGD in this version: `service` or `component`.
    pub fn component_noun(self) -> &'static str {
        match self {
            Self::V1alpha1 => "service",
            Self::V1beta1 => "component",
        }
    }
}

impl fmt::Display for DgdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_version())
    }
}

/// Whether `api_version` is one of group `nvidia.com` (any version).
pub fn is_dynamo_api_version(api_version: &str) -> bool {
    api_group(api_version) == GROUP
}

/// The role a component plays (v1beta1 `type`; v1alpha1 `componentType` with `subComponentType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `frontend`.
    Frontend,
    /// `worker` (aggregated serving).
    Worker,
    /// `prefill`.
    Prefill,
    /// `decode`.
    Decode,
    /// `planner`: the Dynamo Planner.
    Planner,
    /// `epp`: the endpoint picker.
    Epp,
    /// Not set.
    Unset,
    /// Anything else, as written.
    Other(String),
}

impl Role {
    /// Reads a `type` / `componentType` value.
    pub fn parse(value: &str) -> Self {
        match value {
            "frontend" => Self::Frontend,
            "worker" => Self::Worker,
            "prefill" => Self::Prefill,
            "decode" => Self::Decode,
            "planner" => Self::Planner,
            "epp" => Self::Epp,
            "" => Self::Unset,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether the role runs inference on GPUs: `worker`, `prefill` or `decode`.
    pub fn is_worker(&self) -> bool {
        matches!(self, Self::Worker | Self::Prefill | Self::Decode)
    }
}

/// GPUs per replica: `Ok(None)` when not set, an error for a value that is not a whole number.
pub type GpuCount = Result<Option<u32>, InvalidGpuQuantity>;

/// A GPU quantity that is not a whole, non-negative number of GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGpuQuantity {
    /// The field: relative to the component in the version's models (`resources.limits.gpu`), the
    /// whole path in a [`DgdView`] (`spec.services[decode].resources.limits.gpu`).
    pub field: String,
    /// The value as written.
    pub value: String,
}

impl fmt::Display for InvalidGpuQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {:?}, not a whole number of GPUs",
            self.field, self.value
        )
    }
}

impl std::error::Error for InvalidGpuQuantity {}

impl InvalidGpuQuantity {
    /// The same error, its field below `path` (the component's).
    fn under(mut self, path: &str) -> Self {
        self.field = format!("{path}.{}", self.field);
        self
    }
}

/// GPUs from a `(field, value)` limit, else the request; an empty value counts as unset.
fn gpu_count(
    limit: (&'static str, Option<&str>),
    request: (&'static str, Option<&str>),
) -> GpuCount {
    let Some((field, value)) = [limit, request]
        .into_iter()
        .find_map(|(field, value)| Some((field, value.filter(|v| !v.trim().is_empty())?)))
    else {
        return Ok(None);
    };
    parse_gpu_quantity(value)
        .map(Some)
        .ok_or_else(|| InvalidGpuQuantity {
            field: field.to_owned(),
            value: value.to_owned(),
        })
}

/// A GPU count written as a Kubernetes quantity, as the API server and the operator read it: `"2"`,
/// `"+2"`, `"2.0"`, `"2000m"`, `"1e3"`, `"1k"`, `"1Ki"`. `None` when it does not parse, is negative, is
/// not a whole number or does not fit a `u32`.
pub fn parse_gpu_quantity(value: &str) -> Option<u32> {
    let value = value.strip_prefix('+').unwrap_or(value);
    let number_end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || number.matches('.').count() > 1 {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    if digits.len() > 30 {
        return None;
    }
    let mut numerator: u128 = digits.parse().ok()?;
    let mut denominator: u128 = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
    let (base, exponent): (u128, i32) = match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        exponent => {
            let exponent = exponent.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 3
            {
                return None;
            }
            (10, exponent.parse().ok()?)
        }
    };
    let power = base.checked_pow(exponent.unsigned_abs())?;
    if exponent >= 0 {
        numerator = numerator.checked_mul(power)?;
    } else {
        denominator = denominator.checked_mul(power)?;
    }
    if !numerator.is_multiple_of(denominator) {
        return None;
    }
    u32::try_from(numerator / denominator).ok()
}

/// Replicas with the DGD default applied: absent means [`DEFAULT_REPLICAS`].
pub fn effective_replicas(replicas: Option<i32>) -> i32 {
    replicas.unwrap_or(DEFAULT_REPLICAS)
}

/// The name of the scaling adapter of component (or group) `component` in DGD `dgd`:
/// `<dgd>-<lowercased name>`.
pub fn adapter_name(dgd: &str, component: &str) -> String {
    format!("{dgd}-{}", component.to_lowercase())
}

/// What follows `<dgd>-` in adapter name `name`, when it starts so: the lowercased component or group
/// name of an [`adapter_name`] of DGD `dgd`.
pub fn adapter_name_suffix<'n>(name: &'n str, dgd: &str) -> Option<&'n str> {
    name.strip_prefix(dgd)?.strip_prefix('-')
}

/// Whether `name` is [`adapter_name`]`(dgd, component)`, without building it (an ASCII component, the
/// norm, is compared in place).
pub fn is_adapter_name(name: &str, dgd: &str, component: &str) -> bool {
    let Some(rest) = adapter_name_suffix(name, dgd) else {
        return false;
    };
    if component.is_ascii() {
        rest.len() == component.len()
            && rest
                .bytes()
                .zip(component.bytes())
                .all(|(r, c)| r == c.to_ascii_lowercase())
    } else {
        rest == component.to_lowercase()
    }
}

/// The `dynamo_namespace` metric label of a DGD's components: `<namespace>-<dgd with '.' -> '-'>`,
/// or [`GLOBAL_DYNAMO_NAMESPACE`] for a component with `globalDynamoNamespace: true`.
pub fn dynamo_namespace(namespace: &str, dgd: &str, global: bool) -> String {
    if global {
        GLOBAL_DYNAMO_NAMESPACE.to_owned()
    } else {
        format!("{namespace}-{}", dgd.replace('.', "-"))
    }
}

/// What [`DgdView`] reads of a DGD of either version, as Kubewarden's `field_masks` name fields: a DGD
/// masked by these reads as the same view as the whole DGD (a test proves it over generated objects).
pub const FIELDS: &[&str] = &[
    "spec.services",
    "spec.components.name",
    "spec.components.type",
    "spec.components.replicas",
    "spec.components.scalingAdapter",
    "spec.components.globalDynamoNamespace",
    "spec.components.multinode",
    "spec.components.podTemplate.spec.containers.name",
    "spec.components.podTemplate.spec.containers.resources",
    "spec.experimental.componentGroups",
];

/// A DynamoGraphDeployment of either version, as every rule reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DgdView {
    /// The version the object was written in.
    pub version: DgdVersion,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// The components (v1alpha1: services), in name order whatever the list order.
    pub components: Vec<Component>,
    /// The component groups (v1beta1 `spec.experimental.componentGroups`), in name order.
    pub groups: Vec<ComponentGroup>,
}

/// One component (v1alpha1: service) of a DGD.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Its name (original case): the v1alpha1 map key, the v1beta1 `name`.
    pub name: String,
    /// Its JSON path: `spec.services[decode]` or `spec.components[decode]`.
    pub path: String,
    /// Its role.
    pub role: Role,
    /// `replicas` as written; see [`Component::replicas`].
    pub replicas: Option<i32>,
    /// Whether a scaling adapter owns its replicas: v1alpha1 `scalingAdapter.enabled: true`, v1beta1
    /// the `scalingAdapter` marker, or a worker under the power budget mode.
    pub adapter: bool,
    /// GPUs per replica.
    pub gpus: GpuCount,
    /// `globalDynamoNamespace: true`.
    pub global_dynamo_namespace: bool,
    /// Whether the DGD's Planner scales it (always false without a Planner).
    pub planner_scaled: bool,
    /// The component group it belongs to, if any.
    pub group: Option<String>,
}

/// A component group (`spec.experimental.componentGroups[]`): members that scale together.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentGroup {
    /// Its name.
    pub name: String,
    /// Its JSON path: `spec.experimental.componentGroups[<name>]`.
    pub path: String,
    /// `replicas` as written.
    pub replicas: Option<i32>,
    /// Whether it carries the `scalingAdapter` marker.
    pub adapter: bool,
    /// Its members' names.
    pub members: Vec<String>,
}

impl Component {
    /// The replicas it runs: `replicas`, or [`DEFAULT_REPLICAS`] when absent.
    pub fn replicas(&self) -> i32 {
        effective_replicas(self.replicas)
    }
}

impl ComponentGroup {
    /// The replicas of the group: `replicas`, or [`DEFAULT_REPLICAS`] when absent.
    pub fn replicas(&self) -> i32 {
        effective_replicas(self.replicas)
    }
}

impl DgdView {
    /// Reads a DGD of either version, by its `apiVersion` (see [`DgdVersion::of_object`]). A field of
    /// the wrong type is an error naming its path in that version's shape.
    pub fn from_object(object: &Value) -> Result<Self, FieldError> {
        match DgdVersion::of_object(object) {
            DgdVersion::V1alpha1 => Ok(Self::from_v1alpha1(from_value(object)?)),
            DgdVersion::V1beta1 => Ok(Self::from_v1beta1(from_value(object)?)),
        }
    }

    /// Reads a DGD of either version from its JSON text, as [`Self::from_object`] reads its value: its
    /// `apiVersion` is looked at first, then the text is read straight into that version's model.
    pub fn from_json(text: &str) -> Result<Self, FieldError> {
        Self::from_json_in(text, DgdVersion::V1alpha1)
    }

    /// [`Self::from_json`], reading a DGD without `apiVersion` in `version`.
    pub fn from_json_in(text: &str, version: DgdVersion) -> Result<Self, FieldError> {
        let version = DgdVersion::declared_in(text).unwrap_or(version);
        match version {
            DgdVersion::V1alpha1 => Ok(Self::from_v1alpha1(from_str(text)?)),
            DgdVersion::V1beta1 => Ok(Self::from_v1beta1(from_str(text)?)),
        }
    }

    /// The view of a v1alpha1 DGD.
    pub fn from_v1alpha1(dgd: v1alpha1::DynamoGraphDeployment) -> Self {
        let power_budget = power_budget_mode(&dgd.metadata);
        let planner = dgd
            .spec
            .services
            .values()
            .any(|service| service.role() == Role::Planner);
        let components = dgd
            .spec
            .services
            .iter()
            .map(|(name, service)| {
                let role = service.role();
                let path = format!("spec.services[{name}]");
                Component {
                    adapter: service.adapter_enabled() || (power_budget && role.is_worker()),
                    replicas: service.replicas,
                    gpus: service.gpu_count().map_err(|error| error.under(&path)),
                    path,
                    global_dynamo_namespace: service.global_dynamo_namespace.unwrap_or(false),
                    planner_scaled: planner && v1alpha1::is_planner_scaled(name, service),
                    group: None,
                    role,
                    name: name.clone(),
                }
            })
            .collect();
        Self {
            version: DgdVersion::V1alpha1,
            metadata: dgd.metadata,
            components,
            groups: Vec::new(),
        }
    }

    /// The view of a v1beta1 DGD.
    pub fn from_v1beta1(dgd: v1beta1::DynamoGraphDeployment) -> Self {
        let power_budget = power_budget_mode(&dgd.metadata);
        let spec = dgd.spec;
        let mut groups: Vec<ComponentGroup> = spec
            .experimental
            .component_groups
            .iter()
            .map(|group| ComponentGroup {
                name: group.name.clone(),
                path: format!("spec.experimental.componentGroups[{}]", group.name),
                replicas: group.replicas,
                adapter: v1beta1::marker_present(group.scaling_adapter.as_ref()),
                members: group.components.iter().map(|m| m.name.clone()).collect(),
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let roles: Vec<Role> = spec
            .components
            .iter()
            .map(|c| Role::parse(c.component_type.as_deref().unwrap_or("")))
            .collect();
        let planner = roles.contains(&Role::Planner);
        let mut components: Vec<Component> = spec
            .components
            .iter()
            .zip(roles.iter())
            .map(|(component, role)| {
                let path = format!("spec.components[{}]", component.name);
                Component {
                    adapter: component.has_adapter_marker() || (power_budget && role.is_worker()),
                    replicas: component.replicas,
                    gpus: component.gpu_count().map_err(|error| error.under(&path)),
                    path,
                    global_dynamo_namespace: component.global_dynamo_namespace.unwrap_or(false),
                    planner_scaled: planner
                        && v1beta1_planner_scaled(&component.name, role, &roles),
                    group: groups
                        .iter()
                        .find(|group| group.members.contains(&component.name))
                        .map(|group| group.name.clone()),
                    role: role.clone(),
                    name: component.name.clone(),
                }
            })
            .collect();
        components.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            version: DgdVersion::V1beta1,
            metadata: dgd.metadata,
            components,
            groups,
        }
    }

    /// The DGD's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The DGD's namespace, or `fallback` (the request's) when the object does not say.
    pub fn namespace_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        if self.metadata.namespace.is_empty() {
            fallback
        } else {
            &self.metadata.namespace
        }
    }

    /// The component named `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The component group named `name`.
    pub fn group(&self, name: &str) -> Option<&ComponentGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Whether the Planner manages this DGD (a component has the `planner` role).
    pub fn is_planner_managed(&self) -> bool {
        self.components.iter().any(|c| c.role == Role::Planner)
    }

    /// The names of the components the Planner scales, in name order; empty without a Planner.
    pub fn planner_scaled_components(&self) -> Vec<&str> {
        self.components
            .iter()
            .filter(|c| c.planner_scaled)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The `dynamo_namespace` label value of `component` (see [`dynamo_namespace`]).
    pub fn dynamo_namespace_of(&self, namespace: &str, component: &Component) -> String {
        dynamo_namespace(namespace, self.name(), component.global_dynamo_namespace)
    }

    /// Every scalable unit: each component outside a group, then each group, in name order.
    pub fn units(&self) -> Vec<Unit<'_>> {
        let components = self
            .components
            .iter()
            .filter(|c| c.group.is_none())
            .map(Unit::Component);
        components
            .chain(self.groups.iter().map(Unit::Group))
            .collect()
    }
}

/// Whether the v1beta1 Planner scales a component: its type is `prefill` or `decode`; when the DGD has
/// no component of one of those roles, a component of type `worker` or unset with one of the
/// [`v1alpha1::PLANNER_FALLBACK_SERVICE_NAMES`] takes that role (the Planner's configured names).
fn v1beta1_planner_scaled(name: &str, role: &Role, roles: &[Role]) -> bool {
    match role {
        Role::Prefill | Role::Decode => true,
        Role::Worker | Role::Unset => {
            let lowered = name.to_ascii_lowercase();
            let fallback_role = if lowered.contains("prefill") {
                Role::Prefill
            } else {
                Role::Decode
            };
            v1alpha1::PLANNER_FALLBACK_SERVICE_NAMES.contains(&name)
                && !roles.contains(&fallback_role)
        }
        _ => false,
    }
}

/// Whether the DGD's annotations select the power budget mode.
fn power_budget_mode(metadata: &ObjectMeta) -> bool {
    metadata
        .annotations
        .get(POWER_CONTROL_MODE_ANNOTATION)
        .is_some_and(|mode| mode == POWER_BUDGET_MODE)
}

/// What one adapter scales: a component, or a component group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit<'a> {
    /// A component (v1alpha1: service).
    Component(&'a Component),
    /// A component group.
    Group(&'a ComponentGroup),
}

impl<'a> Unit<'a> {
    /// Its name.
    pub fn name(&self) -> &'a str {
        match self {
            Self::Component(c) => &c.name,
            Self::Group(g) => &g.name,
        }
    }

    /// Its JSON path (`spec.services[decode]`, `spec.components[decode]`,
    /// `spec.experimental.componentGroups[Engines]`).
    pub fn path(&self) -> &'a str {
        match self {
            Self::Component(c) => &c.path,
            Self::Group(g) => &g.path,
        }
    }

    /// Whether a scaling adapter owns its replicas.
    pub fn adapter_enabled(&self) -> bool {
        match self {
            Self::Component(c) => c.adapter,
            Self::Group(g) => g.adapter,
        }
    }

    /// The replicas it runs (absent -> 1).
    pub fn replicas(&self) -> i32 {
        match self {
            Self::Component(c) => c.replicas(),
            Self::Group(g) => g.replicas(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(value: Value) -> DgdView {
        DgdView::from_object(&value).unwrap()
    }

    #[test]
    fn adapter_names_lowercase_the_component() {
        assert_eq!(adapter_name("sglang-agg", "decode"), "sglang-agg-decode");
        assert_eq!(adapter_name("my-dgd", "MyService"), "my-dgd-myservice");
        for (dgd, component) in [
            ("sglang-agg", "decode"),
            ("my-dgd", "MyService"),
            ("a", "b-C"),
            ("a-b", "c"),
            ("d", "ÖΣ"),
            ("", "x"),
        ] {
            let name = adapter_name(dgd, component);
            assert!(is_adapter_name(&name, dgd, component), "{name}");
            let mut shorter = name.chars();
            shorter.next_back();
            for other in [shorter.as_str(), &format!("{name}x"), "a-b-c-d"] {
                assert_eq!(
                    is_adapter_name(other, dgd, component),
                    other == name,
                    "{other} for {dgd}/{component}"
                );
            }
        }
        assert!(!is_adapter_name("ab-c", "a", "b-c"));
    }

    #[test]
    fn absent_replicas_mean_one() {
        assert_eq!(effective_replicas(None), 1);
        assert_eq!(effective_replicas(Some(0)), 0);
        assert_eq!(effective_replicas(Some(3)), 3);
    }

    #[test]
    fn dynamo_namespace_replaces_dots_and_honours_global() {
        assert_eq!(
            dynamo_namespace("default", "llama.chat", false),
            "default-llama-chat"
        );
        assert_eq!(dynamo_namespace("default", "llama.chat", true), "dynamo");
    }

    #[test]
    fn gpu_counts_are_whole_kubernetes_quantities() {
        for (quantity, count) in [
            ("0", 0),
            ("2", 2),
            ("+2", 2),
            ("2.0", 2),
            ("2000m", 2),
            ("1e3", 1000),
            ("1E+1", 10),
            ("1k", 1000),
            ("1Ki", 1024),
            ("20e-1", 2),
            (".5k", 500),
        ] {
            assert_eq!(parse_gpu_quantity(quantity), Some(count), "{quantity:?}");
        }
        for invalid in [
            "",
            "1.5",
            "500m",
            "-1",
            " 1",
            "1 ",
            "x",
            "1x",
            "1.2.3",
            ".",
            "1e",
            "1e+",
            "99999999999",
            "1E",
            "1Ei",
            "1e999",
            "0.0000000000000000000000000000001",
        ] {
            assert_eq!(parse_gpu_quantity(invalid), None, "{invalid:?}");
        }
    }

    /// The guide's sglang-agg in both versions reads as one view, paths aside.
    #[test]
    fn both_versions_of_the_guides_dgd_read_alike() {
        let alpha = view(json!({
            "apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"services": {
                "Frontend": {"componentType": "frontend", "replicas": 1},
                "decode": {"componentType": "worker", "replicas": 1, "scalingAdapter": {"enabled": true},
                    "resources": {"limits": {"gpu": "1"}}}
            }}
        }));
        let beta = view(json!({
            "apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "sglang-agg", "namespace": "default"},
            "spec": {"components": [
                {"name": "decode", "type": "worker", "replicas": 1, "scalingAdapter": {},
                 "podTemplate": {"spec": {"containers": [{"name": "main",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
                {"name": "Frontend", "type": "frontend", "replicas": 1}
            ]}
        }));
        assert_eq!(alpha.version, DgdVersion::V1alpha1);
        assert_eq!(beta.version, DgdVersion::V1beta1);
        let strip = |view: &DgdView| -> Vec<Component> {
            view.components
                .iter()
                .cloned()
                .map(|mut c| {
                    c.path.clear();
                    c
                })
                .collect()
        };
        assert_eq!(strip(&alpha), strip(&beta));
        assert_eq!(beta.components[1].path, "spec.components[decode]");
        assert_eq!(alpha.components[1].path, "spec.services[decode]");
        assert_eq!(beta.component("decode").unwrap().gpus, Ok(Some(1)));
    }

    #[test]
    fn a_bare_marker_is_on_in_v1beta1_and_off_in_v1alpha1() {
        let alpha = view(json!({"spec": {"services": {"decode": {"scalingAdapter": {}}}}}));
        let beta = view(json!({"apiVersion": "nvidia.com/v1beta1",
            "spec": {"components": [{"name": "decode", "scalingAdapter": {}}]}}));
        assert!(!alpha.components[0].adapter);
        assert!(beta.components[0].adapter);
    }

    #[test]
    fn the_power_budget_mode_gives_every_worker_an_adapter() {
        for (version, spec) in [
            (
                "nvidia.com/v1alpha1",
                json!({"services": {"Frontend": {"componentType": "frontend"},
                    "decode": {"componentType": "worker", "subComponentType": "decode"},
                    "agg": {"componentType": "worker"}}}),
            ),
            (
                "nvidia.com/v1beta1",
                json!({"components": [{"name": "Frontend", "type": "frontend"},
                    {"name": "decode", "type": "decode"}, {"name": "agg", "type": "worker"}]}),
            ),
        ] {
            let dgd = view(json!({"apiVersion": version, "metadata": {"annotations": {
                "dynamo.nvidia.com/power-control-mode": "transactional-replica-fence"}}, "spec": spec}));
            let owned: Vec<_> = dgd
                .components
                .iter()
                .filter(|c| c.adapter)
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(owned, ["agg", "decode"], "{version}");
        }
    }

    #[test]
    fn component_groups_are_units_with_their_members() {
        let dgd = view(
            json!({"apiVersion": "nvidia.com/v1beta1", "metadata": {"name": "d"},
            "spec": {"components": [{"name": "prefill", "type": "prefill"}, {"name": "decode", "type": "decode"},
                {"name": "Frontend", "type": "frontend"}],
              "experimental": {"componentGroups": [{"name": "Engines", "replicas": 2, "scalingAdapter": {},
                "components": [{"name": "prefill"}, {"name": "decode"}]}]}}}),
        );
        let units: Vec<_> = dgd.units().iter().map(|u| u.path().to_owned()).collect();
        assert_eq!(
            units,
            [
                "spec.components[Frontend]",
                "spec.experimental.componentGroups[Engines]"
            ]
        );
        let group = dgd.group("Engines").unwrap();
        assert!(group.adapter);
        assert_eq!(group.replicas(), 2);
        assert_eq!(
            dgd.component("decode").unwrap().group.as_deref(),
            Some("Engines")
        );
    }

    #[test]
    fn the_v1beta1_planner_scales_prefill_and_decode_types() {
        let dgd = view(
            json!({"apiVersion": "nvidia.com/v1beta1", "spec": {"components": [
            {"name": "Planner", "type": "planner"}, {"name": "p", "type": "prefill"},
            {"name": "d", "type": "decode"}, {"name": "Frontend", "type": "frontend"},
            {"name": "agg", "type": "worker"}]}}),
        );
        assert!(dgd.is_planner_managed());
        assert_eq!(dgd.planner_scaled_components(), ["d", "p"]);
        let fallback = view(
            json!({"apiVersion": "nvidia.com/v1beta1", "spec": {"components": [
            {"name": "Planner", "type": "planner"}, {"name": "VllmDecodeWorker", "type": "worker"},
            {"name": "prefill", "type": "prefill"}, {"name": "VllmPrefillWorker"}]}}),
        );
        assert_eq!(
            fallback.planner_scaled_components(),
            ["VllmDecodeWorker", "prefill"]
        );
        let none = view(json!({"apiVersion": "nvidia.com/v1beta1",
            "spec": {"components": [{"name": "d", "type": "decode"}]}}));
        assert!(none.planner_scaled_components().is_empty());
    }

    #[test]
    fn the_v1alpha1_planner_keeps_its_rules() {
        let dgd = view(json!({"spec": {"services": {
            "Frontend": {"componentType": "frontend"},
            "Planner": {"componentType": "planner"},
            "VllmDecodeWorker": {"componentType": "worker"},
            "prefill-workers": {"componentType": "worker", "subComponentType": "prefill"},
            "decode": {"componentType": "worker", "subComponentType": "aggregated"}
        }}}));
        assert!(dgd.is_planner_managed());
        assert_eq!(
            dgd.planner_scaled_components(),
            ["VllmDecodeWorker", "prefill-workers"]
        );
    }

    #[test]
    fn versions_read_by_api_version() {
        assert_eq!(
            DgdVersion::of("nvidia.com/v1beta1"),
            Some(DgdVersion::V1beta1)
        );
        assert_eq!(DgdVersion::of("nvidia.com/v2"), None);
        assert_eq!(DgdVersion::of_object(&json!({})), DgdVersion::V1alpha1);
        for (text, version) in [
            (
                r#"{"apiVersion":"nvidia.com/v1beta1","spec":{}}"#,
                Some(DgdVersion::V1beta1),
            ),
            (
                r#"{"kind": "X", "apiVersion": "nvidia.com/v1beta1"}"#,
                Some(DgdVersion::V1beta1),
            ),
            (
                r#"{"apiVersion":"nvidia.com/v2"}"#,
                Some(DgdVersion::V1alpha1),
            ),
            (
                r#"{"apiVersion":"nvidia.com\/v1beta1"}"#,
                Some(DgdVersion::V1beta1),
            ),
            (r#"{"apiVersion": null}"#, Some(DgdVersion::V1alpha1)),
            (r#"{"spec": {"apiVersion": "nvidia.com/v1beta1"}}"#, None),
        ] {
            assert_eq!(DgdVersion::declared_in(text), version, "{text}");
            assert_eq!(
                DgdVersion::of_json(text),
                version.unwrap_or(DgdVersion::V1alpha1)
            );
        }
        assert!(is_dynamo_api_version("nvidia.com/v1beta1"));
        assert!(!is_dynamo_api_version("keda.sh/v1alpha1"));
    }
}
