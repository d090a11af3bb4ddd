//! The child processes: an actor makes a lesson's calls, the hub holds the
//! run's network namespace.
//!
//! An actor makes each call as the real syscall, but never blocks: before a
//! call that could wait (accept, connect, recv, send...) on a blocking socket
//! it asks the kernel, with `poll` and a zero timeout or a non-blocking
//! attempt, whether the call can complete now. If not, it parks the call and
//! tells the engine, which asks again (`Retry`) after each later step.
//! A socket the lesson itself made non-blocking gets the plain call, EAGAIN
//! and EINPROGRESS included.

use crate::call::{Addr, Call, Domain, How, MsgFlag, OptValue, Protocol, SockOpt, SockType, Via};
use crate::wire::{self, CONTROL_FD, Done, FdState, Reply, Request, WaitKind};
use nix::errno::Errno;
use nix::sys::socket::{
    self as sock, AddressFamily, MsgFlags, SockFlag, SockaddrIn, SockaddrIn6, SockaddrLike,
    SockaddrStorage, UnixAddr,
};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

/// Entry point of `sockstep __actor [--netns PID]`.
pub fn actor_main(netns_pid: Option<i32>) -> ExitCode {
    close_inherited_fds();
    // A C program dies of SIGPIPE when it writes to a reset connection; so
    // does an actor (Rust programs ignore SIGPIPE unless told otherwise).
    // SAFETY: restoring a default disposition has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // A child an actor forks is reaped by the kernel when it exits, as a
    // server that does not wait for its children would want.
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    // SAFETY: the engine passes the control channel at CONTROL_FD and nothing
    // else in this process owns it.
    let mut ctl = unsafe { UnixStream::from_raw_fd(CONTROL_FD) };
    if let Some(pid) = netns_pid
        && let Err(e) = crate::netns::join(pid)
    {
        let _ = wire::send(&mut ctl, &Reply::SetupFailed(e));
        return ExitCode::FAILURE;
    }
    if wire::send(&mut ctl, &Reply::Ready).is_err() {
        return ExitCode::FAILURE;
    }
    let mut parked: Option<Pending> = None;
    loop {
        let Ok((Some(req), fd)) = wire::recv_any::<Request>(&mut ctl) else {
            return ExitCode::SUCCESS;
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
            Request::Retry => match parked.take() {
                None => Reply::StillParked,
                Some(p) => {
                    let before = p.wait_kind();
                    match p.retry() {
                        Progress::Done(done) => Reply::Done(done),
                        Progress::Parked(p) => {
                            let after = p.wait_kind();
                            parked = Some(p);
                            if after == before {
                                Reply::StillParked
                            } else {
                                Reply::Progressed(after)
                            }
                        }
                    }
                }
            },
            Request::Exit => {
                let _ = wire::send(&mut ctl, &Reply::Exiting(open_fds()));
                return ExitCode::SUCCESS;
            }
            Request::Capture | Request::Diag => {
                Reply::NoCapture("an actor has no such socket".into())
            }
            Request::Fork => match fd {
                Some(channel) => match fork_actor(channel) {
                    // The child: its new channel is at CONTROL_FD, in place
                    // of the parent's; it says it is ready, and goes on.
                    None => {
                        parked = None;
                        Reply::Ready
                    }
                    Some(done) => Reply::Done(done),
                },
                None => Reply::Done(result(Err(Errno::EINVAL))),
            },
        };
        if wire::send(&mut ctl, &reply).is_err() {
            return ExitCode::FAILURE;
        }
    }
}

