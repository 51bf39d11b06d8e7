//! What the autoscaler policies share: reading an HPA or ScaledObject out of a request, looking up the
//! objects of its namespace (one host call per kind), resolving the adapter it targets to a DGD component or group,
//! and turning findings into a decision that only denies what an UPDATE newly introduces.

use std::cell::OnceCell;

use serde::de::DeserializeOwned;

use crate::adapter::{self, ScalingAdapter, UnitRef};
use crate::admission::{AdmissionRequest, Operation, RawObject, UserInfo};
use crate::autoscaler::{
    HPA_FIELDS, HPA_GROUP, HPA_KIND, HorizontalPodAutoscaler, KEDA_GROUP, SCALED_OBJECT_FIELDS,
    SCALED_OBJECT_KIND, ScaleTargetRef, ScaledObject,
};
use crate::cluster::{Cluster, Lookup, LookupError, ResourceKind};
use crate::dgd::{
    self, DgdVersion, DgdView, GpuCount, SERVED_VERSIONS, Unit, adapter_name_suffix,
    is_adapter_name,
};
use crate::listed::{ListText, ListedItems, Mention, ReadAll, ReadItem, read_in_one_pass};
use crate::meta::ObjectMeta;
use crate::parse::{FieldError, from_str};
use crate::principal::ServiceAccountRef;
use crate::response::{BAD_REQUEST, INTERNAL_ERROR, Verdict};

/// DynamoGraphDeployments of `version`, as `contextAwareResources` names them.
pub const fn dgd_resource(version: DgdVersion) -> ResourceKind {
    ResourceKind::of(dgd_api_version(version), dgd::KIND)
}

const fn dgd_api_version(version: DgdVersion) -> &'static str {
    match version {
        DgdVersion::V1alpha1 => dgd::v1alpha1::API_VERSION,
        DgdVersion::V1beta1 => dgd::v1beta1::API_VERSION,
    }
}

/// Scaling adapters of `version`, as `contextAwareResources` names them.
pub const fn adapter_resource(version: DgdVersion) -> ResourceKind {
    ResourceKind::of(dgd_api_version(version), adapter::KIND)
}
/// HorizontalPodAutoscalers (`autoscaling/v2` serves every HPA, whatever version created it).
pub const HPA_RESOURCE: ResourceKind = ResourceKind::of("autoscaling/v2", HPA_KIND);
/// KEDA ScaledObjects.
pub const SCALED_OBJECT_RESOURCE: ResourceKind =
    ResourceKind::of(crate::autoscaler::KEDA_API_VERSION, SCALED_OBJECT_KIND);

/// An HPA or a KEDA ScaledObject.
#[derive(Debug, Clone, PartialEq)]
pub enum Autoscaler {
    /// A HorizontalPodAutoscaler.
    Hpa(HorizontalPodAutoscaler),
    /// A KEDA ScaledObject.
    ScaledObject(ScaledObject),
}

impl Autoscaler {
    /// `HorizontalPodAutoscaler` or `ScaledObject`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hpa(_) => HPA_KIND,
            Self::ScaledObject(_) => SCALED_OBJECT_KIND,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Hpa(hpa) => &hpa.metadata,
            Self::ScaledObject(so) => &so.metadata,
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.metadata().name
    }

    /// `spec.scaleTargetRef`.
    pub fn target(&self) -> &ScaleTargetRef {
        match self {
            Self::Hpa(hpa) => &hpa.spec.scale_target_ref,
            Self::ScaledObject(so) => &so.spec.scale_target_ref,
        }
    }

    /// The name of the adapter it scales, when it targets one.
    pub fn adapter(&self) -> Option<&str> {
        let target = self.target();
        target.targets_adapter().then_some(target.name.as_str())
    }

    /// The ScaledObject an HPA claims as its controller; a claim anyone can write (see
    /// [`NamespaceObjects::kedas_hpa_of`]).
    pub fn claimed_scaled_object(&self) -> Option<&str> {
        match self {
            Self::Hpa(hpa) => hpa.claimed_scaled_object(),
            Self::ScaledObject(_) => None,
        }
    }

    /// `kind name`, as messages name an autoscaler.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind(), self.name())
    }
}

/// What an autoscaler under review is to KEDA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KedaHpa {
    /// Not an HPA claiming a ScaledObject as its controller.
    Unclaimed,
    /// The HPA KEDA made for this ScaledObject: it *is* that ScaledObject, judged on its own review.
    Of(String),
    /// An HPA claiming KEDA's ownership that does not hold: judged as a plain HPA, with this warning.
    Forged(String),
}

/// An autoscaler under review: the request's object, and on UPDATE the object it replaces.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoscalerReview {
    /// The submitted object.
    pub object: Autoscaler,
    /// The stored object, on UPDATE.
    pub old_object: Option<Autoscaler>,
    /// The namespace the autoscaler (and so its adapter) lives in.
    pub namespace: String,
}

impl AutoscalerReview {
    /// Reads the autoscaler out of `request`. `Err` is the verdict to answer right away: requests that are
    /// not a CREATE or UPDATE of an HPA or ScaledObject, objects being deleted and autoscalers that target
    /// anything but an adapter are accepted untouched; a malformed object is refused naming the field.
    pub fn from_request(request: &AdmissionRequest) -> Result<Self, Verdict> {
        Self::from_request_reading(request, |_| Ok(()))
    }

    /// [`Self::from_request`] for a rule that also reads fields kept for it as text
    /// ([`crate::parse::Deferred`]): `read` reads them, and an object where it fails is refused like any
    /// malformed object.
    pub fn from_request_reading(
        request: &AdmissionRequest,
        read: fn(&Autoscaler) -> Result<(), FieldError>,
    ) -> Result<Self, Verdict> {
        if !matches!(request.operation, Operation::Create | Operation::Update) {
            return Err(Verdict::accept());
        }
        let parsed = if request.is_kind(HPA_GROUP, HPA_KIND) {
            Self::parse(request, Autoscaler::Hpa, read)
        } else if request.is_kind(KEDA_GROUP, SCALED_OBJECT_KIND) {
            Self::parse(request, Autoscaler::ScaledObject, read)
        } else {
            return Err(Verdict::accept());
        };
        let (object, old_object) = parsed.map_err(|error| {
            Verdict::reject(
                BAD_REQUEST,
                format!("invalid {}: {error}", request.kind.kind),
            )
        })?;
        if request.updates_object_being_deleted(object.metadata()) || object.adapter().is_none() {
            return Err(Verdict::accept());
        }
        let namespace = match object.metadata().namespace.as_str() {
            "" => request.namespace.clone(),
            namespace => namespace.to_owned(),
        };
        Ok(Self {
            object,
            old_object,
            namespace,
        })
    }

    fn parse<T: DeserializeOwned>(
        request: &AdmissionRequest,
        wrap: fn(T) -> Autoscaler,
        read: fn(&Autoscaler) -> Result<(), FieldError>,
    ) -> Result<(Autoscaler, Option<Autoscaler>), FieldError> {
        let object = wrap(request.object_as()?);
        read(&object)?;
        let old_object = match request.operation {
            Operation::Update => {
                let old_object = wrap(request.old_object_as()?);
                read(&old_object)?;
                Some(old_object)
            }
            _ => None,
        };
        Ok((object, old_object))
    }

