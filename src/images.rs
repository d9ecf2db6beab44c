//! The image set: which image each component runs when the cluster does not
//! pin one. A compiled-in default set, overridden by `--image` flags or an
//! images file kept in Git (never by the environment, so renders are
//! reproducible).

use std::collections::BTreeMap;
use std::fmt;

use crate::diagnostics::{self as codes, InputError};

use sha2::{Digest, Sha256};

/// Components with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Multigateway,
    Multiorch,
    Multipooler,
    Multiadmin,
    MultiadminWeb,
    /// pgctld with PostgreSQL 17 and pgBackRest.
    Postgres,
    Etcd,
    PostgresExporter,
}

impl Component {
    /// Every component: first the six the operator chooses images for, in
    /// upstream's order (its applied-images annotation), then etcd and the
    /// exporter.
    pub const ALL: [Component; 8] = [
        Component::Multigateway,
        Component::Multiorch,
        Component::Multipooler,
        Component::Multiadmin,
        Component::MultiadminWeb,
        Component::Postgres,
        Component::Etcd,
        Component::PostgresExporter,
    ];

    /// The six whose images the operator chooses (and records, and counts
    /// in the revision): multigateway, multiorch, multipooler, multiadmin,
    /// multiadminWeb, postgres.
    pub fn operator_managed() -> &'static [Component] {
        &Self::ALL[..6]
    }

    /// The key used in `spec.images`, `--image` and images files.
    pub fn key(self) -> &'static str {
        match self {
            Component::Multigateway => "multigateway",
            Component::Multiorch => "multiorch",
            Component::Multipooler => "multipooler",
            Component::Multiadmin => "multiadmin",
            Component::MultiadminWeb => "multiadminWeb",
            Component::Postgres => "postgres",
            Component::Etcd => "etcd",
            Component::PostgresExporter => "postgresExporter",
        }
    }

    pub fn from_key(key: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The upstream operator's compiled-in image (upstream's
    /// `api/v1alpha1/image_defaults.go`).
    pub fn default_image(self) -> &'static str {
        match self {
            Component::Multigateway
            | Component::Multiorch
            | Component::Multipooler
            | Component::Multiadmin => "ghcr.io/multigres/multigres:sha-66d2310",
            Component::MultiadminWeb => "ghcr.io/multigres/multiadmin-web:sha-64da1ab",
            Component::Postgres => "ghcr.io/multigres/pgctld:sha-66d2310",
            Component::Etcd => "gcr.io/etcd-development/etcd:v3.6.7",
            Component::PostgresExporter => "quay.io/prometheuscommunity/postgres-exporter:v0.20.1",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One image and where it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub image: String,
    /// `compiled-in default`, `--image flag`, `images file images.yaml:3`.
    pub from: String,
}

/// The images of every component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    images: BTreeMap<Component, Chosen>,
}

impl Default for ImageSet {
    fn default() -> Self {
        let images = Component::ALL
            .into_iter()
            .map(|c| {
                let chosen = Chosen {
                    image: c.default_image().into(),
                    from: "compiled-in default".into(),
                };
                (c, chosen)
            })
            .collect();
        Self { images }
    }
}

impl ImageSet {
    pub fn get(&self, component: Component) -> &Chosen {
        // Every component is present from construction on.
        &self.images[&component]
    }

    pub fn image(&self, component: Component) -> &str {
        &self.get(component).image
    }

    pub fn set(&mut self, component: Component, image: impl Into<String>, from: impl Into<String>) {
        self.images.insert(
            component,
            Chosen {
                image: image.into(),
                from: from.into(),
            },
        );
    }

    /// Applies `COMPONENT=REF` from the command line (`--image`, or
    /// another front end's option named `place`).
    pub fn apply_flag(&mut self, flag: &str) -> Result<(), InputError> {
        self.apply_entry("--image", flag, "--image flag")
    }

    /// Applies `COMPONENT=REF` given by the option or parameter `place`;
    /// `from` is what `explain` says supplied the image.
    pub fn apply_entry(&mut self, place: &str, entry: &str, from: &str) -> Result<(), InputError> {
        let invalid = |message: String| InputError::new(place, codes::IMAGES, message);
        let (key, image) = entry
            .split_once('=')
            .ok_or_else(|| invalid(format!("{entry:?}: expected COMPONENT=IMAGE")))?;
        let component = component_for(key.trim()).map_err(|(m, h)| invalid(m).hint(h))?;
        check_reference(image.trim()).map_err(invalid)?;
        self.set(component, image.trim(), from);
        Ok(())
    }