/// Entry point of `sockstep __hub [--host]`: makes the run's namespace
/// (unless `--host`), captures its loopback, and holds both until the
/// engine closes the channel.
pub fn hub_main(host: bool) -> ExitCode {
    close_inherited_fds();
    // SAFETY: as in actor_main.
    let mut ctl = unsafe { UnixStream::from_raw_fd(CONTROL_FD) };
    let setup = if host { Ok(()) } else { crate::netns::create() };
    let reply = match setup {
        Ok(()) => Reply::Ready,
        Err(e) => Reply::SetupFailed(e),
    };
    let ready = matches!(reply, Reply::Ready);
    if wire::send(&mut ctl, &reply).is_err() || !ready {
        return ExitCode::FAILURE;
    }
    loop {
        let reply = match wire::recv::<Request>(&mut ctl) {
            Ok(Some(Request::Capture)) => {
                match &crate::capture::Capture::open().map_err(|e| match e.raw_os_error() {
                    Some(libc::EPERM) => "capturing packets needs CAP_NET_RAW, which only a \
                                          private network namespace gives without root"
                        .to_string(),
                    _ => format!("cannot open a packet socket: {e}"),
                }) {
                    Ok(c) => {
                        if wire::send_fd(&ctl, &Reply::Fd, c.raw_fd()).is_err() {
                            return ExitCode::FAILURE;
                        }
                        continue;
                    }
                    Err(why) => Reply::NoCapture(why.clone()),
                }
            }
            Ok(Some(Request::Diag)) => match crate::kernel::Diag::open() {
                Ok(d) => {
                    if wire::send_fd(&ctl, &Reply::Fd, d.raw_fd()).is_err() {
                        return ExitCode::FAILURE;
                    }
                    continue;
                }
                Err(e) => Reply::NoCapture(format!("no sock_diag: {e}")),
            },
            Ok(Some(Request::Exit)) | Ok(None) | Err(_) => return ExitCode::SUCCESS,
            Ok(Some(_)) => Reply::NoCapture("the hub makes no calls".into()),
        };
        if wire::send(&mut ctl, &reply).is_err() {
            return ExitCode::FAILURE;
        }
    }
}

/// Closes whatever fds the engine's own parent left open (a build tool's
/// jobserver, say), so the lesson's first socket is fd 3 as in C.
fn close_inherited_fds() {
    // SAFETY: close_range only closes descriptors; none of them is owned by
    // Rust code in this freshly started process.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3, CONTROL_FD - 1, 0);
        libc::syscall(libc::SYS_close_range, CONTROL_FD + 1, u32::MAX, 0);
    }
}

fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // The directory listing's own fd is gone by now: keep what is still open.
    fds.retain(|&fd| fd > 2 && fd != CONTROL_FD && fcntl(fd, libc::F_GETFD).is_ok());
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
    /// close() of a lingering socket whose data is not yet acknowledged.
    Close {
        fd: i32,
    },
    Poll {
        fds: Vec<i32>,
    },
}

impl Pending {
    fn wait_kind(&self) -> WaitKind {
        match self {
            Pending::Accept { .. } => WaitKind::Connection,
            Pending::Recv { got, .. } => WaitKind::Data { got: got.len() },
            Pending::Close { .. } => WaitKind::Linger,
            Pending::Poll { .. } => WaitKind::Data { got: 0 },
            Pending::Send { sent, .. } => WaitKind::Room { sent: *sent },
            Pending::Connect { .. } | Pending::ConnectAgain { .. } => WaitKind::Handshake,
        }
    }

    fn retry(self) -> Progress {
        match self {
            Pending::Accept { fd } => accept(fd, true),
            Pending::Recv { call, got } => recv(&call, got, true),
            Pending::Close { fd } => close(fd),
            Pending::Poll { fds } => poll(&fds, true),
            Pending::Send { call, sent } => send_rest(call, sent),
            Pending::Connect { fd, addr } => connect_finish(fd, &addr),
            Pending::ConnectAgain { fd, addr } => connect(fd, &addr),
        }
    }
}

