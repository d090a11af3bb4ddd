//! `sockstep c`: every lesson as C programs that compile cleanly, and that
//! make the lesson's calls when they run.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn compile(c: &Path) -> std::path::PathBuf {
    let exe = c.with_extension("");
    let out = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(c)
        .output()
        .expect("cc is installed");
    assert!(
        out.status.success(),
        "{} does not compile:\n{}",
        c.display(),
        stderr(&out)
    );
    exe
}

#[test]
fn every_lesson_and_scenario_is_c_that_compiles_without_a_warning() {
    let mut lessons: Vec<String> = lesson_files().iter().map(|p| rel(p)).collect();
    for e in std::fs::read_dir(root().join("tests/scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "lesson") {
            lessons.push(rel(&p));
        }
    }
    let dir = scratch("cgen-all");
    for lesson in &lessons {
        let out = dir.join(Path::new(lesson).file_stem().unwrap());
        let files = write_c(lesson, &out);
        assert!(!files.is_empty(), "{lesson}: no program");
        for f in files {
            compile(&f);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_forked_actor_is_the_childs_branch_of_its_parents_fork() {
    let dir = scratch("cgen-fork");
    let files = write_c("fork-server", &dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["client.c", "server.c"], "the worker has no file");
    let server = std::fs::read_to_string(dir.join("server.c")).unwrap();
    assert!(server.contains("pid = fork();") && server.contains("if (pid == 0) {"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_programs_of_hello_make_its_calls_with_its_results() {
    let dir = scratch("cgen-hello");
    write_c("hello", &dir);
    let server = compile(&dir.join("server.c"));
    let client = compile(&dir.join("client.c"));
    let text = std::fs::read_to_string(dir.join("server.c")).unwrap();
    // The narration is in comments, each step numbered.
    assert!(text.contains("/* step 1 */") && text.contains(" * The kernel hands the server"));
    // In a namespace of their own: the server runs until it listens, then
    // the client starts.
    let script = format!(
        "ip link set lo up && cd {} && ({} > server.out &) && \
         until grep -q 'listen = ' server.out 2>/dev/null; do sleep 0.01; done && \
         {} > client.out && wait",
        dir.display(),
        server.display(),
        client.display()
    );
    let out = Command::new("timeout")
        .args(["20", "unshare", "-Urn", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |f: &str| {
        // The server may still be writing its last lines: wait for them.
        for _ in 0..500 {
            let t = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
            if t.matches("close = ").count() >= if f == "server.out" { 2 } else { 1 } {
                return t;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::read_to_string(dir.join(f)).unwrap_or_default()
    };
    assert_eq!(
        read("server.out"),
        "socket = 3\nsetsockopt = 0\nbind = 0\nlisten = 0\naccept = 4\n\
         recv = 17 \"Hello from client\"\nsend = 17\nclose = 0\nclose = 0\n"
    );
    assert_eq!(
        read("client.out"),
        "socket = 3\nconnect = 0\nsend = 17\nrecv = 17 \"Hello from server\"\nclose = 0\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
