//! The control channel between the engine and the processes it drives.
//!
//! Each actor (and the namespace hub) is a child process holding one end of a
//! unix stream socket at [`CONTROL_FD`]. Messages are postcard (compact
//! binary serde, so megabytes of payload cost megabytes), each preceded by
//! its length as a 4-byte little-endian number.

use crate::call::{Addr, Call};
use crate::sock::{Kind, State};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Where the hub finds its end of its control channel. (Actors have theirs
/// at the top of their fd limit, so that the fds a lesson opens are
/// numbered as in a C program: 3, 4, ...)
pub const HUB_FD: i32 = 3;

/// The largest message either side accepts: a lesson's payloads are at most
/// 16 MiB.
const MAX_MESSAGE: usize = 64 << 20;

/// What the engine asks of a child.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Make this call.
    Call(Call<i32>),
    /// See whether the parked call can complete now, without blocking.
    Retry,
    /// List the open fds and exit, as a program returning from main.
    Exit,
    /// To the hub: the packet socket capturing host `host`'s packets
    /// (0 but in a lesson with hosts), passed as an fd (SCM_RIGHTS), so
    /// the engine reads it with no round trip.
    Capture { host: u8 },
    /// To the hub: a sock_diag netlink socket in host `host`'s network
    /// namespace, passed as an fd.
    Diag { host: u8 },
    /// To the hub: start a process that only stays in host `host`'s
    /// network namespace, so that /proc/PID/net shows that host's tables.
    Keeper { host: u8 },
    /// To an actor, with a new control channel attached: fork, the child
    /// going on as another actor over that channel.
    Fork,
    /// To a parked actor: a timer the kernel armed on its call's socket
    /// fires within `ms` milliseconds; let it, then say whether the call
    /// completes (as `Retry` does). The wait ends early if the call can.
    WaitTimer { ms: u32 },
    /// To the hub, with the actor's control channel attached: start an
    /// actor process (a fork of the hub's, in the run's namespaces), its
    /// channel at `ctl_fd` and a handle on /proc at `proc_fd`.
    Spawn { ctl_fd: i32, proc_fd: i32, host: u8 },
    /// To a traced program standing in for an actor: run on to the next
    /// socket call, and hold it there.
    Next,
    /// To the hub: how process `pid` (as the run's namespace numbers it)
    /// ended, once it has.
    Status { pid: i32 },
}

/// What a child answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The child has started and is ready for requests.
    Ready,
    /// The child could not set itself up (a namespace it could not enter).
    SetupFailed(SetupError),
    /// The call completed.
    Done(Done),
    /// The call cannot complete yet; the actor waits in it.
    Parked(WaitKind, Vec<FdState>),
    /// `Retry`: the parked call still cannot complete.
    StillParked,
    /// `Retry`: the parked call moved some bytes, and still waits.
    Progressed(WaitKind),
    /// `Exit`: these fds were still open; the kernel closes them. For a
    /// socket, what it held as it was closed.
    Exiting(Vec<(i32, Option<Closing>)>),
    /// `Capture` or `Diag`: the socket comes with this message.
    Fd,
    /// `Capture` or `Diag`: the hub cannot open that socket (the errno).
    NoSocket(i32),
    /// `Spawn`: the actor's pid, with a pidfd for it attached.
    Spawned { pid: i32 },
    /// `Status`: the signal that ended the process, or its exit code
    /// (neither when its status is not the hub's to read).
    Status {
        signal: Option<i32>,
        code: Option<i32>,
    },
    /// `Spawn`: the hub could not start the actor (the errno).
    NotSpawned(i32),
    /// `Next`: the socket call the program holds at (`None`: it ended
    /// first), and what it wrote to its stdout or stderr on the way.
    Next {
        call: Option<crate::call::Call<i32>>,
        output: Vec<(i32, Vec<u8>)>,
    },
}

/// What a child could not do to set itself up, with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetupError {
    /// unshare(CLONE_NEWUSER|CLONE_NEWNET) failed, and so did
    /// unshare(CLONE_NEWNET) alone.
    Unshare { user: i32, net: i32 },
    /// Writing uid_map or gid_map failed.
    IdMap(i32),
    /// The nested network namespace could not be made.
    Nested(i32),
    /// `lo` could not be brought up.
    Loopback(i32),
    /// quickack could not be set on lo's routes.
    Quickack(i32),
    /// The second host, or the link between the hosts, could not be made.
    Link(i32),
    /// The hub's namespaces could not be opened or joined.
    Join(i32),
    /// The process exited before it said it was ready.
    Gone,
}

