//! Every sentence sockstep says, in one place: each a function of the
//! facts the engine reported (`event`, `explain`, `sock`). Renderers lay
//! these out; they write no words of their own, and nothing reads these
//! words back.

use super::{Names, format_call, quote_bytes};
use crate::call::{Addr, Call, Domain, SockType};
use crate::errno::{errno_desc, errno_name, signal_name};
use crate::event::{Asleep, AsleepOn, Got, HostReason, NoCapture, Outcome, TimerWait, Waiting};
use crate::explain::{By, Eof, Hop, Note, Path, RstCause, TwEnd, Why};
use crate::lesson::Expect;
use crate::sock::{Holder, Kind, Rfc, Socket, State};
use crate::wire::{Extra, SetupError, WaitKind};

/// What the words need besides the facts: how addresses and actors are
/// named in this transcript.
pub struct Words<'a> {
    pub names: &'a Names,
    pub actors: &'a [String],
    /// The hosts of the run; none on one machine.
    pub hosts: &'a [crate::event::HostInfo],
    /// Programs traced, not a lesson run.
    pub traced: bool,
    /// Stable output: nothing that differs from run to run or machine to
    /// machine (times, buffer sizes).
    pub stable: bool,
}

/// A socket's kind as ss and the transcript name it: TCP, UDPv6, UNIX-STREAM.
pub fn kind(k: Kind) -> &'static str {
    match (k.domain, k.ty) {
        (Domain::Inet, SockType::Stream) => "TCP",
        (Domain::Inet6, SockType::Stream) => "TCPv6",
        (Domain::Inet, SockType::Dgram) => "UDP",
        (Domain::Inet6, SockType::Dgram) => "UDPv6",
        (Domain::Unix, SockType::Stream) => "UNIX-STREAM",
        (Domain::Unix, SockType::Dgram) => "UNIX-DGRAM",
        (Domain::Unix, SockType::Seqpacket) => "UNIX-SEQPACKET",
        (_, SockType::Seqpacket) => "SEQPACKET",
    }
}

/// An RFC 9293 state's name.
pub fn rfc(s: Rfc) -> &'static str {
    match s {
        Rfc::Closed => "CLOSED",
        Rfc::Listen => "LISTEN",
        Rfc::SynSent => "SYN-SENT",
        Rfc::SynReceived => "SYN-RECEIVED",
        Rfc::Established => "ESTABLISHED",
        Rfc::FinWait1 => "FIN-WAIT-1",
        Rfc::FinWait2 => "FIN-WAIT-2",
        Rfc::CloseWait => "CLOSE-WAIT",
        Rfc::Closing => "CLOSING",
        Rfc::LastAck => "LAST-ACK",
        Rfc::TimeWait => "TIME-WAIT",
    }
}

/// A socket's state as the transcript names it: RFC 9293's name for TCP,
/// ss's (UNCONN, ESTABLISHED, LISTEN) for the others.
pub fn state(k: Kind, s: State) -> &'static str {
    if k.is_tcp() {
        return rfc(s.rfc());
    }
    match s {
        State::Listen => "LISTEN",
        State::Unconn | State::Close => "UNCONN",
        _ => "ESTABLISHED",
    }
}

/// Where ss writes a state differently, for the table's legend.
pub fn ss_names(sockets: &[Socket]) -> Option<String> {
    let mut legend = Vec::new();
    for (st, ss) in [
        (State::Established, "ESTAB"),
        (State::Close, "UNCONN"),
        (State::SynRecv, "SYN-RECV"),
    ] {
        if sockets.iter().any(|s| s.kind.is_tcp() && s.state == st) {
            legend.push(format!("{} as {ss}", rfc(st.rfc())));
        }
    }
    (!legend.is_empty()).then(|| format!("(ss writes {})", legend.join(", ")))
}

pub const TABLE_TITLE: &str = "sockets, as the kernel reports them:";
pub const TABLE_EMPTY: &str = "none: every socket of the run is gone";
pub const TABLE_HEAD: [&str; 7] = [
    "socket", "type", "local", "peer", "state", "recv-q", "send-q",
];
pub const BULK: &str = "… a bulk transfer: segments of data and their ACKs …";
pub const EXPECTED_DEADLOCK: &str = "✓ a deadlock, as the lesson expects";

