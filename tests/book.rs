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

#[test]
fn the_book_builds_with_mdbook_and_every_link_and_player_resolves() {
    let out_dir = std::env::temp_dir().join(unique_tag("book"));
    let built = std::process::Command::new("mdbook")
        .args(["build", "book", "-d"])
        .arg(&out_dir)
        .current_dir(root())
        .output()
        .expect("mdbook is installed (.ci/run installs it)");
    assert!(built.status.success(), "{}", stderr(&built));
    let mut pages = 0;
    let mut checked = 0;
    let mut players = 0;
    let mut stack = vec![out_dir.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "html") {
                continue;
            }
            pages += 1;
            let html = std::fs::read_to_string(&path).unwrap();
            for attr in ["href=\"", "src=\""] {
                for link in html.split(attr).skip(1) {
                    let link = link.split('"').next().unwrap();
                    let target = link.split(['#', '?']).next().unwrap();
                    if target.is_empty()
                        || link.contains("://")
                        || link.starts_with("mailto:")
                        || link.starts_with("data:")
                        || link.starts_with("javascript:")
                    {
                        continue;
                    }
                    let resolved = path.parent().unwrap().join(target);
                    assert!(
                        resolved.exists(),
                        "{}: link {link} resolves to nothing",
                        path.display()
                    );
                    checked += 1;
                    if link.contains("players/") && attr == "src=\"" {
                        players += 1;
                    }
                }
            }
        }
    }
    // Every lesson's chapter embeds its player (mdBook writes each page
    // twice: as itself and in print.html).
    let lessons = sockstep::catalog::built_in().len();
    assert!(
        players >= lessons,
        "{players} players embedded, {lessons} lessons"
    );
    assert!(
        pages > lessons && checked > 100,
        "{pages} pages, {checked} links"
    );
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn every_lessons_chapter_leads_into_it_and_asks_questions_with_folded_answers() {
    for e in sockstep::catalog::built_in() {
        let name = format!("{:02}-{}", e.number, e.name);
        let prose = std::fs::read_to_string(root().join(format!("book/prose/{name}.md")))
            .unwrap_or_else(|_| panic!("book/prose/{name}.md is missing"));
        let (lead, questions) = prose
            .split_once("\n## Questions\n")
            .unwrap_or_else(|| panic!("{name}: no questions"));
        assert!(
            lead.split_whitespace().count() >= 25,
            "{name}: the lead-in is short"
        );
        let asked = questions
            .matches("<details><summary>Answer</summary>")
            .count();
        assert!(asked >= 2, "{name}: {asked} questions");
        let chapter =
            std::fs::read_to_string(root().join(format!("book/src/lessons/{name}.md"))).unwrap();
        assert!(
            chapter.contains(lead.trim()),
            "{name}: the chapter lacks its lead-in"
        );
        assert!(chapter.contains("## Questions"), "{name}");
        assert!(
            chapter.contains(&format!("sockstep run {}", e.name)),
            "{name}"
        );
        assert!(chapter.contains(&format!("players/{name}.html")), "{name}");
        assert!(chapter.contains(&format!("diagrams/{name}.svg")), "{name}");
    }
}
