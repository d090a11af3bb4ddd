//! The small syscalls an actor makes around the lesson's calls: what the
//! kernel says of an fd, its options, poll with a zero timeout, and
//! addresses between the lesson's form and the kernel's.

use crate::call::{Addr, Domain, SockType};
use crate::sock::{Kind, State};
use crate::wire::{Closing, FdFacts, FdState};
use nix::errno::Errno;
use nix::sys::socket::{self as sock, SockaddrIn, SockaddrIn6, SockaddrLike, SockaddrStorage};

/// An address as a C program passes it: a sockaddr and its size. A unix
/// path goes in a whole `struct sockaddr_un` (`sizeof addr`, as the
/// tutorials write it); an abstract name has the exact length it needs.
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    pub fn new(addr: &Addr) -> nix::Result<RawAddr> {
        // SAFETY: sockaddr_storage is plain data; zero is a valid value.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let ptr = (&mut storage as *mut libc::sockaddr_storage).cast::<u8>();
        let (bytes, len): (&[u8], usize) = match addr {
            Addr::V4(a) => {
                let sa = SockaddrIn::from(*a);
                // SAFETY: as_ptr points at a sockaddr_in of len() bytes.
                let b = unsafe {
                    std::slice::from_raw_parts(sa.as_ptr().cast::<u8>(), sa.len() as usize)
                };
                // SAFETY: storage is larger than any sockaddr.
                unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), ptr, b.len()) };
                (&[], b.len())
            }
            Addr::V6(a) => {
                let sa = SockaddrIn6::from(*a);
                // SAFETY: as above, for a sockaddr_in6.
                let b = unsafe {
                    std::slice::from_raw_parts(sa.as_ptr().cast::<u8>(), sa.len() as usize)
                };
                // SAFETY: as above.
                unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), ptr, b.len()) };
                (&[], b.len())
            }
            Addr::Unix(p) => {
                let path = size_of::<libc::sa_family_t>();
                let room = size_of::<libc::sockaddr_un>() - path;
                let (name, len) = match p.strip_prefix('@') {
                    // The abstract namespace: a NUL, then the name.
                    Some(name) => (name.as_bytes(), path + 1 + name.len()),
                    None => (p.as_bytes(), size_of::<libc::sockaddr_un>()),
                };
                if name.len() + 1 > room {
                    return Err(nix::errno::Errno::ENAMETOOLONG);
                }
                (name, len)
            }
        };
        if let Addr::Unix(p) = addr {
            storage.ss_family = libc::AF_UNIX as libc::sa_family_t;
            let at = size_of::<libc::sa_family_t>() + usize::from(p.starts_with('@'));
            // SAFETY: the name fits (checked above) after the family.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.add(at), bytes.len()) };
        }
        Ok(RawAddr {
            storage,
            len: len as libc::socklen_t,
        })
    }

    pub fn ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub fn len(&self) -> libc::socklen_t {
        self.len
    }
}

pub fn bind(fd: i32, addr: &Addr) -> nix::Result<()> {
    let a = RawAddr::new(addr)?;
    // SAFETY: a valid sockaddr and its length.
    Errno::result(unsafe { libc::bind(fd, a.ptr(), a.len()) }).map(drop)
}

pub fn connect(fd: i32, addr: &Addr) -> nix::Result<()> {
    let a = RawAddr::new(addr)?;
    // SAFETY: a valid sockaddr and its length.
    Errno::result(unsafe { libc::connect(fd, a.ptr(), a.len()) }).map(drop)
}

/// accept(), with the peer's address it reports.
pub fn accept(fd: i32, flags: i32) -> nix::Result<(i32, Option<Addr>)> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: storage and len are valid for the kernel to write an address.
    let new = unsafe {
        let addr = (&mut storage as *mut libc::sockaddr_storage).cast();
        // accept() as C calls it, accept4() only with flags.
        if flags == 0 {
            libc::accept(fd, addr, &mut len)
        } else {
            libc::accept4(fd, addr, &mut len, flags)
        }
    };
    let new = Errno::result(new)?;
    // SAFETY: the kernel wrote a sockaddr of `len` bytes into storage.
    let addr = unsafe {
        SockaddrStorage::from_raw(
            (&storage as *const libc::sockaddr_storage).cast(),
            Some(len),
        )
    };
    Ok((new, addr.as_ref().and_then(to_addr)))
}

