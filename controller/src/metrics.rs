//! Prometheus metrics (OpenMetrics text on `/metrics`), all prefixed `scaleguard_controller_`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Error;

/// Which reconcile a sample belongs to: `dgd` (adapter lifecycle) or `adapter` (replica sync, status).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// `dgd` or `adapter`.
    pub controller: &'static str,
}

/// A failed reconcile: which one, and [`Error::metric_label`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// `dgd` or `adapter`.
    pub controller: &'static str,
    /// The error's class.
    pub reason: &'static str,
}

type HistogramFamily = Family<ControllerLabels, Histogram, fn() -> Histogram>;

/// The controller's metrics and the registry that serves them.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    scale_events: Counter,
    reconcile_duration: HistogramFamily,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("scaleguard_controller");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let scale_events = Counter::default();
        let reconcile_duration: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.005, 2.0, 12)));
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by error class",
            failures.clone(),
        );
        registry.register(
            "scale_events",
            "Adapter replicas written into a DynamoGraphDeployment",
            scale_events.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time a reconcile took",
            reconcile_duration.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease (and so is the only one writing)",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            failures,
            scale_events,
            reconcile_duration,
            leader,
        }
    }
}

impl Metrics {
    /// Records one reconcile of `controller` that took `elapsed` and ended in `result`.
    pub fn reconciled<T>(
        &self,
        controller: &'static str,
        elapsed: Duration,
        result: &Result<T, Error>,
    ) {
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Err(error) = result {
            let reason = error.metric_label();
            self.failures
                .get_or_create(&FailureLabels { controller, reason })
                .inc();
        }
    }

    /// Records a replica write into a DGD.
    pub fn scaled(&self) {
        self.scale_events.inc();
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reconciles_failures_scales_and_durations() {
        let metrics = Metrics::default();
        metrics.reconciled::<()>("adapter", Duration::from_millis(20), &Ok(()));
        metrics.reconciled::<()>(
            "dgd",
            Duration::from_millis(3),
            &Err(Error::InvalidObject("namespace")),
        );
        metrics.scaled();
        metrics.set_leader(true);
        let text = metrics.encode();
        for line in [
            "scaleguard_controller_reconciles_total{controller=\"adapter\"} 1",
            "scaleguard_controller_reconciles_total{controller=\"dgd\"} 1",
            "scaleguard_controller_reconcile_failures_total{controller=\"dgd\",reason=\"invalid_object\"} 1",
            "scaleguard_controller_scale_events_total 1",
            "scaleguard_controller_reconcile_duration_seconds_count{controller=\"adapter\"} 1",
            "scaleguard_controller_leader 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
