//! Docs that must follow the code.

use multigres::api::rules;
use multigres::compile::diagnostics::CODES;
use multigres::compile::emit::KIND_ORDER;

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
