//! Every lesson's stable transcript, snapshot-tested, and run as the lesson
//! expects; transcripts are the same run after run and in parallel.

mod common;
use common::*;

/// The transcript and exit status, as the snapshot records them.
fn record(lesson: &str) -> String {
    let out = run_lesson(lesson, &[], &unique_tag("snap"));
    format!(
        "{}\n[exit status {}]\n",
        stdout(&out),
        out.status.code().unwrap_or(-1)
    )
}

#[test]
fn every_lesson_matches_its_snapshot() {
    insta::glob!("../lessons", "*.lesson", |path| {
        let transcript = record(&rel(path));
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(transcript);
        });
    });
}

#[test]
fn every_lesson_runs_as_it_expects() {
    for path in lesson_files() {
        let out = run_lesson(&rel(&path), &[], &unique_tag("expects"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}{}",
            rel(&path),
            stdout(&out),
            stderr(&out)
        );
        assert!(stderr(&out).is_empty(), "{}: {}", rel(&path), stderr(&out));
    }
}

#[test]
fn twenty_runs_of_each_lesson_give_one_transcript() {
    for path in lesson_files() {
        let first = record(&rel(&path));
        for _ in 1..20 {
            assert_eq!(
                record(&rel(&path)),
                first,
                "{} changed between runs",
                rel(&path)
            );
        }
    }
}

#[test]
fn fixtures_give_one_transcript_in_five_runs() {
    for fixture in [
        "every-call",
        "big-send",
        "buffer-deadlock",
        "peer-exits",
        "sigpipe",
    ] {
        let path = format!("tests/fixtures/{fixture}.lesson");
        let first = record(&path);
        for _ in 1..5 {
            assert_eq!(record(&path), first, "{fixture} changed between runs");
        }
    }
}

#[test]
fn eight_parallel_runs_of_hello_all_pass_alike() {
    let runs: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| run_lesson("hello", &[], &unique_tag("parallel"))))
        .collect();
    let outs: Vec<_> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
        assert_eq!(stdout(o), stdout(&outs[0]));
    }
}

/// A run on the host's loopback shows the lesson's ports, not the free ones
/// it really used, and says so in one line on stderr. (Its packets and
/// states may differ from a private namespace's: the host's loopback keeps
/// delayed ACKs.)
fn assert_host_run(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(out), stderr(out));
    let note = stderr(out);
    assert!(note.contains("no private network namespace"), "{note}");
    assert_eq!(
        note.lines()
            .filter(|l| l.contains("no private network namespace"))
            .count(),
        1,
        "{note}"
    );
    let t = stdout(out);
    assert!(t.contains("bind(3, 127.0.0.1:8080) = 0"), "{t}");
    assert!(t.contains("c = accept(3) returns 4"), "{t}");
    if let Some((_, real)) = note.split_once("8080 → ") {
        let real: String = real.chars().take_while(char::is_ascii_digit).collect();
        assert!(
            !t.contains(&format!(":{real}")),
            "the real port {real} shows:\n{t}"
        );
    }
}

#[test]
fn host_network_shows_lesson_ports_and_says_so() {
    let host = run_lesson("hello", &["--host-network"], &unique_tag("host"));
    assert_host_run(&host);
    assert!(stderr(&host).contains("8080 → "), "{}", stderr(&host));
}