/// Makes `call`, or parks it if it would block.
fn start(call: &Call<i32>) -> Progress {
    if call.fd() == Some(&CONTROL_FD) {
        // sockstep's own channel is not the lesson's: it is not open there.
        return Progress::Done(result(Err(Errno::EBADF)));
    }
    match call {
        Call::Accept { fd } => accept(*fd, false),
        Call::Connect { fd, addr } => connect(*fd, addr),
        Call::Recv { .. } | Call::Recvfrom { .. } => recv(call, Vec::new(), false),
        Call::Poll { fds, wait } => poll(fds, *wait),
        Call::Close { fd } if lingering(*fd) => close(*fd),
        Call::Send { .. } | Call::Sendto { .. } => send_rest(call.clone(), 0),
        _ => Progress::Done(immediate(call)),
    }
}

fn result(r: nix::Result<i64>) -> Done {
    match r {
        Ok(ret) => Done {
            ret,
            errno: None,
            data: None,
            addr: None,
            fds: Vec::new(),
            note: None,
        },
        Err(e) => Done {
            ret: -1,
            errno: Some(e as i32),
            data: None,
            addr: None,
            fds: Vec::new(),
            note: None,
        },
    }
}

/// Calls that never wait.
fn immediate(call: &Call<i32>) -> Done {
    let mut done = match call {
        Call::Socket {
            domain,
            ty,
            protocol,
        } => {
            let family = match domain {
                Domain::Inet => AddressFamily::Inet,
                Domain::Inet6 => AddressFamily::Inet6,
                Domain::Unix => AddressFamily::Unix,
            };
            let ty = match ty {
                SockType::Stream => sock::SockType::Stream,
                SockType::Dgram => sock::SockType::Datagram,
            };
            let proto = match protocol {
                Protocol::Default => None,
                Protocol::Tcp => Some(sock::SockProtocol::Tcp),
                Protocol::Udp => Some(sock::SockProtocol::Udp),
            };
            let r = sock::socket(family, ty, SockFlag::empty(), proto).map(|fd| {
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
        Call::Bind { fd, addr, raw } => {
            let mut done = result(with_sockaddr(addr, |a| sock::bind(*fd, a)).map(|()| 0));
            if let (true, Some(port)) = (raw, addr.port()) {
                // The bytes as they sit in struct sockaddr_in's sin_port.
                let [hi, lo] = port.to_be_bytes();
                let meant = port.swap_bytes();
                let [mhi, mlo] = meant.to_be_bytes();
                done.note = Some(format!(
                    "sin_port holds the bytes {hi:02x} {lo:02x}, read in network order as port {port}; \
                     htons({meant}) would have stored {mhi:02x} {mlo:02x}"
                ));
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
            // SAFETY: closing a raw fd the lesson names; Rust owns none of them.
            let r = Errno::result(unsafe { libc::close(*fd) }).map(|_| 0);
            let mut done = result(r);
            done.fds.push(FdState {
                fd: *fd,
                open: false,
                kind: None,
                local: None,
                peer: None,
                inode: 0,
                tcp_state: None,
            });
            return done;
        }
        Call::Getsockname { fd } => {
            let r = sock::getsockname::<SockaddrStorage>(*fd);
            let addr = r.as_ref().ok().and_then(to_addr);
            Done {
                addr,
                ..result(r.map(|_| 0))
            }
        }
        Call::Getpeername { fd } => {
            let r = sock::getpeername::<SockaddrStorage>(*fd);
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
                done.note = Some(match v {
                    0 => "SO_ERROR = 0: no error".to_string(),
                    e => format!(
                        "SO_ERROR = {} ({})",
                        crate::errno::errno_name(e),
                        crate::errno::errno_desc(e)
                    ),
                });
            }
            done
        }
        Call::Socketpair { ty } => {
            use std::os::fd::IntoRawFd;
            let ty = match ty {
                SockType::Stream => sock::SockType::Stream,
                SockType::Dgram => sock::SockType::Datagram,
            };
            return match sock::socketpair(AddressFamily::Unix, ty, None, SockFlag::empty()) {
                Ok((a, b)) => {
                    let (a, b) = (a.into_raw_fd(), b.into_raw_fd());
                    let mut done = result(Ok(0));
                    done.fds = vec![fd_state(a), fd_state(b)];
                    done.note = Some(format!("sv = [{a}, {b}]"));
                    done
                }
                Err(e) => result(Err(e)),
            };
        }
        Call::Accept { .. }
        | Call::Connect { .. }
        | Call::Recv { .. }
        | Call::Recvfrom { .. }
        | Call::Send { .. }
        | Call::Sendto { .. }
        | Call::Poll { .. }
        | Call::Fork { .. } => unreachable!("start() and the loop handle these"),
    };
    if let Some(fd) = call.fd() {
        done.fds.push(fd_state(*fd));
    }
    done
}

fn setsockopt(fd: i32, opt: SockOpt, value: OptValue) -> nix::Result<()> {
    let (level, name) = match opt {
        SockOpt::ReuseAddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        SockOpt::ReusePort => (libc::SOL_SOCKET, libc::SO_REUSEPORT),
        SockOpt::RcvBuf => (libc::SOL_SOCKET, libc::SO_RCVBUF),
        SockOpt::SndBuf => (libc::SOL_SOCKET, libc::SO_SNDBUF),
        SockOpt::Linger => (libc::SOL_SOCKET, libc::SO_LINGER),
        SockOpt::KeepAlive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        SockOpt::Broadcast => (libc::SOL_SOCKET, libc::SO_BROADCAST),
        SockOpt::TcpNoDelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
        SockOpt::Ipv6V6Only => (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
    };
    // The fd may be anything the lesson wrote (closed, -1): nix's typed
    // setsockopt wants a borrowed fd, so the raw call is made here.
    let r = match value {
        OptValue::Int(v) => unsafe {
            // SAFETY: the option value is a c_int that outlives the call.
            libc::setsockopt(
                fd,
                level,
                name,
                (&v as *const i32).cast(),
                size_of::<i32>() as libc::socklen_t,
            )
        },
        OptValue::Linger { on, secs } => {
            let l = libc::linger {
                l_onoff: on,
                l_linger: secs,
            };
            // SAFETY: as above, with a struct linger.
            unsafe {
                libc::setsockopt(
                    fd,
                    level,
                    name,
                    (&l as *const libc::linger).cast(),
                    size_of::<libc::linger>() as libc::socklen_t,
                )
            }
        }
    };
    Errno::result(r).map(drop)
}

fn with_sockaddr<T>(
    addr: &Addr,
    f: impl FnOnce(&dyn SockaddrLike) -> nix::Result<T>,
) -> nix::Result<T> {
    match addr {
        Addr::V4(a) => f(&SockaddrIn::from(*a)),
        Addr::V6(a) => f(&SockaddrIn6::from(*a)),
        Addr::Unix(p) => match p.strip_prefix('@') {
            Some(name) => f(&UnixAddr::new_abstract(name.as_bytes())?),
            None => f(&UnixAddr::new(p.as_str())?),
        },
    }
}

fn to_addr(s: &SockaddrStorage) -> Option<Addr> {
    if let Some(a) = s.as_sockaddr_in() {
        return Some(Addr::V4((*a).into()));
    }
    if let Some(a) = s.as_sockaddr_in6() {
        return Some(Addr::V6((*a).into()));
    }
    let u = s.as_unix_addr()?;
    if let Some(p) = u.path() {
        return Some(Addr::Unix(p.to_string_lossy().into_owned()));
    }
    if let Some(name) = u.as_abstract() {
        return Some(Addr::Unix(format!("@{}", String::from_utf8_lossy(name))));
    }
    Some(Addr::Unix(String::new()))
}

/// What the kernel says of `fd` now.
fn fd_state(fd: i32) -> FdState {
    let open = fcntl(fd, libc::F_GETFD).is_ok();
    let local = sock::getsockname::<SockaddrStorage>(fd)
        .ok()
        .and_then(|a| to_addr(&a));
    let peer = sock::getpeername::<SockaddrStorage>(fd)
        .ok()
        .and_then(|a| to_addr(&a));
    let kind = open.then(|| sock_kind(fd)).flatten();
    let tcp_state = kind
        .as_deref()
        .filter(|k| k.starts_with("TCP"))
        .and_then(|_| tcp_info_state(fd));
    FdState {
        fd,
        open,
        inode: if open { inode(fd) } else { 0 },
        tcp_state,
        kind,
        // An unbound socket reports 0.0.0.0:0 or an unnamed unix address:
        // say nothing rather than that.
        local: local.filter(|a| a.port() != Some(0) && *a != Addr::Unix(String::new())),
        peer,
    }
}

fn inode(fd: i32) -> u64 {
    // SAFETY: fstat writes one struct stat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 {
            st.st_ino
        } else {
            0
        }
    }
}

/// `tcpi_state`, the first byte of struct tcp_info.
fn tcp_info_state(fd: i32) -> Option<u8> {
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: info and len are valid for the kernel to write into.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (r == 0 && len > 0).then_some(info[0])
}

fn getsockopt_int(fd: i32, level: i32, name: i32) -> Option<i32> {
    let mut v: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the kernel to write an int into.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    (r == 0).then_some(v)
}

fn sock_kind(fd: i32) -> Option<String> {
    let domain = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
    let ty = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)?;
    Some(
        match (domain, ty) {
            (libc::AF_INET, libc::SOCK_STREAM) => "TCP",
            (libc::AF_INET, libc::SOCK_DGRAM) => "UDP",
            (libc::AF_INET6, libc::SOCK_STREAM) => "TCPv6",
            (libc::AF_INET6, libc::SOCK_DGRAM) => "UDPv6",
            (libc::AF_UNIX, libc::SOCK_STREAM) => "UNIX-STREAM",
            (libc::AF_UNIX, libc::SOCK_DGRAM) => "UNIX-DGRAM",
            _ => "socket",
        }
        .to_string(),
    )
}

fn fcntl(fd: i32, cmd: i32) -> nix::Result<i32> {
    // SAFETY: F_GETFD and F_GETFL take no argument.
    Errno::result(unsafe { libc::fcntl(fd, cmd) })
}

fn nonblocking(fd: i32) -> bool {
    fcntl(fd, libc::F_GETFL).is_ok_and(|fl| fl & libc::O_NONBLOCK != 0)
}

/// Runs `f` with O_NONBLOCK set on `fd`, then restores the flags.
fn with_nonblock<T>(fd: i32, f: impl FnOnce() -> T) -> T {
    let Ok(flags) = fcntl(fd, libc::F_GETFL) else {
        return f();
    };
    // SAFETY: F_SETFL takes an int of flags.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    let r = f();
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
    r
}

/// `poll` with a zero timeout: the events ready on `fd` now.
fn ready(fd: i32, events: libc::c_short) -> libc::c_short {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n > 0 { p.revents } else { 0 }
}

/// `retry`: the call was parked before, so `poll` is asked first and no
/// syscall is repeated while nothing has changed. A first attempt is the
/// real call, made non-blocking, so errors come back as they would in C.
fn accept(fd: i32, retry: bool) -> Progress {
    let blocking = !nonblocking(fd);
    if blocking && retry && ready(fd, libc::POLLIN) == 0 {
        return Progress::Parked(Pending::Accept { fd });
    }
    let r = if blocking {
        with_nonblock(fd, || sock::accept(fd))
    } else {
        sock::accept(fd)
    };
    match r {
        Err(Errno::EAGAIN) if blocking => Progress::Parked(Pending::Accept { fd }),
        r => {
            let mut done = result(r.map(i64::from));
            done.fds.push(fd_state(fd));
            if done.errno.is_none() {
                done.fds.push(fd_state(done.ret as i32));
            }
            Progress::Done(done)
        }
    }
}

fn connect(fd: i32, addr: &Addr) -> Progress {
    let finish = |r: nix::Result<()>| {
        let mut done = result(r.map(|()| 0));
        done.fds.push(fd_state(fd));
        Progress::Done(done)
    };
    if nonblocking(fd) {
        return finish(with_sockaddr(addr, |a| sock::connect(fd, a)));
    }
    match with_nonblock(fd, || with_sockaddr(addr, |a| sock::connect(fd, a))) {
        Err(Errno::EINPROGRESS) => connect_finish(fd, addr),
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
    let r = match with_nonblock(fd, || with_sockaddr(addr, |a| sock::connect(fd, a))) {
        Err(Errno::EISCONN) => Ok(()),
        r => r,
    };
    let mut done = result(r.map(|()| 0));
    done.fds.push(fd_state(fd));
    Progress::Done(done)
}

fn msg_flags(flags: &[MsgFlag]) -> MsgFlags {
    flags.iter().fold(MsgFlags::empty(), |acc, f| {
        acc | match f {
            MsgFlag::NoSignal => MsgFlags::MSG_NOSIGNAL,
            MsgFlag::Peek => MsgFlags::MSG_PEEK,
            MsgFlag::DontWait => MsgFlags::MSG_DONTWAIT,
            MsgFlag::WaitAll => MsgFlags::MSG_WAITALL,
        }
    })
}

fn recv(call: &Call<i32>, got: Vec<u8>, retry: bool) -> Progress {
    let (fd, len, flags, via) = match call {
        Call::Recv {
            fd,
            len,
            flags,
            via,
        } => (*fd, *len, flags.as_slice(), *via),
        Call::Recvfrom { fd, len, flags } => (*fd, *len, flags.as_slice(), Via::Socket),
        _ => unreachable!("recv() is given receiving calls"),
    };
    let blocking = !nonblocking(fd) && !flags.contains(&MsgFlag::DontWait);
    let park = |got| {
        Progress::Parked(Pending::Recv {
            call: call.clone(),
            got,
        })
    };
    if blocking && retry && ready(fd, libc::POLLIN | libc::POLLRDHUP) == 0 {
        return park(got);
    }
    if blocking && flags.contains(&MsgFlag::WaitAll) {
        return recv_all(call, fd, len, flags, got);
    }
    let mut buf = vec![0u8; len];
    let mut from = None;
    let r = match (call, via) {
        (Call::Recvfrom { .. }, _) => recvfrom(fd, &mut buf, msg_flags(flags) | dontwait(blocking))
            .map(|(n, a)| {
                from = a;
                n
            }),
        (_, Via::Socket) => sock::recv(fd, &mut buf, msg_flags(flags) | dontwait(blocking)),
        // SAFETY: buf is valid for len bytes.
        (_, Via::File) => Errno::result(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) })
            .map(|n| n as usize),
    };
    if blocking && r == Err(Errno::EAGAIN) {
        return park(got);
    }
    let mut done = result(r.map(|n| n as i64));
    if let Some(n) = done.errno.is_none().then_some(done.ret as usize) {
        buf.truncate(n);
        done.data = Some(buf);
        done.addr = from;
    }
    done.fds.push(fd_state(fd));
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

/// poll() on `fds` for POLLIN. A blocking poll is made with a zero timeout
/// and parked when nothing is ready, as every waiting call is.
fn poll(fds: &[i32], wait: bool) -> Progress {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: a valid array of pollfd structs and its length.
    let n = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, 0) };
    if n == 0 && wait {
        return Progress::Parked(Pending::Poll { fds: fds.to_vec() });
    }
    let mut done = result(Errno::result(n).map(i64::from));
    if n > 0 {
        let names = [
            (libc::POLLIN, "POLLIN"),
            (libc::POLLHUP, "POLLHUP"),
            (libc::POLLRDHUP, "POLLRDHUP"),
            (libc::POLLERR, "POLLERR"),
            (libc::POLLNVAL, "POLLNVAL"),
        ];
        let ready: Vec<String> = set
            .iter()
            .filter(|p| p.revents != 0)
            .map(|p| {
                let what: Vec<&str> = names
                    .iter()
                    .filter(|(bit, _)| p.revents & bit != 0)
                    .map(|(_, n)| *n)
                    .collect();
                format!("fd {} {}", p.fd, what.join("|"))
            })
            .collect();
        done.note = Some(format!("ready: {}", ready.join(", ")));
    }
    Progress::Done(done)
}

