//! Leader election on a `coordination.k8s.io` Lease, with client-go's
//! timings (15 s lease, renewal every 2 s, given up after 10 s without a
//! successful renewal) and release on shutdown, as controller-runtime's
//! `LeaderElectionReleaseOnCancel`. Writes use the Lease's resourceVersion,
//! so two replicas never both believe they hold it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Client, Error};

/// Upstream's lease name.
pub const LEASE_NAME: &str = "multigres-operator.multigres.com";
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

pub struct Elector {
    api: Api<Lease>,
    identity: String,
}

/// What one attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    Held,
    HeldByOther(String),
}

impl Elector {
    pub fn new(client: Client, namespace: &str, identity: String) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            identity,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Acquires or renews the lease once.
    pub async fn try_acquire(&self) -> Result<Attempt, Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.into()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held),
                // Another replica created it first.
                Err(Error::Api(status)) if status.code == 409 => {
                    Ok(Attempt::HeldByOther(String::new()))
                }
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renewed = spec.renew_time.as_ref().map(|t| t.0);
        let duration = i64::from(
            spec.lease_duration_seconds
                .unwrap_or(LEASE_DURATION.as_secs() as i32),
        );
        let expired = renewed.is_none_or(|t| now.duration_since(t).as_secs() >= duration);
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if holder == self.identity {
            let acquired = spec.acquire_time.map_or(now, |t| t.0);
            self.spec(acquired, now, transitions)
        } else if holder.is_empty() || expired {
            self.spec(now, now, transitions + 1)
        } else {
            return Ok(Attempt::HeldByOther(holder));
        };
        lease.spec = Some(new_spec);
        match self
            .api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Attempt::Held),
            // Someone else wrote it since we read it.
            Err(Error::Api(status)) if status.code == 409 => Ok(Attempt::HeldByOther(holder)),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up so a standby takes over at once, not after the
    /// lease expires. False if it was not ours to give (lost, or gone).
    pub async fn release(&self) -> Result<bool, Error> {
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            return Ok(false);
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.api
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
            .map(|_| true)
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}
