//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas can run and only one writes.
//!
//! The algorithm is client-go's: the holder renews `renewTime` every retry period; a candidate takes
//! the lease over only after it has seen the same lease record unchanged for a whole lease duration
//! (measured on its own monotonic clock, so clock skew between nodes does not matter). Every write is
//! a create or a `resourceVersion`-checked replace, so two candidates can never both win a round.
//! [`LeaderElector::lead`] runs the controller only while this replica holds the lease and releases it
//! on shutdown.
//!
//! (`kube-lease-manager` needs kube 5; `kube-leader-election` takes over expired leases with an
//! unconditional patch. Hence this small module.)

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::pipeline::MANAGER;

/// Why leading ended other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another replica took the lease, or it went unrenewed for the renew deadline.
    #[error("lost the leader lease")]
    Lost,
    /// Releasing the lease on shutdown failed; a standby takes over once it expires.
    #[error("could not release the leader lease")]
    Release(#[source] kube::Error),
}

/// Where the lease lives, who competes for it, and its timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps leading while renewals fail.
    pub renew_deadline: Duration,
    /// Time between election rounds.
    pub retry_period: Duration,
}

/// What one election round does with the lease it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Free or expired: take it.
    Acquire,
    /// Someone else holds it.
    Follow,
}

/// The round's decision for `spec`, given how long this replica has seen the lease record unchanged.
/// A lease without a duration counts as lasting `default_duration`.
pub fn decide(
    spec: &LeaseSpec,
    identity: &str,
    unchanged_for: Duration,
    default_duration: Duration,
) -> Decision {
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == identity {
        return Decision::Renew;
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|seconds| u64::try_from(seconds).ok())
        .map_or(default_duration, Duration::from_secs);
    if holder.is_empty() || unchanged_for >= duration {
        Decision::Acquire
    } else {
        Decision::Follow
    }
}

/// A candidate for the lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    clock: fn() -> Timestamp,
    /// The lease record last seen (its resourceVersion) and when it was first seen.
    observed: Option<(String, Instant)>,
}

impl LeaderElector {
    /// A candidate for the lease `config` describes.
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            clock: Timestamp::now,
            observed: None,
        }
    }

    /// The same candidate writing times read from `clock` (tests pin it).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> Timestamp) -> Self {
        self.clock = clock;
        self
    }

    /// One election round: whether this replica holds the lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = (self.clock)();
        let Some(lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.acquired(LeaseSpec::default(), now)),
            };
            return won(self.api.create(&post_params(), &lease).await);
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let unchanged_for = match &self.observed {
            Some((seen, since)) if *seen == version => since.elapsed(),
            _ => {
                self.observed = Some((version, Instant::now()));
                Duration::ZERO
            }
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let spec = match decide(
            &spec,
            &self.config.identity,
            unchanged_for,
            self.config.lease_duration,
        ) {
            Decision::Follow => return Ok(false),
            Decision::Renew => LeaseSpec {
                renew_time: Some(MicroTime(now)),
                lease_duration_seconds: Some(self.duration_seconds()),
                ..spec
            },
            Decision::Acquire => self.acquired(spec, now),
        };
        let updated = Lease {
            spec: Some(spec),
            ..lease
        };
        won(self
            .api
            .replace(&self.config.name, &post_params(), &updated)
            .await)
    }

    /// Gives the lease up if this replica holds it, so a standby takes over without waiting it out.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        let released = Lease {
            spec: Some(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                renew_time: Some(MicroTime((self.clock)())),
                ..spec
            }),
            ..lease
        };
        self.api
            .replace(&self.config.name, &post_params(), &released)
            .await
            .map(drop)
    }

    /// Runs `controller` while this replica holds the lease. Election rounds every retry period until
    /// one wins the lease; then `controller(shutdown)` runs while the lease is renewed every retry period.
    /// When the controller returns (on `shutdown`), the lease is released so a standby takes over at once.
    /// When leadership is lost instead (a round lost to another candidate, or no successful renewal for
    /// the renew deadline), the controller is dropped at once, since another replica may be writing
    /// already, and the result is [`Error::Lost`]. A round in flight is never cut short. `metrics`
    /// reports leadership while the controller runs.
    pub async fn lead<S, C>(
        mut self,
        metrics: &Metrics,
        shutdown: S,
        controller: impl FnOnce(S) -> C,
    ) -> Result<(), Error>
    where
        S: Future<Output = ()> + Clone,
        C: Future<Output = ()>,
    {
        info!(lease = self.config.name, "waiting for leadership");
        if !self.acquire(shutdown.clone()).await {
            return Ok(());
        }
        metrics.set_leader(true);
        // Renewals run on their own task, so a busy controller cannot delay them.
        let (stop, stopped) = oneshot::channel();
        let mut renewing = tokio::spawn(self.keep_leading(stopped));
        let renewed = tokio::select! {
            renewed = &mut renewing => renewed,
            () = controller(shutdown) => {
                drop(stop);
                renewing.await
            }
        };
        let (elector, lost) = renewed.expect("the lease renewal task panicked");
        metrics.set_leader(false);
        if lost {
            return Err(Error::Lost);
        }
        elector.release().await.map_err(Error::Release)?;
        info!(lease = elector.config.name, "released the lease");
        Ok(())
    }

    /// Election rounds every retry period until one wins the lease (`true`) or `shutdown` resolves
    /// between rounds (`false`).
    async fn acquire(&mut self, shutdown: impl Future<Output = ()>) -> bool {
        tokio::pin!(shutdown);
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    info!(
                        lease = self.config.name,
                        identity = self.config.identity,
                        "became the leader"
                    );
                    return true;
                }
                Ok(false) => {}
                Err(error) => {
                    warn!(%error, lease = self.config.name, "leader election round failed");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.retry_period) => {}
                () = &mut shutdown => return false,
            }
        }
    }

    /// Renewal rounds every retry period, from just after the lease was won, until leadership is lost
    /// (`true`) or `stop` resolves between rounds (`false`).
    async fn keep_leading(mut self, mut stop: oneshot::Receiver<()>) -> (Self, bool) {
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.config.retry_period) => {}
                _ = &mut stop => return (self, false),
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => {
                    warn!(
                        lease = self.config.name,
                        "lost the lease to another replica"
                    );
                    return (self, true);
                }
                Err(error) => {
                    warn!(%error, lease = self.config.name, "leader election round failed");
                    if renewed.elapsed() >= self.config.renew_deadline {
                        warn!(
                            lease = self.config.name,
                            "could not renew the lease in time"
                        );
                        return (self, true);
                    }
                }
            }
        }
    }

    fn acquired(&self, previous: LeaseSpec, now: Timestamp) -> LeaseSpec {
        let transitions = previous.lease_transitions.unwrap_or(0);
        let changed_hands = previous.holder_identity.is_some();
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_duration_seconds: Some(self.duration_seconds()),
            lease_transitions: Some(transitions + i32::from(changed_hands)),
            ..previous
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// The outcome of a create or replace: won, lost to a concurrent writer (409), or failed.
fn won<T>(result: Result<T, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PostParams::default()
    }
}

#[cfg(test)]
mod tests;
