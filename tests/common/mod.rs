//! Helpers shared by the integration tests: running the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_sockstep");

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `sockstep run LESSON --no-pause --stable --color never`, from the
/// repository root, with `tag` in the environment of every process it starts.
pub fn run_lesson(lesson: &str, extra: &[&str], tag: &str) -> Output {
    Command::new(BIN)
        .args(["run", lesson, "--no-pause", "--stable", "--color", "never"])
        .args(extra)
        .current_dir(root())
        .env("SOCKSTEP_TEST_TAG", tag)
        .output()
        .expect("sockstep runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lesson files in `lessons/`, sorted.
pub fn lesson_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("lessons"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lesson"))
        .collect();
    files.sort();
    files
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

/// Processes whose environment holds `SOCKSTEP_TEST_TAG=tag`.
pub fn processes_tagged(tag: &str) -> Vec<u32> {
    let needle = format!("SOCKSTEP_TEST_TAG={tag}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// A name unique to this test process and thread, safe in a shell command
/// and a file name.
pub fn unique_tag(name: &str) -> String {
    let raw = format!(
        "{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A new, empty directory of this test's own in TMPDIR.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_tag(name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sockstep c LESSON -o DIR`: the C files it wrote, sorted.
pub fn write_c(lesson: &str, dir: &Path) -> Vec<PathBuf> {
    let out = Command::new(BIN)
        .args(["c", lesson, "-o"])
        .arg(dir)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{lesson}: {}", stderr(&out));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    files.sort();
    files
}
