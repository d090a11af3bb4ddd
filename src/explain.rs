//! Why a call gave what it gave, and what a socket's change was, chosen
//! from the facts of the run: the call, the socket's kind, state and
//! options before and after it, the packets seen, what other sockets held.
//! Where the facts do not settle a cause, the answer says so
//! ([`Why::Unsettled`]) and the words name the possible causes.
//!
//! No English here: `render::words` says each of these in one place.

use crate::call::{Addr, Call, Domain, How};
use crate::capture::{Packet, RST};
use crate::event::Outcome;
use crate::sock::{FdOf, Kind, Rfc, Socket, State};
use crate::wire::{Extra, FdFacts, FdState};

/// Why the kernel sent a RST, as the facts of the step show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RstCause {
    /// The socket was closed with bytes it had not read: the kernel aborts
    /// the connection rather than pretend they were read.
    UnreadData { bytes: u32 },
    /// SO_LINGER was on with a zero time: close() aborts the connection.
    LingerZero,
    /// The connection waited in the accept queue of a listener that was
    /// closed.
    ListenerClosed,
    /// The connection waited in the accept queue of a listener that was
    /// shut down for reading (which stops it listening).
    ListenerShut,
    /// The process that held it died with unread data.
    Died { bytes: u32 },
    /// A SYN came for an address where nothing listens.
    NoListener,
    /// A segment came for a connection the kernel does not have (any more).
    NoConnection,
    /// Data came for a socket whose fd was closed.
    DataAfterClose,
    /// The facts seen do not say.
    Unknown,
}

/// One hop of RFC 9293's state machine, and the event that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub to: Rfc,
    pub by: By,
}

/// What moved a TCP socket from one RFC 9293 state to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// listen(): a passive OPEN.
    PassiveOpen,
    /// A SYN went out (an active OPEN).
    SentSyn,
    /// A SYN came in.
    GotSyn,
    /// The SYN-ACK came back.
    GotSynAck,
    /// The ACK of our SYN came.
    GotAck,
    SentFin,
    GotFin,
    /// A FIN that also acknowledged ours.
    GotFinAckingOurs,
    /// The ACK of our FIN came.
    GotAckOfFin,
    SentRst(RstCause),
    GotRst(RstCause),
    /// close() of a socket with no connection (a listener).
    Close,
    /// close() or shutdown(): a FIN is due, but waits behind data not yet
    /// sent (the peer's window is shut).
    FinQueued,
}

/// A TCP socket's path through RFC 9293's states, traced from the packets
/// seen during the step; given only when it leads where the kernel says
/// the socket is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub from: Rfc,
    pub hops: Vec<Hop>,
    /// The call of the step that made the change, when it was made on this
    /// socket: the whole path then took place within it.
    pub within: Option<&'static str>,
}

/// How a TIME-WAIT socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwEnd {
    /// A new connection with the same address pair took it over.
    TakenOver,
    /// Its 2 MSL timer ran out.
    Expired,
    /// The kernel dropped it before its timer ran out, and nothing seen
    /// says why.
    Dropped,
}

/// What a socket's change was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// bind(): RFC 9293 has no state for a bound socket; to the kernel it
    /// is CLOSED still, and ss does not list it.
    Bound,
    /// accept() took the connection from the accept queue; its state did
    /// not change.
    Accepted,
    /// After fork: the child's fd refers to the parent's socket.
    ForkCopy,
    /// This fd was closed; another fd still refers to the socket.
    StillHeld { by: FdOf },
    /// The fd was closed and the kernel keeps the connection.
    KeptAfterClose,
    /// A unix datagram socket that another socket connected to: the kernel
    /// marks it ESTABLISHED, but it has no peer of its own.
    ConnectedTo,
    /// A connection in the accept queue ended (reset) and is no longer
    /// listed, but the listener still counts it: accept() will return it.
    StillQueued,
    /// The path through RFC 9293's states.
    Path(Path),
    /// The connection went on in a TIME-WAIT socket of the kernel's own,
    /// which no fd refers to; the fd is left with a CLOSED socket.
    TimeWaitSocket,
    /// A TIME-WAIT socket ended.
    TimeWaitEnded(TwEnd),
    /// No packets were captured, so the path between is not known.
    Uncaptured,
    /// The packets seen do not lead from the state before to the state
    /// after.
    Unexplained,
}

/// How a socket of one IP family holds an address of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    /// An IPv4-mapped IPv6 address ([::ffff:127.0.0.1]) is its IPv4
    /// address.
    Mapped,
    /// An IPv6 socket bound to [::] without IPV6_V6ONLY takes the port for
    /// IPv4 too.
    DualStack,
}