/// The result of a completed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// The return value, or -1 with `errno` set.
    pub ret: i64,
    pub errno: Option<i32>,
    /// Bytes received by recv, read or recvfrom.
    pub data: Option<Vec<u8>>,
    /// The address recvfrom, getsockname or getpeername reports.
    pub addr: Option<Addr>,
    /// What the kernel says of the fds the call touched, afterwards.
    pub fds: Vec<FdState>,
    /// What else the call reported.
    pub extra: Option<Extra>,
    /// For a failed call: what the kernel says of its fd, to tell why.
    pub facts: Option<FdFacts>,
    /// For a read of a TCP socket: the bytes left to read (SIOCINQ).
    pub inq: Option<u32>,
}

/// What a call reported beyond its return value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extra {
    /// poll: the fds that have events, and the events (`revents`).
    Poll(Vec<(i32, i16)>),
    /// getsockopt(SO_ERROR): the pending error it read (0 for none).
    SoError(i32),
    /// getsockopt of another option: the value it read.
    Opt(crate::call::OptValue),
    /// close of a socket: what it held as it was closed.
    Closed(Closing),
    /// bind to a port below `start` (net.ipv4.ip_unprivileged_port_start)
    /// succeeded: the process has the privilege to bind it.
    PrivilegedPort { start: u16 },
    /// accept: the peer's address as accept() reported it (it says so even
    /// of a connection reset in the accept queue, which has no peer now).
    Accepted(Addr),
}

/// A socket as it was closed: what decides between FIN and RST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    pub kind: Kind,
    pub state: Option<State>,
    /// Bytes received and never read (SIOCINQ); for a listener,
    /// connections waiting in its accept queue.
    pub unread: u32,
    /// SO_LINGER as it was set: (on, seconds).
    pub linger: Option<(i32, i32)>,
    /// SO_ACCEPTCONN: it was listening.
    pub listening: bool,
}

/// The kernel's view of an fd just after a call on it failed: enough to
/// tell which of an errno's causes it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FdFacts {
    pub open: bool,
    /// `None` for an fd that is not a socket.
    pub kind: Option<Kind>,
    /// SO_ACCEPTCONN: the socket is listening.
    pub listening: bool,
    /// For TCP, the state from TCP_INFO.
    pub state: Option<State>,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub nonblocking: bool,
    /// SO_RCVTIMEO is set: a blocking receive waits that long at most.
    pub rcvtimeo: bool,
    /// SO_SNDTIMEO is set: a blocking send waits that long at most.
    pub sndtimeo: bool,
    /// Whether the socket has a local address (is bound, or autobound).
    pub bound: bool,
    /// Whether the socket has a peer (getpeername succeeds).
    pub connected: bool,
    /// For a failed bind: net.ipv4.ip_unprivileged_port_start.
    pub port_start: Option<u16>,
}

/// One fd as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdState {
    pub fd: i32,
    pub open: bool,
    /// The socket's family and type; `None` for an fd that is not a socket.
    pub kind: Option<Kind>,
    pub local: Option<Addr>,
    pub peer: Option<Addr>,
    /// The socket's inode, which `/proc/net` lists too.
    pub inode: u64,
    /// For TCP, the state from TCP_INFO.
    pub tcp_state: Option<State>,
}

/// Why a call cannot complete yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitKind {
    /// accept: no connection is waiting in the accept queue.
    Connection,
    /// recv, read, recvfrom: nothing has arrived; for MSG_WAITALL, not all
    /// of it (`got` bytes so far).
    Data { got: usize },
    /// send, write: the buffers are full; `sent` bytes went out so far.
    Room { sent: usize },
    /// connect: the handshake has not completed.
    Handshake,
    /// connect on a unix socket: the listener's accept queue is full.
    Backlog,
    /// close with SO_LINGER: sent data is not yet acknowledged; the kernel
    /// holds close() for `secs` seconds at most.
    Linger { secs: i32 },
    /// poll: none of its fds is ready.
    Ready,
}

fn frame<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    let body = postcard::to_allocvec(msg).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

pub fn send<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&frame(msg)?)
}

/// Sends a small message with `fd` attached (SCM_RIGHTS).
pub fn send_fd<T: Serialize>(s: &UnixStream, msg: &T, fd: RawFd) -> io::Result<()> {
    use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
    let frame = frame(msg)?;
    let fds = [fd];
    sendmsg::<()>(
        s.as_raw_fd(),
        &[io::IoSlice::new(&frame)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(io::Error::from)?;
    Ok(())
}

/// Receives a small message and the fd that may come with it.
pub fn recv_fd<T: DeserializeOwned>(s: &UnixStream) -> io::Result<(Option<T>, Option<OwnedFd>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        s.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let mut fd = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for raw in fds {
                // SAFETY: the kernel just gave this process a new fd.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                fd.get_or_insert(owned);
            }
        }
    }
    let n = msg.bytes;
    if n == 0 {
        return Ok((None, fd));
    }
    let body = buf.get(4..n).unwrap_or_default();
    let len = u32::from_le_bytes(buf[..4].try_into().unwrap_or_default()) as usize;
    if len != body.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a message cut in two",
        ));
    }
    postcard::from_bytes(body)
        .map(|m| (Some(m), fd))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The body of a frame whose first `n` bytes are in `first`: the rest is
