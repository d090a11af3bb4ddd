//! `--format json` is a contract: every event of every lesson, scenario
//! and fixture validates against schema/events.schema.json, the start
//! event carries the version, and one lesson's output is snapshot-tested.

mod common;
use common::*;
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schema/events.schema.json"))
        .expect("schema/events.schema.json is in the repository");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn json_lines(lesson: &str, tag: &str) -> Vec<Value> {
    let out = run_lesson(lesson, &["--format", "json"], tag);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{lesson}: {e}: {l}")))
        .collect()
}

fn all_lessons() -> Vec<String> {
    let mut files: Vec<String> = lesson_files().iter().map(|p| rel(p)).collect();
    for dir in ["tests/scenarios", "tests/fixtures", "exercises"] {
        let mut more: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| rel(&e.unwrap().path()))
            .filter(|p| p.ends_with(".lesson"))
            .collect();
        more.sort();
        files.extend(more);
    }
    files
}

#[test]
fn every_event_of_every_lesson_validates_against_the_schema() {
    let validator = schema();
    let mut kinds = std::collections::BTreeSet::new();
    for lesson in all_lessons() {
        let events = json_lines(&lesson, &unique_tag("schema"));
        assert!(!events.is_empty(), "{lesson}: no events");
        // An exercise with a blank is a lesson error: one `error` event.
        if events[0]["event"] != "error" {
            assert_eq!(events[0]["event"], "start", "{lesson}");
            assert_eq!(events[0]["version"], sockstep::json::VERSION, "{lesson}");
        }
        for e in &events {
            let errors: Vec<String> = validator.iter_errors(e).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{lesson}: {e}\n{}", errors.join("\n"));
            kinds.insert(e["event"].as_str().unwrap_or_default().to_string());
        }
    }
    // The runs above show nearly every kind of event.
    for kind in [
        "start",
        "intro",
        "section",
        "call",
        "completed",
        "narration",
        "packets",
        "states",
        "table",
        "expect_failed",
        "crashed",
        "timer",
        "deadlock",
        "not_run",
        "exit",
        "finish",
    ] {
        assert!(kinds.contains(kind), "no lesson gave a `{kind}` event");
    }
}

#[test]
fn a_lesson_error_and_a_check_verdict_validate_too() {
    let validator = schema();
    let dir = std::env::temp_dir().join(unique_tag("json-error"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.lesson");
    std::fs::write(
        &bad,
        "lesson \"x\"\nactors a\na: sockett(AF_INET, SOCK_STREAM, 0)\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["run", bad.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(e["event"], "error");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(3), Some(4))
    );
    assert!(validator.is_valid(&e), "{e}");
    let out = std::process::Command::new(BIN)
        .args([
            "check",
            "exercises/01-listen-first.lesson",
            "--format",
            "json",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "check");
    assert!(validator.is_valid(&last), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ports the kernel picked, and raw sequence numbers and timers, differ
/// from run to run: they are named by first appearance or blanked.
fn normalize(v: &mut Value, ports: &mut Vec<u64>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match k.as_str() {
                    "port" | "real" => {
                        if let Some(p) = val.as_u64().filter(|p| *p >= 10000) {
                            let n = match ports.iter().position(|q| *q == p) {
                                Some(n) => n,
                                None => {
                                    ports.push(p);
                                    ports.len() - 1
                                }
                            };
                            *val = Value::String(format!("eph{}", n + 1));
                        }
                    }
                    "seq" | "ack" | "expires_ms" => *val = Value::String("…".into()),
                    _ => normalize(val, ports),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| normalize(i, ports)),
        _ => {}
    }
}

#[test]
fn the_json_of_hello_matches_its_snapshot() {
    let mut ports = Vec::new();
    let lines: Vec<String> = json_lines("hello", &unique_tag("json-snap"))
        .into_iter()
        .map(|mut e| {
            normalize(&mut e, &mut ports);
            serde_json::to_string(&e).unwrap()
        })
        .collect();
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("json-hello", lines.join("\n"));
    });
}