pub fn sendto(fd: i32, data: &[u8], flags: i32, addr: &Addr) -> nix::Result<usize> {
    let a = RawAddr::new(addr)?;
    // SAFETY: data is valid for its length; a valid sockaddr and length.
    let n = unsafe {
        libc::sendto(
            fd,
            data.as_ptr().cast(),
            data.len(),
            flags,
            a.ptr(),
            a.len(),
        )
    };
    Errno::result(n).map(|n| n as usize)
}

pub fn to_addr(s: &SockaddrStorage) -> Option<Addr> {
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

/// Whether `fd` is open in this process.
pub fn is_open(fd: i32) -> bool {
    fcntl(fd, libc::F_GETFD).is_ok()
}

fn local(fd: i32) -> Option<Addr> {
    sock::getsockname::<SockaddrStorage>(fd)
        .ok()
        .and_then(|a| to_addr(&a))
        // An unbound socket reports 0.0.0.0:0 or an unnamed unix address:
        // say nothing rather than that.
        .filter(|a| a.port() != Some(0) && *a != Addr::Unix(String::new()))
}

fn peer(fd: i32) -> Option<Addr> {
    sock::getpeername::<SockaddrStorage>(fd)
        .ok()
        .and_then(|a| to_addr(&a))
}

/// What the kernel says of `fd` now.
pub fn fd_state(fd: i32) -> FdState {
    // One fstat tells whether the fd is open, whether it is a socket, and
    // the socket's inode; a socket's family and type never change, so they
    // are asked once per inode.
    // SAFETY: an all-zero struct stat is a valid value; fstat writes one.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let open = unsafe { libc::fstat(fd, &mut st) } == 0;
    let socket = open && st.st_mode & libc::S_IFMT == libc::S_IFSOCK;
    let inode = if open { st.st_ino } else { 0 };
    let kind = if socket { kind_of(fd, inode) } else { None };
    let tcp_state = kind.filter(|k| k.is_tcp()).and_then(|_| tcp_state(fd));
    let (local, peer) = match kind {
        Some(_) => addresses(fd, inode, tcp_state),
        None => (None, None),
    };
    FdState {
        fd,
        open,
        inode,
        tcp_state,
        kind,
        local,
        peer,
    }
}

/// A socket's local and peer addresses. A TCP socket's do not change while
/// it listens or has its connection (from ESTABLISHED to LAST-ACK): they
/// are asked once in those states, and remembered by inode.
fn addresses(fd: i32, inode: u64, state: Option<State>) -> (Option<Addr>, Option<Addr>) {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Pair = (Option<Addr>, Option<Addr>);
    thread_local! {
        static KNOWN: RefCell<HashMap<u64, Pair>> = RefCell::new(HashMap::new());
    }
    let settled = matches!(
        state,
        Some(
            State::Listen
                | State::Established
                | State::CloseWait
                | State::FinWait1
                | State::FinWait2
                | State::Closing
                | State::LastAck
        )
    );
    if settled && let Some(known) = KNOWN.with(|m| m.borrow().get(&inode).cloned()) {
        return known;
    }
    let found = (local(fd), peer(fd));
    KNOWN.with(|m| {
        let mut m = m.borrow_mut();
        if settled {
            m.insert(inode, found.clone());
        } else {
            m.remove(&inode);
        }
    });
    found
}

/// The kind of the socket `fd`, whose inode is `inode`: asked of the
/// kernel the first time, remembered after.
fn kind_of(fd: i32, inode: u64) -> Option<Kind> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static KINDS: RefCell<HashMap<u64, Kind>> = RefCell::new(HashMap::new());
    }
    if let Some(k) = KINDS.with(|m| m.borrow().get(&inode).copied()) {
        return Some(k);
    }
    let k = kind(fd)?;
    KINDS.with(|m| m.borrow_mut().insert(inode, k));
    Some(k)
}