    /// The adapter the submitted object scales.
    pub fn adapter(&self) -> &str {
        self.object.adapter().unwrap_or_default()
    }
}

/// The fields of each kind a policy's rule reads: its look-ups ask the host for these only (Kubewarden's
/// `field_masks`, see [`Lookup::field_masks`]), and `metadata` always comes whole. Declared once beside
/// each rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMasks {
    /// Of DynamoGraphDeployments.
    pub dgds: &'static [&'static str],
    /// Of scaling adapters.
    pub adapters: &'static [&'static str],
    /// Of HorizontalPodAutoscalers.
    pub hpas: &'static [&'static str],
    /// Of ScaledObjects.
    pub scaled_objects: &'static [&'static str],
}

impl FieldMasks {
    /// What the sdk's models of the four kinds read ([`dgd::FIELDS`], [`adapter::FIELDS`],
    /// [`HPA_FIELDS`], [`SCALED_OBJECT_FIELDS`]): a masked object reads as exactly the same model as the
    /// whole object, so a rule decides the same whether or not the host honours the masks.
    pub const MODELS: Self = Self {
        dgds: dgd::FIELDS,
        adapters: adapter::FIELDS,
        hpas: HPA_FIELDS,
        scaled_objects: SCALED_OBJECT_FIELDS,
    };
}

/// The objects of one namespace, listed on first use with one host call per kind and read no further than
/// a rule asks (see [`ListedItems`]): every object of a kind, or those that may hold a name it looks for.
/// Kinds the cluster does not serve or the policy may not see read as empty.
pub struct NamespaceObjects<'c> {
    cluster: &'c dyn Cluster,
    namespace: &'c str,
    masks: &'c FieldMasks,
    edit: Option<DgdEdit<'c>>,
    dgds: Listed<DgdView>,
    /// Of an edited view: the edited DGD as stored after the edit.
    edited_dgd: OnceCell<Result<Option<DgdView>, LookupError>>,
    adapters: Listed<ScalingAdapter>,
    /// Each an [`Autoscaler::Hpa`].
    hpas: Listed<Autoscaler>,
    /// Each an [`Autoscaler::ScaledObject`].
    scaled_objects: Listed<Autoscaler>,
}

/// A kind as listed on first use (`None`: the cluster does not serve it or the policy may not see it).
type Listed<T> = OnceCell<Result<Option<ListedItems<T>>, LookupError>>;

/// What a rule reads of a listed kind.
enum Read<'m, T> {
    /// Every object, read in one pass when none was read before.
    All(ReadAll<T>),
    /// The objects `keep` accepts, looked for among those that may hold one of `mentions` (`None`:
    /// among all).
    Where {
        mentions: Option<&'m [Mention<'m>]>,
        keep: &'m dyn Fn(&T) -> bool,
    },
}

impl<T> Clone for Read<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Read<'_, T> {}

/// The namespace's objects once an edit of one DGD is stored: the others as `base` listed them.
struct DgdEdit<'c> {
    base: &'c NamespaceObjects<'c>,
    /// The edited DGD's name.
    name: &'c str,
    /// What is stored after the edit; `None`: the DGD is gone.
    object: Option<&'c RawObject>,
}

impl<'c> NamespaceObjects<'c> {
    /// Look-ups in `namespace` of `cluster`, asking for the fields `masks` names.
    pub fn new(cluster: &'c dyn Cluster, namespace: &'c str, masks: &'c FieldMasks) -> Self {
        Self {
            cluster,
            namespace,
            masks,
            edit: None,
            dgds: OnceCell::new(),
            edited_dgd: OnceCell::new(),
            adapters: OnceCell::new(),
            hpas: OnceCell::new(),
            scaled_objects: OnceCell::new(),
        }
    }

