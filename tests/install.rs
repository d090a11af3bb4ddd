//! The README's first command installs `sockstep` where the PATH finds it,
//! and what an installed sockstep offers (completions, a man page) works.

mod common;
use common::*;
use std::process::Command;

/// The command lines of the README's "Two commands".
fn two_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Two commands")
        .nth(1)
        .expect("a Two commands section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_first_readme_command_installs_sockstep_on_the_path_and_runs_hello() {
    let cmds = two_commands();
    assert_eq!(
        cmds,
        [
            "cargo install --locked --path . && sockstep run hello",
            "cargo test"
        ]
    );
    // The same install, into a folder of its own instead of ~/.cargo, and
    // from the debug build this test run already made (a release build
    // takes minutes): what lands in its bin/ is a sockstep that runs.
    let prefix = std::env::temp_dir().join(unique_tag("install"));
    let target = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["install", "--locked", "--offline", "--debug", "--path"])
        .arg(root())
        .arg("--root")
        .arg(&prefix)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let bin = prefix.join("bin");
    assert!(bin.join("sockstep").is_file());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let hello = Command::new("sockstep")
        .args(["run", "hello", "--no-pause", "--stable"])
        .env("PATH", &path)
        .current_dir(&prefix)
        .output()
        .unwrap();
    assert_eq!(hello.status.code(), Some(0), "{}", stderr(&hello));
    assert!(stdout(&hello).contains("the run went as the lesson expects"));
    std::fs::remove_dir_all(&prefix).unwrap();
}

#[test]
fn completions_and_the_man_page() {
    for (shell, mark) in [
        ("bash", "_sockstep()"),
        ("zsh", "#compdef sockstep"),
        ("fish", "complete -c sockstep"),
    ] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains(mark), "{shell}: {text}");
        for sub in ["run", "check", "exercises", "watch"] {
            assert!(text.contains(sub), "{shell} completes {sub}");
        }
    }
    let man = Command::new(BIN).arg("man").output().unwrap();
    let text = stdout(&man);
    assert!(text.contains(".TH sockstep 1"), "{text}");
    // Every command on the one page, with its options.
    for sub in ["run", "check", "exercises", "watch", "list"] {
        assert!(text.contains(&format!(".SS \"{sub}\"")), "no {sub}: {text}");
    }
    assert!(text.contains("\\-\\-hint"), "{text}");
    assert!(
        !text.contains("sockstep\\-run(1)"),
        "no page of its own: {text}"
    );
}
