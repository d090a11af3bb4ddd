//! Turns the lines of a lesson into a [`Lesson`], checking every name.

use super::error::{ErrorKind, LessonError};
use super::lexer::{Lexer, Tok, Token};
use super::{Expect, Lesson, Step};
use crate::call::{Addr, Call, FdRef, MsgFlag, OptValue, Via, names};
use crate::errno::{ERRNOS, SIGNALS};

const HEADERS: &[&str] = &["lesson", "goal", "actors", "hosts", "expect", "hint"];

/// The most bytes a repeated string (`"x" * N`) may make.
const MAX_REPEAT: i64 = 16 << 20;
/// The most bytes of data all the strings of a lesson may make together.
pub const MAX_PAYLOAD: usize = 64 << 20;
/// The most actors a lesson may declare: each is a process.
pub const MAX_ACTORS: usize = 64;
/// The most steps a lesson may have.
pub const MAX_STEPS: usize = 50_000;
/// The largest lesson, in bytes.
pub const MAX_INPUT: usize = 1 << 20;

/// The text with control characters shown as `?`, byte for byte, so an
/// error about a binary file does not write them to the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_control() && !matches!(c, '\n' | '\t') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

pub fn parse(path: &str, bytes: &[u8]) -> Result<Lesson, LessonError> {
    if bytes.len() > MAX_INPUT {
        let text = printable(&String::from_utf8_lossy(&bytes[..MAX_INPUT]));
        let at = super::error::floor(&text, MAX_INPUT - 1);
        return Err(LessonError::new(
            ErrorKind::Limit,
            path,
            &text,
            (at, 0),
            format!("the lesson is larger than {} bytes", MAX_INPUT),
            "the limit is here",
        )
        .help("a lesson is a short text file; is this the right file?"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(e) => {
            let text = printable(&String::from_utf8_lossy(bytes));
            let at = e.valid_up_to();
            return Err(LessonError::new(
                ErrorKind::NotText,
                path,
                &text,
                (at, 1),
                format!(
                    "the lesson is not UTF-8 text (byte {} is 0x{:02x})",
                    at, bytes[at]
                ),
                "not text",
            )
            .help("a lesson is a plain text file; is this the right file?"));
        }
    };
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(LessonError::new(
            ErrorKind::NotText,
            path,
            &printable(&text),
            (at, c.len_utf8()),
            format!("the lesson holds a control character (U+{:04X})", c as u32),
            "not text",
        )
        .help("a lesson is a plain text file; is this the right file?"));
    }
    Parser::new(path, &text).run()
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    title: Option<String>,
    goal: Option<String>,
    hint: Option<String>,
    actors: Option<Vec<String>>,
    /// `actors server, client = external`: the actors a program given on
    /// the command line stands in for, and where the word is.
    external: Vec<(usize, (usize, usize))>,
    /// `hosts lab: server; laptop: client`, and where the line is.
    hosts: Option<(Vec<super::Host>, (usize, usize))>,
    expect_deadlock: bool,
    intro: Vec<String>,
    steps: Vec<Step>,
    /// Names bound so far, per actor.
    bound: Vec<Vec<String>>,
    /// A blank line came after the last step: narration now opens the next.
    gap: bool,
    /// Narration waiting for the next step.
    before: Vec<String>,
    /// Bytes of data the lesson's strings make so far.
    payload: usize,
    /// What C declarations named, per actor.
    decls: Vec<Decls>,
    /// For the step being parsed: the runtime address name its call uses,
    /// and the one the address it reports is bound to.
    addr_from: Option<String>,
    binds_addr: Option<(String, bool)>,
    fills: Option<String>,
    data_from: Option<(String, super::Length)>,
    /// Said before the narration of the step being parsed (a host name
    /// resolved).
    notes: Vec<String>,
}

/// Names a lesson's C declarations give an actor: `char buf[1024];`,
/// `struct sockaddr_in addr = 127.0.0.1:8080;`, `char *msg = "hi";`,
/// `socklen_t len = sizeof(addr);`, and counts (`n = recv(...)`).
#[derive(Debug, Clone, Default)]
struct Decls {
    buffers: Vec<(String, usize)>,
    addrs: Vec<(String, Addr)>,
    strings: Vec<(String, Vec<u8>)>,
    ints: Vec<(String, i64)>,
    /// The family of each socket a name holds, where a socket() step bound
    /// it.
    domains: Vec<(String, crate::call::Domain)>,
    /// Addresses known when the run gets there: `peer = recvfrom(...)`,
    /// `accept(s, &peer, &len)`, `struct sockaddr_in peer;`.
    runtime: Vec<String>,
    lengths: Vec<String>,
    counts: Vec<String>,
    /// `fd_set rfds;`, and the fds FD_SET put in it.
    fdsets: Vec<(String, Vec<FdRef>)>,
    /// `struct timeval tv = {0, 0};`: seconds, microseconds.
    timevals: Vec<(String, (i64, i64))>,
}

impl Decls {
    fn fdset(&mut self, name: &str) -> Option<&mut Vec<FdRef>> {
        self.fdsets
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
    fn buffer(&self, name: &str) -> Option<usize> {
        self.buffers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| *l)
    }
    fn addr(&self, name: &str) -> Option<&Addr> {
        self.addrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
    fn string(&self, name: &str) -> Option<&[u8]> {
        self.strings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_slice())
    }
    fn int(&self, name: &str) -> Option<i64> {
        self.ints.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
    fn knows(&self, name: &str) -> bool {
        self.runtime.iter().any(|n| n == name)
            || self.int(name).is_some()
            || self.buffer(name).is_some()
            || self.addr(name).is_some()
            || self.string(name).is_some()
            || self.lengths.iter().any(|n| n == name)
            || self.counts.iter().any(|n| n == name)
    }
}

/// The C type words a declaration or a step may start with; sockstep
/// knows the type from the call.
const C_TYPES: &[&str] = &[
    "int",
    "ssize_t",
    "size_t",
    "socklen_t",
    "const",
    "unsigned",
    "char",
    "struct",
];

/// A parsed argument, before it is checked against its call.
#[derive(Debug)]
enum Arg {
    Ident(String),
    Int(i64),
    Str(Vec<u8>),
    Addr(Addr),
    Pair(i64, i64),
    Flags(Vec<(String, (usize, usize))>),
    /// `&name`, cast or not: the address of a sockaddr, a length or a
    /// buffer.
    Ref(String),
    /// `sizeof(name)`, `sizeof name` or `sizeof(struct sockaddr_in)`.
    Sizeof(Option<String>),
    /// `strlen("text")` or `strlen(name)`.
    Strlen(Vec<u8>),
    /// `localhost:8080`: a host name, resolved.
    Named(String, Addr),
    /// An address the run binds to a name: known when the step runs.
    Runtime(String),
    /// `{s, POLLIN | POLLOUT}`: an fd of poll() with its events.
    PollFd(Box<ArgTok>, Vec<(String, (usize, usize))>),
}

#[derive(Debug)]
struct ArgTok {
    arg: Arg,
    span: (usize, usize),
}

impl<'a> Parser<'a> {
    fn new(path: &'a str, text: &'a str) -> Self {
        Parser {
            lexer: Lexer { path, text },
            title: None,
            goal: None,
            hint: None,
            actors: None,
            external: Vec::new(),
            hosts: None,
            expect_deadlock: false,
            intro: Vec::new(),
            steps: Vec::new(),
            bound: Vec::new(),
            gap: false,
            before: Vec::new(),
            payload: 0,
            decls: Vec::new(),
            notes: Vec::new(),
            addr_from: None,
            binds_addr: None,
            fills: None,
            data_from: None,
        }
    }

    /// Counts `bytes` of data toward the lesson's limit; an error at `span`
    /// past it.
    fn payload(&mut self, bytes: usize, span: (usize, usize)) -> Result<(), LessonError> {
        self.payload = self.payload.saturating_add(bytes);
        if self.payload > MAX_PAYLOAD {
            return Err(self
                .err(
                    ErrorKind::Limit,
                    span,
                    format!(
                        "the lesson's data passes {} MiB here",
                        MAX_PAYLOAD >> 20
                    ),
                    "too much data",
                )
                .help("a lesson's payloads are for showing buffers filling up: a few megabytes are plenty"));
        }
        Ok(())
    }

    fn err(
        &self,
        kind: ErrorKind,
        span: (usize, usize),
        msg: impl Into<String>,
        label: &str,
    ) -> LessonError {
        LessonError::new(kind, self.lexer.path, self.lexer.text, span, msg, label)
    }

    fn run(mut self) -> Result<Lesson, LessonError> {
        let text = self.lexer.text;
        let mut base = 0;
        let mut number = 0;
        for line in text.split('\n') {
            number += 1;
            let toks = self.lexer.line(base, line)?;
            self.line(number, line, &toks)?;
            base += line.len() + 1;
        }
        let end = (text.trim_end().len(), 0);
        let Some(title) = self.title.take() else {
            let (kind, msg) = if self.steps.is_empty() && self.actors.is_none() {
                (ErrorKind::Empty, "the lesson is empty")
            } else {
                (
                    ErrorKind::Header,
                    "the lesson has no `lesson \"title\"` line",
                )
            };
            return Err(self
                .err(kind, (0, 0), msg, "expected a lesson here")
                .help(
                    "a lesson starts like this:\n  lesson \"Hello, sockets\"\n  actors server, client\n  \
                     server: s = socket(AF_INET, SOCK_STREAM, 0)",
                ));
        };
        if self.steps.is_empty() {
            return Err(self
                .err(
                    ErrorKind::Header,
                    end,
                    "the lesson has no steps",
                    "expected steps after this",
                )
                .help("add a step like `server: s = socket(AF_INET, SOCK_STREAM, 0)`"));
        }
        let hosts = self.place_hosts()?;
        for &(a, span) in &self.external {
            let name = self
                .actors
                .as_ref()
                .map(|v| v[a].clone())
                .unwrap_or_default();
            let problem = if !self.steps.iter().any(|s| s.actor == a) {
                Some((
                    format!("the external actor `{name}` has no steps"),
                    "its steps are the socket calls its program must make, in order: write them",
                ))
            } else if self.steps.iter().any(|s| s.call == Call::Fork { child: a }) {
                Some((
                    format!("the external actor `{name}` is forked by another actor"),
                    "a program given for an actor runs from its start: fork an actor of the lesson",
                ))
            } else if !hosts.is_empty() {
                Some((
                    format!("the external actor `{name}` is in a lesson with hosts"),
                    "a program runs on the first machine only, for now: leave out the hosts line",
                ))
            } else {
                None
            };
            if let Some((msg, help)) = problem {
                return Err(self
                    .err(ErrorKind::Header, span, msg, "declared external here")
                    .help(help));
            }
        }
        Ok(Lesson {
            path: self.lexer.path.to_string(),
            hosts,
            title,
            goal: self.goal,
            hint: self.hint,
            actors: self.actors.unwrap_or_default(),
            intro: self.intro,
            steps: self.steps,
            expect_deadlock: self.expect_deadlock,
            external: self.external.iter().map(|(a, _)| *a).collect(),
            source: text.to_string(),
        })
    }

    fn line(&mut self, number: usize, line: &str, toks: &[Token]) -> Result<(), LessonError> {
        let Some(first) = toks.first() else {
            if line.trim().is_empty() {
                self.gap = true;
            }
            return Ok(());
        };
        match &first.tok {
            Tok::Narration(text) => {
                match self.steps.last_mut() {
                    Some(step) if !self.gap => step.narration.push(text.clone()),
                    Some(_) => self.before.push(text.clone()),
                    None => self.intro.push(text.clone()),
                }
                Ok(())
            }
            Tok::Ident(word) if toks.get(1).map(|t| &t.tok) != Some(&Tok::Colon) => {
                if HEADERS.contains(&word.as_str()) {
                    self.header(word, toks)
                } else if let Some(actors) = &self.actors
                    && toks.len() == 1
                    && actors.contains(word)
                {
                    Err(self
                        .err(
                            ErrorKind::Syntax,
                            first.span(),
                            format!("`{word}` needs a colon"),
                            "expected `:` after the actor",
                        )
                        .help(format!("write `{word}: call(...)`")))
                } else {
                    Err(self
                        .err(ErrorKind::Syntax, first.span(), format!("unexpected `{word}`"), "expected a step or a header line")
                        .help("a step is written `actor: call(...)`; header lines are lesson, goal, hint, actors and expect"))
                }
            }
            Tok::Ident(_) => self.step(number, toks),
            _ => Err(self
                .err(
                    ErrorKind::Syntax,
                    first.span(),
                    "unexpected token at the start of a line",
                    "expected a step or a header line",
                )
                .help("a step is written `actor: call(...)`; narration lines start with `|`")),
        }
    }

    fn header(&mut self, word: &str, toks: &[Token]) -> Result<(), LessonError> {
        let first = &toks[0];
        if !self.steps.is_empty() {
            return Err(self
                .err(
                    ErrorKind::Header,
                    first.span(),
                    format!("`{word}` after the first step"),
                    "header lines go first",
                )
                .help("move this line above the first step"));
        }
        let rest = &toks[1..];
        let string = |p: &Self| -> Result<String, LessonError> {
            match rest {
                [
                    Token {
                        tok: Tok::Str(s), ..
                    },
                ] => Ok(String::from_utf8_lossy(s).into_owned()),
                _ => Err(p
                    .err(
                        ErrorKind::Header,
                        span_of(rest, first),
                        format!("`{word}` takes one string"),
                        "expected a string",
                    )
                    .help(format!("write `{word} \"...\"`"))),
            }
        };
        let repeated = |p: &Self| {
            p.err(
                ErrorKind::Header,
                first.span(),
                format!("a second `{word}` line"),
                "already given above",
            )
        };
        match word {
            "lesson" => {
                if self.title.is_some() {
                    return Err(repeated(self));
                }
                self.title = Some(string(self)?);
            }
            "goal" => {
                if self.goal.is_some() {
                    return Err(repeated(self));
                }
                self.goal = Some(string(self)?);
            }
            "hint" => {
                if self.hint.is_some() {
                    return Err(repeated(self));
                }
                self.hint = Some(string(self)?);
            }
            "actors" => {
                if self.actors.is_some() {
                    return Err(repeated(self));
                }
                let mut actors: Vec<String> = Vec::new();
                let mut expect_name = true;
                let mut toks = rest.iter().peekable();
                while let Some(t) = toks.next() {
                    match (&t.tok, expect_name) {
                        // `client = external`: a program given with
                        // `--actor client=PROGRAM` makes its steps.
                        (Tok::Eq, false) => match toks.next() {
                            Some(
                                w @ Token {
                                    tok: Tok::Ident(word),
                                    ..
                                },
                            ) if word == "external" => {
                                self.external.push((actors.len() - 1, w.span()));
                            }
                            other => {
                                return Err(self
                                    .err(
                                        ErrorKind::Header,
                                        other.map_or(t.span(), Token::span),
                                        "`=` in the actors line takes `external`",
                                        "expected `external`",
                                    )
                                    .help(
                                        "write `actors server, client = external` for an actor \
                                         whose steps a program makes (`sockstep run LESSON \
                                         --actor client=./client`)",
                                    ));
                            }
                        },
                        (Tok::Ident(name), true) => {
                            if actors.contains(name) {
                                return Err(self.err(
                                    ErrorKind::Header,
                                    t.span(),
                                    format!("actor `{name}` is declared twice"),
                                    "declared already",
                                ));
                            }
                            if actors.len() == MAX_ACTORS {
                                return Err(self
                                    .err(
                                        ErrorKind::Limit,
                                        t.span(),
                                        format!("more than {MAX_ACTORS} actors"),
                                        "one too many",
                                    )
                                    .help("each actor is a process: a lesson shows a few"));
                            }
                            actors.push(name.clone());
                            expect_name = false;
                        }
                        (Tok::Comma, false) => expect_name = true,
                        _ => {
                            return Err(self
                                .err(
                                    ErrorKind::Header,
                                    t.span(),
                                    "unexpected token in the actors line",
                                    "expected an actor name",
                                )
                                .help("write `actors server, client`"));
                        }
                    }
                }
                if actors.is_empty() || expect_name {
                    return Err(self
                        .err(
                            ErrorKind::Header,
                            span_of(rest, first),
                            "the actors line names no actor",
                            "expected names",
                        )
                        .help("write `actors server, client`"));
                }
                self.bound = vec![Vec::new(); actors.len()];
                self.decls = vec![Decls::default(); actors.len()];
                self.actors = Some(actors);
            }
            "hosts" => {
                if self.hosts.is_some() {
                    return Err(repeated(self));
                }
                self.hosts = Some((self.hosts_line(first, rest)?, first.span()));
            }
            "expect" => {
                match rest {
                    [
                        Token {
                            tok: Tok::Ident(w), ..
                        },
                    ] if w == "deadlock" => self.expect_deadlock = true,
                    _ => {
                        return Err(self
                        .err(ErrorKind::Header, span_of(rest, first), "`expect` takes `deadlock`", "expected `deadlock`")
                        .help("write `expect deadlock` for a lesson that ends with every actor stuck"));
                    }
                }
            }
            _ => unreachable!("HEADERS lists the words handled here"),
        }
        Ok(())
    }

    /// `hosts lab: server; laptop: client`: each host, the actors on it.
    fn hosts_line(&self, first: &Token, rest: &[Token]) -> Result<Vec<super::Host>, LessonError> {
        let help = "write `hosts lab: server; laptop: client`: each host, a colon, \
                    the actors that run on it, and `;` between hosts";
        let Some(actors) = &self.actors else {
            return Err(self
                .err(
                    ErrorKind::Header,
                    first.span(),
                    "`hosts` before the `actors` line",
                    "the actors are not named yet",
                )
                .help("name the actors first: `actors server, client`, then `hosts ...`"));
        };
        let mut hosts: Vec<super::Host> = Vec::new();
        for part in rest.split(|t| t.tok == Tok::Semi) {
            let (name, names) = match part {
                [
                    Token {
                        tok: Tok::Ident(name),
                        ..
                    },
                    Token {
                        tok: Tok::Colon, ..
                    },
                    names @ ..,
                ] if !names.is_empty() => (name, names),
                [] => continue,
                _ => {
                    return Err(self
                        .err(
                            ErrorKind::Header,
                            span_of(part, first),
                            "a host is written `name: actor, actor`",
                            "expected a host name, a colon and actors",
                        )
                        .help(help));
                }
            };
            if hosts.iter().any(|h| &h.name == name) || actors.contains(name) {
                return Err(self
                    .err(
                        ErrorKind::Header,
                        part[0].span(),
                        format!("`{name}` is already the name of a host or an actor"),
                        "named already",
                    )
                    .help("give each host a name of its own"));
            }
            if hosts.len() == 2 {
                return Err(self
                    .err(
                        ErrorKind::Limit,
                        part[0].span(),
                        "more than two hosts",
                        "a third host",
                    )
                    .help("one link joins two hosts: put more actors on each host instead"));
            }
            let mut on = Vec::new();
            for (i, t) in names.iter().enumerate() {
                match (&t.tok, i % 2) {
                    (Tok::Ident(a), 0) => {
                        let Some(index) = actors.iter().position(|x| x == a) else {
                            return Err(self
                                .err(
                                    ErrorKind::Header,
                                    t.span(),
                                    format!("`{a}` is not an actor"),
                                    "not in the actors line",
                                )
                                .help(format!("the actors are {}", actors.join(", "))));
                        };
                        if on.contains(&index) || hosts.iter().any(|h| h.actors.contains(&index)) {
                            return Err(self
                                .err(
                                    ErrorKind::Header,
                                    t.span(),
                                    format!("`{a}` is placed on a host twice"),
                                    "placed already",
                                )
                                .help("each actor runs on one host"));
                        }
                        on.push(index);
                    }
                    (Tok::Comma, 1) if i + 1 < names.len() => {}
                    _ => {
                        return Err(self
                            .err(
                                ErrorKind::Header,
                                t.span(),
                                "unexpected token in the hosts line",
                                "expected an actor name",
                            )
                            .help(help));
                    }
                }
            }
            hosts.push(super::Host {
                name: name.clone(),
                actors: on,
            });
        }
        if hosts.len() < 2 {
            return Err(self
                .err(
                    ErrorKind::Header,
                    span_of(rest, first),
                    "a hosts line names two hosts",
                    "one host is the run's own, without this line",
                )
                .help(help));
        }
        Ok(hosts)
    }

    /// The hosts of the lesson, every actor on one: an actor another forks
    /// runs where its parent does (it may be left out of the hosts line).
    fn place_hosts(&mut self) -> Result<Vec<super::Host>, LessonError> {
        let Some((mut hosts, span)) = self.hosts.take() else {
            return Ok(Vec::new());
        };
        let actors = self.actors.clone().unwrap_or_default();
        let host_of =
            |hosts: &[super::Host], a: usize| hosts.iter().position(|h| h.actors.contains(&a));
        for step in &self.steps {
            if let Call::Fork { child } = step.call {
                let parent = host_of(&hosts, step.actor);
                match (parent, host_of(&hosts, child)) {
                    (Some(p), None) => hosts[p].actors.push(child),
                    (Some(p), Some(c)) if p != c => {
                        return Err(self
                            .err(
                                ErrorKind::Header,
                                span,
                                format!(
                                    "`{}` is forked by `{}`, on another host",
                                    actors[child], actors[step.actor]
                                ),
                                "a fork runs on its parent's host",
                            )
                            .help(format!(
                                "put `{}` on `{}`'s host, or leave it out of the hosts line",
                                actors[child], actors[step.actor]
                            )));
                    }
                    _ => {}
                }
            }
        }
        if let Some(a) = (0..actors.len()).find(|&a| host_of(&hosts, a).is_none()) {
            return Err(self
                .err(
                    ErrorKind::Header,
                    span,
                    format!("`{}` is on no host", actors[a]),
                    "every actor runs on a host",
                )
                .help(format!("add `{}` to a host in this line", actors[a])));
        }
        for h in &mut hosts {
            h.actors.sort();
        }
        Ok(hosts)
    }

    fn step(&mut self, number: usize, toks: &[Token]) -> Result<(), LessonError> {
        let Tok::Ident(actor_name) = &toks[0].tok else {
            unreachable!("a step starts with an identifier")
        };
        if self.steps.len() == MAX_STEPS {
            return Err(self
                .err(
                    ErrorKind::Limit,
                    toks[0].span(),
                    format!("more than {MAX_STEPS} steps"),
                    "one too many",
                )
                .help("a lesson is read one step at a time: split a long one"));
        }
        if self.title.is_none() {
            return Err(self
                .err(
                    ErrorKind::Header,
                    toks[0].span(),
                    "a step before the `lesson` line",
                    "no lesson title yet",
                )
                .help("start the file with `lesson \"Title\"` and `actors ...`"));
        }
        let Some(actors) = &self.actors else {
            return Err(self
                .err(
                    ErrorKind::Header,
                    toks[0].span(),
                    "a step before the `actors` line",
                    "actors not declared yet",
                )
                .help(format!(
                    "declare the actors first, for example `actors {actor_name}, client`"
                )));
        };
        let Some(actor) = actors.iter().position(|a| a == actor_name) else {
            let mut e = self.err(
                ErrorKind::UnknownActor,
                toks[0].span(),
                format!("unknown actor `{actor_name}`"),
                "not in the actors line",
            );
            e = match closest(actor_name, actors.iter().map(String::as_str)) {
                Some(s) => e.help(format!(
                    "did you mean `{s}`? the actors are {}",
                    few(actors)
                )),
                None => e.help(format!(
                    "the actors are {}; add `{actor_name}` to the actors line to make a new one",
                    few(actors)
                )),
            };
            return Err(e);
        };
        let mut rest = &toks[2..];
        // `fd_set rfds, wfds;`: sets for select, empty.
        if let [
            Token {
                tok: Tok::Ident(w), ..
            },
            names @ ..,
        ] = rest
            && w == "fd_set"
        {
            return self.fd_sets(actor, &toks[2], names);
        }
        // `int s = socket(...)`, `struct sockaddr_in addr = ...`: the type
        // words go; sockstep knows the types.
        let mut typed = false;
        while let [
            Token {
                tok: Tok::Ident(w), ..
            },
            tail @ ..,
        ] = rest
            && C_TYPES.contains(&w.as_str())
        {
            typed = true;
            rest = match (w.as_str(), tail) {
                (
                    "struct",
                    [
                        Token {
                            tok: Tok::Ident(_), ..
                        },
                        more @ ..,
                    ],
                ) => more,
                _ => tail,
            };
        }
        while let [Token { tok: Tok::Star, .. }, tail @ ..] = rest {
            rest = tail;
        }
        if self.declaration(actor, rest, typed)? {
            return Ok(());
        }
        let mut binding = None;
        let mut binding2 = None;
        if let [
            Token {
                tok: Tok::Ident(a), ..
            },
            Token {
                tok: Tok::Comma, ..
            },
            Token {
                tok: Tok::Ident(b), ..
            },
            Token { tok: Tok::Eq, .. },
            tail @ ..,
        ] = rest
        {
            binding2 = Some((b.clone(), rest[2].span()));
            rest = &rest[2..];
            let _ = a;
            binding = match &toks[2].tok {
                Tok::Ident(n) => Some((n.clone(), toks[2].span())),
                _ => None,
            };
            rest = &rest[2..];
            let _ = tail;
        }
        if let [
            Token {
                tok: Tok::Ident(name),
                ..
            },
            Token { tok: Tok::Eq, .. },
            tail @ ..,
        ] = rest
        {
            binding = Some((name.clone(), rest[0].span()));
            rest = tail;
        }
        let Some(call_tok) = rest.first() else {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    end_of(toks),
                    "a step with no call",
                    "expected a call here",
                )
                .help(format!(
                    "write `{actor_name}: socket(AF_INET, SOCK_STREAM, 0)`"
                )));
        };
        let Tok::Ident(call_name) = &call_tok.tok else {
            return Err(self.err(
                ErrorKind::Syntax,
                call_tok.span(),
                "expected a call",
                "expected a call name such as `socket`",
            ));
        };
        if call_name.starts_with("FD_") {
            return self.fd_macro(actor, call_name, call_tok, &rest[1..]);
        }
        let Some(spec) = crate::calls::find(call_name) else {
            return Err(self.unknown_call(call_name, call_tok));
        };
        match rest.get(1) {
            Some(Token {
                tok: Tok::LParen, ..
            }) => {}
            Some(t) => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        t.span(),
                        "expected `(`",
                        "expected `(` after the call name",
                    )
                    .help(format!("write {}", spec.plain)));
            }
            None => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        (call_tok.end, 0),
                        "expected `(`",
                        "expected `(` after the call name",
                    )
                    .help(format!("write {}", spec.plain)));
            }
        }
        let (args, close, after) = self.args(actor, &rest[2..], call_tok)?;
        // C's `;` ends the call.
        let after = match after {
            [Token { tok: Tok::Semi, .. }, tail @ ..] => tail,
            _ => after,
        };
        let call = self.call(
            actor,
            spec,
            args,
            (call_tok.start, close.end - call_tok.start),
        )?;
        // `peer = recvfrom(u, 100)`, `a = getsockname(s)`: the name holds
        // the address the call reports (C's `n = recvfrom(...)`, with the
        // address in `&peer`, binds the count).
        if let Some((name, _)) = &binding
            && self.binds_addr.is_none()
            && matches!(
                call,
                Call::Recvfrom { .. } | Call::Getsockname { .. } | Call::Getpeername { .. }
            )
        {
            let d = &mut self.decls[actor];
            if !d.runtime.contains(name) {
                d.runtime.push(name.clone());
            }
            self.binds_addr = Some((name.clone(), true));
            binding = None;
        }
        let counts = matches!(
            call,
            Call::Send { .. } | Call::Recv { .. } | Call::Sendto { .. } | Call::Recvfrom { .. }
        );
        let mut count_name = None;
        if let Some((name, _)) = &binding
            && counts
        {
            // `n = recv(...)`: n holds the count, as in C.
            if !self.decls[actor].counts.contains(name) {
                self.decls[actor].counts.push(name.clone());
            }
            count_name = Some(name.clone());
            binding = None;
        }
        if let Some((name, span)) = &binding
            && !call.returns_fd()
        {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    *span,
                    format!("{call_name}() returns no fd to bind `{name}` to"),
                    "nothing to bind",
                )
                .help(format!(
                    "only socket() and accept() return a new fd; drop `{name} =`"
                )));
        }
        // A `?` closing the line marks the step as a quiz question.
        let (after, quiz) = match after.split_last() {
            Some((
                Token {
                    tok: Tok::Question,
                    start,
                    end,
                },
                rest,
            )) => {
                if !matches!(
                    rest.first(),
                    Some(Token {
                        tok: Tok::Arrow,
                        ..
                    })
                ) {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            (*start, end - start),
                            "a quiz mark with nothing to ask",
                            "a `?` follows an expectation",
                        )
                        .help("write the answer first: `=> ECONNREFUSED ?`"));
                }
                (rest, true)
            }
            _ => (after, false),
        };
        let expect = self.expectation(&call, after)?;
        // Where the expectation starts in its line, for a view that hides it.
        let expect_col = after.first().map(|t| {
            let line_start = self.lexer.text[..t.start].rfind('\n').map_or(0, |i| i + 1);
            t.start - line_start
        });
        let pair = matches!(call, Call::Socketpair { .. });
        match (&binding, &binding2) {
            (_, Some((b, span))) if !pair => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        *span,
                        format!("{}() returns one fd, not two", call.name()),
                        "a second name",
                    )
                    .help(format!("only socketpair() returns two fds; drop `, {b}`")));
            }
            (Some((a, span)), None) if pair => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        *span,
                        "socketpair() returns two fds",
                        "one name",
                    )
                    .help(format!(
                        "name both: `{a}, b = socketpair(AF_UNIX, SOCK_STREAM, 0)`"
                    )));
            }
            _ => {}
        }
        // A forked child starts with its parent's names, as with its fds.
        if let Call::Fork { child } = call {
            self.bound[child] = self.bound[actor].clone();
            self.decls[child] = self.decls[actor].clone();
        }
        if let (Some((a, _)), Some((b, span))) = (&binding, &binding2)
            && a == b
        {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    *span,
                    format!("`{b}` named twice"),
                    "the second fd needs a name of its own",
                )
                .help(format!(
                    "write `{a}, {a}2 = socketpair(AF_UNIX, SOCK_STREAM, 0)`"
                )));
        }
        if let Some((name, _)) = &binding2
            && !self.bound[actor].contains(name)
        {
            self.bound[actor].push(name.clone());
        }
        if let Some((name, _)) = &binding
            && !self.bound[actor].contains(name)
        {
            self.bound[actor].push(name.clone());
        }
        if let (Some((name, _)), Call::Socket { domain, .. }) = (&binding, &call) {
            self.decls[actor].domains.push((name.clone(), *domain));
        }
        self.steps.push(Step {
            number: self.steps.len() + 1,
            actor,
            line: number,
            binding: binding.map(|(n, _)| n),
            binding2: binding2.map(|(n, _)| n),
            call,
            expect,
            expect_col,
            quiz,
            narration: std::mem::take(&mut self.notes),
            before: std::mem::take(&mut self.before),
            addr_from: self.addr_from.take(),
            binds_addr: self.binds_addr.take(),
            binds_count: count_name,
            fills: self.fills.take(),
            data_from: self.data_from.take(),
        });
        self.gap = false;
        Ok(())
    }

    /// A C declaration instead of a call: `char buf[1024];`,
    /// `addr = 127.0.0.1:8080;`, `char *msg = "hi";`,
    /// `socklen_t len = sizeof(addr);`. Whether the line was one.
    fn declaration(
        &mut self,
        actor: usize,
        toks: &[Token],
        typed: bool,
    ) -> Result<bool, LessonError> {
        let toks = match toks {
            [head @ .., Token { tok: Tok::Semi, .. }] => head,
            _ => toks,
        };
        if let [
            Token {
                tok: Tok::Ident(name),
                ..
            },
        ] = toks
            && typed
            && !self.bound[actor].contains(name)
        {
            // `struct sockaddr_in peer;`, `int n;`: an address the run
            // will fill in, or a name C needs and sockstep does not.
            self.decls[actor].runtime.push(name.clone());
            return Ok(true);
        }
        let [
            Token {
                tok: Tok::Ident(name),
                ..
            },
            second,
            value @ ..,
        ] = toks
        else {
            return Ok(false);
        };
        if self.bound[actor].contains(name) {
            return Ok(false);
        }
        match (&second.tok, value) {
            (
                Tok::LBracket,
                [
                    n @ Token {
                        tok: Tok::Int(len), ..
                    },
                    Token {
                        tok: Tok::RBracket, ..
                    },
                ],
            ) => {
                let len = usize::try_from(*len)
                    .ok()
                    .filter(|l| (1..=1 << 24).contains(l));
                let Some(len) = len else {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        n.span(),
                        "a buffer of 1 to 16777216 bytes",
                        "out of range",
                    ));
                };
                self.decls[actor].buffers.push((name.clone(), len));
            }
            (
                Tok::Eq,
                [
                    Token {
                        tok: Tok::Addr(a), ..
                    },
                ],
            ) => {
                self.decls[actor].addrs.push((name.clone(), a.clone()));
            }
            (
                Tok::Eq,
                [
                    Token {
                        tok: Tok::LBrace, ..
                    },
                    Token {
                        tok: Tok::Int(secs),
                        ..
                    },
                    Token {
                        tok: Tok::Comma, ..
                    },
                    Token {
                        tok: Tok::Int(usecs),
                        ..
                    },
                    Token {
                        tok: Tok::RBrace, ..
                    },
                ],
            ) => {
                // `struct timeval tv = {0, 0};`, for select's timeout.
                self.decls[actor]
                    .timevals
                    .push((name.clone(), (*secs, *usecs)));
            }
            (
                Tok::Eq,
                [
                    Token {
                        tok: Tok::NamedAddr(_, a),
                        ..
                    },
                ],
            ) => {
                self.decls[actor].addrs.push((name.clone(), a.clone()));
            }
            (
                Tok::Eq,
                [
                    t @ Token {
                        tok: Tok::Str(text),
                        ..
                    },
                ],
            ) => {
                self.payload(text.len(), t.span())?;
                self.decls[actor].strings.push((name.clone(), text.clone()));
            }
            (
                Tok::Eq,
                [
                    Token {
                        tok: Tok::Int(v), ..
                    },
                ],
            ) if typed => {
                self.decls[actor].ints.push((name.clone(), *v));
            }
            (
                Tok::Eq,
                [
                    Token {
                        tok: Tok::Ident(w), ..
                    },
                    ..,
                ],
            ) if w == "sizeof" && typed => {
                self.decls[actor].lengths.push(name.clone());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The arguments of a call written as C writes it, in sockstep's
    /// form: `recv(c, buf, sizeof(buf), 0)` is `recv(c, 1024)`,
    /// `bind(s, (struct sockaddr *)&addr, sizeof(addr))` is
    /// `bind(s, 127.0.0.1:8080)`, `accept(s, NULL, NULL)` is `accept(s)`.
    /// Also the names a declaration gave, `SOMAXCONN`, and a numeric `how`.
    fn c_form(
        &mut self,
        actor: usize,
        name: &str,
        mut args: Vec<ArgTok>,
    ) -> Result<(Vec<ArgTok>, Vec<String>), LessonError> {
        // accept's and recvfrom's `&peer`: the run binds the address the
        // kernel writes there.
        let out_at = match (name, args.len()) {
            ("accept", 3) | ("accept4", 4) => Some(1),
            ("recvfrom", 6) => Some(4),
            _ => None,
        };
        if let Some(i) = out_at
            && let Arg::Ref(peer) = &args[i].arg
        {
            let peer = peer.clone();
            let d = &mut self.decls[actor];
            d.addrs.retain(|(n, _)| *n != peer);
            if !d.runtime.contains(&peer) {
                d.runtime.push(peer.clone());
            }
            self.binds_addr = Some((peer, false));
            args[i].arg = Arg::Ident("NULL".into());
        }
        let mut fills = None;
        let mut data_from = None;
        let decls = &self.decls[actor];
        // The declared buffer a call's second argument names, if it does.
        let buffer = match args.get(1).map(|a| &a.arg) {
            Some(Arg::Ident(b) | Arg::Ref(b)) if decls.buffer(b).is_some() => Some(b.clone()),
            _ => None,
        };
        let v6 = match args.first().map(|a| &a.arg) {
            Some(Arg::Ident(fd)) => decls
                .domains
                .iter()
                .rev()
                .find(|(n, _)| n == fd)
                .is_some_and(|(_, d)| *d == crate::call::Domain::Inet6),
            _ => false,
        };
        let mut notes = Vec::new();
        let null = |a: &ArgTok| {
            matches!(&a.arg, Arg::Ident(n) if n == "NULL") || matches!(a.arg, Arg::Int(0))
        };
        // Names of addresses and strings stand for what they name.
        for a in &mut args {
            let named = match &a.arg {
                Arg::Ref(n) | Arg::Ident(n) => n.clone(),
                Arg::Named(host, addr) => {
                    // localhost is ::1 for an IPv6 socket.
                    let addr = match (v6, addr) {
                        (true, Addr::V4(a)) => Addr::V6(std::net::SocketAddrV6::new(
                            std::net::Ipv6Addr::LOCALHOST,
                            a.port(),
                            0,
                            0,
                        )),
                        _ => addr.clone(),
                    };
                    notes.push(crate::render::words::resolved(host, &addr));
                    a.arg = Arg::Addr(addr);
                    continue;
                }
                _ => continue,
            };
            if decls.runtime.contains(&named) {
                a.arg = Arg::Runtime(named);
            } else if let Some(addr) = decls.addr(&named) {
                a.arg = Arg::Addr(addr.clone());
            } else if let Some(text) = decls.string(&named) {
                a.arg = Arg::Str(text.to_vec());
            } else if let (Some(v), Arg::Ref(_)) = (decls.int(&named), &a.arg) {
                // `&opt` of `int opt = 1;`: setsockopt's value.
                a.arg = Arg::Int(v);
            } else if named == "SOMAXCONN" && name == "listen" {
                a.arg = Arg::Int(i64::from(libc::SOMAXCONN));
            }
        }
        // A buffer's length: a number, or sizeof a declared buffer.
        let length = |p: &Self, a: &ArgTok, buf: Option<&ArgTok>| -> Result<i64, LessonError> {
            let declared = buf.and_then(|b| match &b.arg {
                Arg::Ident(n) | Arg::Ref(n) => decls.buffer(n),
                _ => None,
            });
            let n = match &a.arg {
                Arg::Int(n) => *n,
                Arg::Sizeof(Some(n)) if decls.buffer(n).is_some() => {
                    decls.buffer(n).unwrap_or(0) as i64
                }
                _ => {
                    return Err(p
                        .err(ErrorKind::Syntax, a.span, "expected the buffer's length", "a number, or sizeof(buf) of a declared buffer")
                        .help("write a number such as 1024, or declare the buffer first: `char buf[1024];`"));
                }
            };
            if let Some(size) = declared
                && n > size as i64
            {
                return Err(p
                    .err(
                        ErrorKind::Syntax,
                        a.span,
                        format!("{n} bytes into a buffer of {size}"),
                        "longer than the buffer",
                    )
                    .help(
                        "a C program that did this would write past the buffer: pass sizeof(buf)",
                    ));
            }
            Ok(n)
        };
        // The data a C send gives, cut to the length it passes.
        let sent = |p: &Self, data: &ArgTok, len: &ArgTok| -> Result<Vec<u8>, LessonError> {
            let Arg::Str(bytes) = &data.arg else {
                return Err(p
                    .err(ErrorKind::Syntax, data.span, "expected the data to send", "a string, or the name of one")
                    .help("write send(c, \"hello\", 5, 0), or declare it first: `char *msg = \"hello\";`"));
            };
            let n = match &len.arg {
                Arg::Int(n) => *n,
                Arg::Strlen(s) => s.len() as i64,
                Arg::Sizeof(_) => {
                    return Err(p
                        .err(ErrorKind::Syntax, len.span, "sizeof gives the size of a pointer or an array, not the string's length", "not the length of the data")
                        .help("write strlen(msg), or the number of bytes"));
                }
                _ => {
                    return Err(p.err(
                        ErrorKind::Syntax,
                        len.span,
                        "expected the length to send",
                        "a number, or strlen(...)",
                    ));
                }
            };
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > bytes.len() {
                return Err(p
                    .err(ErrorKind::Syntax, len.span, format!("{n} bytes of a string of {}", bytes.len()), "longer than the data")
                    .help("a C program that did this would send bytes past the string: pass strlen(msg)"));
            }
            Ok(bytes[..n].to_vec())
        };
        let out_params = |p: &Self, params: &[ArgTok]| -> Result<(), LessonError> {
            for a in params {
                if !null(a) && !matches!(&a.arg, Arg::Ref(_) | Arg::Addr(_)) {
                    return Err(p
                        .err(
                            ErrorKind::Syntax,
                            a.span,
                            "expected &addr and &len, or NULL",
                            "where the kernel writes the peer's address",
                        )
                        .help("write NULL, NULL: sockstep shows the address the kernel reports"));
                }
            }
            Ok(())
        };
        let int = |v: i64, span| ArgTok {
            arg: Arg::Int(v),
            span,
        };
        let args = match (name, args.len()) {
            ("accept", 3) => {
                out_params(self, &args[1..])?;
                args.truncate(1);
                args
            }
            ("accept4", 4) => {
                out_params(self, &args[1..3])?;
                let flags = args.pop().expect("four");
                args.truncate(1);
                args.push(flags);
                args
            }
            ("bind" | "connect", 3)
                if matches!(&args[2].arg, Arg::Sizeof(_) | Arg::Int(_))
                    || matches!(&args[2].arg, Arg::Ident(n) if decls.lengths.contains(n)) =>
            {
                args.truncate(2);
                args
            }
            ("recv", 4) | ("read", 3) => {
                if let Arg::Ident(b) | Arg::Ref(b) = &args[1].arg
                    && decls.buffer(b).is_some()
                {
                    fills = Some(b.clone());
                }
                let n = length(self, &args[2], Some(&args[1]))?;
                let span = args[2].span;
                let mut it = args.into_iter();
                let fd = it.next().expect("four");
                let _buf = it.next();
                let _len = it.next();
                let mut out = vec![fd, int(n, span)];
                out.extend(it);
                out
            }
            ("recvfrom", 6) => {
                if let Arg::Ident(b) | Arg::Ref(b) = &args[1].arg
                    && decls.buffer(b).is_some()
                {
                    fills = Some(b.clone());
                }
                out_params(self, &args[4..])?;
                let n = length(self, &args[2], Some(&args[1]))?;
                let span = args[2].span;
                args.truncate(4);
                let flags = args.pop().expect("four");
                vec![args.remove(0), int(n, span), flags]
            }
            ("send", 4) | ("write", 3) | ("sendto", 6) => {
                let data = match &buffer {
                    // A buffer's bytes, known when the step runs: what a
                    // recv put there (an echo).
                    Some(buf) => {
                        let size = decls.buffer(buf).unwrap_or(0);
                        let len = match &args[2].arg {
                            Arg::Int(n) if usize::try_from(*n).is_ok_and(|n| n <= size) => {
                                super::Length::Bytes(*n as usize)
                            }
                            Arg::Ident(n) if decls.counts.contains(n) => {
                                super::Length::Count(n.clone())
                            }
                            _ => {
                                return Err(self
                                    .err(ErrorKind::Syntax, args[2].span, "expected how many bytes of the buffer to send", "a number up to its size, or a count such as n")
                                    .help("write the count recv() returned: n = recv(c, buf, sizeof(buf), 0); then send(c, buf, n, 0)"));
                            }
                        };
                        data_from = Some((buf.clone(), len));
                        Vec::new()
                    }
                    None => sent(self, &args[1], &args[2])?,
                };
                let span = args[1].span;
                let mut it = args.into_iter();
                let fd = it.next().expect("three or more");
                let _ = (it.next(), it.next());
                let mut out = vec![
                    fd,
                    ArgTok {
                        arg: Arg::Str(data),
                        span,
                    },
                ];
                out.extend(it);
                if name == "sendto" {
                    // The address's length goes.
                    out.pop();
                }
                out
            }
            ("getsockopt", 5) => {
                out_params(self, &args[3..])?;
                args.truncate(3);
                args
            }
            ("setsockopt", 5) if matches!(args[4].arg, Arg::Sizeof(_) | Arg::Int(_)) => {
                args.truncate(4);
                args
            }
            ("shutdown", 2) => {
                if let Arg::Int(n @ 0..=2) = args[1].arg {
                    args[1].arg = Arg::Ident(names::HOWS[n as usize].0.to_string());
                }
                args
            }
            _ => args,
        };
        self.fills = fills;
        self.data_from = data_from;
        Ok((args, notes))
    }

    fn unknown_call(&self, name: &str, tok: &Token) -> LessonError {
        let e = self.err(
            ErrorKind::UnknownCall,
            tok.span(),
            format!("unknown call `{name}`"),
            "sockstep does not know this call",
        );
        let helper = match name {
            "htons" | "htonl" | "inet_addr" | "inet_pton" | "inet_aton" => Some(
                "write addresses directly, like 127.0.0.1:8080: sockstep fills in the sockaddr and byte order",
            ),
            "perror" | "printf" | "exit" => {
                Some("sockstep shows each call's result and errno itself")
            }
            "pselect" | "epoll_wait" | "epoll_create" | "epoll_ctl" => Some(
                "sockstep has poll() and select() for this: poll(s, c, -1) waits until s or c is \
                 readable, poll({s, POLLOUT}, -1) until s is writable, and 0 instead of -1 looks \
                 without waiting",
            ),
            "sleep" | "usleep" | "nanosleep" => Some(
                "a run does not wait for time to pass: each step runs when the one before is done, \
                 and a call that would wait is parked until another step lets it go on",
            ),
            "memset" | "bzero" | "malloc" | "free" => {
                Some("sockstep keeps buffers itself: declare one as `char buf[1024];` and pass buf")
            }
            _ => None,
        };
        if let Some(h) = helper {
            return e.help(h);
        }
        match closest(name, crate::calls::CALLS.iter().map(|c| c.word)) {
            Some(s) => e.help(format!("did you mean `{s}`?")),
            None => e.help(format!(
                "the calls are {}",
                crate::calls::CALLS
                    .iter()
                    .map(|c| c.word)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Parses arguments up to the closing parenthesis.
    fn args<'t>(
        &mut self,
        actor: usize,
        toks: &'t [Token],
        call_tok: &Token,
    ) -> Result<(Vec<ArgTok>, &'t Token, &'t [Token]), LessonError> {
        let mut args = Vec::new();
        let mut i = 0;
        let expected_arg = |p: &Self, t: Option<&Token>| {
            let span = t
                .map(Token::span)
                .unwrap_or((end_of(toks).0.max(call_tok.end), 0));
            p.err(
                ErrorKind::Syntax,
                span,
                "expected an argument",
                "expected an fd, constant, number, string or address",
            )
        };
        if let Some(
            t @ Token {
                tok: Tok::RParen, ..
            },
        ) = toks.first()
        {
            return Ok((args, t, &toks[1..]));
        }
        loop {
            // A C cast, `(struct sockaddr *)`, says nothing sockstep needs.
            if let (
                Some(Token {
                    tok: Tok::LParen, ..
                }),
                Some(Token {
                    tok: Tok::Ident(w), ..
                }),
            ) = (toks.get(i), toks.get(i + 1))
                && C_TYPES.contains(&w.as_str())
                && let Some(close) = toks[i..].iter().position(|t| t.tok == Tok::RParen)
            {
                i += close + 1;
            }
            let Some(t) = toks.get(i) else {
                return Err(expected_arg(self, None));
            };
            let arg = match &t.tok {
                Tok::Amp => match toks.get(i + 1) {
                    Some(
                        n @ Token {
                            tok: Tok::Ident(name),
                            ..
                        },
                    ) => {
                        args.push(ArgTok {
                            arg: Arg::Ref(name.clone()),
                            span: (t.start, n.end - t.start),
                        });
                        i += 2;
                        None
                    }
                    other => {
                        return Err(self.err(
                            ErrorKind::Syntax,
                            other.map(Token::span).unwrap_or((t.end, 0)),
                            "expected a name after `&`",
                            "such as &addr",
                        ));
                    }
                },
                Tok::Ident(w) if w == "sizeof" || w == "strlen" => {
                    // sizeof(x), sizeof x, sizeof(struct sockaddr_in),
                    // strlen("text"), strlen(msg).
                    let (inner, end): (&[Token], usize) = match toks.get(i + 1) {
                        Some(Token {
                            tok: Tok::LParen, ..
                        }) => {
                            let Some(close) =
                                toks[i + 1..].iter().position(|t| t.tok == Tok::RParen)
                            else {
                                return Err(self.err(
                                    ErrorKind::Syntax,
                                    t.span(),
                                    format!("`{w}(` is never closed"),
                                    "expected `)`",
                                ));
                            };
                            (&toks[i + 2..i + 1 + close], i + 2 + close)
                        }
                        Some(_) if w == "sizeof" => (&toks[i + 1..i + 2], i + 2),
                        _ => {
                            return Err(self.err(
                                ErrorKind::Syntax,
                                t.span(),
                                format!("expected `(` after {w}"),
                                "expected `(`",
                            ));
                        }
                    };
                    let span = (t.start, toks[end - 1].end - t.start);
                    let arg = match (w.as_str(), inner) {
                        (
                            "sizeof",
                            [
                                Token {
                                    tok: Tok::Ident(n), ..
                                },
                            ],
                        ) => Arg::Sizeof(Some(n.clone())),
                        (
                            "sizeof",
                            [
                                Token {
                                    tok: Tok::Ident(s), ..
                                },
                                Token {
                                    tok: Tok::Ident(_), ..
                                },
                            ],
                        ) if s == "struct" => Arg::Sizeof(None),
                        (
                            "strlen",
                            [
                                Token {
                                    tok: Tok::Str(text),
                                    ..
                                },
                            ],
                        ) => Arg::Strlen(text.clone()),
                        (
                            "strlen",
                            [
                                Token {
                                    tok: Tok::Ident(n), ..
                                },
                            ],
                        ) if self.decls[actor].string(n).is_some() => {
                            Arg::Strlen(self.decls[actor].string(n).unwrap_or_default().to_vec())
                        }
                        _ => {
                            return Err(self
                                .err(ErrorKind::Syntax, span, format!("sockstep reads {w}() of a name or a string only"), "not understood")
                                .help(if w == "sizeof" { "write sizeof(buf) for a declared `char buf[1024];`, or the number" } else { "write strlen(\"text\"), or strlen(msg) for a declared `char *msg = \"text\";`" }));
                        }
                    };
                    args.push(ArgTok { arg, span });
                    i = end;
                    None
                }
                Tok::NamedAddr(host, addr) => Some(Arg::Named(host.clone(), addr.clone())),
                Tok::Ident(name)
                    if matches!(toks.get(i + 1), Some(Token { tok: Tok::Pipe, .. })) =>
                {
                    let mut flags = vec![(name.clone(), t.span())];
                    let mut end = t.end;
                    i += 1;
                    while let Some(Token { tok: Tok::Pipe, .. }) = toks.get(i) {
                        match toks.get(i + 1) {
                            Some(
                                f @ Token {
                                    tok: Tok::Ident(n), ..
                                },
                            ) => {
                                flags.push((n.clone(), f.span()));
                                end = f.end;
                                i += 2;
                            }
                            other => {
                                return Err(self.err(
                                    ErrorKind::Syntax,
                                    other.map(Token::span).unwrap_or((end, 0)),
                                    "expected a flag after `|`",
                                    "expected a flag such as MSG_PEEK",
                                ));
                            }
                        }
                    }
                    args.push(ArgTok {
                        arg: Arg::Flags(flags),
                        span: (t.start, end - t.start),
                    });
                    None
                }
                Tok::Ident(name) => Some(Arg::Ident(name.clone())),
                Tok::Int(n) => Some(Arg::Int(*n)),
                Tok::Str(s) if matches!(toks.get(i + 1), Some(Token { tok: Tok::Star, .. })) => {
                    let count = match toks.get(i + 2) {
                        Some(Token {
                            tok: Tok::Int(n), ..
                        }) if (1..=MAX_REPEAT).contains(n) => *n as usize,
                        other => {
                            return Err(self
                                .err(
                                    ErrorKind::Syntax,
                                    other.map(Token::span).unwrap_or((toks[i + 1].end, 0)),
                                    "expected a count after `*`",
                                    &format!("expected a number from 1 to {MAX_REPEAT}"),
                                )
                                .help("write \"x\" * 100000 for 100000 bytes of x"));
                        }
                    };
                    let span = (t.start, toks[i + 2].end - t.start);
                    if s.len().saturating_mul(count) > MAX_REPEAT as usize {
                        return Err(self
                            .err(ErrorKind::Limit, span, "the data is too large", &format!("at most {MAX_REPEAT} bytes"))
                            .help("a lesson's payloads are for showing buffers filling up: a few megabytes are plenty"));
                    }
                    self.payload(s.len() * count, span)?;
                    args.push(ArgTok {
                        arg: Arg::Str(s.repeat(count)),
                        span: (t.start, toks[i + 2].end - t.start),
                    });
                    i += 3;
                    None
                }
                Tok::Str(s) => {
                    self.payload(s.len(), t.span())?;
                    Some(Arg::Str(s.clone()))
                }
                Tok::Addr(a) => Some(Arg::Addr(a.clone())),
                Tok::LBrace
                    if matches!(
                        (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)),
                        (
                            Some(Token {
                                tok: Tok::Ident(_) | Tok::Int(_),
                                ..
                            }),
                            Some(Token {
                                tok: Tok::Comma,
                                ..
                            }),
                            Some(Token {
                                tok: Tok::Ident(_),
                                ..
                            })
                        )
                    ) =>
                {
                    // {fd, POLLIN | POLLOUT}
                    let fd = &toks[i + 1];
                    let fd_arg = match &fd.tok {
                        Tok::Ident(n) => Arg::Ident(n.clone()),
                        Tok::Int(n) => Arg::Int(*n),
                        _ => return Err(expected_arg(self, Some(fd))),
                    };
                    let mut events = Vec::new();
                    let mut j = i + 3;
                    loop {
                        match (toks.get(j), toks.get(j + 1)) {
                            (
                                Some(
                                    e @ Token {
                                        tok: Tok::Ident(n), ..
                                    },
                                ),
                                Some(Token { tok: Tok::Pipe, .. }),
                            ) => {
                                events.push((n.clone(), e.span()));
                                j += 2;
                            }
                            (
                                Some(
                                    e @ Token {
                                        tok: Tok::Ident(n), ..
                                    },
                                ),
                                Some(
                                    close @ Token {
                                        tok: Tok::RBrace, ..
                                    },
                                ),
                            ) => {
                                events.push((n.clone(), e.span()));
                                args.push(ArgTok {
                                    arg: Arg::PollFd(
                                        Box::new(ArgTok {
                                            arg: fd_arg,
                                            span: fd.span(),
                                        }),
                                        events,
                                    ),
                                    span: (t.start, close.end - t.start),
                                });
                                i = j + 2;
                                break;
                            }
                            (other, _) => {
                                return Err(self
                                    .err(
                                        ErrorKind::Syntax,
                                        other.map(Token::span).unwrap_or((t.end, 0)),
                                        "expected poll events, then `}`",
                                        "such as POLLIN | POLLOUT",
                                    )
                                    .help("write {s, POLLOUT} for an fd of poll() and the events it waits for"));
                            }
                        }
                    }
                    None
                }
                Tok::LBrace => {
                    let pair = match &toks[i..] {
                        [
                            _,
                            Token {
                                tok: Tok::Int(a), ..
                            },
                            Token {
                                tok: Tok::Comma, ..
                            },
                            Token {
                                tok: Tok::Int(b), ..
                            },
                            close @ Token {
                                tok: Tok::RBrace, ..
                            },
                            ..,
                        ] => Some(((*a, *b), close.end)),
                        _ => None,
                    };
                    let Some(((a, b), end)) = pair else {
                        return Err(self
                            .err(
                                ErrorKind::Syntax,
                                t.span(),
                                "expected two numbers or an fd and poll events in braces",
                                "not understood",
                            )
                            .help("SO_LINGER takes {1, 0}, SO_RCVTIMEO {seconds, microseconds}, and poll {s, POLLIN | POLLOUT}"));
                    };
                    args.push(ArgTok {
                        arg: Arg::Pair(a, b),
                        span: (t.start, end - t.start),
                    });
                    i += 5;
                    None
                }
                _ => return Err(expected_arg(self, Some(t))),
            };
            if let Some(arg) = arg {
                args.push(ArgTok {
                    arg,
                    span: t.span(),
                });
                i += 1;
            }
            match toks.get(i) {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => i += 1,
                Some(
                    close @ Token {
                        tok: Tok::RParen, ..
                    },
                ) => return Ok((args, close, &toks[i + 1..])),
                Some(t) => {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        t.span(),
                        "expected `,` or `)`",
                        "expected `,` or `)` here",
                    ));
                }
                None => {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            (toks[i - 1].end, 0),
                            "expected `)`",
                            "the call is never closed",
                        )
                        .help("close the call with `)`"));
                }
            }
        }
    }

    fn call(
        &mut self,
        actor: usize,
        spec: &crate::calls::Spec,
        args: Vec<ArgTok>,
        span: (usize, usize),
    ) -> Result<Call<FdRef>, LessonError> {
        use crate::calls::{Arity, Name};
        let (name, signature) = (spec.word, spec.plain);
        if spec.name == Name::Select {
            return self.select(actor, args, span);
        }
        let (args, notes) = self.c_form(actor, name, args)?;
        self.notes.extend(notes);
        if spec.name == Name::Poll {
            return self.poll(actor, args, span);
        }
        let counts = match spec.arity {
            Arity::Exactly(counts) => counts,
            Arity::AtLeast(_) => &[][..],
        };
        if !counts.contains(&args.len()) {
            let mut want: Vec<String> = counts.iter().map(usize::to_string).collect();
            let last = want.pop().unwrap_or_default();
            let want = if want.is_empty() {
                format!("{last} argument{}", if last == "1" { "" } else { "s" })
            } else {
                format!("{} or {last} arguments", want.join(", "))
            };
            return Err(self
                .err(
                    ErrorKind::ArgumentCount,
                    span,
                    format!("{name} takes {want}, found {}", args.len()),
                    &format!("expected {want}"),
                )
                .help(format!("write {signature}, or as C writes it: {}", spec.c)));
        }
        let mut a = args.into_iter();
        let mut next = || a.next().expect("the argument count was checked");
        let call = match spec.name {
            Name::Socket => {
                let domain = self.constant(next(), names::DOMAINS, "an address family")?;
                // SOCK_STREAM | SOCK_NONBLOCK: the type, and flags for the fd.
                let (ty, flags) = match next() {
                    ArgTok {
                        arg: Arg::Flags(list),
                        ..
                    } => {
                        let mut ty = None;
                        let mut flags = Vec::new();
                        for (name, span) in list {
                            let t = ArgTok {
                                arg: Arg::Ident(name.clone()),
                                span,
                            };
                            if names::TYPES.iter().any(|(n, _)| *n == name) && ty.is_none() {
                                ty = Some(self.constant(t, names::TYPES, "a socket type")?);
                            } else {
                                flags.push(self.constant(
                                    t,
                                    names::TYPE_FLAGS,
                                    "SOCK_NONBLOCK or SOCK_CLOEXEC",
                                )?);
                            }
                        }
                        let Some(ty) = ty else {
                            return Err(self.err(
                                ErrorKind::UnknownConstant,
                                span,
                                "no socket type among the flags",
                                "expected SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET",
                            ));
                        };
                        (ty, flags)
                    }
                    t => (self.constant(t, names::TYPES, "a socket type")?, Vec::new()),
                };
                let protocol = {
                    let t = next();
                    match t.arg {
                        Arg::Int(0) => crate::call::Protocol::Default,
                        _ => self.constant(t, names::PROTOCOLS, "a protocol")?,
                    }
                };
                Call::Socket {
                    domain,
                    ty,
                    protocol,
                    flags,
                }
            }
            Name::Setsockopt => {
                let fd = self.fd(actor, next())?;
                let opt = self.option(next(), next(), "setsockopt")?;
                let value = next();
                let value = match (opt, value.arg) {
                    (
                        crate::call::SockOpt::RcvTimeo | crate::call::SockOpt::SndTimeo,
                        Arg::Pair(secs, usecs),
                    ) if secs >= 0 && (0..1_000_000).contains(&usecs) => {
                        OptValue::Time { secs, usecs }
                    }
                    (o @ (crate::call::SockOpt::RcvTimeo | crate::call::SockOpt::SndTimeo), _) => {
                        let name = if o == crate::call::SockOpt::RcvTimeo {
                            "SO_RCVTIMEO"
                        } else {
                            "SO_SNDTIMEO"
                        };
                        return Err(self
                            .err(
                                ErrorKind::Syntax,
                                value.span,
                                format!("{name} takes a struct timeval"),
                                "expected {seconds, microseconds}",
                            )
                            .help("write {1, 0} for one second, {0, 500000} for half of one"));
                    }
                    (crate::call::SockOpt::Linger, Arg::Pair(on, secs)) => OptValue::Linger {
                        on: to_i32(on),
                        secs: to_i32(secs),
                    },
                    (crate::call::SockOpt::Linger, _) => {
                        return Err(self
                            .err(
                                ErrorKind::Syntax,
                                value.span,
                                "SO_LINGER takes a struct linger",
                                "expected {on, seconds}",
                            )
                            .help("write {1, 0} to reset the connection on close"));
                    }
                    (_, Arg::Int(n)) => OptValue::Int(to_i32(n)),
                    _ => {
                        return Err(self
                            .err(
                                ErrorKind::Syntax,
                                value.span,
                                "expected a number",
                                "the option's value",
                            )
                            .help("write 1 to turn an option on, 0 to turn it off"));
                    }
                };
                Call::Setsockopt { fd, opt, value }
            }
            Name::Bind => {
                let fd = self.fd(actor, next())?;
                let mut addr = self.addr(next())?;
                let raw = match a.next() {
                    None => false,
                    Some(ArgTok {
                        arg: Arg::Ident(w), ..
                    }) if w == "NO_HTONS" => true,
                    Some(other) => {
                        return Err(self
                            .err(ErrorKind::UnknownConstant, other.span, "expected NO_HTONS", "bind's third argument")
                            .help("bind(s, 127.0.0.1:8080, NO_HTONS) binds as a C program that forgot htons() does"));
                    }
                };
                if raw && let Some(port) = addr.port() {
                    addr = addr.with_port(port.swap_bytes());
                }
                Call::Bind { fd, addr, raw }
            }
            Name::Connect => Call::Connect {
                fd: self.fd(actor, next())?,
                addr: self.addr(next())?,
            },
            Name::Listen => Call::Listen {
                fd: self.fd(actor, next())?,
                backlog: to_i32(self.int(next(), "a backlog")?),
            },
            Name::Accept => Call::Accept {
                fd: self.fd(actor, next())?,
                flags: Vec::new(),
            },
            Name::Accept4 => {
                let fd = self.fd(actor, next())?;
                let flags = match next() {
                    ArgTok {
                        arg: Arg::Int(0), ..
                    } => Vec::new(),
                    ArgTok {
                        arg: Arg::Flags(list),
                        ..
                    } => list
                        .into_iter()
                        .map(|(name, span)| {
                            self.constant(
                                ArgTok {
                                    arg: Arg::Ident(name),
                                    span,
                                },
                                names::TYPE_FLAGS,
                                "SOCK_NONBLOCK or SOCK_CLOEXEC",
                            )
                        })
                        .collect::<Result<_, _>>()?,
                    t => vec![self.constant(
                        t,
                        names::TYPE_FLAGS,
                        "SOCK_NONBLOCK or SOCK_CLOEXEC",
                    )?],
                };
                Call::Accept { fd, flags }
            }
            Name::Send | Name::Write => {
                let fd = self.fd(actor, next())?;
                let data = self.data(next())?;
                let flags = a_flags(self, a.next())?;
                Call::Send {
                    fd,
                    data,
                    flags,
                    via: if name == "send" {
                        Via::Socket
                    } else {
                        Via::File
                    },
                }
            }
            Name::Recv | Name::Read => {
                let fd = self.fd(actor, next())?;
                let len = self.length(next())?;
                let flags = a_flags(self, a.next())?;
                Call::Recv {
                    fd,
                    len,
                    flags,
                    via: if name == "recv" {
                        Via::Socket
                    } else {
                        Via::File
                    },
                }
            }
            Name::Sendto => {
                let fd = self.fd(actor, next())?;
                let data = self.data(next())?;
                let third = next();
                let (flags, addr) = match a.next() {
                    Some(addr) => (self.flags(third)?, self.addr(addr)?),
                    None => (Vec::new(), self.addr(third)?),
                };
                Call::Sendto {
                    fd,
                    data,
                    flags,
                    addr,
                }
            }
            Name::Recvfrom => {
                let fd = self.fd(actor, next())?;
                let len = self.length(next())?;
                let flags = a_flags(self, a.next())?;
                Call::Recvfrom { fd, len, flags }
            }
            Name::Shutdown => Call::Shutdown {
                fd: self.fd(actor, next())?,
                how: self.constant(next(), names::HOWS, "how to shut down")?,
            },
            Name::Close => Call::Close {
                fd: self.fd(actor, next())?,
            },
            Name::Getsockname => Call::Getsockname {
                fd: self.fd(actor, next())?,
            },
            Name::Getpeername => Call::Getpeername {
                fd: self.fd(actor, next())?,
            },
            Name::Fork => {
                let arg = next();
                let actors = self.actors.as_ref().expect("steps come after actors");
                let child = match &arg.arg {
                    Arg::Ident(name) => actors.iter().position(|a| a == name),
                    _ => None,
                };
                let Some(child) = child.filter(|&c| c != actor) else {
                    return Err(self
                        .err(
                            ErrorKind::UnknownActor,
                            arg.span,
                            "fork names the actor the child becomes",
                            "expected another actor",
                        )
                        .help("declare it in the actors line, then write fork(worker)"));
                };
                if self.steps.iter().any(|s| s.actor == child)
                    || self.steps.iter().any(|s| s.call == Call::Fork { child })
                {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            arg.span,
                            format!("{} already exists here", actors[child]),
                            "it has steps or was forked before",
                        )
                        .help("a forked actor starts at its fork: its steps come after it"));
                }
                Call::Fork { child }
            }
            Name::Getsockopt => {
                let fd = self.fd(actor, next())?;
                let (level, opt) = (next(), next());
                match (&level.arg, &opt.arg) {
                    (Arg::Ident(l), Arg::Ident(o)) if l == "SOL_SOCKET" && o == "SO_ERROR" => {
                        Call::SoError { fd }
                    }
                    _ => Call::Getsockopt {
                        fd,
                        opt: self.option(level, opt, "getsockopt")?,
                    },
                }
            }
            Name::Socketpair => {
                let domain = self.constant(next(), names::DOMAINS, "an address family")?;
                let ty = self.constant(next(), names::TYPES, "a socket type")?;
                let proto = next();
                if domain != crate::call::Domain::Unix || !matches!(proto.arg, Arg::Int(0)) {
                    return Err(self
                        .err(
                            ErrorKind::UnknownConstant,
                            proto.span,
                            "socketpair makes AF_UNIX sockets",
                            "expected AF_UNIX, a type and 0",
                        )
                        .help("write a, b = socketpair(AF_UNIX, SOCK_STREAM, 0)"));
                }
                Call::Socketpair { ty }
            }
            Name::Fcntl => {
                let fd = self.fd(actor, next())?;
                let cmd = next();
                let third = a.next();
                let nonblock = match (&cmd.arg, third) {
                    (Arg::Ident(c), None) if c == "F_GETFL" => None,
                    (Arg::Ident(c), Some(v)) if c == "F_SETFL" => match v.arg {
                        Arg::Ident(f) if f == "O_NONBLOCK" => Some(true),
                        Arg::Int(0) => Some(false),
                        _ => {
                            return Err(self
                                .err(ErrorKind::UnknownConstant, v.span, "expected O_NONBLOCK or 0", "the flags to set")
                                .help("write fcntl(s, F_SETFL, O_NONBLOCK), or 0 to make the socket blocking again"));
                        }
                    },
                    _ => {
                        return Err(self
                            .err(
                                ErrorKind::UnknownConstant,
                                cmd.span,
                                "expected F_SETFL with a flag, or F_GETFL alone",
                                "an fcntl command",
                            )
                            .help(format!("write {signature}")));
                    }
                };
                Call::Fcntl { fd, nonblock }
            }
            Name::Unlink => match next() {
                ArgTok {
                    arg: Arg::Str(path),
                    ..
                } => Call::Unlink {
                    path: String::from_utf8_lossy(&path).into_owned(),
                },
                other => {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            other.span,
                            "expected a path",
                            "expected a \"path\"",
                        )
                        .help("write unlink(\"server.sock\")"));
                }
            },
            Name::Poll => return self.poll(actor, args_left(a), span),
            Name::Select => return self.select(actor, args_left(a), span),
        };
        return Ok(call);

        fn args_left(a: std::vec::IntoIter<ArgTok>) -> Vec<ArgTok> {
            a.collect()
        }

        fn a_flags(p: &Parser, arg: Option<ArgTok>) -> Result<Vec<MsgFlag>, LessonError> {
            arg.map(|a| p.flags(a)).unwrap_or(Ok(Vec::new()))
        }
    }

    /// `poll(fd, fd, ..., timeout)`: every fd is watched for POLLIN.
    fn poll(
        &self,
        actor: usize,
        mut args: Vec<ArgTok>,
        span: (usize, usize),
    ) -> Result<Call<FdRef>, LessonError> {
        let help = "write poll(s, c, -1) to wait until s or c has something to read, or poll(s, c, 0) to look without waiting";
        if args.len() < 2 {
            return Err(self
                .err(
                    ErrorKind::ArgumentCount,
                    span,
                    "poll takes fds and a timeout",
                    "expected fds, then -1 or 0",
                )
                .help(help));
        }
        let timeout = args.pop().expect("two or more");
        let wait = match timeout.arg {
            Arg::Int(-1) => true,
            Arg::Int(0) => false,
            _ => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        timeout.span,
                        "a timeout of -1 (wait) or 0 (look)",
                        "sockstep waits on no clock",
                    )
                    .help("a run never waits for time to pass, so poll takes -1 or 0"));
            }
        };
        let mut fds = Vec::new();
        let mut events = Vec::new();
        for a in args {
            match a.arg {
                Arg::PollFd(fd, names) => {
                    fds.push(self.fd(actor, *fd)?);
                    let mut ev = 0;
                    for (name, span) in names {
                        ev |= self.constant(
                            ArgTok {
                                arg: Arg::Ident(name),
                                span,
                            },
                            names::POLL_EVENTS,
                            "a poll event",
                        )?;
                    }
                    events.push(ev);
                }
                _ => {
                    fds.push(self.fd(actor, a)?);
                    events.push(libc::POLLIN);
                }
            }
        }
        Ok(Call::Poll {
            fds,
            events,
            wait,
            ms: None,
        })
    }

    /// `fd_set rfds, wfds;`: each name an empty set of fds for select.
    fn fd_sets(&mut self, actor: usize, first: &Token, toks: &[Token]) -> Result<(), LessonError> {
        let toks = match toks {
            [head @ .., Token { tok: Tok::Semi, .. }] => head,
            _ => toks,
        };
        let mut names = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match (&t.tok, i % 2) {
                (Tok::Ident(n), 0) => names.push(n.clone()),
                (Tok::Comma, 1) if i + 1 < toks.len() => {}
                _ => {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            t.span(),
                            "unexpected token in an fd_set declaration",
                            "expected a name",
                        )
                        .help("write `fd_set readfds;` or `fd_set readfds, writefds;`"));
                }
            }
        }
        if names.is_empty() {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    first.span(),
                    "an fd_set with no name",
                    "expected a name after fd_set",
                )
                .help("write `fd_set readfds;`"));
        }
        let d = &mut self.decls[actor];
        for n in names {
            d.fdsets.retain(|(m, _)| *m != n);
            d.fdsets.push((n, Vec::new()));
        }
        Ok(())
    }

    /// FD_ZERO(&set), FD_SET(fd, &set), FD_CLR(fd, &set): C's macros that
    /// fill select's sets. No system call: no step.
    fn fd_macro(
        &mut self,
        actor: usize,
        name: &str,
        name_tok: &Token,
        toks: &[Token],
    ) -> Result<(), LessonError> {
        let help = "fill a set with FD_ZERO(&readfds); then FD_SET(s, &readfds); for each fd";
        if !matches!(
            toks.first(),
            Some(Token {
                tok: Tok::LParen,
                ..
            })
        ) {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    name_tok.span(),
                    "expected `(`",
                    "expected `(` after the macro",
                )
                .help(help));
        }
        let (args, _, after) = self.args(actor, &toks[1..], name_tok)?;
        if let Some(t) = after.iter().find(|t| t.tok != Tok::Semi) {
            return Err(self.err(
                ErrorKind::Syntax,
                t.span(),
                "unexpected text after the macro",
                "FD_ macros give no result to expect",
            ));
        }
        let set_of = |p: &Self, a: &ArgTok| -> Result<String, LessonError> {
            match &a.arg {
                Arg::Ref(n) if p.decls[actor].fdsets.iter().any(|(m, _)| m == n) => Ok(n.clone()),
                Arg::Ref(n) | Arg::Ident(n) => Err(p
                    .err(
                        ErrorKind::Syntax,
                        a.span,
                        format!("`{n}` is not a declared fd_set"),
                        "expected &set of an fd_set",
                    )
                    .help(format!("declare it first: `fd_set {n};`"))),
                _ => Err(p
                    .err(ErrorKind::Syntax, a.span, "expected a set", "expected &set")
                    .help(help)),
            }
        };
        let count = args.len();
        let mut args = args.into_iter();
        match (name, count) {
            ("FD_ZERO", 1) => {
                let set = set_of(self, &args.next().expect("one argument"))?;
                if let Some(s) = self.decls[actor].fdset(&set) {
                    s.clear();
                }
            }
            ("FD_SET" | "FD_CLR", 2) => {
                let fd = args.next().expect("two arguments");
                let set = set_of(self, &args.next().expect("two arguments"))?;
                let fd = self.fd(actor, fd)?;
                if let Some(s) = self.decls[actor].fdset(&set) {
                    s.retain(|f| *f != fd);
                    if name == "FD_SET" {
                        s.push(fd);
                    }
                }
            }
            ("FD_ZERO", _) | ("FD_SET", _) | ("FD_CLR", _) => {
                return Err(self
                    .err(
                        ErrorKind::ArgumentCount,
                        name_tok.span(),
                        format!(
                            "{name} takes {}",
                            if name == "FD_ZERO" {
                                "&set"
                            } else {
                                "an fd and &set"
                            }
                        ),
                        "another number of arguments",
                    )
                    .help(help));
            }
            ("FD_ISSET", _) => {
                return Err(self
                    .err(
                        ErrorKind::UnknownCall,
                        name_tok.span(),
                        "FD_ISSET reads what select left in a set",
                        "no call to make",
                    )
                    .help("sockstep shows after each select which fds it left in each set"));
            }
            _ => {
                return Err(self
                    .err(
                        ErrorKind::UnknownCall,
                        name_tok.span(),
                        format!("unknown macro `{name}`"),
                        "not FD_ZERO, FD_SET or FD_CLR",
                    )
                    .help(help));
            }
        }
        Ok(())
    }

    /// select(nfds, &readfds, &writefds, NULL, timeout): the sets as FD_SET
    /// filled them so far; NULL to wait, a zero timeval to look.
    fn select(
        &self,
        actor: usize,
        args: Vec<ArgTok>,
        span: (usize, usize),
    ) -> Result<Call<FdRef>, LessonError> {
        let help = "write select(nfds, &readfds, &writefds, NULL, NULL), nfds the highest fd in \
                    the sets plus one, after fd_set readfds; FD_ZERO(&readfds); FD_SET(s, &readfds);";
        let [nfds, read, write, except, timeout] = <[ArgTok; 5]>::try_from(args).map_err(|a| {
            self.err(
                ErrorKind::ArgumentCount,
                span,
                format!("select takes 5 arguments, found {}", a.len()),
                "expected 5 arguments",
            )
            .help(help)
        })?;
        let null = |a: &ArgTok| {
            matches!(&a.arg, Arg::Ident(n) if n == "NULL") || matches!(a.arg, Arg::Int(0))
        };
        let nfds = match &nfds.arg {
            Arg::Int(n) if (0..=1024).contains(n) => *n as i32,
            Arg::Ident(n) if n == "FD_SETSIZE" => libc::FD_SETSIZE as i32,
            _ => {
                return Err(self
                    .err(
                        ErrorKind::Syntax,
                        nfds.span,
                        "nfds is a number from 0 to 1024",
                        "expected the highest fd plus one",
                    )
                    .help("write the number itself (5 when the highest fd is 4), or FD_SETSIZE"));
            }
        };
        let set = |a: &ArgTok| -> Result<Vec<FdRef>, LessonError> {
            if null(a) {
                return Ok(Vec::new());
            }
            match &a.arg {
                Arg::Ref(n) => match self.decls[actor].fdsets.iter().find(|(m, _)| m == n) {
                    Some((_, fds)) => Ok(fds.clone()),
                    None => Err(self
                        .err(
                            ErrorKind::Syntax,
                            a.span,
                            format!("`{n}` is not a declared fd_set"),
                            "expected &set of an fd_set",
                        )
                        .help(format!("declare it first: `fd_set {n};`"))),
                },
                _ => Err(self
                    .err(
                        ErrorKind::Syntax,
                        a.span,
                        "expected &set or NULL",
                        "a set of fds",
                    )
                    .help(help)),
            }
        };
        let (read, write) = (set(&read)?, set(&write)?);
        if !null(&except) {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    except.span,
                    "sockstep takes no exceptfds",
                    "expected NULL",
                )
                .help("pass NULL; TCP's urgent data is read with recv(s, 1, MSG_OOB)"));
        }
        let wait = if null(&timeout) {
            true
        } else {
            let tv = match &timeout.arg {
                Arg::Ref(n) => self.decls[actor]
                    .timevals
                    .iter()
                    .find(|(m, _)| m == n)
                    .map(|(_, t)| *t),
                _ => None,
            };
            match tv {
                Some((0, 0)) => false,
                _ => {
                    return Err(self
                        .err(
                            ErrorKind::Syntax,
                            timeout.span,
                            "a timeout of NULL (wait) or a zero timeval (look)",
                            "sockstep waits on no clock",
                        )
                        .help(
                            "pass NULL to wait until an fd is ready, or &tv after \
                               `struct timeval tv = {0, 0};` to look without waiting",
                        ));
                }
            }
        };
        Ok(Call::Select {
            nfds,
            read,
            write,
            wait,
            ms: None,
        })
    }

    /// An option and its level, as setsockopt and getsockopt take them.
    fn option(
        &self,
        level: ArgTok,
        opt_tok: ArgTok,
        call: &str,
    ) -> Result<crate::call::SockOpt, LessonError> {
        let level_name = match &level.arg {
            Arg::Ident(l) if names::LEVELS.contains(&l.as_str()) => l.clone(),
            _ => {
                return Err(self.bad_constant(
                    &level,
                    names::LEVELS.iter().copied(),
                    "an option level",
                ));
            }
        };
        let opt_names = names::OPTS.iter().map(|(n, _, _)| *n);
        let (opt_level, opt) = match &opt_tok.arg {
            Arg::Ident(o) => match names::OPTS.iter().find(|(n, _, _)| n == o) {
                Some((_, l, opt)) => (*l, *opt),
                None => {
                    return Err(self.bad_constant(&opt_tok, opt_names, "a socket option"));
                }
            },
            _ => return Err(self.bad_constant(&opt_tok, opt_names, "a socket option")),
        };
        if opt_level != level_name {
            return Err(self
                .err(
                    ErrorKind::UnknownConstant,
                    level.span,
                    format!(
                        "{} lives at level {opt_level}, not {level_name}",
                        names::opt(opt).1
                    ),
                    &format!("expected {opt_level}"),
                )
                .help(format!(
                    "write {call}(fd, {opt_level}, {}, ...)",
                    names::opt(opt).1
                )));
        }
        Ok(opt)
    }

    fn fd(&self, actor: usize, arg: ArgTok) -> Result<FdRef, LessonError> {
        match arg.arg {
            Arg::Int(n) => Ok(FdRef::Num(to_i32(n))),
            Arg::Ident(name) if self.bound[actor].contains(&name) => Ok(FdRef::Name(name)),
            Arg::Ident(name) if self.decls[actor].knows(&name) => Err(self
                .err(
                    ErrorKind::Syntax,
                    arg.span,
                    format!("`{name}` is not a socket"),
                    "declared as a buffer, an address, a string or a count",
                )
                .help("this argument is the fd a call like socket() or accept() returned")),
            Arg::Ident(name) => {
                let actor_name = &self.actors.as_ref().expect("steps come after actors")[actor];
                let mut e = self.err(
                    ErrorKind::UnboundName,
                    arg.span,
                    format!("`{name}` is not bound for {actor_name}"),
                    "no earlier step binds this name",
                );
                let owner =
                    (0..self.bound.len()).find(|&o| o != actor && self.bound[o].contains(&name));
                e = match closest(&name, self.bound[actor].iter().map(String::as_str)) {
                    _ if owner.is_some() => {
                        let other = &self.actors.as_ref().expect("steps come after actors")
                            [owner.unwrap_or(0)];
                        e.help(format!(
                            "`{name}` is bound for {other}, not {actor_name}: each actor is its own process with its own fds"
                        ))
                    }
                    Some(s) => e.help(format!("did you mean `{s}`?")),
                    None if self.bound[actor].is_empty() => e.help(format!(
                        "bind it first: `{actor_name}: {name} = socket(AF_INET, SOCK_STREAM, 0)`"
                    )),
                    None => e.help(format!(
                        "{actor_name} has bound {}",
                        quote_list(&self.bound[actor])
                    )),
                };
                Err(e)
            }
            _ => Err(self.err(
                ErrorKind::Syntax,
                arg.span,
                "expected a file descriptor",
                "expected a name like `s` or a number like 3",
            )),
        }
    }

    fn addr(&mut self, arg: ArgTok) -> Result<Addr, LessonError> {
        match arg.arg {
            Arg::Addr(a) => Ok(a),
            Arg::Runtime(name) => {
                // Filled in when the step runs.
                self.addr_from = Some(name);
                Ok(Addr::V4(std::net::SocketAddrV4::new(
                    std::net::Ipv4Addr::UNSPECIFIED,
                    0,
                )))
            }
            Arg::Str(path) => Ok(Addr::Unix(String::from_utf8_lossy(&path).into_owned())),
            Arg::Ident(w) if w == "localhost" || w.starts_with("INADDR") => Err(self
                .err(
                    ErrorKind::BadAddress,
                    arg.span,
                    format!("`{w}` is not an address with a port"),
                    "expected ADDRESS:PORT",
                )
                .help(
                    "write 127.0.0.1:8080 (loopback) or 0.0.0.0:8080 (INADDR_ANY, every address)",
                )),
            _ => Err(self
                .err(
                    ErrorKind::BadAddress,
                    arg.span,
                    "expected an address",
                    "expected ADDRESS:PORT or a \"path\"",
                )
                .help("write 127.0.0.1:8080, [::1]:8080, or \"server.sock\" for a unix socket")),
        }
    }

    fn int(&self, arg: ArgTok, what: &str) -> Result<i64, LessonError> {
        match arg.arg {
            Arg::Int(n) => Ok(n),
            _ => Err(self.err(
                ErrorKind::Syntax,
                arg.span,
                format!("expected {what}"),
                "expected a number",
            )),
        }
    }

    fn length(&self, arg: ArgTok) -> Result<usize, LessonError> {
        let span = arg.span;
        let n = self.int(arg, "a buffer length")?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= 1 << 24)
            .ok_or_else(|| {
                self.err(
                    ErrorKind::Syntax,
                    span,
                    "a buffer length from 0 to 16777216",
                    "out of range",
                )
            })
    }

    fn data(&self, arg: ArgTok) -> Result<Vec<u8>, LessonError> {
        match arg.arg {
            Arg::Str(s) => Ok(s),
            _ => Err(self.err(
                ErrorKind::Syntax,
                arg.span,
                "expected the data to send",
                "expected a string like \"hello\"",
            )),
        }
    }

    fn flags(&self, arg: ArgTok) -> Result<Vec<MsgFlag>, LessonError> {
        let list = match arg.arg {
            Arg::Flags(list) => list,
            Arg::Ident(name) => vec![(name, arg.span)],
            Arg::Int(0) => return Ok(Vec::new()),
            _ => {
                return Err(self.err(
                    ErrorKind::Syntax,
                    arg.span,
                    "expected flags",
                    "expected MSG_... flags or 0",
                ));
            }
        };
        list.into_iter()
            .map(|(name, span)| {
                names::FLAGS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| {
                        self.bad_constant(
                            &ArgTok {
                                arg: Arg::Ident(name),
                                span,
                            },
                            names::FLAGS.iter().map(|(n, _)| *n),
                            "a message flag",
                        )
                    })
            })
            .collect()
    }

    fn constant<T: Copy>(
        &self,
        arg: ArgTok,
        table: &[(&'static str, T)],
        what: &str,
    ) -> Result<T, LessonError> {
        if let Arg::Ident(name) = &arg.arg
            && let Some((_, v)) = table.iter().find(|(n, _)| n == name)
        {
            return Ok(*v);
        }
        Err(self.bad_constant(&arg, table.iter().map(|(n, _)| *n), what))
    }

    fn bad_constant<'n>(
        &self,
        arg: &ArgTok,
        choices: impl Iterator<Item = &'n str> + Clone,
        what: &str,
    ) -> LessonError {
        let shown: Vec<&str> = choices
            .clone()
            .filter(|c| !c.starts_with("PF_") && *c != "AF_LOCAL" && *c != "0")
            .collect();
        match &arg.arg {
            Arg::Ident(name) => {
                let e = self.err(
                    ErrorKind::UnknownConstant,
                    arg.span,
                    format!("`{name}` is not {what}"),
                    &format!("expected {what}"),
                );
                match closest(name, choices) {
                    Some(s) => e.help(format!("did you mean `{s}`?")),
                    None => e.help(format!("expected one of {}", shown.join(", "))),
                }
            }
            _ => self
                .err(
                    ErrorKind::UnknownConstant,
                    arg.span,
                    format!("expected {what}"),
                    &format!("expected {what}"),
                )
                .help(format!("expected one of {}", shown.join(", "))),
        }
    }

    fn expectation(
        &self,
        call: &Call<FdRef>,
        toks: &[Token],
    ) -> Result<Option<Expect>, LessonError> {
        let Some(first) = toks.first() else {
            return Ok(None);
        };
        if first.tok != Tok::Arrow {
            return Err(self
                .err(ErrorKind::Syntax, first.span(), "unexpected token after the call", "expected `=>` or the end of the line")
                .help("write an expectation like `=> 0`, `=> ECONNREFUSED`, `=> \"hello\"` or `=> blocks`"));
        }
        let help = "an expectation is a number, an errno (ECONNREFUSED, or -1 ECONNREFUSED; -1 alone for any failure), the bytes received (\"hello\"), `blocks`, or a signal (SIGPIPE)";
        let Some(value) = toks.get(1) else {
            return Err(self
                .err(
                    ErrorKind::BadExpectation,
                    (first.end, 0),
                    "expected what the call should give after `=>`",
                    "nothing here",
                )
                .help(help));
        };
        // `=> -1 ECONNREFUSED`, as a C programmer reads a failure: the
        // errno says it all; `=> -1` alone, any failure.
        let (value, rest) = match (&value.tok, toks.get(2)) {
            (
                Tok::Int(-1),
                Some(
                    e @ Token {
                        tok: Tok::Ident(_), ..
                    },
                ),
            ) => (e, 3),
            _ => (value, 2),
        };
        if let Some(extra) = toks.get(rest) {
            return Err(self
                .err(
                    ErrorKind::Syntax,
                    extra.span(),
                    "unexpected token after the expectation",
                    "expected the end of the line",
                )
                .help(help));
        }
        let expect = match &value.tok {
            // No call returns -1 but to fail.
            Tok::Int(-1) => Expect::Fails,
            Tok::Int(n) => Expect::Value(*n),
            Tok::Str(bytes) if call.receives() => Expect::Bytes(bytes.clone()),
            Tok::Str(_) => {
                return Err(self
                    .err(
                        ErrorKind::BadExpectation,
                        value.span(),
                        format!("{}() receives no bytes", call.name()),
                        "bytes can only be expected of recv, read and recvfrom",
                    )
                    .help("expect a return value instead, such as `=> 0`"));
            }
            Tok::Addr(a) | Tok::NamedAddr(_, a) if reports_addr(call) => Expect::Addr(a.clone()),
            Tok::EphAddr(ip, n) if reports_addr(call) => Expect::AddrEphemeral(*ip, *n),
            Tok::Addr(_) | Tok::NamedAddr(..) | Tok::EphAddr(..) => {
                return Err(self
                    .err(
                        ErrorKind::BadExpectation,
                        value.span(),
                        format!("{}() reports no address", call.name()),
                        "an address can be expected of recvfrom, accept, getsockname and getpeername",
                    )
                    .help("expect a return value instead, such as `=> 0`"));
            }
            Tok::Ident(w) if w == "blocks" => Expect::Blocks,
            Tok::Ident(w) if w.starts_with("SIG") => match SIGNALS.iter().find(|(n, _)| n == w) {
                Some((_, s)) => Expect::Signal(*s),
                None => {
                    let e = self.err(
                        ErrorKind::BadExpectation,
                        value.span(),
                        format!("unknown signal `{w}`"),
                        "not a signal sockstep knows",
                    );
                    return Err(match closest(w, SIGNALS.iter().map(|(n, _)| *n)) {
                        Some(s) => e.help(format!("did you mean `{s}`?")),
                        None => e.help(help),
                    });
                }
            },
            Tok::Ident(w) => match ERRNOS.iter().find(|(n, _)| n == w) {
                Some((_, errno)) => Expect::Errno(*errno),
                None => {
                    let e = self.err(
                        ErrorKind::BadExpectation,
                        value.span(),
                        format!("unknown errno `{w}`"),
                        "not an errno sockstep knows",
                    );
                    return Err(match closest(w, ERRNOS.iter().map(|(n, _)| *n)) {
                        Some(s) => e.help(format!("did you mean `{s}`?")),
                        None => e.help(help),
                    });
                }
            },
            _ => {
                return Err(self
                    .err(
                        ErrorKind::BadExpectation,
                        value.span(),
                        "this cannot be expected of a call",
                        "expected a value",
                    )
                    .help(help));
            }
        };
        Ok(Some(expect))
    }
}

fn to_i32(n: i64) -> i32 {
    n.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Whether the call reports an address that `=> 127.0.0.1:8080` can expect.
fn reports_addr(call: &Call<FdRef>) -> bool {
    matches!(
        call,
        Call::Recvfrom { .. }
            | Call::Accept { .. }
            | Call::Getsockname { .. }
            | Call::Getpeername { .. }
    )
}

fn quote_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    few(&quoted)
}

/// At most five names, and how many more there are.
fn few(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut out = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

/// The span covering `toks`, or the end of `after` when there are none.
fn span_of(toks: &[Token], after: &Token) -> (usize, usize) {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => (a.start, b.end - a.start),
        _ => (after.end, 0),
    }
}

fn end_of(toks: &[Token]) -> (usize, usize) {
    (toks.last().map(|t| t.end).unwrap_or(0), 0)
}

/// The choice nearest to `word`, if one is near enough to be a typo.
fn closest<'n>(word: &str, choices: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    // The distance takes time and memory in the product of the lengths: a
    // long word is no typo of a short name anyway.
    const LONGEST: usize = 64;
    if word.len() > LONGEST {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    choices
        .filter(|c| c.len() <= LONGEST)
        .map(|c| {
            (
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
