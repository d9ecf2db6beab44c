//! Errors and warnings about the inputs, each with a stable code, the place in
//! the input it is about, the field path, and a hint.

use std::fmt;

use crate::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding about the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code (`MG010`), listed in [`CODES`] or in `api::rules`.
    pub code: &'static str,
    pub message: String,
    /// Display name of the input file (`-` for stdin).
    pub file: String,
    pub pos: Pos,
    /// The object and field the finding is about, e.g.
    /// `MultigresCluster default/minimal: spec.cells[0].zoneId`.
    pub field: Option<String>,
    pub hint: Option<String>,
    /// The object and field, structured (for KRM results).
    pub subject: Option<Subject>,
}

/// The object (of our API group) a diagnostic is about, and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `spec.cells[0].zoneId`; empty for the object as a whole.
    pub field: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file,
            self.pos.line,
            self.pos.col,
            self.severity.as_str(),
            self.code,
            self.message
        )?;
        if let Some(field) = &self.field {
            write!(f, "\n  field: {field}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// A problem with an input as a whole rather than a place in a document: a
/// file that cannot be read, an environment variable or a parameter of a
/// plugin. Printed in the diagnostics' form without a line,
/// `PLACE: error[CODE]: message`, or with one when `pos` is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// A file's path, or the name of a variable or parameter.
    pub place: String,
    pub pos: Option<Pos>,
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(place: impl Into<String>, code: &'static str, message: String) -> Self {
        Self {
            place: place.into(),
            pos: None,
            code,
            message,
            hint: None,
        }
    }

    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.col)?;
        }
        write!(f, ": error[{}]: {}", self.code, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every diagnostic of one run, sorted by file, position and code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Sorts for stable output and drops exact repeats (a rule on a type that
    /// appears twice in a schema path can fire twice for one node). In each
    /// file, the reading and schema errors (`MG0xx`: syntax, unknown fields,
    /// wrong types) come first: they are the usual cause of the rule errors
    /// after them (a mistyped `zoneID` leaves `zoneId` unset).
    pub fn finish(mut self) -> Self {
        fn key(d: &Diagnostic) -> (&str, bool, Pos, Severity, &str, &str) {
            let is_rule = !d.code.starts_with("MG0");
            (&d.file, is_rule, d.pos, d.severity, d.code, &d.message)
        }
        self.0.sort_by(|a, b| key(a).cmp(&key(b)));
        self.0.dedup();
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The candidate closest to `word`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lowered = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&lowered, &c.to_ascii_lowercase());
            (distance, c)
        })
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// A code the compiler reports, with what it means.
#[derive(Debug)]
pub struct Code {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        $(pub const $name: &str = $code;)*
        /// Every code except the CEL rule codes (`api::rules::ALL`).
        pub const CODES: &[Code] = &[$(Code { code: $code, severity: Severity::$severity, summary: $summary }),*];
    };
}

