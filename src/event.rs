//! What the engine reports as a run goes: facts only, every renderer draws
//! these. The words for them are made in `render::words`, and the JSON
//! contract in `json`.

use crate::call::{Addr, Call};
use crate::capture::Packet;
use crate::explain::{Note, Why};
use crate::lesson::Expect;
use crate::sock::Socket;
use crate::wire::{Extra, FdState, SetupError, WaitKind};

/// Where the run's sockets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A private network namespace: own loopback, ports as written.
    Namespace,
    /// The host's loopback, each lesson port remapped to a free one.
    Host(HostReason),
}

/// Why the run is on the host's loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostReason {
    /// `--host-network` asked for it.
    Asked,
    /// The private namespace could not be made.
    Setup(SetupError),
}

/// Why no packets are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCapture {
    /// `--no-packets`: none were asked for.
    NotAsked,
    /// The packet socket could not be opened (the errno); on the host's
    /// network this needs CAP_NET_RAW.
    Denied { errno: i32, host: bool },
    /// The hub that would open it is not there.
    NoHub,
}

/// How a call ended, or that it has not yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The call returned `ret` (for recv, with the bytes; for recvfrom,
    /// getsockname and getpeername, with an address).
    Returned {
        ret: i64,
        data: Option<Vec<u8>>,
        addr: Option<Addr>,
        extra: Option<Extra>,
    },
    /// The call returned -1 with this errno.
    Failed { errno: i32 },
    /// The call would block: the actor is parked in it.
    Blocked { wait: WaitKind },
}

impl Event {
    /// A traced call's event, with no name bound and no explanation: made
    /// now (`Call`), or completed after it had waited (`Completed`).
    pub fn made(
        completed: bool,
        step: usize,
        actor: usize,
        call: Call<i32>,
        outcome: Outcome,
        fds: Vec<FdState>,
    ) -> Event {
        let (binding, why) = (None, None);
        if completed {
            Event::Completed {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            }
        } else {
            Event::Call {
                step,
                actor,
                binding,
                call,
                outcome,
                fds,
                why,
            }
        }
    }
}

impl Outcome {
    /// The address the call reported: recvfrom's sender, accept's peer,
    /// getsockname's or getpeername's.
    pub fn reported(&self) -> Option<&crate::call::Addr> {
        match self {
            Outcome::Returned {
                extra: Some(crate::wire::Extra::Accepted(peer)),
                ..
            } => Some(peer),
            Outcome::Returned { addr, .. } => addr.as_ref(),
            _ => None,
        }
    }
}

/// A socket that changed between two steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `None`: the socket is new to the kernel's view.
    pub before: Option<Socket>,
    /// `None`: the socket is gone.
    pub after: Option<Socket>,
    /// What the change was, as far as the facts show (with what RFC 9293
    /// says of it, where the packets seen trace its path).
    pub notes: Vec<Note>,
}

/// A traced program asleep in a system call that is not a socket call,
/// in a deadlock: what it waits in, and for what kind of thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asleep {
    pub actor: usize,
    /// The system call's name.
    pub syscall: String,
    pub on: AsleepOn,
}

/// What a system call asleep in the kernel waits for, as its number and
/// arguments say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsleepOn {
    /// futex() with no time limit: a lock, or a thread to end (join).
    Lock,
    /// wait4() or waitid(): a child process to end.
    Child,
    /// read() or write() on a pipe or another file that is not a socket.
    File { fd: i32 },
    /// A socket call the filter does not stop at (recvmsg, sendmsg,
    /// epoll_wait, select...) with no time limit.
    Socket { fd: Option<i32> },
    /// pause(), sigsuspend(): a signal.
    Signal,
}

/// What a parked actor waits for, in a deadlock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub actor: usize,
    pub step: usize,
    pub call: Call<i32>,
    pub wait: WaitKind,
    /// The actor that holds the other end of the connection, if any does.
    pub on: Option<usize>,
}

/// What happened instead of what a step expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// The call gave this.
    Outcome(Outcome),
    /// The process died in the call.
    Died {
        signal: Option<i32>,
        code: Option<i32>,
    },
    /// The call was still waiting when the run ended.
    NeverReturned,
}

