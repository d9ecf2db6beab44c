//! `crds/` (what `multigres crds` prints, one file per kind) and
//! `src/api/schemas/`, the schemas the validator embeds because generating
//! them at run time is slow (descriptions dropped).

use multigres::api::{Kind, crd};

use super::File;

pub fn files() -> Vec<File> {
    let mut files = Vec::new();
    for kind in Kind::ALL {
        files.push(File::new(
            format!("crds/{}", crd::file_name(kind)),
            crd::yaml(kind),
        ));
        let schema = serde_json::to_string(&crd::generate_schema(kind))
            .unwrap_or_else(|e| panic!("serialising the {kind:?} schema: {e}"));
        files.push(File::new(
            format!("src/api/schemas/{}.json", crd::plural(kind)),
            schema + "\n",
        ));
    }
    files
}
