//! What the engine reports as a run goes: every renderer draws these.

use crate::call::{Addr, Call};
use crate::lesson::Expect;
use crate::wire::{FdState, WaitKind};
use serde::Serialize;

/// Where the run's sockets live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Network {
    /// A private network namespace: own loopback, ports as written.
    Namespace,
    /// The host's loopback, each lesson port remapped to a free one.
    Host {
        /// Why no private namespace could be had.
        reason: String,
    },
}

/// How a call ended, or that it has not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The call returned `ret` (for recv, with the bytes; for recvfrom,
    /// getsockname and getpeername, with an address).
    Returned {
        ret: i64,
        data: Option<Vec<u8>>,
        addr: Option<Addr>,
        /// What else the call reported, in words (poll's ready fds).
        note: Option<String>,
    },
    /// The call returned -1 with this errno.
    Failed { errno: i32 },
    /// The call would block: the actor is parked in it.
    Blocked { wait: WaitKind },
}

/// One socket of the run as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Socket {
    /// The actor and fd that hold it; `None` for a socket no fd refers to.
    pub owner: Option<(usize, i32)>,
    #[serde(skip)]
    pub inode: u64,
    /// `TCP`, `TCPv6`, `UDP`, `UDPv6`, `UNIX-STREAM`...
    pub kind: String,
    pub local: Option<Addr>,
    pub peer: Option<Addr>,
    /// The kernel's state name: `ESTABLISHED`, `FIN_WAIT2`, `CLOSE`...
    pub state: String,
    /// Bytes to read; for a listener, connections in the accept queue.
    pub recv_q: u32,
    /// Bytes sent but not yet acknowledged.
    pub send_q: u32,
    /// TIME_WAIT: seconds until the kernel drops it.
    pub timewait_left: Option<u32>,
}

/// A socket that changed between two steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// `None`: the socket is new to the kernel's view.
    pub before: Option<Socket>,
    /// `None`: the socket is gone.
    pub after: Option<Socket>,
    /// What RFC 9293 says of the transition, where it helps.
    pub rfc: Option<String>,
}

/// What a parked actor waits for, in a deadlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub actor: usize,
    pub step: usize,
    pub call: Call<i32>,
    pub wait: WaitKind,
    /// The actor that holds the other end of the connection, if any does.
    pub on: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run has begun.
    Start {
        title: String,
        path: String,
        goal: Option<String>,
        actors: Vec<String>,
        network: Network,
        /// The ports the lesson writes, such as 8080.
        ports: Vec<u16>,
        /// `(lesson port, real port)` where the host's loopback forced a remap.
        remapped: Vec<(u16, u16)>,
    },
    /// Narration before the first step.
    Intro { lines: Vec<String> },
    /// Narration that opens a new part of the lesson, before a step.
    Section { step: usize, lines: Vec<String> },
    /// A step's call was made.
    Call {
        step: usize,
        actor: usize,
        binding: Option<String>,
        call: Call<i32>,
        outcome: Outcome,
        /// Fds whose addresses the call changed, as the kernel reports them now.
        fds: Vec<FdState>,
    },
    /// A parked call completed after another actor's step.
    Completed {
        step: usize,
        actor: usize,
        binding: Option<String>,
        call: Call<i32>,
        outcome: Outcome,
        fds: Vec<FdState>,
    },
    /// The narration of a step.
    Narration {
        step: usize,
        actor: usize,
        lines: Vec<String>,
    },
    /// Packets that crossed loopback during the step, in order.
    Packets {
        packets: Vec<crate::capture::Packet>,
    },
    /// Sockets whose kernel state changed during the step.
    States { transitions: Vec<Transition> },
    /// Every socket of the run, as the kernel reports it now.
    Table { sockets: Vec<Socket> },
    /// The capture lost packets (its buffer was full): they are missing
    /// from what is drawn and from the pcap file.
    PacketsLost { count: u32 },
    /// Packets cannot be captured in this run, and why.
    NoCapture { reason: String },
    /// A step's expectation did not hold.
    ExpectFailed {
        step: usize,
        actor: usize,
        expected: Expect,
        /// What happened instead, in words.
        got: String,
    },
    /// An actor's process died during a step (a signal, such as SIGPIPE).
    Crashed {
        actor: usize,
        step: usize,
        /// The call the process died in.
        call: Call<i32>,
        /// The step expected this death (`=> SIGPIPE`).
        expected: bool,
        signal: Option<i32>,
        code: Option<i32>,
    },
    /// No step can run and actors are parked: they wait for each other, or
    /// for something no remaining step will do.
    Deadlock {
        waits: Vec<Waiting>,
        /// Steps that never ran.
        unrun: Vec<usize>,
        expected: bool,
    },
    /// The steps of an actor that died never ran.
    NotRun { actor: usize, steps: Vec<usize> },
    /// An actor returned from main; the kernel closes the fds it left open.
    Exit { actor: usize, open: Vec<i32> },
    /// The run is over.
    Finish {
        steps_run: usize,
        steps: usize,
        failures: usize,
    },
}
