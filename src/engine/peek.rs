//! A look at an actor's socket from the engine, without a round trip: a
//! copy of the fd taken with pidfd_getfd, asked with getsockopt, closed at
//! once (a copy kept would keep the connection open).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A pidfd for one actor's process.
pub struct Peek {
    pidfd: OwnedFd,
}

/// A listening TCP socket's queue, as TCP_INFO tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    /// Connections waiting in the accept queue.
    pub queued: u32,
    /// The backlog listen() was given (as the kernel capped it).
    pub backlog: u32,
}

impl Peek {
    /// A pidfd the hub (or a forking actor) passed on.
    pub fn from_pidfd(pidfd: OwnedFd) -> Peek {
        Peek { pidfd }
    }

    /// Waits until the process has ended (its fds closed by the kernel), at
    /// most `timeout`; whether it has.
    pub fn wait_exit(&self, timeout: std::time::Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) > 0 }
    }

    /// How the process ended, while it waits to be reaped by a parent that
    /// is not the hub (an actor that forked it): the exit status the kernel
    /// keeps for a zombie, read from /proc. (signal, exit code).
    pub fn exit_status(&self) -> Option<(Option<i32>, Option<i32>)> {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.pidfd.as_raw_fd()))
            .ok()?;
        let pid: i32 = info
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))?
            .trim()
            .parse()
            .ok()?;
        if pid <= 0 {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command's closing parenthesis start at the
        // third, the state; exit_code is the 52nd.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        if fields.first() != Some(&"Z") {
            return None;
        }
        let status: i32 = fields.get(49)?.parse().ok()?;
        Some(if status & 0x7f != 0 {
            (Some(status & 0x7f), None)
        } else {
            (None, Some((status >> 8) & 0xff))
        })
    }

    /// A copy of the actor's `fd`, to be dropped before the actor runs on.
    pub fn fd(&self, fd: i32) -> Option<OwnedFd> {
        // SAFETY: pidfd_getfd takes a pidfd, a target fd and flags and
        // returns a new fd in this process.
        let copy = unsafe {
            libc::syscall(
                libc::SYS_pidfd_getfd,
                self.pidfd.as_raw_fd(),
                fd as libc::c_int,
                0,
            )
        };
        if copy < 0 {
            return None;
        }
        // SAFETY: as above.
        Some(unsafe { OwnedFd::from_raw_fd(copy as i32) })
    }

    /// The bytes waiting to be read from the actor's socket `fd`, and those
    /// sent and not yet acknowledged (SIOCINQ, SIOCOUTQ): what a socket the
    /// kernel's tables no longer list (a reset one) still holds.
    pub fn queues(&self, fd: i32) -> Option<(u32, u32)> {
        let copy = self.fd(fd)?;
        let (mut inq, mut outq): (libc::c_int, libc::c_int) = (0, 0);
        // SAFETY: each ioctl writes one int.
        let ok = unsafe {
            libc::ioctl(copy.as_raw_fd(), libc::FIONREAD, &mut inq) == 0
                && libc::ioctl(copy.as_raw_fd(), libc::TIOCOUTQ, &mut outq) == 0
        };
        ok.then_some((inq.max(0) as u32, outq.max(0) as u32))
    }

    /// The accept queue of the actor's listening TCP socket `fd`; `None`
    /// when the socket cannot be looked at or is not listening.
    pub fn listening(&self, fd: i32) -> Option<Listening> {
        let copy = self.fd(fd)?;
        let mut info = [0u8; 104];
        let mut len = info.len() as libc::socklen_t;
        // SAFETY: info and len are valid for the kernel to write into.
        let r = unsafe {
            libc::getsockopt(
                copy.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        // tcpi_state is LISTEN (10); tcpi_unacked and tcpi_sacked hold the
        // accept queue's length and its limit.
        if r != 0 || len < 32 || info[0] != 10 {
            return None;
        }
        let u32_at = |i: usize| u32::from_ne_bytes(info[i..i + 4].try_into().unwrap_or_default());
        Some(Listening {
            queued: u32_at(24),
            backlog: u32_at(28),
        })
    }
}
