//! Which component images a cluster runs in full mode: upstream's
//! `resolveImages` (operator API §10), pure.
//!
//! Images the user pins in `spec.images` always win. The others come from
//! the operator's image set (compiled defaults, `MULTIGRES_IMAGE_*`), the
//! *available* set. Under `immediate` a cluster adopts a new available set
//! at once; under `lazy` (the `--image-update-strategy` flag, or the
//! cluster's `spec.imageUpdatePolicy.strategy`) it keeps the set it
//! recorded in the `multigres.com/applied-images` annotation until
//! `spec.imageUpdatePolicy.acknowledgedRevision` names the available set's
//! revision. The result feeds the compiler (the set to render with), the
//! annotation, `status.images` and the ImageRolloutPending condition.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::status::{PlannedEvent, conditions};
use crate::api::cluster::{
    ClusterImages, ComponentImages, ImageSource, ImageUpdatePolicy, ImageUpdateStrategy,
    ImagesStatus, MultigresClusterStatus,
};
use crate::images::{Component, ImageSet};

/// The annotation's value for a cluster that pins all six images: a JSON
/// string, quotes included (upstream's tombstone).
pub const FULLY_PINNED: &str = "\"fully-pinned\"";
pub const IMAGE_ROLLOUT_PENDING: &str = "ImageRolloutPending";

/// What resolution reads of one cluster.
pub struct ImagesObserved<'a> {
    pub pinned: &'a ClusterImages,
    pub policy: Option<&'a ImageUpdatePolicy>,
    /// The live `multigres.com/applied-images` annotation.
    pub annotation: Option<&'a str>,
    pub status: Option<&'a ImagesStatus>,
    /// `--image-update-strategy`.
    pub default_strategy: ImageUpdateStrategy,
    /// The operator's image set.
    pub available: &'a ImageSet,
}

/// The outcome of resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The set to compile with (pins are applied by the compiler itself).
    pub images: ImageSet,
    /// The annotation's value (written when it differs from the live one).
    pub annotation: String,
    pub status: ImagesStatus,
    /// ImageRolloutPending: true while new images wait.
    pub pending: bool,
    pub reason: &'static str,
    pub message: String,
    pub events: Vec<PlannedEvent>,
}

/// Lazy resolution cannot go on: the recorded set is unreadable and the
/// status holds no copy (upstream stops the reconcile rather than roll
/// images nobody acknowledged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the {annotation} annotation is not a complete image set and status.images.applied holds none; \
     under the lazy strategy the images stay unknown: remove the annotation to adopt the available set"
)]
pub struct RecordInvalid {
    pub annotation: &'static str,
    pub events: Vec<PlannedEvent>,
}