/// An fd that has just been closed.
pub fn closed_fd(fd: i32) -> FdState {
    FdState {
        fd,
        open: false,
        kind: None,
        local: None,
        peer: None,
        inode: 0,
        tcp_state: None,
    }
}

/// The kernel's view of `fd` after a call on it failed.
pub fn fd_facts(fd: i32) -> FdFacts {
    let open = is_open(fd);
    let kind = if open { kind(fd) } else { None };
    let Some(kind) = kind else {
        return FdFacts {
            open,
            ..FdFacts::default()
        };
    };
    let flag = |name| getsockopt_int(fd, libc::SOL_SOCKET, name).is_some_and(|v| v != 0);
    FdFacts {
        open,
        kind: Some(kind),
        listening: flag(libc::SO_ACCEPTCONN),
        state: if kind.is_tcp() { tcp_state(fd) } else { None },
        reuseaddr: flag(libc::SO_REUSEADDR),
        reuseport: flag(libc::SO_REUSEPORT),
        nonblocking: nonblocking(fd),
        rcvtimeo: rcvtimeo(fd).unwrap_or((0, 0)) != (0, 0),
        sndtimeo: sndtimeo(fd).unwrap_or((0, 0)) != (0, 0),
        bound: local(fd).is_some(),
        connected: peer(fd).is_some(),
        port_start: None,
    }
}

/// What a socket holds as it is closed; `None` for an fd that is not one.
pub fn closing(fd: i32) -> Option<Closing> {
    let kind = kind(fd)?;
    let listening =
        getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN).is_some_and(|v| v != 0);
    let unread = if listening && kind.is_tcp() {
        tcp_info(fd).map(|i| i.unacked).unwrap_or(0)
    } else {
        inq(fd)
    };
    Some(Closing {
        kind,
        state: if kind.is_tcp() { tcp_state(fd) } else { None },
        unread,
        linger: linger(fd),
        listening,
    })
}