/// fork(): `None` in the child, which takes `channel` as its control
/// channel; the parent's result (the child's pid) in the parent.
fn fork_actor(channel: std::os::fd::OwnedFd) -> Option<Done> {
    use std::os::fd::AsRawFd;
    // SAFETY: an actor is single-threaded; the child only rearranges fds
    // before it goes on.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: dup2 onto the control fd, whose old channel (the
            // parent's) this process must not keep. As in life, the child
            // outlives its parent; it ends when the engine closes its
            // channel.
            unsafe {
                libc::dup2(channel.as_raw_fd(), CONTROL_FD);
            }
            drop(channel);
            None
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(channel);
            Some(result(Ok(i64::from(child.as_raw()))))
        }
        Err(e) => Some(result(Err(e))),
    }
}

/// Whether closing `fd` would wait: SO_LINGER is on with a timeout and
/// sent data is not yet acknowledged (SIOCOUTQ).
fn lingering(fd: i32) -> bool {
    let mut l = libc::linger {
        l_onoff: 0,
        l_linger: 0,
    };
    let mut len = size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: l and len are valid for the kernel to write a struct linger.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&mut l as *mut libc::linger).cast(),
            &mut len,
        )
    };
    r == 0 && l.l_onoff != 0 && l.l_linger > 0 && unacked(fd) > 0
}

