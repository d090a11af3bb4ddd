//! No process of a run outlives it, zombie included: this test process
//! makes itself the child subreaper of everything it starts, so any process
//! a run leaves behind (a forked worker, a zombie) becomes its child, where
//! it can be seen. One file, so no other test's processes come here.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The children of this process, with their state (`Z` for a zombie).
fn children() -> Vec<(u32, String)> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let fields: Vec<String> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .map(String::from)
                .collect();
            let ppid: u32 = fields.get(1)?.parse().ok()?;
            (ppid == me).then(|| (pid, fields[0].clone()))
        })
        .collect()
}

fn subreaper() {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(r, 0, "cannot become a subreaper");
}

#[test]
fn no_lesson_leaves_a_process_and_a_killed_run_leaves_nothing_for_long() {
    subreaper();
    let tmp = std::env::temp_dir().join(unique_tag("orphans"));
    std::fs::create_dir_all(&tmp).unwrap();

    // Every lesson, and the fixtures that crash or deadlock: when sockstep
    // has exited, nothing it started is left, not even a zombie.
    let mut paths: Vec<String> = lesson_files().iter().map(|p| rel(p)).collect();
    paths.push("tests/fixtures/sigpipe.lesson".into());
    paths.push("tests/scenarios/fork-children.lesson".into());
    for lesson in &paths {
        let out = Command::new(BIN)
            .args(["run", lesson, "--no-pause", "--stable"])
            .current_dir(root())
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{lesson}: {}", stderr(&out));
        assert_eq!(children(), Vec::new(), "{lesson} left processes");
    }

    // kill -9 of sockstep in the middle of lesson 19, its worker forked:
    // soon no process of the run is running (what is left is dead,
    // for its reaper to collect), and the next run removes the directory.
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{BIN} run lessons/19-fork-server.lesson"),
            "/dev/null",
        ])
        .current_dir(root())
        .env("TMPDIR", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let run_of = |pid: u32| -> Vec<u32> {
        // The processes below `pid`.
        let mut all = vec![pid];
        let mut i = 0;
        while i < all.len() {
            let parent = all[i];
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let ppid = std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')?
                            .1
                            .split_whitespace()
                            .nth(1)?
                            .parse()
                            .ok()
                    });
                if ppid == Some(parent) && !all.contains(&p) {
                    all.push(p);
                }
            }
            i += 1;
        }
        all
    };
    // The full-screen view: `n` goes on a step, through the fork (step 8).
    let start = Instant::now();
    let (sockstep, procs) = loop {
        use std::io::Write;
        let _ = child.stdin.as_mut().unwrap().write_all(b"n");
        let procs = run_of(child.id());
        // sockstep itself, not the shell `script` may start it from
        // (`sh -c "... lessons/19-fork-server.lesson"` ends the same way).
        let main = procs.iter().copied().find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                c == format!("{BIN}\0run\0lessons/19-fork-server.lesson\0").as_bytes()
            })
        });
        // script, sockstep, the hub (two), server, worker, client (and
        // the shell between script and sockstep, where it does not exec).
        if let Some(main) = main
            && procs.len() >= 7
        {
            break (main, procs);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the run never forked"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sockstep as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    let killed = Instant::now();
    let running = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| Some(s.rsplit_once(')')?.1.split_whitespace().next()? != "Z"))
            .unwrap_or(false)
    };
    let run: Vec<u32> = procs.into_iter().filter(|p| *p != child.id()).collect();
    while run.iter().any(running) {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "processes of the run still running 5 s after kill -9: {:?}",
            run.iter().filter(|p| running(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    // What the kill left: reaped here, as the machine's init would.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !children().is_empty() && Instant::now() < deadline {
        let _ = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        std::thread::sleep(Duration::from_millis(5));
    }
    let stale: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(
        !stale.is_empty(),
        "the killed run left no directory to find"
    );
    let out = Command::new(BIN)
        .args(["run", "hello", "--no-pause"])
        .current_dir(root())
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "the next run left these: {left:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
