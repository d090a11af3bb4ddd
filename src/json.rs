//! `--format json`: one JSON object per event per line, for autograders and
//! other tools. This is a contract: the types here are the output's own,
//! documented field by field, versioned ([`VERSION`], in `start`), and
//! described by `schema/events.schema.json`, which the tests check every
//! event of every lesson against. Internal types never leak into it.
//!
//! It carries facts only: numbers, names of errnos and states, addresses,
//! and the kind of each explanation, never a sentence.

use crate::call::{Addr, Call, Domain, SockType, names as cnames};
use crate::capture::{ACK, FIN, PSH, Packet, Payload, RST, SYN};
use crate::errno::{errno_name, signal_name};
use crate::event::{
    AsleepOn, Event, Got, HostReason, Network, NoCapture, Outcome, TimerWait, Transition, Waiting,
};
use crate::explain::{By, Eof, Note, RstCause, TwEnd, Why};
use crate::lesson::Expect;
use crate::sock::{Holder, Kind, Rfc, Socket, TimerKind};
use crate::wire::{Extra, FdState, WaitKind};
use schemars::JsonSchema;
use serde::Serialize;

/// The version of this output, in every `start` event. It changes when a
/// field is removed or its meaning changes; new fields may appear within
/// a version.
pub const VERSION: u32 = 1;

/// One line of `--format json`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JsonEvent {
    /// The run has begun.
    Start {
        /// The version of this output: 1.
        version: u32,
        title: String,
        /// The lesson file, as sockstep names it.
        path: String,
        goal: Option<String>,
        /// The actors, in the order of their columns; events name them.
        actors: Vec<String>,
        network: JNetwork,
        /// The ports the lesson writes.
        ports: Vec<u16>,
        /// On the host's loopback, the free port each lesson port became.
        remapped: Vec<JRemap>,
        /// How the actors are kept to the run: `chroot` (the run's
        /// directory is their `/`, and abstract unix sockets and signals
        /// reach only the run's), `chroot_unscoped` (on the host's network,
        /// abstract unix sockets of the host are reachable), `landlock`
        /// (files beneath the run's directory), `landlock_scoped` (abstract
        /// unix sockets and signals too), or `none`.
        confinement: String,
        /// Unix socket paths outside the lesson's directory (absolute, or
        /// with `..`) are taken inside the run's directory.
        rooted_paths: bool,
        /// The hosts the actors run on, each its own network namespace,
        /// joined by a link; empty when the lesson runs on one machine.
        hosts: Vec<JHost>,
        /// Programs traced (`sockstep trace`), not a lesson run: the actors
        /// are the programs.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        traced: bool,
        /// Actors whose steps a program makes (`--actor`), with the
        /// program's command line.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        programs: Vec<JProgram>,
    },
    /// Narration before the first step.
    Intro { lines: Vec<String> },
    /// Narration that opens a new part of the lesson, before a step.
    Section { step: usize, lines: Vec<String> },
    /// A step's call was made (it returned, failed, or blocks).
    Call(JCall),
    /// A call that blocked completed, after another actor's step.
    Completed(JCall),
    /// The narration of a step.
    Narration {
        step: usize,
        actor: String,
        lines: Vec<String>,
    },
    /// Packets that crossed the run's network during the step, in order.
    Packets { packets: Vec<JPacket> },
    /// Sockets whose kernel state changed during the step.
    States { transitions: Vec<JTransition> },
    /// Every socket of the run, as the kernel reports it now.
    Table { sockets: Vec<JSocket> },
    /// The capture's buffer was full: this many packets are missing.
    /// How many, where the kernel counts them (else null).
    PacketsLost { count: Option<u32> },
    /// No packets are captured in this run.
    NoCapture { reason: JNoCapture },
    /// A step's expectation did not hold.
    ExpectFailed {
        step: usize,
        actor: String,
        expected: JExpect,
        got: JGot,
    },
    /// An actor's process died in a call.
    Crashed {
        step: usize,
        actor: String,
        call: JCallArgs,
        /// The step expected this death (`=> SIGPIPE`).
        expected: bool,
        /// The signal's name, such as `SIGPIPE`.
        signal: Option<String>,
        code: Option<i32>,
        why: Option<JWhy>,
    },
    /// No step could run, and the run let a timer the kernel armed fire.
    Timer {
        step: usize,
        actor: String,
        timer: JTimerWait,
        /// Milliseconds until it fires, as the kernel said.
        ms: u32,
    },
    /// Actors wait for each other, or for something no step will do.
    Deadlock {
        waits: Vec<JWaiting>,
        /// Traced programs asleep in calls that are not socket calls.
        asleep: Vec<JAsleep>,
        /// Steps that never ran.
        unrun: Vec<usize>,
        /// The lesson says `expect deadlock`.
        expected: bool,
    },
    /// The steps of an actor that died never ran.
    NotRun { actor: String, steps: Vec<usize> },
    /// An actor returned from main; the kernel closes these fds.
    Exit { actor: String, fds: Vec<i32> },
    /// The program making an actor's steps made another call than the
    /// step's, or ended first (its signal or exit code); it is stopped.
    Mismatch {
        step: usize,
        actor: String,
        expected: JCallArgs,
        made: Option<JCallArgs>,
        signal: Option<String>,
        code: Option<i32>,
    },
    /// A traced program made a process or thread, followed from here as a
    /// new actor.
    Joined {
        actor: String,
        parent: String,
        /// A thread of the parent's process (the same fds).
        thread: bool,
    },
    /// A traced program wrote to its standard output or error.
    Output {
        actor: String,
        /// `stdout` or `stderr`.
        stream: String,
        /// What it wrote (invalid UTF-8 replaced).
        text: String,
    },
    /// The run is over.
    Finish {
        steps_run: usize,
        steps: usize,
        /// Expectations that did not hold, unexpected crashes and deadlocks.
        failures: usize,
    },
    /// The lesson has an error (the run did not start).
    Error {
        /// The kind of error, such as `UnknownCall`.
        kind: String,
        message: String,
        path: String,
        line: usize,
        column: usize,
        label: String,
        help: Option<String>,
    },
    /// `sockstep check`: whether the exercise meets its goal.
    Check {
        done: bool,
        /// The verdict in words, as the terminal shows it.
        text: String,
    },
}

/// Where the run's sockets live.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JNetwork {
    /// A private network namespace.
    Namespace,
    /// The host's loopback.
    Host {
        /// `asked` (--host-network) or the setup step that failed.
        reason: String,
        /// The errno of the failed step, where there is one.
        errno: Option<String>,
    },
}

/// A host of the run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JHost {
    pub name: String,
    /// The actors that run on it.
    pub actors: Vec<String>,
    /// Its addresses on the link.
    pub addrs: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JRemap {
    pub lesson: u16,
    pub real: u16,
}

/// Why no packets are captured.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JNoCapture {
    NotAsked,
    Denied { errno: String },
    NoHub,
}