/// Why recv, read or recvfrom returned 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eof {
    /// The peer's FIN arrived: end of file.
    PeerFin,
    /// This socket was shut down for reading (`how`: SHUT_RD or
    /// SHUT_RDWR).
    ShutRead { how: How },
    /// A datagram with no bytes.
    EmptyDatagram,
    /// The call asked for 0 bytes.
    ZeroLength,
    /// A unix stream's peer closed or shut down writing.
    PeerClosed,
    /// A SOCK_SEQPACKET socket read an empty record, or its peer closed
    /// or shut down writing: both give 0.
    RecordOrEnd,
    /// A SOCK_SEQPACKET socket shut down for reading: reads give 0 once no
    /// bytes wait, and an empty record reads as 0 too.
    ShutReadOrRecord { how: How },
    /// The connection was reset; after its error was reported, reads give 0.
    AfterReset,
}

/// Why a call gave what it gave, where that needs saying: the cause of an
/// errno, or what a result means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A datagram or record longer than the buffer: `len` bytes were read,
    /// the rest discarded; MSG_TRUNC made the call return its whole `size`.
    Truncated { len: usize, size: i64, peek: bool },
    /// EAGAIN from a blocking receive on a socket with SO_RCVTIMEO: its time
    /// ran out with nothing to read.
    RecvTimeout,
    /// EAGAIN from a blocking send on a socket with SO_SNDTIMEO: its time
    /// ran out before the send buffer had room for any of the data.
    SendTimeout,
    /// EINVAL from a TCP recv with MSG_OOB: no urgent byte is held
    /// (`connected`: the socket has a connection, which could have one).
    NoUrgent { connected: bool },
    /// TCP recv with MSG_TRUNC: `len` bytes discarded without being
    /// copied (`peek`: MSG_PEEK, copied nothing and left them queued).
    Discarded { len: i64, peek: bool },
    /// EBADF: the fd is not open in this process.
    NotOpen,
    /// ENOTSOCK: the fd is open but is not a socket.
    NotSocket,
    /// The socket is a listener (it has no connection of its own).
    Listening,
    /// The socket is connected already.
    Connected { peer: Option<Addr> },
    /// The socket never connected.
    NeverConnected,
    /// ECONNRESET on a socket whose connect in progress a shutdown() at
    /// `step` aborted (no packet: the kernel keeps the error for the next
    /// call).
    ConnectAborted { step: usize },
    /// EISCONN on a socket whose connection is gone (reset at `step`): the
    /// socket layer counts it as connected still; a socket connects once.
    ConnectsOnce { step: Option<usize> },
    /// The connection was reset: by whom and why, as far as seen. `own`:
    /// this socket's own kernel sent the RST (data came after it had
    /// stopped reading), and reports it to this socket too.
    /// For a unix stream (`unix`) no packet is sent: the kernel sets the
    /// error on this end when the other is closed with data it had not
    /// read, or was still in the accept queue of a listener that closed.
    Reset {
        cause: RstCause,
        step: Option<usize>,
        own: bool,
        unix: bool,
    },
    /// This socket was shut down for writing (`how`: SHUT_WR or SHUT_RDWR).
    ShutWrite { step: Option<usize>, how: How },
    /// A unix socket whose peer is closed: for a stream, its other end;
    /// for a datagram socket, the socket it was connected to.
    PeerClosed { stream: bool },
    /// The unix socket this one is connected to (a stream's other end) is
    /// open, but shut down for reading.
    PeerShutRead { stream: bool },
    /// The address's family is not the socket's.
    FamilyMismatch { socket: Domain, addr: Domain },
    /// bind() on a socket that has an address already.
    AlreadyBound { local: Option<Addr> },
    /// bind(): these sockets of the run hold the address (listeners,
    /// bound sockets, connections in TIME-WAIT...).
    ///
    /// `by`: the run's sockets that hold it, of the same family, or else
    /// of the other (an IPv6 socket bound to [::] without IPV6_V6ONLY
    /// holds the port for IPv4 too, and the other way round); `reuse`:
    /// SO_REUSEADDR is on; `host`: the run is on the host's network,
    /// where other programs' sockets hold ports too; `across`: how holders
    /// of the other IP family hold it.
    AddressHeld {
        by: Vec<Socket>,
        reuse: bool,
        host: bool,
        across: Vec<Across>,
    },
    /// bind() of a unix socket to a path that exists.
    PathExists,
    /// listen(): another socket listens on the same address and port.
    OtherListener { by: Option<Socket> },
    /// connect(): the local address and port are in a connection to the
    /// same peer already.
    PairInUse { by: Option<Socket> },
    /// EINVAL from connect() or sendto() to an address off the host, on a
    /// socket bound to a loopback address (`local`), which no packet may
    /// leave its host from.
    LoopbackSource { local: Option<Addr> },
    /// EHOSTUNREACH in a run with hosts: the address is on the link, and
    /// no host has it; the caller's host asked the link for it in vain.
    NoSuchHost { host: Option<usize> },
    /// bind(): no interface of the caller's host (the run's network, on
    /// one machine) has the address; `elsewhere`: the host that has it.
    NotLocal {
        host: Option<usize>,
        elsewhere: Option<usize>,
    },
    /// connect() over TCP: nothing listens at the address. `rst`: the RST
    /// that answered the SYN was captured; `bound`: a socket of the run is
    /// bound there without listening; `earlier`: the connect was begun at
    /// an earlier step (non-blocking), to this address, and this call is
    /// the one that reports how it ended.
    Refused {
        rst: bool,
        bound: Option<Socket>,
        earlier: Option<(usize, Addr)>,
        /// In a run with hosts: the host whose kernel the address reached.
        answered: Option<Answered>,
        /// A listener on the address's port that did not take the
        /// connection: bound to another address of its host, or on
        /// another host.
        listener: Option<Socket>,
    },
    /// ECONNABORTED from connect() on a socket whose earlier connect
    /// (begun at `step`) failed and whose error was read already (SO_ERROR
    /// or another call): the attempt is over, and the socket may connect
    /// again.
    AttemptEnded { step: usize },
    /// ECONNABORTED from connect() on a socket whose connection is over
    /// (reset at `step`), its error read already: connect() leaves the
    /// socket unconnected, and it may connect again.
    ConnectionOver { step: Option<usize> },
    /// ENOTCONN on a socket a connect() at `step` left unconnected (it
    /// found the connection over: ECONNABORTED).
    Disconnected { step: usize },
    /// connect() (or, for a datagram socket, a send) of a unix socket: the
    /// path exists, and no socket takes it: `bound`: the run's socket bound
    /// there, if it is still open; `was_bound`: a socket of the run was
    /// bound there before; `stream`: the call was a stream's connect;
    /// `shut`: the socket listening there was shut down for reading at
    /// that step (which makes it refuse new connections).
    UnixRefused {
        bound: Option<Socket>,
        was_bound: bool,
        stream: bool,
        shut: Option<usize>,
    },
    /// The path does not exist.
    NoSuchPath,
    /// The path is outside the run's directory, where Landlock keeps the
    /// actors on the host's network.
    OutsideRun,
    /// An abstract unix name of the host's, which Landlock's scope keeps
    /// the actors from on the host's network.
    OutsideScope,
    /// A datagram came back as ICMP port unreachable (`seen`: it was
    /// captured).
    PortUnreachable { seen: bool },
    /// EAGAIN: the call would wait; `nonblocking`: O_NONBLOCK is set,
    /// else MSG_DONTWAIT asked.
    WouldBlock { nonblocking: bool },
    /// EAGAIN from a send or recv on a TCP socket whose connect is in
    /// progress (SYN-SENT): it would wait for the handshake first.
    Handshaking { nonblocking: bool },
    /// EINPROGRESS: a non-blocking connect has begun.
    InProgress,
    /// EALREADY: a non-blocking connect is still in progress.
    Already,
    /// accept() on a socket that is not listening.
    NotListening,
    /// listen() or accept() on a datagram socket.
    Datagram,
    /// send() on an unconnected datagram socket with no address.
    NoDestination,
    /// bind() to a port below net.ipv4.ip_unprivileged_port_start,
    /// without the privilege; on success, with it.
    PrivilegedPort {
        port: u16,
        start: u16,
        allowed: bool,
    },
    /// The datagram is larger than the socket can send.
    TooBig,
    /// The socket at the address is of another type.
    WrongType,
    /// The connect's SYN went unanswered until the kernel gave up.
    TimedOut,
    /// What a 0 from a read means.
    Eof(Eof),
    /// setsockopt(): the option's level is for another kind of socket
    /// (IPPROTO_TCP on a UDP socket, IPPROTO_IPV6 on an IPv4 one).
    OtherLevel { kind: Kind },
    /// The facts at hand do not settle which of the errno's causes it was.
    Unsettled,
}

