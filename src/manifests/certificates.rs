//! cert-manager Certificates for internal mTLS and the gateway's public TLS
//! (as upstream's `pkg/cert` requests them).

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Built, internal_tls_name};
use crate::labels;

pub const API_VERSION: &str = "cert-manager.io/v1";
pub const KIND: &str = "Certificate";
/// The Secret cert-manager writes the gateway's public certificate into.
pub const PUBLIC_SECRET: &str = "generated-certs";
const ISSUER: &str = "supabase-issuer";
const DURATION: &str = "44640h0m0s";
const COMPONENTS: [&str; 4] = ["multiadmin", "multigateway", "multiorch", "multipooler"];

/// The Certificates of a cluster: four internal ones with internal TLS, one
/// public one with a certificate common name.
pub fn build(
    cluster: &str,
    namespace: &str,
    internal_tls: bool,
    common_name: Option<&str>,
) -> Vec<Built> {
    let mut out = Vec::new();
    if internal_tls {
        for component in COMPONENTS {
            let name = internal_tls_name(component, cluster, namespace);
            let mut dns_names = vec![name.clone()];
            if component == "multigateway" {
                dns_names.push(internal_tls_name("multipooler", cluster, namespace));
            }
            let usages = [
                "digital signature",
                "key encipherment",
                "server auth",
                "client auth",
            ];
            out.push(certificate(
                cluster, namespace, &name, &name, dns_names, &usages,
            ));
        }
    }
    if let Some(cn) = common_name.filter(|cn| !cn.is_empty()) {
        let mut dns_names = vec![cn.to_owned()];
        if let Some(bare) = cn.strip_prefix("db.") {
            dns_names.push(bare.to_owned());
        }
        let usages = ["digital signature", "key encipherment", "server auth"];
        out.push(certificate(
            cluster,
            namespace,
            cn,
            PUBLIC_SECRET,
            dns_names,
            &usages,
        ));
    }
    out
}

fn certificate(
    cluster: &str,
    namespace: &str,
    name: &str,
    secret: &str,
    dns_names: Vec<String>,
    usages: &[&str],
) -> Built {
    let cn = subject_common_name(&dns_names[0]);
    // Upstream's Certificates carry no labels; ours carry the standard ones so
    // that a later render recognises and replaces them.
    let labels = labels::with(
        labels::standard(cluster, "certificate"),
        &[(labels::CLUSTER, cluster)],
    );
    let value = json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "secretName": secret,
            "dnsNames": dns_names,
            "duration": DURATION,
            "literalSubject": format!("C=US, ST=Delware, L=New Castle,O=Supabase Inc, CN={cn}"),
            "issuerRef": {"name": ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "privateKey": {"algorithm": "RSA", "size": 2048},
            "usages": usages,
        },
    });
    Built {
        kind: KIND,
        api_version: API_VERSION,
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        value,
    }
}

/// X.509 limits a CN to 64 bytes: a longer one keeps 55 characters, then
/// `-` and 8 hex digits of its SHA-256.
fn subject_common_name(cn: &str) -> String {
    if cn.len() <= 64 {
        return cn.to_owned();
    }
    let digest = Sha256::digest(cn.as_bytes());
    let prefix: String = cn.chars().take(55).collect();
    format!(
        "{prefix}-{}",
        digest[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_and_public() {
        let certs = build("c", "ns", true, Some("db.example.com"));
        let names: Vec<&str> = certs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "multiadmin.c.ns.multigres.internal",
                "multigateway.c.ns.multigres.internal",
                "multiorch.c.ns.multigres.internal",
                "multipooler.c.ns.multigres.internal",
                "db.example.com"
            ]
        );
        assert_eq!(
            certs[1].value["spec"]["dnsNames"][1],
            "multipooler.c.ns.multigres.internal"
        );
        assert_eq!(
            certs[4].value["spec"]["dnsNames"],
            json!(["db.example.com", "example.com"])
        );
        assert_eq!(certs[4].value["spec"]["secretName"], "generated-certs");
        assert!(build("c", "ns", false, None).is_empty());
    }

    #[test]
    fn long_common_names_are_shortened() {
        let cn = "a".repeat(70);
        let short = subject_common_name(&cn);
        assert_eq!(short.len(), 64);
        assert!(short.starts_with(&"a".repeat(55)));
    }
}