codes! {
    YAML_SYNTAX = "MG001", Error, "the input is not valid YAML";
    INPUT_LIMIT = "MG002", Error, "the input exceeds a size, depth, alias or count budget";
    UNREADABLE = "MG003", Error, "the input cannot be read or is not UTF-8 text";
    NOT_AN_OBJECT = "MG004", Error, "a document is not a Kubernetes object (apiVersion, kind, metadata.name)";
    DUPLICATE_OBJECT = "MG005", Error, "two objects have the same kind, namespace and name";
    NO_NAMESPACE = "MG006", Error, "an object has no namespace and none was given with --namespace";
    HAND_WRITTEN_CHILD = "MG007", Error, "a Cell, TableGroup, Shard or TopoServer that was not generated";
    UNKNOWN_VERSION = "MG008", Error, "an object of the multigres.com group with an unknown version";
    UNKNOWN_FIELD = "MG010", Error, "a field the schema does not define";
    WRONG_TYPE = "MG011", Error, "a value of the wrong type";
    REQUIRED = "MG012", Error, "a required field is missing";
    NOT_IN_ENUM = "MG013", Error, "a value outside the allowed set";
    PATTERN = "MG014", Error, "a string that does not match the required pattern";
    LENGTH = "MG015", Error, "a string that is too short or too long";
    RANGE = "MG016", Error, "a number outside its allowed range";
    COUNT = "MG017", Error, "a list or map with too few or too many entries";
    DUPLICATE_ITEM = "MG018", Error, "a list holds the same entry (or key) twice";
    INVALID_METADATA = "MG019", Error, "invalid object metadata (name, namespace, labels)";
    IMAGES = "MG020", Error, "an image override (images file, --image, plugin or function option) is invalid";
    PLUGIN_CONTRACT = "MG021", Error, "an environment variable or parameter the Argo CD plugin reads is invalid";
    TEMPLATE_NOT_FOUND = "MG201", Error, "a referenced template is not among the inputs";
    PG_UNKNOWN_PARAMETER = "MG202", Error, "postgresConfig names a parameter PostgreSQL 17 does not have";
    PG_MANAGED_PARAMETER = "MG203", Error, "postgresConfig sets a parameter the operator manages";
    PG_BAD_VALUE = "MG204", Error, "a postgresConfig value of the wrong type";
    ETCD_SINGLE_REPLICA = "MG206", Warning, "etcd with one replica has no fault tolerance";
    EXTERNAL_NO_IPS = "MG207", Warning, "external exposure without externalIPs needs a load balancer";
    EXTERNAL_BAD_IP = "MG208", Error, "an externalIPs entry is not an IP address";
    LIMIT_BELOW_REQUEST = "MG209", Error, "a resource limit is below its request";
    GATEWAY_BUFFER = "MG210", Error, "invalid gateway buffer durations";
    ORPHAN_POOL_OVERRIDE = "MG211", Warning, "an override adds a pool the template does not have";
    INVALID_POOL_NAME = "MG212", Error, "a pool name is not a DNS label of at most 25 characters";
    NO_CELLS = "MG213", Error, "a shard or pool runs in no cell";
    UNKNOWN_CELL = "MG214", Error, "a shard or pool names a cell the cluster does not have";
    DURABILITY = "MG215", Warning, "a pool cannot meet the durability policy";
    RUN_AS_MISMATCH = "MG216", Error, "postgres and multipooler run as different users";
    SHARED_RWO_BACKUP = "MG217", Warning, "several poolers mount one ReadWriteOnce backup volume";
    IMPLICIT_REPLICAS = "MG218", Warning, "replicasPerCell is derived from the cell count";
    STORAGE_SHRINK = "MG219", Error, "a volume shrinks (pool storage, PersistentVolumeClaim request, etcd storage)";
    ETCD_REPLICAS_CHANGED = "MG220", Error, "the etcd replica count changes after creation";
    BAD_QUANTITY = "MG221", Error, "a value is not a valid Kubernetes quantity or Go duration";
    CONFIG_REF_MISSING = "MG222", Error, "the ConfigMap a postgresConfigRef names is not among the inputs";
    SERVICE_NAME = "MG223", Error, "the cluster's name cannot begin a Service name";
    KUBERNETES_SYNTAX = "MG224", Error, "a value used as a label, annotation key, node selector or object name lacks the syntax Kubernetes requires there";
    // The changes `render --check` judges between two renders (gitops::check).
    CELL_REMOVED = "MG301", Error, "a cell of a cluster is removed (cells can only be added)";
    SHARD_REMOVED = "MG302", Error, "a shard of a cluster is removed (shards can only be added)";
    POOL_REMOVED = "MG303", Error, "a pool of a shard is removed or renamed (pools can only be added)";
    POOL_CELL_REMOVED = "MG304", Error, "a cell is removed from a pool (a pool's cells can only be added)";
    BACKUP_ENCRYPTION_CHANGED = "MG305", Error, "backup encryption of a shard or tablegroup is added, removed or changed";
    SELECTOR_CHANGED = "MG308", Error, "the selector of a Deployment or StatefulSet changes (immutable)";
    STATEFULSET_IMMUTABLE = "MG309", Error, "an immutable StatefulSet field changes (serviceName, volumeClaimTemplates, podManagementPolicy)";
    PVC_IMMUTABLE = "MG310", Error, "an immutable PersistentVolumeClaim field changes (storageClassName, accessModes, volumeName)";
    SERVICE_CLUSTER_IP = "MG311", Error, "a Service's clusterIP changes, or it becomes or stops being headless";
    SERVICE_SELECTOR_CHANGED = "MG312", Warning, "a Service's selector changes while the running pods do not carry its new labels yet";
    CLUSTER_REMOVED = "MG313", Error, "a whole MultigresCluster is removed or renamed (its databases would be deleted)";
}

/// The entry of `code`, if it is one of [`CODES`].
pub fn code_info(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}
