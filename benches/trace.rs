//! Figures for the README: what `sockstep trace` costs a program, per
//! socket call (held, asked, made, the sockets read again and the step
//! drawn) and per call that is not a socket's (the seccomp filter alone),
//! against the same program untraced.
//!
//! Run with `cargo bench --bench trace`.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sockstep");

/// The program's own figure: nanoseconds per call, from its stderr.
fn per_call(cmd: &mut Command) -> f64 {
    let out = cmd.output().expect("the program runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .expect("the program prints its figure")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("trace_calls");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/trace_calls.c");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        eprintln!("no C compiler: no figures");
        return;
    }
    let plain = |mode: &str, n: &str| {
        let mut c = Command::new(&exe);
        c.args([mode, n]);
        c
    };
    let traced = |mode: &str, n: &str| {
        let mut c = Command::new(BIN);
        c.args(["trace", "--no-capture", "--"])
            .arg(&exe)
            .args([mode, n]);
        c.stdout(std::process::Stdio::null());
        c
    };
    let runs = 5;
    let sock_plain = median(
        (0..runs)
            .map(|_| per_call(&mut plain("sock", "100000")))
            .collect(),
    );
    let sock_traced = median(
        (0..runs)
            .map(|_| per_call(&mut traced("sock", "1000")))
            .collect(),
    );
    let other_plain = median(
        (0..runs)
            .map(|_| per_call(&mut plain("other", "1000000")))
            .collect(),
    );
    let other_traced = median(
        (0..runs)
            .map(|_| per_call(&mut traced("other", "1000000")))
            .collect(),
    );
    println!("socket call (send or recv on a socketpair):");
    println!(
        "  untraced, each:                    {:>10.2} µs",
        sock_plain / 1000.0
    );
    println!(
        "  traced, each (a step):             {:>10.2} µs",
        sock_traced / 1000.0
    );
    println!(
        "  trace overhead per socket call:    {:>10.2} µs",
        (sock_traced - sock_plain) / 1000.0
    );
    println!("call that is not a socket's (getppid):");
    println!(
        "  untraced, each:                    {:>10.3} µs",
        other_plain / 1000.0
    );
    println!(
        "  with the filter, each:             {:>10.3} µs",
        other_traced / 1000.0
    );
}
