//! A lesson from anyone is safe to run: it reaches nothing of the host, its
//! size is limited with clear errors, sockstep exits with a status that
//! tells the truth, and runs work under a small fd limit and in parallel.

mod common;
use common::*;
use serde_json::Value;
use std::io::Read;
use std::os::unix::net::UnixListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn sockstep(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(root());
    cmd
}

fn write_lesson(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The kinds of explanation a JSON run gave, by step.
fn why_kinds(out: &Output) -> Vec<(u64, String)> {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "call" && !e["why"].is_null())
        .map(|e| {
            (
                e["step"].as_u64().unwrap_or(0),
                e["why"]["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A unix socket server of the host's, by path and by abstract name, that
/// counts the connections it accepts.
struct HostServer {
    path: std::path::PathBuf,
    abstract_name: String,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HostServer {
    fn start(dir: &std::path::Path, tag: &str) -> HostServer {
        use std::os::linux::net::SocketAddrExt;
        let path = dir.join("host.sock");
        let abstract_name = format!("sockstep-test-{tag}");
        let by_path = UnixListener::bind(&path).unwrap();
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&abstract_name).unwrap();
        let by_name = UnixListener::bind_addr(&addr).unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for l in [by_path, by_name] {
            let n = accepted.clone();
            std::thread::spawn(move || {
                for s in l.incoming().flatten() {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    drop(s);
                }
            });
        }
        HostServer {
            path,
            abstract_name,
            accepted,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A lesson that tries to reach the host: unlink a file by absolute path
/// and by `..`, bind a socket file outside the run, connect to the host's
/// unix server by path and by abstract name.
fn attack(scratch: &std::path::Path, server: &HostServer, planted: &std::path::Path) -> String {
    let up = "../".repeat(20);
    format!(
        "lesson \"reach the host\"\nactors a\n\
         a: unlink(\"{scratch}\")\n\
         a: unlink(\"{up}{scratch_rel}\")\n\
         a: s = socket(AF_UNIX, SOCK_STREAM, 0)\n\
         a: bind(s, \"{planted}\")\n\
         a: c = socket(AF_UNIX, SOCK_STREAM, 0)\n\
         a: connect(c, \"{path}\")\n\
         a: d = socket(AF_UNIX, SOCK_STREAM, 0)\n\
         a: connect(d, \"@{name}\")\n",
        scratch = scratch.display(),
        scratch_rel = scratch.display().to_string().trim_start_matches('/'),
        planted = planted.display(),
        path = server.path.display(),
        name = server.abstract_name,
    )
}

#[test]
fn a_lesson_touches_nothing_of_the_host() {
    let dir = std::env::temp_dir().join(unique_tag("safety"));
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = dir.join("notes.txt");
    std::fs::write(&scratch, "the student's notes").unwrap();
    let planted = dir.join("planted.sock");
    let server = HostServer::start(&dir, &unique_tag("host"));
    let lesson = write_lesson(&dir, "attack.lesson", &attack(&scratch, &server, &planted));

    // The run's own namespace; the host's network (as root: chroot, and
    // Landlock's scope for abstract names).
    for extra in [&[][..], &["--host-network"][..]] {
        let out = sockstep(&["run", &lesson, "--no-pause", "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(&scratch).unwrap(),
            "the student's notes",
            "{extra:?}: the scratch file changed"
        );
        assert!(
            !planted.exists(),
            "{extra:?}: a socket file was made outside the run"
        );
        assert_eq!(
            server.accepted(),
            0,
            "{extra:?}: the host's server saw a connection"
        );
    }

    // An unprivileged user on the host's network: Landlock keeps the
    // actors to the run's directory and its abstract names, and says so.
    let nobody = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if nobody {
        // The files of this test must be reachable by that user.
        use std::os::unix::fs::PermissionsExt;
        for p in [&dir, &scratch] {
            let mode = if p.is_dir() { 0o777 } else { 0o666 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args([
                "run",
                &lesson,
                "--no-pause",
                "--format",
                "json",
                "--host-network",
            ])
            .current_dir(root())
            .env("TMPDIR", &dir)
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{}", stderr(&out));
        assert!(scratch.exists(), "unprivileged: the scratch file is gone");
        assert!(!planted.exists(), "unprivileged: a socket file was made");
        assert_eq!(
            server.accepted(),
            0,
            "unprivileged: the server saw a connection"
        );
        let kinds = why_kinds(&out);
        assert!(
            kinds.iter().any(|(_, k)| k == "outside_run"),
            "no outside_run in {kinds:?}\n{}",
            stderr(&out)
        );
        assert!(
            kinds.iter().any(|(_, k)| k == "outside_scope"),
            "no outside_scope in {kinds:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn each_limit_is_a_positioned_error() {
    let dir = std::env::temp_dir().join(unique_tag("limits"));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "lesson \"big\"\nactors a\na: s = socket(AF_INET, SOCK_STREAM, 0)\n";
    let cases: Vec<(&str, String, usize)> = vec![
        (
            "data",
            format!("{head}{}", "a: send(s, \"x\" * 16777216)\n".repeat(5)),
            8,
        ),
        (
            "actors",
            format!(
                "lesson \"many\"\nactors {}\n",
                (0..65)
                    .map(|i| format!("a{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            2,
        ),
        (
            "steps",
            format!("{head}{}", "a: close(9)\n".repeat(50_000)),
            50_003,
        ),
        ("size", format!("{head}| {}\n", "z".repeat(1 << 20)), 4),
    ];
    for (name, text, line) in cases {
        let path = write_lesson(&dir, &format!("{name}.lesson"), &text);
        let start = Instant::now();
        let out = sockstep(&["run", &path, "--no-pause"]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} took long"
        );
        // The size limit is checked before the text is read as lines.
        let at = if name == "size" {
            format!("{name}.lesson:")
        } else {
            format!("{name}.lesson:{line}:")
        };
        assert!(err.contains(&at), "{name}: no {at} in {err}");
        assert!(err.len() < 2000, "{name}: an error of {} bytes", err.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_statuses_tell_the_truth() {
    // A full disk for the transcript: an error, said once.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = sockstep(&["run", "hello", "--no-pause"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // A closed pipe (`| head`) ends it quietly.
    let mut child = sockstep(&["run", "hello", "--no-pause"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");

    // `check` refuses what is not a lesson file at once.
    let start = Instant::now();
    let out = sockstep(&["check", "/dev/zero"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn runs_work_with_64_fds() {
    for lesson in ["hello", "fork-server", "two-clients", "unix-domain"] {
        let out = sockstep(&["run", lesson, "--no-pause", "--stable"])
            .env("SOCKSTEP_TEST_TAG", unique_tag("fds"))
            .stdout(Stdio::null())
            .pre_exec_limit(64)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{lesson}: {}", stderr(&out));
    }
}

/// Starting a command with RLIMIT_NOFILE at `n`.
trait Limit {
    fn pre_exec_limit(&mut self, n: u64) -> &mut Self;
}

impl Limit for Command {
    fn pre_exec_limit(&mut self, n: u64) -> &mut Self {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            self.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }
}

#[test]
fn sixteen_host_network_runs_of_sixty_ports_in_parallel_all_pass() {
    let dir = std::env::temp_dir().join(unique_tag("ports"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("lesson \"sixty ports\"\nactors a\n");
    for i in 0..60 {
        text.push_str(&format!(
            "a: s{i} = socket(AF_INET, SOCK_STREAM, 0)\na: bind(s{i}, 127.0.0.1:{}) => 0\n",
            9000 + i
        ));
    }
    let lesson = write_lesson(&dir, "sixty.lesson", &text);
    let runs: Vec<_> = (0..16)
        .map(|_| {
            sockstep(&[
                "run",
                &lesson,
                "--no-pause",
                "--host-network",
                "--no-packets",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_parse_of_random_and_mutated_lessons_is_bounded_and_positioned() {
    // A small property test (the fuzz/ target goes further): lessons cut,
    // spliced and sprinkled with bytes never panic, parse fast, and every
    // error points inside its input.
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let sources: Vec<Vec<u8>> = lesson_files()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let alphabet = b"()[]{}\",:=*|#?.\n \t0123456789azAZ_-@/\\\xc3\xa9";
    let start = Instant::now();
    for round in 0..3000 {
        let base = &sources[(next() as usize) % sources.len()];
        let mut text = base.clone();
        for _ in 0..(1 + next() % 8) {
            let at = (next() as usize) % (text.len() + 1);
            match next() % 4 {
                0 => {
                    let end = (at + (next() as usize) % 40).min(text.len());
                    text.drain(at..end);
                }
                1 => {
                    let b = alphabet[(next() as usize) % alphabet.len()];
                    text.insert(at, b);
                }
                2 => {
                    let other = &sources[(next() as usize) % sources.len()];
                    let from = (next() as usize) % other.len();
                    let end = (from + (next() as usize) % 80).min(other.len());
                    text.splice(at..at, other[from..end].iter().copied());
                }
                _ => {
                    let b = alphabet[(next() as usize) % alphabet.len()];
                    text.splice(at..at, std::iter::repeat_n(b, (next() % 300) as usize));
                }
            }
        }
        let t = Instant::now();
        let parsed =
            std::panic::catch_unwind(|| sockstep::lesson::Lesson::parse("m.lesson", &text));
        let parsed = parsed.unwrap_or_else(|_| panic!("round {round}: the parser panicked"));
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "round {round}: slow"
        );
        if let Err(e) = parsed {
            assert!(
                e.offset <= text.len(),
                "round {round}: an error past the input"
            );
            assert!(e.line >= 1 && e.column >= 1);
            assert!(e.render(false).len() < 4000, "round {round}: a long error");
        }
    }
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn notes_on_the_host_network_say_the_lesson_port_not_the_remapped_one() {
    let out = sockstep(&[
        "run",
        "byte-order",
        "--no-pause",
        "--stable",
        "--host-network",
    ])
    .output()
    .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("sin_port holds the bytes 90 1f, read in network order as port 36895"),
        "{text}"
    );
}
