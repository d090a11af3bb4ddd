//! Packets that cross the run's loopback, captured in the run's network
//! namespace (its own user namespace makes that possible without root):
//! through netfilter's log where it can be set up ([`nflog`]), else with an
//! AF_PACKET socket; and decoded for the transcript.

mod nflog;

pub use nflog::Sees;

use crate::call::Addr;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A raw frame as seen on `lo`, with the time it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub secs: u64,
    pub micros: u32,
    pub bytes: Vec<u8>,
}

/// A non-blocking socket that sees the packets on `lo`: a netlink socket
/// of netfilter's log, or a packet socket bound to `lo`.
pub struct Capture {
    fd: OwnedFd,
    /// Whether `fd` is a netfilter log's netlink socket.
    nflog: bool,
    /// Times the netlink socket's buffer overflowed (packets lost, how many
    /// not known).
    overruns: std::cell::Cell<u32>,
    /// Kept between drains: zeroing 64 KiB a step is measurable.
    buf: std::cell::RefCell<Vec<u8>>,
}

impl Capture {
    /// Opens a capture: in the run's own namespace through netfilter's log
    /// (whose socket closes at once), falling back to a packet socket (whose
    /// close waits for an RCU grace period); on the host's network, a
    /// packet socket only (the host's netfilter rules are not the run's to
    /// change).
    pub fn open(private: bool, sees: Sees) -> std::io::Result<Capture> {
        if private && let Ok(fd) = nflog::open(sees) {
            let c = Capture::from_fd(fd);
            c.bigger_buffer();
            return Ok(c);
        }
        Capture::open_packet()
    }

    /// A buffer big enough that a bulk transfer between two steps is not cut
    /// short (SO_RCVBUFFORCE is allowed to the owner of the namespace). Best
    /// effort: what is lost anyway is told.
    fn bigger_buffer(&self) {
        let set = |name: i32| {
            let value: i32 = 64 << 20;
            // SAFETY: an int option, passed with its size.
            unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    name,
                    (&value as *const i32).cast(),
                    size_of::<i32>() as u32,
                )
            }
        };
        if set(libc::SO_RCVBUFFORCE) != 0 {
            set(libc::SO_RCVBUF);
        }
    }

    fn open_packet() -> std::io::Result<Capture> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket creation; the fd is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(proto),
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a new, valid descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: if_nametoindex reads a NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        // SAFETY: sockaddr_ll is plain data, passed with its size.
        let r = unsafe {
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = index as i32;
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Loopback shows every packet twice, going out and coming in: the
        // kernel can leave out the first copy (best effort: drain skips it).
        let one: i32 = 1;
        // SAFETY: an int option, passed with its size.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                (&one as *const i32).cast(),
                size_of::<i32>() as u32,
            )
        };
        let c = Capture::from_fd(fd);
        c.bigger_buffer();
        Ok(c)
    }

    /// Packets the kernel dropped since the last call, for want of room in
    /// the socket's buffer (PACKET_STATISTICS, which resets on reading); for
    /// the netfilter log, `Some(0)` when some were lost, how many unknown.
    /// `look`: whether to ask the packet socket's kernel count (a call).
    pub fn lost(&self, look: bool) -> Option<u32> {
        if self.nflog {
            return (self.overruns.replace(0) > 0).then_some(0);
        }
        if !look {
            return None;
        }
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = size_of::<libc::tpacket_stats>() as u32;
        // SAFETY: stats and len are valid for the kernel to fill.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        (r == 0 && stats.tp_drops > 0).then_some(stats.tp_drops)
    }

    /// A capture socket another process opened and passed on.
    pub fn from_fd(fd: OwnedFd) -> Capture {
        let mut domain: i32 = 0;
        let mut len = size_of::<i32>() as libc::socklen_t;
        // SAFETY: an int and its length, for the kernel to fill.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_DOMAIN,
                (&mut domain as *mut i32).cast(),
                &mut len,
            )
        };
        Capture {
            fd,
            nflog: domain == libc::AF_NETLINK,
            overruns: std::cell::Cell::new(0),
            buf: std::cell::RefCell::new(vec![0; 65536 + 128]),
        }
    }

    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    /// Every frame captured since the last call. Loopback packets are seen
    /// twice, going out and coming in: only the incoming copy is kept.
    pub fn drain(&self) -> Vec<Frame> {
        if self.nflog {
            return self.drain_nflog();
        }
        let mut frames = Vec::new();
        let mut buf = self.buf.borrow_mut();
        loop {
            // SAFETY: buf and the sockaddr_ll are valid for the kernel to fill.
            let (n, pkttype) = unsafe {
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                let mut len = size_of::<libc::sockaddr_ll>() as u32;
                let n = libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut sll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                );
                (n, sll.sll_pkttype)
            };
            if n < 0 {
                break;
            }
            if pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            frames.push(Frame {
                secs: now.as_secs(),
                micros: now.subsec_micros(),
                bytes: buf[..n as usize].to_vec(),
            });
        }
        frames
    }

    /// Every packet the netfilter log passed on since the last call, as a
    /// frame on `lo` would carry it (an Ethernet header of zeros but for the
    /// type, as loopback's).
    fn drain_nflog(&self) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut buf = self.buf.borrow_mut();
        loop {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                    self.overruns.set(self.overruns.get() + 1);
                    continue;
                }
                break;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            for ip in nflog::packets(&buf[..n as usize]) {
                let ethertype: u16 = match ip.first().map(|b| b >> 4) {
                    Some(4) => 0x0800,
                    Some(6) => 0x86dd,
                    _ => continue,
                };
                let mut bytes = vec![0u8; 12];
                bytes.extend_from_slice(&ethertype.to_be_bytes());
                bytes.extend_from_slice(ip);
                frames.push(Frame {
                    secs: now.as_secs(),
                    micros: now.subsec_micros(),
                    bytes,
                });
            }
        }
        frames
    }
}