    /// The objects as they are once DGD `name` of this namespace (at any version) is replaced by
    /// `object`, or gone when it is `None`. Every kind is still listed once, by `self`.
    pub fn with_dgd<'s>(
        &'s self,
        name: &'s str,
        object: Option<&'s RawObject>,
    ) -> NamespaceObjects<'s> {
        NamespaceObjects {
            edit: Some(DgdEdit {
                base: self,
                name,
                object,
            }),
            ..NamespaceObjects::new(self.cluster, self.namespace, self.masks)
        }
    }

    /// The namespace looked at.
    pub fn namespace(&self) -> &str {
        self.namespace
    }

    /// Where the kinds an edit leaves alone are listed: the base of an edited view, else itself.
    fn listed(&self) -> &NamespaceObjects<'c> {
        self.edit.as_ref().map_or(self, |edit| edit.base)
    }

    /// The DynamoGraphDeployments of the namespace, each read by its own `apiVersion`, in list order.
    pub fn dgds(&self) -> Result<Vec<&DgdView>, LookupError> {
        self.dgds_named(None, &|_| true)
    }

    /// The DynamoGraphDeployments of the namespace whose name `wanted` accepts, in list order, looked for
    /// among those that may hold one of `mentions` (`None`: among all; an edited view: the edited DGD, as
    /// stored after the edit, last).
    fn dgds_named(
        &self,
        mentions: Option<&[Mention<'_>]>,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<&DgdView>, LookupError> {
        if let Some(edit) = &self.edit {
            let mut dgds = edit
                .base
                .dgds_named(mentions, &|name| name != edit.name && wanted(name))?;
            if wanted(edit.name) {
                dgds.extend(self.edited_dgd(edit)?);
            }
            return Ok(dgds);
        }
        self.read(
            &self.dgds,
            &SERVED_VERSIONS.map(dgd_resource),
            self.masks.dgds,
            DgdView::from_json,
            Read::Where {
                mentions,
                keep: &|dgd: &DgdView| wanted(dgd.name()),
            },
        )
    }

    /// The scaling adapters of the namespace.
    pub fn adapters(&self) -> Result<Vec<&ScalingAdapter>, LookupError> {
        self.adapters_read(Read::All(|answer| {
            read_in_one_pass(answer, |adapter| adapter)
        }))
    }

    fn adapters_read(
        &self,
        read: Read<'_, ScalingAdapter>,
    ) -> Result<Vec<&ScalingAdapter>, LookupError> {
        let listed = self.listed();
        listed.read(
            &listed.adapters,
            &SERVED_VERSIONS.map(adapter_resource),
            self.masks.adapters,
            from_str,
            read,
        )
    }

    /// The HPAs and ScaledObjects of the namespace, HPAs first.
    fn autoscalers(&self, read: Read<'_, Autoscaler>) -> Result<Vec<&Autoscaler>, LookupError> {
        let mut autoscalers = self.hpas(read)?;
        autoscalers.extend(self.scaled_objects(read)?);
        Ok(autoscalers)
    }

    /// The HPAs of the namespace, each an [`Autoscaler::Hpa`].
    fn hpas(&self, read: Read<'_, Autoscaler>) -> Result<Vec<&Autoscaler>, LookupError> {
        let listed = self.listed();
        listed.read(
            &listed.hpas,
            &[HPA_RESOURCE],
            self.masks.hpas,
            |item| from_str(item).map(Autoscaler::Hpa),
            read,
        )
    }

    /// The ScaledObjects of the namespace, each an [`Autoscaler::ScaledObject`].
    fn scaled_objects(&self, read: Read<'_, Autoscaler>) -> Result<Vec<&Autoscaler>, LookupError> {
        let listed = self.listed();
        listed.read(
            &listed.scaled_objects,
            &[SCALED_OBJECT_RESOURCE],
            self.masks.scaled_objects,
            |item| from_str(item).map(Autoscaler::ScaledObject),
            read,
        )
    }

    /// The ScaledObjects of the namespace called `name`, in list order.
    fn scaled_objects_named(&self, name: &str) -> Result<Vec<&ScaledObject>, LookupError> {
        let named = self.scaled_objects(Read::Where {
            mentions: Some(&[Mention::Exact(name)]),
            keep: &|autoscaler| autoscaler.name() == name,
        })?;
        Ok(named
            .into_iter()
            .filter_map(|autoscaler| match autoscaler {
                Autoscaler::ScaledObject(so) => Some(so),
                Autoscaler::Hpa(_) => None,
            })
            .collect())
    }

    /// Every HPA and ScaledObject of the namespace that targets `adapter`, HPAs first.
    pub fn autoscalers_of(&self, adapter: &str) -> Result<Vec<&Autoscaler>, LookupError> {
        self.autoscalers(Read::Where {
            mentions: Some(&[Mention::Exact(adapter)]),
            keep: &|autoscaler| autoscaler.adapter() == Some(adapter),
        })
    }

    /// Every HPA and ScaledObject of the namespace that targets an adapter `adapters_of` says may lead
    /// to its DGD, HPAs first.
    pub fn autoscalers_of_dgd(
        &self,
        adapters_of: &AdaptersOf<'_>,
    ) -> Result<Vec<&Autoscaler>, LookupError> {
        self.autoscalers(Read::Where {
            mentions: Some(&adapters_of.mentions()),
            keep: &|autoscaler| {
                autoscaler
                    .adapter()
                    .is_some_and(|adapter| adapters_of.may_lead_to_it(adapter))
            },
        })
    }

    /// The ScaledObject `autoscaler` stands for when it is an HPA KEDA made: its claimed ScaledObject is in
    /// the namespace and made it (see [`HorizontalPodAutoscaler::is_made_by_keda_for`]). A claim that
    /// does not hold is a plain HPA.
    pub fn kedas_hpa_of(
        &self,
        autoscaler: &Autoscaler,
    ) -> Result<Option<&ScaledObject>, LookupError> {
        let Autoscaler::Hpa(hpa) = autoscaler else {
            return Ok(None);
        };
        let Some(claimed) = hpa.claimed_scaled_object() else {
            return Ok(None);
        };
        Ok(self
            .scaled_objects_named(claimed)?
            .into_iter()
            .find(|so| hpa.is_made_by_keda_for(so)))
    }

    /// The autoscaler `autoscaler` stands for, as `(kind, name)`: KEDA's HPA is its ScaledObject (it
    /// *is* that ScaledObject, not a second autoscaler); anything else stands for itself.
    pub fn counts_as(
        &self,
        autoscaler: &Autoscaler,
    ) -> Result<(&'static str, String), LookupError> {
        Ok(match self.kedas_hpa_of(autoscaler)? {
            Some(so) => (SCALED_OBJECT_KIND, so.metadata.name.clone()),
            None => (autoscaler.kind(), autoscaler.name().to_owned()),
        })
    }

    /// What the autoscaler under review is to KEDA: the HPA KEDA made for a ScaledObject of the namespace
    /// only when that ScaledObject made it and the request comes from one of `keda_operators`.
    pub fn keda_hpa(
        &self,
        review: &AutoscalerReview,
        user: Option<&UserInfo>,
        keda_operators: &[ServiceAccountRef],
    ) -> Result<KedaHpa, LookupError> {
        let Autoscaler::Hpa(hpa) = &review.object else {
            return Ok(KedaHpa::Unclaimed);
        };
        let Some(claimed) = hpa.claimed_scaled_object() else {
            return Ok(KedaHpa::Unclaimed);
        };
        let forged = |reason: String| {
            KedaHpa::Forged(format!(
                "{} claims to be the HPA KEDA made for ScaledObject {claimed} (a controller ownerReference), but {reason}: it is judged as a plain HorizontalPodAutoscaler",
                review.object.describe()
            ))
        };
        let Some(so) = self.scaled_objects_named(claimed)?.into_iter().next() else {
            return Ok(forged(format!(
                "namespace {} has no ScaledObject {claimed}",
                self.namespace
            )));
        };
        if !hpa.is_made_by_keda_for(so) {
            return Ok(forged(format!(
                "KEDA names that HPA {} and points it at {}",
                so.keda_hpa_name(),
                so.spec.scale_target_ref.name
            )));
        }
        let username = user.map_or("", |user| user.username.as_str());
        if !keda_operators
            .iter()
            .any(|operator| operator.matches(username, self.namespace))
        {
            return Ok(forged(format!(
                "the request comes from {username:?}, not from KEDA's operator (kedaOperatorServiceAccounts)"
            )));
        }
        Ok(KedaHpa::Of(so.metadata.name.clone()))
    }

    /// The scaling adapter called `name`, when the namespace has it (only it is read).
    pub fn adapter(&self, name: &str) -> Result<Option<&ScalingAdapter>, LookupError> {
        let named = self.adapters_read(Read::Where {
            mentions: Some(&[Mention::Exact(name)]),
            keep: &|adapter| adapter.metadata.name == name,
        })?;
        Ok(named.into_iter().next())
    }

    /// Resolves `adapter` to its DGD service (see [`resolve_adapter`]), reading only the DGDs it may
    /// lead to: the one its `spec.dgdRef` names, or, before it exists, those its name starts with.
    pub fn resolve(&self, adapter: &str) -> Result<AdapterResolution<'_>, LookupError> {
        let existing = self.adapter(adapter)?;
        let dgds = match existing {
            Some(existing) => {
                let dgd = existing.spec.dgd_ref.name.as_str();
                self.dgds_named(Some(&[Mention::Exact(dgd)]), &|name| name == dgd)?
            }
            None => {
                // The DGDs whose name and a `-` start the adapter's.
                let prefixes: Vec<Mention<'_>> = adapter
                    .match_indices('-')
                    .map(|(at, _)| Mention::Exact(&adapter[..at]))
                    .collect();
                self.dgds_named(Some(&prefixes), &|name| {
                    adapter_name_suffix(adapter, name).is_some()
                })?
            }
        };
        Ok(resolve_adapter(adapter, existing.as_slice(), &dgds))
    }

    /// What can lead an adapter to a component or group of DGD `dgd` (see [`AdaptersOf`]).
    pub fn adapters_of<'a>(&'a self, dgd: &'a str) -> Result<AdaptersOf<'a>, LookupError> {
        let prefix = format!("{dgd}-");
        let adapters = self.adapters_read(Read::Where {
            // `<dgd>` starts both the `spec.dgdRef.name` and the `<dgd>-…` names: one pass finds them.
            mentions: Some(&[Mention::Prefix(dgd)]),
            keep: &|adapter| {
                adapter.spec.dgd_ref.name == dgd
                    || adapter_name_suffix(&adapter.metadata.name, dgd).is_some()
            },
        })?;
        Ok(AdaptersOf {
            dgd,
            prefix,
            adapters,
        })
    }

    /// What `read` asks of the kind listed in `cell`: listed once, at the first of `versions` the cluster
    /// serves and the policy may see (a list at one served version returns every object of the kind, so
    /// it is never listed twice), its items read by `read_item`; none when no version is.
    fn read<'s, T>(
        &'s self,
        cell: &'s Listed<T>,
        versions: &[ResourceKind],
        field_masks: &[&str],
        read_item: ReadItem<T>,
        read: Read<'_, T>,
    ) -> Result<Vec<&'s T>, LookupError> {
        let listed = cell
            .get_or_init(|| {
                let text = self.list(versions, field_masks)?;
                Ok(text.map(|text| ListedItems::new(text, read_item)))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let Some(listed) = listed else {
            return Ok(Vec::new());
        };
        match read {
            Read::All(read_all) => listed.all_in_one_pass(read_all),
            Read::Where { mentions, keep } => listed.read_where(mentions, keep),
        }
        .map_err(|error| self.listing_failed(listed.kind(), &error))
    }

    /// Lists a kind at the first of `versions` the cluster serves and the policy may see; `None` when
    /// none is.
    fn list(
        &self,
        versions: &[ResourceKind],
        field_masks: &[&str],
    ) -> Result<Option<ListText>, LookupError> {
        for kind in versions {
            let lookup = Lookup {
                kind,
                namespace: self.namespace,
                field_masks,
            };
            match ListText::list(self.cluster, &lookup) {
                Err(error) if error.is_absent_kind() => continue,
                Err(error) => return Err(self.listing_failed(kind, &error)),
                Ok(text) => return Ok(Some(text)),
            }
        }
        Ok(None)
    }

    /// The edited DGD as stored after the edit (read, as a listed DGD, by its own `apiVersion`).
    fn edited_dgd(&self, edit: &DgdEdit<'_>) -> Result<Option<&DgdView>, LookupError> {
        self.edited_dgd
            .get_or_init(|| {
                edit.object
                    .map(|object| {
                        DgdView::from_json(object.json()).map_err(|error| {
                            let kind = dgd_resource(DgdVersion::V1beta1);
                            let failure = LookupError::Failed(format!(
                                "{kind} {}/{}: {error}",
                                self.namespace, edit.name
                            ));
                            self.listing_failed(&kind, &failure)
                        })
                    })
                    .transpose()
            })
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    fn listing_failed(&self, kind: &ResourceKind, error: &LookupError) -> LookupError {
        LookupError::Failed(format!(
            "listing {kind} in namespace {}: {error}",
            self.namespace
        ))
    }
}

/// A rule's findings of one autoscaler, given the objects of its namespace.
pub type AutoscalerFindings<'r> =
    dyn Fn(&Autoscaler, &NamespaceObjects<'_>) -> Result<Findings, LookupError> + 'r;

/// The verdict on the autoscaler under review: `findings` of the submitted object, less those the stored
/// object already had (no worse), new ones refused with `code`. KEDA's own HPA is accepted, its
/// ScaledObject judged instead; an HPA only claiming KEDA's ownership is judged as a plain HPA, with a
/// warning saying why. A stored object that scaled no adapter had nothing to violate.
pub fn autoscaler_verdict(
    request: &AdmissionRequest,
    review: &AutoscalerReview,
    objects: &NamespaceObjects<'_>,
    keda_operators: &[ServiceAccountRef],
    code: u16,
    findings: &AutoscalerFindings<'_>,
) -> Result<Verdict, LookupError> {
    let forged = match objects.keda_hpa(review, request.user_info.as_ref(), keda_operators)? {
        KedaHpa::Of(_) => return Ok(Verdict::accept()),
        KedaHpa::Forged(warning) => Some(warning),
        KedaHpa::Unclaimed => None,
    };
    let mut after = findings(&review.object, objects)?;
    after.warnings.extend(forged);
    let before = match review
        .old_object
        .as_ref()
        .filter(|old| old.adapter().is_some())
    {
        Some(old) => Some(findings(old, objects)?),
        None => None,
    };
    Ok(after.verdict(before.as_ref(), code))
}

/// A rule's violations of one autoscaler, given the objects of its namespace.
pub type AutoscalerViolations<'r> =
    dyn Fn(&Autoscaler, &NamespaceObjects<'_>) -> Result<Vec<Violation>, LookupError> + 'r;

/// The verdict on a DGD CREATE or UPDATE, judged through the autoscalers of its namespace that scale it:
/// each one's violations (`violations`, given the namespace's objects) in the cluster as it would be
/// after the edit, less those it had before the edit, no worse. What the edit introduces or worsens is
/// refused with `code`, each message naming its autoscaler; warnings are the autoscalers' own business
/// and left out. KEDA's own HPAs are left to their ScaledObjects. Objects being deleted pass.
pub fn dgd_edit_verdict(
    request: &AdmissionRequest,
    cluster: &dyn Cluster,
    masks: &FieldMasks,
    code: u16,
    violations: &AutoscalerViolations<'_>,
) -> Verdict {
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return Verdict::accept();
    }
    let dgd = match request.dgd_object() {
        Ok(dgd) => dgd,
        Err(error) => {
            return Verdict::reject(BAD_REQUEST, format!("invalid {}: {error}", dgd::KIND));
        }
    };
    if request.updates_object_being_deleted(&dgd.metadata) {
        return Verdict::accept();
    }
    let name = if dgd.name().is_empty() {
        &request.name
    } else {
        dgd.name()
    };
    let namespace = dgd.namespace_or(&request.namespace);
    let old_object = (request.operation == Operation::Update).then_some(&request.old_object);
    let judge = || -> Result<Verdict, LookupError> {
        let stored = NamespaceObjects::new(cluster, namespace, masks);
        let after = stored.with_dgd(name, Some(&request.object));
        let before = stored.with_dgd(name, old_object);
        let (mut now, mut then) = (Findings::default(), Findings::default());
        let adapters_of_dgd = after.adapters_of(name)?;
        for autoscaler in after.autoscalers_of_dgd(&adapters_of_dgd)? {
            let adapter = autoscaler.adapter().unwrap_or_default();
            let scales_this_dgd = after
                .resolve(adapter)?
                .candidates()
                .iter()
                .any(|target| target.dgd.name() == name);
            if !scales_this_dgd || after.kedas_hpa_of(autoscaler)?.is_some() {
                continue;
            }
            for (objects, findings) in [(&after, &mut now), (&before, &mut then)] {
                let named = violations(autoscaler, objects)?
                    .into_iter()
                    .map(|v| Violation {
                        key: format!("{} {}", autoscaler.describe(), v.key),
                        message: format!("{}: {}", autoscaler.describe(), v.message),
                        excess: v.excess,
                    });
                findings.violations.extend(named);
            }
        }
        Ok(now.verdict(Some(&then), code))
    };
    judge().unwrap_or_else(|error| lookup_failed(&error))
}

/// The answer to a failed look-up: the policy cannot decide, so it refuses with code 500 naming it.
pub fn lookup_failed(error: &LookupError) -> Verdict {
    Verdict::reject(INTERNAL_ERROR, format!("cluster look-up failed: {error}"))
}

/// The adapters that may lead to a component or group of one DGD, and a cheap first test of an adapter
/// name, so that a rule looking for the autoscalers of a DGD reads and resolves only theirs: an existing
/// adapter leads there only when its `spec.dgdRef` names the DGD, and a missing one only when its name
/// is `<dgd>-<lowercased component or group>`.
#[derive(Debug, Clone)]
pub struct AdaptersOf<'a> {
    dgd: &'a str,
    /// `<dgd>-`.
    prefix: String,
    /// The adapters of the namespace that may lead to the DGD: those whose `spec.dgdRef` names it or
    /// whose name is `<dgd>-…`.
    adapters: Vec<&'a ScalingAdapter>,
}

impl<'a> AdaptersOf<'a> {
    /// `false` when adapter `name` cannot lead to the DGD; `true` when it may (resolve it to know).
    pub fn may_lead_to_it(&self, name: &str) -> bool {
        adapter_name_suffix(name, self.dgd).is_some()
            || self.existing().any(|adapter| adapter == name)
    }

    /// The names of the adapters whose `spec.dgdRef` names the DGD.
    fn existing(&self) -> impl Iterator<Item = &str> {
        self.adapters
            .iter()
            .filter(|adapter| adapter.spec.dgd_ref.name == self.dgd)
            .map(|adapter| adapter.metadata.name.as_str())
    }

    /// The adapters of the namespace that may lead to the DGD: every adapter [`resolve_adapter`] looks
    /// for when it resolves a name [`Self::may_lead_to_it`] accepts.
    pub fn adapters(&self) -> &[&'a ScalingAdapter] {
        &self.adapters
    }

    /// What names every adapter that may lead to the DGD: `<dgd>-…`, and the other existing ones.
    fn mentions(&self) -> Vec<Mention<'_>> {
        let others = self
            .existing()
            .filter(|name| adapter_name_suffix(name, self.dgd).is_none())
            .map(Mention::Exact);
        std::iter::once(Mention::Prefix(&self.prefix))
            .chain(others)
            .collect()
    }
}

