//! A private network namespace for a run: its own loopback, its own ports.
//!
//! The hub process creates it (an unprivileged user namespace owning a new
//! network namespace, then `lo` brought up); actors join the hub's namespaces
//! through `/proc/PID/ns`. Both run in freshly started, single-threaded
//! processes, as `unshare` and `setns` of a user namespace require.

use crate::wire::SetupError;
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{getgid, getuid};
use std::fs::{self, File};
use std::os::fd::AsRawFd;

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
    loopback_up().map_err(|e| SetupError::Loopback(e as i32))?;
    // Without delayed ACKs, what the kernel sends after a step does not
    // depend on how long the step took (a delayed ACK leaves after 40 ms or
    // more, or rides on the next segment): runs are the same every time.
    quickack_routes().map_err(|e| SetupError::Quickack(e as i32))
}

/// Sets `quickack 1` on the loopback's local routes, as
/// `ip route replace local 127.0.0.0/8 dev lo table local ... quickack 1`
/// would (for 127.0.0.0/8, 127.0.0.1 and ::1).
fn quickack_routes() -> nix::Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};
    let nl = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
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

/// Sends one route request for a local route on `lo` and reads the answer.
fn rtnl(
    nl: &std::os::fd::OwnedFd,
    kind: u16,
    flags: u16,
    r: &Route,
    lo: u32,
    quickack: bool,
) -> nix::Result<()> {
    fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
        buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(data);
        while !buf.len().is_multiple_of(4) {
            buf.push(0);
        }
    }
    let mut body = vec![
        r.family,
        r.dst_len,
        0,                    // rtm_src_len
        0,                    // rtm_tos
        libc::RT_TABLE_LOCAL, // rtm_table
        libc::RTPROT_KERNEL,  // rtm_protocol
        libc::RT_SCOPE_HOST,  // rtm_scope
        libc::RTN_LOCAL,      // rtm_type
    ];
    body.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    attr(&mut body, libc::RTA_DST, &r.dst);
    attr(&mut body, libc::RTA_OIF, &lo.to_ne_bytes());
    if let Some(src) = &r.src {
        attr(&mut body, libc::RTA_PREFSRC, src);
    }
    if quickack {
        let mut metrics = Vec::new();
        // RTAX_QUICKACK, from linux/rtnetlink.h (libc does not have it).
        attr(&mut metrics, 15, &1u32.to_ne_bytes());
        attr(&mut body, libc::RTA_METRICS, &metrics);
    }
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(
        &(libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16 | flags).to_ne_bytes(),
    );
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
    msg.extend_from_slice(&body);
    nix::unistd::write(nl, &msg)?;
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

fn loopback_up() -> nix::Result<()> {
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
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
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
