//! The full-screen view: its state without a terminal, its screens drawn
//! into ratatui's TestBackend, and the real binary driven in tmux as a
//! person would.

mod common;
use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockstep::engine::Options;
use sockstep::lesson::Lesson;
use sockstep::tui::app::{Action, App};
use sockstep::tui::ui;
use std::process::Command;
use std::time::{Duration, Instant};

fn lesson(path: &str) -> Lesson {
    Lesson::parse(path, &std::fs::read(root().join(path)).unwrap()).unwrap()
}

fn app(path: &str, cols: u16) -> App {
    App::new(lesson(path), Options::new(BIN), ui::ladder_width(cols)).unwrap()
}

fn draw(app: &App, cols: u16, rows: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    format!("{}", t.backend())
}

#[test]
fn back_shows_exactly_the_screen_shown_before() {
    let mut a = app("lessons/01-hello.lesson", 80);
    let mut shown = vec![draw(&a, 80, 24)];
    for _ in 0..5 {
        a.handle(Action::Next).unwrap();
        shown.push(draw(&a, 80, 24));
    }
    a.handle(Action::Back).unwrap();
    a.handle(Action::Back).unwrap();
    assert_eq!(a.at, 3);
    assert_eq!(draw(&a, 80, 24), shown[3]);
    assert_eq!(a.warning, None);
    // And forward again from there gives what was shown the first time.
    a.handle(Action::Next).unwrap();
    assert_eq!(draw(&a, 80, 24), shown[4]);
}

#[test]
fn keys_move_through_the_run() {
    let mut a = app("lessons/03-deadlock.lesson", 80);
    a.handle(Action::End).unwrap();
    assert!(a.at_end());
    let alert = a.screen().alert.clone().expect("an alert at the end");
    assert_eq!(alert.kind, sockstep::tui::app::AlertKind::Deadlock);
    assert!(alert.lines.iter().any(|l| l.contains("waits in recv")));
    a.handle(Action::Restart).unwrap();
    assert_eq!(a.at, 0);
    for d in [Action::Goto, Action::Digit(7), Action::Enter] {
        a.handle(d).unwrap();
    }
    assert!(a.screen().ran.contains(&6), "step 7 has run");
    assert!(!a.screen().ran.contains(&7), "step 8 has not");
    a.handle(Action::ToggleAuto).unwrap();
    let every = a.auto.unwrap();
    a.handle(Action::Faster).unwrap();
    assert!(a.auto.unwrap() < every);
    a.handle(Action::ToggleAuto).unwrap();
    assert_eq!(a.auto, None);
    let at = a.at;
    for key in [Action::Next, Action::Quit, Action::Other] {
        a.handle(Action::Help).unwrap();
        assert!(a.help);
        a.handle(key).unwrap();
        assert!(!a.help, "{key:?} closes the help");
        assert!(!a.quit, "{key:?} in the help does not quit");
        assert_eq!(a.at, at, "{key:?} in the help does not move the run");
    }
    a.handle(Action::Glossary).unwrap();
    assert!(
        a.autoplay_paused(),
        "autoplay waits while the words are open"
    );
    a.handle(Action::Quit).unwrap();
    assert!(!a.glossary && !a.quit);
    a.handle(Action::Goto).unwrap();
    assert!(a.autoplay_paused(), "autoplay waits while g takes a number");
    a.handle(Action::Digit(2)).unwrap();
    a.handle(Action::Enter).unwrap();
    assert!(!a.autoplay_paused());
    a.handle(Action::Quit).unwrap();
    assert!(a.quit);
}

#[test]
fn screens_at_chosen_steps() {
    // hello after connect, deadlock at its end, reset with its RST.
    let cases = [
        ("lessons/01-hello.lesson", 7, "hello-7"),
        ("lessons/03-deadlock.lesson", 99, "deadlock-end"),
        ("lessons/08-reset.lesson", 9, "reset-9"),
    ];
    for (path, step, name) in cases {
        for (cols, rows) in [(80, 24), (100, 30), (160, 48)] {
            let mut a = app(path, cols);
            if step == 99 {
                a.handle(Action::End).unwrap();
            } else {
                a.go_to(step).unwrap();
            }
            let screen = draw(&a, cols, rows);
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                snapshot_suffix => format!("{name}-{cols}x{rows}"),
            }, {
                insta::assert_snapshot!("screen", screen);
            });
        }
    }
}