/// A RST that reached a socket of the run (or, for a unix stream, a peer
/// closed with unread data), and why it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// The socket it reached, while an fd refers to it (0: none does).
    pub inode: u64,
    pub local: Addr,
    pub peer: Addr,
    pub cause: RstCause,
    /// The lesson step it came in, if it came in one.
    pub step: Option<usize>,
    /// The peer's FIN had come before it (the socket was in CLOSE-WAIT):
    /// reads report that end of file, and the RST's error is not reported.
    pub after_fin: bool,
    /// The socket sent the RST itself (its kernel reset the connection).
    pub own: bool,
}

/// What is known around a call, to choose why it gave what it gave.
/// In a run with hosts, the host an address reached: `loopback` when it
/// is a loopback address, which is the connecting host's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    pub host: usize,
    pub loopback: bool,
}

pub struct Context<'a> {
    pub call: &'a Call<i32>,
    /// The kernel's view of the call's socket before the step.
    pub before: Option<&'a Socket>,
    /// The socket's inode, while an fd refers to it.
    pub inode: Option<u64>,
    /// What the actor read of the fd after a failed call.
    pub facts: Option<&'a FdFacts>,
    /// The fds the call reported on, as the kernel says they are after it.
    pub fds: &'a [FdState],
    pub view_before: &'a [Socket],
    pub view_after: &'a [Socket],
    /// The step's packets; `None` when packets are not captured.
    pub packets: Option<&'a [Packet]>,
    pub resets: &'a [Reset],
    /// Successful shutdown() calls: inode, how, step.
    pub shutdowns: &'a [(u64, How, usize)],
    /// Whether the socket ever had a peer.
    pub ever_connected: bool,
    /// Whether a socket of the run was ever bound at the call's address.
    pub was_bound: bool,
    /// Whether a call on this socket has reported ECONNRESET already.
    pub reset_reported: bool,
    /// Whether the peer's FIN has come to this socket (before this step).
    pub fin_received: bool,
    /// How the actors are kept to the run.
    pub confinement: crate::confine::Confinement,
    /// The connect this socket began at an earlier step (non-blocking,
    /// or blocking and parked), and its address: a later call may be the
    /// one that reports how it ended.
    pub connect: Option<(usize, Addr)>,
    /// Sockets (by inode) with IPV6_V6ONLY set.
    pub v6only: &'a std::collections::HashSet<u64>,
    /// Whether the run has a network namespace of its own.
    pub private: bool,
    /// The step at which a shutdown() aborted this socket's connect in
    /// progress.
    pub aborted: Option<usize>,
    /// The step at which a connect() left this socket unconnected
    /// (ECONNABORTED), if none has connected it since.
    pub disconnected: Option<usize>,
    /// The host each actor runs on; empty when the run has one.
    pub hosts: &'a [usize],
    /// The actor that made the call.
    pub actor: usize,
}

