//! The exercises that come with sockstep: their starting files (embedded
//! from `exercises/` by build.rs), their hints, and the goals a run must
//! meet, all out of the student's reach. A student's file says what their
//! program does and what they expect of it; whether it does what the
//! exercise asks is decided here, from what the run did.

use crate::event::{Event, Outcome};
use crate::lesson::Lesson;

/// The starting files, by file name.
const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/exercises.rs"));

/// What a call gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gives {
    /// It returned, whatever the value.
    Success,
    /// It returned this value.
    Value(i64),
    /// It received exactly these bytes.
    Bytes(&'static [u8]),
    /// It failed with this errno.
    Errno(i32),
}

/// One call of one actor, and what it gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Atom {
    pub actor: &'static str,
    pub call: &'static str,
    pub gives: Gives,
}

/// One condition of an exercise's goal, checked against the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// No actor is left waiting for ever.
    NoDeadlock,
    /// No actor's process dies.
    NoCrash,
    /// The call gives this at some step.
    Happens(Atom),
    /// The first call gives what it gives at an earlier step than the
    /// second (both must happen).
    Before(Atom, Atom),
}

/// An exercise as sockstep ships it.
#[derive(Debug)]
pub struct Exercise {
    /// Its file name, such as `03-who-speaks-first.lesson`.
    pub file: &'static str,
    /// The file the student starts from.
    pub start: &'static [u8],
    /// Its hints, the first one first.
    pub hints: &'static [&'static str],
    pub goals: &'static [Goal],
}

const fn atom(actor: &'static str, call: &'static str, gives: Gives) -> Atom {
    Atom { actor, call, gives }
}

/// The goals and hints of each exercise, by file name.
const GOALS: &[(&str, &[&str], &[Goal])] = {
    use Gives::*;
    use Goal::*;
    &[
        (
            "01-listen-first.lesson",
            &[
                "connect() is refused when nothing listens on the port yet.",
                "A connect can only succeed once the server's socket is listening. Move the \
                 client's connect below the server's listen.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Happens(atom("server", "listen", Value(0))),
                Before(
                    atom("server", "listen", Value(0)),
                    atom("client", "connect", Value(0)),
                ),
                Happens(atom("server", "accept", Success)),
            ],
        ),
        (
            "02-restart.lesson",
            &[
                "The restarted server's bind() fails: the port is still taken. By what, and \
                 in which state?",
                "The old connection waits in TIME-WAIT with the old server's options. \
                 SO_REUSEADDR must be set on both servers' sockets before bind.",
            ],
            &[
                NoCrash,
                Happens(atom("server", "accept", Success)),
                Before(
                    atom("server", "close", Value(0)),
                    atom("client", "close", Value(0)),
                ),
                Happens(atom("restarted", "bind", Value(0))),
                Happens(atom("restarted", "listen", Value(0))),
            ],
        ),
        (
            "03-who-speaks-first.lesson",
            &[
                "Both sides wait in recv() for the other. Who must speak first?",
                "In this protocol the client speaks first: move its send above its recv.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Happens(atom("server", "recv", Bytes(b"the question"))),
                Happens(atom("client", "recv", Bytes(b"the answer"))),
                Before(
                    atom("client", "send", Success),
                    atom("server", "send", Success),
                ),
            ],
        ),
        (
            "04-end-of-file.lesson",
            &[
                "recv() returns 0 only when the peer has closed its side. Who closes first \
                 here?",
                "Each side waits for the other to close first. The server has sent all it \
                 has: let it close the connection right after its send.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Before(
                    atom("client", "recv", Bytes(b"all of it")),
                    atom("client", "recv", Value(0)),
                ),
            ],
        ),
        (
            "05-backlog.lesson",
            &[
                "listen() takes the socket and a backlog: how many finished connections may \
                 wait to be accepted.",
                "Any small number will do, such as 5.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Before(
                    atom("server", "listen", Value(0)),
                    atom("client", "connect", Value(0)),
                ),
                Before(
                    atom("client", "connect", Value(0)),
                    atom("server", "accept", Success),
                ),
            ],
        ),
        (
            "06-half-close.lesson",
            &[
                "The server reads until recv() returns 0, but the client never says it is \
                 done.",
                "shutdown(s, SHUT_WR) after the send says it, and keeps the client able to \
                 read the reply.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Happens(atom("client", "shutdown", Value(0))),
                Before(
                    atom("server", "recv", Value(0)),
                    atom("server", "send", Success),
                ),
                Happens(atom("client", "recv", Bytes(b"a reply"))),
            ],
        ),
        (
            "07-no-sigpipe.lesson",
            &[
                "Writing to a reset connection raises SIGPIPE, which kills the process.",
                "Pass MSG_NOSIGNAL to send() and the error comes back as EPIPE instead.",
            ],
            &[NoCrash, Happens(atom("client", "send", Errno(libc::EPIPE)))],
        ),
        (
            "08-udp-reply.lesson",
            &[
                "The server sends its reply to 127.0.0.1:9001. Which port does the client's \
                 socket have?",
                "The client's socket has a port the kernel picked. Bind it to \
                 127.0.0.1:9001 before it sends.",
            ],
            &[
                NoDeadlock,
                NoCrash,
                Happens(atom("client", "bind", Value(0))),
                Happens(atom("server", "recvfrom", Bytes(b"ping"))),
                Happens(atom("client", "recvfrom", Bytes(b"pong"))),
            ],
        ),
        (
            "09-refused.lesson",
            &[
                "Nothing listens on the port: the kernel answers the SYN with a RST.",
                "The errno starts with ECONN.",
            ],
            &[
                NoCrash,
                Happens(atom("client", "connect", Errno(libc::ECONNREFUSED))),
            ],
        ),
    ]
};

