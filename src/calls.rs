//! The table of calls: each call a lesson can make, described once. The
//! parser reads its name, how many arguments it takes and its signatures
//! from here; the book's reference is generated from it.

/// The calls, one variant each: the parser's dispatch matches on this, so
/// a call in the table that no code builds does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    Socket,
    Socketpair,
    Setsockopt,
    Getsockopt,
    Bind,
    Listen,
    Accept,
    Accept4,
    Connect,
    Send,
    Write,
    Recv,
    Read,
    Sendto,
    Recvfrom,
    Shutdown,
    Close,
    Getsockname,
    Getpeername,
    Fcntl,
    Poll,
    Select,
    Unlink,
    Fork,
}

/// What a call gives back when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// A new fd.
    Fd,
    /// Two new fds.
    TwoFds,
    /// A count of bytes.
    Count,
    /// 0.
    Zero,
    /// 0, and an address the kernel reports.
    Address,
    /// The fd's flags.
    Flags,
    /// How many fds are ready.
    Ready,
    /// The option's value.
    Value,
    /// The child's pid in the parent (0 in the child).
    Pid,
}

/// How many arguments the plain form takes (a C form is rewritten to it
/// first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(&'static [usize]),
    AtLeast(usize),
}

/// One call.
#[derive(Debug)]
pub struct Spec {
    pub name: Name,
    /// As a lesson writes it: `recv`.
    pub word: &'static str,
    /// The form sockstep writes.
    pub plain: &'static str,
    /// The form C writes (the man page's prototype); lessons may use it.
    pub c: &'static str,
    pub arity: Arity,
    pub returns: Returns,
    /// What a call that would block waits for: it parks there.
    pub parks: Option<&'static str>,
    /// A sentence for the reference.
    pub about: &'static str,
}

use Arity::*;
use Returns::*;

