//! What the kernel says about every socket of a run, read from
//! `/proc/PID/net/{tcp,tcp6,udp,udp6}` of a process in the run's network
//! namespace (the same fields `ss` shows, as hex text).
//!
//! Unlike an fd's own view, this includes the sockets no fd refers to: a
//! connection waiting in a listener's accept queue, and what is left after
//! close (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK, TIME_WAIT).

use crate::call::Addr;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

/// One socket as `/proc/net` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// `TCP`, `TCPv6`, `UDP` or `UDPv6`, as the actors name fd kinds.
    pub kind: String,
    pub local: Addr,
    /// `None` for an unconnected socket (the kernel shows 0.0.0.0:0).
    pub peer: Option<Addr>,
    /// The TCP state by its kernel name (`ESTABLISHED`, `TIME_WAIT`...);
    /// for UDP, `UNCONN` or `ESTABLISHED` as `ss` says.
    pub state: String,
    /// Bytes waiting to be read; for a listener, connections waiting in the
    /// accept queue.
    pub recv_q: u32,
    /// Bytes sent but not yet acknowledged (TCP) or queued (UDP).
    pub send_q: u32,
    /// 0 when no fd refers to the socket (TIME_WAIT, an orphan, a
    /// connection not yet accepted).
    pub inode: u64,
    /// For TIME_WAIT, the seconds left before the kernel drops it.
    pub timewait_left: Option<u32>,
}

/// The kernel's TCP state names, by number (include/net/tcp_states.h).
pub fn tcp_state_name(n: u8) -> &'static str {
    match n {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
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

/// The TCP and UDP sockets in the network namespace of process `pid`
/// (`None`: this process's own).
pub fn read(pid: Option<u32>, tables: Tables) -> Vec<Row> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}/net"),
        None => "/proc/self/net".to_string(),
    };
    let mut rows = Vec::new();
    let files = [
        (tables.tcp, "tcp", "TCP"),
        (tables.tcp6, "tcp6", "TCPv6"),
        (tables.udp, "udp", "UDP"),
        (tables.udp6, "udp6", "UDPv6"),
    ];
    for (_, file, kind) in files.iter().filter(|f| f.0) {
        if let Some(text) = read_proc(&format!("{dir}/{file}")) {
            rows.extend(text.lines().skip(1).filter_map(|l| parse_line(l, kind)));
        }
    }
    if tables.unix
        && let Some(text) = read_proc(&format!("{dir}/unix"))
    {
        rows.extend(text.lines().skip(1).filter_map(parse_unix_line));
    }
    rows
}

