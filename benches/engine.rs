//! Figures for the README: a whole `hello` run as a process against the
//! same calls in a plain C program, the engine's overhead per step on a
//! 1000-step ping-pong against the same syscalls made directly, and the
//! same per step on a lesson ten times as long.
//!
//! Run with `cargo bench --bench engine`.

use sockstep::engine::{Options, Run};
use sockstep::lesson::Lesson;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sockstep");

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_command(cmd: &mut Command, runs: usize) -> Duration {
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let out = cmd.output().expect("command runs");
            assert!(
                out.status.success(),
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed()
        })
        .collect();
    median(times)
}

fn c_baseline() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = dir.join("baseline_hello");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/baseline_hello.c");
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .ok()?
        .success();
    ok.then_some(exe)
}

/// A lesson of `rounds` ping-pongs: 7 steps of setup, 4 a round, 1 close.
fn ping_pong(rounds: usize) -> Lesson {
    let mut src = String::from(
        "lesson \"ping-pong\"\nactors server, client\n\
         server: s = socket(AF_INET, SOCK_STREAM, 0)\n\
         server: setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1)\n\
         server: bind(s, 127.0.0.1:8080)\nserver: listen(s, 5)\n\
         client: s = socket(AF_INET, SOCK_STREAM, 0)\n\
         client: connect(s, 127.0.0.1:8080)\nserver: c = accept(s)\n",
    );
    for _ in 0..rounds {
        src.push_str(
            "client: send(s, \"ping\")\nserver: recv(c, 4) => \"ping\"\n\
             server: send(c, \"pong\")\nclient: recv(s, 4) => \"pong\"\n",
        );
    }
    src.push_str("client: close(s)\n");
    Lesson::parse("ping-pong.lesson", src.as_bytes()).expect("the generated lesson parses")
}

/// The ping-pong's syscalls made directly, both ends in this process.
fn direct_ping_pong(rounds: usize) -> Duration {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut server, _) = l.accept().unwrap();
    let mut buf = [0u8; 4];
    let t = Instant::now();
    for _ in 0..rounds {
        client.write_all(b"ping").unwrap();
        server.read_exact(&mut buf).unwrap();
        server.write_all(b"pong").unwrap();
        client.read_exact(&mut buf).unwrap();
    }
    t.elapsed()
}

/// The full-screen view going back from step 50: a fresh run to step 49.
fn back_from_50() -> Duration {
    use sockstep::tui::app::{Action, App};
    let lesson = ping_pong(12);
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut app = App::new(lesson.clone(), Options::new(BIN), 80).expect("the view starts");
        for _ in 0..50 {
            app.handle(Action::Next).expect("a step");
        }
        let t = Instant::now();
        app.handle(Action::Back).expect("back");
        times.push(t.elapsed());
        assert_eq!(app.at, 49);
    }
    median(times)
}

fn main() {
    println!("sockstep benchmark (medians)\n");

    // First, before the namespaces of many short runs are being torn down
    // in the background.
    let rounds = 248;
    let lesson = ping_pong(rounds);
    let steps = lesson.steps.len();
    let opts = Options::new(BIN);
    let mut engine_times = Vec::new();
    let mut direct_times = Vec::new();
    for _ in 0..7 {
        let mut run = Run::start(lesson.clone(), &opts).expect("the run starts");
        let t = Instant::now();
        run.run_to_end(|_| {}).expect("the run ends");
        engine_times.push(t.elapsed());
        assert!(run.passed(), "every ping-pong expectation holds");
        direct_times.push(direct_ping_pong(rounds));
    }
    let engine = median(engine_times);
    let direct = median(direct_times);
    let ping_pong_steps = rounds * 4;
    let per_step = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n as f64;
    println!("\n{steps}-step ping-pong lesson:");
    println!(
        "  engine, per step:                   {:>8.2} µs",
        per_step(engine, steps)
    );
    println!(
        "  same syscalls made directly, each:  {:>8.2} µs",
        per_step(direct, ping_pong_steps)
    );
    println!(
        "  engine overhead per step:           {:>8.2} µs  (target: under 25 µs)",
        per_step(engine, steps) - per_step(direct, ping_pong_steps)
    );

    // Run time grows with the number of steps, no faster: the same lesson
    // ten times as long.
    let long = ping_pong(rounds * 10);
    let long_steps = long.steps.len();
    let mut long_times = Vec::new();
    for _ in 0..3 {
        let mut run = Run::start(long.clone(), &opts).expect("the run starts");
        let t = Instant::now();
        run.run_to_end(|_| {}).expect("the run ends");
        long_times.push(t.elapsed());
    }
    let long_per_step = per_step(median(long_times), long_steps);
    println!(
        "{long_steps}-step ping-pong, per step:       {:>8.2} µs  ({:.2} x the {steps}-step figure; \
         target: under 1.5 x)",
        long_per_step,
        long_per_step / per_step(engine, steps)
    );

    let back = back_from_50();
    println!(
        "full-screen view, back from step 50:  {:>8.2} ms  (target: under 100 ms)",
        back.as_secs_f64() * 1e3
    );

    println!();

    let full = time_command(
        Command::new(BIN).args(["run", "hello", "--no-pause", "--stable"]),
        40,
    );
    println!(
        "hello, whole run as a process:        {:>8.2} ms",
        full.as_secs_f64() * 1e3
    );
    let hello = time_command(
        Command::new(BIN).args(["run", "hello", "--no-pause", "--stable", "--no-packets"]),
        40,
    );
    println!(
        "the same with --no-packets:           {:>8.2} ms",
        hello.as_secs_f64() * 1e3
    );
    match c_baseline() {
        Some(exe) => {
            let c = time_command(&mut Command::new(&exe), 40);
            println!(
                "hello as a plain C program (2 procs): {:>8.2} ms",
                c.as_secs_f64() * 1e3
            );
            println!(
                "ratio, --no-packets to C:             {:>8.1} x  (target: under 10 x)",
                hello.as_secs_f64() / c.as_secs_f64()
            );
            println!(
                "ratio, with packets to C:             {:>8.1} x  (target: under 5 x)",
                full.as_secs_f64() / c.as_secs_f64()
            );
        }
        None => println!("hello as a plain C program:           (no C compiler: skipped)"),
    }
}