pub fn resolve(observed: &ImagesObserved<'_>) -> Result<Resolved, RecordInvalid> {
    let pins = pins(observed.pinned);
    let pin = |component| image_of(&pins, component);
    if Component::operator_managed()
        .iter()
        .all(|c| pin(*c).is_some())
    {
        let effective = components(pin);
        return Ok(Resolved {
            images: observed.available.clone(),
            annotation: FULLY_PINNED.into(),
            status: ImagesStatus {
                effective,
                source: ImageSource::Explicit,
                ..ImagesStatus::default()
            },
            pending: false,
            reason: "FullyPinned",
            message: "All component images are explicitly pinned".into(),
            events: Vec::new(),
        });
    }
    let source = if Component::operator_managed()
        .iter()
        .all(|c| pin(*c).is_none())
    {
        ImageSource::Defaults
    } else {
        ImageSource::Mixed
    };
    let strategy = observed
        .policy
        .and_then(|p| p.strategy)
        .unwrap_or(observed.default_strategy);
    let lazy = strategy == ImageUpdateStrategy::Lazy;
    let available = of_set(observed.available);
    let available_revision = observed.available.revision();
    let acknowledged = observed
        .policy
        .and_then(|p| p.acknowledged_revision.as_deref())
        .unwrap_or_default();
    let mut events = Vec::new();

    let (from_annotation, invalid) = match observed.annotation {
        None | Some(FULLY_PINNED) => (None, false),
        Some(text) => match serde_json::from_str::<ComponentImages>(text) {
            Ok(images) if complete(&images) => (Some(images), false),
            _ => (None, true),
        },
    };
    if invalid {
        events.push(PlannedEvent::warning(
            "ImagesRecordInvalid",
            format!(
                "the {} annotation is not a complete image set",
                crate::labels::APPLIED_IMAGES
            ),
        ));
    }
    let recorded = from_annotation.or_else(|| {
        observed
            .status
            .and_then(|s| s.applied.clone())
            .filter(complete)
    });
    if invalid && recorded.is_none() && lazy {
        return Err(RecordInvalid {
            annotation: crate::labels::APPLIED_IMAGES,
            events,
        });
    }
    let recorded_revision = recorded.as_ref().map(revision);
    if !lazy
        && !acknowledged.is_empty()
        && acknowledged != available_revision
        && Some(acknowledged) != recorded_revision.as_deref()
    {
        events.push(PlannedEvent::warning(
            "ImagesAcknowledgementIgnored",
            format!(
                "spec.imageUpdatePolicy.acknowledgedRevision {acknowledged} is ignored under the \
                 immediate strategy (available: {available_revision})"
            ),
        ));
    }

    let mut applied = available.clone();
    let mut pending = None;
    if let (true, Some(recorded), Some(recorded_revision)) = (lazy, &recorded, &recorded_revision)
        && *recorded_revision != available_revision
        && acknowledged != available_revision
    {
        applied = recorded.clone();
        if acknowledged.is_empty() || acknowledged == recorded_revision {
            pending = Some((
                "AwaitingAcknowledgement",
                format!(
                    "Image set {available_revision} is available; the cluster runs \
                     {recorded_revision} until spec.imageUpdatePolicy.acknowledgedRevision \
                     is {available_revision}"
                ),
            ));
        } else {
            let message = format!(
                "spec.imageUpdatePolicy.acknowledgedRevision {acknowledged} is neither the \
                 available image set {available_revision} nor the running {recorded_revision}"
            );
            events.push(PlannedEvent::warning(
                "ImagesRevisionMismatch",
                message.clone(),
            ));
            pending = Some(("RevisionMismatch", message));
        }
    }
    let applied_revision = revision(&applied);
    if let Some(recorded) = &recorded
        && recorded_revision.as_deref() != Some(applied_revision.as_str())
    {
        events.push(PlannedEvent::normal(
            "ImagesUpdated",
            format!(
                "images {} → {applied_revision}: {}",
                recorded_revision.unwrap_or_default(),
                changes(recorded, &applied)
            ),
        ));
    }

    let images = overridden(observed.available, &applied, "recorded applied-images");
    let effective = components(|c| pin(c).or_else(|| image_of(&applied, c)));
    let (pending, reason, message) = match pending {
        Some((reason, message)) => (true, reason, message),
        None => (
            false,
            "UpToDate",
            format!("Operator-managed components use default image set {applied_revision}"),
        ),
    };
    Ok(Resolved {
        images,
        annotation: serde_json::to_string(&applied).unwrap_or_default(),
        status: ImagesStatus {
            update_strategy: Some(
                match strategy {
                    ImageUpdateStrategy::Immediate => "immediate",
                    ImageUpdateStrategy::Lazy => "lazy",
                }
                .into(),
            ),
            effective,
            source,
            applied: Some(applied),
            applied_revision: Some(applied_revision),
            available: Some(available),
            available_revision: Some(available_revision),
        },
        pending,
        reason,
        message,
        events,
    })
}

