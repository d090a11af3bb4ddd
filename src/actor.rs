//! The child processes: an actor makes a lesson's calls, the hub holds the
//! run's network namespace.
//!
//! An actor makes each call as the real syscall, but never blocks: before a
//! call that could wait (accept, connect, recv, read, send, write...) on a
//! blocking socket it asks the kernel, with `poll` and a zero timeout or a
//! non-blocking attempt, whether the call can complete now. If not, it parks
//! the call and tells the engine, which asks again (`Retry`) after each
//! later step, or lets a timer the kernel armed fire (`WaitTimer`).
//! A socket the lesson itself made non-blocking gets the plain call, EAGAIN
//! and EINPROGRESS included.
//!
//! To stay non-blocking an actor makes calls a C program would not: poll
//! and fcntl around accept, connect, read and write, and a second connect
//! to learn how a connect in progress ended. strace shows them.

pub(crate) mod sys;

use crate::call::{
    Addr, Call, Domain, How, MsgFlag, OptValue, Protocol, SockOpt, SockType, TypeFlag, Via,
};
use crate::wire::{self, Done, Extra, Reply, Request, WaitKind};
use nix::errno::Errno;
use nix::sys::socket::{
    self as sock, AddressFamily, MsgFlags, SockFlag, SockaddrLike, SockaddrStorage,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};
use sys::{
    closed_fd, closing, fcntl, fd_facts, fd_state, nonblocking, poll_fds, ready, to_addr,
    with_nonblock,
};

/// Where this actor's control channel and /proc handle sit: the top of its
/// fd range, above any fd a lesson's calls get. Calls that name them get
/// EBADF, as they would in a C program, where they are not open.
static CTL_FD: AtomicI32 = AtomicI32::new(-1);
static PROC_FD: AtomicI32 = AtomicI32::new(-1);

/// Where this actor's handle on /proc is (-1 before it is set up).
pub fn proc_fd() -> i32 {
    PROC_FD.load(Relaxed)
}

/// Whether `fd` is sockstep's own, not the lesson's.
fn hidden(fd: i32) -> bool {
    fd == CTL_FD.load(Relaxed) || fd == PROC_FD.load(Relaxed)
}

