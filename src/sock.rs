//! A socket as the kernel reports it: its kind, its state, who holds it,
//! its queues. These are facts; the words for them are in `render::words`.

use crate::call::{Addr, Domain, SockType};
use serde::{Deserialize, Serialize};

/// What kind of socket: its address family and type (TCP is an inet
/// stream socket, UDP an inet datagram socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Kind {
    pub domain: Domain,
    pub ty: SockType,
}

impl Kind {
    pub const TCP: Kind = Kind {
        domain: Domain::Inet,
        ty: SockType::Stream,
    };
    pub const TCP6: Kind = Kind {
        domain: Domain::Inet6,
        ty: SockType::Stream,
    };
    pub const UDP: Kind = Kind {
        domain: Domain::Inet,
        ty: SockType::Dgram,
    };
    pub const UDP6: Kind = Kind {
        domain: Domain::Inet6,
        ty: SockType::Dgram,
    };

    /// An inet stream socket: TCP, whose states RFC 9293 describes.
    pub fn is_tcp(self) -> bool {
        self.domain != Domain::Unix && self.ty == SockType::Stream
    }

    pub fn is_udp(self) -> bool {
        self.domain != Domain::Unix && self.ty == SockType::Dgram
    }

    pub fn is_unix(self) -> bool {
        self.domain == Domain::Unix
    }

    /// Whether the socket carries a byte stream (no message boundaries).
    pub fn is_stream(self) -> bool {
        self.ty == SockType::Stream
    }
}

/// A socket's state as the kernel names it. TCP sockets have the states
/// of `include/net/tcp_states.h`; UDP and unix sockets are `Unconn`,
/// `Established` (connected) or, for unix streams, `Listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum State {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    /// TCP_CLOSE: a new, bound, or finished socket.
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    /// A connection request not yet answered by the final ACK (the kernel
    /// keeps it as a light "request socket").
    NewSynRecv,
    /// A datagram or unix socket that is not connected.
    Unconn,
}

impl State {
    /// The state for the kernel's TCP state number.
    pub fn from_tcp(n: u8) -> Option<State> {
        Some(match n {
            1 => State::Established,
            2 => State::SynSent,
            3 => State::SynRecv,
            4 => State::FinWait1,
            5 => State::FinWait2,
            6 => State::TimeWait,
            7 => State::Close,
            8 => State::CloseWait,
            9 => State::LastAck,
            10 => State::Listen,
            11 => State::Closing,
            12 => State::NewSynRecv,
            _ => return None,
        })
    }

    /// The kernel's own name, as in `include/net/tcp_states.h` without
    /// the prefix, and as `/proc/net/tcp` users know it.
    pub fn kernel_name(self) -> &'static str {
        match self {
            State::Established => "ESTABLISHED",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::FinWait1 => "FIN_WAIT1",
            State::FinWait2 => "FIN_WAIT2",
            State::TimeWait => "TIME_WAIT",
            State::Close => "CLOSE",
            State::CloseWait => "CLOSE_WAIT",
            State::LastAck => "LAST_ACK",
            State::Listen => "LISTEN",
            State::Closing => "CLOSING",
            State::NewSynRecv => "NEW_SYN_RECV",
            State::Unconn => "UNCONN",
        }
    }

    /// The state RFC 9293 names for this kernel state.
    pub fn rfc(self) -> Rfc {
        match self {
            State::Established => Rfc::Established,
            State::SynSent => Rfc::SynSent,
            State::SynRecv | State::NewSynRecv => Rfc::SynReceived,
            State::FinWait1 => Rfc::FinWait1,
            State::FinWait2 => Rfc::FinWait2,
            State::TimeWait => Rfc::TimeWait,
            State::Close | State::Unconn => Rfc::Closed,
            State::CloseWait => Rfc::CloseWait,
            State::LastAck => Rfc::LastAck,
            State::Listen => Rfc::Listen,
            State::Closing => Rfc::Closing,
        }
    }

    /// Whether the kernel has received the peer's FIN on a socket in this
    /// state.
    pub fn fin_received(self) -> bool {
        matches!(
            self,
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait
        )
    }
}

/// The eleven states of RFC 9293's TCP state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rfc {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

/// An fd of an actor: which actor, which number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FdOf {
    pub actor: usize,
    pub fd: i32,
}

/// Who a socket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Holder {
    /// An open fd refers to it.
    Fd(FdOf),
    /// No fd yet: a connection in the accept queue of this listener.
    Queued { listener: FdOf },
    /// No fd any more: this fd referred to it until it was closed, and the
    /// kernel keeps the connection (FIN-WAIT, TIME-WAIT...).
    Closed(FdOf),
    /// The connection this fd had went on in a TIME-WAIT socket of the
    /// kernel's own; the fd still refers to its old socket, now CLOSED.
    Left(FdOf),
    /// No fd, and none of the run's fds is known to have held it.
    Nobody,
}

impl Holder {
    /// The fd that refers to the socket now, if any does.
    pub fn fd(self) -> Option<FdOf> {
        match self {
            Holder::Fd(f) => Some(f),
            _ => None,
        }
    }

    /// The actor the socket belongs to, with or without an fd.
    pub fn actor(self) -> Option<usize> {
        match self {
            Holder::Fd(f)
            | Holder::Closed(f)
            | Holder::Left(f)
            | Holder::Queued { listener: f } => Some(f.actor),
            Holder::Nobody => None,
        }
    }
}

/// A timer the kernel has armed on a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    /// Retransmission: of a SYN (in SYN-SENT) or of unacknowledged data.
    Retransmit,
    /// The zero-window probe (persist) timer.
    Probe,
    /// Keepalive, or the SYN-ACK timer of a connection request.
    KeepAlive,
    /// TIME-WAIT's 2 MSL timer.
    TimeWait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub kind: TimerKind,
    /// Milliseconds until it fires.
    pub expires_ms: u32,
    /// How many times the segment was sent again already.
    pub retransmits: u8,
}

/// One socket of the run as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socket {
    pub holder: Holder,
    /// 0 for a socket no fd refers to.
    pub inode: u64,
    pub kind: Kind,
    pub local: Option<Addr>,
    pub peer: Option<Addr>,
    pub state: State,
    /// Bytes to read; for a listener, connections in the accept queue.
    pub recv_q: u32,
    /// Bytes sent but not yet acknowledged; for a listener, its backlog.
    pub send_q: u32,
    /// A timer the kernel has armed on it (TIME-WAIT's, a SYN's).
    pub timer: Option<Timer>,
    /// For a connected unix socket: its peer's inode (as ss -x shows it).
    pub peer_inode: Option<u64>,
}

impl Socket {
    pub fn fd(&self) -> Option<FdOf> {
        self.holder.fd()
    }

    /// A TCP connection's bytes of data to read: the kernel's receive
    /// queue counts the peer's FIN too (one sequence number), until a read
    /// has reported the end of file.
    pub fn tcp_bytes_to_read(&self) -> u32 {
        let fin_in = matches!(
            self.state,
            State::CloseWait | State::LastAck | State::Closing
        );
        self.recv_q.saturating_sub(u32::from(fin_in))
    }

    /// Whether this is the same connection as `other` by its address pair
    /// (a socket's identity once no fd refers to it).
    pub fn same_pair(&self, other: &Socket) -> bool {
        self.kind == other.kind
            && self.local == other.local
            && self.peer == other.peer
            && self.peer.is_some()
    }
}