fn unacked(fd: i32) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    if r == 0 { n.max(0) as usize } else { 0 }
}

/// close() of a lingering socket: parked until its data is acknowledged.
fn close(fd: i32) -> Progress {
    if lingering(fd) {
        return Progress::Parked(Pending::Close { fd });
    }
    Progress::Done(immediate(&Call::Close { fd }))
}

/// Sends what is left of `call`'s data after `sent` bytes, as a blocking
/// send does: it returns once every byte is queued, or on an error.
fn send_rest(call: Call<i32>, sent: usize) -> Progress {
    let (fd, data, flags) = match &call {
        Call::Send {
            fd, data, flags, ..
        }
        | Call::Sendto {
            fd, data, flags, ..
        } => (*fd, data.as_slice(), flags.as_slice()),
        _ => unreachable!("send_rest() is given sending calls"),
    };
    let blocking = !nonblocking(fd) && !flags.contains(&MsgFlag::DontWait);
    if blocking && sent > 0 && ready(fd, libc::POLLOUT) == 0 {
        return Progress::Parked(Pending::Send { call, sent });
    }
    let mut sent = sent;
    let outcome = loop {
        let rest = &data[sent..];
        let r = match &call {
            Call::Sendto { addr, .. } => with_sockaddr(addr, |a| {
                sock::sendto(fd, rest, a, msg_flags(flags) | dontwait(blocking))
            }),
            Call::Send {
                via: Via::Socket, ..
            } => sock::send(fd, rest, msg_flags(flags) | dontwait(blocking)),
            _ => {
                let write = || {
                    // SAFETY: rest is valid for its length.
                    Errno::result(unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) })
                        .map(|n| n as usize)
                };
                if blocking {
                    with_nonblock(fd, write)
                } else {
                    write()
                }
            }
        };
        match r {
            Ok(n) => {
                sent += n;
                if sent >= data.len() || !blocking || matches!(call, Call::Sendto { .. }) {
                    break Ok(sent as i64);
                }
            }
            Err(Errno::EAGAIN) if blocking => {
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

fn dontwait(blocking: bool) -> MsgFlags {
    if blocking {
        MsgFlags::MSG_DONTWAIT
    } else {
        MsgFlags::empty()
    }
}