/// An address: `{"family":"inet","ip":"127.0.0.1","port":8080}`, or
/// `{"family":"unix","path":"server.sock"}` (`@name` for the abstract
/// namespace, `""` for an unnamed socket).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct JAddr {
    /// `inet`, `inet6` or `unix`.
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Bytes: as text when they are UTF-8, else as hex.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JBytes {
    pub len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// A call with its fds resolved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JCallArgs {
    /// The call's C name: `socket`, `recv`, `read`...
    pub name: String,
    /// The call as C would write it (ports as the kernel has them).
    pub c: String,
    /// The fd it works on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// poll's fds; select's read set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds: Option<Vec<i32>>,
    /// select's write set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_fds: Option<Vec<i32>>,
    /// select's nfds: it looks at the fds below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfds: Option<i32>,
    /// The address it names (bind, connect, sendto).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<JAddr>,
    /// The bytes it sends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<JBytes>,
    /// The buffer length of a read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
    /// Flags by their C names (`MSG_PEEK`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// socket, socketpair: the address family's C name (`AF_INET`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// socket, socketpair: the socket type's C name (`SOCK_STREAM`...).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// socket: the protocol (`0`, `IPPROTO_TCP`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// setsockopt, getsockopt: the option's level and name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// setsockopt: an int value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// setsockopt(SO_LINGER): `[l_onoff, l_linger]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linger: Option<(i32, i32)>,
    /// setsockopt(SO_RCVTIMEO): `[tv_sec, tv_usec]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeval: Option<(i64, i64)>,
    /// listen: the backlog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<i32>,
    /// shutdown: `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// fcntl: `F_GETFL`, or `F_SETFL` with `nonblock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// fcntl F_SETFL: O_NONBLOCK set (true) or cleared (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonblock: Option<bool>,
    /// unlink: the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// poll: true for a timeout of -1 (wait), false for 0 (look).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// select in a trace: its time limit, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<u32>,
    /// poll: the events asked for, fd by fd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Vec<String>>>,
    /// fork: the actor the child becomes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// bind: the port went in without htons() (`addr` holds the port the
    /// kernel got).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_htons: Option<bool>,
}

/// A step's call and how it ended.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JCall {
    pub step: usize,
    pub actor: String,
    /// The name the lesson binds the result to (`s`, or `a, b`).
    pub binding: Option<String>,
    pub call: JCallArgs,
    pub outcome: JOutcome,
    /// Fds whose addresses the call changed, as the kernel reports them.
    pub fds: Vec<JFd>,
    /// Why it gave what it gave, where that needs saying.
    pub why: Option<JWhy>,
}

/// How a call ended.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JOutcome {
    Returned {
        ret: i64,
        /// The bytes a read received.
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<Box<JBytes>>,
        /// The address recvfrom, getsockname or getpeername gave.
        #[serde(skip_serializing_if = "Option::is_none")]
        addr: Option<Box<JAddr>>,
        /// poll: the fds with events.
        #[serde(skip_serializing_if = "Option::is_none")]
        ready: Option<Vec<JReady>>,
        /// getsockopt(SO_ERROR): the error read, or `0`.
        #[serde(skip_serializing_if = "Option::is_none")]
        so_error: Option<String>,
        /// getsockopt of another option: its value (for SO_LINGER,
        /// `linger` instead).
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        linger: Option<(i32, i32)>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timeval: Option<(i64, i64)>,
    },
    Failed {
        /// The errno's name, such as `ECONNREFUSED`.
        errno: String,
        /// Its number on this system.
        errno_number: i32,
    },
    /// The call cannot complete now: the actor is parked in it.
    Blocked { waits: JWait },
}

/// What a blocked call waits for.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum JWait {
    /// A connection in the accept queue.
    Connection,
    /// Bytes to read (`got` so far, for MSG_WAITALL).
    Data { got: usize },
    /// Room in the buffers (`sent` so far).
    Room { sent: usize },
    /// The handshake to complete.
    Handshake,
    /// Room in a unix listener's accept queue.
    Backlog,
    /// Its data to be acknowledged, for SO_LINGER's `secs` at most.
    Linger { secs: i32 },
    /// One of poll's fds to be ready.
    Ready,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JReady {
    pub fd: i32,
    /// The events by name: `POLLIN`, `POLLHUP`...
    pub events: Vec<String>,
}

/// An fd as the kernel reports it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JFd {
    pub fd: i32,
    /// `tcp`, `tcp6`, `udp`, `udp6`, `unix_stream`, `unix_dgram`...
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub local: Option<JAddr>,
    pub peer: Option<JAddr>,
}

/// A socket of the run as the kernel reports it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JSocket {
    pub holder: JHolder,
    #[serde(rename = "type")]
    pub ty: String,
    pub local: Option<JAddr>,
    pub peer: Option<JAddr>,
    /// The kernel's state name: `ESTABLISHED`, `FIN_WAIT2`, `CLOSE`,
    /// `LISTEN`, `UNCONN`...
    pub state: String,
    /// For TCP, RFC 9293's name for it: `FIN-WAIT-2`, `CLOSED`...
    pub rfc: Option<String>,
    /// Bytes to read; for a listener, connections in its accept queue.
    pub recv_q: u32,
    /// Bytes not yet acknowledged; for a listener, its backlog.
    pub send_q: u32,
    /// A timer the kernel has armed on it.
    pub timer: Option<JTimer>,
}

/// Who a socket belongs to.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JHolder {
    /// An open fd of an actor refers to it.
    Fd { actor: String, fd: i32 },
    /// It waits in the accept queue of this listener.
    Queued { actor: String, listener: i32 },
    /// This fd referred to it until it was closed; the kernel keeps it.
    Closed { actor: String, fd: i32 },
    /// The connection of this fd went on in a TIME-WAIT socket of the
    /// kernel's own; the fd still refers to a CLOSED socket.
    Left { actor: String, fd: i32 },
    /// No fd of the run is known to have held it.
    Nobody,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JTimer {
    /// `retransmit`, `probe`, `keepalive` or `time_wait`.
    pub kind: String,
    pub expires_ms: u32,
    pub retransmits: u8,
}

/// A socket that changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JTransition {
    /// Absent: the socket is new.
    pub before: Option<JSocket>,
    /// Absent: the socket is gone.
    pub after: Option<JSocket>,
    pub notes: Vec<JNote>,
}

