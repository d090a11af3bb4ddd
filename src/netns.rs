//! A private network namespace for a run: its own loopback, its own ports.
//!
//! The hub process creates it (an unprivileged user namespace owning a new
//! network namespace, then `lo` brought up); actors join the hub's namespaces
//! through `/proc/PID/ns`. Both run in freshly started, single-threaded
//! processes, as `unshare` and `setns` of a user namespace require.

use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{getgid, getuid};
use std::fs::{self, File};
use std::os::fd::AsRawFd;

/// Creates a user and network namespace for the calling process and brings
/// its loopback up.
pub fn create() -> Result<(), String> {
    let (uid, gid) = (getuid(), getgid());
    match unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET) {
        Ok(()) => {
            // Keep the same uid and gid inside, so files made by the run
            // (unix socket paths) belong to the user who ran it.
            let _ = fs::write("/proc/self/setgroups", "deny");
            fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
                .map_err(|e| format!("cannot write uid_map: {e}"))?;
            fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
                .map_err(|e| format!("cannot write gid_map: {e}"))?;
            // The TCP and UDP hash tables are shared by every namespace
            // unless a namespace is made with its own: a second, nested
            // network namespace gets small ones, so reading the run's
            // sockets from /proc/net does not walk the host's whole table.
            // (Best effort: kernels before 6.1 lack these settings.)
            let small = fs::write("/proc/sys/net/ipv4/tcp_child_ehash_entries", "256").is_ok();
            let _ = fs::write("/proc/sys/net/ipv4/udp_child_hash_entries", "256");
            if small {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("cannot make a nested network namespace: {}", e.desc()))?;
            }
        }
        // Without user namespaces a privileged process can still make a
        // network namespace of its own.
        Err(user_err) => unshare(CloneFlags::CLONE_NEWNET).map_err(|net_err| {
            format!(
                "unshare(CLONE_NEWUSER|CLONE_NEWNET) failed with {}, unshare(CLONE_NEWNET) with {}",
                user_err.desc(),
                net_err.desc()
            )
        })?,
    }
    loopback_up().map_err(|e| format!("cannot bring lo up: {}", e.desc()))
}

/// Joins the user (if different) and network namespaces of process `pid`.
pub fn join(pid: i32) -> Result<(), String> {
    let ns = |name: &str| {
        File::open(format!("/proc/{pid}/ns/{name}"))
            .map_err(|e| format!("cannot open /proc/{pid}/ns/{name}: {e}"))
    };
    let theirs = fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    let ours = fs::read_link("/proc/self/ns/user").ok();
    if theirs != ours {
        setns(ns("user")?, CloneFlags::CLONE_NEWUSER)
            .map_err(|e| format!("cannot join the user namespace: {}", e.desc()))?;
    }
    setns(ns("net")?, CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot join the network namespace: {}", e.desc()))
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
