//! The hub: the process that holds a run's namespaces and starts its
//! actors.
//!
//! `sockstep __hub` makes the run's user and network namespaces, then a PID
//! namespace whose first process (its init) is the hub proper: it opens the
//! packet and sock_diag sockets the engine asks for, forks each actor on
//! request (already in every namespace, so an actor costs a fork, not an
//! exec), and reaps every process of the run. When the hub dies, the kernel
//! kills every process in its PID namespace: no actor, and no process an
//! actor forked, can outlive the run, even after `kill -9` of sockstep.
//!
//! On the host's network (no user namespace), there is no PID namespace:
//! the hub is a subreaper for the run's processes, and each of them dies
//! with its parent (PR_SET_PDEATHSIG).

use crate::wire::{self, HUB_FD, Reply, Request, SetupError};
use nix::errno::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

/// Entry point of `sockstep __hub [--host | --hosts 2]`.
pub fn hub_main(host: bool, hosts: usize) -> ExitCode {
    close_fds_from(HUB_FD + 1);
    // SAFETY: the engine passes the hub's channel at HUB_FD and nothing
    // else in this process owns it.
    let mut ctl = unsafe { UnixStream::from_raw_fd(HUB_FD) };
    let setup = if host { Ok(()) } else { crate::netns::create() };
    // A second host: its namespace, and the link to the first.
    let setup = setup.and_then(|()| match hosts {
        2 => crate::netns::link_second_host().map(Vec::from),
        _ => Ok(Vec::new()),
    });
    let namespaces = match setup {
        Ok(n) => n,
        Err(e) => {
            let _ = wire::send(&mut ctl, &Reply::SetupFailed(e));
            return ExitCode::FAILURE;
        }
    };
    if host {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        return serve(ctl, true, namespaces);
    }
    // A PID namespace: its first process is the run's init.
    if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).is_err() {
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        return serve(ctl, false, namespaces);
    }
    // SAFETY: the hub is single-threaded here; the child goes on with its
    // own copy of the channel.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // The init dies with the hub (and then the kernel kills every
            // process of the namespace).
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            serve(ctl, false, namespaces)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(ctl);
            // The hub waits for its init, and ends as it ends.
            loop {
                match nix::sys::wait::waitpid(child, None) {
                    Err(Errno::EINTR) => continue,
                    Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => {
                        return ExitCode::from(code as u8);
                    }
                    _ => return ExitCode::FAILURE,
                }
            }
        }
        Err(e) => {
            let _ = wire::send(&mut ctl, &Reply::SetupFailed(SetupError::Join(e as i32)));
            ExitCode::FAILURE
        }
    }
}

/// Closes every fd from `first` up (whatever a parent left open).
pub fn close_fds_from(first: i32) {
    // SAFETY: close_range only closes descriptors; none of them is owned by
    // Rust code in this freshly started process.
    unsafe {
        libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0);
    }
}