/// A timer the kernel armed, which the run waits for because no step can
/// go on until it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerWait {
    /// The SYN of a connect was not answered (a full accept queue drops
    /// it); the kernel sends it again when its retransmission timer fires.
    SynRetransmit {
        /// How many times the SYN was sent again so far.
        resends: u8,
        /// The accept queue of the listener at the address when the
        /// connect began, as the kernel reported it: connections waiting,
        /// and the backlog.
        queue: Option<(u32, u32)>,
    },
    /// close() with SO_LINGER waits for its data to be acknowledged, at
    /// most this many seconds.
    Linger { secs: i32 },
    /// A receive on a socket with SO_RCVTIMEO waits this long at most.
    RecvTimeout { ms: u32 },
    /// A connect to an address on the link that no host has: the kernel
    /// asks the link for it (ARP, or IPv6's neighbour solicitation), and
    /// its SYN waits for an answer.
    Resolve { ip: std::net::IpAddr },
    /// A send on a socket with SO_SNDTIMEO waits this long at most for
    /// room in the send buffer.
    SendTimeout { ms: u32 },
}

/// A host of the run: its name, the actors on it, its addresses on the
/// link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub name: String,
    pub actors: Vec<usize>,
    pub v4: std::net::Ipv4Addr,
    pub v6: std::net::Ipv6Addr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
        /// How the actors are kept to the run.
        confinement: crate::confine::Confinement,
        /// The lesson names a unix socket path outside its own directory (an
        /// absolute path, or one with `..`): it is taken inside the run's
        /// directory, which the actors see as `/`.
        rooted_paths: bool,
        /// The hosts the actors run on, joined by a link; none when the
        /// lesson runs on one.
        hosts: Vec<HostInfo>,
        /// Programs traced (`sockstep trace`), not a lesson run: the
        /// kernel's range of ephemeral ports, which names them (a program's
        /// other ports are its own, shown as they are).
        traced: Option<(u16, u16)>,
        /// Actors whose steps a program makes (`--actor`): the actor, and
        /// the program's command line.
        programs: Vec<(usize, String)>,
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
        /// Why the call gave what it gave, where that needs saying (an
        /// errno's cause, what a 0 from recv meant).
        why: Option<Why>,
    },
    /// A parked call completed after another actor's step.
    Completed {
        step: usize,
        actor: usize,
        binding: Option<String>,
        call: Call<i32>,
        outcome: Outcome,
        fds: Vec<FdState>,
        why: Option<Why>,
    },
    /// The narration of a step.
    Narration {
        step: usize,
        actor: usize,
        lines: Vec<String>,
    },
    /// Packets that crossed loopback during the step, in order.
    Packets { packets: Vec<Packet> },
    /// Sockets whose kernel state changed during the step.
    States { transitions: Vec<Transition> },
    /// Every socket of the run, as the kernel reports it now.
    Table { sockets: Vec<Socket> },
    /// The capture lost packets (its buffer was full): they are missing
    /// from what is drawn and from the pcap file.
    /// Packets the capture missed: how many, where the kernel counts them.
    PacketsLost { count: Option<u32> },
    /// Packets cannot be captured in this run, and why.
    NoCapture { reason: NoCapture },
    /// A step's expectation did not hold.
    ExpectFailed {
        step: usize,
        actor: usize,
        expected: Expect,
        got: Got,
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
        /// Why the signal came, where the facts show it (SIGPIPE after a
        /// reset, on a socket that never connected...).
        why: Option<Why>,
    },
    /// No step could run, and a parked call waits on a timer the kernel
    /// has armed: the run lets it fire (after `ms` milliseconds at most).
    Timer {
        actor: usize,
        step: usize,
        timer: TimerWait,
        ms: u32,
    },
    /// No step can run and actors are parked: they wait for each other, or
    /// for something no remaining step will do.
    Deadlock {
        waits: Vec<Waiting>,
        /// Traced programs asleep in calls that are not socket calls.
        asleep: Vec<Asleep>,
        /// Steps that never ran.
        unrun: Vec<usize>,
        expected: bool,
    },
    /// The program making an actor's steps did not make the step's call:
    /// it made another socket call (`made`), or it ended first (with its
    /// signal or exit code). The program is stopped there.
    Mismatch {
        step: usize,
        actor: usize,
        expected: Call<i32>,
        made: Option<Call<i32>>,
        signal: Option<i32>,
        code: Option<i32>,
    },
    /// A traced program made a new process or thread, which is followed
    /// from here as the actor `actor` (a new column), named `name`.
    Joined {
        actor: usize,
        name: String,
        parent: usize,
        /// A thread of the parent's process (sharing its fds), not a
        /// process of its own.
        thread: bool,
    },
    /// The steps of an actor that died never ran.
    NotRun { actor: usize, steps: Vec<usize> },
    /// An actor returned from main; the kernel closes the fds it left open.
    Exit { actor: usize, open: Vec<i32> },
    /// A traced program wrote to its standard output (fd 1) or error (2).
    Output {
        actor: usize,
        fd: i32,
        text: Vec<u8>,
    },
    /// The run is over.
    Finish {
        steps_run: usize,
        steps: usize,
        failures: usize,
    },
}
