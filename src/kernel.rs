//! What the kernel says about every socket of a run: sock_diag netlink in
//! the run's namespace (what `ss` uses) for TCP and unix sockets, and
//! `/proc/PID/net/{tcp,tcp6,udp,udp6}` where that is not to be had.
//!
//! Unlike an fd's own view, this includes the sockets no fd refers to: a
//! connection waiting in a listener's accept queue, and what is left after
//! close (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK, TIME_WAIT).

use crate::call::{Addr, Domain, SockType};
use crate::sock::{Kind, State, Timer, TimerKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

/// One socket as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: Kind,
    pub local: Addr,
    /// `None` for an unconnected socket (the kernel shows 0.0.0.0:0).
    pub peer: Option<Addr>,
    pub state: State,
    /// Bytes waiting to be read; for a listener, connections waiting in the
    /// accept queue.
    pub recv_q: u32,
    /// Bytes sent but not yet acknowledged (TCP) or queued (UDP); for a
    /// listener, its backlog.
    pub send_q: u32,
    /// 0 when no fd refers to the socket (TIME_WAIT, an orphan, a
    /// connection not yet accepted).
    pub inode: u64,
    /// The timer the kernel has armed on it, if any.
    pub timer: Option<Timer>,
    /// For a unix socket: the inode of the socket it is connected to.
    pub peer_inode: Option<u64>,
}

/// Which tables to read: each read walks the kernel's listening hash,
/// which every namespace shares, so a run reads only those it can use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tables {
    pub tcp: bool,
    pub tcp6: bool,
    pub udp: bool,
    pub udp6: bool,
    pub unix: bool,
}

/// The TCP, UDP and unix sockets in the network namespace of process
/// `pid` (`None`: this process's own), read from `/proc`.
pub fn read(pid: Option<u32>, tables: Tables) -> Vec<Row> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}/net"),
        None => "/proc/self/net".to_string(),
    };
    let mut rows = Vec::new();
    let files = [
        (tables.tcp, "tcp", Kind::TCP),
        (tables.tcp6, "tcp6", Kind::TCP6),
        (tables.udp, "udp", Kind::UDP),
        (tables.udp6, "udp6", Kind::UDP6),
    ];
    for (_, file, kind) in files.iter().filter(|f| f.0) {
        if let Some(text) = read_proc(&format!("{dir}/{file}")) {
            rows.extend(text.lines().skip(1).filter_map(|l| parse_line(l, *kind)));
        }
    }
    if tables.unix
        && let Some(text) = read_proc(&format!("{dir}/unix"))
    {
        rows.extend(text.lines().skip(1).filter_map(parse_unix_line));
    }
    rows
}

/// A unix socket's kind from the kernel's type number.
fn unix_kind(ty: u32) -> Kind {
    Kind {
        domain: Domain::Unix,
        ty: match ty {
            2 => SockType::Dgram,
            5 => SockType::Seqpacket,
            _ => SockType::Stream,
        },
    }
}

/// One line of /proc/net/unix: `Num RefCount Protocol Flags Type St Inode
/// Path`. It has no queue sizes; those stay 0 (unix_diag has them).
pub fn parse_unix_line(line: &str) -> Option<Row> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 7 {
        return None;
    }
    let flags = u32::from_str_radix(f[3], 16).ok()?;
    let kind = unix_kind(u32::from_str_radix(f[4], 16).ok()?);
    // __SO_ACCEPTCON marks a listener; St 03 is SS_CONNECTED.
    let state = if flags & 0x10000 != 0 {
        State::Listen
    } else if f[5] == "03" {
        State::Established
    } else {
        State::Unconn
    };
    Some(Row {
        kind,
        local: Addr::Unix(f.get(7).map(|p| p.to_string()).unwrap_or_default()),
        peer: None,
        state,
        recv_q: 0,
        send_q: 0,
        inode: f[6].parse().ok()?,
        timer: None,
        peer_inode: None,
    })
}

/// Reads a /proc file in as few reads as it takes: each read() of such a
/// file walks the kernel's tables again from the start.
fn read_proc(path: &str) -> Option<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(_) => return None,
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// The kernel's timer numbers, as /proc/net/tcp and sock_diag give them.
fn timer(code: u8, expires_ms: u32, retransmits: u8) -> Option<Timer> {
    let kind = match code {
        1 => TimerKind::Retransmit,
        2 => TimerKind::KeepAlive,
        3 => TimerKind::TimeWait,
        4 => TimerKind::Probe,
        _ => return None,
    };
    Some(Timer {
        kind,
        expires_ms,
        retransmits,
    })
}