/// The hub's loop: answers the engine, and reaps the run's processes as
/// they end (a SIGCHLD signalfd beside the channel).
fn serve(mut ctl: UnixStream, host: bool, namespaces: Vec<OwnedFd>) -> ExitCode {
    let mut mask = nix::sys::signal::SigSet::empty();
    mask.add(nix::sys::signal::Signal::SIGCHLD);
    let _ = mask.thread_block();
    let sigfd = nix::sys::signalfd::SignalFd::with_flags(
        &mask,
        nix::sys::signalfd::SfdFlags::SFD_NONBLOCK | nix::sys::signalfd::SfdFlags::SFD_CLOEXEC,
    );
    // A handle on /proc that outlives an actor's chroot: actors read their
    // own fds and a sysctl through it.
    let proc = nix::fcntl::open(
        "/proc",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok();
    if wire::send(&mut ctl, &Reply::Ready).is_err() {
        return ExitCode::FAILURE;
    }
    let mut statuses: HashMap<i32, Status> = HashMap::new();
    loop {
        if let Ok(sigfd) = &sigfd {
            let mut fds = [
                libc::pollfd {
                    fd: ctl.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: sigfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                continue;
            }
            if fds[1].revents != 0 {
                while let Ok(Some(_)) = sigfd.read_signal() {}
                reap_all(&mut statuses);
            }
            if fds[0].revents == 0 {
                continue;
            }
        }
        let (req, fd) = match wire::recv_any::<Request>(&mut ctl, std::time::Duration::ZERO) {
            Ok((Some(req), fd)) => (req, fd),
            _ => return ExitCode::SUCCESS,
        };
        let sent = match req {
            Request::Capture { host: h } => {
                let first = usize::from(h) == 0;
                let linked = namespaces.len() > 1;
                let fd = in_host(&namespaces, h, || {
                    crate::capture::Capture::open(!host, crate::capture::Sees::of(first, linked))
                        .map(|c| c.into_fd())
                });
                socket_reply(&mut ctl, fd)
            }
            Request::Diag { host: h } => socket_reply(
                &mut ctl,
                in_host(&namespaces, h, || {
                    crate::kernel::Diag::open().map(|d| d.into_fd())
                }),
            ),
            Request::Spawn {
                ctl_fd,
                proc_fd,
                host: h,
            } => match (fd, &proc, netns_of(&namespaces, h)) {
                (Some(channel), Some(proc), Ok(netns)) => spawn_actor(
                    &mut ctl,
                    Some(Child::Actor {
                        channel,
                        proc: proc.as_raw_fd(),
                        ctl_fd,
                        proc_fd,
                        host,
                    }),
                    netns,
                ),
                (_, _, Err(e)) => wire::send(&mut ctl, &Reply::NotSpawned(e)),
                _ => wire::send(&mut ctl, &Reply::NotSpawned(libc::EBADF)),
            },
            Request::Keeper { host: h } => match netns_of(&namespaces, h) {
                Ok(netns) => spawn_actor(&mut ctl, None, netns),
                Err(e) => wire::send(&mut ctl, &Reply::NotSpawned(e)),
            },
            Request::Status { pid } => {
                let status = statuses.remove(&pid).unwrap_or_else(|| wait_for(pid));
                wire::send(
                    &mut ctl,
                    &Reply::Status {
                        signal: status.0,
                        code: status.1,
                    },
                )
            }
            Request::Exit => return ExitCode::SUCCESS,
            _ => wire::send(&mut ctl, &Reply::NoSocket(libc::EINVAL)),
        };
        if sent.is_err() {
            return ExitCode::FAILURE;
        }
    }
}

fn socket_reply(ctl: &mut UnixStream, fd: std::io::Result<OwnedFd>) -> std::io::Result<()> {
    match fd {
        Ok(fd) => wire::send_fd(ctl, &Reply::Fd, fd.as_raw_fd()),
        Err(e) => wire::send(ctl, &Reply::NoSocket(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

/// How a process ended: the signal that ended it, or its exit code.
type Status = (Option<i32>, Option<i32>);

/// The pid and status of a process that ended, as waitpid tells it.
fn status_of(s: nix::sys::wait::WaitStatus) -> Option<(i32, Status)> {
    use nix::sys::wait::WaitStatus;
    match s {
        WaitStatus::Exited(pid, code) => Some((pid.as_raw(), (None, Some(code)))),
        WaitStatus::Signaled(pid, sig, _) => Some((pid.as_raw(), (Some(sig as i32), None))),
        _ => None,
    }
}

/// Reaps every process of the run that has ended, keeping its status.
fn reap_all(statuses: &mut HashMap<i32, Status>) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        match status_of(s) {
            Some((pid, status)) => {
                statuses.insert(pid, status);
            }
            None => break,
        }
    }
}

/// Waits for child `pid` to end (the engine asks once it has seen the
/// process go); neither status if it is not the hub's child.
fn wait_for(pid: i32) -> Status {
    loop {
        match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Err(Errno::EINTR) => continue,
            Ok(s) => return status_of(s).map(|(_, st)| st).unwrap_or((None, None)),
            Err(_) => return (None, None),
        }
    }
}

/// The network namespace of host `h`: `None` for the hub's own (host 0,
/// or the only one); an errno for a host the run does not have.
fn netns_of(namespaces: &[OwnedFd], h: u8) -> Result<Option<&OwnedFd>, i32> {
    match usize::from(h) {
        0 => Ok(None),
        i => namespaces.get(i).map(Some).ok_or(libc::EINVAL),
    }
}

/// Runs `f` in host `h`'s network namespace (a socket made there stays
/// there), then comes back to the hub's own.
fn in_host<T>(
    namespaces: &[OwnedFd],
    h: u8,
    f: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    use nix::sched::{CloneFlags, setns};
    let io = |e: Errno| std::io::Error::from_raw_os_error(e as i32);
    let Some(netns) = netns_of(namespaces, h).map_err(std::io::Error::from_raw_os_error)? else {
        return f();
    };
    setns(netns, CloneFlags::CLONE_NEWNET).map_err(io)?;
    let out = f();
    setns(&namespaces[0], CloneFlags::CLONE_NEWNET).map_err(io)?;
    out
}

/// What a process the hub forks goes on as.
enum Child {
    /// An actor, on its channel (at `ctl_fd`), with a handle on /proc.
    Actor {
        channel: OwnedFd,
        proc: RawFd,
        ctl_fd: i32,
        proc_fd: i32,
        host: bool,
    },
}

/// Forks an actor (or, for `None`, a keeper of a host's namespace, which
/// only waits to be killed with the run): the child joins its host's
/// network namespace, sets itself up and runs the actor's loop; the hub
/// answers with its pid and a pidfd for it.
fn spawn_actor(
    ctl: &mut UnixStream,
    child: Option<Child>,
    netns: Option<&OwnedFd>,
) -> std::io::Result<()> {
    // SAFETY: the hub is single-threaded; the child only rearranges fds,
    // joins a namespace, confines itself and goes on as an actor.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            if let Some(ns) = netns
                && nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).is_err()
            {
                std::process::exit(1);
            }
            let code = match child {
                Some(Child::Actor {
                    channel,
                    proc,
                    ctl_fd,
                    proc_fd,
                    host,
                }) => crate::actor::actor_child(channel, proc, ctl_fd, proc_fd, host),
                None => {
                    close_fds_from(3);
                    // SAFETY: prctl with integer arguments; pause only waits.
                    unsafe {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                        loop {
                            libc::pause();
                        }
                    }
                }
            };
            std::process::exit(code);
        }
        Ok(nix::unistd::ForkResult::Parent { child: pid }) => {
            drop(child);
            let child = pid;
            // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
            let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
            if pidfd < 0 {
                return wire::send(ctl, &Reply::NotSpawned(Errno::last_raw()));
            }
            // SAFETY: the kernel just gave this process a new fd.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
            wire::send_fd(
                ctl,
                &Reply::Spawned {
                    pid: child.as_raw(),
                },
                pidfd.as_raw_fd(),
            )
        }
        Err(e) => wire::send(ctl, &Reply::NotSpawned(e as i32)),
    }
}
