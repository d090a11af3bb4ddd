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
/// that forks (pyenv's), which would be a column of its own.
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

/// A program of tests/trace compiled (C with cc, C++ with g++).
fn compiled(source: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/trace")
        .join(source);
    let exe = dir.join(Path::new(source).file_stem().unwrap());
    let compiler = if source.ends_with(".cpp") {
        "g++"
    } else {
        "cc"
    };
    let out = Command::new(compiler)
        .args(["-Wall", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("the compiler is installed");
    assert!(out.status.success(), "{}", stderr(&out));
    exe
}

#[test]
fn the_seeds_cpp_server_and_client_as_written_are_stepped_the_same_every_run() {
    let dir = scratch("trace-seed");
    let server = compiled("seed_server.cpp", &dir);
    let client = compiled("seed_client.cpp", &dir);
    let first = trace(&[&server, &client], &unique_tag("trace"));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let text = stdout(&first);
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    // The server's socket is 3 and its connection 4; the client's socket is
    // 3 in its own process; read() on a socket is a receive.
    assert!(
        in_order(
            &[
                "   1  socket(AF_INET, SOCK_STREAM, 0) = 3",
                "   2  bind(3, 0.0.0.0:8080) = 0",
                "   4  accept(3) … blocks",
                "  ↳4  accept(3) returns 4",
                "   7  read(4, 1023) … blocks",
                "  ↳7  read(4, 1023) returns 18 \"Hello from client!\"",
                "   9  send(4, \"Hello from server!\") = 18",
            ],
            &lines
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "   5{}socket(AF_INET, SOCK_STREAM, 0) = 3",
            " ".repeat(49)
        )),
        "{text}"
    );
    assert!(
        text.contains("read(3, 1023) = 18 \"Hello from server!\""),
        "{text}"
    );
    // What the client printed, wrapped in its column.
    assert!(
        flat(&text)
            .contains(r#"stdout: "Connected to the server.\nServer says: Hello from server!\n""#),
        "{text}"
    );
    for _ in 0..19 {
        let again = trace(&[&server, &client], &unique_tag("trace"));
        assert_eq!(stdout(&again), text);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_forking_server_with_two_clients_is_followed_into_each_child() {
    let dir = scratch("trace-fork");
    let server = compiled("fork_server.c", &dir);
    let client = compiled("echo_client.c", &dir);
    let tag = unique_tag("trace-fork");
    let run = || {
        let mut cmd = Command::new("timeout");
        cmd.args(["30", BIN, "trace", "--stable", "--width", "100", "--"])
            .arg(&server)
            .args(["---"])
            .arg(&client)
            .args(["one", "---"])
            .arg(&client)
            .arg("two");
        cmd.env("SOCKSTEP_TEST_TAG", &tag).output().unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    // Each child is a column of its own from its fork on, holds copies of
    // the listener and the connection, and serves its own client.
    // The new column, from the fork on.
    assert!(
        lines.contains(&"fork_server echo_client-1 echo_client-2 fork_server.c1")
            || text
                .lines()
                .any(|l| flat(l) == "fork_server echo_client-1 echo_client-2 fork_server.c1"),
        "{text}"
    );
    for line in [
        "fork() = the pid of fork_server.c1",
        "◆ fork_server.c1 fd 4: ESTABLISHED, the same socket as its parent's",
        "fork() = the pid of fork_server.c2",
        "recv(4, 100) = 3 \"one\"",
        "recv(4, 100) = 3 \"two\"",
        "stdout: \"got one\\n\"",
        "stdout: \"got two\\n\"",
        "✓ 29 socket calls; every program ended.",
    ] {
        assert!(lines.iter().any(|l| l.contains(line)), "{line}:\n{text}");
    }
    // The parent's wait() for its children sleeps in the kernel until
    // they end; then it closes the listener, the last step.
    assert!(
        lines.iter().any(|l| l.starts_with("29  close(3) = 0")),
        "{text}"
    );
    assert_eq!(stdout(&run()), text);
    assert_eq!(processes_tagged(&tag), Vec::<u32>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_threaded_client_is_followed_into_its_thread_which_shares_its_fds() {
    let dir = scratch("trace-thread");
    let server = compiled("seed_server.cpp", &dir);
    let client = compiled("threaded_client.c", &dir);
    let out = trace(&[&server, &client], &unique_tag("trace"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "clone(CLONE_THREAD) = the thread id of threaded_client.t1",
        "threaded_client.t1 goes on from here: a new thread of the same",
        "send(3, \"ping\") = 4",
        "read(4, 1023) returns 4 \"ping\"",
        // The thread's recv is on its process's fd 3.
        "recv(3, 99) = 18 \"Hello from server!\"",
        "◆ threaded_client fd 3: CLOSE-WAIT, queues empty",
        "stdout: \"reader got Hello from",
        "✓ 14 socket calls; every program ended.",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_thread_joined_while_its_peer_waits_too_is_part_of_the_deadlock() {
    let dir = scratch("trace-thread-deadlock");
    let server = compiled("waitall_server.c", &dir);
    let client = compiled("threaded_client.c", &dir);
    let tag = unique_tag("trace");
    let out = trace(&[&server, &client], &tag);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "DEADLOCK",
        "waitall_server waits in recv(4, 10, MSG_WAITALL)",
        "threaded_client.t1 waits in recv(3, 99)",
        "threaded_client sleeps in futex() with no time limit: it waits for a lock, or for a",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert_eq!(processes_tagged(&tag), Vec::<u32>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run's JSON events, each checked against the schema.
fn valid_events(out: &std::process::Output) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("schema/events.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let events: Vec<serde_json::Value> = stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for e in &events {
        assert!(validator.is_valid(e), "{e}");
    }
    events
}

/// The text with every run of white space made one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
    let events = valid_events(&out);
    assert_eq!(events[0]["traced"], true);
    let completed: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "completed")
        .collect();
    assert_eq!(completed[0]["call"]["name"], "accept");
    assert_eq!(completed[0]["outcome"]["ret"], 4);
    // A thread that joins the run, and a deadlock with a program asleep
    // in a call that is not a socket's.
    let server = compiled("waitall_server.c", &dir);
    let client = compiled("threaded_client.c", &dir);
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--format", "json", "--"])
        .arg(&server)
        .arg("---")
        .arg(&client)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let events = valid_events(&out);
    let joined = events.iter().find(|e| e["event"] == "joined").unwrap();
    assert_eq!(joined["actor"], "threaded_client.t1");
    assert_eq!(joined["parent"], "threaded_client");
    assert_eq!(joined["thread"], true);
    let deadlock = events.iter().find(|e| e["event"] == "deadlock").unwrap();
    assert_eq!(deadlock["asleep"][0]["actor"], "threaded_client");
    assert_eq!(deadlock["asleep"][0]["syscall"], "futex");
    assert_eq!(deadlock["asleep"][0]["on"]["kind"], "lock");
    assert_eq!(deadlock["waits"].as_array().unwrap().len(), 2);
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

#[test]
fn programs_traced_do_not_outlive_sockstep_killed_or_interrupted() {
    for signal in [libc::SIGKILL, libc::SIGINT] {
        let tag = unique_tag(&format!("trace-kill-{signal}"));
        // A shell that forks a sleeper and sleeps itself: three processes
        // the tracer holds, all asleep with a timer armed.
        let mut child = Command::new(BIN)
            .args(["trace", "--", "sh", "-c", "sleep 60 & sleep 60; wait"])
            .env("SOCKSTEP_TEST_TAG", &tag)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let until = |done: &dyn Fn(usize) -> bool| {
            let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !done(processes_tagged(&tag).len()) {
                assert!(
                    std::time::Instant::now() < end,
                    "{:?}",
                    processes_tagged(&tag)
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        };
        // sockstep, the shell, and both sleepers.
        until(&|n| n >= 4);
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(signal));
        // The kernel kills every tracee of a tracer that is gone.
        until(&|n| n == 0);
    }
}

#[test]
fn where_ptrace_is_not_allowed_one_line_says_so_and_nothing_runs() {
    let dir = scratch("trace-no-ptrace");
    let jail = compiled("no_ptrace.c", &dir);
    let server = compiled("seed_server.cpp", &dir);
    let out = Command::new("timeout")
        .args(["30"])
        .arg(&jail)
        .args([BIN, "trace", "--"])
        .arg(&server)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ptrace is not allowed here (Operation not permitted), so programs cannot be traced: "),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sockstep run LESSON --actor ...` (or `check`), stable, 100 columns.
fn run_with(cmd: &str, lesson: &Path, actors: &[String]) -> std::process::Output {
    let mut c = Command::new("timeout");
    c.args(["30", BIN, cmd]).arg(lesson);
    if cmd == "run" {
        c.args(["--no-pause", "--stable", "--width", "100"]);
    }
    for a in actors {
        c.arg("--actor").arg(a);
    }
    c.output().unwrap()
}

/// A transcript without the lines of what programs printed, and without
/// the line that says which program makes an actor's steps.
fn calls_only(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("stdout:")
                && !t.starts_with("server\\n")
                && !l.contains("steps are made by a program")
                && !t.starts_with('"')
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_program_given_for_an_external_actor_makes_its_steps_as_the_lesson_would() {
    let dir = scratch("trace-external");
    let progs = programs("hello", &dir);
    let lesson = root().join("tests/trace/your-client.lesson");
    let client = format!("client={}", exe(&progs, "client").display());
    let out = run_with("run", &lesson, std::slice::from_ref(&client));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        flat(&text).contains("client's steps are made by a program:"),
        "{text}"
    );
    // The same calls, results, packets and states as lesson 1 itself,
    // whose steps for the client are the program's calls.
    let hello = Command::new(BIN)
        .args(["run", "hello", "--no-pause", "--stable", "--width", "100"])
        .output()
        .unwrap();
    // From the rule under the actors' names on.
    let body = |t: &str| -> Vec<String> {
        calls_only(t)
            .lines()
            .skip_while(|l| !l.trim_start().starts_with('─'))
            .map(String::from)
            .collect()
    };
    assert_eq!(body(&text), body(&stdout(&hello)), "{text}");
    // What the program printed is in its column.
    assert!(text.contains("stdout: \"socket = 3\\n\""), "{text}");

    // A Python client makes the same steps (its socket() with
    // SOCK_CLOEXEC, as Python makes it).
    let py = format!(
        "client={} {}",
        python(),
        root().join("tests/trace/client.py").display()
    );
    let out = run_with("run", &lesson, std::slice::from_ref(&py));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        flat(&text).contains("s = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3"),
        "{text}"
    );
    assert!(
        text.contains("recv(3, 1024) = 17 \"Hello from server\""),
        "{text}"
    );
    assert!(text.contains("stdout: \"Hello from server\""), "{text}");
    // `check` takes a program for an actor too: the student's client meets
    // the lesson's steps.
    let out = run_with("check", &lesson, &[py]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_that_leaves_the_lessons_steps_is_stopped_and_said_so() {
    let dir = scratch("trace-external-wrong");
    // Lesson 3's client reads before it sends: lesson 1 has it send.
    let progs = programs("deadlock", &dir);
    let lesson = root().join("tests/trace/your-client.lesson");
    let client = format!("client={}", exe(&progs, "client").display());
    let out = run_with("run", &lesson, std::slice::from_ref(&client));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = flat(&stdout(&out));
    assert!(
        text.contains(
            "✗ the lesson has client make send(3, \"Hello from client\") here, but its program \
             made recv(3, 1024); the program is stopped"
        ),
        "{text}"
    );
    assert!(text.contains("steps 11, 12 of client never ran"), "{text}");
    let out = run_with("check", &lesson, std::slice::from_ref(&client));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        flat(&stdout(&out)).contains(
            "at step 8 (line 26), the program made recv(3, 1024) where the lesson has send(3, \
             \"Hello from client\")"
        ),
        "{}",
        stdout(&out)
    );
    // In JSON, the facts: the step's call and the program's.
    let out = Command::new("timeout")
        .args(["30", BIN, "run", "--format", "json"])
        .arg(&lesson)
        .arg("--actor")
        .arg(&client)
        .output()
        .unwrap();
    let events = valid_events(&out);
    assert_eq!(events[0]["programs"][0]["actor"], "client");
    let m = events.iter().find(|e| e["event"] == "mismatch").unwrap();
    assert_eq!(m["step"], 8);
    assert_eq!(m["expected"]["name"], "send");
    assert_eq!(m["made"]["name"], "recv");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_external_actor_needs_a_program_and_actor_names_are_checked() {
    let lesson = root().join("tests/trace/your-client.lesson");
    let out = run_with("run", &lesson, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: client is external: the lesson's steps for it are made by a program you give: \
         --actor client=PROGRAM"
    );
    let out = run_with("run", &lesson, &["clinet=./client".into()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the lesson has no actor `clinet` (its actors: server, client)"),
        "{}",
        stderr(&out)
    );
    let out = run_with("run", &lesson, &["client=./no-such-program".into()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("client: cannot start ./no-such-program: No such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_lesson_made_by_its_own_c_programs_gives_its_own_transcript() {
    // Each lesson and scenario through `sockstep c`, compiled, and run
    // again with every
    // actor's steps made by its program: the same calls, results, packets,
    // states and words as the lesson's own run. (The programs are made
    // quiet, so that what they print does not stand between the lines.)
    let lessons: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = ["lessons", "tests/scenarios"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "lesson"))
            .collect();
        v.sort();
        v
    };
    let mut compared = 0;
    for lesson in &lessons {
        let name = lesson.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(lesson).unwrap();
        // Not yet: a program for an actor that forks, or on a second host.
        if text.contains("fork(") || text.lines().any(|l| l.starts_with("hosts ")) {
            continue;
        }
        let dir = scratch(&format!("trace-every-{name}"));
        let mut actors = Vec::new();
        for c in write_c(lesson.to_str().unwrap(), &dir) {
            let quiet = std::fs::read_to_string(&c)
                .unwrap()
                .replace("printf(", "(void)sizeof(");
            std::fs::write(&c, quiet).unwrap();
            let exe = c.with_extension("");
            let out = Command::new("cc")
                .arg("-o")
                .arg(&exe)
                .arg(&c)
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            let actor = exe.file_name().unwrap().to_string_lossy().into_owned();
            actors.push(format!("{actor}={}", exe.display()));
        }
        let programs = run_with("run", lesson, &actors);
        let own = run_with("run", lesson, &[]);
        assert_eq!(
            programs.status.code(),
            own.status.code(),
            "{name}: {}",
            stderr(&programs)
        );
        let body = |t: &str| -> String {
            t.lines()
                .skip_while(|l| !l.trim_start().starts_with('─'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            body(&stdout(&programs)),
            body(&stdout(&own)),
            "{name}:\n{}",
            stdout(&programs)
        );
        compared += 1;
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(compared >= 50, "{compared} lessons compared");
}

#[test]
fn a_trace_writes_its_packets_to_a_pcap_file() {
    let dir = scratch("trace-pcap");
    let progs = programs("hello", &dir);
    let file = dir.join("trace.pcap");
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--pcap"])
        .arg(&file)
        .arg("--")
        .arg(exe(&progs, "server"))
        .arg("---")
        .arg(exe(&progs, "client"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes(), "pcap magic");
    let mut flags = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &bytes[at + 16..at + 16 + len];
        if let sockstep::capture::Payload::Tcp { flags: f, data, .. } =
            sockstep::capture::decode(frame)
                .expect("a TCP/IP frame")
                .payload
        {
            let mut s: String = [(0x02, 'S'), (0x01, 'F'), (0x08, 'P'), (0x10, 'A')]
                .iter()
                .filter(|(bit, _)| f & bit != 0)
                .map(|(_, c)| *c)
                .collect();
            if !data.is_empty() {
                s.push_str(&format!("+{}", data.len()));
            }
            flags.push(s);
        }
        at += 16 + len;
    }
    // Lesson 1's packets, as its programs made them.
    assert_eq!(
        flags,
        [
            "S", "SA", "A", "PA+17", "A", "PA+17", "A", "FA", "A", "FA", "A"
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_select_with_a_time_limit_is_waited_for_not_called_a_deadlock() {
    let dir = scratch("trace-select-timeout");
    let server = compiled("select_timeout.c", &dir);
    let out = trace(&[&server], &unique_tag("trace"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "   4  select(4, {3}, NULL, NULL, {0, 300000}) … blocks",
        "  ↳4  select(4, {3}, NULL, NULL, {0, 300000}) returns 0",
        "stdout: \"select -> 0\\n\"",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(!text.contains("DEADLOCK"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_that_ends_with_sockets_open_is_said_to_end_before_its_fin() {
    let dir = scratch("trace-leaves-open");
    let server = compiled("leaves_open.c", &dir);
    let client = compiled("echo_client.c", &dir);
    let out = trace(&[&server, &client], &unique_tag("trace"));
    let text = stdout(&out);
    let exits = text
        .find("leaves_open exits; the kernel closes fd 3, 4")
        .unwrap_or_else(|| panic!("{text}"));
    let fin = text
        .find("FIN-ACK seq 4")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(exits < fin, "{text}");
    // The FIN is the exit's, not the last call's.
    assert!(!text.contains("all within send()"), "{text}");
    assert!(text.contains("as the process ended"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_launchers_subshells_that_touch_no_socket_get_no_column() {
    let dir = scratch("trace-wrapper");
    let server = compiled("fork_server.c", &dir);
    let client = compiled("echo_client.c", &dir);
    let wrapper = root().join("tests/trace/wrapper.sh");
    let out = Command::new("timeout")
        .args(["30", BIN, "trace", "--stable", "--width", "100", "--"])
        .arg(&server)
        .arg("---")
        .arg(&wrapper)
        .arg(&client)
        .arg("one")
        .arg("---")
        .arg(&client)
        .arg("two")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The launcher's five subshells are not shown; the server's children,
    // made with sockets in hand, are.
    assert!(!text.contains("wrapper.sh.c"), "{text}");
    let headers: Vec<String> = text
        .lines()
        .filter(|l| l.contains("fork_server") && l.contains("echo_client") && !l.contains('('))
        .map(flat)
        .collect();
    assert_eq!(
        headers[..2],
        [
            "fork_server wrapper.sh echo_client",
            "fork_server wrapper.sh echo_client fork_server.c1",
        ],
        "{text}"
    );
    // Three headers in all: the start, and one for each child.
    let rules = text
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim().chars().all(|c| c == '─' || c == ' '))
        .count();
    assert_eq!(rules, 3, "{text}");
    assert!(
        text.contains("fork() = the pid of fork_server.c2"),
        "{text}"
    );
    assert!(text.contains("stdout: \"got one\\n\""), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sleep_in_an_unstepped_call_on_a_socket_with_a_receive_timeout_is_waited_for() {
    // recvmsg() is not stepped; with SO_RCVTIMEO set on its socket the
    // kernel ends its wait, as a plain run shows (EAGAIN after 0.3 s).
    let dir = scratch("trace-recvmsg-timeout");
    let server = compiled("accept_wait.c", &dir);
    let client = compiled("rcvtimeo_recvmsg.c", &dir);
    let out = trace(&[&server, &client], &unique_tag("trace"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("DEADLOCK"), "{text}");
    assert!(
        flat(&text).contains("stdout: \"recvmsg -> -1 (Resource temporarily unavailable)\\n\""),
        "{text}"
    );
    assert!(
        stderr(&out).contains("rcvtimeo_recvmsg sleeps in recvmsg(), which a time limit ends"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
