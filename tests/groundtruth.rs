//! The ground truth: every lesson and scenario's calls are made a second
//! way, as a plain program (tests/oracle/replay.py: one process per actor,
//! each call a blocking libc call) in a fresh namespace, and compared with
//! what sockstep reported: each return value, errno and fd, each call that
//! blocks, the TCP state of every socket, the flags of every packet.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// A fresh user and network namespace set up as sockstep sets up a run's
/// (lo up, quickack on its routes), running the replay of `events`.
fn replay(events: &Path, dir: &Path) -> Vec<String> {
    let script = format!(
        "ip link set lo up && \
         ip route replace local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 quickack 1 && \
         ip route replace local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 quickack 1 && \
         {{ ip -6 route del local ::1 dev lo table local; ip -6 route add local ::1 dev lo table local proto kernel quickack 1; }} 2>/dev/null; \
         exec python3 {} {}",
        root().join("tests/oracle/replay.py").display(),
        events.display()
    );
    // A replay that hangs (a call that waits where sockstep's did not)
    // ends the test rather than the suite.
    let out = Command::new("timeout")
        .args(["120", "unshare", "-Urn", "sh", "-c", &script])
        .current_dir(dir)
        .output()
        .expect("unshare, ip and python3 are installed");
    assert!(
        out.status.success(),
        "the replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// sockstep's JSON for `lesson`, in a file of `dir`.
fn events_of(lesson: &str, dir: &Path) -> std::path::PathBuf {
    let out = run_lesson(lesson, &["--format", "json"], &unique_tag("truth"));
    let path = dir.join("events.jsonl");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

#[test]
fn every_lesson_and_scenario_agrees_with_a_plain_program() {
    let mut lessons: Vec<String> = lesson_files().iter().map(|p| rel(p)).collect();
    let mut scenarios: Vec<String> = std::fs::read_dir(root().join("tests/scenarios"))
        .unwrap()
        .map(|e| rel(&e.unwrap().path()))
        .filter(|p| p.ends_with(".lesson"))
        .collect();
    scenarios.sort();
    lessons.extend(scenarios);
    let mut wrong = Vec::new();
    for lesson in &lessons {
        let dir = scratch("truth");
        let events = events_of(lesson, &dir);
        for m in replay(&events, &dir) {
            wrong.push(format!("{lesson}: {m}"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_replay_sees_a_result_that_is_not_the_kernels() {
    // The same run, told that the client's connect was refused: the plain
    // program's connect succeeds, and the replay says so.
    let dir = scratch("truth-doctored");
    let events = events_of("hello", &dir);
    let text = std::fs::read_to_string(&events).unwrap();
    let doctored: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("\"name\":\"connect\"") && l.contains("\"event\":\"call\"") {
                l.replace(
                    "\"outcome\":{\"kind\":\"returned\",\"ret\":0}",
                    "\"outcome\":{\"errno\":\"ECONNREFUSED\",\"errno_number\":111,\"kind\":\"failed\"}",
                )
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(
        doctored.join("\n"),
        text.trim_end(),
        "the connect was found"
    );
    std::fs::write(&events, doctored.join("\n") + "\n").unwrap();
    let found = replay(&events, &dir);
    assert!(
        found.iter().any(|m| m.contains("another result")),
        "{found:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