/// What a change was.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JNote {
    Bound,
    Accepted,
    ForkCopy,
    StillHeld {
        actor: String,
        fd: i32,
    },
    KeptAfterClose,
    /// A connection reset in the accept queue: no longer listed, but the
    /// listener still counts it, and accept() will return it.
    StillQueued,
    /// A unix datagram socket another connected to: ESTABLISHED to the
    /// kernel, with no peer of its own.
    ConnectedTo,
    /// The RFC 9293 path the packets seen trace.
    Path {
        from: String,
        hops: Vec<JHop>,
        /// The call the whole path took place in.
        within: Option<String>,
    },
    TimeWaitSocket,
    /// How a TIME-WAIT ended: `taken_over`, `expired` or `dropped`.
    TimeWaitEnded {
        how: String,
    },
    Uncaptured,
    Unexplained,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JHop {
    /// The RFC 9293 state reached.
    pub to: String,
    /// What made the hop: `sent_syn`, `got_fin`, `got_rst`...
    pub by: String,
    /// For a RST, why it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst: Option<String>,
}

/// Why a call gave what it gave.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JWhy {
    /// The explanation's kind: `listening`, `never_connected`, `reset`,
    /// `refused`, `eof`... (the README lists them).
    pub kind: String,
    /// For `reset`: why the RST was sent (`unread_data`, `linger_zero`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst: Option<String>,
    /// For `eof`: what the 0 means (`peer_fin`, `shut_read`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eof: Option<String>,
    /// The step the cause came at: for `reset`, the RST's; for
    /// `shut_write`, the shutdown's; for `connects_once`, the reset's; for
    /// `refused` reported by a later call and for `attempt_ended`, the
    /// step the connect began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// Sockets of the run the explanation names (those holding an address).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<JSocket>,
    /// For `privileged_port`: the port and net.ipv4.ip_unprivileged_port_start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u16>,
    /// For `truncated`: the buffer's length and the message's whole size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// A fact that decided the explanation, by kind: `address_held`:
    /// SO_REUSEADDR is on; `refused`: the RST that answered the SYN was
    /// captured; `unix_refused`: a socket of the run was bound at the path
    /// before; `privileged_port`: the bind was allowed; `port_unreachable`:
    /// the ICMP message was captured; `would_block` and `handshaking`:
    /// O_NONBLOCK is set (else MSG_DONTWAIT asked); `reset`: this socket's
    /// own kernel sent the RST; `truncated`: MSG_PEEK left the message queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<bool>,
    /// In a run with hosts: for `refused`, the host whose kernel answered;
    /// for `not_local`, the host that has the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// For `refused`: a listener on the port that did not take the
    /// connection (bound to another address, or on another host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<JSocket>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JTimerWait {
    SynRetransmit {
        resends: u8,
        /// The listener's accept queue: connections, backlog.
        queue: Option<(u32, u32)>,
    },
    Linger {
        secs: i32,
    },
    /// SO_RCVTIMEO: the receive waits this long at most.
    RecvTimeout {
        ms: u32,
    },
    /// SO_SNDTIMEO: the send waits this long at most for room.
    SendTimeout {
        ms: u32,
    },
    /// A connect to an address on the link no host has: the kernel asks
    /// the link for it, and its SYN waits.
    Resolve {
        ip: String,
    },
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JProgram {
    pub actor: String,
    /// The program and its arguments, as given.
    pub program: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JAsleep {
    pub actor: String,
    /// The system call it sleeps in.
    pub syscall: String,
    pub on: JAsleepOn,
}

/// What a system call asleep in the kernel waits for.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JAsleepOn {
    /// futex() with no time limit: a lock, or a thread to end.
    Lock,
    /// A child process to end.
    Child,
    /// A pipe or another file that is not a socket.
    File { fd: i32 },
    /// A socket call the tracer does not stop at.
    Socket { fd: Option<i32> },
    /// A signal.
    Signal,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JWaiting {
    pub actor: String,
    pub step: usize,
    pub call: JCallArgs,
    pub waits: JWait,
    /// The actor at the other end of the connection.
    pub on: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JExpect {
    Value {
        value: i64,
    },
    Errno {
        errno: String,
    },
    /// The call fails, with whatever errno (`=> -1`).
    Fails,
    Bytes {
        data: JBytes,
    },
    Blocks,
    Signal {
        signal: String,
    },
    /// The address the call reports.
    Addr {
        addr: JAddr,
    },
    /// An address of this IP with a port the kernel picked (`=> 127.0.0.1:eph`);
    /// `name` (`eph1`) when the lesson names the port.
    Ephemeral {
        ip: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JGot {
    Outcome {
        outcome: JOutcome,
    },
    Died {
        signal: Option<String>,
        code: Option<i32>,
    },
    NeverReturned,
}

/// A packet that crossed the run's network.
#[derive(Debug, Serialize, JsonSchema)]
pub struct JPacket {
    pub src: JAddr,
    pub dst: JAddr,
    /// The actor whose socket sent it.
    pub from: Option<String>,
    /// The actor whose socket it is for.
    pub to: Option<String>,
    /// `tcp`, `udp`, `icmp_unreachable` or `other`.
    pub proto: String,
    /// TCP flags by name, in the order SYN, FIN, RST, PSH, ACK.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<JBytes>,
    /// ICMP unreachable: the destination the datagram was for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<JAddr>,
}

/// The JSON schema of one line, as `schema/events.schema.json` holds it.
pub fn schema() -> String {
    let schema = schemars::schema_for!(JsonEvent);
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}

/// Turns events into JSON lines; remembers the actors' and hosts' names.
#[derive(Default)]
pub struct Json {
    actors: Vec<String>,
    hosts: Vec<String>,
}

impl Json {
    pub fn new() -> Json {
        Json::default()
    }

    /// One JSON object per event, a line each.
    pub fn events(&mut self, events: &[Event]) -> String {
        events
            .iter()
            .map(|e| {
                let j = self.event(e);
                serde_json::to_string(&j).expect("events serialize") + "\n"
            })
            .collect()
    }

    fn actor(&self, a: usize) -> String {
        self.actors.get(a).cloned().unwrap_or_default()
    }

    fn event(&mut self, e: &Event) -> JsonEvent {
        match e {
            Event::Start {
                title,
                path,
                goal,
                actors,
                network,
                ports,
                remapped,
                confinement,
                rooted_paths,
                hosts,
                traced,
                programs,
            } => {
                self.actors = actors.clone();
                self.hosts = hosts.iter().map(|h| h.name.clone()).collect();
                JsonEvent::Start {
                    version: VERSION,
                    title: title.clone(),
                    path: path.clone(),
                    goal: goal.clone(),
                    actors: actors.clone(),
                    network: network_json(network),
                    ports: ports.clone(),
                    remapped: remapped
                        .iter()
                        .map(|(lesson, real)| JRemap {
                            lesson: *lesson,
                            real: *real,
                        })
                        .collect(),
                    confinement: match confinement {
                        crate::confine::Confinement::Chroot { scoped: true } => "chroot",
                        crate::confine::Confinement::Chroot { scoped: false } => "chroot_unscoped",
                        crate::confine::Confinement::Landlock { scoped: false } => "landlock",
                        crate::confine::Confinement::Landlock { scoped: true } => "landlock_scoped",
                        crate::confine::Confinement::None => "none",
                    }
                    .into(),
                    rooted_paths: *rooted_paths,
                    hosts: hosts
                        .iter()
                        .map(|h| JHost {
                            name: h.name.clone(),
                            actors: h.actors.iter().map(|&a| actors[a].clone()).collect(),
                            addrs: vec![h.v4.to_string(), h.v6.to_string()],
                        })
                        .collect(),
                    traced: traced.is_some(),
                    programs: programs
                        .iter()
                        .map(|(a, p)| JProgram {
                            actor: actors.get(*a).cloned().unwrap_or_default(),
                            program: p.clone(),
                        })
                        .collect(),
                }
            }
            Event::Intro { lines } => JsonEvent::Intro {
                lines: lines.clone(),
            },
            Event::Section { step, lines } => JsonEvent::Section {
                step: *step,
                lines: lines.clone(),
            },
            Event::Call {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            } => JsonEvent::Call(self.call(*step, *actor, binding, call, outcome, fds, why)),
            Event::Completed {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            } => JsonEvent::Completed(self.call(*step, *actor, binding, call, outcome, fds, why)),
            Event::Narration { step, actor, lines } => JsonEvent::Narration {
                step: *step,
                actor: self.actor(*actor),
                lines: lines.clone(),
            },
            Event::Packets { packets } => JsonEvent::Packets {
                packets: packets.iter().map(|p| self.packet(p)).collect(),
            },
            Event::States { transitions } => JsonEvent::States {
                transitions: transitions.iter().map(|t| self.transition(t)).collect(),
            },
            Event::Table { sockets } => JsonEvent::Table {
                sockets: sockets.iter().map(|s| self.socket(s)).collect(),
            },
            Event::PacketsLost { count } => JsonEvent::PacketsLost { count: *count },
            Event::NoCapture { reason } => JsonEvent::NoCapture {
                reason: match reason {
                    NoCapture::NotAsked => JNoCapture::NotAsked,
                    NoCapture::Denied { errno, .. } => JNoCapture::Denied {
                        errno: errno_name(*errno),
                    },
                    NoCapture::NoHub => JNoCapture::NoHub,
                },
            },
            Event::ExpectFailed {
                step,
                actor,
                expected,
                got,
            } => JsonEvent::ExpectFailed {
                step: *step,
                actor: self.actor(*actor),
                expected: expect_json(expected),
                got: match got {
                    Got::Outcome(o) => JGot::Outcome {
                        outcome: outcome_json(o),
                    },
                    Got::Died { signal, code } => JGot::Died {
                        signal: signal.map(signal_name),
                        code: *code,
                    },
                    Got::NeverReturned => JGot::NeverReturned,
                },
            },
            Event::Crashed {
                actor,
                step,
                call,
                expected,
                signal,
                code,
                why,
            } => JsonEvent::Crashed {
                step: *step,
                actor: self.actor(*actor),
                call: call_json(call, &self.actors),
                expected: *expected,
                signal: signal.map(signal_name),
                code: *code,
                why: why.as_ref().map(|w| self.why(w)),
            },
            Event::Mismatch {
                step,
                actor,
                expected,
                made,
                signal,
                code,
            } => JsonEvent::Mismatch {
                step: *step,
                actor: self.actor(*actor),
                expected: call_json(expected, &self.actors),
                made: made.as_ref().map(|m| call_json(m, &self.actors)),
                signal: signal.map(signal_name),
                code: *code,
            },
            Event::Timer {
                actor,
                step,
                timer,
                ms,
            } => JsonEvent::Timer {
                step: *step,
                actor: self.actor(*actor),
                timer: match timer {
                    TimerWait::SynRetransmit { resends, queue } => JTimerWait::SynRetransmit {
                        resends: *resends,
                        queue: *queue,
                    },
                    TimerWait::Linger { secs } => JTimerWait::Linger { secs: *secs },
                    TimerWait::RecvTimeout { ms } => JTimerWait::RecvTimeout { ms: *ms },
                    TimerWait::SendTimeout { ms } => JTimerWait::SendTimeout { ms: *ms },
                    TimerWait::Resolve { ip } => JTimerWait::Resolve { ip: ip.to_string() },
                },
                ms: *ms,
            },
            Event::Deadlock {
                waits,
                asleep,
                unrun,
                expected,
            } => JsonEvent::Deadlock {
                waits: waits.iter().map(|w| self.waiting(w)).collect(),
                asleep: asleep
                    .iter()
                    .map(|a| JAsleep {
                        actor: self.actor(a.actor),
                        syscall: a.syscall.clone(),
                        on: match a.on {
                            AsleepOn::Lock => JAsleepOn::Lock,
                            AsleepOn::Child => JAsleepOn::Child,
                            AsleepOn::File { fd } => JAsleepOn::File { fd },
                            AsleepOn::Socket { fd } => JAsleepOn::Socket { fd },
                            AsleepOn::Signal => JAsleepOn::Signal,
                        },
                    })
                    .collect(),
                unrun: unrun.clone(),
                expected: *expected,
            },
            Event::NotRun { actor, steps } => JsonEvent::NotRun {
                actor: self.actor(*actor),
                steps: steps.clone(),
            },
            Event::Exit { actor, open } => JsonEvent::Exit {
                actor: self.actor(*actor),
                fds: open.clone(),
            },
            Event::Joined {
                actor,
                name,
                parent,
                thread,
            } => {
                if self.actors.len() <= *actor {
                    self.actors.resize(*actor + 1, String::new());
                }
                self.actors[*actor] = name.clone();
                JsonEvent::Joined {
                    actor: name.clone(),
                    parent: self.actor(*parent),
                    thread: *thread,
                }
            }
            Event::Output { actor, fd, text } => JsonEvent::Output {
                actor: self.actor(*actor),
                stream: if *fd == 2 { "stderr" } else { "stdout" }.into(),
                text: String::from_utf8_lossy(text).into_owned(),
            },
            Event::Finish {
                steps_run,
                steps,
                failures,
            } => JsonEvent::Finish {
                steps_run: *steps_run,
                steps: *steps,
                failures: *failures,
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        step: usize,
        actor: usize,
        binding: &Option<String>,
        call: &Call<i32>,
        outcome: &Outcome,
        fds: &[FdState],
        why: &Option<Why>,
    ) -> JCall {
        JCall {
            step,
            actor: self.actor(actor),
            binding: binding.clone(),
            call: call_json(call, &self.actors),
            outcome: outcome_json(outcome),
            fds: fds
                .iter()
                .map(|f| JFd {
                    fd: f.fd,
                    ty: f.kind.map(kind_json),
                    local: f.local.as_ref().map(addr_json),
                    peer: f.peer.as_ref().map(addr_json),
                })
                .collect(),
            why: why.as_ref().map(|w| self.why(w)),
        }
    }

    fn holder(&self, h: Holder) -> JHolder {
        match h {
            Holder::Fd(f) => JHolder::Fd {
                actor: self.actor(f.actor),
                fd: f.fd,
            },
            Holder::Queued { listener } => JHolder::Queued {
                actor: self.actor(listener.actor),
                listener: listener.fd,
            },
            Holder::Closed(f) => JHolder::Closed {
                actor: self.actor(f.actor),
                fd: f.fd,
            },
            Holder::Left(f) => JHolder::Left {
                actor: self.actor(f.actor),
                fd: f.fd,
            },
            Holder::Nobody => JHolder::Nobody,
        }
    }

    fn socket(&self, s: &Socket) -> JSocket {
        JSocket {
            holder: self.holder(s.holder),
            ty: kind_json(s.kind),
            local: s.local.as_ref().map(addr_json),
            peer: s.peer.as_ref().map(addr_json),
            state: s.state.kernel_name().to_string(),
            rfc: s.kind.is_tcp().then(|| rfc_json(s.state.rfc())),
            recv_q: s.recv_q,
            send_q: s.send_q,
            timer: s.timer.map(|t| JTimer {
                kind: match t.kind {
                    TimerKind::Retransmit => "retransmit",
                    TimerKind::Probe => "probe",
                    TimerKind::KeepAlive => "keepalive",
                    TimerKind::TimeWait => "time_wait",
                }
                .into(),
                expires_ms: t.expires_ms,
                retransmits: t.retransmits,
            }),
        }
    }

    fn transition(&self, t: &Transition) -> JTransition {
        JTransition {
            before: t.before.as_ref().map(|s| self.socket(s)),
            after: t.after.as_ref().map(|s| self.socket(s)),
            notes: t
                .notes
                .iter()
                .map(|n| match n {
                    Note::Bound => JNote::Bound,
                    Note::Accepted => JNote::Accepted,
                    Note::ForkCopy => JNote::ForkCopy,
                    Note::StillHeld { by } => JNote::StillHeld {
                        actor: self.actor(by.actor),
                        fd: by.fd,
                    },
                    Note::KeptAfterClose => JNote::KeptAfterClose,
                    Note::StillQueued => JNote::StillQueued,
                    Note::ConnectedTo => JNote::ConnectedTo,
                    Note::Path(p) => JNote::Path {
                        from: rfc_json(p.from),
                        hops: p
                            .hops
                            .iter()
                            .map(|h| {
                                let (by, rst) = by_json(&h.by);
                                JHop {
                                    to: rfc_json(h.to),
                                    by: by.into(),
                                    rst: rst.map(|r| r.to_string()),
                                }
                            })
                            .collect(),
                        within: p.within.map(str::to_string),
                    },
                    Note::TimeWaitSocket => JNote::TimeWaitSocket,
                    Note::TimeWaitEnded(how) => JNote::TimeWaitEnded {
                        how: match how {
                            TwEnd::TakenOver => "taken_over",
                            TwEnd::Expired => "expired",
                            TwEnd::Dropped => "dropped",
                        }
                        .into(),
                    },
                    Note::Uncaptured => JNote::Uncaptured,
                    Note::Unexplained => JNote::Unexplained,
                })
                .collect(),
        }
    }

    fn packet(&self, p: &Packet) -> JPacket {
        let mut j = JPacket {
            src: addr_json(&p.src),
            dst: addr_json(&p.dst),
            from: p.from.map(|a| self.actor(a)),
            to: p.to.map(|a| self.actor(a)),
            proto: String::new(),
            flags: Vec::new(),
            seq: None,
            ack: None,
            data: None,
            about: None,
        };
        match &p.payload {
            Payload::Tcp {
                flags,
                seq,
                ack,
                data,
            } => {
                j.proto = "tcp".into();
                for (bit, name) in [
                    (SYN, "SYN"),
                    (FIN, "FIN"),
                    (RST, "RST"),
                    (PSH, "PSH"),
                    (ACK, "ACK"),
                ] {
                    if flags & bit != 0 {
                        j.flags.push(name.into());
                    }
                }
                j.seq = Some(*seq);
                j.ack = Some(*ack);
                j.data = (!data.is_empty()).then(|| bytes_json(data));
            }
            Payload::Udp { data } => {
                j.proto = "udp".into();
                j.data = Some(bytes_json(data));
            }
            Payload::Unreachable { about, .. } => {
                j.proto = "icmp_unreachable".into();
                j.about = about.as_ref().map(addr_json);
            }
            Payload::Other => j.proto = "other".into(),
        }
        j
    }

    fn waiting(&self, w: &Waiting) -> JWaiting {
        JWaiting {
            actor: self.actor(w.actor),
            step: w.step,
            call: call_json(&w.call, &self.actors),
            waits: wait_json(w.wait),
            on: w.on.map(|a| self.actor(a)),
        }
    }

    fn why(&self, w: &Why) -> JWhy {
        let mut j = JWhy {
            kind: why_kind(w).into(),
            rst: None,
            eof: None,
            step: None,
            sockets: Vec::new(),
            port: None,
            start: None,
            length: None,
            size: None,
            flag: None,
            host: None,
            listener: None,
        };
        match w {
            Why::Reset {
                cause, step, own, ..
            } => {
                j.rst = Some(rst_json(cause).into());
                j.step = *step;
                j.flag = Some(*own);
            }
            Why::ShutWrite { step, .. } | Why::ConnectsOnce { step } => j.step = *step,
            Why::Eof(e) => j.eof = Some(eof_json(e).into()),
            Why::AddressHeld { by, reuse, .. } => {
                j.sockets = by.iter().map(|s| self.socket(s)).collect();
                j.flag = Some(*reuse);
            }
            Why::OtherListener { by } | Why::PairInUse { by } => {
                j.sockets = by.iter().map(|s| self.socket(s)).collect();
            }
            Why::NotLocal { elsewhere, .. } => {
                j.host = elsewhere.and_then(|h| self.hosts.get(h).cloned());
            }
            Why::Refused {
                rst,
                bound,
                earlier,
                answered,
                listener,
            } => {
                j.sockets = bound.iter().map(|s| self.socket(s)).collect();
                j.flag = Some(*rst);
                j.step = earlier.as_ref().map(|(s, _)| *s);
                j.host = answered.and_then(|a| self.hosts.get(a.host).cloned());
                j.listener = listener.as_ref().map(|s| self.socket(s));
            }
            Why::AttemptEnded { step }
            | Why::ConnectAborted { step }
            | Why::Disconnected { step } => j.step = Some(*step),
            Why::ConnectionOver { step } => j.step = *step,
            Why::UnixRefused {
                bound,
                was_bound,
                shut,
                ..
            } => {
                j.step = *shut;
                j.sockets = bound.iter().map(|s| self.socket(s)).collect();
                j.flag = Some(*was_bound);
            }
            Why::PrivilegedPort {
                port,
                start,
                allowed,
            } => {
                j.port = Some(*port);
                j.start = Some(*start);
                j.flag = Some(*allowed);
            }
            Why::PortUnreachable { seen } => j.flag = Some(*seen),
            Why::NoUrgent { connected } => j.flag = Some(*connected),
            Why::Discarded { len, peek } => {
                j.size = Some(*len);
                j.flag = Some(*peek);
            }
            Why::Truncated { len, size, peek } => {
                j.length = Some(*len);
                j.size = Some(*size);
                j.flag = Some(*peek);
            }
            Why::WouldBlock { nonblocking } | Why::Handshaking { nonblocking } => {
                j.flag = Some(*nonblocking)
            }
            _ => {}
        }
        j
    }
}

/// The kind of an explanation, as JSON names it.
pub fn why_kind(w: &Why) -> &'static str {
    match w {
        Why::NotOpen => "not_open",
        Why::NotSocket => "not_socket",
        Why::Listening => "listening",
        Why::Connected { .. } => "connected",
        Why::NeverConnected => "never_connected",
        Why::ConnectsOnce { .. } => "connects_once",
        Why::ConnectAborted { .. } => "connect_aborted",
        Why::Reset { .. } => "reset",
        Why::ShutWrite { .. } => "shut_write",
        Why::PeerClosed { .. } => "peer_closed",
        Why::PeerShutRead { .. } => "peer_shut_read",
        Why::FamilyMismatch { .. } => "family_mismatch",
        Why::AlreadyBound { .. } => "already_bound",
        Why::AddressHeld { .. } => "address_held",
        Why::PathExists => "path_exists",
        Why::OtherListener { .. } => "other_listener",
        Why::PairInUse { .. } => "pair_in_use",
        Why::NotLocal { .. } => "not_local",
        Why::NoSuchHost { .. } => "no_such_host",
        Why::LoopbackSource { .. } => "loopback_source",
        Why::Refused { .. } => "refused",
        Why::AttemptEnded { .. } => "attempt_ended",
        Why::ConnectionOver { .. } => "connection_over",
        Why::Disconnected { .. } => "disconnected",
        Why::UnixRefused { .. } => "unix_refused",
        Why::NoSuchPath => "no_such_path",
        Why::OutsideRun => "outside_run",
        Why::OutsideScope => "outside_scope",
        Why::PortUnreachable { .. } => "port_unreachable",
        Why::WouldBlock { .. } => "would_block",
        Why::Handshaking { .. } => "handshaking",
        Why::InProgress => "in_progress",
        Why::Already => "already",
        Why::NotListening => "not_listening",
        Why::Datagram => "datagram",
        Why::NoDestination => "no_destination",
        Why::PrivilegedPort { .. } => "privileged_port",
        Why::TooBig => "too_big",
        Why::WrongType => "wrong_type",
        Why::TimedOut => "timed_out",
        Why::Eof(_) => "eof",
        Why::OtherLevel { .. } => "other_level",
        Why::Unsettled => "unsettled",
        Why::Truncated { .. } => "truncated",
        Why::NoUrgent { .. } => "no_urgent",
        Why::RecvTimeout => "recv_timeout",
        Why::SendTimeout => "send_timeout",
        Why::Discarded { .. } => "discarded",
    }
}

pub fn rst_json(c: &RstCause) -> &'static str {
    match c {
        RstCause::UnreadData { .. } => "unread_data",
        RstCause::LingerZero => "linger_zero",
        RstCause::ListenerClosed => "listener_closed",
        RstCause::ListenerShut => "listener_shut",
        RstCause::Died { .. } => "died",
        RstCause::NoListener => "no_listener",
        RstCause::NoConnection => "no_connection",
        RstCause::DataAfterClose => "data_after_close",
        RstCause::Unknown => "unknown",
    }
}

pub fn eof_json(e: &Eof) -> &'static str {
    match e {
        Eof::PeerFin => "peer_fin",
        Eof::ShutRead { .. } => "shut_read",
        Eof::EmptyDatagram => "empty_datagram",
        Eof::ZeroLength => "zero_length",
        Eof::PeerClosed => "peer_closed",
        Eof::RecordOrEnd => "record_or_end",
        Eof::ShutReadOrRecord { .. } => "shut_read_or_record",
        Eof::AfterReset => "after_reset",
    }
}

fn by_json(b: &By) -> (&'static str, Option<&'static str>) {
    match b {
        By::PassiveOpen => ("passive_open", None),
        By::SentSyn => ("sent_syn", None),
        By::GotSyn => ("got_syn", None),
        By::GotSynAck => ("got_syn_ack", None),
        By::GotAck => ("got_ack", None),
        By::SentFin => ("sent_fin", None),
        By::GotFin => ("got_fin", None),
        By::GotFinAckingOurs => ("got_fin_acking_ours", None),
        By::GotAckOfFin => ("got_ack_of_fin", None),
        By::SentRst(c) => ("sent_rst", Some(rst_json(c))),
        By::GotRst(c) => ("got_rst", Some(rst_json(c))),
        By::Close => ("close", None),
        By::FinQueued => ("fin_queued", None),
    }
}

fn rfc_json(r: Rfc) -> String {
    crate::render::words::rfc(r).to_string()
}

fn kind_json(k: Kind) -> String {
    match (k.domain, k.ty) {
        (Domain::Inet, SockType::Stream) => "tcp",
        (Domain::Inet6, SockType::Stream) => "tcp6",
        (Domain::Inet, SockType::Dgram) => "udp",
        (Domain::Inet6, SockType::Dgram) => "udp6",
        (Domain::Unix, SockType::Stream) => "unix_stream",
        (Domain::Unix, SockType::Dgram) => "unix_dgram",
        (Domain::Unix, SockType::Seqpacket) => "unix_seqpacket",
        (_, SockType::Seqpacket) => "seqpacket",
    }
    .into()
}

pub fn addr_json(a: &Addr) -> JAddr {
    match a {
        Addr::V4(a) => JAddr {
            family: "inet".into(),
            ip: Some(a.ip().to_string()),
            port: Some(a.port()),
            path: None,
        },
        Addr::V6(a) => JAddr {
            family: "inet6".into(),
            ip: Some(a.ip().to_string()),
            port: Some(a.port()),
            path: None,
        },
        Addr::Unix(p) => JAddr {
            family: "unix".into(),
            ip: None,
            port: None,
            path: Some(p.clone()),
        },
    }
}

pub fn bytes_json(d: &[u8]) -> JBytes {
    match std::str::from_utf8(d) {
        Ok(t) => JBytes {
            len: d.len(),
            text: Some(t.to_string()),
            hex: None,
        },
        Err(_) => JBytes {
            len: d.len(),
            text: None,
            hex: Some(d.iter().map(|b| format!("{b:02x}")).collect()),
        },
    }
}

fn network_json(n: &Network) -> JNetwork {
    use crate::wire::SetupError;
    match n {
        Network::Namespace => JNetwork::Namespace,
        Network::Host(HostReason::Asked) => JNetwork::Host {
            reason: "asked".into(),
            errno: None,
        },
        Network::Host(HostReason::Setup(e)) => {
            let (reason, errno) = match e {
                SetupError::Unshare { user, .. } => ("unshare", Some(*user)),
                SetupError::IdMap(e) => ("id_map", Some(*e)),
                SetupError::Nested(e) => ("nested", Some(*e)),
                SetupError::Loopback(e) => ("loopback", Some(*e)),
                SetupError::Quickack(e) => ("quickack", Some(*e)),
                SetupError::Link(e) => ("link", Some(*e)),
                SetupError::Join(e) => ("join", Some(*e)),
                SetupError::Gone => ("gone", None),
            };
            JNetwork::Host {
                reason: reason.into(),
                errno: errno.map(errno_name),
            }
        }
    }
}

fn wait_json(w: WaitKind) -> JWait {
    match w {
        WaitKind::Connection => JWait::Connection,
        WaitKind::Data { got } => JWait::Data { got },
        WaitKind::Room { sent } => JWait::Room { sent },
        WaitKind::Handshake => JWait::Handshake,
        WaitKind::Backlog => JWait::Backlog,
        WaitKind::Linger { secs } => JWait::Linger { secs },
        WaitKind::Ready => JWait::Ready,
    }
}

fn outcome_json(o: &Outcome) -> JOutcome {
    match o {
        Outcome::Returned {
            ret,
            data,
            addr,
            extra,
        } => JOutcome::Returned {
            ret: *ret,
            data: data.as_deref().map(|d| Box::new(bytes_json(d))),
            addr: addr.as_ref().map(|a| Box::new(addr_json(a))),
            ready: match extra {
                Some(Extra::Poll(ready)) => Some(
                    ready
                        .iter()
                        .map(|(fd, ev)| JReady {
                            fd: *fd,
                            events: poll_names(*ev),
                        })
                        .collect(),
                ),
                _ => None,
            },
            so_error: match extra {
                Some(Extra::SoError(0)) => Some("0".into()),
                Some(Extra::SoError(e)) => Some(errno_name(*e)),
                _ => None,
            },
            value: match extra {
                Some(Extra::Opt(crate::call::OptValue::Int(v))) => Some(*v),
                _ => None,
            },
            linger: match extra {
                Some(Extra::Opt(crate::call::OptValue::Linger { on, secs })) => Some((*on, *secs)),
                _ => None,
            },
            timeval: match extra {
                Some(Extra::Opt(crate::call::OptValue::Time { secs, usecs })) => {
                    Some((*secs, *usecs))
                }
                _ => None,
            },
        },
        Outcome::Failed { errno } => JOutcome::Failed {
            errno: errno_name(*errno),
            errno_number: *errno,
        },
        Outcome::Blocked { wait } => JOutcome::Blocked {
            waits: wait_json(*wait),
        },
    }
}

/// SOCK_NONBLOCK, SOCK_CLOEXEC by name.
fn type_flags(flags: &[crate::call::TypeFlag]) -> Vec<String> {
    flags
        .iter()
        .map(|f| cnames::name_of(cnames::TYPE_FLAGS, *f).to_string())
        .collect()
}

fn poll_names(ev: i16) -> Vec<String> {
    crate::render::poll_names(ev)
}

fn expect_json(e: &Expect) -> JExpect {
    match e {
        Expect::Value(v) => JExpect::Value { value: *v },
        Expect::Errno(n) => JExpect::Errno {
            errno: errno_name(*n),
        },
        Expect::Fails => JExpect::Fails,
        Expect::Bytes(b) => JExpect::Bytes {
            data: bytes_json(b),
        },
        Expect::Blocks => JExpect::Blocks,
        Expect::Signal(s) => JExpect::Signal {
            signal: signal_name(*s),
        },
        Expect::Addr(a) => JExpect::Addr { addr: addr_json(a) },
        Expect::AddrEphemeral(ip, n) => JExpect::Ephemeral {
            ip: ip.to_string(),
            name: n.map(|n| format!("eph{n}")),
        },
    }
}

/// A call's arguments, for tools; `actors` name a fork's child.
pub fn call_json(call: &Call<i32>, actors: &[String]) -> JCallArgs {
    let flags = |f: &[crate::call::MsgFlag]| {
        f.iter()
            .map(|f| cnames::name_of(cnames::FLAGS, *f).to_string())
            .collect()
    };
    let mut j = JCallArgs {
        name: call.name().into(),
        c: crate::render::format_call(call, &crate::render::Names::default()),
        fd: call.fd().copied(),
        fds: None,
        write_fds: None,
        nfds: None,
        addr: call.addr().map(addr_json),
        data: None,
        len: None,
        flags: Vec::new(),
        domain: None,
        ty: None,
        protocol: None,
        level: None,
        option: None,
        value: None,
        linger: None,
        timeval: None,
        backlog: None,
        how: None,
        cmd: None,
        nonblock: None,
        path: None,
        wait: None,
        ms: None,
        events: None,
        child: None,
        no_htons: None,
    };
    let name = |s: &str| Some(s.to_string());
    match call {
        Call::Socket {
            domain,
            ty,
            protocol,
            flags,
        } => {
            j.domain = name(cnames::name_of(cnames::DOMAINS, *domain));
            j.ty = name(cnames::name_of(cnames::TYPES, *ty));
            j.protocol = name(cnames::name_of(cnames::PROTOCOLS, *protocol));
            j.flags = type_flags(flags);
        }
        Call::Accept { flags, .. } => j.flags = type_flags(flags),
        Call::Socketpair { ty } => {
            j.domain = name("AF_UNIX");
            j.ty = name(cnames::name_of(cnames::TYPES, *ty));
        }
        Call::Setsockopt { opt, value, .. } => {
            let (level, option) = cnames::opt(*opt);
            j.level = name(level);
            j.option = name(option);
            match value {
                crate::call::OptValue::Int(v) => j.value = Some(*v),
                crate::call::OptValue::Linger { on, secs } => j.linger = Some((*on, *secs)),
                crate::call::OptValue::Time { secs, usecs } => j.timeval = Some((*secs, *usecs)),
            }
        }
        Call::SoError { .. } => {
            j.level = name("SOL_SOCKET");
            j.option = name("SO_ERROR");
        }
        Call::Getsockopt { opt, .. } => {
            let (level, option) = cnames::opt(*opt);
            j.level = name(level);
            j.option = name(option);
        }
        Call::Listen { backlog, .. } => j.backlog = Some(*backlog),
        Call::Shutdown { how, .. } => j.how = name(cnames::name_of(cnames::HOWS, *how)),
        Call::Fcntl { nonblock, .. } => {
            j.cmd = name(if nonblock.is_some() {
                "F_SETFL"
            } else {
                "F_GETFL"
            });
            j.nonblock = *nonblock;
        }
        Call::Unlink { path } => j.path = Some(path.clone()),
        Call::Fork { child } | Call::Thread { child } => j.child = actors.get(*child).cloned(),
        Call::Bind { raw, .. } => j.no_htons = raw.then_some(true),
        _ => {}
    }
    match call {
        Call::Send { data, flags: f, .. } | Call::Sendto { data, flags: f, .. } => {
            j.data = Some(bytes_json(data));
            j.flags = flags(f);
        }
        Call::Recv { len, flags: f, .. } | Call::Recvfrom { len, flags: f, .. } => {
            j.len = Some(*len);
            j.flags = flags(f);
        }
        Call::Poll {
            fds, events, wait, ..
        } => {
            j.fds = Some(fds.clone());
            j.events = Some(events.iter().map(|e| poll_names(*e)).collect());
            j.wait = Some(*wait);
        }
        Call::Select {
            nfds,
            read,
            write,
            wait,
            ms,
        } => {
            j.ms = *ms;
            j.nfds = Some(*nfds);
            j.fds = Some(read.clone());
            j.write_fds = Some(write.clone());
            j.wait = Some(*wait);
        }
        _ => {}
    }
    j
}

/// Every kind of explanation (`why.kind`), as the README lists them.
pub const WHY_KINDS: &[&str] = &[
    "not_open",
    "not_socket",
    "listening",
    "connected",
    "never_connected",
    "connects_once",
    "connect_aborted",
    "reset",
    "shut_write",
    "peer_closed",
    "peer_shut_read",
    "family_mismatch",
    "already_bound",
    "address_held",
    "path_exists",
    "other_listener",
    "pair_in_use",
    "not_local",
    "refused",
    "attempt_ended",
    "connection_over",
    "disconnected",
    "unix_refused",
    "no_such_path",
    "outside_run",
    "outside_scope",
    "port_unreachable",
    "would_block",
    "handshaking",
    "in_progress",
    "already",
    "not_listening",
    "datagram",
    "no_destination",
    "privileged_port",
    "too_big",
    "wrong_type",
    "timed_out",
    "other_level",
    "eof",
    "unsettled",
    "truncated",
    "no_urgent",
    "recv_timeout",
    "send_timeout",
    "no_such_host",
    "loopback_source",
    "discarded",
];

/// Every cause of a reset (`why.rst`, a hop's `rst`).
pub const RST_CAUSES: &[&str] = &[
    "unread_data",
    "linger_zero",
    "listener_closed",
    "listener_shut",
    "died",
    "no_listener",
    "no_connection",
    "data_after_close",
    "unknown",
];

/// Every meaning of a 0 from a read (`why.eof`).
pub const EOF_KINDS: &[&str] = &[
    "peer_fin",
    "shut_read",
    "empty_datagram",
    "zero_length",
    "peer_closed",
    "record_or_end",
    "shut_read_or_record",
    "after_reset",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Domain;
    use crate::call::How;

    #[test]
    fn the_lists_of_kinds_hold_every_kind() {
        let whys = [
            Why::NotOpen,
            Why::NotSocket,
            Why::Listening,
            Why::Connected { peer: None },
            Why::NeverConnected,
            Why::ConnectsOnce { step: None },
            Why::ConnectAborted { step: 1 },
            Why::Reset {
                cause: RstCause::Unknown,
                step: None,
                own: false,
                unix: false,
            },
            Why::ShutWrite {
                step: None,
                how: How::Wr,
            },
            Why::PeerClosed { stream: true },
            Why::PeerShutRead { stream: true },
            Why::FamilyMismatch {
                socket: Domain::Inet,
                addr: Domain::Inet6,
            },
            Why::AlreadyBound { local: None },
            Why::AddressHeld {
                by: Vec::new(),
                reuse: false,
                host: false,
                across: Vec::new(),
            },
            Why::PathExists,
            Why::OtherListener { by: None },
            Why::PairInUse { by: None },
            Why::NotLocal {
                host: None,
                elsewhere: None,
            },
            Why::Refused {
                rst: true,
                bound: None,
                earlier: None,
                answered: None,
                listener: None,
            },
            Why::AttemptEnded { step: 1 },
            Why::ConnectionOver { step: None },
            Why::Disconnected { step: 1 },
            Why::UnixRefused {
                bound: None,
                was_bound: false,
                stream: true,
                shut: None,
            },
            Why::NoSuchPath,
            Why::OutsideRun,
            Why::OutsideScope,
            Why::PortUnreachable { seen: true },
            Why::WouldBlock { nonblocking: true },
            Why::Handshaking { nonblocking: true },
            Why::InProgress,
            Why::Already,
            Why::NotListening,
            Why::Datagram,
            Why::NoDestination,
            Why::PrivilegedPort {
                port: 80,
                start: 1024,
                allowed: false,
            },
            Why::TooBig,
            Why::WrongType,
            Why::TimedOut,
            Why::OtherLevel { kind: Kind::UDP },
            Why::Eof(Eof::PeerFin),
            Why::Unsettled,
            Why::Truncated {
                len: 4,
                size: 15,
                peek: false,
            },
            Why::NoUrgent { connected: true },
            Why::RecvTimeout,
            Why::SendTimeout,
            Why::NoSuchHost { host: None },
            Why::LoopbackSource { local: None },
            Why::Discarded {
                len: 4,
                peek: false,
            },
        ];
        let kinds: Vec<&str> = whys.iter().map(why_kind).collect();
        assert_eq!(kinds, WHY_KINDS);
        let causes = [
            RstCause::UnreadData { bytes: 1 },
            RstCause::LingerZero,
            RstCause::ListenerClosed,
            RstCause::ListenerShut,
            RstCause::Died { bytes: 1 },
            RstCause::NoListener,
            RstCause::NoConnection,
            RstCause::DataAfterClose,
            RstCause::Unknown,
        ];
        let names: Vec<&str> = causes.iter().map(rst_json).collect();
        assert_eq!(names, RST_CAUSES);
        let eofs = [
            Eof::PeerFin,
            Eof::ShutRead { how: How::Rd },
            Eof::EmptyDatagram,
            Eof::ZeroLength,
            Eof::PeerClosed,
            Eof::RecordOrEnd,
            Eof::ShutReadOrRecord { how: How::Rd },
            Eof::AfterReset,
        ];
        let names: Vec<&str> = eofs.iter().map(eof_json).collect();
        assert_eq!(names, EOF_KINDS);
    }

    #[test]
    fn the_schema_file_is_the_schema_of_the_output_types() {
        let file = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/events.schema.json"
        ))
        .unwrap_or_default();
        assert!(
            file == schema(),
            "schema/events.schema.json is stale: run `cargo run -- schema > schema/events.schema.json`"
        );
    }
}