impl Context<'_> {
    /// In a run with hosts, the host an address is on: the caller's own for
    /// a loopback address, the one whose link address it is otherwise.
    fn answering_host(&self, a: &Addr) -> Option<Answered> {
        let own = *self.hosts.get(self.actor)?;
        let ip = a.ip()?;
        if ip.is_loopback() {
            return Some(Answered {
                host: own,
                loopback: true,
            });
        }
        crate::netns::host_with(ip, self.hosts.iter().max().map_or(0, |m| m + 1)).map(|host| {
            Answered {
                host,
                loopback: false,
            }
        })
    }

    /// The socket's kind, from the actor's facts or the view before.
    fn kind(&self) -> Option<Kind> {
        self.facts
            .and_then(|f| f.kind)
            .or(self.before.map(|s| s.kind))
            .or(self.fds.first().and_then(|s| s.kind))
    }

    fn listening(&self) -> bool {
        self.facts.is_some_and(|f| f.listening)
            || self.before.is_some_and(|s| s.state == State::Listen)
    }

    fn reset(&self) -> Option<&Reset> {
        let inode = self.inode?;
        self.resets.iter().rev().find(|r| r.inode == inode)
    }

    /// The last shutdown() of this socket that stopped it reading (`read`)
    /// or writing: its step and how.
    fn shut(&self, read: bool) -> Option<(usize, How)> {
        let inode = self.inode?;
        self.shutdowns
            .iter()
            .rev()
            .find(|(i, how, _)| {
                *i == inode
                    && match how {
                        How::RdWr => true,
                        How::Rd => read,
                        How::Wr => !read,
                    }
            })
            .map(|(_, how, step)| (*step, *how))
    }

    /// The sockets of both views, before first.
    fn sockets(&self) -> impl Iterator<Item = &Socket> {
        self.view_before.iter().chain(self.view_after)
    }

    /// Whether socket `s` is on the caller's host (always, in a run on one
    /// machine): addresses and ports are each host's own.
    fn here(&self, s: &Socket) -> bool {
        match (self.hosts.get(self.actor), s.holder.actor()) {
            (Some(mine), Some(a)) => self.hosts.get(a) == Some(mine),
            _ => true,
        }
    }

    /// In a run with hosts, whether `a` is on the link's prefixes and no
    /// host has it.
    fn nowhere_on_link(&self, a: &Addr) -> bool {
        let hosts = self.hosts.iter().max().map_or(0, |m| m + 1);
        hosts > 0
            && a.ip().is_some_and(|ip| {
                crate::netns::on_link(ip) && crate::netns::host_with(ip, hosts).is_none()
            })
    }

    /// The caller's host, in a run with hosts.
    fn own_host(&self) -> Option<usize> {
        self.hosts.get(self.actor).copied()
    }
}

/// Why a call gave what it gave, where that needs saying.
pub fn why(outcome: &Outcome, ctx: &Context) -> Option<Why> {
    match outcome {
        Outcome::Failed { errno } => Some(failed(*errno, ctx)),
        Outcome::Returned {
            ret: 0,
            data: Some(d),
            ..
        } if d.is_empty() => eof(ctx).map(Why::Eof),
        Outcome::Returned { ret, .. }
            if *ret > 0
                && ctx.kind().is_some_and(|k| k.is_stream())
                && matches!(ctx.call, Call::Recv { flags, .. } | Call::Recvfrom { flags, .. }
                    if flags.contains(&crate::call::MsgFlag::Trunc)) =>
        {
            let peek = matches!(ctx.call, Call::Recv { flags, .. } | Call::Recvfrom { flags, .. }
                if flags.contains(&crate::call::MsgFlag::Peek));
            Some(Why::Discarded { len: *ret, peek })
        }
        Outcome::Returned { ret, .. } if matches!(ctx.call, Call::Recv { len, .. } | Call::Recvfrom { len, .. } if (*len as i64) < *ret) =>
        {
            let (len, flags) = match ctx.call {
                Call::Recv { len, flags, .. } | Call::Recvfrom { len, flags, .. } => {
                    (*len, &flags[..])
                }
                _ => (0, &[][..]),
            };
            Some(Why::Truncated {
                len,
                size: *ret,
                peek: flags.contains(&crate::call::MsgFlag::Peek),
            })
        }
        Outcome::Returned {
            extra: Some(Extra::PrivilegedPort { start }),
            ..
        } => Some(Why::PrivilegedPort {
            port: ctx.call.addr().and_then(Addr::port).unwrap_or(0),
            start: *start,
            allowed: true,
        }),
        _ => None,
    }
}