/// An actor, just forked by the hub: puts its channel at `ctl_fd` and the
/// hub's /proc handle at `proc_fd`, closes every other fd (so the first
/// socket a lesson makes is 3, as in C), confines itself to the run's
/// directory, and serves the engine. Returns the exit code.
pub fn actor_child(channel: OwnedFd, proc: RawFd, ctl_fd: i32, proc_fd: i32, host: bool) -> i32 {
    // SAFETY: dup2 onto fds this process does not use; the originals are
    // closed below with everything else the hub had open.
    unsafe {
        if libc::dup2(channel.as_raw_fd(), ctl_fd) < 0 || libc::dup2(proc, proc_fd) < 0 {
            return 1;
        }
        libc::fcntl(ctl_fd, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(proc_fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    std::mem::forget(channel);
    let (low, high) = (ctl_fd.min(proc_fd), ctl_fd.max(proc_fd));
    // SAFETY: close_range only closes descriptors; the hub's are copies.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3, (low - 1).max(2) as u32, 0);
        if high - low > 1 {
            libc::syscall(
                libc::SYS_close_range,
                (low + 1) as u32,
                (high - 1) as u32,
                0,
            );
        }
        libc::syscall(libc::SYS_close_range, (high + 1) as u32, u32::MAX, 0);
    }
    CTL_FD.store(ctl_fd, Relaxed);
    PROC_FD.store(proc_fd, Relaxed);
    // The hub blocks SIGCHLD for its signalfd; a C program starts with
    // nothing blocked.
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
    // A C program dies of SIGPIPE when it writes to a reset connection; so
    // does an actor (Rust programs ignore SIGPIPE unless told otherwise).
    // SAFETY: restoring a default disposition has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // A child an actor forks stays a zombie when it exits, as a C server's
    // does until it waits for it: its exit status is read there. When the
    // parent ends, the run's init (the hub) takes and reaps it.
    // SAFETY: the channel is at ctl_fd, and nothing else owns it.
    let mut ctl = unsafe { UnixStream::from_raw_fd(ctl_fd) };
    if let Err(e) = crate::confine::actor(host) {
        let _ = wire::send(&mut ctl, &Reply::SetupFailed(e));
        return 1;
    }
    if wire::send(&mut ctl, &Reply::Ready).is_err() {
        return 1;
    }
    serve(ctl)
}

/// The actor's loop: makes the calls the engine sends, until it says exit.
fn serve(mut ctl: UnixStream) -> i32 {
    let mut parked: Option<Pending> = None;
    loop {
        // The engine's next request often comes within microseconds.
        let spin = std::time::Duration::from_micros(300);
        let Ok((Some(req), fd)) = wire::recv_any::<Request>(&mut ctl, spin) else {
            return 0;
        };
        let reply = match req {
            Request::Call(call) => match start(&call) {
                Progress::Done(done) => Reply::Done(done),
                Progress::Parked(p) => {
                    let kind = p.wait_kind();
                    parked = Some(p);
                    // What the kernel says of the fd while the call waits
                    // (a connect has a local port already).
                    let fds = call.fd().map(|fd| vec![fd_state(*fd)]).unwrap_or_default();
                    Reply::Parked(kind, fds)
                }
            },
            Request::Retry => retry(&mut parked, None),
            Request::WaitTimer { ms } => retry(&mut parked, Some(ms)),
            Request::Exit => {
                let open = open_fds().into_iter().map(|fd| (fd, closing(fd))).collect();
                let _ = wire::send(&mut ctl, &Reply::Exiting(open));
                return 0;
            }
            Request::Fork => match fd {
                Some(channel) => match fork_actor(channel) {
                    // The child: its new channel is in place of the
                    // parent's; it says it is ready, and goes on.
                    Forked::Child(new) => {
                        // The parent's channel went with the dup2.
                        std::mem::forget(ctl);
                        ctl = new;
                        parked = None;
                        Reply::Ready
                    }
                    Forked::Parent(done, pidfd) => {
                        let sent = match &pidfd {
                            Some(p) => wire::send_fd(&ctl, &Reply::Done(done), p.as_raw_fd()),
                            None => wire::send(&mut ctl, &Reply::Done(done)),
                        };
                        if sent.is_err() {
                            return 1;
                        }
                        continue;
                    }
                },
                None => Reply::Done(result(Err(Errno::EINVAL))),
            },
            _ => Reply::NoSocket(libc::EINVAL),
        };
        if wire::send(&mut ctl, &reply).is_err() {
            return 1;
        }
    }
}

/// Asks the parked call again, after letting a timer of `wait` ms fire.
fn retry(parked: &mut Option<Pending>, wait: Option<u32>) -> Reply {
    let Some(p) = parked.take() else {
        return Reply::StillParked;
    };
    let before = p.wait_kind();
    let progress = match wait {
        Some(ms) => p.wait(ms),
        None => p.retry(),
    };
    match progress {
        Progress::Done(done) => Reply::Done(done),
        Progress::Parked(p) => {
            let after = p.wait_kind();
            *parked = Some(p);
            if after == before {
                Reply::StillParked
            } else {
                Reply::Progressed(after)
            }
        }
    }
}

/// The fds the lesson's calls left open (read through the /proc handle,
/// which a confined actor keeps).
fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = sys::proc_dir("self/fd")
        .map(|names| names.iter().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    // The listing's own fd is gone by now: keep what is still open.
    fds.retain(|&fd| fd > 2 && !hidden(fd) && sys::is_open(fd));
    fds.sort();
    fds
}

enum Progress {
    Done(Done),
    Parked(Pending),
}

/// A call the actor is parked in.
enum Pending {
    Accept {
        fd: i32,
        flags: i32,
    },
    /// `got`: what a MSG_WAITALL receive has gathered so far.
    Recv {
        call: Call<i32>,
        got: Vec<u8>,
    },
    Send {
        call: Call<i32>,
        sent: usize,
    },
    /// A non-blocking connect is in progress: wait for writable, then
    /// connect again for the result.
    Connect {
        fd: i32,
        addr: Addr,
    },
    /// A unix-socket connect said EAGAIN: the listener's queue is full.
    ConnectAgain {
        fd: i32,
        addr: Addr,
    },
    /// close() of a lingering socket whose data is not yet acknowledged:
    /// the call is made in a thread of its own, where the kernel holds it
    /// (the fd leaves the table at once, as in a C program); its result
    /// comes through `done`.
    Close {
        fd: i32,
        secs: i32,
        closing: Option<crate::wire::Closing>,
        done: std::sync::mpsc::Receiver<nix::Result<()>>,
    },
    Poll {
        fds: Vec<i32>,
        events: Vec<i16>,
    },
    Select {
        nfds: i32,
        read: Vec<i32>,
        write: Vec<i32>,
    },
}

impl Pending {
    fn wait_kind(&self) -> WaitKind {
        match self {
            Pending::Accept { .. } => WaitKind::Connection,
            // A send or recv on a socket whose connect is in progress
            // waits for the handshake first.
            Pending::Recv { call, .. } | Pending::Send { call, .. }
                if call
                    .fd()
                    .is_some_and(|fd| sys::tcp_state(*fd) == Some(crate::sock::State::SynSent)) =>
            {
                WaitKind::Handshake
            }
            Pending::Recv { got, .. } => WaitKind::Data { got: got.len() },
            Pending::Close { secs, .. } => WaitKind::Linger { secs: *secs },
            Pending::Poll { .. } | Pending::Select { .. } => WaitKind::Ready,
            Pending::Send { sent, .. } => WaitKind::Room { sent: *sent },
            Pending::Connect { .. } => WaitKind::Handshake,
            Pending::ConnectAgain { .. } => WaitKind::Backlog,
        }
    }

    fn retry(self) -> Progress {
        match self {
            Pending::Accept { fd, flags } => accept(fd, flags, true),
            Pending::Recv { call, got } => recv(&call, got, true),
            Pending::Close {
                fd,
                secs,
                closing,
                done,
            } => match done.try_recv() {
                Err(std::sync::mpsc::TryRecvError::Empty) => Progress::Parked(Pending::Close {
                    fd,
                    secs,
                    closing,
                    done,
                }),
                r => closed(fd, closing, r.unwrap_or(Err(Errno::EIO))),
            },
            Pending::Poll { fds, events } => poll(&fds, &events, true),
            Pending::Select { nfds, read, write } => select(nfds, &read, &write, true, 0),
            Pending::Send { call, sent } => send_rest(call, sent),
            Pending::Connect { fd, addr } => connect_finish(fd, &addr),
            Pending::ConnectAgain { fd, addr } => connect(fd, &addr),
        }
    }

    /// Lets a timer of `ms` milliseconds fire: waits for the call's fd to
    /// be ready that long at most, then asks again. A lingering close is
    /// made for real: the kernel holds it until the data is acknowledged
    /// or the linger time runs out.
    fn wait(self, ms: u32) -> Progress {
        if let Pending::Close {
            fd,
            secs,
            closing,
            done,
        } = self
        {
            let waited = std::time::Duration::from_millis(u64::from(ms));
            return match done.recv_timeout(waited) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    Progress::Parked(Pending::Close {
                        fd,
                        secs,
                        closing,
                        done,
                    })
                }
                r => closed(fd, closing, r.unwrap_or(Err(Errno::EIO))),
            };
        }
        // A send that waits for the handshake waits in the kernel, as a
        // C program's would: the kernel then sends the handshake's last
        // ACK with the data.
        if let Pending::Send { call, sent } = &self
            && call
                .fd()
                .is_some_and(|fd| sys::tcp_state(*fd) == Some(crate::sock::State::SynSent))
        {
            let (call, sent) = (call.clone(), *sent);
            return send_in_handshake(call, sent, ms);
        }
        // SO_SNDTIMEO: the rest of the send is made as C makes it,
        // blocking; the kernel ends it when the time runs out (with the
        // count sent, or EAGAIN if it sent nothing).
        if let Pending::Send { call, sent } = &self
            && call
                .fd()
                .is_some_and(|fd| sys::sndtimeo(*fd).is_ok_and(|t| t != (0, 0)))
        {
            let (call, sent) = (call.clone(), *sent);
            return send_timed(call, sent);
        }
        // SO_RCVTIMEO: the receive is made as C makes it, blocking; the
        // kernel ends it with EAGAIN when the time runs out.
        if let Pending::Recv { call, got } = &self
            && got.is_empty()
            && call
                .fd()
                .is_some_and(|fd| sys::rcvtimeo(*fd).is_ok_and(|t| t != (0, 0)))
        {
            return recv_timed(call);
        }
        // accept() waits under SO_RCVTIMEO too.
        if let Pending::Accept { fd, flags } = &self
            && sys::rcvtimeo(*fd).is_ok_and(|t| t != (0, 0))
        {
            let (fd, flags) = (*fd, *flags);
            let mut done = accepted(fd, sys::accept(fd, flags));
            done.facts = Some(sys::fd_facts(fd));
            return Progress::Done(done);
        }
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let (fds, events): (Vec<i32>, libc::c_short) = match &self {
            Pending::Close { .. } => return self.retry(),
            Pending::Accept { fd, .. } => (vec![*fd], libc::POLLIN),
            Pending::Recv { call, .. } => (
                call.fd().into_iter().copied().collect(),
                libc::POLLIN | libc::POLLRDHUP,
            ),
            Pending::Send { call, .. } => (call.fd().into_iter().copied().collect(), libc::POLLOUT),
            Pending::Connect { fd, .. } | Pending::ConnectAgain { fd, .. } => {
                (vec![*fd], libc::POLLOUT)
            }
            Pending::Poll { fds, events } => {
                let _ = sys::poll_each(fds, events, ms);
                return self.retry();
            }
            Pending::Select { nfds, read, write } => {
                return select(*nfds, read, write, true, ms.max(0) as u32);
            }
        };
        let _ = poll_fds(&fds, events, ms);
        self.retry()
    }
}

