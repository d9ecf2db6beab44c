//! The OpenTelemetry environment of data-plane containers
//! (as upstream's builders in `pkg/resource-handler/controller/` set it).
//!
//! Upstream falls back to the operator process's own `OTEL_*` environment
//! for unset fields. `render` reads no environment, so it passes an empty
//! fallback: set `spec.observability` to configure telemetry in Git. The
//! reconciler passes its environment, as upstream does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, Volume, VolumeMount};
use serde::Serialize;

use super::{config_map_volume, env, mount};
use crate::api::common::ObservabilityConfig;

pub const SAMPLING_VOLUME: &str = "otel-sampling-config";
pub const SAMPLING_DIR: &str = "/etc/otel";
const DEFAULT_SAMPLING_KEY: &str = "sampling-config.yaml";

/// What a container's telemetry settings come from.
#[derive(Debug, Clone, Copy)]
pub struct Otel<'a> {
    pub config: Option<&'a ObservabilityConfig>,
    /// The operator's own `OTEL_*` variables (empty when rendering).
    pub fallback: &'a BTreeMap<String, String>,
}

/// Who the telemetry is about (for `OTEL_RESOURCE_ATTRIBUTES`).
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub project: &'a str,
    pub cluster: &'a str,
    pub component: &'a str,
}

fn enum_text<T: Serialize>(value: &Option<T>) -> Option<String> {
    value
        .as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
}

impl Otel<'_> {
    fn value(&self, field: Option<String>, variable: &str) -> Option<String> {
        field.filter(|v| !v.is_empty()).or_else(|| {
            self.fallback
                .get(variable)
                .filter(|v| !v.is_empty())
                .cloned()
        })
    }

    /// The variables, in upstream's order; none when telemetry is off.
    pub fn env(&self, resource: Option<Resource<'_>>) -> Vec<EnvVar> {
        let c = self.config.cloned().unwrap_or_default();
        let endpoint = self.value(c.otlp_endpoint.clone(), "OTEL_EXPORTER_OTLP_ENDPOINT");
        let metrics_endpoint = self.value(
            c.otlp_metrics_endpoint.clone(),
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        );
        if endpoint.as_deref() == Some("disabled")
            || (endpoint.is_none() && metrics_endpoint.is_none())
        {
            return Vec::new();
        }
        let fields = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics_endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", enum_text(&c.otlp_protocol)),
            ("OTEL_TRACES_EXPORTER", enum_text(&c.traces_exporter)),
            ("OTEL_METRICS_EXPORTER", enum_text(&c.metrics_exporter)),
            ("OTEL_LOGS_EXPORTER", enum_text(&c.logs_exporter)),
            (
                "OTEL_METRIC_EXPORT_INTERVAL",
                c.metric_export_interval.clone(),
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                enum_text(&c.metrics_temporality),
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                enum_text(&c.histogram_aggregation),
            ),
            ("OTEL_TRACES_SAMPLER", c.traces_sampler.clone()),
        ];
        let mut vars: Vec<EnvVar> = fields
            .into_iter()
            .filter_map(|(name, field)| self.value(field, name).map(|v| env(name, v)))
            .collect();
        if let Some(resource) = resource {
            const OURS: [&str; 3] = [
                "multigres.project",
                "multigres.cluster",
                "multigres.component",
            ];
            let mut attributes: Vec<String> = self
                .fallback
                .get("OTEL_RESOURCE_ATTRIBUTES")
                .map(|a| {
                    a.split(',')
                        .filter(|kv| !kv.is_empty())
                        .filter(|kv| !OURS.contains(&kv.split('=').next().unwrap_or("").trim()))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            attributes.push(format!("multigres.project={}", resource.project));
            attributes.push(format!("multigres.cluster={}", resource.cluster));
            attributes.push(format!("multigres.component={}", resource.component));
            vars.push(env("OTEL_RESOURCE_ATTRIBUTES", attributes.join(",")));
        }
        if let Some(sampling) = &c.sampling_config_ref {
            let key = sampling
                .key
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or(DEFAULT_SAMPLING_KEY);
            vars.push(env(
                "OTEL_TRACES_SAMPLER_CONFIG",
                format!("{SAMPLING_DIR}/{key}"),
            ));
        }
        vars
    }

    /// The sampling ConfigMap volume, when one is configured.
    pub fn volume(&self) -> Option<Volume> {
        let sampling = self.config?.sampling_config_ref.as_ref()?;
        Some(config_map_volume(SAMPLING_VOLUME, &sampling.name))
    }

    pub fn mount(&self) -> Option<VolumeMount> {
        self.volume()
            .map(|_| mount(SAMPLING_VOLUME, SAMPLING_DIR, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::{OtelExporter, SamplingConfigRef};

    #[test]
    fn off_unless_an_endpoint_is_known() {
        let none = BTreeMap::new();
        assert!(
            Otel {
                config: None,
                fallback: &none
            }
            .env(None)
            .is_empty()
        );
        let disabled = ObservabilityConfig {
            otlp_endpoint: Some("disabled".into()),
            ..Default::default()
        };
        assert!(
            Otel {
                config: Some(&disabled),
                fallback: &none
            }
            .env(None)
            .is_empty()
        );
    }

    #[test]
    fn order_fallback_and_resource_attributes() {
        let config = ObservabilityConfig {
            otlp_endpoint: Some("http://collector:4318".into()),
            traces_exporter: Some(OtelExporter::Otlp),
            sampling_config_ref: Some(SamplingConfigRef {
                name: "sampling".into(),
                key: None,
            }),
            ..Default::default()
        };
        let fallback = BTreeMap::from([
            ("OTEL_LOGS_EXPORTER".to_owned(), "none".to_owned()),
            (
                "OTEL_RESOURCE_ATTRIBUTES".to_owned(),
                "team=db,multigres.cluster=old".to_owned(),
            ),
        ]);
        let otel = Otel {
            config: Some(&config),
            fallback: &fallback,
        };
        let vars: Vec<(String, String)> = otel
            .env(Some(Resource {
                project: "p",
                cluster: "c",
                component: "multiorch",
            }))
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect();
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_TRACES_EXPORTER",
                "OTEL_LOGS_EXPORTER",
                "OTEL_RESOURCE_ATTRIBUTES",
                "OTEL_TRACES_SAMPLER_CONFIG"
            ]
        );
        assert_eq!(
            vars[3].1,
            "team=db,multigres.project=p,multigres.cluster=c,multigres.component=multiorch"
        );
        assert_eq!(vars[4].1, "/etc/otel/sampling-config.yaml");
        assert!(otel.volume().is_some());
    }
}