/// The names in a directory under /proc (`self/fd`), read through the
/// handle the actor keeps on it (a confined actor has no /proc of its own).
pub fn proc_dir(rel: &str) -> Option<Vec<String>> {
    use nix::dir::Dir;
    use nix::fcntl::OFlag;
    let proc = super::PROC_FD.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: the handle stays open for the actor's life.
    let proc = unsafe { std::os::fd::BorrowedFd::borrow_raw(proc) };
    let mut dir = Dir::openat(
        proc,
        rel,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()?;
    Some(
        dir.iter()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

/// A file under /proc (`sys/net/...`), read through the actor's handle.
fn proc_file(rel: &str) -> Option<String> {
    use nix::fcntl::{OFlag, openat};
    use std::io::Read;
    let proc = super::PROC_FD.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: as above.
    let proc = unsafe { std::os::fd::BorrowedFd::borrow_raw(proc) };
    let fd = openat(
        proc,
        rel,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()?;
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text).ok()?;
    Some(text)
}

/// net.ipv4.ip_unprivileged_port_start in this process's namespace.
pub fn unprivileged_port_start() -> Option<u16> {
    proc_file("sys/net/ipv4/ip_unprivileged_port_start")?
        .trim()
        .parse()
        .ok()
}

/// The fields of struct tcp_info that sockstep reads.
pub struct TcpInfo {
    pub state: u8,
    /// For a listener: connections in its accept queue.
    pub unacked: u32,
}

pub fn tcp_info(fd: i32) -> Option<TcpInfo> {
    let mut info = [0u8; 104];
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
    if r != 0 || len < 32 {
        return None;
    }
    let u32_at = |i: usize| u32::from_ne_bytes(info[i..i + 4].try_into().unwrap_or_default());
    // struct tcp_info: 8 bytes of u8 fields, then rto, ato, snd_mss,
    // rcv_mss, unacked (at 24).
    Some(TcpInfo {
        state: info[0],
        unacked: u32_at(24),
    })
}

/// The TCP state from TCP_INFO.
pub fn tcp_state(fd: i32) -> Option<State> {
    tcp_info(fd).and_then(|i| State::from_tcp(i.state))
}

pub fn getsockopt_int(fd: i32, level: i32, name: i32) -> Option<i32> {
    let mut v: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the kernel to write an int into.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    (r == 0).then_some(v)
}

/// The socket's family and type; `None` if `fd` is not a socket.
pub fn kind(fd: i32) -> Option<Kind> {
    let domain = match getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)? {
        libc::AF_INET => Domain::Inet,
        libc::AF_INET6 => Domain::Inet6,
        libc::AF_UNIX => Domain::Unix,
        _ => return None,
    };
    let ty = match getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)? {
        libc::SOCK_STREAM => SockType::Stream,
        libc::SOCK_DGRAM => SockType::Dgram,
        libc::SOCK_SEQPACKET => SockType::Seqpacket,
        _ => return None,
    };
    Some(Kind { domain, ty })
}

/// SO_LINGER, when it is on: (on, seconds).
pub fn linger(fd: i32) -> Option<(i32, i32)> {
    get_linger(fd).ok().filter(|(on, _)| *on != 0)
}

/// A socket option whose value is a plain C struct, as the kernel reports
/// it.
fn get_struct<T: Copy>(fd: i32, level: i32, name: i32, zero: T) -> nix::Result<T> {
    let mut v = zero;
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: v and len are valid for the kernel to write a T, a plain C
    // struct of the size the option takes.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut T).cast(), &mut len) };
    Errno::result(r).map(|_| v)
}

/// Sets a socket option whose value is a plain C struct (or an int).
pub fn set_struct<T: Copy>(fd: i32, level: i32, name: i32, v: T) -> nix::Result<()> {
    // SAFETY: v is a plain C value of the size the option takes, valid for
    // the call.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    Errno::result(r).map(drop)
}

/// SO_RCVTIMEO as the kernel reports it: (tv_sec, tv_usec).
pub fn rcvtimeo(fd: i32) -> nix::Result<(i64, i64)> {
    let zero = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    get_struct(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, zero).map(|t| (t.tv_sec, t.tv_usec))
}

/// SO_SNDTIMEO as the kernel reports it: (tv_sec, tv_usec).
pub fn sndtimeo(fd: i32) -> nix::Result<(i64, i64)> {
    let zero = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    get_struct(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, zero).map(|t| (t.tv_sec, t.tv_usec))
}

/// SO_LINGER as the kernel reports it: (l_onoff, l_linger).
pub fn get_linger(fd: i32) -> nix::Result<(i32, i32)> {
    let zero = libc::linger {
        l_onoff: 0,
        l_linger: 0,
    };
    get_struct(fd, libc::SOL_SOCKET, libc::SO_LINGER, zero).map(|l| (l.l_onoff, l.l_linger))
}

/// Whether the next byte to read is TCP's urgent mark (SIOCATMARK).
pub fn at_mark(fd: i32) -> bool {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCATMARK writes one int.
    // SIOCATMARK, from asm-generic/sockios.h (libc does not have it).
    let r = unsafe { libc::ioctl(fd, 0x8905, &mut n) };
    r == 0 && n != 0
}

/// Bytes waiting to be read (SIOCINQ).
pub fn inq(fd: i32) -> u32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD (SIOCINQ) writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r == 0 { n.max(0) as u32 } else { 0 }
}

/// Bytes sent and not yet acknowledged (SIOCOUTQ).
pub fn unacked(fd: i32) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    if r == 0 { n.max(0) as usize } else { 0 }
}

pub fn fcntl(fd: i32, cmd: i32) -> nix::Result<i32> {
    // SAFETY: F_GETFD and F_GETFL take no argument.
    Errno::result(unsafe { libc::fcntl(fd, cmd) })
}

pub fn nonblocking(fd: i32) -> bool {
    fcntl(fd, libc::F_GETFL).is_ok_and(|fl| fl & libc::O_NONBLOCK != 0)
}

/// Runs `f` with O_NONBLOCK set on `fd`, then restores the flags.
pub fn with_nonblock<T>(fd: i32, f: impl FnOnce() -> T) -> T {
    let Ok(flags) = fcntl(fd, libc::F_GETFL) else {
        return f();
    };
    if flags & libc::O_NONBLOCK != 0 {
        return f();
    }
    // SAFETY: F_SETFL takes an int of flags.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    let r = f();
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
    r
}