/// Makes `call`, or parks it if it would block.
fn start(call: &Call<i32>) -> Progress {
    if call.fd().is_some_and(|fd| hidden(*fd)) {
        // sockstep's own fds are not the lesson's: they are not open there.
        let mut done = result(Err(Errno::EBADF));
        done.facts = Some(crate::wire::FdFacts::default());
        return Progress::Done(done);
    }
    let progress = match call {
        Call::Accept { fd, flags } => accept(*fd, accept_flags(flags), false),
        Call::Connect { fd, addr } => connect(*fd, addr),
        Call::Recv { .. } | Call::Recvfrom { .. } => recv(call, Vec::new(), false),
        Call::Poll {
            fds, events, wait, ..
        } => poll(fds, events, *wait),
        Call::Select {
            nfds,
            read,
            write,
            wait,
            ..
        } => select(*nfds, read, write, *wait, 0),
        Call::Close { fd } => close(*fd),
        Call::Send { .. } | Call::Sendto { .. } => send_rest(call.clone(), 0),
        _ => Progress::Done(immediate(call)),
    };
    match progress {
        // What the kernel says of the fd, to tell the errno's cause.
        Progress::Done(mut done) if done.errno.is_some() && done.facts.is_none() => {
            if let Some(fd) = call.fd() {
                let mut facts = fd_facts(*fd);
                if let Call::Bind { .. } = call {
                    facts.port_start = sys::unprivileged_port_start();
                }
                done.facts = Some(facts);
            }
            Progress::Done(done)
        }
        other => other,
    }
}

fn result(r: nix::Result<i64>) -> Done {
    let (ret, errno) = match r {
        Ok(ret) => (ret, None),
        Err(e) => (-1, Some(e as i32)),
    };
    Done {
        ret,
        errno,
        data: None,
        addr: None,
        fds: Vec::new(),
        extra: None,
        facts: None,
        inq: None,
    }
}