/// read from `r`. Nothing follows a frame (one message is answered before
/// the next is sent), so `first` never holds more than one.
fn rest_of_frame(r: &mut impl Read, first: &[u8], n: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    len[..n.min(4)].copy_from_slice(&first[..n.min(4)]);
    if n < 4 {
        r.read_exact(&mut len[n..])?;
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a {len}-byte message"),
        ));
    }
    if n > 4 + len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "two messages at once",
        ));
    }
    let mut body = vec![0; len];
    let have = n.saturating_sub(4).min(len);
    body[..have].copy_from_slice(&first[4..4 + have]);
    r.read_exact(&mut body[have..])?;
    Ok(body)
}

/// Waits up to `budget` for `fd` to have data, without sleeping: looks,
/// and yields the CPU between looks. Waking a process that sleeps costs
/// more than a call (tens of microseconds on a virtual machine), and the
/// engine and its actors answer each other within microseconds while a
/// lesson runs. Past the budget, a blocking receive takes over.
pub fn spin_until_readable(fd: RawFd, budget: std::time::Duration) {
    let start = std::time::Instant::now();
    let mut byte = 0u8;
    loop {
        // SAFETY: a one-byte buffer; MSG_PEEK leaves the data queued.
        let n = unsafe {
            libc::recv(
                fd,
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock {
            return;
        }
        if start.elapsed() > budget {
            return;
        }
        // SAFETY: sched_yield takes no arguments.
        unsafe { libc::sched_yield() };
    }
}

/// Reads one message of any size and the fd that may come with it (the
/// first read is a recvmsg, which carries the fd). For `spin`, the first
/// read looks without sleeping (as [`spin_until_readable`] does) before it
/// waits.
pub fn recv_any<T: DeserializeOwned>(
    s: &mut UnixStream,
    spin: std::time::Duration,
) -> io::Result<(Option<T>, Option<OwnedFd>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut first = vec![0u8; 4096];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let start = std::time::Instant::now();
    let (n, fd) = loop {
        let mut iov = [io::IoSliceMut::new(&mut first)];
        let looking = !spin.is_zero() && start.elapsed() <= spin;
        let flags = if looking {
            MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT
        } else {
            MsgFlags::MSG_CMSG_CLOEXEC
        };
        match recvmsg::<()>(s.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Ok(msg) => {
                let mut fd = None;
                for c in msg.cmsgs().map_err(io::Error::from)? {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for raw in fds {
                            // SAFETY: the kernel just gave this process a new fd.
                            fd.get_or_insert(unsafe { OwnedFd::from_raw_fd(raw) });
                        }
                    }
                }
                break (msg.bytes, fd);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) if looking => {
                // SAFETY: sched_yield takes no arguments.
                unsafe { libc::sched_yield() };
            }
            Err(e) => return Err(e.into()),
        }
    };
    if n == 0 {
        return Ok((None, fd));
    }
    let body = rest_of_frame(s, &first, n)?;
    postcard::from_bytes(&body)
        .map(|m| (Some(m), fd))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads one message; `Ok(None)` when the other side has closed the channel.
///
/// Messages go one at a time, each answered before the next is sent, so
/// nothing follows a message in the stream: one read usually takes it
/// whole (and a read that takes less is completed).
/// [`recv`], looking for the message without sleeping for `spin` first.
pub fn recv_spinning<T: DeserializeOwned>(
    s: &mut UnixStream,
    spin: std::time::Duration,
) -> io::Result<Option<T>> {
    let start = std::time::Instant::now();
    let mut first = [0u8; 512];
    while start.elapsed() <= spin {
        // SAFETY: first is valid for its length.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                first.as_mut_ptr().cast(),
                first.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n > 0 {
            let body = rest_of_frame(s, &first, n as usize)?;
            return postcard::from_bytes(&body)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        }
        if n == 0 {
            return Ok(None);
        }
        match io::Error::last_os_error() {
            e if e.kind() == io::ErrorKind::WouldBlock => {}
            e if e.kind() == io::ErrorKind::Interrupted => continue,
            e => return Err(e),
        }
        // SAFETY: sched_yield takes no arguments.
        unsafe { libc::sched_yield() };
    }
    recv(s)
}

pub fn recv<T: DeserializeOwned>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut first = [0u8; 512];
    let n = loop {
        match r.read(&mut first) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    if n == 0 {
        return Ok(None);
    }
    let body = rest_of_frame(r, &first, n)?;
    postcard::from_bytes(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