#[test]
fn going_back_from_step_50_is_quick() {
    // 50 steps of ping-pong: the run is made again up to step 49.
    let mut src = String::from(
        "lesson \"pp\"\nactors server, client\nserver: s = socket(AF_INET, SOCK_STREAM, 0)\n\
         server: bind(s, 127.0.0.1:8080)\nserver: listen(s, 5)\n\
         client: s = socket(AF_INET, SOCK_STREAM, 0)\nclient: connect(s, 127.0.0.1:8080)\n\
         server: c = accept(s)\n",
    );
    for _ in 0..12 {
        src.push_str("client: send(s, \"ping\")\nserver: recv(c, 4)\nserver: send(c, \"pong\")\nclient: recv(s, 4)\n");
    }
    let l = Lesson::parse("pp.lesson", src.as_bytes()).unwrap();
    let mut a = App::new(l, Options::new(BIN), 80).unwrap();
    for _ in 0..50 {
        a.handle(Action::Next).unwrap();
    }
    let t = Instant::now();
    a.handle(Action::Back).unwrap();
    let took = t.elapsed();
    assert_eq!(a.at, 49);
    // Not a speed test (the benchmark has the figure), only a bound that
    // holds on any machine that runs these tests: a few seconds.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// tmux, running `cmd` in a pane `cols` x `rows`.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str, cols: u16, rows: u16, cmd: &str) -> Tmux {
        let socket = format!("sockstep-{tag}");
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                cmd,
            ])
            .env("SOCKSTEP_TEST_TAG", tag)
            .current_dir(root())
            .status()
            .expect("tmux is installed");
        assert!(ok.success());
        Tmux { socket }
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", k])
                .status()
                .unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits (up to 10 s) until the pane shows `what`.
    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            let sessions = Command::new("tmux")
                .args(["-L", &self.socket, "ls"])
                .output()
                .unwrap();
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never showed {what:?}:\n{s}\n{sessions:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn the_binary_in_a_terminal_goes_back_and_restores_it() {
    for quit in ["q", "C-c"] {
        let tag = unique_tag(&format!("tui-{}", quit.replace('-', "")));
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let cmd = format!(
            "stty -a > {d}/before; {BIN} run hello; echo $? > {d}/status; stty -a > {d}/after; echo DONE; sleep 60"
        );
        let t = Tmux::new(&tag, 80, 24, &cmd);
        t.wait_for("0 of 14 steps run");
        t.keys(&["Space", "Space", "Space"]);
        let third = t.wait_for("3 of 14 steps run");
        t.keys(&["Space", "Space"]);
        t.wait_for("5 of 14 steps run");
        t.keys(&["Left", "Left"]);
        let back = t.wait_for("3 of 14 steps run");
        assert_eq!(back, third, "the screen after going back differs");
        t.keys(&[quit]);
        t.wait_for("DONE");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(read("status").trim(), "0");
        assert_eq!(read("before"), read("after"), "terminal settings changed");
        assert_eq!(
            processes_tagged(&tag).len(),
            2,
            "only the shell and its sleep remain"
        );
        drop(t);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_terminal_that_goes_away_ends_the_run() {
    let tag = unique_tag("tui-hangup");
    let t = Tmux::new(&tag, 80, 24, &format!("{BIN} run hello; sleep 60"));
    t.wait_for("0 of 14 steps run");
    drop(t);
    // The hangup reaches sockstep at once; its exit, with its actors', is
    // waited for here, with a deadline.
    let start = Instant::now();
    loop {
        let left: Vec<u32> = processes_tagged(&tag)
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .is_ok_and(|s| !s.contains(") Z "))
                    && std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                        c.windows(8).any(|w| w == b"sockstep") && !c.starts_with(b"tmux")
                    })
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn record_writes_an_asciicast_of_the_session() {
    let tag = unique_tag("tui-record");
    let dir = std::env::temp_dir().join(&tag);
    std::fs::create_dir_all(&dir).unwrap();
    let cast = dir.join("demo.cast");
    let cmd = format!(
        "{BIN} run hello --record {}; echo DONE; sleep 60",
        cast.display()
    );
    let t = Tmux::new(&tag, 100, 30, &cmd);
    t.wait_for("0 of 14 steps run");
    t.keys(&["Space", "Space"]);
    t.wait_for("2 of 14 steps run");
    t.keys(&["q"]);
    t.wait_for("DONE");
    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    let events: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let times: Vec<f64> = events.iter().map(|e| e[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times go forward");
    assert!(events.iter().all(|e| e[1] == "o"));
    let output: String = events.iter().map(|e| e[2].as_str().unwrap()).collect();
    assert!(
        output.contains("Hello, sockets"),
        "the recording shows the lesson"
    );
    assert!(
        events.len() >= 3,
        "a frame for the start and each of two steps"
    );
    drop(t);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_quiz_asks_before_marked_steps_and_keeps_score() {
    let mut a = app("lessons/01-hello.lesson", 80);
    a.start_quiz();
    // Steps 1 to 4 are not marked: they just run.
    for _ in 0..4 {
        a.handle(Action::Next).unwrap();
    }
    assert!(!a.wants_text());
    // Step 5, accept, is marked: Next asks first, and runs nothing.
    a.handle(Action::Next).unwrap();
    assert!(a.wants_text());
    assert_eq!(a.screen().ran.len(), 4);
    for c in "blocks".chars() {
        a.handle(Action::Char(c)).unwrap();
    }
    a.handle(Action::Enter).unwrap();
    assert_eq!(a.screen().ran.len(), 5, "the answer ran the step");
    let q = a.quiz.clone().unwrap();
    assert_eq!((q.right, q.asked), (1, 1));
    assert!(q.verdict.unwrap().starts_with("✓ right"));
    // Step 6 runs; step 7, connect, is asked: a wrong answer.
    a.handle(Action::Next).unwrap();
    a.handle(Action::Next).unwrap();
    assert!(a.wants_text());
    a.handle(Action::Char('7')).unwrap();
    a.handle(Action::Enter).unwrap();
    let q = a.quiz.clone().unwrap();
    assert_eq!((q.right, q.asked), (1, 2));
    assert_eq!(q.verdict.unwrap(), "✗ not 7: it gave 0");
}

#[test]
fn the_source_pane_shows_the_lesson_that_runs_wherever_it_came_from() {
    // A path that does not exist relative to the test: the text parsed is
    // what is drawn.
    let src = std::fs::read(root().join("lessons/01-hello.lesson")).unwrap();
    let l = Lesson::parse("elsewhere/hello.lesson", &src).unwrap();
    let a = App::new(l, Options::new(BIN), 160).unwrap();
    let screen = draw(&a, 160, 48);
    assert!(
        screen.contains("server: s = socket(AF_INET, SOCK_STREAM, 0)"),
        "{screen}"
    );
}

#[test]
fn a_deadlock_is_shown_before_the_run_is_torn_down() {
    let mut a = app("lessons/03-deadlock.lesson", 80);
    a.handle(Action::End).unwrap();
    let end = a.at;
    a.handle(Action::Back).unwrap();
    assert_eq!(a.at, end - 1);
    let s = a.screen();
    assert_eq!(
        s.alert.as_ref().map(|a| a.kind),
        Some(sockstep::tui::app::AlertKind::Deadlock)
    );
    let states: Vec<&str> = s.rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(
        states.iter().filter(|s| **s == "ESTABLISHED").count(),
        2,
        "{states:?}"
    );
}

/// The panes of the screen that `screen` shows, by their title's first
/// word: the lines between a pane's top border and its bottom one.
fn pane(screen: &str, title: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in screen.lines() {
        let t = line.trim_start_matches(['┌', '┏']).trim_start();
        if (line.starts_with('┌') || line.starts_with('┏'))
            && t.trim_start_matches("▸ ").starts_with(title)
        {
            inside = true;
            continue;
        }
        if inside && (line.starts_with('└') || line.starts_with('┗')) {
            out.push_str(line);
            break;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn at_80x24_and_100x30_everything_is_in_sight_or_a_key_away() {
    // hello, step 7: the handshake's arrows and what accept returned.
    for (cols, rows, pgdn) in [(100, 30, false), (80, 24, true)] {
        let tag = unique_tag(&format!("tui-hello-{cols}"));
        let t = Tmux::new(&tag, cols, rows, &format!("{BIN} run hello; sleep 60"));
        t.wait_for("0 of 14 steps run");
        t.keys(&["g", "7", "Enter"]);
        let s = t.wait_for("7 of 14 steps run");
        let ladder = pane(&s, "ladder");
        for arrow in ["◀─ SYN seq 0", "── SYN-ACK seq 0 ack 1"] {
            assert!(ladder.contains(arrow), "{cols}x{rows}: no {arrow:?}:\n{s}");
        }
        if pgdn {
            assert!(!ladder.contains("returns 4"), "{s}");
            assert!(
                ladder.contains("more: PgDn"),
                "the mark names the key:\n{s}"
            );
            t.keys(&["PageDown"]);
            let s = t.wait_for("returns 4");
            assert!(pane(&s, "ladder").contains("◀─ ACK seq 1 ack 1"), "{s}");
        } else {
            assert!(ladder.contains("◀─ ACK seq 1 ack 1"), "{s}");
            assert!(ladder.contains("c = accept(3) returns 4"), "{s}");
            // The narration, whole.
            let words = pane(&s, "what happened");
            assert!(words.contains("The kernel sends SYN"), "{s}");
            assert!(words.contains("│this client."), "{s}");
            assert!(!words.contains("more"), "{s}");
        }
        // Help, closed by Esc, leaves the run where it was.
        t.keys(&["?"]);
        t.wait_for("Any key closes");
        t.keys(&["Escape"]);
        let s = t.wait_for("7 of 14 steps run");
        assert!(!s.contains("Any key closes"), "{s}");
        // Quit after the last step: what to run next.
        t.keys(&["End"]);
        t.wait_for("THE END");
        t.keys(&["q"]);
        t.wait_for("sockstep run 2");
    }

    // lesson 19, step 9: four sockets, two of them below; Tab to the
    // sockets pane shows them all.
    let tag = unique_tag("tui-fork");
    let t = Tmux::new(&tag, 80, 24, &format!("{BIN} run 19; sleep 60"));
    t.wait_for("0 of 16 steps run");
    t.keys(&["g", "9", "Enter"]);
    let s = t.wait_for("9 of 16 steps run");
    let table = pane(&s, "sockets");
    assert!(table.contains("more: Tab here, PgDn"), "{s}");
    assert!(!table.contains("client fd 3"), "{s}");
    t.keys(&["Tab", "Tab", "Tab"]);
    let s = t.wait_for("┏ ▸ sockets");
    let table = pane(&s, "sockets");
    for row in ["server fd 3", "server fd 4", "worker fd 4", "client fd 3"] {
        assert!(table.contains(row), "no {row:?}:\n{s}");
    }
    assert!(!table.contains("more"), "{s}");
    // z: the focused pane fills the screen, and back.
    t.keys(&["z"]);
    let s = t.wait_for("9 of 16 steps run");
    assert!(!s.contains("what happened"), "{s}");
    t.keys(&["z"]);
    t.wait_for("what happened");
    drop(t);

    // lesson 8, step 9: its narration whole once Tab gives it the room.
    let tag = unique_tag("tui-reset");
    let t = Tmux::new(&tag, 80, 24, &format!("{BIN} run 8; sleep 60"));
    t.wait_for("0 of 13 steps run");
    t.keys(&["g", "9", "Enter"]);
    let s = t.wait_for("9 of 13 steps run");
    assert!(
        pane(&s, "what happened").contains("more: Tab here, PgDn"),
        "{s}"
    );
    t.keys(&["Tab", "Tab"]);
    let s = t.wait_for("┏ ▸ what happened");
    let words = pane(&s, "what happened");
    assert!(words.contains("no TIME-WAIT."), "{s}");
    assert!(!words.contains("more"), "{s}");
    drop(t);

    // Too small: one line that says the size it needs.
    let tag = unique_tag("tui-small");
    let t = Tmux::new(&tag, 50, 15, &format!("{BIN} run 8; sleep 60"));
    t.wait_for("at least 60x20; this");
}

#[test]
fn trace_with_pause_waits_for_enter_after_each_step() {
    let tag = unique_tag("trace-pause");
    let dir = scratch(&tag);
    let mut exes = Vec::new();
    for c in write_c("hello", &dir) {
        let exe = c.with_extension("");
        let ok = Command::new("cc")
            .arg("-o")
            .arg(&exe)
            .arg(&c)
            .status()
            .unwrap();
        assert!(ok.success());
        exes.push(exe);
    }
    exes.sort();
    // client, server: the server goes first.
    let cmd = format!(
        "{BIN} trace --pause --stable -- {} --- {}; sleep 60",
        exes[1].display(),
        exes[0].display()
    );
    let t = Tmux::new(&tag, 100, 30, &cmd);
    let first = t.wait_for("socket(AF_INET, SOCK_STREAM, 0) = 3");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!t.screen().contains("setsockopt"), "{first}");
    t.keys(&["Enter"]);
    t.wait_for("setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1) = 0");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn t_shows_rfc_9293s_diagram_with_each_socket_at_its_state() {
    for (cols, rows) in [(80u16, 24u16), (120, 40)] {
        let tag = unique_tag(&format!("tui-diagram-{cols}"));
        let t = Tmux::new(&tag, cols, rows, &format!("{BIN} run hello; sleep 60"));
        t.wait_for("0 of 14 steps run");
        t.keys(&["Space", "Space", "Space", "Space"]);
        t.wait_for("4 of 14 steps run");
        t.keys(&["t"]);
        let four = t.wait_for("TCP states, RFC 9293");
        // The whole diagram is in sight: from CLOSED at the top to the
        // CLOSED where connections end.
        for state in [
            "[LISTEN]",
            "[SYN-SENT]",
            "[ESTABLISHED]",
            "[TIME-WAIT]",
            "[LAST-ACK]",
        ] {
            assert!(four.contains(state), "{cols}x{rows}: {state}\n{four}");
        }
        let line = |screen: &str, what: &str| -> String {
            screen
                .lines()
                .find(|l| l.contains(what))
                .unwrap_or_default()
                .to_string()
        };
        // server's socket 3 is labelled at LISTEN (just above its box), and
        // listen() took the passive OPEN: that arrow heavy.
        assert!(
            line(&four, "server:3").trim_start().starts_with("server:3"),
            "{four}"
        );
        assert!(
            line(&four, "passive OPEN").contains("passive OPEN"),
            "{four}"
        );
        assert!(
            four.contains('┃') || four.contains('━'),
            "no heavy hop:\n{four}"
        );
        // Step 7: the handshake. Both ends of the connection at
        // ESTABLISHED, both paths there heavy.
        t.keys(&["Space", "Space", "Space"]);
        let seven = t.wait_for("client:3");
        let labels = line(&seven, "client:3");
        assert!(labels.contains("server:4"), "{seven}");
        assert!(line(&seven, "[ESTABLISHED]").contains('━'), "{seven}");
        // The end: the client's connection, no fd's, in TIME-WAIT.
        t.keys(&["End"]);
        let end = t.wait_for("14 of 14");
        assert!(line(&end, "[TIME-WAIT]").contains("client:-"), "{end}");
        // t again: the panes are back.
        t.keys(&["t"]);
        t.wait_for("ladder");
    }
}
