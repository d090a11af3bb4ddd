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
    }
}

#[test]
fn check_without_a_file_shows_progress_by_title() {
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1), "not all done: not 0");
    let text = stdout(&out);
    let n = exercises().len();
    assert!(
        text.contains(&format!("0 of {n} exercises done.")),
        "{text}"
    );
    assert!(text.contains("✗  1  Listen first"), "{text}");
    assert!(
        text.contains("Next: sockstep check exercises/01-listen-first.lesson"),
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("✗ ")).count(), n);
}

/// A fresh folder, with the exercises `sockstep exercises` wrote in it.
fn copy(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_tag(tag));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(BIN)
        .args(["exercises", "mine"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("wrote 9 exercises to mine"),
        "{}",
        stdout(&out)
    );
    dir.join("mine")
}

fn check_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("check")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn a_copy_anywhere_checks_and_counts_until_all_are_done() {
    let dir = copy("ex-copy");
    let first = check_in(&dir, &[]);
    assert_eq!(first.status.code(), Some(1));
    assert!(stdout(&first).contains("Next: sockstep check 01-listen-first.lesson"));
    // The student's work is kept when the copy is made again.
    std::fs::write(dir.join("01-listen-first.lesson"), "mine").unwrap();
    let again = Command::new(BIN)
        .args(["exercises", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        stdout(&again).contains("wrote 0 exercises"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("01-listen-first.lesson")).unwrap(),
        "mine"
    );
    for name in exercises() {
        std::fs::copy(root().join("tests/solutions").join(&name), dir.join(&name)).unwrap();
    }
    let done = check_in(&dir, &[]);
    let text = stdout(&done);
    assert_eq!(done.status.code(), Some(0), "{text}");
    assert!(text.contains("9 of 9 exercises done."), "{text}");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn a_goal_is_checked_by_what_the_run_did_not_by_the_file() {
    let dir = copy("ex-gamed");
    let solved =
        std::fs::read_to_string(root().join("tests/solutions/03-who-speaks-first.lesson")).unwrap();
    let file = dir.join("03-who-speaks-first.lesson");
    // Cut down to its first 11 lines: no send, no recv, every line holds.
    let cut: String = solved.lines().take(11).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, cut).unwrap();
    let out = check_in(&dir, &["03-who-speaks-first.lesson"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("14 of 14") || text.contains("of 7 steps ran"),
        "{text}"
    );
    assert!(
        text.contains("✗ not yet: the server's recv() never received \"the question\""),
        "{text}"
    );
    // The server speaks first: no deadlock, every line holds, the wrong
    // protocol.
    let swapped = solved
        .replace(
            "client: send(s, \"the question\")                  => 12\n",
            "",
        )
        .replace(
            "server: recv(c, 100)                             => \"the question\"\n",
            "",
        )
        .replace(
            "client: recv(s, 100)                             => \"the answer\"\n",
            "client: recv(s, 100)                             => \"the answer\"\n\
             client: send(s, \"the question\")                  => 12\n\
             server: recv(c, 100)                             => \"the question\"\n",
        );
    assert_ne!(swapped, solved);
    std::fs::write(&file, &swapped).unwrap();
    let out = check_in(&dir, &["03-who-speaks-first.lesson"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the run went as the lesson expects"),
        "{text}"
    );
    assert!(
        text.contains(
            "✗ not yet: the client's send() succeeded only after the server's send() succeeded"
        ),
        "{text}"
    );
    std::fs::write(&file, &solved).unwrap();
    assert_eq!(
        check_in(&dir, &["03-who-speaks-first.lesson"])
            .status
            .code(),
        Some(0)
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn hints_come_one_at_a_time_and_are_not_in_the_file() {
    let dir = copy("ex-hints");
    let file = "03-who-speaks-first.lesson";
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let first = stdout(&check_in(&dir, &[file, "--hint"]));
    assert!(first.starts_with("hint 1 of 2: "), "{first}");
    assert!(first.contains("Ask again for the next"), "{first}");
    let second = stdout(&check_in(&dir, &[file, "--hint"]));
    assert!(second.starts_with("hint 2 of 2: "), "{second}");
    assert!(second.contains("move its send above its recv"), "{second}");
    assert!(!text.contains("move its send"), "the answer is in the file");
    let third = stdout(&check_in(&dir, &[file, "--hint"]));
    assert!(
        third.starts_with("hint 2 of 2: ") && third.contains("the last hint"),
        "{third}"
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn watch_checks_again_on_save_and_moves_on() {
    use std::io::BufRead;
    let dir = copy("ex-watch");
    let mut child = Command::new(BIN)
        .arg("watch")
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str| {
        let mut seen = String::new();
        loop {
            match rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(l) if l.contains(what) => return seen,
                Ok(l) => {
                    seen.push_str(&l);
                    seen.push('\n');
                }
                Err(_) => panic!("never printed {what:?}:\n{seen}"),
            }
        }
    };
    wait_for("── sockstep watch: 01-listen-first.lesson");
    let seen = wait_for("Watching");
    assert!(seen.contains("✗ not yet"), "{seen}");
    let solved = root().join("tests/solutions/01-listen-first.lesson");
    std::fs::write(
        dir.join("01-listen-first.lesson"),
        std::fs::read(solved).unwrap(),
    )
    .unwrap();
    let seen = wait_for("── sockstep watch: 02-restart.lesson");
    assert!(!seen.contains("01-listen-first"), "{seen}");
    wait_for("Watching");
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn check_stops_showing_the_run_where_it_goes_wrong_and_speaks_json() {
    let out = check(&["exercises/01-listen-first.lesson"]);
    let text = stdout(&out);
    assert!(text.contains("✗ expected 0, but it failed with"), "{text}");
    assert!(
        text.contains("not yet: at step 4 (line 8), it failed with ECONNREFUSED"),
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
        (Some(8), Some(19))
    );
    assert_eq!(lines[1]["event"], "check");
}