/// Calls that never wait.
fn immediate(call: &Call<i32>) -> Done {
    let mut done = match call {
        Call::Socket {
            domain,
            ty,
            protocol,
            flags,
        } => {
            let family = match domain {
                Domain::Inet => AddressFamily::Inet,
                Domain::Inet6 => AddressFamily::Inet6,
                Domain::Unix => AddressFamily::Unix,
            };
            let proto = match protocol {
                Protocol::Default => None,
                Protocol::Tcp => Some(sock::SockProtocol::Tcp),
                Protocol::Udp => Some(sock::SockProtocol::Udp),
            };
            let flags = SockFlag::from_bits_truncate(accept_flags(flags));
            let r = sock::socket(family, sock_type(*ty), flags, proto).map(|fd| {
                use std::os::fd::IntoRawFd;
                i64::from(fd.into_raw_fd())
            });
            let mut done = result(r);
            if done.errno.is_none() {
                done.fds.push(fd_state(done.ret as i32));
            }
            return done;
        }
        Call::Setsockopt { fd, opt, value } => result(setsockopt(*fd, *opt, *value).map(|()| 0)),
        Call::Bind { fd, addr, .. } => {
            let mut done = result(sys::bind(*fd, addr).map(|()| 0));
            // A port below ip_unprivileged_port_start bound all the same:
            // this process has the privilege.
            if done.errno.is_none()
                && let Some(port) = addr.port().filter(|p| *p != 0)
                && let Some(start) = sys::unprivileged_port_start()
                && port < start
            {
                done.extra = Some(Extra::PrivilegedPort { start });
            }
            done
        }
        Call::Listen { fd, backlog } => {
            // SAFETY: listen takes two integers; a bad fd gives EBADF.
            result(Errno::result(unsafe { libc::listen(*fd, *backlog) }).map(|_| 0))
        }
        Call::Shutdown { fd, how } => {
            let how = match how {
                How::Rd => sock::Shutdown::Read,
                How::Wr => sock::Shutdown::Write,
                How::RdWr => sock::Shutdown::Both,
            };
            result(sock::shutdown(*fd, how).map(|()| 0))
        }
        Call::Close { fd } => {
            let closing = closing(*fd);
            // SAFETY: closing a raw fd the lesson names; Rust owns none of them.
            let r = Errno::result(unsafe { libc::close(*fd) }).map(|_| 0);
            let mut done = result(r);
            if done.errno.is_none() {
                done.extra = closing.map(Extra::Closed);
            }
            done.fds.push(closed_fd(*fd));
            return done;
        }
        Call::Getsockname { fd } | Call::Getpeername { fd } => {
            let r = match call {
                Call::Getsockname { .. } => sock::getsockname::<SockaddrStorage>(*fd),
                _ => sock::getpeername::<SockaddrStorage>(*fd),
            };
            let addr = r.as_ref().ok().and_then(to_addr);
            Done {
                addr,
                ..result(r.map(|_| 0))
            }
        }
        Call::Fcntl { fd, nonblock } => {
            let r = match nonblock {
                None => fcntl(*fd, libc::F_GETFL).map(i64::from),
                Some(on) => fcntl(*fd, libc::F_GETFL).and_then(|fl| {
                    let fl = if *on {
                        fl | libc::O_NONBLOCK
                    } else {
                        fl & !libc::O_NONBLOCK
                    };
                    // SAFETY: F_SETFL takes an int of flags.
                    Errno::result(unsafe { libc::fcntl(*fd, libc::F_SETFL, fl) }).map(i64::from)
                }),
            };
            result(r)
        }
        Call::Unlink { path } => return result(nix::unistd::unlink(path.as_str()).map(|()| 0)),
        Call::Getsockopt { fd, opt } => {
            let r = getsockopt(*fd, *opt);
            let mut done = result(r.as_ref().map(|_| 0).map_err(|e| *e));
            done.extra = r.ok().map(Extra::Opt);
            done
        }
        Call::SoError { fd } => {
            let mut v: i32 = 0;
            let mut len = size_of::<i32>() as libc::socklen_t;
            // SAFETY: v and len are valid for the kernel to write an int.
            let r = unsafe {
                libc::getsockopt(
                    *fd,
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    (&mut v as *mut i32).cast(),
                    &mut len,
                )
            };
            let mut done = result(Errno::result(r).map(i64::from));
            if r == 0 {
                done.extra = Some(Extra::SoError(v));
            }
            done
        }
        Call::Socketpair { ty } => {
            use std::os::fd::IntoRawFd;
            return match sock::socketpair(
                AddressFamily::Unix,
                sock_type(*ty),
                None,
                SockFlag::empty(),
            ) {
                Ok((a, b)) => {
                    let (a, b) = (a.into_raw_fd(), b.into_raw_fd());
                    let mut done = result(Ok(0));
                    done.fds = vec![fd_state(a), fd_state(b)];
                    done
                }
                Err(e) => result(Err(e)),
            };
        }
        // Calls that can wait go through start(); fork through the loop.
        Call::Accept { .. }
        | Call::Connect { .. }
        | Call::Recv { .. }
        | Call::Recvfrom { .. }
        | Call::Send { .. }
        | Call::Sendto { .. }
        | Call::Poll { .. }
        | Call::Select { .. }
        | Call::Fork { .. }
        | Call::Thread { .. } => result(Err(Errno::EINVAL)),
    };
    if let Some(fd) = call.fd() {
        done.fds.push(fd_state(*fd));
    }
    done
}

/// accept4()'s flags.
fn accept_flags(flags: &[TypeFlag]) -> i32 {
    flags.iter().fold(0, |acc, f| {
        acc | match f {
            TypeFlag::NonBlock => libc::SOCK_NONBLOCK,
            TypeFlag::CloExec => libc::SOCK_CLOEXEC,
        }
    })
}

fn sock_type(ty: SockType) -> sock::SockType {
    match ty {
        SockType::Stream => sock::SockType::Stream,
        SockType::Dgram => sock::SockType::Datagram,
        SockType::Seqpacket => sock::SockType::SeqPacket,
    }
}

/// getsockopt() of an option setsockopt takes: the value the kernel
/// reports (SO_RCVBUF doubled, say).
fn getsockopt(fd: i32, opt: SockOpt) -> nix::Result<OptValue> {
    let (level, name) = opt_name(opt);
    if opt == SockOpt::Linger {
        return sys::get_linger(fd).map(|(on, secs)| OptValue::Linger { on, secs });
    }
    if opt == SockOpt::RcvTimeo {
        return sys::rcvtimeo(fd).map(|(secs, usecs)| OptValue::Time { secs, usecs });
    }
    if opt == SockOpt::SndTimeo {
        return sys::sndtimeo(fd).map(|(secs, usecs)| OptValue::Time { secs, usecs });
    }
    let mut v: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the kernel to write an int.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    Errno::result(r).map(|_| OptValue::Int(v))
}

