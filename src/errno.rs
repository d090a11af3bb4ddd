//! Errno and signal names, and what an errno means for the call that got it.

use crate::call::{Addr, Call};

/// The errnos a socket lesson meets, by name.
pub const ERRNOS: &[(&str, i32)] = &[
    ("EACCES", libc::EACCES),
    ("EADDRINUSE", libc::EADDRINUSE),
    ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL),
    ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
    ("EAGAIN", libc::EAGAIN),
    ("EWOULDBLOCK", libc::EWOULDBLOCK),
    ("EALREADY", libc::EALREADY),
    ("EBADF", libc::EBADF),
    ("ECONNABORTED", libc::ECONNABORTED),
    ("ECONNREFUSED", libc::ECONNREFUSED),
    ("ECONNRESET", libc::ECONNRESET),
    ("EDESTADDRREQ", libc::EDESTADDRREQ),
    ("EFAULT", libc::EFAULT),
    ("EHOSTUNREACH", libc::EHOSTUNREACH),
    ("EINPROGRESS", libc::EINPROGRESS),
    ("EINTR", libc::EINTR),
    ("EINVAL", libc::EINVAL),
    ("EISCONN", libc::EISCONN),
    ("EMFILE", libc::EMFILE),
    ("EMSGSIZE", libc::EMSGSIZE),
    ("ENETUNREACH", libc::ENETUNREACH),
    ("ENOBUFS", libc::ENOBUFS),
    ("ENOENT", libc::ENOENT),
    ("ENOPROTOOPT", libc::ENOPROTOOPT),
    ("ENOTCONN", libc::ENOTCONN),
    ("ENOTSOCK", libc::ENOTSOCK),
    ("EOPNOTSUPP", libc::EOPNOTSUPP),
    ("EPERM", libc::EPERM),
    ("EPIPE", libc::EPIPE),
    ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
    ("EPROTOTYPE", libc::EPROTOTYPE),
    ("ETIMEDOUT", libc::ETIMEDOUT),
];

pub const SIGNALS: &[(&str, i32)] = &[
    ("SIGPIPE", libc::SIGPIPE),
    ("SIGKILL", libc::SIGKILL),
    ("SIGTERM", libc::SIGTERM),
    ("SIGSEGV", libc::SIGSEGV),
    ("SIGABRT", libc::SIGABRT),
    ("SIGINT", libc::SIGINT),
];

pub fn errno_name(errno: i32) -> String {
    ERRNOS
        .iter()
        .find(|(_, n)| *n == errno)
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| format!("{:?}", nix::errno::Errno::from_raw(errno)))
}

pub fn signal_name(signal: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == signal)
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| format!("signal {signal}"))
}

/// The C library's one-line description, as `perror` prints it.
pub fn errno_desc(errno: i32) -> &'static str {
    nix::errno::Errno::from_raw(errno).desc()
}

/// What `errno` means for `call`, in a plain line. `addr` formats an
/// address as the transcript shows it.
pub fn explain<F>(
    errno: i32,
    call: &Call<F>,
    fd: Option<i32>,
    addr: &dyn Fn(&Addr) -> String,
) -> String {
    let fd_text = fd
        .map(|fd| format!("fd {fd}"))
        .unwrap_or_else(|| "the fd".into());
    let target = match call {
        Call::Bind { addr: a, .. }
        | Call::Connect { addr: a, .. }
        | Call::Sendto { addr: a, .. } => Some(addr(a)),
        _ => None,
    };
    let target = target.as_deref().unwrap_or("that address");
    match (errno, call) {
        (
            libc::ECONNREFUSED,
            Call::Connect {
                addr: Addr::Unix(_),
                ..
            },
        ) => {
            format!("no socket is listening at {target}")
        }
        (libc::ECONNREFUSED, Call::Connect { .. }) => {
            format!("nothing is listening on {target}: the kernel answered the SYN with a RST")
        }
        (libc::ECONNREFUSED, _) => "an earlier datagram came back as ICMP port unreachable: \
             nothing listens on the peer's port"
            .into(),
        (
            libc::EADDRINUSE,
            Call::Bind {
                addr: Addr::Unix(_),
                ..
            },
        ) => format!("the path {target} already exists: unlink it before binding again"),
        (libc::EADDRINUSE, Call::Bind { .. }) => {
            format!("another socket holds {target}: a listener, or an old connection in TIME_WAIT")
        }
        (libc::EADDRINUSE, _) => "no free local address was left for this socket".into(),
        (libc::EADDRNOTAVAIL, _) => format!("{target} is not an address of this machine"),
        (libc::ECONNRESET, _) => {
            "the peer reset the connection: it closed with unread data, or it crashed".into()
        }
        (libc::EPIPE, _) => {
            "the connection can no longer send: it was reset, or shut down for writing".into()
        }
        (libc::EAGAIN, _) => "the call would have to wait, and it was told not to: a non-blocking socket, or MSG_DONTWAIT"
                .into(),
        (libc::EINPROGRESS, _) => {
            "the connection has started; poll for writable, then read SO_ERROR".into()
        }
        (libc::EBADF, _) => format!("{fd_text} is not open in this process"),
        (libc::ENOTSOCK, _) => format!("{fd_text} is open but is not a socket"),
        (libc::EINVAL, Call::Bind { .. }) => "the socket is already bound to an address".into(),
        (libc::EINVAL, Call::Accept { .. }) => {
            "the socket is not listening: call listen() before accept()".into()
        }
        (libc::EINVAL, Call::Listen { .. }) => "a socket that has connected cannot listen".into(),
        (libc::EINVAL, _) => "an argument does not fit this socket".into(),
        (libc::ENOTCONN, _) => "the socket is not connected to a peer".into(),
        (libc::EISCONN, _) => "the socket is already connected".into(),
        (libc::EOPNOTSUPP, Call::Listen { .. } | Call::Accept { .. }) => {
            "only stream sockets listen and accept; this one is a datagram socket".into()
        }
        (libc::EOPNOTSUPP, _) => "this kind of socket does not support the call".into(),
        (libc::EDESTADDRREQ, _) => {
            "the socket has no peer: connect it, or name the destination with sendto".into()
        }
        (libc::EAFNOSUPPORT, _) => {
            "the address family does not match the socket's (an IPv4 address on an IPv6 socket?)"
                .into()
        }
        (libc::EACCES, _) => "permission denied for this address".into(),
        (libc::ENOENT, _) => format!("no socket exists at {target}"),
        (libc::EMSGSIZE, _) => "the datagram is too large to send in one piece".into(),
        (libc::ENOPROTOOPT, _) => "this socket does not have that option".into(),
        _ => errno_desc(errno).to_string(),
    }
}
