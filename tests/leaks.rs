//! Nothing is left behind: no process, no fd, no run directory, whatever
//! way a run ends. One test per file, so nothing else runs in this process
//! while fds are counted.

mod common;
use common::*;
use sockstep::engine::{Options, Run};
use sockstep::lesson::Lesson;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn lesson(path: &str) -> Lesson {
    let bytes = std::fs::read(root().join(path)).unwrap();
    Lesson::parse(path, &bytes).unwrap()
}

#[test]
fn no_process_fd_or_directory_outlives_a_run() {
    let tmp = std::env::temp_dir().join(unique_tag("leaks"));
    std::fs::create_dir_all(&tmp).unwrap();

    // Through the binary: a good run, a deadlock, a crash, a failed
    // expectation, bad input, the host network.
    let runs: &[(&str, &[&str], i32)] = &[
        ("hello", &[], 0),
        ("deadlock", &[], 0),
        ("fork-server", &[], 0),
        ("tests/fixtures/sigpipe.lesson", &[], 1),
        ("tests/fixtures/sigpipe.lesson", &["--host-network"], 1),
        ("Cargo.toml", &[], 2),
    ];
    for (lesson, extra, code) in runs {
        let tag = unique_tag(&format!("leak-{lesson}"));
        let out = Command::new(BIN)
            .args(["run", lesson, "--no-pause"])
            .args(*extra)
            .current_dir(root())
            .env("SOCKSTEP_TEST_TAG", &tag)
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(*code), "{lesson}: {}", stderr(&out));
        assert_eq!(
            processes_tagged(&tag),
            Vec::<u32>::new(),
            "{lesson} left processes"
        );
    }

    // Ctrl-C, or SIGTERM, in the middle of a paused run on a terminal
    // (script gives it a pty): the run stops, exits 130, and its actors are
    // gone.
    for signal in [nix::sys::signal::SIGINT, nix::sys::signal::SIGTERM] {
        let tag = unique_tag(&format!("leak-{signal}"));
        let mut child = Command::new("script")
            .args(["-qec", &format!("{BIN} run hello"), "/dev/null"])
            .current_dir(root())
            .env("SOCKSTEP_TEST_TAG", &tag)
            .env("TMPDIR", &tmp)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the run has started its actors (it pauses after step 1).
        let start = Instant::now();
        let sockstep = loop {
            let procs = processes_tagged(&tag);
            let main = procs.iter().copied().find(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.ends_with(b"run\0hello\0"))
            });
            if let Some(main) = main
                && procs.len() >= 4
            {
                break main;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the run never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(sockstep as i32), signal).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        assert_eq!(
            processes_tagged(&tag),
            Vec::<u32>::new(),
            "{signal} left processes"
        );
    }

    // In process: fds of the engine are all closed after runs that end in
    // every way, and after a run dropped half way.
    let opts = Options::new(BIN);
    let before = open_fds();
    for path in [
        "lessons/01-hello.lesson",
        "lessons/03-deadlock.lesson",
        "tests/fixtures/sigpipe.lesson",
    ] {
        let mut run = Run::start(lesson(path), &opts).unwrap();
        run.run_to_end(|_| {}).unwrap();
    }
    let mut half = Run::start(lesson("lessons/01-hello.lesson"), &opts).unwrap();
    for _ in 0..5 {
        half.step().unwrap();
    }
    drop(half);
    assert_eq!(open_fds(), before, "the engine leaked fds");

    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "run directories left: {left:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
