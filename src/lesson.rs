//! A lesson: the script of what each actor does, one call per step.
//!
//! The format reads like the C of a socket tutorial:
//!
//! ```text
//! lesson "Hello, sockets"
//! goal   "A server and a client trade one greeting over TCP."
//! actors server, client
//!
//! server: s = socket(AF_INET, SOCK_STREAM, 0)
//!   | The kernel hands the server the lowest free fd, 3.
//! client: connect(s, 127.0.0.1:8080)      => ECONNREFUSED
//! ```
//!
//! The book's reference chapter describes it in full.

mod error;
mod lexer;
mod parser;

pub use error::{ErrorKind, LessonError};

use crate::call::{Call, FdRef};

/// A parsed lesson, ready to run.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// The path the lesson was read from, as shown in messages.
    pub path: String,
    pub title: String,
    pub goal: Option<String>,
    /// For an exercise: what `sockstep check --hint` says.
    pub hint: Option<String>,
    /// Actor names in the order of their columns.
    pub actors: Vec<String>,
    /// `hosts lab: server; laptop: client`: the machines the actors run
    /// on, joined by a link; none for a lesson on one machine.
    pub hosts: Vec<Host>,
    /// Narration before the first step.
    pub intro: Vec<String>,
    pub steps: Vec<Step>,
    /// `expect deadlock`: the lesson is meant to end with every actor stuck.
    pub expect_deadlock: bool,
    /// `actors server, client = external`: actors whose steps a program
    /// given on the command line makes (`--actor client=./client`).
    pub external: Vec<usize>,
    /// The lesson's text, as it was read.
    pub source: String,
}

/// A machine of the lesson: its own network namespace, with loopback and
/// an end of the link to the other host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    /// The actors that run on it (indices into [`Lesson::actors`]).
    pub actors: Vec<usize>,
}

/// One step: one actor makes one call.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based step number, as shown in transcripts.
    pub number: usize,
    /// Index into [`Lesson::actors`].
    pub actor: usize,
    /// Line of the lesson file the step is written on (1-based).
    pub line: usize,
    /// `s = ...`: the name the returned fd is bound to.
    pub binding: Option<String>,
    /// `a, b = socketpair(...)`: the name for the second fd.
    pub binding2: Option<String>,
    pub call: Call<FdRef>,
    pub expect: Option<Expect>,
    /// The byte column in its line where the expectation (`=>`) starts.
    pub expect_col: Option<usize>,
    /// `=> ... ?`: `--quiz` asks for this step's result before it runs.
    pub quiz: bool,
    /// Narration shown after the call.
    pub narration: Vec<String>,
    /// Narration set apart by a blank line before the step: it opens a new
    /// part of the lesson and is shown before the call.
    pub before: Vec<String>,
    /// The call's address is the one this name holds when the step runs
    /// (bound by an earlier recvfrom, accept, getsockname or getpeername).
    pub addr_from: Option<String>,
    /// The name the address the call reports is bound to, and whether the
    /// step writes it as `name = call(...)` (else as `&name`).
    pub binds_addr: Option<(String, bool)>,
    /// `n = recv(...)`: the name the count the call returns is bound to.
    pub binds_count: Option<String>,
    /// `recv(c, buf, ...)`: the declared buffer the bytes received go to.
    pub fills: Option<String>,
    /// `send(c, buf, n, 0)`: the data is the buffer's bytes when the step
    /// runs, as many as the length says.
    pub data_from: Option<(String, Length)>,
}

/// How many bytes of a buffer a send takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Length {
    Bytes(usize),
    /// The count a name holds (`n = recv(...)`).
    Count(String),
}

/// What a step expects of its call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Expect {
    /// `=> 3`: the call returns this value.
    Value(i64),
    /// `=> ECONNREFUSED` (or `=> -1 ECONNREFUSED`): the call fails with
    /// this errno.
    Errno(i32),
    /// `=> -1`: the call fails, with whatever errno.
    Fails,
    /// `=> "text"`: the call receives exactly these bytes.
    Bytes(Vec<u8>),
    /// `=> blocks`: the call cannot complete when it is made.
    Blocks,
    /// `=> SIGPIPE`: the call kills its process with this signal.
    Signal(i32),
    /// `=> 127.0.0.1:8080`: the address the call reports (recvfrom's
    /// sender, accept's peer, getsockname's, getpeername's).
    Addr(crate::call::Addr),
    /// `=> 127.0.0.1:eph`: an address with a port the kernel picked;
    /// `:eph1` names the port: the first step that expects it takes the
    /// port its call reported, each later one expects that port, and
    /// another name another port.
    AddrEphemeral(std::net::IpAddr, Option<u32>),
}

impl Lesson {
    /// Parses a lesson from the bytes of a file.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Lesson, LessonError> {
        parser::parse(path, bytes)
    }

    /// The kernel tables that can hold this lesson's sockets.
    pub fn tables(&self) -> crate::kernel::Tables {
        use crate::call::{Domain, SockType};
        let mut t = crate::kernel::Tables::default();
        for step in &self.steps {
            let (domain, ty) = match step.call {
                Call::Socket { domain, ty, .. } => (domain, ty),
                Call::Socketpair { ty, .. } => (Domain::Unix, ty),
                _ => continue,
            };
            match (domain, ty) {
                (Domain::Inet, SockType::Stream) => t.tcp = true,
                (Domain::Inet6, SockType::Stream) => t.tcp6 = true,
                (Domain::Inet, SockType::Dgram) => t.udp = true,
                (Domain::Inet6, SockType::Dgram) => t.udp6 = true,
                (Domain::Unix, _) => t.unix = true,
                (_, SockType::Seqpacket) => {}
            }
        }
        // A dual-stack IPv6 socket's IPv4 peers are listed in tcp6 too, and
        // an IPv4 socket may talk to one: read both when either is used.
        t.tcp6 |= t.tcp && t.tcp6;
        t
    }

    /// The host actor `a` runs on (0 in a lesson without hosts).
    pub fn host_of(&self, a: usize) -> usize {
        self.hosts
            .iter()
            .position(|h| h.actors.contains(&a))
            .unwrap_or(0)
    }

    /// Whether actor `a` comes to be by another actor's fork.
    pub fn forked(&self, a: usize) -> bool {
        self.steps.iter().any(|s| s.call == Call::Fork { child: a })
    }

    /// The steps `--quiz` asks about: those marked `?`, or if none is, those
    /// with an expectation (0-based indices).
    pub fn quiz_steps(&self) -> Vec<usize> {
        let marked: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].quiz)
            .collect();
        if !marked.is_empty() {
            return marked;
        }
        (0..self.steps.len())
            .filter(|&i| self.steps[i].expect.is_some())
            .collect()
    }

    /// The unix socket paths the lesson names (bind, connect, sendto,
    /// unlink), abstract names left out.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        for step in &self.steps {
            let path = match &step.call {
                Call::Unlink { path } => Some(path.clone()),
                c => match c.addr() {
                    Some(crate::call::Addr::Unix(p)) if !p.starts_with('@') => Some(p.clone()),
                    _ => None,
                },
            };
            if let Some(p) = path.filter(|p| !p.is_empty() && !paths.contains(p)) {
                paths.push(p);
            }
        }
        paths
    }

    /// The ports the lesson's addresses name, in order, without 0.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = Vec::new();
        for step in &self.steps {
            let mut call = step.call.clone();
            if let Some(p) = call.addr_mut().and_then(|a| a.port())
                && p != 0
                && !ports.contains(&p)
            {
                ports.push(p);
            }
        }
        ports
    }
}