/// What an adapter scales: a component (v1alpha1: service) or a component group of a DGD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaledUnit<'a> {
    /// The DGD.
    pub dgd: &'a DgdView,
    /// The component or group.
    pub unit: Unit<'a>,
}

impl<'a> ScaledUnit<'a> {
    /// The component's or group's name (original case).
    pub fn name(&self) -> &'a str {
        self.unit.name()
    }

    /// How messages name it: `service decode` (v1alpha1), `component decode`, `component group Engines`.
    pub fn describe(&self) -> String {
        match self.unit {
            Unit::Component(c) => format!("{} {}", self.dgd.version.component_noun(), c.name),
            Unit::Group(g) => format!("component group {}", g.name),
        }
    }

    /// The components it scales: the component itself, or the group's members.
    pub fn components(&self) -> Vec<&'a dgd::Component> {
        match self.unit {
            Unit::Component(c) => vec![c],
            Unit::Group(g) => self
                .dgd
                .components
                .iter()
                .filter(|c| g.members.contains(&c.name))
                .collect(),
        }
    }

    /// Whether the DGD's Planner scales it (a group: any of its members).
    pub fn is_planner_scaled(&self) -> bool {
        self.components().iter().any(|c| c.planner_scaled)
    }

    /// GPUs per replica of what the adapter scales: a component's; for a group, the sum over its
    /// members of their GPUs per replica times their replicas (one group replica runs them all).
    pub fn gpus_per_replica(&self) -> GpuCount {
        match self.unit {
            Unit::Component(c) => c.gpus.clone(),
            Unit::Group(_) => {
                let mut total: Option<u32> = None;
                for member in self.components() {
                    if let Some(gpus) = member.gpus.clone()? {
                        let replicas = u32::try_from(member.replicas()).unwrap_or(0);
                        let sum = total
                            .unwrap_or(0)
                            .saturating_add(gpus.saturating_mul(replicas));
                        total = Some(sum);
                    }
                }
                Ok(total)
            }
        }
    }
}

