//! The socket calls a lesson can make, shared by the lesson parser, the
//! engine and the actor processes that execute them.
//!
//! A call is generic over how it names a file descriptor: a lesson names fds
//! with [`FdRef`] (`s`, `c`, or a number), the engine resolves those names to
//! the actor's real fds before sending the call to the actor.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{SocketAddrV4, SocketAddrV6};

/// How a lesson refers to a file descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdRef {
    /// A name bound by an earlier step of the same actor (`s = socket(...)`).
    Name(String),
    /// A number written in the lesson (`close(3)`).
    Num(i32),
}

/// A socket address as a lesson writes it and as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Addr {
    V4(SocketAddrV4),
    V6(SocketAddrV6),
    /// A unix socket path; `""` for an unnamed socket, `@name` for the
    /// abstract namespace.
    Unix(String),
}

impl Addr {
    /// The IP address, for an IPv4 or IPv6 one.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Addr::V4(a) => Some(std::net::IpAddr::V4(*a.ip())),
            Addr::V6(a) => Some(std::net::IpAddr::V6(*a.ip())),
            Addr::Unix(_) => None,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            Addr::V4(a) => Some(a.port()),
            Addr::V6(a) => Some(a.port()),
            Addr::Unix(_) => None,
        }
    }

    /// The address as IPv4 packets carry it: an IPv4-mapped IPv6 address
    /// (`[::ffff:127.0.0.1]:8080`, how a dual-stack socket names an IPv4
    /// peer) is the IPv4 address it maps.
    pub fn canonical(&self) -> Addr {
        match self {
            Addr::V6(a) => match a.ip().to_ipv4_mapped() {
                Some(v4) => Addr::V4(SocketAddrV4::new(v4, a.port())),
                None => self.clone(),
            },
            other => other.clone(),
        }
    }

    /// Whether two addresses are one, IPv4-mapped or not.
    pub fn same(&self, other: &Addr) -> bool {
        self == other || self.canonical() == other.canonical()
    }

    pub fn with_port(&self, port: u16) -> Addr {
        match self {
            Addr::V4(a) => Addr::V4(SocketAddrV4::new(*a.ip(), port)),
            Addr::V6(a) => Addr::V6(SocketAddrV6::new(*a.ip(), port, 0, a.scope_id())),
            Addr::Unix(p) => Addr::Unix(p.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Domain {
    Inet,
    Inet6,
    Unix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SockType {
    Stream,
    Dgram,
    /// Connection-oriented, with message boundaries (unix sockets).
    Seqpacket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    Default,
    Tcp,
    Udp,
}

/// A socket option together with the level it lives at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SockOpt {
    ReuseAddr,
    ReusePort,
    RcvBuf,
    SndBuf,
    Linger,
    KeepAlive,
    Broadcast,
    TcpNoDelay,
    Ipv6V6Only,
    /// SO_RCVTIMEO: how long a blocking receive waits before EAGAIN.
    RcvTimeo,
    /// SO_SNDTIMEO: how long a blocking send waits for room.
    SndTimeo,
}

impl SockOpt {
    /// Whether a socket of kind `k` has this option at all: TCP's options
    /// are only TCP sockets', IPV6_V6ONLY only IPv6 sockets'.
    pub fn fits(self, k: crate::sock::Kind) -> bool {
        match self {
            SockOpt::TcpNoDelay => k.is_tcp(),
            SockOpt::Ipv6V6Only => k.domain == Domain::Inet6,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptValue {
    Int(i32),
    /// `struct linger { l_onoff, l_linger }`, written `{1, 0}`.
    Linger {
        on: i32,
        secs: i32,
    },
    /// `struct timeval { tv_sec, tv_usec }`, written `{1, 0}`.
    Time {
        secs: i64,
        usecs: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MsgFlag {
    NoSignal,
    Peek,
    DontWait,
    WaitAll,
    /// recv of a datagram: the datagram's whole length, even when it was
    /// longer than the buffer.
    Trunc,
    /// Out-of-band (TCP urgent) data.
    Oob,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum How {
    Rd,
    Wr,
    RdWr,
}

/// Flags or-ed into socket()'s type, or given to accept4(): the new fd's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeFlag {
    NonBlock,
    CloExec,
}

/// Which system call moves the bytes: `send`/`recv` or `write`/`read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    Socket,
    File,
}

/// One socket call with its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call<F> {
    Socket {
        domain: Domain,
        ty: SockType,
        protocol: Protocol,
        /// SOCK_NONBLOCK, SOCK_CLOEXEC.
        flags: Vec<TypeFlag>,
    },
    Setsockopt {
        fd: F,
        opt: SockOpt,
        value: OptValue,
    },
    Bind {
        fd: F,
        addr: Addr,
        /// `NO_HTONS`: the lesson's port went in without htons(), so its
        /// two bytes are swapped (the address holds the port the kernel
        /// got).
        raw: bool,
    },
    Listen {
        fd: F,
        backlog: i32,
    },
    Accept {
        fd: F,
        /// accept4()'s flags for the new fd; none: accept().
        flags: Vec<TypeFlag>,
    },
    Connect {
        fd: F,
        addr: Addr,
    },
    Send {
        fd: F,
        data: Vec<u8>,
        flags: Vec<MsgFlag>,
        via: Via,
    },
    Recv {
        fd: F,
        len: usize,
        flags: Vec<MsgFlag>,
        via: Via,
    },
    Sendto {
        fd: F,
        data: Vec<u8>,
        flags: Vec<MsgFlag>,
        addr: Addr,
    },
    Recvfrom {
        fd: F,
        len: usize,
        flags: Vec<MsgFlag>,
    },
    Shutdown {
        fd: F,
        how: How,
    },
    Close {
        fd: F,
    },
    Getsockname {
        fd: F,
    },
    Getpeername {
        fd: F,
    },
    /// `fcntl(fd, F_SETFL, O_NONBLOCK)` (`Some(true)`), `fcntl(fd,
    /// F_SETFL, 0)` (`Some(false)`), or `fcntl(fd, F_GETFL)` (`None`).
    Fcntl {
        fd: F,
        nonblock: Option<bool>,
    },
    /// `unlink("path")`: removes a unix socket's file.
    Unlink {
        path: String,
    },
    /// `poll(fd, fd, ..., -1)`: waits until one of the fds has something to
    /// read (POLLIN), or with 0 only looks.
    Poll {
        fds: Vec<F>,
        /// The events asked for, fd by fd (POLLIN, POLLOUT...).
        events: Vec<i16>,
        wait: bool,
        /// A traced program's timeout in milliseconds, when it is neither
        /// -1 (wait) nor 0 (look), the two a lesson writes.
        ms: Option<i32>,
    },
    /// `select(nfds, &readfds, &writefds, NULL, NULL)`: waits until an fd
    /// below `nfds` of the read set is readable, or one of the write set
    /// writable; with a zero timeout (`wait` false), only looks.
    Select {
        nfds: i32,
        read: Vec<F>,
        write: Vec<F>,
        wait: bool,
        /// A traced program's select() with a time limit: the limit in
        /// milliseconds (a lesson's select waits with NULL or looks).
        ms: Option<u32>,
    },
    /// `a, b = socketpair(AF_UNIX, SOCK_STREAM, 0)`: two connected sockets.
    Socketpair {
        ty: SockType,
    },
    /// `getsockopt(fd, SOL_SOCKET, SO_ERROR)`: the pending error, read and
    /// cleared (how a non-blocking connect tells how it ended).
    /// getsockopt of an option setsockopt takes.
    Getsockopt {
        fd: F,
        opt: SockOpt,
    },
    SoError {
        fd: F,
    },
    /// `fork(worker)`: the actor's process forks; the child, with copies of
    /// every fd, goes on as the actor `worker` (an index into the actors).
    Fork {
        child: usize,
    },
    /// A traced program's clone() of a thread, followed as the actor
    /// `child`: it shares its process's fds.
    Thread {
        child: usize,
    },
}

impl<F> Call<F> {
    /// The name the call has in C.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Socket { .. } => "socket",
            Call::Setsockopt { .. } => "setsockopt",
            Call::Bind { .. } => "bind",
            Call::Listen { .. } => "listen",
            Call::Accept { flags, .. } if !flags.is_empty() => "accept4",
            Call::Accept { .. } => "accept",
            Call::Connect { .. } => "connect",
            Call::Send {
                via: Via::Socket, ..
            } => "send",
            Call::Send { via: Via::File, .. } => "write",
            Call::Recv {
                via: Via::Socket, ..
            } => "recv",
            Call::Recv { via: Via::File, .. } => "read",
            Call::Sendto { .. } => "sendto",
            Call::Recvfrom { .. } => "recvfrom",
            Call::Shutdown { .. } => "shutdown",
            Call::Close { .. } => "close",
            Call::Getsockname { .. } => "getsockname",
            Call::Getpeername { .. } => "getpeername",
            Call::Fcntl { .. } => "fcntl",
            Call::Unlink { .. } => "unlink",
            Call::Poll { .. } => "poll",
            Call::Select { .. } => "select",
            Call::Socketpair { .. } => "socketpair",
            Call::SoError { .. } | Call::Getsockopt { .. } => "getsockopt",
            Call::Fork { .. } => "fork",
            Call::Thread { .. } => "clone",
        }
    }

    /// The fd the call works on, if it takes one.
    pub fn fd(&self) -> Option<&F> {
        match self {
            Call::Socket { .. }
            | Call::Unlink { .. }
            | Call::Socketpair { .. }
            | Call::Fork { .. }
            | Call::Thread { .. } => None,
            Call::Poll { fds, .. } => fds.first(),
            Call::Select { read, write, .. } => read.first().or(write.first()),
            Call::Setsockopt { fd, .. }
            | Call::Bind { fd, .. }
            | Call::Listen { fd, .. }
            | Call::Accept { fd, .. }
            | Call::Connect { fd, .. }
            | Call::Send { fd, .. }
            | Call::Recv { fd, .. }
            | Call::Sendto { fd, .. }
            | Call::Recvfrom { fd, .. }
            | Call::Shutdown { fd, .. }
            | Call::Close { fd }
            | Call::Getsockname { fd }
            | Call::Getpeername { fd }
            | Call::Fcntl { fd, .. }
            | Call::SoError { fd }
            | Call::Getsockopt { fd, .. } => Some(fd),
        }
    }

    /// Whether a successful call returns a new fd (and so may bind a name).
    pub fn returns_fd(&self) -> bool {
        matches!(
            self,
            Call::Socket { .. } | Call::Accept { .. } | Call::Socketpair { .. }
        )
    }

    /// Whether the call reads bytes, so that `=> "text"` can be expected of it.
    pub fn receives(&self) -> bool {
        matches!(self, Call::Recv { .. } | Call::Recvfrom { .. })
    }

    /// The same call with its fd mapped through `f`.
    pub fn map_fd<G, E>(&self, mut f: impl FnMut(&F) -> Result<G, E>) -> Result<Call<G>, E> {
        Ok(match self {
            Call::Socket {
                domain,
                ty,
                protocol,
                flags,
            } => Call::Socket {
                domain: *domain,
                ty: *ty,
                protocol: *protocol,
                flags: flags.clone(),
            },
            Call::Setsockopt { fd, opt, value } => Call::Setsockopt {
                fd: f(fd)?,
                opt: *opt,
                value: *value,
            },
            Call::Bind { fd, addr, raw } => Call::Bind {
                fd: f(fd)?,
                addr: addr.clone(),
                raw: *raw,
            },
            Call::Listen { fd, backlog } => Call::Listen {
                fd: f(fd)?,
                backlog: *backlog,
            },
            Call::Accept { fd, flags } => Call::Accept {
                fd: f(fd)?,
                flags: flags.clone(),
            },
            Call::Connect { fd, addr } => Call::Connect {
                fd: f(fd)?,
                addr: addr.clone(),
            },
            Call::Send {
                fd,
                data,
                flags,
                via,
            } => Call::Send {
                fd: f(fd)?,
                data: data.clone(),
                flags: flags.clone(),
                via: *via,
            },
            Call::Recv {
                fd,
                len,
                flags,
                via,
            } => Call::Recv {
                fd: f(fd)?,
                len: *len,
                flags: flags.clone(),
                via: *via,
            },
            Call::Sendto {
                fd,
                data,
                flags,
                addr,
            } => Call::Sendto {
                fd: f(fd)?,
                data: data.clone(),
                flags: flags.clone(),
                addr: addr.clone(),
            },
            Call::Recvfrom { fd, len, flags } => Call::Recvfrom {
                fd: f(fd)?,
                len: *len,
                flags: flags.clone(),
            },
            Call::Shutdown { fd, how } => Call::Shutdown {
                fd: f(fd)?,
                how: *how,
            },
            Call::Close { fd } => Call::Close { fd: f(fd)? },
            Call::Getsockname { fd } => Call::Getsockname { fd: f(fd)? },
            Call::Getpeername { fd } => Call::Getpeername { fd: f(fd)? },
            Call::Fcntl { fd, nonblock } => Call::Fcntl {
                fd: f(fd)?,
                nonblock: *nonblock,
            },
            Call::Unlink { path } => Call::Unlink { path: path.clone() },
            Call::Socketpair { ty } => Call::Socketpair { ty: *ty },
            Call::SoError { fd } => Call::SoError { fd: f(fd)? },
            Call::Getsockopt { fd, opt } => Call::Getsockopt {
                fd: f(fd)?,
                opt: *opt,
            },
            Call::Fork { child } => Call::Fork { child: *child },
            Call::Thread { child } => Call::Thread { child: *child },
            Call::Poll {
                fds,
                events,
                wait,
                ms,
            } => Call::Poll {
                fds: fds.iter().map(&mut f).collect::<Result<_, _>>()?,
                events: events.clone(),
                wait: *wait,
                ms: *ms,
            },
            Call::Select {
                nfds,
                read,
                write,
                wait,
                ms,
            } => Call::Select {
                nfds: *nfds,
                read: read.iter().map(&mut f).collect::<Result<_, _>>()?,
                write: write.iter().map(&mut f).collect::<Result<_, _>>()?,
                wait: *wait,
                ms: *ms,
            },
        })
    }

    /// The address the call names (bind's, connect's, sendto's).
    pub fn addr(&self) -> Option<&Addr> {
        match self {
            Call::Bind { addr, .. } | Call::Connect { addr, .. } | Call::Sendto { addr, .. } => {
                Some(addr)
            }
            _ => None,
        }
    }

    /// The addresses written in the call, for port remapping.
    pub fn addr_mut(&mut self) -> Option<&mut Addr> {
        match self {
            Call::Bind { addr, .. } | Call::Connect { addr, .. } | Call::Sendto { addr, .. } => {
                Some(addr)
            }
            _ => None,
        }
    }
}

/// Names of constants as C spells them. One table serves the parser (name to
/// value) and the renderers (value to name).
pub mod names {
    use super::*;

    pub const DOMAINS: &[(&str, Domain)] = &[
        ("AF_INET", Domain::Inet),
        ("AF_INET6", Domain::Inet6),
        ("AF_UNIX", Domain::Unix),
        ("AF_LOCAL", Domain::Unix),
        ("PF_INET", Domain::Inet),
        ("PF_INET6", Domain::Inet6),
        ("PF_UNIX", Domain::Unix),
    ];
    pub const TYPES: &[(&str, SockType)] = &[
        ("SOCK_STREAM", SockType::Stream),
        ("SOCK_DGRAM", SockType::Dgram),
        ("SOCK_SEQPACKET", SockType::Seqpacket),
    ];
    pub const PROTOCOLS: &[(&str, Protocol)] = &[
        ("0", Protocol::Default),
        ("IPPROTO_TCP", Protocol::Tcp),
        ("IPPROTO_UDP", Protocol::Udp),
    ];
    pub const LEVELS: &[&str] = &["SOL_SOCKET", "IPPROTO_TCP", "IPPROTO_IPV6"];
    /// Each option with the level it belongs to.
    pub const OPTS: &[(&str, &str, SockOpt)] = &[
        ("SO_REUSEADDR", "SOL_SOCKET", SockOpt::ReuseAddr),
        ("SO_REUSEPORT", "SOL_SOCKET", SockOpt::ReusePort),
        ("SO_RCVBUF", "SOL_SOCKET", SockOpt::RcvBuf),
        ("SO_SNDBUF", "SOL_SOCKET", SockOpt::SndBuf),
        ("SO_LINGER", "SOL_SOCKET", SockOpt::Linger),
        ("SO_KEEPALIVE", "SOL_SOCKET", SockOpt::KeepAlive),
        ("SO_BROADCAST", "SOL_SOCKET", SockOpt::Broadcast),
        ("TCP_NODELAY", "IPPROTO_TCP", SockOpt::TcpNoDelay),
        ("IPV6_V6ONLY", "IPPROTO_IPV6", SockOpt::Ipv6V6Only),
        ("SO_RCVTIMEO", "SOL_SOCKET", SockOpt::RcvTimeo),
        ("SO_SNDTIMEO", "SOL_SOCKET", SockOpt::SndTimeo),
    ];
    pub const FLAGS: &[(&str, MsgFlag)] = &[
        ("MSG_NOSIGNAL", MsgFlag::NoSignal),
        ("MSG_PEEK", MsgFlag::Peek),
        ("MSG_DONTWAIT", MsgFlag::DontWait),
        ("MSG_WAITALL", MsgFlag::WaitAll),
        ("MSG_TRUNC", MsgFlag::Trunc),
        ("MSG_OOB", MsgFlag::Oob),
    ];
    pub const TYPE_FLAGS: &[(&str, TypeFlag)] = &[
        ("SOCK_NONBLOCK", TypeFlag::NonBlock),
        ("SOCK_CLOEXEC", TypeFlag::CloExec),
    ];
    /// Events poll() can ask for and report.
    pub const POLL_EVENTS: &[(&str, i16)] = &[
        ("POLLIN", libc::POLLIN),
        ("POLLOUT", libc::POLLOUT),
        ("POLLPRI", libc::POLLPRI),
        ("POLLRDHUP", libc::POLLRDHUP),
        ("POLLHUP", libc::POLLHUP),
        ("POLLERR", libc::POLLERR),
        ("POLLNVAL", libc::POLLNVAL),
    ];
    pub const HOWS: &[(&str, How)] = &[
        ("SHUT_RD", How::Rd),
        ("SHUT_WR", How::Wr),
        ("SHUT_RDWR", How::RdWr),
    ];

    /// The first name in `table` for `value`.
    pub fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], value: T) -> &'static str {
        table
            .iter()
            .find(|(_, v)| *v == value)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    pub fn opt(opt: SockOpt) -> (&'static str, &'static str) {
        OPTS.iter()
            .find(|(_, _, o)| *o == opt)
            .map(|(n, l, _)| (*l, *n))
            .unwrap_or(("?", "?"))
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::V4(a) => write!(f, "{a}"),
            Addr::V6(a) => write!(f, "[{}]:{}", a.ip(), a.port()),
            Addr::Unix(p) if p.is_empty() => f.write_str("(unnamed)"),
            Addr::Unix(p) => write!(f, "\"{p}\""),
        }
    }
}