pub(crate) fn opt_name(opt: SockOpt) -> (i32, i32) {
    match opt {
        SockOpt::ReuseAddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        SockOpt::ReusePort => (libc::SOL_SOCKET, libc::SO_REUSEPORT),
        SockOpt::RcvBuf => (libc::SOL_SOCKET, libc::SO_RCVBUF),
        SockOpt::SndBuf => (libc::SOL_SOCKET, libc::SO_SNDBUF),
        SockOpt::Linger => (libc::SOL_SOCKET, libc::SO_LINGER),
        SockOpt::KeepAlive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        SockOpt::Broadcast => (libc::SOL_SOCKET, libc::SO_BROADCAST),
        SockOpt::TcpNoDelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
        SockOpt::Ipv6V6Only => (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
        SockOpt::RcvTimeo => (libc::SOL_SOCKET, libc::SO_RCVTIMEO),
        SockOpt::SndTimeo => (libc::SOL_SOCKET, libc::SO_SNDTIMEO),
    }
}

fn setsockopt(fd: i32, opt: SockOpt, value: OptValue) -> nix::Result<()> {
    let (level, name) = opt_name(opt);
    // The fd may be anything the lesson wrote (closed, -1): nix's typed
    // setsockopt wants a borrowed fd, so the raw call is made.
    match value {
        OptValue::Int(v) => sys::set_struct(fd, level, name, v),
        OptValue::Time { secs, usecs } => sys::set_struct(
            fd,
            level,
            name,
            libc::timeval {
                tv_sec: secs,
                tv_usec: usecs,
            },
        ),
        OptValue::Linger { on, secs } => sys::set_struct(
            fd,
            level,
            name,
            libc::linger {
                l_onoff: on,
                l_linger: secs,
            },
        ),
    }
}

/// `retry`: the call was parked before, so `poll` is asked first and no
/// syscall is repeated while nothing has changed. A first attempt is the
/// real call, made non-blocking, so errors come back as they would in C.
fn accept(fd: i32, flags: i32, retry: bool) -> Progress {
    let blocking = !nonblocking(fd);
    if blocking && retry && ready(fd, libc::POLLIN) == 0 {
        return Progress::Parked(Pending::Accept { fd, flags });
    }
    let r = if blocking {
        with_nonblock(fd, || sys::accept(fd, flags))
    } else {
        sys::accept(fd, flags)
    };
    match r {
        Err(Errno::EAGAIN) if blocking => Progress::Parked(Pending::Accept { fd, flags }),
        r => Progress::Done(accepted(fd, r)),
    }
}

/// What accept() on `fd` gave: the new fd with the peer it reports.
fn accepted(fd: i32, r: nix::Result<(i32, Option<Addr>)>) -> Done {
    let peer = r.as_ref().ok().and_then(|(_, peer)| peer.clone());
    let mut done = result(r.map(|(new, _)| i64::from(new)));
    done.fds.push(fd_state(fd));
    if done.errno.is_none() {
        done.fds.push(fd_state(done.ret as i32));
    }
    done.extra = peer.map(Extra::Accepted);
    done
}

fn connect(fd: i32, addr: &Addr) -> Progress {
    let finish = |r: nix::Result<()>| {
        let mut done = result(r.map(|()| 0));
        done.fds.push(fd_state(fd));
        Progress::Done(done)
    };
    if nonblocking(fd) {
        return finish(sys::connect(fd, addr));
    }
    match with_nonblock(fd, || sys::connect(fd, addr)) {
        // A blocking connect waits for a handshake in progress, whether it
        // started it (EINPROGRESS) or an earlier call did (EALREADY).
        Err(Errno::EINPROGRESS | Errno::EALREADY) => connect_finish(fd, addr),
        Err(Errno::EAGAIN) => Progress::Parked(Pending::ConnectAgain {
            fd,
            addr: addr.clone(),
        }),
        r => finish(r),
    }
}

/// A connect in progress: once the socket is writable, a second connect
/// gives the result exactly as a blocking connect would have returned it
/// (reading SO_ERROR instead would consume the error and leave the socket
/// in a different state).
fn connect_finish(fd: i32, addr: &Addr) -> Progress {
    if ready(fd, libc::POLLOUT) == 0 {
        return Progress::Parked(Pending::Connect {
            fd,
            addr: addr.clone(),
        });
    }
    let r = match with_nonblock(fd, || sys::connect(fd, addr)) {
        Err(Errno::EISCONN) => Ok(()),
        r => r,
    };
    let mut done = result(r.map(|()| 0));
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

pub(crate) fn msg_flags(flags: &[MsgFlag]) -> MsgFlags {
    flags.iter().fold(MsgFlags::empty(), |acc, f| {
        acc | match f {
            MsgFlag::NoSignal => MsgFlags::MSG_NOSIGNAL,
            MsgFlag::Peek => MsgFlags::MSG_PEEK,
            MsgFlag::DontWait => MsgFlags::MSG_DONTWAIT,
            MsgFlag::WaitAll => MsgFlags::MSG_WAITALL,
            MsgFlag::Trunc => MsgFlags::MSG_TRUNC,
            MsgFlag::Oob => MsgFlags::MSG_OOB,
        }
    })
}

/// The fd, length, flags and system call of a receiving call.
fn receiving(call: &Call<i32>) -> Option<(i32, usize, &[MsgFlag], Via)> {
    match call {
        Call::Recv {
            fd,
            len,
            flags,
            via,
        } => Some((*fd, *len, flags.as_slice(), *via)),
        Call::Recvfrom { fd, len, flags } => Some((*fd, *len, flags.as_slice(), Via::Socket)),
        _ => None,
    }
}

/// A blocking receive on a socket with SO_RCVTIMEO: it returns what
/// arrives, or EAGAIN when the kernel's timer ends the wait.
fn recv_timed(call: &Call<i32>) -> Progress {
    let Some((fd, len, flags, via)) = receiving(call) else {
        return Progress::Done(result(Err(Errno::EINVAL)));
    };
    let mut buf = vec![0u8; len];
    let mut from = None;
    let r = match (call, via) {
        (Call::Recvfrom { .. }, _) => recvfrom(fd, &mut buf, msg_flags(flags)).map(|(n, a)| {
            from = a;
            n
        }),
        (_, Via::Socket) => sock::recv(fd, &mut buf, msg_flags(flags)),
        // SAFETY: buf is valid for len bytes.
        (_, Via::File) => Errno::result(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) })
            .map(|n| n as usize),
    };
    let mut done = result(r.map(|n| n as i64));
    if let Some(n) = done.errno.is_none().then_some(done.ret as usize) {
        buf.truncate(n);
        done.data = Some(buf);
        done.addr = from;
    }
    done.facts = Some(sys::fd_facts(fd));
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

fn recv(call: &Call<i32>, got: Vec<u8>, retry: bool) -> Progress {
    let Some((fd, len, flags, via)) = receiving(call) else {
        return Progress::Done(result(Err(Errno::EINVAL)));
    };
    // Whether the call would block: asked of the kernel only where it
    // matters (the receive itself is made without waiting either way).
    let blocking = || !flags.contains(&MsgFlag::DontWait) && !nonblocking(fd);
    let park = |got| {
        Progress::Parked(Pending::Recv {
            call: call.clone(),
            got,
        })
    };
    if retry && blocking() && ready(fd, libc::POLLIN | libc::POLLRDHUP) == 0 {
        return park(got);
    }
    if flags.contains(&MsgFlag::WaitAll) && blocking() {
        return recv_all(call, fd, len, flags, got);
    }
    let mut buf = vec![0u8; len];
    let mut from = None;
    let r = match (call, via) {
        (Call::Recvfrom { .. }, _) => {
            recvfrom(fd, &mut buf, msg_flags(flags) | MsgFlags::MSG_DONTWAIT).map(|(n, a)| {
                from = a;
                n
            })
        }
        (_, Via::Socket) => sock::recv(fd, &mut buf, msg_flags(flags) | MsgFlags::MSG_DONTWAIT),
        // read() has no flags: a blocking socket is made non-blocking for
        // the one call, as accept's is.
        (_, Via::File) => with_nonblock(fd, || {
            // SAFETY: buf is valid for len bytes.
            Errno::result(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) })
                .map(|n| n as usize)
        }),
    };
    if r == Err(Errno::EAGAIN) && blocking() {
        // A datagram socket shut down for reading: a blocking read that
        // finds nothing returns 0 at once (a non-blocking one, EAGAIN).
        let shut = ready(fd, libc::POLLIN | libc::POLLRDHUP) & libc::POLLRDHUP != 0;
        if !(shut && sys::kind(fd).is_some_and(|k| !k.is_stream())) {
            return park(got);
        }
        let mut done = result(Ok(0));
        done.data = Some(Vec::new());
        done.fds.push(fd_state(fd));
        return Progress::Done(done);
    }
    let mut done = result(r.map(|n| n as i64));
    // TCP's MSG_TRUNC discards the bytes without copying them.
    let discarded = flags.contains(&MsgFlag::Trunc) && sys::kind(fd).is_some_and(|k| k.is_stream());
    if let Some(n) = done.errno.is_none().then_some(done.ret as usize) {
        buf.truncate(n);
        done.data = (!discarded).then_some(buf);
        done.addr = from;
    }
    let st = fd_state(fd);
    // What is left to read, so that a step that moved no packet need not
    // read every socket of the run again. At TCP's urgent mark SIOCINQ
    // says 0 whatever follows it: the tables are read instead.
    if st.kind.is_some_and(|k| k.is_tcp()) && !sys::at_mark(fd) {
        done.inq = Some(sys::inq(fd));
    }
    done.fds.push(st);
    Progress::Done(done)
}