/// Step numbers as `3, 4, 7–9`.
pub fn list(steps: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let mut j = i;
        while j + 1 < steps.len() && steps[j + 1] == steps[j] + 1 {
            j += 1;
        }
        parts.push(if j > i + 1 {
            format!("{}–{}", steps[i], steps[j])
        } else if j == i + 1 {
            format!("{}, {}", steps[i], steps[j])
        } else {
            steps[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn steps_word(n: usize) -> &'static str {
    if n == 1 { "step" } else { "steps" }
}

/// Why the private namespace could not be had.
pub fn setup_error(e: &SetupError) -> String {
    match e {
        SetupError::Unshare { user, net } => format!(
            "unshare(CLONE_NEWUSER|CLONE_NEWNET) failed with {}, unshare(CLONE_NEWNET) with {}",
            errno_desc(*user),
            errno_desc(*net)
        ),
        SetupError::IdMap(e) => format!("cannot write uid_map or gid_map: {}", errno_desc(*e)),
        SetupError::Nested(e) => {
            format!("cannot make a nested network namespace: {}", errno_desc(*e))
        }
        SetupError::Loopback(e) => format!("cannot bring lo up: {}", errno_desc(*e)),
        SetupError::Quickack(e) => {
            format!("cannot set quickack on lo's routes: {}", errno_desc(*e))
        }
        SetupError::Link(e) => format!(
            "cannot make the second host and its link: {}",
            errno_desc(*e)
        ),
        SetupError::Join(e) => format!("cannot join the run's namespaces: {}", errno_desc(*e)),
        SetupError::Gone => "the process exited before it was ready".into(),
    }
}

pub fn host_reason(r: &HostReason) -> String {
    match r {
        HostReason::Asked => "--host-network was given".into(),
        HostReason::Setup(e) => setup_error(e),
    }
}

/// The one line on stderr that says the run is on the host's loopback.
pub fn host_note(r: &HostReason, remapped: &[(u16, u16)]) -> String {
    let ports: Vec<String> = remapped.iter().map(|(l, r)| format!("{l} → {r}")).collect();
    let remap = if ports.is_empty() {
        String::new()
    } else {
        format!(
            ", lesson ports remapped to free ones ({}) and shown as the lesson writes them",
            ports.join(", ")
        )
    };
    format!(
        "note: no private network namespace ({}); running on the host's loopback{remap}",
        host_reason(r)
    )
}

/// What on the host's network is not kept from the actors, for a note on
/// stderr; `None` when they are confined.
pub fn unconfined(c: crate::confine::Confinement) -> Option<String> {
    use crate::confine::Confinement;
    match c {
        Confinement::Chroot { scoped: true } => None,
        Confinement::Chroot { scoped: false } => Some(
            "note: on the host's network, the actors are kept to the run's directory, but they \
             can still connect to the host's abstract unix sockets (this kernel's Landlock does \
             not scope those)"
                .into(),
        ),
        Confinement::Landlock { scoped: true } => Some(
            "note: on the host's network, Landlock keeps the actors to the run's directory, but \
             they can still connect to the host's unix sockets by path"
                .into(),
        ),
        Confinement::Landlock { scoped: false } => Some(
            "note: on the host's network, Landlock keeps the actors to the run's directory, but \
             they can still connect to the host's unix sockets, by path and abstract names \
             (this kernel's Landlock does not scope those)"
                .into(),
        ),
        Confinement::None => Some(
            "note: on the host's network, with no Landlock in this kernel, nothing keeps the \
             actors from the host's files and unix sockets: run only lessons you trust"
                .into(),
        ),
    }
}

/// The line under the actors when the lesson names paths outside its
/// directory.
pub const ROOTED_PATHS: &str =
    "Unix socket paths are inside the run's own directory, which the actors see as /.";

pub fn no_capture(r: &NoCapture) -> String {
    match r {
        NoCapture::NotAsked => "packets were not asked for".into(),
        NoCapture::Denied { errno, host: true } if *errno == libc::EPERM => {
            "capturing packets needs CAP_NET_RAW, which only a private network namespace gives \
             without root"
                .into()
        }
        NoCapture::Denied { errno, .. } => {
            format!("cannot open a packet socket: {}", errno_desc(*errno))
        }
        NoCapture::NoHub => "the hub did not start".into(),
    }
}

/// The line that says how a trace ended.
pub fn traced(calls: usize, failures: usize) -> String {
    let calls = plural(calls as u64, "socket call", "socket calls");
    if failures == 0 {
        format!("✓ {calls}; every program ended.")
    } else {
        format!("✗ {calls}; the programs did not all end (a deadlock, or a crash).")
    }
}

/// The line that says how the run ended.
pub fn finish(steps_run: usize, steps: usize, failures: usize) -> String {
    let ran = format!("{steps_run} of {steps} steps ran");
    if failures == 0 {
        format!("✓ {ran}; the run went as the lesson expects.")
    } else {
        let s = if failures == 1 { "" } else { "s" };
        format!("✗ {ran}; {failures} thing{s} did not go as the lesson expects.")
    }
}

/// What a step expected, as the lesson wrote it.
pub fn expectation(e: &Expect) -> String {
    match e {
        Expect::Value(v) => format!("{v}"),
        Expect::Errno(n) => errno_name(*n),
        Expect::Fails => "it to fail (-1)".into(),
        Expect::Bytes(b) => quote_bytes(b, 40),
        Expect::Blocks => "it to block".into(),
        Expect::Signal(s) => format!("the process to die of {}", signal_name(*s)),
        Expect::Addr(a) => a.to_string(),
        Expect::AddrEphemeral(ip, None) => format!("{ip} with a port the kernel picked"),
        Expect::AddrEphemeral(ip, Some(n)) => {
            format!("{ip} with the port the kernel picked that the lesson calls eph{n}")
        }
    }
}

/// An expectation as a quiz answer reads.
pub fn answer(e: &Expect) -> String {
    match e {
        Expect::Blocks => "blocks".into(),
        Expect::Signal(s) => signal_name(*s),
        Expect::Fails => "-1".into(),
        Expect::Bytes(b) => format!("{} ({} bytes)", quote_bytes(b, 40), b.len()),
        other => expectation(other),
    }
}

/// What happened instead of what was expected.
pub fn got(g: &Got) -> String {
    use crate::wire::Extra;
    match g {
        Got::Outcome(Outcome::Returned {
            extra: Some(Extra::Opt(crate::call::OptValue::Int(v))),
            ..
        }) => format!("the option's value was {v}"),
        Got::Outcome(Outcome::Returned {
            extra: Some(Extra::SoError(0)),
            ..
        }) => "SO_ERROR was 0: no error".into(),
        Got::Outcome(Outcome::Returned {
            extra: Some(Extra::SoError(e)),
            ..
        }) => format!("SO_ERROR was {}", errno_name(*e)),
        Got::Outcome(Outcome::Returned {
            ret, data: Some(d), ..
        }) => format!("it returned {ret} with {}", quote_bytes(d, 40)),
        Got::Outcome(Outcome::Returned { ret, .. }) => format!("it returned {ret}"),
        Got::Outcome(Outcome::Failed { errno }) => format!("it failed with {}", errno_name(*errno)),
        Got::Outcome(Outcome::Blocked { .. }) => "it blocked".into(),
        Got::Died {
            signal: Some(s), ..
        } => format!("the process was killed by {}", signal_name(*s)),
        Got::Died { code, .. } => format!("the process exited with code {}", code.unwrap_or(-1)),
        Got::NeverReturned => "the call never returned".into(),
    }
}

pub fn expect_failed(expected: &Expect, g: &Got, names: &Names) -> String {
    let got = match (expected, g) {
        (Expect::Addr(_) | Expect::AddrEphemeral(..), Got::Outcome(o)) => match o.reported() {
            Some(a) => format!("it reported {}", names.addr(a)),
            None => got(g),
        },
        _ => got(g),
    };
    format!("✗ expected {}, but {got}", expectation(expected))
}

/// A failed call's errno line: name, the C library's words, and why.
pub fn errno_line(errno: i32, why: &str) -> String {
    format!(
        "{} ({}, errno {errno}): {why}",
        errno_name(errno),
        errno_desc(errno)
    )
}

/// A blocked call: what it waits for.
pub fn blocked(call: &Call<i32>, wait: WaitKind, stable: bool) -> String {
    match wait {
        _ if matches!(call, Call::Poll { .. } | Call::Select { .. }) => {
            "waits: none of its fds is ready".into()
        }
        WaitKind::Ready => "waits: none of its fds is ready".into(),
        WaitKind::Connection => "waits: no connection is waiting to be accepted".into(),
        WaitKind::Data { got: 0 } => "waits: nothing has arrived to read".into(),
        // Partial counts depend on the machine's buffer sizes: stable
        // output leaves them out.
        WaitKind::Data { .. } if stable => "waits: not all of it has arrived".into(),
        WaitKind::Data { got } => {
            format!("waits: not all of it has arrived ({got} bytes so far)")
        }
        WaitKind::Room { .. } if stable => "waits: the buffers are full".into(),
        WaitKind::Room { sent } => {
            format!("waits: the buffers are full ({sent} bytes queued so far)")
        }
        WaitKind::Handshake => "waits: the handshake has not completed".into(),
        WaitKind::Backlog => {
            "waits: the listener's accept queue is full; connect() waits for room".into()
        }
        WaitKind::Linger { secs } => format!(
            "waits: SO_LINGER holds close() until the data sent is acknowledged, {} at most",
            plural(u64::try_from(secs).unwrap_or(0), "second", "seconds")
        ),
    }
}

/// The ready fds poll reported.
/// What select left in its sets: the fds ready, each set by name.
fn select_left(ready: &[(i32, i16)]) -> String {
    let each: Vec<String> = ready
        .iter()
        .map(|(fd, ev)| {
            let what = match (ev & libc::POLLIN != 0, ev & libc::POLLOUT != 0) {
                (true, true) => "readable and writable",
                (true, false) => "readable",
                _ => "writable",
            };
            format!("fd {fd} {what}")
        })
        .collect();
    if each.is_empty() {
        return "left in the sets: none".into();
    }
    format!("left in the sets: {}", each.join(", "))
}

fn poll_events(ready: &[(i32, i16)]) -> String {
    let names = [
        (libc::POLLIN, "POLLIN"),
        (libc::POLLOUT, "POLLOUT"),
        (libc::POLLHUP, "POLLHUP"),
        (libc::POLLRDHUP, "POLLRDHUP"),
        (libc::POLLERR, "POLLERR"),
        (libc::POLLNVAL, "POLLNVAL"),
    ];
    let each: Vec<String> = ready
        .iter()
        .map(|(fd, ev)| {
            let what: Vec<&str> = names
                .iter()
                .filter(|(bit, _)| ev & bit != 0)
                .map(|(_, n)| *n)
                .collect();
            format!("fd {fd} {}", what.join("|"))
        })
        .collect();
    if each.is_empty() {
        return "ready: none".into();
    }
    format!("ready: {}", each.join(", "))
}

/// The note under a bind made without htons(): the port bytes.
fn no_htons(port: u16) -> String {
    let [hi, lo] = port.to_be_bytes();
    let meant = port.swap_bytes();
    let [mhi, mlo] = meant.to_be_bytes();
    format!(
        "sin_port holds the bytes {hi:02x} {lo:02x}, read in network order as port {port}; \
         htons({meant}) would have stored {mhi:02x} {mlo:02x}"
    )
}

impl Words<'_> {
    fn addr(&self, a: &Addr) -> String {
        self.names.addr(a)
    }

    fn actor(&self, a: usize) -> &str {
        self.actors.get(a).map(String::as_str).unwrap_or("?")
    }

    /// Who holds a socket: `server fd 4`, `server, no fd`, `no fd`.
    pub fn holder(&self, h: Holder) -> String {
        match h {
            Holder::Fd(f) => format!("{} fd {}", self.actor(f.actor), f.fd),
            Holder::Queued { listener: f } | Holder::Closed(f) | Holder::Left(f) => {
                format!("{}, no fd", self.actor(f.actor))
            }
            Holder::Nobody => "no fd".into(),
        }
    }

    /// A socket in a sentence: `server fd 4`, or `server, no fd, A ⇄ B`.
    /// The line under the title of a run with hosts: each host, its
    /// actors and addresses.
    /// The program making an actor's steps, in a run's header.
    pub fn program_line(&self, actor: usize, program: &str) -> String {
        format!(
            "{}'s steps are made by a program: {program} (traced, one socket call a step)",
            self.actor(actor)
        )
    }

    /// A program that did not make its step's call.
    pub fn mismatch(
        &self,
        actor: usize,
        expected: &Call<i32>,
        made: Option<&Call<i32>>,
        signal: Option<i32>,
        code: Option<i32>,
    ) -> String {
        let want = format_call(expected, self.names);
        let who = self.actor(actor);
        match (made, signal, code) {
            (Some(m), _, _) => format!(
                "✗ the lesson has {who} make {want} here, but its program made {}; the program \
                 is stopped",
                format_call(m, self.names)
            ),
            (None, Some(sig), _) => format!(
                "✗ the lesson has {who} make {want} here, but its program was killed by {} first",
                signal_name(sig)
            ),
            (None, None, Some(c)) => format!(
                "✗ the lesson has {who} make {want} here, but its program ended first (exit \
                 code {c})"
            ),
            (None, None, None) => {
                format!("✗ the lesson has {who} make {want} here, but its program ended first")
            }
        }
    }

    pub fn hosts_line(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                let actors: Vec<&str> = h
                    .actors
                    .iter()
                    .filter_map(|&a| self.actors.get(a).map(String::as_str))
                    .collect();
                format!(
                    "{} ({}) at {} and {}",
                    h.name,
                    actors.join(", "),
                    h.v4,
                    h.v6
                )
            })
            .collect();
        format!(
            "hosts: {}. A link joins them; each has its own loopback (127.0.0.1, ::1)",
            hosts.join("; ")
        )
    }

    /// The host actor `a` runs on, in a run with hosts.
    fn host_of(&self, a: usize) -> Option<&crate::event::HostInfo> {
        self.hosts.iter().find(|h| h.actors.contains(&a))
    }

    /// For a refused connect: a listener on the port that did not take the
    /// connection, on another host or bound to another address.
    fn listener_elsewhere(&self, l: &Socket, answered: Option<usize>) -> String {
        let who = self.socket(l);
        let Some(addr) = &l.local else {
            return String::new();
        };
        let at = self.addr(addr);
        let lh = l.holder.actor().and_then(|a| self.host_of(a));
        let answered = answered.and_then(|h| self.hosts.get(h));
        match lh {
            Some(lh) if Some(lh) != answered => {
                let ip = addr.ip();
                let how = if ip.is_some_and(|ip| ip.is_loopback()) {
                    format!(
                        ", on {}'s own loopback, which no other host reaches",
                        lh.name
                    )
                } else if ip.is_some_and(|ip| ip.is_unspecified()) {
                    let own = match ip {
                        Some(std::net::IpAddr::V6(_)) => lh.v6.to_string(),
                        _ => lh.v4.to_string(),
                    };
                    format!(
                        ": a connect to {}'s address, such as {own}, reaches it",
                        lh.name
                    )
                } else {
                    String::new()
                };
                format!("; {who} listens on {at} on {}, another host{how}", lh.name)
            }
            _ => {
                let wildcard = match addr {
                    crate::call::Addr::V6(_) => {
                        "[::] takes those made to any of its host's IPv6 \
                                                 addresses"
                    }
                    _ => "0.0.0.0 takes those made to any of its host's IPv4 addresses",
                };
                format!(
                    "; {who} listens on {at}, another address{}: a listener takes only the \
                     connections made to the address it is bound to ({wildcard})",
                    lh.map(|h| format!(" of {}", h.name)).unwrap_or_default()
                )
            }
        }
    }

    pub fn socket(&self, s: &Socket) -> String {
        if s.fd().is_some() {
            return self.holder(s.holder);
        }
        let pair = match (&s.local, &s.peer) {
            (Some(l), Some(p)) => format!(" {} ⇄ {}", self.addr(l), self.addr(p)),
            (Some(l), None) => format!(" {}", self.addr(l)),
            _ => String::new(),
        };
        format!("{},{pair}", self.holder(s.holder))
    }

    /// A socket's state as shown, with TIME-WAIT's time left off stable output.
    pub fn state_of(&self, s: &Socket) -> String {
        let name = state(s.kind, s.state).to_string();
        match s.timer {
            Some(t) if s.state == State::TimeWait && !self.stable => {
                format!("{name} ({} s left)", u64::from(t.expires_ms).div_ceil(1000))
            }
            _ => name,
        }
    }

    /// What a socket's queues hold, in words.
    pub fn queues(&self, s: &Socket) -> Vec<String> {
        let mut q = Vec::new();
        if s.state == State::Listen {
            if s.recv_q > 0 {
                q.push(format!(
                    "{} in the accept queue",
                    plural(u64::from(s.recv_q), "connection", "connections")
                ));
            }
            return q;
        }
        if s.kind.is_udp() {
            // For UDP the kernel counts buffer memory, not payload bytes,
            // and how much a datagram takes differs between kernels.
            if s.recv_q > 0 {
                q.push(if self.stable {
                    "datagrams waiting to be read".to_string()
                } else {
                    format!("datagrams waiting ({} bytes of receive buffer)", s.recv_q)
                });
            }
            return q;
        }
        if s.kind.is_unix() {
            // unix_diag counts a stream's unread bytes, but a datagram
            // socket's first datagram only, and the sender's queue as
            // buffer memory: only a stream's bytes to read are said.
            if s.recv_q > 0 {
                q.push(match s.kind.ty {
                    SockType::Stream => format!("{} to read", self.bytes(s.recv_q)),
                    SockType::Seqpacket => "records waiting to be read".to_string(),
                    SockType::Dgram => "datagrams waiting to be read".to_string(),
                });
            }
            return q;
        }
        // A SYN and a FIN each take one sequence number: the kernel counts
        // them in its queues, but they are not bytes of data.
        let syn_or_fin_out = matches!(
            s.state,
            State::SynSent | State::SynRecv | State::FinWait1 | State::Closing | State::LastAck
        );
        let to_read = s.tcp_bytes_to_read();
        let unacked = s.send_q.saturating_sub(u32::from(syn_or_fin_out));
        if to_read > 0 {
            q.push(format!("{} to read", self.bytes(to_read)));
        }
        if unacked > 0 {
            q.push(format!("{} not yet acknowledged", self.bytes(unacked)));
        }
        q
    }

    /// A socket as a row of the table: socket, type, local, peer, state,
    /// recv-q, send-q.
    pub fn row(&self, s: &Socket) -> [String; 7] {
        let addr = |a: &Option<Addr>| {
            a.as_ref()
                .map(|a| self.addr(a))
                .unwrap_or_else(|| "-".into())
        };
        [
            self.holder(s.holder),
            kind(s.kind).to_string(),
            addr(&s.local),
            addr(&s.peer),
            self.state_of(s),
            self.count(s.recv_q),
            self.count(s.send_q),
        ]
    }

    /// A queue's count in the table: `>16K` in stable output past a bulk
    /// transfer's worth, where the count depends on the machine's buffers.
    fn count(&self, n: u32) -> String {
        if self.stable && n as usize > super::kernel::BULK {
            format!(">{}K", super::kernel::BULK / 1024)
        } else {
            n.to_string()
        }
    }

    /// The line after `◆` for a change, or `None` for a change not worth a
    /// line (a fresh socket, a counter no one could see).
    pub fn change(
        &self,
        before: Option<&Socket>,
        after: Option<&Socket>,
        notes: &[Note],
    ) -> Option<String> {
        let has = |n: &Note| notes.contains(n);
        Some(match (before, after) {
            (Some(b), Some(a))
                if a.state == b.state
                    && a.holder == b.holder
                    && a.local == b.local
                    && self.queues(a) == self.queues(b) =>
            {
                return None;
            }
            (Some(b), Some(a))
                if has(&Note::Bound)
                    || (a.state == State::Close && b.local.is_none() && a.local.is_some()) =>
            {
                let local = a.local.as_ref().map(|l| self.addr(l)).unwrap_or_default();
                format!("{}: {}, bound to {local}", self.socket(a), self.state_of(a))
            }
            (Some(b), Some(a)) => {
                let mut text = if has(&Note::TimeWaitSocket) {
                    self.socket(b)
                } else if b.fd().is_some() && a.fd().is_none() {
                    format!(
                        "{} is closed; the kernel keeps the connection",
                        self.socket(b)
                    )
                } else if b.fd().is_none() && a.fd().is_some() {
                    format!(
                        "{} takes the connection from the accept queue",
                        self.socket(a)
                    )
                } else {
                    self.socket(a)
                };
                if a.state != b.state {
                    text.push_str(&format!(": {} → {}", self.state_of(b), self.state_of(a)));
                } else {
                    text.push_str(&format!(": {}", self.state_of(a)));
                }
                let (qa, qb) = (self.queues(a), self.queues(b));
                if qa != qb {
                    if qa.is_empty() {
                        text.push_str(", queues empty");
                    } else {
                        text.push_str(&format!(", {}", qa.join(", ")));
                    }
                }
                text
            }
            (None, Some(a))
                if a.fd().is_some()
                    && matches!(a.state, State::Unconn | State::Close)
                    && self.queues(a).is_empty() =>
            {
                return None;
            }
            (None, Some(a)) if has(&Note::ForkCopy) => format!(
                "{}: {}, the same socket as its parent's",
                self.socket(a),
                self.state_of(a)
            ),
            (None, Some(a)) if has(&Note::Accepted) => format!(
                "{} takes the connection from the accept queue: {}, {}",
                self.socket(a),
                self.state_of(a),
                self.queues(a).join(", ")
            ),
            (None, Some(a)) => {
                let new = if a.fd().is_some() && a.state == State::Established && a.kind.is_stream()
                {
                    "new connection, "
                } else {
                    ""
                };
                let mut text = format!("{}: {new}{}", self.socket(a), self.state_of(a));
                if matches!(a.holder, Holder::Queued { .. }) {
                    text.push_str(", waiting in the accept queue");
                }
                for q in self.queues(a) {
                    text.push_str(&format!(", {q}"));
                }
                text
            }
            (Some(b), None) => {
                if matches!(b.state, State::Close | State::Unconn) {
                    return None;
                }
                if has(&Note::StillQueued) {
                    format!(
                        "{}: {} → CLOSED; the kernel no longer lists it, but the listener still \
                         counts it in its accept queue, and accept() will return it",
                        self.socket(b),
                        self.state_of(b)
                    )
                } else if notes.iter().any(|n| matches!(n, Note::StillHeld { .. })) {
                    format!(
                        "{} is closed; the socket is not: {}",
                        self.socket(b),
                        self.state_of(b)
                    )
                } else {
                    format!("{}: {} → gone", self.socket(b), self.state_of(b))
                }
            }
            (None, None) => return None,
        })
    }

    /// The dimmed lines under a change: what RFC 9293 says of it, and what
    /// the kernel did that the RFC does not show.
    pub fn notes(&self, notes: &[Note], before: Option<&Socket>) -> Vec<String> {
        notes.iter().filter_map(|n| self.note(n, before)).collect()
    }

    fn note(&self, n: &Note, before: Option<&Socket>) -> Option<String> {
        Some(match n {
            Note::Bound => "RFC 9293 has no state for a bound socket: to the kernel it is still \
                            CLOSED, and ss does not list it"
                .into(),
            Note::Accepted => {
                "accept() took the connection from the accept queue: its state does not change"
                    .into()
            }
            Note::ForkCopy => {
                "a copy of the parent's fd: one socket, two fds; nothing changed in the kernel"
                    .into()
            }
            Note::StillHeld { by } => format!(
                "a socket closes with the last fd that refers to it, and {} still does",
                self.holder(Holder::Fd(*by))
            ),
            Note::KeptAfterClose | Note::StillQueued => return None,
            Note::ConnectedTo => "another socket connected to this one, and the kernel marks it \
                                  ESTABLISHED for that; a datagram socket has no connection, and \
                                  this one has no peer of its own: its sends need an address"
                .into(),
            Note::Path(p) => self.path(p),
            Note::TimeWaitSocket => {
                let fd = before.and_then(Socket::fd).map(|f| format!("fd {}", f.fd));
                format!(
                    "the kernel keeps TIME-WAIT in a socket of its own, which no fd refers to; \
                     {} now holds a CLOSED socket",
                    fd.unwrap_or_else(|| "the fd".into())
                )
            }
            Note::TimeWaitEnded(TwEnd::TakenOver) => "a new connection with the same addresses \
                                                      and ports took over the TIME-WAIT"
                .into(),
            Note::TimeWaitEnded(TwEnd::Expired) => {
                "RFC 9293: TIME-WAIT → CLOSED when its 2 MSL timer runs out (60 s on Linux)".into()
            }
            Note::TimeWaitEnded(TwEnd::Dropped) => "the kernel dropped the TIME-WAIT before its \
                                                    timer ran out; nothing seen says why"
                .into(),
            Note::Uncaptured => return None,
            Note::Unexplained => "the packets captured do not trace this change through RFC \
                                  9293's states"
                .into(),
        })
    }

    /// `RFC 9293: CLOSED → SYN-SENT (SYN sent) → ESTABLISHED (SYN-ACK received)`.
    fn path(&self, p: &Path) -> String {
        let mut text = format!("RFC 9293: {}", rfc(p.from));
        for Hop { to, by } in &p.hops {
            let by = match (by, p.within) {
                (By::Close, Some("shutdown")) => "shutdown()".to_string(),
                _ => self.by(by),
            };
            text.push_str(&format!(" → {} ({by})", rfc(*to)));
        }
        let packets = p
            .hops
            .iter()
            .any(|h| !matches!(h.by, By::PassiveOpen | By::Close));
        match p.within {
            Some("exit") => text.push_str(", as the process ended"),
            Some(call) if packets && p.hops.len() > 1 => {
                text.push_str(&format!(": all within {call}()"));
            }
            _ => {}
        }
        text
    }

    fn by(&self, by: &By) -> String {
        match by {
            By::PassiveOpen => "a passive OPEN".into(),
            By::SentSyn => "SYN sent".into(),
            By::GotSyn => "SYN received".into(),
            By::GotSynAck => "SYN-ACK received".into(),
            By::GotAck => "ACK of its SYN received".into(),
            By::SentFin => "FIN sent".into(),
            By::GotFin => "FIN received".into(),
            By::GotFinAckingOurs => "FIN received, acknowledging its own".into(),
            By::GotAckOfFin => "its FIN acknowledged".into(),
            By::SentRst(c) => format!("RST sent: {}", self.rst_short(c)),
            By::GotRst(c) => format!("RST received: {}", self.rst_peer(c)),
            By::Close => "close()".into(),
            By::FinQueued => "its FIN is due, and waits behind data not yet sent".into(),
        }
    }

    /// A count of bytes; over 16 KiB in stable output, where the count
    /// depends on the machine's buffer sizes.
    fn bytes(&self, n: u32) -> String {
        if self.stable && n as usize > super::kernel::BULK {
            format!("over {} KiB", super::kernel::BULK / 1024)
        } else {
            plural(u64::from(n), "byte", "bytes")
        }
    }

    /// Why a RST was sent, said of its sender.
    fn rst_short(&self, c: &RstCause) -> String {
        match c {
            RstCause::UnreadData { bytes } => format!("closed with {} unread", self.bytes(*bytes)),
            RstCause::LingerZero => "closed with SO_LINGER {1, 0}".into(),
            RstCause::ListenerClosed => "its listener was closed before accept()".into(),
            RstCause::ListenerShut => "its listener was shut down before accept()".into(),
            RstCause::Died { bytes } => {
                format!("its process died with {} unread", self.bytes(*bytes))
            }
            RstCause::NoListener => "nothing listens there".into(),
            RstCause::NoConnection => "no such connection".into(),
            RstCause::DataAfterClose => "data came after it stopped reading".into(),
            RstCause::Unknown => "why, the facts seen do not say".into(),
        }
    }

    /// Why a RST was sent, said briefly of the peer that sent it.
    fn rst_peer(&self, c: &RstCause) -> String {
        let bytes = |b: &u32| self.bytes(*b);
        match c {
            RstCause::UnreadData { bytes: b } => {
                format!("the peer closed with {} unread", bytes(b))
            }
            RstCause::LingerZero => "the peer closed with SO_LINGER {1, 0}".into(),
            RstCause::ListenerClosed => "the peer's listener was closed before accept()".into(),
            RstCause::ListenerShut => "the peer's listener was shut down before accept()".into(),
            RstCause::Died { bytes: b } => {
                format!("the peer's process died with {} unread", bytes(b))
            }
            RstCause::DataAfterClose => "the peer had stopped reading when data came".into(),
            RstCause::NoListener | RstCause::NoConnection | RstCause::Unknown => self.rst_short(c),
        }
    }

    /// Why a RST was sent, said to its receiver.
    /// Why a unix stream's read failed with ECONNRESET (no packet is sent:
    /// the kernel sets the error as the other end goes).
    fn unix_reset(&self, c: &RstCause, step: Option<&usize>) -> String {
        let at = step.map(|s| format!(" at step {s}")).unwrap_or_default();
        match c {
            RstCause::UnreadData { bytes } => format!(
                "the other end of this unix connection was closed{at} with {} it had not read, and \
                 the kernel reports that to this end as ECONNRESET",
                self.bytes(*bytes)
            ),
            RstCause::ListenerClosed => format!(
                "this connection was still in the accept queue of the listener that was \
                 closed{at}, and the kernel reports that to this end as ECONNRESET"
            ),
            _ => {
                "the other end of this unix connection is gone; the kernel reports ECONNRESET when \
                  it was closed with data it had not read, or when this connection was still in \
                  the accept queue of a listener that was closed; what was seen does not say \
                  which"
                    .into()
            }
        }
    }

    /// Why a socket's own kernel reset its connection.
    fn rst_own(&self, c: &RstCause) -> String {
        match c {
            RstCause::DataAfterClose => "data arrived after this socket was shut down for \
                                         reading, and the kernel answers that with RST"
                .into(),
            other => self.rst_long(other),
        }
    }

    fn rst_long(&self, c: &RstCause) -> String {
        match c {
            RstCause::UnreadData { bytes } => format!(
                "the peer closed its socket with {} it had not read, and the kernel answers \
                 that with RST, not FIN",
                self.bytes(*bytes)
            ),
            RstCause::LingerZero => {
                "the peer set SO_LINGER to {1, 0}, so its close() aborted the connection".into()
            }
            RstCause::ListenerClosed => "the connection was still in the accept queue of a \
                                         listener that was closed, and the kernel reset it"
                .into(),
            RstCause::ListenerShut => "the connection was still in the accept queue of a \
                                       listener that was shut down for reading, which stops it \
                                       listening, and the kernel reset it"
                .into(),
            RstCause::Died { bytes } => format!(
                "the peer's process died with {} unread, and the kernel closed its socket with RST",
                self.bytes(*bytes)
            ),
            RstCause::NoListener => "nothing listened at the peer's address".into(),
            RstCause::NoConnection => {
                "the peer's kernel had no such connection (any more) when data arrived".into()
            }
            RstCause::DataAfterClose => {
                "data arrived at the peer after it had stopped reading, and its kernel answered \
                 with RST"
                    .into()
            }
            RstCause::Unknown => "what was seen does not say why it was sent; a RST answers a \
                                  close with unread data, SO_LINGER {1, 0}, a listener closed \
                                  with connections queued, or a segment for a connection the \
                                  peer does not have"
                .into(),
        }
    }

    /// What a call reported beyond its return value, line by line.
    pub fn returned(
        &self,
        call: &Call<i32>,
        outcome: &Outcome,
        child: Option<&str>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let Outcome::Returned {
            ret, addr, extra, ..
        } = outcome
        else {
            return lines;
        };
        if let Call::Bind {
            raw: true, addr: a, ..
        } = call
            && let Some(port) = a.port()
        {
            // The bytes of the port the lesson wrote, whatever real port
            // the host's loopback needed.
            lines.push(no_htons(self.names.lesson_port(port)));
        }
        match extra {
            Some(Extra::Poll(ready)) => match call {
                Call::Select {
                    nfds, read, write, ..
                } => {
                    lines.push(select_left(ready));
                    // fds at or above nfds are in a set, and not looked at.
                    let mut past: Vec<i32> = read
                        .iter()
                        .chain(write)
                        .copied()
                        .filter(|f| f >= nfds)
                        .collect();
                    past.sort();
                    past.dedup();
                    if !past.is_empty() {
                        let fds: Vec<String> = past.iter().map(i32::to_string).collect();
                        lines.push(format!(
                            "fd {} in a set, but select looks at the fds below nfds ({nfds}) only",
                            fds.join(", fd ")
                        ));
                    }
                }
                _ => lines.push(poll_events(ready)),
            },
            Some(Extra::SoError(0)) => lines.push("SO_ERROR = 0: no error".into()),
            Some(Extra::Opt(v)) => {
                let opt = match call {
                    Call::Getsockopt { opt, .. } => crate::call::names::opt(*opt).1,
                    _ => "the option",
                };
                lines.push(match v {
                    crate::call::OptValue::Int(n) => format!("{opt} = {n}"),
                    crate::call::OptValue::Time { secs, usecs } => {
                        format!("{opt} = {{tv_sec {secs}, tv_usec {usecs}}}")
                    }
                    crate::call::OptValue::Linger { on, secs } => {
                        format!("{opt} = {{l_onoff {on}, l_linger {secs}}}")
                    }
                });
            }
            Some(Extra::SoError(e)) => lines.push(format!(
                "SO_ERROR = {} ({})",
                errno_name(*e),
                errno_desc(*e)
            )),
            _ => {}
        }
        if let (Call::Socketpair { .. }, 0) = (call, ret) {
            // The two fds are on the lines that follow, with their kinds.
        }
        if let (Call::Fork { .. }, Some(child)) = (call, child) {
            lines.push(format!(
                "{child} goes on from here: a copy of its parent's process, with the same fds"
            ));
        }
        if let (Call::Thread { .. }, Some(child)) = (call, child) {
            lines.push(format!(
                "{child} goes on from here: a new thread of the same process, which shares its \
                 fds (not copies: one fd table)"
            ));
        }
        if let Some(a) = addr {
            let what = match call {
                Call::Recvfrom { .. } => "from",
                Call::Getsockname { .. } => "local address",
                _ => "peer address",
            };
            lines.push(format!("{what} {}", self.addr(a)));
        }
        lines
    }

    /// `(eph1: ephemeral, the kernel picked it)`.
    pub fn ephemeral(&self, port: u16) -> String {
        format!(
            "({}: ephemeral, the kernel picked it)",
            self.names.port(port)
        )
    }

    /// The result shown after `=` for fork in stable output.
    pub fn pid_of(&self, child: &str) -> String {
        format!("= the pid of {child}")
    }

    pub fn tid_of(&self, child: &str) -> String {
        format!("= the thread id of {child}")
    }

    /// Why a call gave what it gave: for a failure, the words after
    /// `ERRNO (desc, errno N): `; for a result, a line of its own.
    pub fn why(&self, why: &Why, call: &Call<i32>, errno: Option<i32>) -> String {
        let fd = call
            .fd()
            .map(|fd| format!("fd {fd}"))
            .unwrap_or_else(|| "the fd".into());
        let name = call.name();
        let target = match call {
            Call::Unlink { path } => Some(format!("\"{path}\"")),
            _ => call.addr().map(|a| self.addr(a)),
        };
        let target = target.as_deref().unwrap_or("that address");
        let at = |step: &Option<usize>| step.map(|s| format!(" at step {s}")).unwrap_or_default();
        match why {
            Why::NotOpen => format!("{fd} is not open in this process"),
            Why::NotSocket => format!("{fd} is open, but it is not a socket"),
            Why::Listening => match (name, errno) {
                ("connect", _) => format!(
                    "{fd} is a listening socket: it takes connections and cannot make one \
                     (Linux answers connect() on a socket that is not CLOSED with EISCONN)"
                ),
                ("send" | "write" | "sendto", _) => format!(
                    "{fd} is a listening socket: it has no connection to send on; each \
                     connection it takes comes out of accept() as a new fd"
                ),
                ("recv" | "read" | "recvfrom", _) => format!(
                    "{fd} is a listening socket: data arrives on the fds accept() returns, not \
                     on the listener"
                ),
                _ => format!("{fd} is a listening socket"),
            },
            Why::Connected { peer } => match peer {
                Some(p) => format!("{fd} is connected already, to {}", self.addr(p)),
                None => format!("{fd} is connected already"),
            },
            Why::NeverConnected => match errno {
                Some(libc::EPIPE) => format!(
                    "{fd} has never been connected: Linux answers {name}() on a TCP socket \
                     that is not connected with EPIPE (and SIGPIPE), where POSIX says ENOTCONN"
                ),
                _ if name == "shutdown" => format!(
                    "{fd} is not connected to a peer: it never connected. Linux marks it shut \
                     down all the same, as asked"
                ),
                _ => format!("{fd} is not connected to a peer: it never connected"),
            },
            Why::Reset {
                cause,
                step,
                unix: true,
                ..
            } => self.unix_reset(cause, step.as_ref()),
            Why::Reset {
                cause,
                step,
                own: true,
                ..
            } => match errno {
                Some(libc::ECONNRESET) => format!(
                    "this socket's own kernel reset the connection (it sent the RST{}): {}",
                    at(step),
                    self.rst_own(cause)
                ),
                _ => format!(
                    "the connection was reset{}: this socket's own kernel sent the RST ({}), so \
                     it can no longer carry data",
                    at(step),
                    self.rst_own(cause)
                ),
            },
            Why::Reset { cause, step, .. } if name == "getpeername" => format!(
                "the connection was reset{} ({}): a reset socket has no peer",
                at(step),
                self.rst_long(cause)
            ),
            Why::Reset { cause, step, .. } => match errno {
                Some(libc::ECONNRESET) => format!(
                    "the peer reset the connection (a RST came{}): {}",
                    at(step),
                    self.rst_long(cause)
                ),
                _ => format!(
                    "the connection was reset{} ({}), so it can no longer carry data",
                    at(step),
                    self.rst_long(cause)
                ),
            },
            Why::ConnectAborted { step } => format!(
                "shutdown() at step {step} came while {fd}'s connect was in progress: the kernel \
                 aborted the connect (no packet goes out), and keeps ECONNRESET for the next \
                 call. The socket may connect again"
            ),
            Why::ConnectsOnce { step } => format!(
                "{fd} was connected, and its connection is gone{}; a socket connects once, and \
                 the kernel counts it as connected still: make a new socket to connect again",
                step.map(|s| format!(" (reset at step {s})"))
                    .unwrap_or_default()
            ),
            Why::ShutWrite { step, how } => format!(
                "this socket was shut down for writing{} (shutdown {}): it sends no more",
                at(step),
                crate::call::names::name_of(crate::call::names::HOWS, *how)
            ),
            Why::PeerClosed { stream: true, .. } => {
                "the other end of this unix connection is closed: nobody will read what is sent"
                    .into()
            }
            Why::PeerClosed { stream: false, .. } => match errno {
                Some(libc::ENOTCONN) => "the socket this one was connected to was closed, and \
                                         the connection went with it"
                    .into(),
                _ => "the socket this one is connected to is closed".into(),
            },
            Why::PeerShutRead { stream: true } => {
                "the other end of this unix connection is open, but \
                                                   shut down for reading: nothing will read what \
                                                   is sent"
                    .into()
            }
            Why::PeerShutRead { stream: false } if call.addr().is_some() => format!(
                "the socket at {target} is open, but shut down for reading: it takes no more \
                 datagrams"
            ),
            Why::PeerShutRead { stream: false } => "the socket this one is connected to is open, \
                                                    but shut down for reading: it takes no more \
                                                    datagrams"
                .into(),
            Why::FamilyMismatch { socket, addr } => format!(
                "the address is {} and the socket is {}: {name}() takes an address of the \
                 socket's own family",
                family(*addr),
                family(*socket)
            ),
            Why::AlreadyBound { local } => match local {
                Some(l) => format!(
                    "{fd} is bound already, to {}: a socket is bound once",
                    self.addr(l)
                ),
                None => format!("{fd} is bound already: a socket is bound once"),
            },
            Why::AddressHeld {
                by,
                reuse,
                host,
                across,
            } => self.address_held(target, across, by, *reuse, *host),
            Why::PathExists => format!(
                "a file exists at {target} already: bind() makes a new socket file and will not \
                 reuse one; unlink() it first"
            ),
            Why::OtherListener { by } => {
                let who = by
                    .as_ref()
                    .map(|s| format!(" ({})", self.socket(s)))
                    .unwrap_or_default();
                format!(
                    "another socket listens on this address and port already{who}: \
                     SO_REUSEADDR lets two sockets bind one port, but only one may listen on it \
                     (unless both set SO_REUSEPORT)"
                )
            }
            Why::PairInUse { by } => {
                let who = by
                    .as_ref()
                    .map(|s| format!(" ({}, {})", self.socket(s), self.state_of(s)))
                    .unwrap_or_default();
                format!(
                    "a connection from this socket's address and port to {target} exists \
                     already{who}: no two connections may have the same four (local address, \
                     local port, peer address, peer port)"
                )
            }
            Why::LoopbackSource { local } => format!(
                "{fd} is bound to {}, a loopback address: a packet from it may not leave its \
                 host, and {target} is not on it",
                local
                    .as_ref()
                    .map(|a| self.addr(a))
                    .unwrap_or_else(|| "a loopback address".into())
            ),
            Why::NoSuchHost { host } => {
                let ip = call
                    .addr()
                    .and_then(crate::call::Addr::ip)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| target.to_string());
                let asked = if call.addr().is_some_and(|a| matches!(a, Addr::V6(_))) {
                    "neighbour solicitation"
                } else {
                    "ARP"
                };
                let who = host
                    .and_then(|h| self.hosts.get(h))
                    .map(|h| format!("{}'s kernel", h.name))
                    .unwrap_or_else(|| "the kernel".into());
                format!(
                    "no host on the link has {ip}: {who} asked the link who has it ({asked}), \
                     no answer came, and it gave up"
                )
            }
            Why::NotLocal { host, elsewhere } => {
                let ip = call
                    .addr()
                    .and_then(crate::call::Addr::ip)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| target.to_string());
                let host = host.and_then(|h| self.hosts.get(h));
                match (host, elsewhere.and_then(|h| self.hosts.get(h))) {
                    (Some(h), Some(e)) if h != e => format!(
                        "no interface of {} has the address {ip}: it is {}'s, and a socket is \
                         bound only to an address of its own host",
                        h.name, e.name
                    ),
                    (Some(h), _) => format!("no interface of {} has the address {ip}", h.name),
                    _ => format!("no interface of the run's network has the address {ip}"),
                }
            }
            Why::Refused {
                rst,
                bound,
                earlier,
                answered,
                listener,
            } => {
                let target_addr = earlier.as_ref().map(|(_, a)| a);
                let target = target_addr
                    .map(|a| self.addr(a))
                    .unwrap_or_else(|| target.to_string());
                let mut text = match earlier {
                    Some((step, _)) => format!(
                        "the connect begun at step {step} was refused, and this call reports \
                         it (a connect that ends while no call waits for it leaves its error for \
                         the next): nothing listens on {target}"
                    ),
                    None => format!("nothing listens on {target}"),
                };
                let host = answered
                    .and_then(|a| self.hosts.get(a.host))
                    .map(|h| &h.name);
                if let Some(h) = host {
                    text.push_str(&format!(" on {h}"));
                    if answered.is_some_and(|a| a.loopback) {
                        text.push_str(
                            ", the connecting host (a loopback address is always the host's own)",
                        );
                    }
                }
                if *rst {
                    match host {
                        Some(h) => {
                            text.push_str(&format!(": {h}'s kernel answered the SYN with RST"))
                        }
                        None => text.push_str(": its kernel answered the SYN with RST"),
                    }
                }
                if let Some(l) = listener {
                    text.push_str(&self.listener_elsewhere(l, answered.map(|a| a.host)));
                }
                if let Some(s) = bound {
                    text.push_str(&format!(
                        "; {} is bound there and is not listening",
                        self.socket(s)
                    ));
                }
                text
            }
            Why::ConnectionOver { step } => format!(
                "{fd}'s connection is over{}, and its error was read already: connect() says so \
                 with ECONNABORTED and leaves the socket unconnected. It may connect again",
                step.map(|s| format!(" (reset at step {s})"))
                    .unwrap_or_default()
            ),
            Why::Disconnected { step } => format!(
                "the connect() at step {step} found {fd}'s connection over and left the socket \
                 unconnected: it has no peer"
            ),
            Why::AttemptEnded { step } => format!(
                "the connect begun at step {step} failed, and its error was read already (by \
                 SO_ERROR or another call): this connect only reports that the attempt is over. \
                 The socket may connect again"
            ),
            Why::UnixRefused {
                bound: Some(s),
                shut: Some(step),
                ..
            } => format!(
                "{} listens at {target}, but was shut down for reading at step {step}: a unix \
                 listener shut down for reading refuses new connections",
                self.socket(s)
            ),
            Why::UnixRefused {
                stream: false,
                was_bound,
                ..
            } => {
                if *was_bound {
                    format!(
                        "no socket takes datagrams at {target}: the socket that was bound there \
                         is closed, and its file stays until unlink()"
                    )
                } else {
                    format!("no socket takes datagrams at {target}: the file there is not one")
                }
            }
            Why::UnixRefused {
                bound, was_bound, ..
            } => match (bound, was_bound) {
                (Some(s), _) => format!(
                    "no socket listens at {target}: {} is bound there and is not listening",
                    self.socket(s)
                ),
                (None, true) => format!(
                    "no socket listens at {target}: the socket that was bound there is closed, \
                     and its file stays until unlink()"
                ),
                (None, false) => {
                    format!(
                        "no socket listens at {target}: the file there is not a listening socket"
                    )
                }
            },
            Why::NoSuchPath => format!("nothing exists at the path {target}"),
            Why::OutsideRun => format!(
                "{target} is outside the run's directory, and on the host's network Landlock keeps \
                 the actors' files within it"
            ),
            Why::OutsideScope => format!(
                "{target} is an abstract name bound outside the run, and on the host's network \
                 Landlock keeps the actors to the run's own abstract names"
            ),
            Why::PortUnreachable { seen: true } => "an earlier datagram came back as ICMP port \
                                                    unreachable: no socket was bound at the \
                                                    peer's port"
                .into(),
            Why::PortUnreachable { seen: false } => "the kernel learned that an earlier datagram \
                                                     could not be delivered: no socket was bound \
                                                     at the peer's port"
                .into(),
            Why::Handshaking { nonblocking } => {
                let how = if *nonblocking {
                    "the socket is non-blocking (O_NONBLOCK)"
                } else {
                    "MSG_DONTWAIT said not to wait"
                };
                let what = if matches!(name, "recv" | "read" | "recvfrom") {
                    "nothing can arrive to read before the handshake completes"
                } else {
                    "a send waits for the handshake to complete"
                };
                format!(
                    "the call would have to wait, and {how}: {fd} is still connecting (SYN-SENT: \
                     its SYN has no answer yet), and {what}"
                )
            }
            Why::WouldBlock { nonblocking } => {
                let how = if *nonblocking {
                    "the socket is non-blocking (O_NONBLOCK)"
                } else {
                    "MSG_DONTWAIT said not to wait"
                };
                let what = match name {
                    "accept" => "no connection is waiting",
                    "recv" | "read" | "recvfrom" => "nothing has arrived to read",
                    "send" | "write" | "sendto" => "the buffers are full",
                    "connect" => "the listener's queue is full",
                    _ => "it cannot complete now",
                };
                format!("the call would have to wait, and {how}: {what}")
            }
            Why::InProgress => "the connection has begun (its SYN is out); poll() for POLLOUT, \
                                then read SO_ERROR to learn how it ended"
                .into(),
            Why::Already => "a connect on this socket is still in progress".into(),
            Why::NotListening => format!("{fd} is not listening: call listen() before accept()"),
            Why::Datagram => {
                format!("{fd} is a datagram socket: only stream sockets listen and accept")
            }
            Why::NoDestination => "the socket is not connected and the call names no \
                                   destination: connect() it, or name one with sendto()"
                .into(),
            Why::PrivilegedPort {
                port,
                start,
                allowed: false,
            } => format!(
                "port {port} is below {start} (net.ipv4.ip_unprivileged_port_start): binding it \
                 takes privilege (root, or CAP_NET_BIND_SERVICE), which an ordinary user's \
                 program does not have"
            ),
            Why::PrivilegedPort {
                port,
                start,
                allowed: true,
            } => format!(
                "port {port} is below {start} (net.ipv4.ip_unprivileged_port_start): this bind \
                 succeeds because the process has the privilege (root, or \
                 CAP_NET_BIND_SERVICE); an ordinary user's program gets EACCES"
            ),
            Why::TooBig => "the datagram is larger than the socket can send in one piece".into(),
            Why::RecvTimeout if matches!(call, Call::Accept { .. }) => {
                "the socket's SO_RCVTIMEO ran out before a connection arrived: the kernel ends \
                 the wait with EAGAIN"
                    .into()
            }
            Why::RecvTimeout => "the socket's SO_RCVTIMEO ran out before anything arrived to \
                                 read: the kernel ends the wait with EAGAIN"
                .into(),
            Why::SendTimeout => "the socket's SO_SNDTIMEO ran out before the send buffer had \
                                 room for any of the data: the kernel ends the wait with EAGAIN \
                                 (had it taken some bytes, the call would return their count)"
                .into(),
            Why::NoUrgent { connected: true } => {
                "MSG_OOB asks for TCP's urgent byte, and none is held: none was sent with \
                 MSG_OOB, it was read already, or ordinary reads went past it (which drops it)"
                    .into()
            }
            Why::NoUrgent { connected: false } => {
                "MSG_OOB asks for TCP's urgent byte, and this socket has no connection to \
                 have one"
                    .into()
            }
            Why::Discarded { len, peek: false } => format!(
                "MSG_TRUNC on a TCP socket: {} discarded without being copied into the buffer",
                plural(*len as u64, "byte", "bytes")
            ),
            Why::Discarded { peek: true, .. } => {
                "MSG_TRUNC with MSG_PEEK on a TCP socket: nothing copied, and the bytes stay \
                 queued"
                    .into()
            }
            Why::Truncated {
                len,
                size,
                peek: false,
            } => format!(
                "the message was {size} bytes: the {len} that fit the buffer were read and the \
                 rest discarded; MSG_TRUNC makes the call return the whole length"
            ),
            Why::Truncated {
                len,
                size,
                peek: true,
            } => format!(
                "the message is {size} bytes: the {len} that fit the buffer were copied, and \
                 MSG_PEEK left it all queued; MSG_TRUNC makes the call return the whole length"
            ),
            Why::WrongType => {
                format!("the socket at {target} is of another type (stream or datagram)")
            }
            Why::TimedOut => "the SYN was sent again and again, unanswered, until the kernel \
                              gave up"
                .into(),
            Why::OtherLevel { kind: k } => {
                let opt = match call {
                    Call::Setsockopt { opt, .. } => crate::call::names::opt(*opt),
                    _ => ("?", "?"),
                };
                format!(
                    "{} is an option of level {}, and {fd} is a {} socket, which does not have it",
                    opt.1,
                    opt.0,
                    kind(*k)
                )
            }
            Why::Eof(e) => eof(e).into(),
            Why::Unsettled => match errno {
                Some(e) => unsettled(name, e),
                None => "what was seen does not say why".into(),
            },
        }
    }

    fn address_held(
        &self,
        target: &str,
        across: &[crate::explain::Across],
        by: &[Socket],
        reuse: bool,
        host: bool,
    ) -> String {
        use crate::explain::Across;
        if by.is_empty() {
            return if host {
                format!(
                    "another socket holds {target}; none of the run's sockets that sockstep \
                     sees does. On the host's network another program's socket may, or an IPv6 \
                     socket bound to [::], which takes the port for IPv4 too"
                )
            } else {
                format!(
                    "another socket holds {target}, and none of the run's sockets that the \
                     kernel lists does: the facts do not settle which"
                )
            };
        }
        let who: Vec<String> = by
            .iter()
            .map(|s| format!("{} ({})", self.socket(s), self.state_of(s)))
            .collect();
        let mut text = format!("{target} is held by {}", who.join(" and "));
        if across.contains(&Across::Mapped) {
            text.push_str(
                ". An IPv4-mapped IPv6 address ([::ffff:a.b.c.d]) is the IPv4 address it \
                 carries, whichever family writes it",
            );
        }
        if across.contains(&Across::DualStack) {
            text.push_str(
                ". A socket bound to [::] without IPV6_V6ONLY takes the port for IPv4 as well",
            );
        }
        if by.iter().any(|s| s.state == State::Listen) {
            text.push_str(
                ". A listener's address and port cannot be bound again, with SO_REUSEADDR or \
                 without; only SO_REUSEPORT, set on both, shares them",
            );
        } else if by.iter().any(|s| s.state == State::TimeWait) {
            text.push_str(if reuse {
                ". This socket has SO_REUSEADDR on; a TIME-WAIT gives way to it only if the \
                 socket that left the TIME-WAIT had SO_REUSEADDR on too"
            } else {
                ". Without SO_REUSEADDR a socket cannot bind an address and port that a \
                 TIME-WAIT holds"
            });
        } else if !reuse {
            text.push_str(
                ". Two sockets bind one address and port only if both set SO_REUSEADDR (and \
                 neither listens), or both set SO_REUSEPORT",
            );
        }
        text
    }

    /// The note under a crash.
    pub fn crashed(
        &self,
        actor: usize,
        call: &str,
        signal: Option<i32>,
        code: Option<i32>,
        expected: bool,
        why: Option<&Why>,
    ) -> String {
        let mark = if expected { "✓" } else { "✗" };
        let name = self.actor(actor);
        match signal {
            Some(s) if s == libc::SIGPIPE => {
                let what = match why {
                    Some(Why::Reset { .. }) => "it wrote to a connection that was reset",
                    Some(Why::NeverConnected) => "it sent on a socket that never connected",
                    Some(Why::Listening) => "it sent on a listening socket",
                    Some(Why::ShutWrite { .. }) => "it wrote to a socket shut down for writing",
                    Some(Why::PeerClosed { .. }) => {
                        "it wrote to a unix socket whose other end is closed"
                    }
                    Some(Why::PeerShutRead { .. }) => {
                        "it wrote to a unix socket whose peer does not read"
                    }
                    _ => "it wrote to a socket that cannot carry data",
                };
                let unless = if call == "write" {
                    "unless it ignores SIGPIPE (write() takes no flags; send() with \
                     MSG_NOSIGNAL would not raise it)"
                } else {
                    "unless it passes MSG_NOSIGNAL or ignores SIGPIPE"
                };
                format!(
                    "{mark} {name} was killed by SIGPIPE: {what}. A C program dies the same way, \
                     {unless}."
                )
            }
            Some(s) => format!("{mark} {name} was killed by {}", signal_name(s)),
            None => format!("{mark} {name} exited with code {}", code.unwrap_or(-1)),
        }
    }

    /// An actor's exit, with the fds the kernel closed.
    pub fn exit(&self, actor: usize, open: &[i32]) -> String {
        let fds: Vec<String> = open.iter().map(|f| f.to_string()).collect();
        format!(
            "{} exits; the kernel closes fd {}",
            self.actor(actor),
            fds.join(", ")
        )
    }

    pub fn not_run(&self, actor: usize, steps: &[usize]) -> String {
        format!(
            "{} {} of {} never ran: the process is gone",
            steps_word(steps.len()),
            list(steps),
            self.actor(actor)
        )
    }

    pub fn packets_lost(&self, count: Option<u32>) -> String {
        match count {
            Some(count) if !self.stable => {
                format!("… {count} packets were not captured: the capture buffer was full …")
            }
            _ => "… some packets were not captured: the capture buffer was full …".into(),
        }
    }

    pub fn more_packets(&self, skipped: usize) -> String {
        format!("… {skipped} more packets …")
    }

    /// The label of a packet arrow that has no actor at one end.
    pub fn lone_packet(&self, label: &str, to: &Addr, unreachable: bool) -> String {
        if unreachable {
            format!("{label} (from the kernel)")
        } else {
            format!("{label} to {}, where no socket is", self.addr(to))
        }
    }

    /// An ICMP destination unreachable message, named by its code (ICMPv6's
    /// codes differ from ICMP's), and what it is about.
    pub fn icmp(&self, code: u8, v6: bool, about: Option<&Addr>) -> String {
        let what = match (v6, code) {
            (false, 0) => "network unreachable".to_string(),
            (true, 0) => "no route to destination".into(),
            (false, 1) | (true, 3) => "host unreachable".into(),
            (false, 2) => "protocol unreachable".into(),
            (false, 3) | (true, 4) => "port unreachable".into(),
            (false, 9 | 10 | 13) | (true, 1) => "administratively prohibited".into(),
            (_, c) => format!("unreachable (code {c})"),
        };
        match about {
            Some(a) => format!("ICMP {what}: {}", self.addr(a)),
            None => format!("ICMP {what}"),
        }
    }

    /// A timer the run lets fire.
    pub fn timer(&self, actor: usize, step: usize, timer: &TimerWait, ms: u32) -> String {
        let name = self.actor(actor);
        let when = if self.stable {
            String::new()
        } else {
            format!(", in {:.1} s", f64::from(ms) / 1000.0)
        };
        match timer {
            TimerWait::SynRetransmit { resends, queue } => {
                let why = match queue {
                    Some((queued, backlog)) if queued > backlog => format!(
                        "; the listener's accept queue was full when the connect began \
                         ({queued} waiting, backlog {backlog}), and the kernel drops a SYN that \
                         finds its queue full"
                    ),
                    _ => String::new(),
                };
                let sent = match resends {
                    0 => "once".to_string(),
                    n => format!("{} times", u32::from(*n) + 1),
                };
                format!(
                    "No step can run. {name}'s connect (step {step}) has no answer to its \
                     SYN{why}. The SYN has gone out {sent}; when the retransmission timer fires \
                     {when_}the kernel sends it again, or gives up if its retries \
                     (net.ipv4.tcp_syn_retries) are spent: sockstep lets it fire.",
                    when_ = if when.is_empty() {
                        String::new()
                    } else {
                        format!("({}) ", when.trim_start_matches(", "))
                    }
                )
            }
            TimerWait::Linger { secs } => format!(
                "No step can run. {name}'s close (step {step}) waits for its data to be \
                 acknowledged; SO_LINGER lets it wait {} at most{when}: sockstep lets the time \
                 run.",
                plural(u64::try_from(*secs).unwrap_or(0), "second", "seconds")
            ),
            TimerWait::RecvTimeout { ms } => format!(
                "No step can run. {name}'s call (step {step}) waits; SO_RCVTIMEO \
                 lets it wait {ms} ms at most{when}, then the kernel ends it with EAGAIN: \
                 sockstep lets the time run."
            ),
            TimerWait::Resolve { ip } => {
                let asked = if ip.is_ipv6() {
                    "neighbour solicitation"
                } else {
                    "ARP"
                };
                format!(
                    "No step can run. {name}'s connect (step {step}) waits: no host of the run \
                     has {ip}, which is on the link, so the kernel asks the link who has it \
                     ({asked}), and its SYN waits for the answer without leaving the host. \
                     When the kernel's tries are spent, the connect fails: sockstep lets the \
                     time run."
                )
            }
            TimerWait::SendTimeout { ms } => format!(
                "No step can run. {name}'s call (step {step}) waits for room in the send \
                 buffer; SO_SNDTIMEO lets it wait {ms} ms at most{when}, then the kernel ends \
                 it, returning the count of bytes it took, or EAGAIN if it took none: \
                 sockstep lets the time run."
            ),
        }
    }

    /// A deadlock in sentences: who waits for what, why none can move,
    /// what never ran.
    pub fn deadlock(&self, waits: &[Waiting], asleep: &[Asleep], unrun: &[usize]) -> Vec<String> {
        let mut lines = Vec::new();
        if waits.is_empty() && asleep.is_empty() {
            lines.push("The lesson expects a deadlock, but every step ran.".to_string());
            return lines;
        }
        for wt in waits {
            lines.push(self.waiting(wt));
        }
        for a in asleep {
            lines.push(self.asleep(a));
        }
        let all_on_each_other = waits.len() > 1
            && asleep.is_empty()
            && waits.iter().all(|w| {
                w.on.is_some_and(|o| o != w.actor && waits.iter().any(|x| x.actor == o))
            });
        let all_read = waits
            .iter()
            .all(|w| matches!(w.wait, WaitKind::Data { .. }));
        let all_write = waits
            .iter()
            .all(|w| matches!(w.wait, WaitKind::Room { .. }));
        lines.push(if all_on_each_other && all_read {
            "Each waits for the other to send first, so neither ever will.".to_string()
        } else if all_on_each_other && all_write {
            "Each waits for the other to read, and neither reads while it sends.".to_string()
        } else if all_on_each_other {
            "Each waits for another that is itself waiting: none can move.".to_string()
        } else if waits
            .iter()
            .any(|w| w.on.is_some_and(|o| waits.iter().any(|x| x.actor == o)))
        {
            "What could let them go on waits itself: none can move, and no timer is armed that \
             could."
                .to_string()
        } else if self.traced {
            "Every program waits, and none has a timer armed that could end its wait.".to_string()
        } else {
            "No step that is left could let it go on, and no timer is armed that could.".to_string()
        });
        if !unrun.is_empty() {
            let s = if unrun.len() == 1 { "" } else { "s" };
            lines.push(format!("Step{s} {} never ran.", list(unrun)));
        }
        lines
    }

    /// A traced program asleep in a call that is not a socket call, in a
    /// deadlock.
    pub fn asleep(&self, a: &Asleep) -> String {
        let who = self.actor(a.actor);
        let call = &a.syscall;
        match a.on {
            AsleepOn::Lock => format!(
                "{who} sleeps in {call}() with no time limit: it waits for a lock, or for a \
                 thread to end"
            ),
            AsleepOn::Child => {
                format!("{who} sleeps in {call}(): it waits for a child process to end")
            }
            AsleepOn::File { fd } => format!(
                "{who} sleeps in {call}() on fd {fd}, which is not a socket: it waits for \
                 whatever is at its other end (a pipe's other process, say)"
            ),
            AsleepOn::Socket { fd: Some(fd) } => format!(
                "{who} sleeps in {call}() on socket fd {fd}, a call sockstep trace does not \
                 step, with no time limit"
            ),
            AsleepOn::Socket { fd: None } => format!(
                "{who} sleeps in {call}(), a call sockstep trace does not step, with no time limit"
            ),
            AsleepOn::Signal => format!("{who} sleeps in {call}(): it waits for a signal"),
        }
    }

    /// Who waits for what, in a deadlock: `server waits in recv(4, 1024)
    /// for data from client (step 8)`.
    pub fn waiting(&self, w: &Waiting) -> String {
        let who = self.actor(w.actor);
        let call = format_call(&w.call, self.names);
        let on = w.on.map(|o| self.actor(o).to_string());
        let what = match (&w.wait, &w.call, on) {
            (WaitKind::Data { .. }, _, Some(o)) => format!("for data from {o}"),
            (WaitKind::Data { .. }, _, None) => "for data that no one will send".into(),
            (WaitKind::Ready, _, _) => "for one of its fds to be ready".into(),
            (WaitKind::Room { .. }, _, Some(o)) => format!("for {o} to read"),
            (WaitKind::Room { .. }, _, None) => "for room in the buffers".into(),
            (WaitKind::Connection, _, Some(o)) => {
                format!("for a connection, which a later step of {o} would make")
            }
            (WaitKind::Connection, _, None) => {
                "for a connection, and no step left will connect".into()
            }
            (WaitKind::Backlog, Call::Connect { addr, .. }, _) => {
                format!("for room in the accept queue of {}", self.addr(addr))
            }
            (WaitKind::Backlog, _, _) => "for room in an accept queue".into(),
            (WaitKind::Handshake, _, _) => "for the handshake to complete".into(),
            (WaitKind::Linger { .. }, _, Some(o)) => {
                format!("for {o} to read its data (SO_LINGER)")
            }
            (WaitKind::Linger { .. }, _, None) => {
                "for its data to be acknowledged (SO_LINGER)".into()
            }
        };
        format!("{who} waits in {call} {what} (step {})", w.step)
    }

    /// A failed expectation, in the full-screen view's alert.
    pub fn alert_expect(&self, step: usize, expected: &Expect, g: &Got) -> String {
        format!("step {step}: expected {}, but {}", answer(expected), got(g))
    }

    pub fn alert_crash(&self, actor: usize, signal: Option<i32>) -> String {
        match signal {
            Some(s) => format!("{} was killed by {}.", self.actor(actor), signal_name(s)),
            None => format!("{} exited.", self.actor(actor)),
        }
    }
}