pub const CALLS: &[Spec] = &[
    Spec {
        name: Name::Socket,
        word: "socket",
        plain: "socket(domain, type, protocol)",
        c: "int socket(int domain, int type, int protocol);",
        arity: Exactly(&[3]),
        returns: Fd,
        parks: None,
        about: "A new endpoint: the lowest free fd.",
    },
    Spec {
        name: Name::Socketpair,
        word: "socketpair",
        plain: "a, b = socketpair(AF_UNIX, type, 0)",
        c: "int socketpair(int domain, int type, int protocol, int sv[2]);",
        arity: Exactly(&[3]),
        returns: TwoFds,
        parks: None,
        about: "Two unix sockets already connected to each other.",
    },
    Spec {
        name: Name::Setsockopt,
        word: "setsockopt",
        plain: "setsockopt(fd, level, option, value)",
        c: "int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);",
        arity: Exactly(&[4]),
        returns: Zero,
        parks: None,
        about: "Sets an option of the socket.",
    },
    Spec {
        name: Name::Getsockopt,
        word: "getsockopt",
        plain: "getsockopt(fd, SOL_SOCKET, SO_ERROR)",
        c: "int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);",
        arity: Exactly(&[3]),
        returns: Value,
        parks: None,
        about: "Reads the socket's pending error, and clears it.",
    },
    Spec {
        name: Name::Bind,
        word: "bind",
        plain: "bind(fd, address)",
        c: "int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);",
        arity: Exactly(&[2, 3]),
        returns: Zero,
        parks: None,
        about: "Gives the socket its local address.",
    },
    Spec {
        name: Name::Listen,
        word: "listen",
        plain: "listen(fd, backlog)",
        c: "int listen(int sockfd, int backlog);",
        arity: Exactly(&[2]),
        returns: Zero,
        parks: None,
        about: "Makes the socket a listener, with a queue of up to backlog finished connections.",
    },
    Spec {
        name: Name::Accept,
        word: "accept",
        plain: "accept(fd)",
        c: "int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
        arity: Exactly(&[1]),
        returns: Fd,
        parks: Some("a connection in the accept queue"),
        about: "Takes the first connection from the accept queue, as a new fd.",
    },
    Spec {
        name: Name::Accept4,
        word: "accept4",
        plain: "accept4(fd, flags)",
        c: "int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);",
        arity: Exactly(&[2]),
        returns: Fd,
        parks: Some("a connection in the accept queue"),
        about: "accept(), with SOCK_NONBLOCK or SOCK_CLOEXEC set on the new fd.",
    },
    Spec {
        name: Name::Connect,
        word: "connect",
        plain: "connect(fd, address)",
        c: "int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);",
        arity: Exactly(&[2]),
        returns: Zero,
        parks: Some("the handshake's end"),
        about: "Connects to the address (TCP: the handshake; UDP: the default peer).",
    },
    Spec {
        name: Name::Send,
        word: "send",
        plain: "send(fd, \"data\") or send(fd, \"data\", flags)",
        c: "ssize_t send(int sockfd, const void *buf, size_t len, int flags);",
        arity: Exactly(&[2, 3]),
        returns: Count,
        parks: Some("room in the send buffer"),
        about: "Queues the bytes to send; returns how many it took.",
    },
    Spec {
        name: Name::Write,
        word: "write",
        plain: "write(fd, \"data\")",
        c: "ssize_t write(int fd, const void *buf, size_t count);",
        arity: Exactly(&[2]),
        returns: Count,
        parks: Some("room in the send buffer"),
        about: "send() without flags, as for any file.",
    },
    Spec {
        name: Name::Recv,
        word: "recv",
        plain: "recv(fd, length) or recv(fd, length, flags)",
        c: "ssize_t recv(int sockfd, void *buf, size_t len, int flags);",
        arity: Exactly(&[2, 3]),
        returns: Count,
        parks: Some("data, or the end of the stream"),
        about: "Reads up to length bytes; 0 when the peer has closed its side.",
    },
    Spec {
        name: Name::Read,
        word: "read",
        plain: "read(fd, length)",
        c: "ssize_t read(int fd, void *buf, size_t count);",
        arity: Exactly(&[2]),
        returns: Count,
        parks: Some("data, or the end of the stream"),
        about: "recv() without flags, as for any file.",
    },
    Spec {
        name: Name::Sendto,
        word: "sendto",
        plain: "sendto(fd, \"data\", address) or sendto(fd, \"data\", flags, address)",
        c: "ssize_t sendto(int sockfd, const void *buf, size_t len, int flags, const struct sockaddr *dest_addr, socklen_t addrlen);",
        arity: Exactly(&[3, 4]),
        returns: Count,
        parks: Some("room in the send buffer"),
        about: "Sends a datagram to the address.",
    },
    Spec {
        name: Name::Recvfrom,
        word: "recvfrom",
        plain: "recvfrom(fd, length) or recvfrom(fd, length, flags)",
        c: "ssize_t recvfrom(int sockfd, void *buf, size_t len, int flags, struct sockaddr *src_addr, socklen_t *addrlen);",
        arity: Exactly(&[2, 3]),
        returns: Count,
        parks: Some("a datagram"),
        about: "Reads a datagram, and the address it came from.",
    },
    Spec {
        name: Name::Shutdown,
        word: "shutdown",
        plain: "shutdown(fd, how)",
        c: "int shutdown(int sockfd, int how);",
        arity: Exactly(&[2]),
        returns: Zero,
        parks: None,
        about: "Ends sending (SHUT_WR sends a FIN), receiving, or both, whatever other fds share the socket.",
    },
    Spec {
        name: Name::Close,
        word: "close",
        plain: "close(fd)",
        c: "int close(int fd);",
        arity: Exactly(&[1]),
        returns: Zero,
        parks: Some("SO_LINGER's time, for a lingering socket with data unsent"),
        about: "Releases the fd; the socket closes with the last fd that refers to it.",
    },
    Spec {
        name: Name::Getsockname,
        word: "getsockname",
        plain: "getsockname(fd)",
        c: "int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
        arity: Exactly(&[1]),
        returns: Address,
        parks: None,
        about: "The socket's local address.",
    },
    Spec {
        name: Name::Getpeername,
        word: "getpeername",
        plain: "getpeername(fd)",
        c: "int getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
        arity: Exactly(&[1]),
        returns: Address,
        parks: None,
        about: "The address of the connected peer.",
    },
    Spec {
        name: Name::Fcntl,
        word: "fcntl",
        plain: "fcntl(fd, F_SETFL, O_NONBLOCK), fcntl(fd, F_SETFL, 0) or fcntl(fd, F_GETFL)",
        c: "int fcntl(int fd, int cmd, ... /* arg */ );",
        arity: Exactly(&[2, 3]),
        returns: Flags,
        parks: None,
        about: "Makes the fd non-blocking (or blocking again), or reads its flags.",
    },
    Spec {
        name: Name::Poll,
        word: "poll",
        plain: "poll(fd, fd, ..., -1) to wait, or poll(fd, ..., 0) to look",
        c: "int poll(struct pollfd *fds, nfds_t nfds, int timeout);",
        arity: AtLeast(2),
        returns: Ready,
        parks: Some("one of the fds to be readable"),
        about: "Waits until one of the fds has something to read (or looks, with 0).",
    },
    Spec {
        name: Name::Select,
        word: "select",
        plain: "select(nfds, &readfds, &writefds, NULL, NULL) to wait, or with &tv (struct \
                timeval tv = {0, 0};) to look, after fd_set readfds; FD_ZERO(&readfds); \
                FD_SET(s, &readfds);",
        c: "int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, \
            struct timeval *timeout);",
        arity: Exactly(&[5]),
        returns: Ready,
        parks: Some("an fd of its sets to be ready"),
        about: "Waits until an fd below nfds is readable (read set) or writable (write set), \
                or looks with a zero timeout; FD_ZERO, FD_SET and FD_CLR fill the sets.",
    },
    Spec {
        name: Name::Unlink,
        word: "unlink",
        plain: "unlink(\"path\")",
        c: "int unlink(const char *pathname);",
        arity: Exactly(&[1]),
        returns: Zero,
        parks: None,
        about: "Removes a unix socket's path, inside the run's directory.",
    },
    Spec {
        name: Name::Fork,
        word: "fork",
        plain: "fork(worker): worker is the actor the child process becomes",
        c: "pid_t fork(void);",
        arity: Exactly(&[1]),
        returns: Pid,
        parks: None,
        about: "A child process with copies of every fd; the actor named takes its steps.",
    },
];

/// The call a lesson names.
pub fn find(word: &str) -> Option<&'static Spec> {
    CALLS.iter().find(|s| s.word == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_is_in_the_table_once_and_named_as_call_name_says() {
        for (i, s) in CALLS.iter().enumerate() {
            assert!(
                CALLS[i + 1..]
                    .iter()
                    .all(|t| t.word != s.word && t.name != s.name),
                "{} twice",
                s.word
            );
            assert!(s.c.contains(&format!("{}(", s.word)), "{}: {}", s.word, s.c);
            assert!(s.plain.contains(s.word) || s.word == "socketpair");
        }
    }
}