/// What a 0 from recv, read or recvfrom means here.
fn eof(ctx: &Context) -> Option<Eof> {
    let len = match ctx.call {
        Call::Recv { len, .. } | Call::Recvfrom { len, .. } => *len,
        _ => return None,
    };
    if len == 0 {
        return Some(Eof::ZeroLength);
    }
    let kind = ctx.kind()?;
    if kind.ty == crate::call::SockType::Seqpacket {
        return Some(match ctx.shut(true) {
            Some((_, how)) => Eof::ShutReadOrRecord { how },
            None => Eof::RecordOrEnd,
        });
    }
    if !kind.is_stream() {
        // Shut down for reading, with nothing queued: reads return 0 at
        // once; else a datagram with no bytes was read.
        let queued = ctx.before.is_some_and(|s| s.recv_q > 0);
        return Some(match ctx.shut(true) {
            Some((_, how)) if !queued => Eof::ShutRead { how },
            _ => Eof::EmptyDatagram,
        });
    }
    if let Some((_, how)) = ctx.shut(true) {
        return Some(Eof::ShutRead { how });
    }
    if kind.is_unix() {
        return Some(Eof::PeerClosed);
    }
    let after = ctx.fds.first().and_then(|s| s.tcp_state);
    let before = ctx.before.map(|s| s.state);
    match (before, after, ctx.reset()) {
        (_, _, Some(r)) if r.after_fin => Some(Eof::PeerFin),
        _ if ctx.fin_received => Some(Eof::PeerFin),
        (_, Some(s), _) | (Some(s), _, _) if s.fin_received() => Some(Eof::PeerFin),
        (_, _, Some(_)) if ctx.reset_reported => Some(Eof::AfterReset),
        _ => None,
    }
}

/// Why EPIPE (or SIGPIPE): the socket cannot send.
pub fn epipe(ctx: &Context) -> Why {
    let unix = ctx.kind().is_some_and(|k| k.is_unix());
    // A unix stream's send fails for its other end being closed (or shut
    // for reading), whatever error its reads have pending.
    if let Some(r) = ctx.reset().filter(|_| !unix) {
        return Why::Reset {
            cause: r.cause,
            step: r.step,
            own: r.own,
            unix,
        };
    }
    if let Some((step, how)) = ctx.shut(false) {
        return Why::ShutWrite {
            step: Some(step),
            how,
        };
    }
    if ctx.listening() {
        return Why::Listening;
    }
    // A datagram sent to a path whose socket is shut down for reading.
    if let (Some(k), Some(a @ Addr::Unix(_))) = (ctx.kind(), ctx.call.addr())
        && k.is_unix()
        && !k.is_stream()
        && ctx.sockets().any(|s| {
            s.local.as_ref() == Some(a)
                && ctx
                    .shutdowns
                    .iter()
                    .any(|(i, how, _)| *i == s.inode && matches!(how, How::Rd | How::RdWr))
        })
    {
        return Why::PeerShutRead { stream: false };
    }
    match ctx.kind() {
        Some(k) if k.is_unix() && ctx.ever_connected => unix_peer(ctx, k),
        Some(k) if k.is_tcp() && !ctx.ever_connected => Why::NeverConnected,
        _ => Why::Unsettled,
    }
}

/// What became of a unix socket's peer: closed, or (for a stream) open
/// but shut down for reading.
fn unix_peer(ctx: &Context, k: Kind) -> Why {
    let peer = ctx.before.and_then(|s| s.peer_inode).filter(|i| *i != 0);
    let alive = peer.is_some_and(|i| ctx.view_after.iter().any(|s| s.inode == i));
    // SOCK_STREAM and SOCK_SEQPACKET have connections; SOCK_DGRAM has not.
    let stream = k.ty != crate::call::SockType::Dgram;
    if alive {
        Why::PeerShutRead { stream }
    } else {
        Why::PeerClosed { stream }
    }
}

/// The family of an address as a lesson writes it.
fn family(a: &Addr) -> Domain {
    match a {
        Addr::V4(_) => Domain::Inet,
        Addr::V6(_) => Domain::Inet6,
        Addr::Unix(_) => Domain::Unix,
    }
}