fn family(d: Domain) -> &'static str {
    match d {
        Domain::Inet => "IPv4 (AF_INET)",
        Domain::Inet6 => "IPv6 (AF_INET6)",
        Domain::Unix => "a unix path (AF_UNIX)",
    }
}

/// What a 0 from a read means.
pub fn eof(e: &Eof) -> &'static str {
    match e {
        Eof::PeerFin => "0 bytes: end of file, the peer's FIN has arrived: it will send no more",
        Eof::ShutRead {
            how: crate::call::How::RdWr,
        } => {
            "0 bytes: this socket was shut down for reading (shutdown SHUT_RDWR), so reads \
             that find nothing waiting return 0 at once"
        }
        Eof::ShutRead { .. } => {
            "0 bytes: this socket was shut down for reading (shutdown SHUT_RD), so reads that \
             find nothing waiting return 0 at once"
        }
        Eof::EmptyDatagram => "0 bytes: an empty datagram; datagram sockets have no end of file",
        Eof::ZeroLength => "0 bytes: the call asked for 0 bytes",
        Eof::ShutReadOrRecord { how } => match how {
            crate::call::How::RdWr => {
                "0 bytes: this socket was shut down for reading (shutdown SHUT_RDWR): reads \
                 return 0 once no bytes are waiting, and an empty record reads as 0 too"
            }
            _ => {
                "0 bytes: this socket was shut down for reading (shutdown SHUT_RD): reads \
                 return 0 once no bytes are waiting, and an empty record reads as 0 too"
            }
        },
        Eof::RecordOrEnd => {
            "0 bytes: an empty record, or the end: the peer closed or shut down writing; a \
             SOCK_SEQPACKET socket gives 0 for both"
        }
        Eof::PeerClosed => {
            "0 bytes: end of file, the other end of this unix connection was closed or shut down \
             for writing"
        }
        Eof::AfterReset => {
            "0 bytes: the connection was reset and an earlier call reported it; reads now \
             return 0"
        }
    }
}