/// One line of /proc/net/tcp (or tcp6, udp, udp6).
pub fn parse_line(line: &str, kind: Kind) -> Option<Row> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return None;
    }
    let local = parse_addr(f[1])?;
    let peer = parse_addr(f[2]).filter(|a| a.port() != Some(0));
    let st = u8::from_str_radix(f[3], 16).ok()?;
    let (tx, rx) = f[4].split_once(':')?;
    let (code, when) = f[5].split_once(':')?;
    let udp = kind.is_udp();
    let state = if udp {
        if st == 1 {
            State::Established
        } else {
            State::Unconn
        }
    } else {
        State::from_tcp(st)?
    };
    // `when` counts clock ticks (USER_HZ, 100 a second).
    let timer = if udp {
        None
    } else {
        let ticks = u32::from_str_radix(when, 16).ok()?;
        timer(
            u8::from_str_radix(code, 16).ok()?,
            ticks.saturating_mul(10),
            u8::from_str_radix(f[6], 16).unwrap_or(0),
        )
    };
    Some(Row {
        kind,
        local,
        peer,
        state,
        recv_q: u32::from_str_radix(rx, 16).ok()?,
        send_q: u32::from_str_radix(tx, 16).ok()?,
        inode: f[9].parse().ok()?,
        timer,
        peer_inode: None,
    })
}

/// `0100007F:1F90` is 127.0.0.1:8080: the address is the raw bytes of the
/// kernel's 32-bit words printed in host (little-endian) order.
fn parse_addr(s: &str) -> Option<Addr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    match ip.len() {
        8 => {
            let n = u32::from_str_radix(ip, 16).ok()?;
            Some(Addr::V4(SocketAddrV4::new(
                Ipv4Addr::from(n.to_le_bytes()),
                port,
            )))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for w in 0..4 {
                let n = u32::from_str_radix(&ip[w * 8..w * 8 + 8], 16).ok()?;
                bytes[w * 4..w * 4 + 4].copy_from_slice(&n.to_le_bytes());
            }
            let ip = Ipv6Addr::from(bytes);
            Some(Addr::V6(SocketAddrV6::new(ip, port, 0, 0)))
        }
        _ => None,
    }
}

/// A NETLINK_SOCK_DIAG socket made inside the run's namespace (what `ss`
/// uses): one dump lists every TCP (or unix) socket with its state and
/// queues, faster than /proc/net/tcp, which walks the shared tables twice
/// a read.
pub struct Diag {
    fd: std::os::fd::OwnedFd,
    /// Kept between requests: zeroing 64 KiB a step is measurable.
    buf: std::cell::RefCell<Vec<u8>>,
}

/// sock_diag's message type for a request by family.
const SOCK_DIAG_BY_FAMILY: u16 = 20;