fn unspecified(a: &Addr) -> bool {
    match a {
        Addr::V4(a) => a.ip().is_unspecified(),
        Addr::V6(a) => a.ip().is_unspecified(),
        Addr::Unix(_) => false,
    }
}

/// Whether a socket bound at `held` takes the address `wanted` from a
/// socket of the same family: the same port, and the same address or
/// either one the wildcard.
/// Whether `s`, of the other IP family, holds the port of `wanted` across
/// families: an IPv6 socket bound to [::] without IPV6_V6ONLY takes the
/// port for IPv4 too; the IPv4 holder of a port keeps such a socket (one
/// that wants [::] without IPV6_V6ONLY) from it.
fn dual_stack_holds(ctx: &Context, s: &Socket, wanted: &Addr) -> bool {
    let Some(kind) = ctx.kind() else {
        return false;
    };
    let Some(held) = &s.local else {
        return false;
    };
    if s.kind.ty != kind.ty || held.port() != wanted.port() {
        return false;
    }
    let dual = |a: &Addr, inode: Option<u64>| {
        matches!(a, Addr::V6(v) if v.ip().is_unspecified())
            && inode.is_some_and(|i| i != 0 && !ctx.v6only.contains(&i))
    };
    // An IPv4-mapped address counts as the IPv4 address it is.
    match (held.canonical(), wanted.canonical()) {
        (h @ Addr::V6(_), Addr::V4(_)) => dual(&h, Some(s.inode)),
        (Addr::V4(_), w @ Addr::V6(_)) => dual(&w, ctx.inode),
        _ => false,
    }
}

fn overlaps(held: &Addr, wanted: &Addr) -> bool {
    family(held) == family(wanted)
        && held.port() == wanted.port()
        && (held == wanted || unspecified(held) || unspecified(wanted))
}