#[test]
fn without_namespaces_the_run_falls_back_to_the_host_loopback() {
    // In a user namespace of our own where no further user or network
    // namespace may be made, as on systems that forbid them.
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && \
         echo 0 > /proc/sys/user/max_net_namespaces && \
         exec {BIN} run hello --no-pause --stable --color never"
    );
    let out = std::process::Command::new("unshare")
        .args(["-r", "sh", "-c", &script])
        .current_dir(root())
        .output()
        .expect("unshare (util-linux) is installed");
    assert_host_run(&out);
    // Without CAP_NET_RAW on the host's network, no packets: said once.
    assert!(
        stderr(&out).contains("note: no packets are shown"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lessons_are_found_by_name_number_and_path() {
    let by_name = run_lesson("hello", &[], &unique_tag("name"));
    let by_number = run_lesson("1", &[], &unique_tag("number"));
    let by_path = run_lesson("lessons/01-hello.lesson", &[], &unique_tag("path"));
    assert_eq!(stdout(&by_name), stdout(&by_number));
    assert_eq!(stdout(&by_name), stdout(&by_path));
    let unknown = run_lesson("helo", &[], &unique_tag("unknown"));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("did you mean `hello`?"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn list_shows_number_name_and_goal_of_every_lesson() {
    let out = std::process::Command::new(BIN)
        .arg("list")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    for path in lesson_files() {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let (num, name) = stem.split_once('-').unwrap();
        let num: u32 = num.parse().unwrap();
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name));
        let line = line.unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
        assert!(line.trim_start().starts_with(&num.to_string()), "{line}");
    }
    assert!(text.contains("A server and a client trade one greeting over TCP."));
}

#[test]
fn fds_are_numbered_as_in_c() {
    // As strace shows for seed 001's C programs: server socket 3, accepted
    // connection 4, client socket 3.
    let t = record("hello");
    assert!(
        t.contains("   1  s = socket(AF_INET, SOCK_STREAM, 0) = 3"),
        "{t}"
    );
    assert!(t.contains("  ↳5  c = accept(3) returns 4"), "{t}");
    let client_socket = t
        .lines()
        .find(|l| l.trim_start().starts_with("6 "))
        .unwrap();
    assert!(
        client_socket.ends_with("s = socket(AF_INET, SOCK_STREAM, 0) = 3"),
        "{t}"
    );
}

#[test]
fn a_crash_is_reported_and_fails_the_run() {
    let out = run_lesson("tests/fixtures/sigpipe.lesson", &[], &unique_tag("crash"));
    let t = stdout(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(t.contains("client was killed by SIGPIPE"), "{t}");
    assert!(t.contains("steps 12, 13 of client never ran"), "{t}");
}

#[test]
fn a_failed_expectation_is_shown_at_its_step_and_exits_1() {
    let dir = std::env::temp_dir().join(unique_tag("expect"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.lesson");
    std::fs::write(
        &file,
        "lesson \"wrong\"\nactors server, client\n\
         client: s = socket(AF_INET, SOCK_STREAM, 0)\n\
         client: connect(s, 127.0.0.1:8080) => 0\n",
    )
    .unwrap();
    let out = run_lesson(
        file.to_str().unwrap(),
        &["--width", "200"],
        &unique_tag("expect"),
    );
    let t = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("✗ expected 0, but it failed with ECONNREFUSED"),
        "{t}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_call_and_blocking_path_runs_as_the_fixtures_expect() {
    // every-call: each supported call on TCP/IPv6, UDP and unix sockets;
    // big-send: a send and a MSG_WAITALL recv that park and complete in
    // turns; buffer-deadlock: both sides park in send.
    // peer-exits: an actor with no steps left exits, and the parked recv of
    // its peer reads end of file.
    for fixture in ["every-call", "big-send", "buffer-deadlock", "peer-exits"] {
        let path = format!("tests/fixtures/{fixture}.lesson");
        let out = run_lesson(&path, &["--width", "200"], &unique_tag(fixture));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{fixture}:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let t = stdout(&run_lesson(
        "tests/fixtures/buffer-deadlock.lesson",
        &["--width", "200"],
        &unique_tag("bd"),
    ));
    assert!(t.contains("Each waits for the other to read"), "{t}");
}

#[test]
fn colour_follows_the_option_and_no_color() {
    let always = std::process::Command::new(BIN)
        .args(["run", "hello", "--no-pause", "--color", "always"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        stdout(&always).contains("\x1b["),
        "no colour with --color always"
    );
    let never = run_lesson("hello", &[], &unique_tag("nocolor"));
    assert!(
        !stdout(&never).contains('\x1b'),
        "colour with --color never"
    );
    // On a terminal (script gives one), auto means colour unless NO_COLOR.
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args([
            "-qec",
            &format!("{BIN} run hello --no-pause --color auto"),
            "/dev/null",
        ])
        .current_dir(root())
        .stdin(std::process::Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().expect("script (util-linux) is installed");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(on_tty(false).contains("\x1b["), "no colour on a terminal");
    assert!(
        !on_tty(true).contains("\x1b["),
        "colour on a terminal despite NO_COLOR"
    );
}