/// An errno whose cause the facts do not settle: what it means, and the
/// causes it can have for this call.
fn unsettled(call: &str, errno: i32) -> String {
    let causes: &[&str] = match (call, errno) {
        ("connect", libc::EADDRNOTAVAIL) => &[
            "no ephemeral port was free for this destination",
            "the address pair is in use by another connection",
        ],
        ("connect", libc::EINVAL) => &["the address is too short or of another family"],
        ("bind", libc::EINVAL) => &[
            "the socket is bound already",
            "the address is too short for the socket's family",
        ],
        ("bind" | "connect", libc::EACCES) => &[
            "a port below 1024 without privilege",
            "a unix path in a directory the process may not write",
        ],
        (_, libc::EINVAL) => &["an argument does not fit this socket or this call"],
        (_, libc::ENOTCONN) => &["the socket is not connected (never, or no longer)"],
        (_, libc::ECONNRESET) => &["the peer reset the connection, for a reason not seen"],
        (_, libc::EPIPE) => &[
            "the connection was reset",
            "the socket was shut down for writing",
            "the socket never connected",
        ],
        (_, libc::EADDRINUSE) => &["another socket holds the address"],
        (_, libc::EOPNOTSUPP) => &["this kind of socket does not support the call"],
        (_, libc::ENOPROTOOPT) => &["this socket does not have that option"],
        (_, libc::EBADF) => &["the fd is not open, or not open for this use"],
        _ => &[],
    };
    let desc = errno_desc(errno).to_lowercase();
    if causes.is_empty() {
        format!("{desc}; what was seen does not say why")
    } else {
        format!(
            "{desc}; what was seen does not settle why. Possible causes: {}",
            causes.join("; ")
        )
    }
}

