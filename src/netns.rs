//! A private network namespace for a run: its own loopback, its own ports.
//!
//! The hub process creates it (an unprivileged user namespace owning a new
//! network namespace, then `lo` brought up); actors join the hub's namespaces
//! through `/proc/PID/ns`. Both run in freshly started, single-threaded
//! processes, as `unshare` and `setns` of a user namespace require.

use crate::netlink::Msg;
use crate::wire::SetupError;
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{getgid, getuid};
use std::fs::{self, File};
use std::os::fd::{AsRawFd, OwnedFd};

/// Creates a user and network namespace for the calling process and brings
/// its loopback up.
pub fn create() -> Result<(), SetupError> {
    let (uid, gid) = (getuid(), getgid());
    match unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET) {
        Ok(()) => {
            // Keep the same uid and gid inside, so files made by the run
            // (unix socket paths) belong to the user who ran it.
            let _ = fs::write("/proc/self/setgroups", "deny");
            fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
                .map_err(|e| SetupError::IdMap(e.raw_os_error().unwrap_or(0)))?;
            fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
                .map_err(|e| SetupError::IdMap(e.raw_os_error().unwrap_or(0)))?;
            // The TCP and UDP hash tables are shared by every namespace
            // unless a namespace is made with its own: a second, nested
            // network namespace gets small ones, so reading the run's
            // sockets from /proc/net does not walk the host's whole table.
            // (Best effort: kernels before 6.1 lack these settings.)
            let small = fs::write("/proc/sys/net/ipv4/tcp_child_ehash_entries", "256").is_ok();
            let _ = fs::write("/proc/sys/net/ipv4/udp_child_hash_entries", "256");
            if small {
                unshare(CloneFlags::CLONE_NEWNET).map_err(|e| SetupError::Nested(e as i32))?;
            }
        }
        // Without user namespaces a privileged process can still make a
        // network namespace of its own.
        Err(user) => unshare(CloneFlags::CLONE_NEWNET).map_err(|net| SetupError::Unshare {
            user: user as i32,
            net: net as i32,
        })?,
    }
    loopback_up("lo").map_err(|e| SetupError::Loopback(e as i32))?;
    // Without delayed ACKs, what the kernel sends after a step does not
    // depend on how long the step took (a delayed ACK leaves after 40 ms or
    // more, or rides on the next segment): runs are the same every time.
    quickack_routes().map_err(|e| SetupError::Quickack(e as i32))
}

/// Sets `quickack 1` on the loopback's local routes, as
/// `ip route replace local 127.0.0.0/8 dev lo table local ... quickack 1`
/// would (for 127.0.0.0/8, 127.0.0.1 and ::1).
fn quickack_routes() -> nix::Result<()> {
    let nl = route_socket()?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    let v4 = |dst: [u8; 4], len| Route {
        family: libc::AF_INET as u8,
        dst: dst.to_vec(),
        dst_len: len,
        src: Some([127, 0, 0, 1].to_vec()),
    };
    let flags = (libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16;
    rtnl(
        &nl,
        libc::RTM_NEWROUTE,
        flags,
        &v4([127, 0, 0, 0], 8),
        lo,
        true,
    )?;
    rtnl(
        &nl,
        libc::RTM_NEWROUTE,
        flags,
        &v4([127, 0, 0, 1], 32),
        lo,
        true,
    )?;
    // IPv6 gives a new route metric 1024, below the kernel's own metric 0
    // route, so that one is deleted first.
    let v6 = Route {
        family: libc::AF_INET6 as u8,
        dst: std::net::Ipv6Addr::LOCALHOST.octets().to_vec(),
        dst_len: 128,
        src: None,
    };
    if rtnl(&nl, libc::RTM_DELROUTE, 0, &v6, lo, false).is_ok() {
        rtnl(&nl, libc::RTM_NEWROUTE, flags, &v6, lo, true)?;
    }
    Ok(())
}

struct Route {
    family: u8,
    dst: Vec<u8>,
    dst_len: u8,
    src: Option<Vec<u8>>,
}

/// A routing netlink request, acknowledged: its header and fixed part.
struct Nl(Msg);

impl Nl {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Nl {
        let flags = libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16 | flags;
        Nl(Msg::new(kind, flags, 1, fixed))
    }

    fn attr(self, kind: u16, data: &[u8]) -> Nl {
        Nl(self.0.attr(kind, data))
    }

    fn str(self, kind: u16, s: &str) -> Nl {
        Nl(self.0.str(kind, s))
    }

    fn begin(self, kind: u16) -> Nl {
        Nl(self.0.begin(kind))
    }

    fn begin_with(self, kind: u16, fixed: &[u8]) -> Nl {
        Nl(self.0.begin_with(kind, fixed))
    }

    fn end(self) -> Nl {
        Nl(self.0.end())
    }

    /// Sends the request and reads the kernel's answer.
    fn send(self, nl: &OwnedFd) -> nix::Result<()> {
        nix::unistd::write(nl, &self.0.done())?;
        let mut ack = [0u8; 1024];
        let n = nix::unistd::read(nl, &mut ack)?;
        // An NLMSG_ERROR message: its error code follows the 16-byte header.
        if n >= 20 && u16::from_ne_bytes([ack[4], ack[5]]) == libc::NLMSG_ERROR as u16 {
            let code = i32::from_ne_bytes([ack[16], ack[17], ack[18], ack[19]]);
            if code != 0 {
                return Err(nix::errno::Errno::from_raw(-code));
            }
        }
        Ok(())
    }
}

/// A routing netlink socket in the calling process's network namespace.
fn route_socket() -> nix::Result<OwnedFd> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
    socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
}