    /// Applies an images file: a YAML mapping from component to image.
    pub fn apply_file(&mut self, name: &str, text: &str) -> Result<(), InputError> {
        let limits = crate::yaml::Limits::default();
        let docs = crate::yaml::parse_stream(text, &limits).map_err(|err| {
            let code = if err.limit.is_some() {
                codes::INPUT_LIMIT
            } else {
                codes::YAML_SYNTAX
            };
            InputError::new(name, code, err.message).at(err.pos)
        })?;
        let invalid = |message: &str| {
            InputError::new(name, codes::IMAGES, message.into())
                .hint("write one mapping such as `multiorch: registry.example/multiorch:v1`")
        };
        let [doc] = docs.as_slice() else {
            return Err(invalid(
                "expected one YAML document mapping components to images",
            ));
        };
        let Some(map) = doc.value.as_object() else {
            return Err(invalid("expected a mapping from component to image"));
        };
        for (key, value) in map {
            let key_pos = doc.spans.key_pos(&format!("/{key}"));
            let value_pos = doc.spans.value_pos(&format!("/{key}"));
            let component = component_for(key).map_err(|(message, hint)| {
                InputError::new(name, codes::IMAGES, message)
                    .at(key_pos)
                    .hint(hint)
            })?;
            let image = value.as_str().ok_or_else(|| {
                InputError::new(
                    name,
                    codes::IMAGES,
                    format!("the image of {key} must be a string"),
                )
                .at(value_pos)
            })?;
            check_reference(image)
                .map_err(|message| InputError::new(name, codes::IMAGES, message).at(value_pos))?;
            let place = format!("{name}:{}:{}", key_pos.line, key_pos.col);
            self.set(component, image, format!("images file {place}"));
        }
        Ok(())
    }

    /// The upstream image-set revision: SHA-256 over the sorted
    /// `component=image` lines of the six operator-managed components, 12 hex
    /// digits (as upstream's `pkg/images` computes it).
    pub fn revision(&self) -> String {
        // Upstream's keys are lowercase (`multiadminweb`).
        let mut lines: Vec<String> = Component::operator_managed()
            .iter()
            .map(|c| format!("{}={}", c.key().to_lowercase(), self.image(*c)))
            .collect();
        lines.sort();
        let digest = Sha256::digest(lines.join("\n").as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..12]
            .to_owned()
    }
}

/// The component named `key`, or a message and a hint.
fn component_for(key: &str) -> Result<Component, (String, String)> {
    Component::from_key(key).ok_or_else(|| {
        let keys: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
        let hint = crate::diagnostics::did_you_mean(key, keys.iter().copied())
            .map(|k| format!("did you mean {k}? "))
            .unwrap_or_default();
        (
            format!("unknown component {key:?}"),
            format!("{hint}components are {}", keys.join(", ")),
        )
    })
}

fn check_reference(image: &str) -> Result<(), String> {
    let valid = !image.is_empty()
        && image.len() <= 512
        && !image.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{image:?} is not an image reference (at most 512 characters, no spaces or control characters)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_revision_matches_upstream() {
        assert_eq!(ImageSet::default().revision(), "51818592d94d");
    }

    #[test]
    fn flags_and_files() {
        let mut set = ImageSet::default();
        set.apply_flag("multiorch=example.com/orch:1").unwrap();
        assert_eq!(set.image(Component::Multiorch), "example.com/orch:1");
        assert_eq!(set.get(Component::Multiorch).from, "--image flag");
        let err = set.apply_flag("multiorc=x").unwrap_err();
        assert!(err.to_string().contains("did you mean multiorch?"), "{err}");
        assert!(
            err.to_string().starts_with("--image: error[MG020]"),
            "{err}"
        );
        assert!(set.apply_flag("postgres").is_err());
        set.apply_file(
            "images.yaml",
            "# pinned\npostgres: example.com/pg:17\netcd: example.com/etcd:3\n",
        )
        .unwrap();
        assert_eq!(
            set.get(Component::Postgres).from,
            "images file images.yaml:2:1"
        );
        assert_eq!(set.image(Component::Etcd), "example.com/etcd:3");
        let err = set
            .apply_file("images.yaml", "postgres: [a]\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("images.yaml:1:11: error[MG020]:"),
            "{err}"
        );
    }
}