/// What a packet carries, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "proto", rename_all = "snake_case")]
pub enum Payload {
    Tcp {
        flags: u8,
        seq: u32,
        ack: u32,
        data: Vec<u8>,
    },
    Udp {
        data: Vec<u8>,
    },
    /// ICMP destination unreachable (type 3, or 1 for ICMPv6), with the
    /// destination of the datagram it answers.
    Unreachable {
        code: u8,
        /// The destination nobody listened on.
        about: Option<Addr>,
        /// The sender of the datagram it answers.
        sender: Option<Addr>,
    },
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Packet {
    pub src: Addr,
    pub dst: Addr,
    pub payload: Payload,
    /// The actor whose socket sent it, as the engine matched it by address.
    pub from: Option<usize>,
    /// The actor whose socket it is for.
    pub to: Option<usize>,
    /// In a run with hosts, the host whose loopback it crossed (`None` for
    /// a packet on the link, or in a run on one machine).
    #[serde(skip)]
    pub host: Option<usize>,
}

impl Packet {
    /// TCP flags, for a TCP segment.
    pub fn tcp_flags(&self) -> Option<u8> {
        match &self.payload {
            Payload::Tcp { flags, .. } => Some(*flags),
            _ => None,
        }
    }

    /// Whether this is a TCP segment with all of `flags` set.
    pub fn has(&self, flags: u8) -> bool {
        self.tcp_flags().is_some_and(|f| f & flags == flags)
    }