/// RTAX_QUICKACK, from linux/rtnetlink.h (libc does not have it), as an
/// RTA_METRICS payload.
fn quickack_metric() -> Vec<u8> {
    let mut metrics = Vec::new();
    metrics.extend_from_slice(&8u16.to_ne_bytes());
    metrics.extend_from_slice(&15u16.to_ne_bytes());
    metrics.extend_from_slice(&1u32.to_ne_bytes());
    metrics
}

/// Sends one route request for a local route on interface `lo` (or the
/// link) and reads the answer.
fn rtnl(
    nl: &OwnedFd,
    kind: u16,
    flags: u16,
    r: &Route,
    lo: u32,
    quickack: bool,
) -> nix::Result<()> {
    let mut fixed = vec![
        r.family,
        r.dst_len,
        0,                    // rtm_src_len
        0,                    // rtm_tos
        libc::RT_TABLE_LOCAL, // rtm_table
        libc::RTPROT_KERNEL,  // rtm_protocol
        libc::RT_SCOPE_HOST,  // rtm_scope
        libc::RTN_LOCAL,      // rtm_type
    ];
    fixed.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    let mut msg = Nl::new(kind, flags, &fixed)
        .attr(libc::RTA_DST, &r.dst)
        .attr(libc::RTA_OIF, &lo.to_ne_bytes());
    if let Some(src) = &r.src {
        msg = msg.attr(libc::RTA_PREFSRC, src);
    }
    if quickack {
        msg = msg.attr(libc::RTA_METRICS, &quickack_metric());
    }
    msg.send(nl)
}

/// The link between the hosts of a run: each host's end is `eth0`.
pub const LINK: &str = "eth0";

/// Host `i`'s addresses on the link (0-based): 192.0.2.(i+1) and
/// 2001:db8::(i+1), from the ranges kept for documentation.
pub fn host_addrs(i: usize) -> (std::net::Ipv4Addr, std::net::Ipv6Addr) {
    let n = (i + 1) as u8;
    (
        std::net::Ipv4Addr::new(192, 0, 2, n),
        std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n)),
    )
}

/// Whether `ip` is in the link's prefixes (192.0.2.0/24, 2001:db8::/32).
pub fn on_link(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => a.octets()[..3] == [192, 0, 2],
        std::net::IpAddr::V6(a) => a.segments()[..2] == [0x2001, 0xdb8],
    }
}

/// Which of a run's `hosts` hosts has `ip` on the link.
pub fn host_with(ip: std::net::IpAddr, hosts: usize) -> Option<usize> {
    (0..hosts).find(|&h| {
        let (v4, v6) = host_addrs(h);
        ip == std::net::IpAddr::V4(v4) || ip == std::net::IpAddr::V6(v6)
    })
}

/// Host `i`'s link-layer address: fixed, so that nothing of a run depends
/// on what the kernel would pick.
fn host_mac(i: usize) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, (i + 1) as u8]
}