/// A blocking MSG_WAITALL receive: gathers what arrives, as the kernel does,
/// until `len` bytes, end of file or an error.
fn recv_all(
    call: &Call<i32>,
    fd: i32,
    len: usize,
    flags: &[MsgFlag],
    mut got: Vec<u8>,
) -> Progress {
    let flags = (msg_flags(flags) - MsgFlags::MSG_WAITALL) | MsgFlags::MSG_DONTWAIT;
    let mut buf = vec![0u8; len - got.len()];
    let r = loop {
        if got.len() == len {
            break Ok(());
        }
        // A blocking MSG_WAITALL that has gathered part of its data and
        // finds nothing more, but an error, returns what it has and leaves
        // the error for the next call.
        if !got.is_empty() && sys::inq(fd) == 0 && ready(fd, libc::POLLIN) & libc::POLLERR != 0 {
            break Ok(());
        }
        match sock::recv(fd, &mut buf[..len - got.len()], flags) {
            Ok(0) => break Ok(()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => {
                return Progress::Parked(Pending::Recv {
                    call: call.clone(),
                    got,
                });
            }
            Err(_) if !got.is_empty() => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let mut done = result(r.map(|()| got.len() as i64));
    if done.errno.is_none() {
        done.data = Some(got);
    }
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

/// recvfrom with flags (nix's recvfrom takes none): bytes and sender.
fn recvfrom(fd: i32, buf: &mut [u8], flags: MsgFlags) -> nix::Result<(usize, Option<Addr>)> {
    // SAFETY: buf, the sockaddr_storage and its length are valid for the
    // kernel to write into.
    unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let mut sl = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let ptr = (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
        let r = libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags.bits(),
            ptr,
            &mut sl,
        );
        Errno::result(r).map(|n| {
            let from = SockaddrStorage::from_raw(ptr, Some(sl));
            (n as usize, from.as_ref().and_then(to_addr))
        })
    }
}

/// poll() on `fds` for their `events`. A blocking poll is made with a zero
/// timeout and parked when nothing is ready, as every waiting call is.
fn poll(fds: &[i32], events: &[i16], wait: bool) -> Progress {
    let r = sys::poll_each(fds, events, 0);
    let n = r
        .as_ref()
        .map(|ev| ev.iter().filter(|e| **e != 0).count())
        .unwrap_or(0);
    if n == 0 && wait && r.is_ok() {
        return Progress::Parked(Pending::Poll {
            fds: fds.to_vec(),
            events: events.to_vec(),
        });
    }
    let mut done = result(r.as_ref().map(|_| n as i64).map_err(|e| *e));
    if let Ok(events) = r {
        let ready: Vec<(i32, i16)> = fds
            .iter()
            .zip(events)
            .filter(|(_, e)| *e != 0)
            .map(|(fd, e)| (*fd, e))
            .collect();
        done.extra = Some(Extra::Poll(ready));
    }
    Progress::Done(done)
}

/// select() on the read and write sets. A blocking select is made looking
/// (or, while a timer is let fire, waiting `ms` at most) and parked when
/// nothing is ready, as every waiting call is. Its result lists the fds
/// select left in the sets, as POLLIN (read set) and POLLOUT (write set).
fn select(nfds: i32, read: &[i32], write: &[i32], wait: bool, ms: u32) -> Progress {
    let r = sys::select(nfds, read, write, ms);
    if wait && matches!(r, Ok((0, _, _))) {
        return Progress::Parked(Pending::Select {
            nfds,
            read: read.to_vec(),
            write: write.to_vec(),
        });
    }
    let mut done = result(r.as_ref().map(|(n, _, _)| i64::from(*n)).map_err(|e| *e));
    if let Ok((_, r, w)) = r {
        let mut ready: Vec<(i32, i16)> = Vec::new();
        for (fds, bit) in [(r, libc::POLLIN), (w, libc::POLLOUT)] {
            for fd in fds {
                match ready.iter_mut().find(|(f, _)| *f == fd) {
                    Some((_, ev)) => *ev |= bit,
                    None => ready.push((fd, bit)),
                }
            }
        }
        ready.sort();
        done.extra = Some(Extra::Poll(ready));
    }
    Progress::Done(done)
}

/// What fork() left in each process.
enum Forked {
    /// In the child: its new control channel.
    Child(UnixStream),
    /// In the parent: the result (the child's pid), and a pidfd for the
    /// child that goes to the engine with it.
    Parent(Done, Option<OwnedFd>),
}

/// fork(): the child takes `channel` as its control channel, in place of
/// the parent's.
fn fork_actor(channel: OwnedFd) -> Forked {
    // SAFETY: an actor is single-threaded but for a lingering close's
    // thread, which is inside close(); the child only rearranges fds before
    // it goes on.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let ctl_fd = CTL_FD.load(Relaxed);
            // SAFETY: dup2 onto the control fd, whose old channel (the
            // parent's) this process must not keep. As in life, the child
            // outlives its parent; it ends when the engine closes its
            // channel, or with the run.
            unsafe {
                libc::dup2(channel.as_raw_fd(), ctl_fd);
            }
            drop(channel);
            crate::confine::forked();
            // SAFETY: the channel is at ctl_fd now, owned by nothing else.
            Forked::Child(unsafe { UnixStream::from_raw_fd(ctl_fd) })
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(channel);
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
            let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
            // SAFETY: the kernel just gave this process a new fd.
            let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd as i32) });
            Forked::Parent(result(Ok(i64::from(child.as_raw()))), pidfd)
        }
        Err(e) => Forked::Parent(result(Err(e)), None),
    }
}