/// How a quiz answer fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    Wrong,
    Skipped,
    /// The step has no expectation to check against.
    Nothing,
}

/// The line after a quiz answer.
pub fn quiz(v: Verdict, answer: &str, e: Option<&Expect>) -> String {
    let gave = e.map(self::answer).unwrap_or_default();
    match v {
        Verdict::Right => format!("✓ right: {gave}"),
        Verdict::Wrong => format!("✗ not {answer}: it gave {gave}"),
        Verdict::Skipped => format!("skipped: it gave {gave}"),
        Verdict::Nothing => "this step says nothing to check against".into(),
    }
}

/// An alert box's title.
pub fn alert_title(kind: crate::tui::app::AlertKind) -> &'static str {
    use crate::tui::app::AlertKind;
    match kind {
        AlertKind::Deadlock => "DEADLOCK",
        AlertKind::NoDeadlock => "NO DEADLOCK",
        AlertKind::Died => "A PROCESS DIED",
        AlertKind::NotExpected => "NOT AS THE LESSON EXPECTS",
    }
}

// --- The full-screen view's own words ----------------------------------

/// The ladder pane's title.
pub const LADDER_TITLE: &str = "ladder · steps numbered at left";
/// What the source pane's columns are.
pub const SOURCE_COLUMNS: &str = "line, step";
pub const SOCKETS_TITLE: &str = "sockets, as the kernel reports them (● changed)";
pub const SOCKETS_NONE: &str = "sockets: none";

