//! Child processes of a run, each with its end of a control channel.

use crate::wire::{self, HUB_FD, Reply, Request};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub struct Proc {
    /// `None` for a process another actor forked: that actor is its parent,
    /// and reaps it.
    child: Option<Child>,
    pid: u32,
    ctl: UnixStream,
    watchdog: Duration,
}

impl Proc {
    /// Starts `exe args` (the hub) with the control channel at HUB_FD, in
    /// its own process group (Ctrl-C goes to the engine, which ends the
    /// run), killed if the engine dies.
    pub fn spawn(exe: &Path, args: &[String], dir: &Path, watchdog: Duration) -> io::Result<Proc> {
        let (ours, theirs) = UnixStream::pair()?;
        let fd = theirs.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("SOCKSTEP_DEBUG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        // SAFETY: between fork and exec only async-signal-safe calls are made
        // (dup2, fcntl, prctl, setpgid, getppid, kill), with no allocation.
        unsafe {
            cmd.pre_exec(move || {
                if fd == HUB_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                } else if libc::dup2(fd, HUB_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        drop(theirs);
        ours.set_read_timeout(Some(watchdog))?;
        Ok(Proc {
            pid: child.id(),
            child: Some(child),
            ctl: ours,
            watchdog,
        })
    }

    /// An actor the hub started (or an actor forked), driven over `ctl`;
    /// the hub reaps it.
    pub fn adopt(pid: u32, ctl: UnixStream, watchdog: Duration) -> io::Result<Proc> {
        ctl.set_read_timeout(Some(watchdog))?;
        Ok(Proc {
            child: None,
            pid,
            ctl,
            watchdog,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends a request with an fd attached.
    pub fn send_fd(&mut self, req: &Request, fd: std::os::fd::RawFd) -> io::Result<()> {
        wire::send_fd(&self.ctl, req, fd)
    }

    pub fn watchdog(&self) -> Duration {
        self.watchdog
    }

    /// How long to wait for the next answer (the watchdog's time, or more
    /// while a kernel timer is let fire).
    pub fn set_timeout(&mut self, timeout: Duration) {
        let _ = self.ctl.set_read_timeout(Some(timeout));
    }

    pub fn send(&mut self, req: &Request) -> io::Result<()> {
        wire::send(&mut self.ctl, req)
    }

    /// The next reply; `None` when the process has closed the channel.
    pub fn recv(&mut self) -> io::Result<Option<Reply>> {
        wire::recv(&mut self.ctl)
    }

    /// The next reply and the fd that may come with it.
    pub fn recv_fd(&mut self) -> io::Result<(Option<Reply>, Option<std::os::fd::OwnedFd>)> {
        wire::recv_fd(&self.ctl)
    }

    /// Waits for the process to end: its signal or exit code. For a
    /// process the hub started, the hub reaps it and tells.
    pub fn reap(self) -> (Option<i32>, Option<i32>) {
        drop(self.ctl);
        match self.child {
            Some(mut child) => match child.wait() {
                Ok(status) => (status.signal(), status.code()),
                Err(_) => (None, None),
            },
            None => (None, None),
        }
    }

    pub fn kill(self) {
        match self.child {
            Some(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            None => {
                let pid = nix::unistd::Pid::from_raw(self.pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGKILL);
            }
        }
    }
}

/// A fresh directory for the run: actors start there, so relative unix
/// socket paths stay private to the run.
pub fn make_run_dir() -> io::Result<PathBuf> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sockstep-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// Makes, inside the run's directory, the directories the lesson's unix
/// socket paths name (`/tmp/echo.sock` needs `tmp`), as the actors, who
/// see the run's directory as `/`, will look for them. `..` cannot climb
/// out of it.
pub fn make_dirs(run_dir: &Path, paths: &[String]) -> io::Result<()> {
    for p in paths {
        let mut dir = PathBuf::new();
        let parts: Vec<&str> = p.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            match *part {
                "" | "." => {}
                ".." => {
                    dir.pop();
                }
                name => dir.push(name),
            }
        }
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(run_dir.join(dir))?;
        }
    }
    Ok(())
}

/// A port of the host's loopback reserved for this run: free now (TCP and
/// UDP, no TIME-WAIT on it), below the kernel's ephemeral range (so no
/// connect() picks it), and locked for the run (so no other sockstep run
/// takes it) until the lock is dropped. The lock is a unix socket bound to
/// an abstract name of the port's: the host's network has one of each
/// name, and it goes with the process, leaving no file behind.
pub fn reserve_port(taken: &[u16]) -> Option<(u16, std::os::unix::net::UnixDatagram)> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    // Start somewhere of this process's own, so parallel runs seldom meet.
    let span = 22_000u32;
    let start = (std::process::id().wrapping_mul(2654435761) >> 8) % span;
    for i in 0..span {
        let port = (10_000 + (start + i * 7) % span) as u16;
        if taken.contains(&port) {
            continue;
        }
        let Ok(name) = SocketAddr::from_abstract_name(format!("sockstep-port-{port}")) else {
            continue;
        };
        let Ok(lock) = UnixDatagram::bind_addr(&name) else {
            continue;
        };
        let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok();
        if free {
            return Some((port, lock));
        }
    }
    None
}