/// Where an adapter name leads.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterResolution<'a> {
    /// Exactly one component or group: through the existing adapter's `spec.dgdRef`, or as the only one
    /// whose `<dgd>-<lowercased name>` is the adapter's name.
    Found(ScaledUnit<'a>),
    /// The adapter exists, but its `spec.dgdRef` names no component or group of a DGD in the namespace.
    DanglingAdapter(&'a ScalingAdapter),
    /// No adapter of that name exists, and several DGD components would produce the name (e.g. DGD `a-b`
    /// with service `c`, and DGD `a` with service `b-c`).
    Ambiguous(Vec<ScaledUnit<'a>>),
    /// Neither an adapter nor a DGD service of that name.
    NotFound,
}

impl<'a> AdapterResolution<'a> {
    /// What it scales, when the name resolves to exactly one component or group.
    pub fn target(&self) -> Option<ScaledUnit<'a>> {
        match self {
            Self::Found(target) => Some(*target),
            _ => None,
        }
    }

    /// Every component or group the adapter may scale: the one found, or each candidate of an ambiguous name
    /// (whichever DGD's operator creates the adapter first gets it); none for a dangling or unknown name.
    pub fn candidates(&self) -> &[ScaledUnit<'a>] {
        match self {
            Self::Found(target) => std::slice::from_ref(target),
            Self::Ambiguous(targets) => targets,
            Self::DanglingAdapter(_) | Self::NotFound => &[],
        }
    }
}

/// Resolves adapter `name` to what it scales: from the adapter's `spec.dgdRef` when the adapter exists,
/// else from the DGD component or group whose adapter would carry that name (GitOps applies a DGD and
/// its autoscalers together, before the operator creates the adapter). Members of a component group have
/// no adapter of their own and are never candidates.
pub fn resolve_adapter<'a>(
    name: &str,
    adapters: &[&'a ScalingAdapter],
    dgds: &[&'a DgdView],
) -> AdapterResolution<'a> {
    if let Some(adapter) = adapters.iter().copied().find(|a| a.metadata.name == name) {
        let unit_ref = adapter.unit_ref();
        return dgds
            .iter()
            .copied()
            .filter(|dgd| dgd.name() == adapter.spec.dgd_ref.name)
            .find_map(|dgd| {
                let unit = match unit_ref {
                    UnitRef::Component(name) => Unit::Component(dgd.component(name)?),
                    UnitRef::Group(name) => Unit::Group(dgd.group(name)?),
                };
                Some(AdapterResolution::Found(ScaledUnit { dgd, unit }))
            })
            .unwrap_or(AdapterResolution::DanglingAdapter(adapter));
    }
    let mut candidates: Vec<ScaledUnit<'a>> = dgds
        .iter()
        .copied()
        .filter(|dgd| adapter_name_suffix(name, dgd.name()).is_some())
        .flat_map(|dgd| {
            dgd.units()
                .into_iter()
                .filter(|unit| is_adapter_name(name, dgd.name(), unit.name()))
                .map(move |unit| ScaledUnit { dgd, unit })
        })
        .collect();
    match candidates.len() {
        0 => AdapterResolution::NotFound,
        1 => AdapterResolution::Found(candidates.remove(0)),
        _ => AdapterResolution::Ambiguous(candidates),
    }
}

/// One rule violation of an object. `key` identifies it across the old and the new object (e.g. the field
/// path, or the conflicting autoscaler), so an UPDATE can tell new violations from pre-existing ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is violated, stable across edits of the same object.
    pub key: String,
    /// The sentence users see.
    pub message: String,
    /// How far beyond its limit, for a violation that can grow (a maximum above a ceiling): an edit
    /// that makes a pre-existing violation worse is a new violation.
    pub excess: Option<u64>,
}