/// What the first screen says, before the goal and the introduction.
pub const FIRST_SCREEN: &str = "Each step of this lesson makes one system call for real, in a \
    process of its own per actor; the ladder shows what it gave and what the kernel did. Space \
    runs the next step, ← goes back. Tab moves between the panes, PgDn scrolls the one in focus, \
    ? lists the keys, w explains the words.";

/// One line, when the terminal is too small to draw the view.
pub fn too_small(cols: u16, rows: u16, min_cols: u16, min_rows: u16) -> String {
    format!(
        "sockstep needs a terminal of at least {min_cols}x{min_rows}; this one is {cols}x{rows}. \
         Make it larger, or run with --plain."
    )
}

/// The mark for lines above those in sight.
pub fn more_above(n: usize) -> String {
    format!(" ↑ {n} more ")
}

/// The mark for lines below those in sight, with the key that shows them.
pub fn more_below(n: usize, focused: bool) -> String {
    if focused {
        format!(" ↓ {n} more: PgDn ")
    } else {
        format!(" ↓ {n} more: Tab here, PgDn ")
    }
}

/// The keys, for the help.
pub fn help_keys() -> String {
    "\
Space, →, n   next step
←, p          back one step (the lesson is run again up to there)
r, Home       restart
End           run to the end
g 12 Enter    go to step 12 (steps as the ladder numbers them)
a             autoplay on and off; + and - change its speed
Tab, Shift-Tab  the focus to the next pane (its border is thick)
↑ ↓, PgUp PgDn  scroll the pane in focus; the mouse wheel, the pane under it
z             the pane in focus fills the screen, and back
t             RFC 9293's state diagram, each socket at its state, and back
w             the words this view uses, explained
?             this help
q, Esc        quit (here, they only close this help)

Any key closes this help."
        .to_string()
}