impl Diag {
    pub fn open() -> std::io::Result<Diag> {
        use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )?;
        Ok(Diag::from_fd(fd))
    }

    pub fn from_fd(fd: std::os::fd::OwnedFd) -> Diag {
        Diag {
            fd,
            buf: std::cell::RefCell::new(vec![0; 64 * 1024]),
        }
    }

    pub fn into_fd(self) -> std::os::fd::OwnedFd {
        self.fd
    }

    /// Every TCP socket of `family` (AF_INET or AF_INET6) but the
    /// listeners: listing those walks the listening hash, which every
    /// namespace shares (the run reads its listeners through their fds).
    /// States 1 to 11, less LISTEN (10); bit 12 would ask for bound,
    /// inactive sockets, which walks the shared bind hash: their fds tell
    /// of those.
    pub fn tcp(&self, family: u8) -> nix::Result<Vec<Row>> {
        let states = 0xffe & !(1 << 10);
        let mut req = Vec::with_capacity(56);
        req.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
        req.extend_from_slice(&u32::to_ne_bytes(states));
        req.extend_from_slice(&[0u8; 48]);
        let kind = if i32::from(family) == libc::AF_INET6 {
            Kind::TCP6
        } else {
            Kind::TCP
        };
        self.request(&req, true, |m| parse_inet(m, kind))
    }

    /// The listening socket at `local`, looked up by its address (for a
    /// listener no fd can be asked about).
    pub fn listener(&self, local: &Addr) -> nix::Result<Option<Row>> {
        // struct inet_diag_sockid: sport, dport (big endian), src[4], dst[4]
        // (as bytes, in network order), interface, and the "no cookie"
        // cookie.
        let mut id = [0u8; 48];
        let (family, kind) = match local {
            Addr::V4(a) => {
                id[0..2].copy_from_slice(&a.port().to_be_bytes());
                id[4..8].copy_from_slice(&a.ip().octets());
                (libc::AF_INET as u8, Kind::TCP)
            }
            Addr::V6(a) => {
                id[0..2].copy_from_slice(&a.port().to_be_bytes());
                id[4..20].copy_from_slice(&a.ip().octets());
                (libc::AF_INET6 as u8, Kind::TCP6)
            }
            Addr::Unix(_) => return Ok(None),
        };
        id[40..48].copy_from_slice(&[0xff; 8]);
        let mut req = Vec::with_capacity(56);
        req.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
        req.extend_from_slice(&u32::to_ne_bytes(1 << 10));
        req.extend_from_slice(&id);
        match self.request(&req, false, |m| parse_inet(m, kind)) {
            Ok(rows) => Ok(rows.into_iter().find(|r| r.state == State::Listen)),
            Err(nix::errno::Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every unix socket, with its path, peer, queues (unix_diag).
    pub fn unix(&self) -> nix::Result<Vec<Row>> {
        // struct unix_diag_req: family, protocol, pad, states, ino, show,
        // cookie. Show the name, the peer and the queue lengths.
        const SHOW: u32 = 0x1 | 0x4 | 0x10;
        let mut req = Vec::with_capacity(24);
        req.extend_from_slice(&[libc::AF_UNIX as u8, 0, 0, 0]);
        req.extend_from_slice(&u32::to_ne_bytes(u32::MAX));
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(&SHOW.to_ne_bytes());
        req.extend_from_slice(&[0xff; 8]);
        self.request(&req, true, parse_unix)
    }

    fn request(
        &self,
        body: &[u8],
        dump: bool,
        parse: impl Fn(&[u8]) -> Option<Row>,
    ) -> nix::Result<Vec<Row>> {
        let flags = libc::NLM_F_REQUEST as u16 | if dump { libc::NLM_F_DUMP as u16 } else { 0 };
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        nix::unistd::write(&self.fd, &msg)?;
        let mut rows = Vec::new();
        let mut buf = self.buf.borrow_mut();
        loop {
            let n = nix::unistd::read(&self.fd, &mut buf)?;
            let mut at = 0;
            while at + 16 <= n {
                let len =
                    u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or_default()) as usize;
                let ty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if ty == libc::NLMSG_DONE as u16 {
                    return Ok(rows);
                }
                if ty == libc::NLMSG_ERROR as u16 {
                    let code =
                        i32::from_ne_bytes(buf[at + 16..at + 20].try_into().unwrap_or_default());
                    return if code == 0 {
                        Ok(rows)
                    } else {
                        Err(nix::errno::Errno::from_raw(-code))
                    };
                }
                if len < 16 || at + len > n {
                    return Err(nix::errno::Errno::EBADMSG);
                }
                if let Some(row) = parse(&buf[at + 16..at + len]) {
                    rows.push(row);
                }
                at += len.next_multiple_of(4);
            }
            // An exact lookup answers with one message and no NLMSG_DONE.
            if n == 0 || !dump {
                return Ok(rows);
            }
        }
    }
}

/// The netlink attributes after a message's fixed part: (type, payload).
fn attrs(mut m: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if m.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([m[0], m[1]]));
        let ty = u16::from_ne_bytes([m[2], m[3]]);
        if len < 4 || len > m.len() {
            return None;
        }
        let payload = &m[4..len];
        m = &m[len.next_multiple_of(4).min(m.len())..];
        Some((ty, payload))
    })
}

/// One struct inet_diag_msg.
fn parse_inet(m: &[u8], kind: Kind) -> Option<Row> {
    if m.len() < 72 {
        return None;
    }
    let u32_at = |i: usize| u32::from_ne_bytes(m[i..i + 4].try_into().unwrap_or_default());
    let sport = u16::from_be_bytes([m[4], m[5]]);
    let dport = u16::from_be_bytes([m[6], m[7]]);
    let addr = |at: usize, port: u16| -> Addr {
        if m[0] as i32 == libc::AF_INET6 {
            let b: [u8; 16] = m[at..at + 16].try_into().unwrap_or_default();
            Addr::V6(SocketAddrV6::new(Ipv6Addr::from(b), port, 0, 0))
        } else {
            Addr::V4(SocketAddrV4::new(
                Ipv4Addr::new(m[at], m[at + 1], m[at + 2], m[at + 3]),
                port,
            ))
        }
    };
    Some(Row {
        kind,
        local: addr(8, sport),
        peer: Some(addr(24, dport)).filter(|_| dport != 0),
        state: State::from_tcp(m[1])?,
        recv_q: u32_at(56),
        send_q: u32_at(60),
        inode: u64::from(u32_at(68)),
        // idiag_timer, idiag_retrans, idiag_expires (milliseconds).
        timer: timer(m[2], u32_at(52), m[3]),
        peer_inode: None,
    })
}