impl Violation {
    /// A violation whose key is its message.
    pub fn new(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            key: message.clone(),
            message,
            excess: None,
        }
    }

    /// A violation identified by `key`.
    pub fn keyed(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            excess: None,
        }
    }

    /// The same violation, `excess` beyond its limit.
    #[must_use]
    pub fn beyond_limit_by(mut self, excess: u64) -> Self {
        self.excess = Some(excess);
        self
    }

    /// Whether `before`, the stored object's violation of the same key, already went as far.
    fn predated_by(&self, before: &Violation) -> bool {
        before.key == self.key && self.excess <= before.excess
    }
}

/// What a rule found in one object: violations (denied) and advice (warnings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Violations, denied unless they predate the request.
    pub violations: Vec<Violation>,
    /// Warnings, never denied.
    pub warnings: Vec<String>,
}

impl Findings {
    /// The decision on the submitted object, given what the stored object (`before`, on UPDATE) already
    /// violated: new violations are refused with `code`, all in one message joined by `; `; violations
    /// the stored object already had, no worse, become warnings, so objects that predate the policy stay
    /// editable. A violation the edit makes worse (its excess grows) is a new one.
    pub fn verdict(self, before: Option<&Findings>, code: u16) -> Verdict {
        let (kept, new): (Vec<Violation>, Vec<Violation>) =
            self.violations.into_iter().partition(|violation| {
                before.is_some_and(|before| {
                    before.violations.iter().any(|b| violation.predated_by(b))
                })
            });
        let mut warnings: Vec<String> = kept
            .into_iter()
            .map(|violation| format!("pre-existing violation: {}", violation.message))
            .collect();
        warnings.extend(self.warnings);
        if new.is_empty() {
            return Verdict::accept_with_warnings(warnings);
        }
        let message = new
            .into_iter()
            .map(|violation| violation.message)
            .collect::<Vec<_>>()
            .join("; ");
        Verdict::Reject {
            code,
            message,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::list_json_of;
    use crate::parse::from_value;
    use crate::response::FORBIDDEN;
    use serde_json::{Value, json};

    fn dgd(name: &str, services: Value) -> DgdView {
        DgdView::from_object(&json!({"metadata": {"name": name}, "spec": {"services": services}}))
            .unwrap()
    }

    fn adapter(name: &str, dgd: &str, service: &str) -> ScalingAdapter {
        from_value(&json!({"metadata": {"name": name},
            "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": service}}}))
        .unwrap()
    }

    fn refs<T>(objects: &[T]) -> Vec<&T> {
        objects.iter().collect()
    }

    fn found(resolution: &AdapterResolution<'_>) -> Option<(String, String)> {
        resolution
            .target()
            .map(|t| (t.dgd.metadata.name.clone(), t.name().to_owned()))
    }

    #[test]
    fn an_existing_adapter_resolves_through_its_dgd_ref() {
        let dgds = [dgd("sglang-agg", json!({"decode": {}, "Frontend": {}}))];
        let adapters = [adapter("renamed", "sglang-agg", "Frontend")];
        let resolution = resolve_adapter("renamed", &refs(&adapters), &refs(&dgds));
        assert_eq!(
            found(&resolution),
            Some(("sglang-agg".into(), "Frontend".into()))
        );
        let adapters = [adapter("renamed", "gone", "Frontend")];
        assert_eq!(
            resolve_adapter("renamed", &refs(&adapters), &refs(&dgds)),
            AdapterResolution::DanglingAdapter(&adapters[0])
        );
    }

    #[test]
    fn a_missing_adapter_resolves_by_name_to_the_unique_service() {
        let dgds = [
            dgd("sglang-agg", json!({"decode": {}, "Frontend": {}})),
            dgd("other", json!({"decode": {}})),
        ];
        assert_eq!(
            found(&resolve_adapter("sglang-agg-frontend", &[], &refs(&dgds))),
            Some(("sglang-agg".into(), "Frontend".into()))
        );
        assert_eq!(
            resolve_adapter("sglang-agg-prefill", &[], &refs(&dgds)),
            AdapterResolution::NotFound
        );
    }

    #[test]
    fn two_services_producing_one_name_are_ambiguous() {
        let dgds = [dgd("a-b", json!({"c": {}})), dgd("a", json!({"b-c": {}}))];
        let AdapterResolution::Ambiguous(targets) = resolve_adapter("a-b-c", &[], &refs(&dgds))
        else {
            panic!("expected an ambiguity");
        };
        let names: Vec<_> = targets
            .iter()
            .map(|t| format!("{}/{}", t.dgd.metadata.name, t.name()))
            .collect();
        assert_eq!(names, ["a-b/c", "a/b-c"]);
    }

    #[test]
    fn candidates_and_planner_scaled_services() {
        let dgds = [
            dgd("a-b", json!({"c": {}})),
            dgd(
                "a",
                json!({"b-c": {}, "decode": {}, "Planner": {"componentType": "planner"}}),
            ),
        ];
        let planner_scaled = |name: &str| -> Vec<bool> {
            resolve_adapter(name, &[], &refs(&dgds))
                .candidates()
                .iter()
                .map(ScaledUnit::is_planner_scaled)
                .collect()
        };
        assert_eq!(planner_scaled("a-b-c"), [false, false]);
        assert_eq!(planner_scaled("a-decode"), [true]);
        assert_eq!(planner_scaled("a-prefill"), Vec::<bool>::new());
        let adapters = [adapter("x", "gone", "decode")];
        assert!(
            resolve_adapter("x", &refs(&adapters), &refs(&dgds))
                .candidates()
                .is_empty()
        );
    }

