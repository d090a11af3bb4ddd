//! Every exercise fails as given and passes once solved; `sockstep check`
//! shows progress, hints and a verdict.

mod common;
use common::*;
use std::process::Command;

fn check(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("check")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn exercises() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("exercises"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lesson"))
        .collect();
    names.sort();
    names
}

#[test]
fn each_exercise_fails_as_given_and_passes_solved() {
    let names = exercises();
    assert!(names.len() >= 8, "at least 8 exercises: {names:?}");
    for name in names {
        let given = check(&[&format!("exercises/{name}")]);
        assert_eq!(
            given.status.code(),
            Some(1),
            "{name} passes as given:\n{}",
            stdout(&given)
        );
        assert!(
            stdout(&given).contains("✗ not yet"),
            "{name}: {}",
            stdout(&given)
        );
        let solved = check(&[&format!("tests/solutions/{name}")]);
        assert_eq!(
            solved.status.code(),
            Some(0),
            "{name}'s solution fails:\n{}{}",
            stdout(&solved),
            stderr(&solved)
        );
        assert!(
            stdout(&solved).contains("done, it does what its goal says"),
            "{name}"
        );
        let hint = check(&[&format!("exercises/{name}"), "--hint"]);
        assert!(stdout(&hint).starts_with("hint: "), "{name} has no hint");
    }
}

#[test]
fn check_without_a_file_shows_progress() {
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let n = exercises().len();
    assert!(
        text.contains(&format!("0 of {n} exercises done.")),
        "{text}"
    );
    assert!(
        text.contains("Next: sockstep check exercises/01-"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("✗ exercises/"))
            .count(),
        n
    );
}

#[test]
fn check_stops_showing_the_run_where_it_goes_wrong_and_speaks_json() {
    let out = check(&["exercises/01-listen-first.lesson"]);
    let text = stdout(&out);
    assert!(text.contains("✗ expected 0, but it failed with"), "{text}");
    assert!(
        text.contains("not yet: at step 4, it failed with ECONNREFUSED"),
        "{text}"
    );
    // The server's steps after the failed connect are not drawn.
    assert!(!text.contains("c = accept(3)"), "{text}");
    let json = check(&["exercises/01-listen-first.lesson", "--format", "json"]);
    let last: serde_json::Value =
        serde_json::from_str(stdout(&json).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "check");
    assert_eq!(last["done"], false);
}

#[test]
fn a_lesson_error_is_json_too() {
    let out = check(&["exercises/05-backlog.lesson", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines[0]["event"], "error");
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["column"].as_u64()),
        (Some(9), Some(19))
    );
    assert_eq!(lines[1]["event"], "check");
}