/// Writes the resolution into a planned cluster status.
pub fn set_status(
    status: &mut MultigresClusterStatus,
    resolved: &Resolved,
    generation: Option<i64>,
    now: &Time,
) {
    status.images = Some(resolved.status.clone());
    let condition = conditions::condition(
        IMAGE_ROLLOUT_PENDING,
        resolved.pending,
        resolved.reason,
        resolved.message.clone(),
        generation,
    );
    conditions::set(&mut status.conditions, condition, now);
}

/// The cluster's pins, as a set of the six images (unpinned ones unset).
fn pins(images: &ClusterImages) -> ComponentImages {
    ComponentImages {
        multigateway: images.multigateway.clone(),
        multiorch: images.multiorch.clone(),
        multipooler: images.multipooler.clone(),
        multiadmin: images.multiadmin.clone(),
        multiadmin_web: images.multiadmin_web.clone(),
        postgres: images.postgres.clone(),
    }
}

/// The image of `component` in a set, if set and not empty.
fn image_of(images: &ComponentImages, component: Component) -> Option<String> {
    let image = match component {
        Component::Multigateway => &images.multigateway,
        Component::Multiorch => &images.multiorch,
        Component::Multipooler => &images.multipooler,
        Component::Multiadmin => &images.multiadmin,
        Component::MultiadminWeb => &images.multiadmin_web,
        Component::Postgres => &images.postgres,
        Component::Etcd | Component::PostgresExporter => return None,
    };
    image.clone().filter(|s| !s.is_empty())
}

fn components(image: impl Fn(Component) -> Option<String>) -> ComponentImages {
    ComponentImages {
        multigateway: image(Component::Multigateway),
        multiorch: image(Component::Multiorch),
        multipooler: image(Component::Multipooler),
        multiadmin: image(Component::Multiadmin),
        multiadmin_web: image(Component::MultiadminWeb),
        postgres: image(Component::Postgres),
    }
}

fn of_set(set: &ImageSet) -> ComponentImages {
    components(|c| Some(set.image(c).to_owned()))
}

/// `base` with the images `images` holds in its place.
fn overridden(base: &ImageSet, images: &ComponentImages, from: &str) -> ImageSet {
    let mut set = base.clone();
    for component in Component::operator_managed() {
        if let Some(image) = image_of(images, *component) {
            set.set(*component, image, from);
        }
    }
    set
}

fn complete(images: &ComponentImages) -> bool {
    Component::operator_managed()
        .iter()
        .all(|c| image_of(images, *c).is_some())
}

/// The revision of a complete set, as `ImageSet::revision` computes it.
fn revision(images: &ComponentImages) -> String {
    overridden(&ImageSet::default(), images, "").revision()
}