/// Every exercise, in order.
pub fn all() -> Vec<Exercise> {
    FILES
        .iter()
        .map(|(file, start)| {
            let (hints, goals) = GOALS
                .iter()
                .find(|(f, ..)| f == file)
                .map(|(_, h, g)| (*h, *g))
                .unwrap_or((&[], &[]));
            Exercise {
                file,
                start,
                hints,
                goals,
            }
        })
        .collect()
}

/// The exercise a file is a copy of: by its file name, or else by the
/// title its first line gives.
pub fn find(path: &str, title: Option<&str>) -> Option<Exercise> {
    let name = std::path::Path::new(path).file_name()?.to_str()?;
    let all = all();
    if let Some(i) = all.iter().position(|e| e.file == name) {
        return all.into_iter().nth(i);
    }
    let title = title?;
    all.into_iter()
        .find(|e| self::title(e.start).as_deref() == Some(title))
}

/// The title a lesson file's `lesson "..."` line gives.
pub fn title(bytes: &[u8]) -> Option<String> {
    header(bytes, "lesson")
}

/// The string of a lesson file's header line `key "..."`, read even from
/// a file that does not parse (a blank left in it, say).
pub fn header(bytes: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(key)?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let inner = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
        Some(inner.replace("\\\"", "\""))
    })
}

/// Why a goal is not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// Actors wait for ever: at these steps.
    Deadlock { steps: Vec<usize> },
    /// An actor's process died at this step.
    Crashed { actor: String, step: usize },
    /// The call never gave this.
    Never(Atom),
    /// Both happened, in the other order.
    Order(Atom, Atom),
}

/// What one call gave, in the order the run shows them.
struct Done<'a> {
    actor: &'a str,
    call: &'static str,
    outcome: &'a Outcome,
}

fn gives(outcome: &Outcome, want: Gives) -> bool {
    match (outcome, want) {
        (Outcome::Returned { .. }, Gives::Success) => true,
        (Outcome::Returned { ret, .. }, Gives::Value(v)) => *ret == v,
        (Outcome::Returned { data, .. }, Gives::Bytes(b)) => data.as_deref() == Some(b),
        (Outcome::Failed { errno }, Gives::Errno(e)) => *errno == e,
        _ => false,
    }
}

/// The goals `goals` not met by the run that gave `events`, the first
/// first.
pub fn unmet(goals: &[Goal], lesson: &Lesson, events: &[Event]) -> Vec<Unmet> {
    let name = |a: usize| lesson.actors.get(a).map_or("?", |s| s.as_str());
    let mut done = Vec::new();
    let mut deadlock = None;
    let mut crash = None;
    for e in events {
        match e {
            Event::Call {
                actor,
                call,
                outcome,
                ..
            }
            | Event::Completed {
                actor,
                call,
                outcome,
                ..
            } if !matches!(outcome, Outcome::Blocked { .. }) => done.push(Done {
                actor: name(*actor),
                call: call.name(),
                outcome,
            }),
            Event::Deadlock { waits, .. } if !waits.is_empty() && deadlock.is_none() => {
                deadlock = Some(Unmet::Deadlock {
                    steps: waits.iter().map(|w| w.step).collect(),
                })
            }
            Event::Crashed { actor, step, .. } if crash.is_none() => {
                crash = Some(Unmet::Crashed {
                    actor: name(*actor).to_string(),
                    step: *step,
                })
            }
            _ => {}
        }
    }
    let first = |a: &Atom| {
        done.iter()
            .position(|d| d.actor == a.actor && d.call == a.call && gives(d.outcome, a.gives))
    };
    let mut out = Vec::new();
    for goal in goals {
        let miss = match goal {
            Goal::NoDeadlock => deadlock.clone(),
            Goal::NoCrash => crash.clone(),
            Goal::Happens(a) => first(a).is_none().then_some(Unmet::Never(*a)),
            Goal::Before(a, b) => match (first(a), first(b)) {
                (None, _) => Some(Unmet::Never(*a)),
                (_, None) => Some(Unmet::Never(*b)),
                (Some(i), Some(j)) if i > j => Some(Unmet::Order(*a, *b)),
                _ => None,
            },
        };
        if let Some(m) = miss
            && !out.contains(&m)
        {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exercise_file_has_goals_and_hints_and_no_hint_inside() {
        let all = all();
        assert!(all.len() >= 9);
        for e in &all {
            assert!(!e.goals.is_empty(), "{} has no goals", e.file);
            assert!(e.hints.len() >= 2, "{} needs two hints", e.file);
            let text = String::from_utf8_lossy(e.start);
            assert!(
                !text.lines().any(|l| l.trim_start().starts_with("hint")),
                "{}: its hint is in the student's file",
                e.file
            );
        }
        for (file, ..) in GOALS {
            assert!(all.iter().any(|e| e.file == *file), "no file for {file}");
        }
    }

    #[test]
    fn an_exercise_is_found_by_file_name_or_title() {
        assert!(find("/tmp/x/03-who-speaks-first.lesson", None).is_some());
        let e = find("/tmp/mine.lesson", Some("Who speaks first")).unwrap();
        assert_eq!(e.file, "03-who-speaks-first.lesson");
        assert!(find("/tmp/mine.lesson", Some("Hello, sockets")).is_none());
    }
}