fn failed(errno: i32, ctx: &Context) -> Why {
    let call = ctx.call;
    let facts = ctx.facts.copied().unwrap_or_default();
    let kind = ctx.kind();
    let target = call.addr();
    // Where a refused connect was to: this call's, or the one this socket
    // began earlier, whose end this call reports.
    let refused_at = ctx
        .connect
        .as_ref()
        .map(|(_, a)| a)
        .or(target.filter(|_| matches!(call, Call::Connect { .. })));
    let mismatch = match (kind, target) {
        (Some(k), Some(a)) if k.domain != family(a) => Some(Why::FamilyMismatch {
            socket: k.domain,
            addr: family(a),
        }),
        _ => None,
    };
    match errno {
        libc::EBADF if !facts.open => Why::NotOpen,
        libc::ENOTSOCK => Why::NotSocket,
        libc::ECONNREFUSED => match (call, target) {
            (Call::Connect { .. }, Some(a @ Addr::Unix(_)))
                if kind.is_none_or(|k| k.is_stream()) =>
            {
                // A listener shut down for reading stays LISTEN, and
                // refuses.
                let shut_listener = ctx.sockets().find_map(|s| {
                    let step = ctx.shutdowns.iter().rev().find_map(|(i, how, step)| {
                        (*i == s.inode && matches!(how, How::Rd | How::RdWr)).then_some(*step)
                    })?;
                    (s.local.as_ref() == Some(a) && s.state == State::Listen)
                        .then(|| (s.clone(), step))
                });
                match shut_listener {
                    Some((s, step)) => Why::UnixRefused {
                        bound: Some(s),
                        was_bound: true,
                        stream: true,
                        shut: Some(step),
                    },
                    None => Why::UnixRefused {
                        bound: ctx
                            .sockets()
                            .find(|s| s.local.as_ref() == Some(a) && s.state != State::Listen)
                            .cloned(),
                        was_bound: ctx.was_bound,
                        stream: true,
                        shut: None,
                    },
                }
            }
            (_, _) if kind.is_some_and(|k| k.is_tcp()) => match refused_at {
                None => Why::Unsettled,
                Some(a) => Why::Refused {
                    answered: ctx.answering_host(a),
                    listener: {
                        let answered = ctx.answering_host(a);
                        ctx.sockets()
                            .find(|s| {
                                let elsewhere = answered.is_some_and(|h| {
                                    s.holder.actor().and_then(|x| ctx.hosts.get(x).copied())
                                        != Some(h.host)
                                });
                                s.kind.is_tcp()
                                    && s.state == State::Listen
                                    && s.local.as_ref().is_some_and(|l| {
                                        family(l) == family(a)
                                            && l.port() == a.port()
                                            && (!overlaps(l, a) || elsewhere)
                                    })
                            })
                            .cloned()
                    },
                    rst: ctx
                        .packets
                        .is_some_and(|ps| ps.iter().any(|p| p.has(RST) && p.src.same(a))),
                    bound: ctx
                        .sockets()
                        .find(|s| {
                            s.kind.is_tcp()
                                && s.peer.is_none()
                                && s.state == State::Close
                                && s.local.as_ref().is_some_and(|l| overlaps(l, a))
                        })
                        .cloned(),
                    earlier: ctx.connect.clone(),
                },
            },
            _ if kind.is_some_and(|k| k.is_udp()) => Why::PortUnreachable {
                seen: ctx.packets.is_some(),
            },
            (_, None) if kind.is_some_and(|k| k.is_unix()) && ctx.ever_connected => {
                Why::PeerClosed { stream: false }
            }
            _ if kind.is_some_and(|k| k.is_unix()) => Why::UnixRefused {
                bound: None,
                was_bound: ctx.was_bound,
                stream: kind.is_some_and(|k| k.is_stream()),
                shut: None,
            },
            _ => Why::Unsettled,
        },
        libc::ECONNABORTED
            if matches!(call, Call::Connect { .. })
                && facts.state == Some(State::Close)
                && ctx.ever_connected =>
        {
            Why::ConnectionOver {
                step: ctx.reset().and_then(|r| r.step),
            }
        }
        libc::ECONNABORTED
            if matches!(call, Call::Connect { .. })
                && facts.state == Some(State::Close)
                && ctx.connect.is_some() =>
        {
            Why::AttemptEnded {
                step: ctx.connect.as_ref().map_or(0, |(s, _)| *s),
            }
        }
        libc::ENOTCONN if ctx.disconnected.is_some() => Why::Disconnected {
            step: ctx.disconnected.unwrap_or(0),
        },
        libc::EISCONN if ctx.listening() => Why::Listening,
        libc::EISCONN if ctx.reset().is_some() || (ctx.ever_connected && !facts.connected) => {
            Why::ConnectsOnce {
                step: ctx.reset().and_then(|r| r.step),
            }
        }
        libc::EISCONN => Why::Connected {
            peer: ctx.before.and_then(|s| s.peer.clone()),
        },
        libc::EPIPE => epipe(ctx),
        libc::ECONNRESET if ctx.reset().is_none() && ctx.aborted.is_some() => Why::ConnectAborted {
            step: ctx.aborted.unwrap_or(0),
        },
        libc::ECONNRESET => {
            let unix = kind.is_some_and(|k| k.is_unix());
            match ctx.reset() {
                Some(r) => Why::Reset {
                    cause: r.cause,
                    step: r.step,
                    own: r.own,
                    unix,
                },
                // A unix stream's error has two causes; what was seen does
                // not say which.
                None if unix => Why::Reset {
                    cause: RstCause::Unknown,
                    step: None,
                    own: false,
                    unix,
                },
                None => Why::Unsettled,
            }
        }
        libc::ENOTCONN if ctx.listening() => Why::Listening,
        libc::ENOTCONN if ctx.reset().is_some() => epipe(ctx),
        libc::ENOTCONN if !ctx.ever_connected => Why::NeverConnected,
        libc::ENOTCONN if kind.is_some_and(|k| k.is_unix()) => Why::PeerClosed {
            stream: kind.is_some_and(|k| k.is_stream()),
        },
        libc::EINVAL | libc::EAFNOSUPPORT if mismatch.is_some() => {
            mismatch.unwrap_or(Why::Unsettled)
        }
        libc::EINVAL => match call {
            Call::Bind { .. } if facts.bound => Why::AlreadyBound {
                local: ctx.before.and_then(|s| s.local.clone()),
            },
            Call::Accept { .. } if !ctx.listening() => Why::NotListening,
            Call::Recv { flags, .. } | Call::Recvfrom { flags, .. }
                if flags.contains(&crate::call::MsgFlag::Oob)
                    && kind.is_some_and(|k| k.is_tcp()) =>
            {
                Why::NoUrgent {
                    connected: facts.connected,
                }
            }
            Call::Listen { .. } if facts.connected => Why::Connected {
                peer: ctx.before.and_then(|s| s.peer.clone()),
            },
            // A socket bound to a loopback address, sending off its host:
            // no packet from a loopback address may leave it.
            Call::Connect { .. } | Call::Sendto { .. }
                if ctx
                    .before
                    .and_then(|s| s.local.as_ref())
                    .and_then(Addr::ip)
                    .is_some_and(|ip| ip.is_loopback())
                    && target
                        .and_then(Addr::ip)
                        .is_some_and(|ip| !ip.is_loopback() && !ip.is_unspecified()) =>
            {
                Why::LoopbackSource {
                    local: ctx.before.and_then(|s| s.local.clone()),
                }
            }
            _ => Why::Unsettled,
        },
        libc::EADDRINUSE => match (call, target) {
            (Call::Bind { .. }, Some(Addr::Unix(_))) => Why::PathExists,
            (Call::Bind { .. }, Some(a)) => {
                // An IPv4-mapped IPv6 address is its IPv4 address: sockets
                // of either family may hold it.
                let held = |s: &&Socket| {
                    ctx.here(s)
                        && kind.is_some_and(|k| k.ty == s.kind.ty)
                        && s.local
                            .as_ref()
                            .is_some_and(|l| overlaps(&l.canonical(), &a.canonical()))
                };
                let mut by: Vec<Socket> = ctx.view_before.iter().filter(held).cloned().collect();
                let mut across = Vec::new();
                if by
                    .iter()
                    .any(|s| s.local.as_ref().is_some_and(|l| family(l) != family(a)))
                {
                    across.push(Across::Mapped);
                }
                let dual: Vec<Socket> = ctx
                    .view_before
                    .iter()
                    .filter(|s| ctx.here(s) && dual_stack_holds(ctx, s, a))
                    .cloned()
                    .collect();
                if !dual.is_empty() {
                    across.push(Across::DualStack);
                }
                by.extend(dual);
                Why::AddressHeld {
                    by,
                    reuse: facts.reuseaddr,
                    host: !ctx.private,
                    across,
                }
            }
            (Call::Listen { .. }, _) => {
                let local = ctx.before.and_then(|s| s.local.clone());
                Why::OtherListener {
                    by: ctx
                        .view_before
                        .iter()
                        .find(|s| {
                            ctx.here(s)
                                && s.state == State::Listen
                                && Some(s.kind) == kind
                                && match (&s.local, &local) {
                                    (Some(l), Some(m)) => overlaps(l, m),
                                    _ => false,
                                }
                        })
                        .cloned(),
                }
            }
            _ => Why::Unsettled,
        },
        libc::EHOSTUNREACH if target.is_some_and(|a| ctx.nowhere_on_link(a)) => Why::NoSuchHost {
            host: ctx.own_host(),
        },
        libc::EADDRNOTAVAIL => match (call, target) {
            (Call::Bind { .. }, _) => Why::NotLocal {
                host: ctx.own_host(),
                elsewhere: target.and_then(|a| ctx.answering_host(a)).map(|a| a.host),
            },
            (Call::Connect { .. }, Some(a)) => {
                let local = ctx.before.and_then(|s| s.local.clone());
                let by = ctx
                    .view_before
                    .iter()
                    .find(|s| {
                        ctx.here(s)
                            && s.peer.as_ref() == Some(a)
                            && s.local == local
                            && local.is_some()
                    })
                    .cloned();
                if by.is_some() {
                    Why::PairInUse { by }
                } else {
                    Why::Unsettled
                }
            }
            _ => Why::Unsettled,
        },
        libc::EAGAIN if facts.state == Some(State::SynSent) => Why::Handshaking {
            nonblocking: facts.nonblocking,
        },
        libc::EAGAIN
            if facts.rcvtimeo
                && !facts.nonblocking
                && (matches!(call, Call::Recv { flags, .. } | Call::Recvfrom { flags, .. }
                    if !flags.contains(&crate::call::MsgFlag::DontWait))
                    || matches!(call, Call::Accept { .. })) =>
        {
            Why::RecvTimeout
        }
        libc::EAGAIN
            if facts.sndtimeo
                && !facts.nonblocking
                && matches!(call, Call::Send { flags, .. } | Call::Sendto { flags, .. }
                    if !flags.contains(&crate::call::MsgFlag::DontWait)) =>
        {
            Why::SendTimeout
        }
        libc::EAGAIN => Why::WouldBlock {
            nonblocking: facts.nonblocking,
        },
        libc::EINPROGRESS => Why::InProgress,
        libc::EALREADY => Why::Already,
        libc::EOPNOTSUPP
            if matches!(call, Call::Listen { .. } | Call::Accept { .. })
                && kind.is_some_and(|k| !k.is_stream()) =>
        {
            Why::Datagram
        }
        libc::EDESTADDRREQ => Why::NoDestination,
        libc::ENOPROTOOPT => match (call, kind) {
            (Call::Setsockopt { opt, .. }, Some(k)) if !opt.fits(k) => Why::OtherLevel { kind: k },
            _ => Why::Unsettled,
        },
        libc::EACCES
            if matches!(
                ctx.confinement,
                crate::confine::Confinement::Landlock { .. }
            ) && (matches!(target, Some(Addr::Unix(_)))
                || matches!(call, Call::Unlink { .. })) =>
        {
            Why::OutsideRun
        }
        // Landlock's scope: an abstract name bound outside the run is not
        // reachable from it (on the host's network; in the run's own
        // namespace, only the run's names exist).
        libc::EPERM
            if matches!(
                ctx.confinement,
                crate::confine::Confinement::Landlock { scoped: true }
                    | crate::confine::Confinement::Chroot { scoped: true }
            ) && !ctx.private
                && matches!(target, Some(Addr::Unix(p)) if p.starts_with('@')) =>
        {
            Why::OutsideScope
        }
        libc::EACCES => match (call, facts.port_start, target.and_then(Addr::port)) {
            (Call::Bind { .. }, Some(start), Some(port)) if port != 0 && port < start => {
                Why::PrivilegedPort {
                    port,
                    start,
                    allowed: false,
                }
            }
            _ => Why::Unsettled,
        },
        libc::ENOENT
            if matches!(target, Some(Addr::Unix(_))) || matches!(call, Call::Unlink { .. }) =>
        {
            Why::NoSuchPath
        }
        libc::EMSGSIZE => Why::TooBig,
        libc::EPROTOTYPE => Why::WrongType,
        libc::ETIMEDOUT => Why::TimedOut,
        _ => Why::Unsettled,
    }
}
