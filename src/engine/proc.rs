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

/// How long the engine looks for an answer before it sleeps for it.
const SPIN: Duration = Duration::from_micros(300);

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
        wire::recv_spinning(&mut self.ctl, SPIN)
    }

    /// The next reply and the fd that may come with it.
    pub fn recv_fd(&mut self) -> io::Result<(Option<Reply>, Option<std::os::fd::OwnedFd>)> {
        self.spin();
        wire::recv_fd(&self.ctl)
    }

    /// Waits a little for the reply without sleeping: an actor answers
    /// within microseconds (it never blocks).
    fn spin(&self) {
        wire::spin_until_readable(self.ctl.as_raw_fd(), SPIN);
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

/// The run's own directory, in TMPDIR: actors start there (and see it as
/// `/`), so unix socket paths stay private to the run. Beside it, a lock
/// file held while the run lives: a run that was killed leaves both, and
/// the next run, finding the lock free, removes them.
pub struct RunDir {
    path: PathBuf,
    lock_path: PathBuf,
    _lock: std::fs::File,
}

impl RunDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Makes the run's directory, and removes those of runs that were killed.
pub fn make_run_dir() -> io::Result<RunDir> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let tmp = std::env::temp_dir();
    remove_stale(&tmp);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let name = format!("sockstep-{}-{n}", std::process::id());
    let lock_path = tmp.join(format!("{name}.lock"));
    // Locked under a name no sweep looks at, then renamed: a lock file is
    // never seen unlocked while its run lives.
    let fresh = tmp.join(format!(".{name}.lock.new"));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&fresh)?;
    if !try_lock(&lock) {
        let _ = std::fs::remove_file(&fresh);
        return Err(io::Error::other(format!(
            "{} is locked by another run",
            fresh.display()
        )));
    }
    std::fs::rename(&fresh, &lock_path)?;
    let path = tmp.join(&name);
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir(&path)?;
    Ok(RunDir {
        path,
        lock_path,
        _lock: lock,
    })
}

/// An exclusive lock on `file`, if no other process holds one.
fn try_lock(file: &std::fs::File) -> bool {
    // SAFETY: flock on a valid fd.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Removes the directories (and lock files) in `tmp` of runs whose lock no
/// process holds: runs that were killed before they could clean up.
fn remove_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(run) = name
            .to_str()
            .and_then(|n| n.strip_prefix("sockstep-"))
            .and_then(|n| n.strip_suffix(".lock"))
        else {
            continue;
        };
        // Only names this code makes: sockstep-PID-N.lock.
        if !run
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        let lock_path = e.path();
        // A symlink is not a lock this code made.
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(lock) = std::fs::OpenOptions::new().write(true).open(&lock_path) else {
            continue;
        };
        if try_lock(&lock) {
            let dir = tmp.join(format!("sockstep-{run}"));
            if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let _ = std::fs::remove_file(&lock_path);
        }
    }
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