/// `component: old → new` for each image that differs.
fn changes(from: &ComponentImages, to: &ComponentImages) -> String {
    Component::operator_managed()
        .iter()
        .filter_map(|component| {
            let (old, new) = (image_of(from, *component), image_of(to, *component));
            (old != new).then(|| {
                format!(
                    "{component}: {} → {}",
                    old.unwrap_or_default(),
                    new.unwrap_or_default()
                )
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed<'a>(
        pinned: &'a ClusterImages,
        policy: Option<&'a ImageUpdatePolicy>,
        annotation: Option<&'a str>,
        available: &'a ImageSet,
        strategy: ImageUpdateStrategy,
    ) -> ImagesObserved<'a> {
        ImagesObserved {
            pinned,
            policy,
            annotation,
            status: None,
            default_strategy: strategy,
            available,
        }
    }

    /// Resolution for a cluster that pins no image and has no status.
    fn unpinned(
        policy: Option<&ImageUpdatePolicy>,
        annotation: Option<&str>,
        available: &ImageSet,
        strategy: ImageUpdateStrategy,
    ) -> Result<Resolved, RecordInvalid> {
        let pinned = ClusterImages::default();
        resolve(&observed(&pinned, policy, annotation, available, strategy))
    }

    /// The default set with a newer multigateway: a new operator release.
    fn newer() -> ImageSet {
        let mut set = ImageSet::default();
        set.set(
            Component::Multigateway,
            "ghcr.io/multigres/multigres:new",
            "env",
        );
        set
    }

    fn recorded_defaults() -> String {
        serde_json::to_string(&of_set(&ImageSet::default())).unwrap()
    }

    fn reasons(resolved: &Resolved) -> Vec<&'static str> {
        resolved.events.iter().map(|e| e.reason).collect()
    }

    #[test]
    fn a_new_cluster_records_the_available_set_in_upstreams_key_order() {
        let available = ImageSet::default();
        let resolved = unpinned(None, None, &available, ImageUpdateStrategy::Immediate).unwrap();
        assert_eq!(
            resolved.annotation,
            r#"{"multigateway":"ghcr.io/multigres/multigres:sha-66d2310","multiorch":"ghcr.io/multigres/multigres:sha-66d2310","multipooler":"ghcr.io/multigres/multigres:sha-66d2310","multiadmin":"ghcr.io/multigres/multigres:sha-66d2310","multiadminWeb":"ghcr.io/multigres/multiadmin-web:sha-64da1ab","postgres":"ghcr.io/multigres/pgctld:sha-66d2310"}"#
        );
        assert_eq!(
            resolved.status.applied_revision.as_deref(),
            Some("51818592d94d")
        );
        assert_eq!(resolved.status.source, ImageSource::Defaults);
        assert_eq!((resolved.pending, resolved.reason), (false, "UpToDate"));
        assert!(resolved.events.is_empty());
    }

    #[test]
    fn all_six_pinned_is_recorded_as_the_tombstone() {
        let image = Some("registry.example/x:1".to_owned());
        let pinned = ClusterImages {
            multigateway: image.clone(),
            multiorch: image.clone(),
            multipooler: image.clone(),
            multiadmin: image.clone(),
            multiadmin_web: image.clone(),
            postgres: image.clone(),
            ..ClusterImages::default()
        };
        let available = ImageSet::default();
        let resolved = resolve(&observed(
            &pinned,
            None,
            None,
            &available,
            ImageUpdateStrategy::Lazy,
        ))
        .unwrap();
        assert_eq!(resolved.annotation, "\"fully-pinned\"");
        assert_eq!(resolved.status.source, ImageSource::Explicit);
        assert_eq!(resolved.status.effective.postgres, image);
        assert_eq!(resolved.reason, "FullyPinned");
    }

    #[test]
    fn immediate_adopts_a_new_available_set_and_says_what_changed() {
        let available = newer();
        let recorded = recorded_defaults();
        let resolved = unpinned(
            None,
            Some(&recorded),
            &available,
            ImageUpdateStrategy::Immediate,
        )
        .unwrap();
        assert_eq!(
            resolved.images.image(Component::Multigateway),
            "ghcr.io/multigres/multigres:new"
        );
        assert_eq!(reasons(&resolved), ["ImagesUpdated"]);
        assert!(
            resolved.events[0]
                .message
                .contains("multigateway: ghcr.io/multigres/multigres:sha-66d2310 → ghcr.io/multigres/multigres:new")
        );
        assert!(!resolved.pending);
    }

    #[test]
    fn lazy_keeps_the_recorded_set_until_the_new_revision_is_acknowledged() {
        let available = newer();
        let recorded = recorded_defaults();
        let waiting =
            unpinned(None, Some(&recorded), &available, ImageUpdateStrategy::Lazy).unwrap();
        assert_eq!(
            waiting.images.image(Component::Multigateway),
            "ghcr.io/multigres/multigres:sha-66d2310"
        );
        assert_eq!(
            (waiting.pending, waiting.reason),
            (true, "AwaitingAcknowledgement")
        );
        assert_eq!(waiting.annotation, recorded, "the record does not move");
        assert!(waiting.events.is_empty());

        let acknowledged = ImageUpdatePolicy {
            strategy: None,
            acknowledged_revision: Some(available.revision()),
        };
        let adopted = unpinned(
            Some(&acknowledged),
            Some(&recorded),
            &available,
            ImageUpdateStrategy::Lazy,
        )
        .unwrap();
        assert_eq!(
            adopted.images.image(Component::Multigateway),
            "ghcr.io/multigres/multigres:new"
        );
        assert_eq!((adopted.pending, adopted.reason), (false, "UpToDate"));
        assert_eq!(reasons(&adopted), ["ImagesUpdated"]);
    }

    #[test]
    fn a_per_cluster_strategy_wins_over_the_flag() {
        let available = newer();
        let recorded = recorded_defaults();
        let lazy = ImageUpdatePolicy {
            strategy: Some(ImageUpdateStrategy::Lazy),
            acknowledged_revision: None,
        };
        let resolved = unpinned(
            Some(&lazy),
            Some(&recorded),
            &available,
            ImageUpdateStrategy::Immediate,
        )
        .unwrap();
        assert!(resolved.pending);
        assert_eq!(resolved.status.update_strategy.as_deref(), Some("lazy"));
    }

    #[test]
    fn an_acknowledgement_of_neither_set_is_a_mismatch() {
        let available = newer();
        let recorded = recorded_defaults();
        let wrong = ImageUpdatePolicy {
            strategy: None,
            acknowledged_revision: Some("abc123".into()),
        };
        let lazy = unpinned(
            Some(&wrong),
            Some(&recorded),
            &available,
            ImageUpdateStrategy::Lazy,
        )
        .unwrap();
        assert_eq!((lazy.pending, lazy.reason), (true, "RevisionMismatch"));
        assert_eq!(reasons(&lazy), ["ImagesRevisionMismatch"]);
        let immediate = unpinned(
            Some(&wrong),
            Some(&recorded),
            &available,
            ImageUpdateStrategy::Immediate,
        )
        .unwrap();
        assert_eq!(
            reasons(&immediate),
            ["ImagesAcknowledgementIgnored", "ImagesUpdated"]
        );
    }

    #[test]
    fn an_unreadable_record_stops_lazy_and_is_adopted_over_under_immediate() {
        let available = newer();
        let error = unpinned(
            None,
            Some("{not json"),
            &available,
            ImageUpdateStrategy::Lazy,
        )
        .unwrap_err();
        assert_eq!(error.events[0].reason, "ImagesRecordInvalid");
        let immediate = unpinned(
            None,
            Some(r#"{"multigateway":"x"}"#),
            &available,
            ImageUpdateStrategy::Immediate,
        )
        .unwrap();
        assert_eq!(reasons(&immediate), ["ImagesRecordInvalid"]);
        assert_eq!(
            immediate.status.applied_revision,
            Some(available.revision())
        );

        // The status keeps a copy: lazy goes on with it.
        let status = ImagesStatus {
            applied: Some(of_set(&ImageSet::default())),
            ..ImagesStatus::default()
        };
        let pinned = ClusterImages::default();
        let mut with_status = observed(
            &pinned,
            None,
            Some("{not json"),
            &available,
            ImageUpdateStrategy::Lazy,
        );
        with_status.status = Some(&status);
        let recovered = resolve(&with_status).unwrap();
        assert_eq!(recovered.reason, "AwaitingAcknowledgement");
    }

    #[test]
    fn pins_show_in_the_effective_set_and_make_the_source_mixed() {
        let pinned = ClusterImages {
            postgres: Some("registry.example/pg:17".into()),
            ..ClusterImages::default()
        };
        let available = ImageSet::default();
        let resolved = resolve(&observed(
            &pinned,
            None,
            None,
            &available,
            ImageUpdateStrategy::Immediate,
        ))
        .unwrap();
        assert_eq!(resolved.status.source, ImageSource::Mixed);
        assert_eq!(
            resolved.status.effective.postgres.as_deref(),
            Some("registry.example/pg:17")
        );
        assert_eq!(
            resolved.status.applied.unwrap().postgres.as_deref(),
            Some("ghcr.io/multigres/pgctld:sha-66d2310")
        );
    }
}