/// One struct unix_diag_msg and its attributes.
fn parse_unix(m: &[u8]) -> Option<Row> {
    if m.len() < 16 {
        return None;
    }
    let kind = unix_kind(u32::from(m[1]));
    let inode = u64::from(u32::from_ne_bytes(m[4..8].try_into().ok()?));
    let mut row = Row {
        kind,
        local: Addr::Unix(String::new()),
        peer: None,
        state: match State::from_tcp(m[2]) {
            Some(State::Close) | None => State::Unconn,
            Some(s) => s,
        },
        recv_q: 0,
        send_q: 0,
        inode,
        timer: None,
        peer_inode: None,
    };
    for (ty, p) in attrs(&m[16..]) {
        match ty {
            // UNIX_DIAG_NAME: the path, or a NUL then the abstract name.
            0 => {
                row.local = Addr::Unix(match p.split_first() {
                    Some((0, name)) => format!("@{}", String::from_utf8_lossy(name)),
                    _ => String::from_utf8_lossy(p.split(|b| *b == 0).next().unwrap_or(p))
                        .into_owned(),
                });
            }
            // UNIX_DIAG_PEER: the peer's inode.
            2 if p.len() >= 4 => {
                row.peer_inode = Some(u64::from(u32::from_ne_bytes(p[..4].try_into().ok()?)));
            }
            // UNIX_DIAG_RQLEN: struct unix_diag_rqlen { rqueue, wqueue }.
            4 if p.len() >= 8 => {
                row.recv_q = u32::from_ne_bytes(p[..4].try_into().ok()?);
                row.send_q = u32::from_ne_bytes(p[4..8].try_into().ok()?);
            }
            _ => {}
        }
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_listener_and_a_time_wait_line() {
        let listen = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        let row = parse_line(listen, Kind::TCP).unwrap();
        assert_eq!(row.local.to_string(), "127.0.0.1:8080");
        assert_eq!(row.peer, None);
        assert_eq!(row.state, State::Listen);
        assert_eq!((row.recv_q, row.send_q, row.inode), (1, 0, 4242));

        let tw = "   1: 0100007F:1F90 0100007F:B096 06 00000000:00000000 03:0000176F 00000000     0        0 0 3 0000000000000000";
        let row = parse_line(tw, Kind::TCP).unwrap();
        assert_eq!(row.state, State::TimeWait);
        assert_eq!(row.peer.unwrap().to_string(), "127.0.0.1:45206");
        assert_eq!(row.inode, 0);
        let t = row.timer.unwrap();
        assert_eq!(t.kind, TimerKind::TimeWait);
        assert_eq!(t.expires_ms, 0x176F * 10);
    }

    #[test]
    fn parses_ipv6_loopback() {
        let line = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0";
        let row = parse_line(line, Kind::TCP6).unwrap();
        assert_eq!(row.local.to_string(), "[::1]:8080");
    }

    #[test]
    fn parses_a_unix_diag_message_with_its_attributes() {
        let mut m = vec![libc::AF_UNIX as u8, 1, 10, 0];
        m.extend_from_slice(&77u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        // UNIX_DIAG_NAME "s.sock\0", padded to 4 bytes.
        let name = b"s.sock\0";
        m.extend_from_slice(&((4 + name.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(name);
        m.push(0);
        // UNIX_DIAG_RQLEN: 2 queued, backlog 5.
        m.extend_from_slice(&12u16.to_ne_bytes());
        m.extend_from_slice(&4u16.to_ne_bytes());
        m.extend_from_slice(&2u32.to_ne_bytes());
        m.extend_from_slice(&5u32.to_ne_bytes());
        let row = parse_unix(&m).unwrap();
        assert_eq!(row.local, Addr::Unix("s.sock".into()));
        assert_eq!(row.state, State::Listen);
        assert_eq!((row.recv_q, row.send_q, row.inode), (2, 5, 77));
    }
}