/// SO_LINGER's time, when close() on `fd` would wait: the option is on
/// with a timeout, sent data is not yet acknowledged (SIOCOUTQ), and the
/// connection is one close() sends a FIN on, or has sent it on already
/// (a reset connection closes at once).
fn lingering(fd: i32) -> Option<i32> {
    use crate::sock::State;
    let open = matches!(
        sys::tcp_state(fd),
        Some(
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        )
    );
    match sys::linger(fd) {
        Some((_, secs)) if secs > 0 && open && sys::unacked(fd) > 0 => Some(secs),
        _ => None,
    }
}

/// close(): a lingering socket's close is made in a thread, where the
/// kernel holds it until the data is acknowledged or the time runs out;
/// the actor parks until it returns.
fn close(fd: i32) -> Progress {
    let Some(secs) = lingering(fd) else {
        return Progress::Done(immediate(&Call::Close { fd }));
    };
    let facts = closing(fd);
    let (tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: closing a raw fd the lesson names; Rust owns none of them.
        let r = Errno::result(unsafe { libc::close(fd) }).map(drop);
        let _ = tx.send(r);
    });
    // The fd leaves the process's table as soon as the call starts: wait
    // for that (microseconds), so what is reported is what the kernel has.
    while sys::is_open(fd) {
        std::thread::yield_now();
    }
    Progress::Parked(Pending::Close {
        fd,
        secs,
        closing: facts,
        done,
    })
}