/// The words the view uses, a sentence each.
pub fn glossary() -> String {
    "\
fd: a file descriptor, the small number a process uses for an open socket (0, 1 and 2 are \
its standard input and output, so a program's first socket is fd 3).
AF_INET, AF_INET6, AF_UNIX: the address family: IPv4, IPv6, or a path on this machine.
SOCK_STREAM, SOCK_DGRAM: a stream of bytes over a connection (TCP), or separate datagrams \
(UDP).
local, peer: the address and port of this end, and of the other end.
ephemeral port (eph1...): a port the kernel picked, as connect() does for a client that \
never called bind().
recv-q, send-q: bytes waiting to be read, and bytes sent but not yet acknowledged. For a \
LISTEN socket, ss shows the connections waiting in its accept queue, and the backlog \
listen() allows.
state (LISTEN, ESTABLISHED, TIME-WAIT...): where TCP's state machine is, as the kernel \
reports it; RFC 9293 is the standard that defines the machine.
◆ lines: a socket's state or queues changed. ↳ lines: a call that waited returns.
arrows: the packets that crossed loopback, from one actor's column to the other's, with \
their flags (SYN, ACK, FIN, RST, PSH) and relative sequence numbers.

Any key closes this list."
        .to_string()
}

/// After the last step of a built-in lesson: the next one.
pub fn next_lesson(number: u32, name: &str) -> String {
    format!("Next: sockstep run {number}   ({name})")
}

