//! The book's generated chapters are what the lessons give today.

mod common;
use common::*;

#[test]
fn the_book_is_up_to_date_with_the_lessons() {
    let chapters = sockstep::book::chapters(std::path::Path::new(BIN)).unwrap();
    let src = root().join("book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    for (name, text) in chapters {
        let on_disk = std::fs::read_to_string(src.join(&name)).unwrap_or_default();
        assert!(
            on_disk == text,
            "book/src/{name} is out of date: run `cargo run -- book book/src`"
        );
        if name.starts_with("lessons/") && name != "lessons/README.md" {
            assert!(summary.contains(&name), "SUMMARY.md does not list {name}");
        }
    }
}

#[test]
fn the_reference_lists_every_call_of_the_table_with_its_c_signature() {
    let calls = std::fs::read_to_string(root().join("book/src/reference/calls.md")).unwrap();
    for c in sockstep::calls::CALLS {
        assert!(calls.contains(&format!("## {}\n", c.word)), "{}", c.word);
        assert!(calls.contains(&format!("- C: `{}`", c.c)), "{}", c.word);
        assert!(
            calls.contains(&format!("- sockstep: `{}`", c.plain)),
            "{}",
            c.word
        );
    }
}

#[test]
fn the_readme_names_every_kind_of_explanation_the_json_gives() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let kinds = sockstep::json::WHY_KINDS
        .iter()
        .chain(sockstep::json::EOF_KINDS)
        .chain(sockstep::json::RST_CAUSES);
    for kind in kinds {
        assert!(
            readme.contains(&format!("`{kind}`")),
            "README lacks `{kind}`"
        );
    }
}
