//! Docs that must follow the code.

use multigres::api::rules;
use multigres::compile::diagnostics::CODES;
use multigres::compile::emit::KIND_ORDER;

use crate::generators::Target;
use crate::support::generated::assert_up_to_date;

fn doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn validation_doc_lists_every_code() {
    let text = doc("validation.md");
    for code in CODES {
        let row = format!(
            "| `{}` | {} | {} |",
            code.code,
            format!("{:?}", code.severity).to_lowercase(),
            code.summary
        );
        assert!(
            text.contains(&row),
            "docs/validation.md lacks the row {row}"
        );
    }
    for rule in rules::ALL {
        assert!(
            text.contains(&format!("| `{}` |", rule.code)),
            "docs/validation.md lacks {}",
            rule.code
        );
        assert!(
            text.contains(rule.message),
            "docs/validation.md lacks the message of {}",
            rule.code
        );
    }
}

#[test]
fn cli_doc_lists_the_kind_order() {
    let text = doc("cli.md");
    let listed = KIND_ORDER
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        text.contains(&listed),
        "docs/cli.md must list the kind order: {listed}"
    );
}

#[test]
fn objects_doc_is_generated_from_the_golden_file() {
    assert_up_to_date(Target::ObjectsDoc);
}

#[test]
fn limits_doc_states_the_defaults_of_the_code() {
    let text = doc("limits.md");
    let limits = multigres::compile::InputLimits::default();
    for (budget, value) in [
        ("Bytes read, over all inputs", limits.max_input_bytes),
        ("Objects in the inputs", limits.max_objects),
        ("Nesting depth", limits.yaml.max_depth),
        (
            "Nodes produced by alias expansion",
            limits.yaml.max_alias_nodes,
        ),
        ("Nodes per input", limits.yaml.max_nodes),
        ("Documents per input", limits.yaml.max_documents),
    ] {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("| {budget}")))
            .unwrap_or_else(|| panic!("docs/limits.md has no row for {budget:?}"));
        assert!(
            row.contains(&format!("| {value}")),
            "docs/limits.md states another default for {budget:?} than {value}: {row}"
        );
    }
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped,
/// spaces turned into hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown file's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

#[test]
fn links_between_docs_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for target in link.captures_iter(&text).map(|c| c[1].to_owned()) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            assert!(
                linked.exists(),
                "{}: link to {target}: no such file",
                file.display()
            );
            if !fragment.is_empty() {
                let text = std::fs::read_to_string(&linked).unwrap();
                assert!(
                    anchors(&text).iter().any(|a| a == fragment),
                    "{}: link to {target}: no such heading",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}

#[test]
fn the_generate_command_documents_every_target() {
    let script =
        std::fs::read_to_string(format!("{}/scripts/generate", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let development = doc("development.md");
    for target in Target::ALL {
        assert!(
            script.contains(&format!("{} (", target.name())),
            "scripts/generate does not describe the target {}",
            target.name()
        );
        assert!(
            development.contains(&format!("`{}`", target.command())),
            "docs/development.md does not list `{}`",
            target.command()
        );
    }
}