    /// The payload bytes, for TCP and UDP.
    pub fn data(&self) -> &[u8] {
        match &self.payload {
            Payload::Tcp { data, .. } | Payload::Udp { data } => data,
            _ => &[],
        }
    }
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Decodes an Ethernet frame from `lo` (its header is all zeros but for the
/// type) carrying IPv4 or IPv6 and TCP, UDP or ICMP.
pub fn decode(frame: &[u8]) -> Option<Packet> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = frame.get(14..)?;
    let (src_ip, dst_ip, proto, l4): (IpPair, IpPair, u8, &[u8]) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            (
                IpPair::V4(src),
                IpPair::V4(dst),
                ip[9],
                ip.get(ihl..total.min(ip.len()))?,
            )
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let next = ip[6];
            (
                IpPair::V6(src.into()),
                IpPair::V6(dst.into()),
                next,
                ip.get(40..(40 + plen).min(ip.len()))?,
            )
        }
        _ => return None,
    };
    let ports = |l4: &[u8]| -> Option<(u16, u16)> {
        Some((
            u16::from_be_bytes([*l4.first()?, *l4.get(1)?]),
            u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]),
        ))
    };
    match proto {
        6 => {
            let (sp, dp) = ports(l4)?;
            let seq = u32::from_be_bytes(l4.get(4..8)?.try_into().ok()?);
            let ack = u32::from_be_bytes(l4.get(8..12)?.try_into().ok()?);
            let off = usize::from(l4.get(12)? >> 4) * 4;
            let flags = *l4.get(13)?;
            Some(Packet {
                src: src_ip.with_port(sp),
                dst: dst_ip.with_port(dp),
                from: None,
                to: None,
                host: None,
                payload: Payload::Tcp {
                    flags,
                    seq,
                    ack,
                    data: l4.get(off..)?.to_vec(),
                },
            })
        }
        17 => {
            let (sp, dp) = ports(l4)?;
            Some(Packet {
                src: src_ip.with_port(sp),
                dst: dst_ip.with_port(dp),
                from: None,
                to: None,
                host: None,
                payload: Payload::Udp {
                    data: l4.get(8..)?.to_vec(),
                },
            })
        }
        // IPv6's neighbour discovery (router and neighbour solicitations
        // and advertisements, redirects) is not drawn, as ARP is not: it
        // finds link-layer addresses, and carries no lesson's data.
        58 if l4.first().is_some_and(|t| (133..=137).contains(t)) => None,
        1 | 58 => {
            let unreachable =
                (proto == 1 && l4.first() == Some(&3)) || (proto == 58 && l4.first() == Some(&1));
            // The ICMP error quotes the IP header and first bytes of the
            // datagram it answers: its destination is what was unreachable.
            let about = if unreachable {
                let inner = l4.get(8..)?;
                let mut f = vec![0u8; 12];
                f.extend_from_slice(if proto == 1 {
                    &[0x08, 0x00]
                } else {
                    &[0x86, 0xdd]
                });
                f.extend_from_slice(inner);
                decode(&f).map(|p| (p.dst, p.src))
            } else {
                None
            };
            let (about, sender) = match about {
                Some((d, s)) => (Some(d), Some(s)),
                None => (None, None),
            };
            Some(Packet {
                src: src_ip.with_port(0),
                dst: dst_ip.with_port(0),
                from: None,
                to: None,
                host: None,
                payload: if unreachable {
                    Payload::Unreachable {
                        code: l4[1],
                        about,
                        sender,
                    }
                } else {
                    Payload::Other
                },
            })
        }
        _ => None,
    }
}

enum IpPair {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl IpPair {
    fn with_port(&self, port: u16) -> Addr {
        match self {
            IpPair::V4(ip) => Addr::V4(SocketAddrV4::new(*ip, port)),
            IpPair::V6(ip) => Addr::V6(SocketAddrV6::new(*ip, port, 0, 0)),
        }
    }
}

/// Writes frames as a pcap file (link type Ethernet), as Wireshark and
/// tshark read it.
pub fn write_pcap(w: &mut impl std::io::Write, frames: &[Frame]) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(24);
    head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    head.extend_from_slice(&2u16.to_le_bytes());
    head.extend_from_slice(&4u16.to_le_bytes());
    head.extend_from_slice(&0i32.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&262_144u32.to_le_bytes());
    head.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&head)?;
    for f in frames {
        let len = f.bytes.len() as u32;
        let mut rec = Vec::with_capacity(16 + f.bytes.len());
        rec.extend_from_slice(&(f.secs as u32).to_le_bytes());
        rec.extend_from_slice(&f.micros.to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&f.bytes);
        w.write_all(&rec)?;
    }
    Ok(())
}