/// One line of /proc/net/unix: `Num RefCount Protocol Flags Type St Inode
/// Path`. It has no queue sizes; those stay 0.
pub fn parse_unix_line(line: &str) -> Option<Row> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 7 {
        return None;
    }
    let flags = u32::from_str_radix(f[3], 16).ok()?;
    let kind = match f[4] {
        "0001" => "UNIX-STREAM",
        "0002" => "UNIX-DGRAM",
        "0005" => "UNIX-SEQPACKET",
        _ => "UNIX",
    };
    // __SO_ACCEPTCON marks a listener; St 03 is SS_CONNECTED.
    let state = if flags & 0x10000 != 0 {
        "LISTEN"
    } else if f[5] == "03" {
        "ESTABLISHED"
    } else {
        "UNCONN"
    };
    Some(Row {
        kind: kind.to_string(),
        local: Addr::Unix(f.get(7).map(|p| p.to_string()).unwrap_or_default()),
        peer: None,
        state: state.to_string(),
        recv_q: 0,
        send_q: 0,
        inode: f[6].parse().ok()?,
        timewait_left: None,
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

/// One line of /proc/net/tcp (or tcp6, udp, udp6).
pub fn parse_line(line: &str, kind: &str) -> Option<Row> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return None;
    }
    let local = parse_addr(f[1])?;
    let peer = parse_addr(f[2]).filter(|a| a.port() != Some(0));
    let st = u8::from_str_radix(f[3], 16).ok()?;
    let (tx, rx) = f[4].split_once(':')?;
    let (timer, when) = f[5].split_once(':')?;
    let udp = kind.starts_with("UDP");
    let state = if udp {
        if st == 1 { "ESTABLISHED" } else { "UNCONN" }
    } else {
        tcp_state_name(st)
    };
    // Timer 3 is the TIME_WAIT timer; `when` counts clock ticks (USER_HZ).
    let timewait_left = (!udp && st == 6 && timer == "03")
        .then(|| u32::from_str_radix(when, 16).ok().map(|t| t.div_ceil(100)))
        .flatten();
    Some(Row {
        kind: kind.to_string(),
        local,
        peer,
        state: state.to_string(),
        recv_q: u32::from_str_radix(rx, 16).ok()?,
        send_q: u32::from_str_radix(tx, 16).ok()?,
        inode: f[9].parse().ok()?,
        timewait_left,
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
/// uses): one dump lists every TCP socket with its state and queues,
/// faster than /proc/net/tcp, which walks the shared tables twice a read.
pub struct Diag {
    fd: std::os::fd::OwnedFd,
    /// Kept between requests: zeroing 64 KiB a step is measurable.
    buf: std::cell::RefCell<Vec<u8>>,
}

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

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// Every TCP socket of `family` (AF_INET or AF_INET6) but the
    /// listeners: listing those walks the listening hash, which every
    /// namespace shares (see [`Diag::listener`]). States 1 to 11, less
    /// LISTEN (10); bit 12 would ask for bound, inactive sockets, which
    /// walks the shared bind hash: their fds tell of those.
    pub fn tcp(&self, family: u8) -> nix::Result<Vec<Row>> {
        let states = 0xffe & !(1 << 10);
        self.request(family, states, libc::NLM_F_DUMP as u16, [0u8; 48])
    }

    /// The listening socket at `local`, looked up by its address.
    pub fn listener(&self, local: &Addr) -> nix::Result<Option<Row>> {
        // struct inet_diag_sockid: sport, dport (big endian), src[4], dst[4]
        // (as bytes, in network order), interface, and the "no cookie"
        // cookie.
        let mut id = [0u8; 48];
        let family = match local {
            Addr::V4(a) => {
                id[0..2].copy_from_slice(&a.port().to_be_bytes());
                id[4..8].copy_from_slice(&a.ip().octets());
                libc::AF_INET as u8
            }
            Addr::V6(a) => {
                id[0..2].copy_from_slice(&a.port().to_be_bytes());
                id[4..20].copy_from_slice(&a.ip().octets());
                libc::AF_INET6 as u8
            }
            Addr::Unix(_) => return Ok(None),
        };
        id[40..48].copy_from_slice(&[0xff; 8]);
        match self.request(family, 1 << 10, 0, id) {
            Ok(rows) => Ok(rows.into_iter().find(|r| r.state == "LISTEN")),
            Err(nix::errno::Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn request(&self, family: u8, states: u32, flags: u16, id: [u8; 48]) -> nix::Result<Vec<Row>> {
        // struct nlmsghdr, then struct inet_diag_req_v2.
        let mut msg = Vec::with_capacity(16 + 56);
        msg.extend_from_slice(&72u32.to_ne_bytes());
        msg.extend_from_slice(&20u16.to_ne_bytes()); // SOCK_DIAG_BY_FAMILY
        msg.extend_from_slice(&(libc::NLM_F_REQUEST as u16 | flags).to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[family, libc::IPPROTO_TCP as u8, 0, 0]);
        msg.extend_from_slice(&states.to_ne_bytes());
        msg.extend_from_slice(&id);
        nix::unistd::write(&self.fd, &msg)?;
        let kind = if i32::from(family) == libc::AF_INET6 {
            "TCPv6"
        } else {
            "TCP"
        };
        let dump = flags & libc::NLM_F_DUMP as u16 != 0;
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
                if let Some(row) = parse_diag(&buf[at + 16..at + len], kind) {
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

/// One struct inet_diag_msg.
fn parse_diag(m: &[u8], kind: &str) -> Option<Row> {
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
    let state = m[1];
    Some(Row {
        kind: kind.to_string(),
        local: addr(8, sport),
        peer: Some(addr(24, dport)).filter(|_| dport != 0),
        state: tcp_state_name(state).to_string(),
        recv_q: u32_at(56),
        send_q: u32_at(60),
        inode: u64::from(u32_at(68)),
        // Timer 3 is the TIME_WAIT timer; `expires` counts milliseconds.
        timewait_left: (state == 6 && m[2] == 3).then(|| u32_at(52).div_ceil(1000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_listener_and_a_time_wait_line() {
        let listen = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        let row = parse_line(listen, "TCP").unwrap();
        assert_eq!(row.local.to_string(), "127.0.0.1:8080");
        assert_eq!(row.peer, None);
        assert_eq!(row.state, "LISTEN");
        assert_eq!((row.recv_q, row.send_q, row.inode), (1, 0, 4242));

        let tw = "   1: 0100007F:1F90 0100007F:B096 06 00000000:00000000 03:0000176F 00000000     0        0 0 3 0000000000000000";
        let row = parse_line(tw, "TCP").unwrap();
        assert_eq!(row.state, "TIME_WAIT");
        assert_eq!(row.peer.unwrap().to_string(), "127.0.0.1:45206");
        assert_eq!(row.inode, 0);
        assert_eq!(row.timewait_left, Some(60));
    }

    #[test]
    fn parses_ipv6_loopback() {
        let line = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0";
        let row = parse_line(line, "TCPv6").unwrap();
        assert_eq!(row.local.to_string(), "[::1]:8080");
    }
}
