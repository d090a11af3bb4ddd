//! `sockstep trace`: programs stepped one socket call at a time, in a
//! namespace of their own. The programs are the lessons' own, as
//! `sockstep c` writes them, compiled here.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The lesson's programs, compiled: actor name to executable.
fn programs(lesson: &str, dir: &Path) -> Vec<(String, PathBuf)> {
    let mut progs = Vec::new();
    for c in write_c(lesson, dir) {
        let exe = c.with_extension("");
        let out = Command::new("cc")
            .args(["-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(&c)
            .output()
            .expect("cc is installed");
        assert!(out.status.success(), "{}", stderr(&out));
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        progs.push((name, exe));
    }
    progs.sort();
    progs
}

fn trace(args: &[&Path], tag: &str) -> std::process::Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["30", BIN, "trace", "--stable", "--width", "100", "--"]);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            cmd.arg("---");
        }
        cmd.arg(a);
    }
    cmd.env("SOCKSTEP_TEST_TAG", tag).output().unwrap()
}

/// The Python interpreter itself: a `python3` on the PATH may be a wrapper
/// that forks (pyenv's), and trace does not follow forks yet.
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is installed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn exe<'a>(progs: &'a [(String, PathBuf)], name: &str) -> &'a Path {
    &progs.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn the_programs_of_hello_are_stepped_with_the_lessons_fds_and_greetings_every_run() {
    let dir = scratch("trace-hello");
    let progs = programs("hello", &dir);
    let (server, client) = (exe(&progs, "server"), exe(&progs, "client"));
    let first = trace(&[server, client], &unique_tag("trace"));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let text = stdout(&first);
    for line in [
        "   1  socket(AF_INET, SOCK_STREAM, 0) = 3",
        "   3  bind(3, 127.0.0.1:8080) = 0",
        "   5  accept(3) … blocks",
        "  ↳5  accept(3) returns 4",
        "recv(4, 1024) returns 17 \"Hello from client\"",
        "recv(3, 1024) = 17 \"Hello from server\"",
        "✓ 14 socket calls; every program ended.",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    // The client's socket is fd 3 too, in its own process; what the
    // programs print is in the transcript, where they wrote it.
    let six = format!("   6{}socket(AF_INET, SOCK_STREAM, 0) = 3", " ".repeat(49));
    assert!(text.contains(&six), "{text}");
    assert!(text.contains("stdout: \"accept = 4\\n\""), "{text}");
    // One program moves at a time: the same transcript every run.
    for _ in 0..19 {
        let again = trace(&[server, client], &unique_tag("trace"));
        assert_eq!(stdout(&again), text);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_programs_that_both_read_first_are_a_deadlock_named_at_once() {
    let dir = scratch("trace-deadlock");
    let progs = programs("deadlock", &dir);
    let tag = unique_tag("trace-deadlock");
    let start = std::time::Instant::now();
    let out = trace(&[exe(&progs, "server"), exe(&progs, "client")], &tag);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("DEADLOCK"), "{text}");
    assert!(text.contains("server waits in recv(4, 1024)"), "{text}");
    assert!(text.contains("client waits in recv(3, 1024)"), "{text}");
    assert!(
        text.contains("Every program waits, and none has a timer armed"),
        "{text}"
    );
    // The programs did not outlive the run.
    assert_eq!(processes_tagged(&tag), Vec::<u32>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_python_client_against_the_c_server() {
    let dir = scratch("trace-python");
    let progs = programs("hello", &dir);
    let script = root().join("tests/trace/client.py");
    let python = python();
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--stable", "--width", "100", "--"])
        .arg(exe(&progs, "server"))
        .args(["---", &python])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The column is named after the script; its calls are the kernel's.
    assert!(text.contains("client.py"), "{text}");
    assert!(text.contains("connect(3, 127.0.0.1:8080) = 0"), "{text}");
    assert!(
        text.contains("recv(4, 1024) returns 17 \"Hello from client\""),
        "{text}"
    );
    // What the program printed, where it printed it.
    assert!(text.contains("stdout: \"Hello from server"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_that_forks_is_stopped_and_said_so() {
    let dir = scratch("trace-fork");
    let progs = programs("fork-server", &dir);
    let tag = unique_tag("trace-fork");
    let out = trace(&[exe(&progs, "server"), exe(&progs, "client")], &tag);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("calls fork(), which trace does not follow yet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(processes_tagged(&tag), Vec::<u32>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether every line of `part` is in `whole`, in the same order.
fn in_order(part: &[&str], whole: &[&str]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|l| rest.any(|w| w == l))
}

#[test]
fn a_trace_saved_as_a_lesson_runs_and_gives_the_traces_calls_results_and_packets() {
    for lesson in ["hello", "deadlock"] {
        let dir = scratch("trace-save");
        let progs = programs(lesson, &dir);
        let saved = dir.join("saved.lesson");
        let mut cmd = Command::new("timeout");
        cmd.args([
            "30",
            BIN,
            "trace",
            "--stable",
            "--width",
            "100",
            "--save-lesson",
        ])
        .arg(&saved)
        .arg("--")
        .arg(exe(&progs, "server"))
        .arg("---")
        .arg(exe(&progs, "client"));
        let traced = cmd.output().unwrap();
        let run = Command::new(BIN)
            .args(["run", "--no-pause", "--stable", "--width", "100"])
            .arg(&saved)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{lesson}: {}", stdout(&run));
        // The trace's lines but its title.
        let t = stdout(&traced);
        let t: Vec<&str> = t.lines().collect();
        let r = stdout(&run);
        let r: Vec<&str> = r.lines().collect();
        // Up to the deadlock box or the last table, which a trace words
        // in its own terms.
        let end = t
            .iter()
            .position(|l| l.contains("DEADLOCK") || l.contains("sockets, as the kernel"))
            .unwrap_or(t.len() - 1);
        // The calls and the packets: each step's line and the arrows. (What
        // the programs printed is not a lesson's; the state notes differ
        // where a trace's step is finer, an accept completing in a step
        // of its own.)
        let body: Vec<&str> = t[3..end]
            .iter()
            .copied()
            .filter(|l| {
                let head = l.trim_start().trim_start_matches('↳');
                head.starts_with(|c: char| c.is_ascii_digit()) || l.contains("──")
            })
            .collect();
        assert!(
            in_order(&body, &r),
            "{lesson}:\n{}\n----\n{}",
            t.join("\n"),
            r.join("\n")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_trace_in_json_is_the_events_of_the_schema() {
    let dir = scratch("trace-json");
    let progs = programs("hello", &dir);
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--format", "json", "--"])
        .arg(exe(&progs, "server"))
        .arg("---")
        .arg(exe(&progs, "client"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(root().join("schema/events.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for e in &events {
        assert!(validator.is_valid(e), "{e}");
    }
    assert_eq!(events[0]["traced"], true);
    let completed: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "completed")
        .collect();
    assert_eq!(completed[0]["call"]["name"], "accept");
    assert_eq!(completed[0]["outcome"]["ret"], 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_that_cannot_be_started_is_said_so() {
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--", "./no-such-program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot start ./no-such-program: No such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_program_writing_to_a_reset_connection_dies_of_sigpipe_as_it_would_untraced() {
    let dir = scratch("trace-sigpipe");
    let progs = programs("tests/fixtures/sigpipe.lesson", &dir);
    let out = trace(
        &[exe(&progs, "server"), exe(&progs, "client")],
        &unique_tag("trace-sigpipe"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("= -1 EPIPE"), "{text}");
    assert!(text.contains("client was killed by SIGPIPE"), "{text}");
    // It died at its first EPIPE: no later send was made.
    assert!(!text.contains("send(3, \"two\")"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_server_whose_accept_waits_in_poll_with_a_timeout_lets_its_client_in() {
    let dir = scratch("trace-timeout");
    let progs = programs("hello", &dir);
    let python = python();
    let out = Command::new("timeout")
        .args([
            "30", BIN, "trace", "--stable", "--width", "100", "--", &python,
        ])
        .arg(root().join("tests/trace/timeout_server.py"))
        .arg("---")
        .arg(exe(&progs, "client"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The poll is shown with its own timeout, parked, and completed once
    // the client has connected: the accept gets the connection.
    assert!(text.contains("poll(3, 5000) … blocks"), "{text}");
    assert!(text.contains("poll(3, 5000) returns 1"), "{text}");
    assert!(
        text.contains("recv(3, 1024) = 17 \"Hello from server\""),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_recv_with_msg_waitall_waits_for_all_it_asks_while_the_sender_sends() {
    let dir = scratch("trace-waitall");
    let build = |name: &str| {
        let exe = dir.join(name);
        let out = Command::new("cc")
            .args(["-Wall", "-Werror", "-o"])
            .arg(&exe)
            .arg(root().join(format!("tests/trace/{name}.c")))
            .output()
            .expect("cc is installed");
        assert!(out.status.success(), "{}", stderr(&out));
        exe
    };
    let (server, client) = (build("waitall_server"), build("two_sends"));
    let out = trace(&[&server, &client], &unique_tag("trace-waitall"));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("recv(4, 10, MSG_WAITALL) … blocks"), "{text}");
    assert!(
        text.contains("recv(4, 10, MSG_WAITALL) returns 10 \"abcdefghij\""),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