/// The result of a close made in a thread.
fn closed(fd: i32, closing: Option<crate::wire::Closing>, r: nix::Result<()>) -> Progress {
    let mut done = result(r.map(|()| 0));
    if done.errno.is_none() {
        done.extra = closing.map(Extra::Closed);
    }
    done.fds.push(closed_fd(fd));
    Progress::Done(done)
}

/// The fd, bytes and flags of a sending call.
fn sending(call: &Call<i32>) -> Option<(i32, &[u8], &[MsgFlag])> {
    match call {
        Call::Send {
            fd, data, flags, ..
        }
        | Call::Sendto {
            fd, data, flags, ..
        } => Some((*fd, data.as_slice(), flags.as_slice())),
        _ => None,
    }
}

/// Sends what is left of `call`'s data after `sent` bytes, as a blocking
/// send does: it returns once every byte is queued, or on an error.
fn send_rest(call: Call<i32>, sent: usize) -> Progress {
    let Some((fd, data, flags)) = sending(&call) else {
        return Progress::Done(result(Err(Errno::EINVAL)));
    };
    // Whether the call would block: asked of the kernel only where it
    // matters (the send itself is made without waiting either way).
    let blocking_now = || !flags.contains(&MsgFlag::DontWait) && !nonblocking(fd);
    let mut known: Option<bool> = None;
    let mut blocking = || *known.get_or_insert_with(blocking_now);
    // A blocking send that has moved part of its data and is woken by an
    // error or a hang-up returns what it moved: the error stays for the
    // next call, and no SIGPIPE comes (the kernel signals only a send that
    // moved nothing).
    if sent > 0 {
        let revents = ready(fd, libc::POLLOUT);
        if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            let mut done = result(Ok(sent as i64));
            done.fds.push(fd_state(fd));
            return Progress::Done(done);
        }
        if blocking() && revents == 0 {
            return Progress::Parked(Pending::Send { call, sent });
        }
    }
    let first = sent == 0;
    let mut sent = sent;
    let outcome = loop {
        let rest = &data[sent..];
        // Once some data is moved, a failure does not signal.
        let quiet = if sent > 0 || !first {
            MsgFlags::MSG_NOSIGNAL
        } else {
            MsgFlags::empty()
        };
        let r = match &call {
            Call::Sendto { addr, .. } => sys::sendto(
                fd,
                rest,
                (msg_flags(flags) | MsgFlags::MSG_DONTWAIT | quiet).bits(),
                addr,
            ),
            Call::Send {
                via: Via::Socket, ..
            } => sock::send(fd, rest, msg_flags(flags) | MsgFlags::MSG_DONTWAIT | quiet),
            // write() takes no flags: on a socket it is send() with none.
            _ if !quiet.is_empty() => sock::send(fd, rest, MsgFlags::MSG_DONTWAIT | quiet),
            _ => with_nonblock(fd, || {
                // SAFETY: rest is valid for its length.
                Errno::result(unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) })
                    .map(|n| n as usize)
            }),
        };
        match r {
            Ok(n) => {
                sent += n;
                if sent >= data.len() || matches!(call, Call::Sendto { .. }) || !blocking() {
                    break Ok(sent as i64);
                }
            }
            Err(Errno::EAGAIN) if blocking() => {
                return Progress::Parked(Pending::Send { call, sent });
            }
            Err(_) if sent > 0 => break Ok(sent as i64),
            Err(e) => break Err(e),
        }
    };
    let mut done = result(outcome);
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

/// A blocking send on a socket whose connect is in progress, made for
/// real for `ms` milliseconds at most (a timer the kernel armed will fire
/// in that time); then as send_rest goes on.
/// Sends `rest` of a send, sendto or write call, as the call makes it.
fn send_now(call: &Call<i32>, fd: i32, rest: &[u8], flags: &[MsgFlag]) -> nix::Result<usize> {
    match call {
        Call::Sendto { addr, .. } => sys::sendto(fd, rest, msg_flags(flags).bits(), addr),
        Call::Send {
            via: Via::Socket, ..
        } => sock::send(fd, rest, msg_flags(flags)),
        // SAFETY: rest is valid for its length.
        _ => Errno::result(unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) })
            .map(|n| n as usize),
    }
}

/// The rest of a send on a socket with SO_SNDTIMEO, made blocking: it
/// returns what the kernel took by the time the timeout ran out (the
/// count of the whole call), or EAGAIN if the whole call took nothing.
fn send_timed(call: Call<i32>, sent: usize) -> Progress {
    let Some((fd, data, flags)) = sending(&call) else {
        return Progress::Done(result(Err(Errno::EINVAL)));
    };
    let r = send_now(&call, fd, &data[sent..], flags);
    let mut done = match r {
        Err(_) if sent > 0 => result(Ok(sent as i64)),
        r => result(r.map(|n| (sent + n) as i64)),
    };
    done.facts = Some(sys::fd_facts(fd));
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

fn send_in_handshake(call: Call<i32>, sent: usize, ms: u32) -> Progress {
    let Some((fd, data, flags)) = sending(&call) else {
        return Progress::Done(result(Err(Errno::EINVAL)));
    };
    let r = sys::with_sndtimeo(fd, ms, || send_now(&call, fd, &data[sent..], flags));
    match r {
        Ok(n) if sent + n >= data.len() || matches!(call, Call::Sendto { .. }) => {
            let mut done = result(Ok((sent + n) as i64));
            done.fds.push(fd_state(fd));
            Progress::Done(done)
        }
        Ok(n) => send_rest(call, sent + n),
        Err(Errno::EAGAIN) => Progress::Parked(Pending::Send { call, sent }),
        r => {
            let mut done = result(r.map(|n| (sent + n) as i64));
            if sent > 0 {
                done = result(Ok(sent as i64));
            }
            done.fds.push(fd_state(fd));
            Progress::Done(done)
        }
    }
}