/// Runs `f` with SO_SNDTIMEO at `ms` milliseconds, then puts it back: a
/// blocking send then waits that long at most, as the lesson's would.
pub fn with_sndtimeo<T>(fd: i32, ms: u32, f: impl FnOnce() -> T) -> T {
    let size = size_of::<libc::timeval>() as libc::socklen_t;
    let mut old = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = size;
    // SAFETY: old and len are valid for the kernel to write a timeval.
    let got = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&mut old as *mut libc::timeval).cast(),
            &mut len,
        )
    };
    if got != 0 {
        return f();
    }
    let new = libc::timeval {
        tv_sec: libc::time_t::from(ms / 1000),
        tv_usec: libc::suseconds_t::from((ms % 1000) * 1000),
    };
    let set = |t: &libc::timeval| {
        // SAFETY: a valid timeval and its size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                (t as *const libc::timeval).cast(),
                size,
            )
        }
    };
    set(&new);
    let r = f();
    set(&old);
    r
}

/// `poll` on the fds for `events`, waiting at most `ms` (0: only look);
/// the events each reported.
pub fn poll_fds(fds: &[i32], events: libc::c_short, ms: i32) -> nix::Result<Vec<libc::c_short>> {
    poll_each(fds, &vec![events; fds.len()], ms)
}

/// poll() on each fd for its own events.
pub fn poll_each(fds: &[i32], events: &[i16], ms: i32) -> nix::Result<Vec<libc::c_short>> {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .zip(events)
        .map(|(&fd, &events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    // SAFETY: a valid array of pollfd structs and its length.
    let n = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) };
    Errno::result(n).map(|_| set.iter().map(|p| p.revents).collect())
}

/// select() on the fds below `nfds` of the read and write sets, waiting
/// `ms` milliseconds at most (0: looking): its count, and the fds it left
/// in each set.
pub fn select(
    nfds: i32,
    read: &[i32],
    write: &[i32],
    ms: u32,
) -> nix::Result<(i32, Vec<i32>, Vec<i32>)> {
    let set_of = |fds: &[i32]| {
        // SAFETY: fd_set is plain old data; FD_ZERO and FD_SET write in it,
        // for fds below FD_SETSIZE only.
        unsafe {
            let mut set: libc::fd_set = std::mem::zeroed();
            libc::FD_ZERO(&mut set);
            for &fd in fds {
                if (0..libc::FD_SETSIZE as i32).contains(&fd) {
                    libc::FD_SET(fd, &mut set);
                }
            }
            set
        }
    };
    let (mut r, mut w) = (set_of(read), set_of(write));
    let mut tv = libc::timeval {
        tv_sec: libc::time_t::from(ms / 1000),
        tv_usec: libc::suseconds_t::from((ms % 1000) * 1000),
    };
    let ptr = |set: &mut libc::fd_set, fds: &[i32]| {
        if fds.is_empty() {
            std::ptr::null_mut()
        } else {
            set as *mut libc::fd_set
        }
    };
    // SAFETY: the sets and the timeval are valid for the call; null for an
    // empty set, as C passes NULL.
    let n = unsafe {
        libc::select(
            nfds,
            ptr(&mut r, read),
            ptr(&mut w, write),
            std::ptr::null_mut(),
            &mut tv,
        )
    };
    let n = Errno::result(n)?;
    let left = |set: &libc::fd_set, fds: &[i32]| -> Vec<i32> {
        fds.iter()
            .copied()
            // SAFETY: FD_ISSET reads the set, for fds below FD_SETSIZE.
            .filter(|&fd| {
                (0..libc::FD_SETSIZE as i32).contains(&fd) && unsafe { libc::FD_ISSET(fd, set) }
            })
            .collect()
    };
    Ok((n, left(&r, read), left(&w, write)))
}

/// `poll` with a zero timeout: the events ready on `fd` now.
pub fn ready(fd: i32, events: libc::c_short) -> libc::c_short {
    poll_fds(&[fd], events, 0)
        .ok()
        .and_then(|r| r.first().copied())
        .unwrap_or(0)
}