/// After the last step of the last built-in lesson.
pub fn last_lesson() -> String {
    "That was the last lesson. Next, the exercises: sockstep exercises".to_string()
}

/// What an exercise's call must give, as a student reads it.
fn gives(g: crate::exercise::Gives) -> String {
    use crate::exercise::Gives;
    match g {
        Gives::Success => "succeeded".into(),
        Gives::Value(v) => format!("returned {v}"),
        Gives::Bytes(b) => format!("received {}", quote_bytes(b, 40)),
        Gives::Errno(e) => format!("failed with {}", errno_name(e)),
    }
}

fn atom(a: &crate::exercise::Atom) -> String {
    format!("the {}'s {}()", a.actor, a.call)
}

/// Why an exercise is not done yet. `line` gives the lesson line of a
/// step.
pub fn unmet(u: &crate::exercise::Unmet, line: impl Fn(usize) -> Option<usize>) -> String {
    use crate::exercise::Unmet;
    let at = |step: usize| match line(step) {
        Some(l) => format!("step {step} (line {l})"),
        None => format!("step {step}"),
    };
    match u {
        Unmet::Deadlock { steps } => {
            let at: Vec<String> = steps.iter().map(|s| at(*s)).collect();
            format!("the run deadlocks: {} wait for ever", at.join(", "))
        }
        Unmet::Crashed { actor, step } => format!("the {actor} died at {}", at(*step)),
        Unmet::Never(a) => format!("{} never {}", atom(a), gives(a.gives)),
        Unmet::Order(a, b) => format!(
            "{} {} only after {} {}: the goal needs it the other way round",
            atom(a),
            gives(a.gives),
            atom(b),
            gives(b.gives)
        ),
    }
}

/// Where a step of a lesson is, for messages about a run.
pub fn step_at(step: usize, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("at step {step} (line {l})"),
        None => format!("at step {step}"),
    }
}

/// `check`'s reason when a program left the lesson's steps.
pub fn program_mismatch(
    step: usize,
    line: Option<usize>,
    expected: &Call<i32>,
    made: Option<&Call<i32>>,
) -> String {
    let names = Names::default();
    let want = format_call(expected, &names);
    match made {
        Some(m) => format!(
            "{}, the program made {} where the lesson has {want}",
            step_at(step, line),
            format_call(m, &names)
        ),
        None => format!(
            "{}, the program ended before making {want}",
            step_at(step, line)
        ),
    }
}

/// A host name in a lesson, resolved as getaddrinfo() would.
pub fn resolved(host: &str, addr: &crate::call::Addr) -> String {
    let ip = match addr {
        crate::call::Addr::V4(a) => a.ip().to_string(),
        crate::call::Addr::V6(a) => a.ip().to_string(),
        crate::call::Addr::Unix(p) => p.clone(),
    };
    let family = match addr {
        crate::call::Addr::V6(_) => "IPv6",
        _ => "IPv4",
    };
    format!("`{host}` is read as {ip}, as /etc/hosts maps it for {family}.")
}