/// Makes a second host for the run: a network namespace of its own (with
/// its loopback, as the first one's), joined to the caller's by a veth
/// pair, `eth0` on each side, with the documentation addresses, routes
/// that acknowledge at once, and each other's link-layer address written
/// in (no ARP or neighbour discovery crosses the link). Returns the two
/// namespaces, the caller's first; the caller is back in its own.
pub fn link_second_host() -> Result<[OwnedFd; 2], SetupError> {
    let link = |e: nix::errno::Errno| SetupError::Link(e as i32);
    let open = || {
        File::open("/proc/self/ns/net")
            .map(OwnedFd::from)
            .map_err(|e| SetupError::Link(e.raw_os_error().unwrap_or(0)))
    };
    let first = open()?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(link)?;
    loopback_up("lo").map_err(link)?;
    quickack_routes().map_err(|e| SetupError::Quickack(e as i32))?;
    let second = open()?;
    // The pair, made here with its peer put in the first namespace.
    let info = {
        let mut f = vec![0u8; 16]; // ifinfomsg: all zero
        f[0] = libc::AF_UNSPEC as u8;
        f
    };
    Nl::new(
        libc::RTM_NEWLINK,
        (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16,
        &info,
    )
    .str(libc::IFLA_IFNAME, LINK)
    .attr(libc::IFLA_ADDRESS, &host_mac(1))
    .begin(libc::IFLA_LINKINFO)
    .str(libc::IFLA_INFO_KIND, "veth")
    .begin(libc::IFLA_INFO_DATA)
    .begin_with(1, &info) // VETH_INFO_PEER
    .str(libc::IFLA_IFNAME, LINK)
    .attr(libc::IFLA_ADDRESS, &host_mac(0))
    .attr(libc::IFLA_NET_NS_FD, &first.as_raw_fd().to_ne_bytes())
    .end()
    .end()
    .end()
    .send(&route_socket().map_err(link)?)
    .map_err(link)?;
    for (i, ns) in [&second, &first].into_iter().enumerate() {
        let me = 1 - i;
        setns(ns, CloneFlags::CLONE_NEWNET).map_err(link)?;
        set_up_link(me, 1 - me).map_err(link)?;
    }
    Ok([first, second])
}

/// Gives this host's end of the link its addresses and routes, the other
/// host's link-layer address, and brings it up.
fn set_up_link(me: usize, other: usize) -> nix::Result<()> {
    // No IPv6 link-local address, autoconfiguration or duplicate address
    // detection. (What still crosses the link uninvited, the multicast
    // listener reports IPv6 sends as the addresses come up, is not drawn:
    // the capture decodes TCP, UDP and ICMP only.)
    for (name, value) in [
        ("addr_gen_mode", "1"),
        ("accept_dad", "0"),
        ("dad_transmits", "0"),
        ("accept_ra", "0"),
        ("autoconf", "0"),
        ("router_solicitations", "0"),
    ] {
        fs::write(format!("/proc/sys/net/ipv6/conf/{LINK}/{name}"), value)
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    }
    let nl = route_socket()?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c"eth0".as_ptr()) };
    if index == 0 {
        return Err(nix::errno::Errno::last());
    }
    let (v4, v6) = host_addrs(me);
    let (o4, o6) = host_addrs(other);
    // IFA_F_NODAD | IFA_F_NOPREFIXROUTE: usable at once, and the route to
    // the link's prefix is added below, with quickack.
    let flags: u32 = 0x02 | 0x200;
    for (family, len, addr) in [
        (libc::AF_INET, 24u8, v4.octets().to_vec()),
        (libc::AF_INET6, 32u8, v6.octets().to_vec()),
    ] {
        let mut fixed = vec![family as u8, len, 0, 0];
        fixed.extend_from_slice(&index.to_ne_bytes());
        Nl::new(
            libc::RTM_NEWADDR,
            (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16,
            &fixed,
        )
        .attr(libc::IFA_LOCAL, &addr)
        .attr(libc::IFA_ADDRESS, &addr)
        .attr(libc::IFA_FLAGS, &flags.to_ne_bytes())
        .send(&nl)?;
    }
    loopback_up(LINK)?;
    // The local route of the host's own IPv4 link address acknowledges at
    // once too (a host may connect to its own address), as lo's do. (IPv6
    // adds its local route, metric 0, when the link has a carrier, which
    // may come after this: it is left as the kernel makes it.)
    let local4 = Route {
        family: libc::AF_INET as u8,
        dst: v4.octets().to_vec(),
        dst_len: 32,
        src: Some(v4.octets().to_vec()),
    };
    let replace = (libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16;
    rtnl(&nl, libc::RTM_NEWROUTE, replace, &local4, index, true)?;
    for (family, len, prefix, src) in [
        (
            libc::AF_INET,
            24u8,
            vec![192, 0, 2, 0],
            Some(v4.octets().to_vec()),
        ),
        (
            libc::AF_INET6,
            32u8,
            vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            None,
        ),
    ] {
        let mut fixed = vec![
            family as u8,
            len,
            0,
            0,
            libc::RT_TABLE_MAIN,
            libc::RTPROT_KERNEL,
            libc::RT_SCOPE_LINK,
            libc::RTN_UNICAST,
        ];
        if family == libc::AF_INET6 {
            fixed[6] = libc::RT_SCOPE_UNIVERSE;
        }
        fixed.extend_from_slice(&0u32.to_ne_bytes());
        let mut msg = Nl::new(
            libc::RTM_NEWROUTE,
            (libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16,
            &fixed,
        )
        .attr(libc::RTA_DST, &prefix)
        .attr(libc::RTA_OIF, &index.to_ne_bytes());
        if let Some(src) = src {
            msg = msg.attr(libc::RTA_PREFSRC, &src);
        }
        msg.attr(libc::RTA_METRICS, &quickack_metric()).send(&nl)?;
    }
    for (family, addr) in [
        (libc::AF_INET, o4.octets().to_vec()),
        (libc::AF_INET6, o6.octets().to_vec()),
    ] {
        // ndmsg: family, padding, ifindex, state NUD_PERMANENT, flags, type.
        let mut fixed = vec![family as u8, 0, 0, 0];
        fixed.extend_from_slice(&(index as i32).to_ne_bytes());
        fixed.extend_from_slice(&0x80u16.to_ne_bytes());
        fixed.extend_from_slice(&[0, 0]);
        Nl::new(
            libc::RTM_NEWNEIGH,
            (libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16,
            &fixed,
        )
        .attr(libc::NDA_DST, &addr)
        .attr(libc::NDA_LLADDR, &host_mac(other))
        .send(&nl)?;
    }
    Ok(())
}

/// Joins the user (if different) and network namespaces of process `pid`.
pub fn join(pid: i32) -> Result<(), SetupError> {
    let ns = |name: &str| {
        File::open(format!("/proc/{pid}/ns/{name}"))
            .map_err(|e| SetupError::Join(e.raw_os_error().unwrap_or(0)))
    };
    let theirs = fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    let ours = fs::read_link("/proc/self/ns/user").ok();
    if theirs != ours {
        setns(ns("user")?, CloneFlags::CLONE_NEWUSER).map_err(|e| SetupError::Join(e as i32))?;
    }
    setns(ns("net")?, CloneFlags::CLONE_NEWNET).map_err(|e| SetupError::Join(e as i32))
}

/// Brings interface `name` up.
fn loopback_up(name: &str) -> nix::Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; the name is NUL-terminated within
    // IFNAMSIZ and the ioctls read and write only the struct.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes().chain([0])) {
            *dst = src as libc::c_char;
        }
        nix::errno::Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req))?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        nix::errno::Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req))?;
    }
    Ok(())
}

/// Drops every capability, for good: an actor in the run's namespace then
/// has what a program run by an ordinary user has (binding a port below
/// 1024 fails with EACCES, as it would on the student's machine), not
/// the owner's powers over the namespace sockstep made.
pub fn drop_privileges() -> Result<(), SetupError> {
    // SAFETY: prctl and capset with plain integer arguments and a header
    // and data struct that outlive the call.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        for cap in 0..=63 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                break;
            }
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        // _LINUX_CAPABILITY_VERSION_3: two 32-bit words of each set.
        let mut header = Header {
            version: 0x2008_0522,
            pid: 0,
        };
        let data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        let r = libc::syscall(libc::SYS_capset, &mut header, data.as_ptr());
        if r != 0 {
            return Err(SetupError::Join(nix::errno::Errno::last_raw()));
        }
    }
    Ok(())
}