    /// Answers with `answers[apiVersion]`: objects, or a refusal.
    struct Versioned(Vec<(&'static str, Result<Vec<Value>, LookupError>)>);

    impl Cluster for Versioned {
        fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
            self.0
                .iter()
                .find(|(version, _)| *version == lookup.kind.api_version)
                .map_or(Ok(Vec::new()), |(_, answer)| answer.clone())
                .map(|items| list_json_of(&items))
        }
    }

    #[test]
    fn dgds_are_listed_at_v1beta1_and_at_v1alpha1_only_when_v1beta1_is_absent() {
        let beta = json!({"apiVersion": "nvidia.com/v1beta1", "metadata": {"name": "b"}});
        let alpha = json!({"apiVersion": "nvidia.com/v1alpha1", "metadata": {"name": "a"}});
        let names = |cluster: &Versioned| -> Result<Vec<String>, LookupError> {
            let objects = NamespaceObjects::new(cluster, "default", &FieldMasks::MODELS);
            Ok(objects
                .dgds()?
                .iter()
                .map(|d| d.name().to_owned())
                .collect())
        };
        let both = Versioned(vec![
            ("nvidia.com/v1beta1", Ok(vec![beta.clone(), alpha.clone()])),
            ("nvidia.com/v1alpha1", Ok(vec![alpha.clone()])),
        ]);
        assert_eq!(names(&both).unwrap(), ["b", "a"]);
        let old_cluster = Versioned(vec![
            (
                "nvidia.com/v1beta1",
                Err(LookupError::NotServed("no".into())),
            ),
            ("nvidia.com/v1alpha1", Ok(vec![alpha.clone()])),
        ]);
        assert_eq!(names(&old_cluster).unwrap(), ["a"]);
        let broken = Versioned(vec![
            (
                "nvidia.com/v1beta1",
                Err(LookupError::NotGranted("no".into())),
            ),
            (
                "nvidia.com/v1alpha1",
                Err(LookupError::Failed("boom".into())),
            ),
        ]);
        assert_eq!(
            names(&broken).unwrap_err().to_string(),
            "listing nvidia.com/v1alpha1/DynamoGraphDeployment in namespace default: boom"
        );
        let nothing = Versioned(vec![
            (
                "nvidia.com/v1beta1",
                Err(LookupError::NotServed("no".into())),
            ),
            (
                "nvidia.com/v1alpha1",
                Err(LookupError::NotServed("no".into())),
            ),
        ]);
        assert_eq!(names(&nothing).unwrap(), Vec::<String>::new());
    }

    /// A cluster holding `objects` at any version.
    struct Holding(Vec<Value>);

    impl Cluster for Holding {
        fn list_json(&self, lookup: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
            let items: Vec<Value> = self
                .0
                .iter()
                .filter(|o| o["kind"] == *lookup.kind.kind)
                .cloned()
                .collect();
            Ok(list_json_of(&items))
        }
    }

    #[test]
    fn only_adapters_that_may_lead_to_a_dgd_pass_its_first_test() {
        let adapter = |name: &str, dgd: &str| {
            json!({"kind": adapter::KIND, "apiVersion": "nvidia.com/v1alpha1", "metadata": {"name": name},
                "spec": {"replicas": 1, "dgdRef": {"name": dgd, "serviceName": "decode"}}})
        };
        let v1beta1_adapter = json!({"kind": adapter::KIND, "apiVersion": "nvidia.com/v1beta1",
            "metadata": {"name": "engines"},
            "spec": {"replicas": 1, "dgdRef": {"name": "a", "componentGroupName": "Engines"}}});
        let cluster = Holding(vec![
            adapter("renamed", "a"),
            adapter("a-x", "other"),
            v1beta1_adapter,
        ]);
        let objects = NamespaceObjects::new(&cluster, "default", &FieldMasks::MODELS);
        let of_a = objects.adapters_of("a").unwrap();
        // An existing adapter naming the DGD (either version), whatever its name; a name the DGD
        // would give.
        assert!(of_a.may_lead_to_it("renamed"));
        assert!(of_a.may_lead_to_it("engines"));
        assert!(of_a.may_lead_to_it("a-decode"));
        assert!(of_a.may_lead_to_it("a-b-c"));
        // Only a first test: an existing adapter of another DGD is for resolution to turn down.
        assert!(of_a.may_lead_to_it("a-x"));
        assert!(!of_a.may_lead_to_it("ab-decode"));
        assert!(!of_a.may_lead_to_it("a"));
        assert!(!of_a.may_lead_to_it("other-decode"));
        assert!(
            !objects
                .adapters_of("other")
                .unwrap()
                .may_lead_to_it("renamed")
        );
        assert!(
            !objects
                .adapters_of("other")
                .unwrap()
                .may_lead_to_it("engines")
        );
    }

    fn keda_hpa_claiming(name: &str, scaled_object: &str, adapter: &str) -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject", "name": scaled_object, "controller": true}]},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1beta1",
                "kind": "DynamoGraphDeploymentScalingAdapter", "name": adapter}, "maxReplicas": 3}})
    }

    fn scaled_object(name: &str, adapter: &str, hpa_name: Option<&str>) -> Value {
        let mut so = json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": name}, "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1beta1",
                "kind": "DynamoGraphDeploymentScalingAdapter", "name": adapter}}});
        if let Some(hpa_name) = hpa_name {
            so["spec"]["advanced"] = json!({"horizontalPodAutoscalerConfig": {"name": hpa_name}});
        }
        so
    }

    #[test]
    fn only_the_hpa_a_scaled_object_made_counts_as_it() {
        let cluster = Holding(vec![
            scaled_object("s", "a", None),
            scaled_object("custom", "a", Some("my-hpa")),
        ]);
        let objects = NamespaceObjects::new(&cluster, "default", &FieldMasks::MODELS);
        let counts = |hpa: Value| {
            let hpa = Autoscaler::Hpa(from_value(&hpa).unwrap());
            objects.counts_as(&hpa).unwrap()
        };
        assert_eq!(
            counts(keda_hpa_claiming("keda-hpa-s", "s", "a")),
            ("ScaledObject", "s".into())
        );
        assert_eq!(
            counts(keda_hpa_claiming("my-hpa", "custom", "a")),
            ("ScaledObject", "custom".into())
        );
        for forged in [
            keda_hpa_claiming("my-decode-hpa", "s", "a"),
            keda_hpa_claiming("keda-hpa-s", "s", "other-adapter"),
            keda_hpa_claiming("keda-hpa-gone", "gone", "a"),
            keda_hpa_claiming("keda-hpa-custom", "custom", "a"),
        ] {
            let name = forged["metadata"]["name"].as_str().unwrap().to_owned();
            assert_eq!(counts(forged), ("HorizontalPodAutoscaler", name));
        }
        let mut not_controller = keda_hpa_claiming("keda-hpa-s", "s", "a");
        not_controller["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        assert_eq!(
            counts(not_controller),
            ("HorizontalPodAutoscaler", "keda-hpa-s".into())
        );
    }

    #[test]
    fn the_reviewed_hpa_is_kedas_only_when_kedas_operator_sends_it() {
        let cluster = Holding(vec![scaled_object("s", "a", None)]);
        let objects = NamespaceObjects::new(&cluster, "default", &FieldMasks::MODELS);
        let operators = crate::principal::default_keda_operators();
        let judge = |hpa: Value, username: &str| {
            let request: AdmissionRequest = from_value(&json!({
                "operation": "CREATE", "namespace": "default",
                "kind": {"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"},
                "object": hpa}))
            .unwrap();
            let review = AutoscalerReview::from_request(&request).unwrap();
            let user = UserInfo {
                username: username.into(),
                ..UserInfo::default()
            };
            objects.keda_hpa(&review, Some(&user), &operators).unwrap()
        };
        let keda = "system:serviceaccount:keda:keda-operator";
        assert_eq!(
            judge(keda_hpa_claiming("keda-hpa-s", "s", "a"), keda),
            KedaHpa::Of("s".into())
        );
        assert_eq!(
            judge(keda_hpa_claiming("keda-hpa-s", "s", "a"), "alice"),
            KedaHpa::Forged("HorizontalPodAutoscaler keda-hpa-s claims to be the HPA KEDA made for ScaledObject s (a controller ownerReference), but the request comes from \"alice\", not from KEDA's operator (kedaOperatorServiceAccounts): it is judged as a plain HorizontalPodAutoscaler".into())
        );
        assert_eq!(
            judge(keda_hpa_claiming("my-decode-hpa", "s", "a"), keda),
            KedaHpa::Forged("HorizontalPodAutoscaler my-decode-hpa claims to be the HPA KEDA made for ScaledObject s (a controller ownerReference), but KEDA names that HPA keda-hpa-s and points it at a: it is judged as a plain HorizontalPodAutoscaler".into())
        );
        assert_eq!(
            judge(keda_hpa_claiming("keda-hpa-x", "x", "a"), keda),
            KedaHpa::Forged("HorizontalPodAutoscaler keda-hpa-x claims to be the HPA KEDA made for ScaledObject x (a controller ownerReference), but namespace default has no ScaledObject x: it is judged as a plain HorizontalPodAutoscaler".into())
        );
    }

    fn review(object: Value, operation: &str) -> Result<AutoscalerReview, Verdict> {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let group = if kind == "ScaledObject" {
            "keda.sh"
        } else {
            "autoscaling"
        };
        let request: AdmissionRequest = from_value(&json!({
            "operation": operation, "namespace": "default",
            "kind": {"group": group, "version": "v2", "kind": kind},
            "object": object, "oldObject": object
        }))
        .unwrap();
        AutoscalerReview::from_request(&request)
    }

    fn hpa(target_kind: &str) -> Value {
        json!({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"apiVersion": "nvidia.com/v1alpha1", "kind": target_kind,
            "name": "sglang-agg-decode"}, "maxReplicas": 3}})
    }

    #[test]
    fn reviews_autoscalers_of_adapters_only() {
        let reviewed = review(hpa("DynamoGraphDeploymentScalingAdapter"), "UPDATE").unwrap();
        assert_eq!(reviewed.adapter(), "sglang-agg-decode");
        assert_eq!(reviewed.namespace, "default");
        assert_eq!(
            reviewed.old_object.as_ref().map(Autoscaler::describe),
            Some("HorizontalPodAutoscaler h".into())
        );
        assert_eq!(review(hpa("Deployment"), "CREATE"), Err(Verdict::accept()));
        assert_eq!(
            review(hpa("DynamoGraphDeploymentScalingAdapter"), "DELETE"),
            Err(Verdict::accept())
        );
        let mut deleting = hpa("DynamoGraphDeploymentScalingAdapter");
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(review(deleting, "UPDATE"), Err(Verdict::accept()));
    }

    /// An autoscaler moved onto an adapter did not scale one before: what its old target violated
    /// says nothing about the adapter, so the move is judged as new (the rule of every autoscaler policy).
    #[test]
    fn a_stored_object_counts_only_when_it_scaled_an_adapter_too() {
        let adapter = "DynamoGraphDeploymentScalingAdapter";
        let mut request: AdmissionRequest = from_value(&json!({
            "operation": "UPDATE", "namespace": "default",
            "kind": {"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"},
            "object": hpa(adapter), "oldObject": hpa("Deployment")
        }))
        .unwrap();
        let always_too_many = |_: &Autoscaler, _: &NamespaceObjects<'_>| {
            Ok(Findings {
                violations: vec![Violation::keyed("max", "maxReplicas 3 is too many")],
                warnings: vec![],
            })
        };
        let verdict = |request: &AdmissionRequest| {
            let review = AutoscalerReview::from_request(request).unwrap();
            let objects =
                NamespaceObjects::new(&crate::EmptyCluster, "default", &FieldMasks::MODELS);
            autoscaler_verdict(request, &review, &objects, &[], FORBIDDEN, &always_too_many)
                .unwrap()
        };
        assert_eq!(
            verdict(&request),
            Verdict::reject(FORBIDDEN, "maxReplicas 3 is too many")
        );
        request.old_object = hpa(adapter).into();
        assert_eq!(
            verdict(&request),
            Verdict::accept_with_warnings(vec![
                "pre-existing violation: maxReplicas 3 is too many".into()
            ])
        );
    }

    #[test]
    fn malformed_autoscalers_are_refused_with_the_path() {
        let mut bad = hpa("DynamoGraphDeploymentScalingAdapter");
        bad["spec"]["maxReplicas"] = json!("three");
        let Err(Verdict::Reject { code, message, .. }) = review(bad, "CREATE") else {
            panic!("expected a rejection");
        };
        assert_eq!(code, 400);
        assert!(
            message.starts_with("invalid HorizontalPodAutoscaler: spec.maxReplicas: "),
            "{message}"
        );
    }

    #[test]
    fn a_pre_existing_violation_made_worse_is_denied() {
        let ceiling = |max: u64| Findings {
            violations: vec![
                Violation::keyed("max ceiling", format!("max {max} is above 32"))
                    .beyond_limit_by(max - 32),
            ],
            warnings: vec![],
        };
        assert_eq!(
            ceiling(100000).verdict(Some(&ceiling(40)), FORBIDDEN),
            Verdict::reject(FORBIDDEN, "max 100000 is above 32")
        );
        assert_eq!(
            ceiling(40).verdict(Some(&ceiling(40)), FORBIDDEN),
            Verdict::accept_with_warnings(vec![
                "pre-existing violation: max 40 is above 32".into()
            ])
        );
        assert_eq!(
            ceiling(35).verdict(Some(&ceiling(40)), FORBIDDEN),
            Verdict::accept_with_warnings(vec![
                "pre-existing violation: max 35 is above 32".into()
            ])
        );
    }

    #[test]
    fn updates_deny_only_new_violations() {
        let before = Findings {
            violations: vec![Violation::keyed("min", "min is 0")],
            warnings: vec![],
        };
        let after = Findings {
            violations: vec![
                Violation::keyed("min", "min is 0 still"),
                Violation::new("max is 1000"),
            ],
            warnings: vec!["short window".into()],
        };
        assert_eq!(
            after.clone().verdict(Some(&before), FORBIDDEN),
            Verdict::Reject {
                code: FORBIDDEN,
                message: "max is 1000".into(),
                warnings: vec![
                    "pre-existing violation: min is 0 still".into(),
                    "short window".into()
                ],
            }
        );
        let only_old = Findings {
            violations: vec![Violation::keyed("min", "min is 0")],
            warnings: vec![],
        };
        assert_eq!(
            only_old.verdict(Some(&before), FORBIDDEN),
            Verdict::accept_with_warnings(vec!["pre-existing violation: min is 0".into()])
        );
        let Verdict::Reject { message, .. } = after.verdict(None, FORBIDDEN) else {
            panic!("expected a rejection");
        };
        assert_eq!(message, "min is 0 still; max is 1000");
    }
}
