//! A program standing in for one of a lesson's actors (`sockstep run
//! LESSON --actor client=./client`). A thread of the engine starts it in
//! the run's namespaces under ptrace, with the filter that stops it at its
//! socket calls, and answers the engine's requests as an actor process
//! would: `Next` runs the program on to its next socket call and says what
//! it is (the engine holds it against the lesson's step), `Call` makes the
//! held call (or parks it, when the kernel says it would wait), `Retry`
//! and `WaitTimer` look again, `Exit` lets the program run to its end.
//!
//! The program's threads and children run with it; only its first
//! thread's socket calls are steps.

use super::{
    Entry, PTRACE_EVENT_SECCOMP, TraceError, exit_outcome, is_fork, output, pidfd, probe, read_mem,
    sleep_wait, sleeping, spawn,
};
use crate::call::Call;
use crate::event::Outcome;
use crate::wire::{self, Closing, Done, Extra, FdState, Reply, Request, WaitKind};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

/// How each program ended, by pid: (signal, exit code), for the engine to
/// tell its death.
pub type Ends = Arc<Mutex<HashMap<u32, (Option<i32>, Option<i32>)>>>;

/// Starts `argv` in the namespaces `enter` (user, then network) and the
/// directory `cwd`, traced by a new thread that serves the engine over
/// `ctl`: the program's pid, once its exec has happened.
pub fn start(
    argv: Vec<String>,
    enter: Vec<OwnedFd>,
    cwd: std::path::PathBuf,
    ctl: UnixStream,
    ends: Ends,
) -> Result<i32, TraceError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let fds: Vec<RawFd> = enter.iter().map(AsRawFd::as_raw_fd).collect();
        // A network namespace starts with 1024 (the kernel's PROT_SOCK);
        // on the host's network, the host's setting.
        let port_start = if fds.is_empty() {
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
                .ok()
                .and_then(|s| s.trim().parse().ok())
        } else {
            Some(1024)
        };
        // Without privileges, as a lesson's actors run.
        let started = spawn(&argv, &fds, Some(&cwd), true, true);
        drop(enter);
        match started {
            Ok(pid) => {
                let _ = tx.send(Ok(pid));
                Proxy::new(pid, ends, port_start).serve(ctl);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    rx.recv().unwrap_or(Err(TraceError::Ptrace(libc::ECHILD)))
}

/// A held call, and for a close what the socket held before it.
struct Held {
    entry: Entry,
    call: Call<i32>,
    closing: Option<Closing>,
    /// The bytes its fd had to read as it began.
    queued: usize,
}

struct Proxy {
    pid: i32,
    peek: Option<crate::engine::peek::Peek>,
    /// Held at the entry of this call.
    held: Option<Held>,
    /// In this call, which the kernel put to sleep.
    inside: Option<Held>,
    ends: Ends,
    gone: bool,
    /// Stopped after its call's exit: it goes on when the engine asks for
    /// its next call or its end, so that what it does after a step (its
    /// exit, closing every fd) belongs to the step the engine runs then.
    stopped: bool,
    /// A stop already waited for, which the next wait gives.
    kept: Option<i32>,
    /// net.ipv4.ip_unprivileged_port_start where the program runs.
    port_start: Option<u16>,
}

/// What a wait for the program gave.
enum Wait {
    Status(i32),
    /// Asleep in the kernel.
    Asleep,
}

impl Proxy {
    fn new(pid: i32, ends: Ends, port_start: Option<u16>) -> Proxy {
        Proxy {
            pid,
            peek: pidfd(pid),
            held: None,
            inside: None,
            ends,
            gone: false,
            stopped: false,
            kept: None,
            port_start,
        }
    }

    /// Answers the engine until the program is gone or the engine hangs
    /// up; then the program is killed, if it still runs, and reaped.
    fn serve(mut self, mut ctl: UnixStream) {
        if wire::send(&mut ctl, &Reply::Ready).is_err() {
            return;
        }
        while let Ok(Some(req)) = wire::recv::<Request>(&mut ctl) {
            let reply = match req {
                Request::Next => self.next(),
                Request::Call(_) => self.make_held(),
                Request::Retry => self.retry(),
                Request::WaitTimer { ms } => self.timer(ms),
                Request::Exit => Some(self.exit()),
                _ => Some(Reply::NotSpawned(libc::EINVAL)),
            };
            // A program that died in its call: the channel closes, and
            // the engine reads its death.
            let Some(reply) = reply else { break };
            if wire::send(&mut ctl, &reply).is_err() || self.gone {
                break;
            }
        }
        if !self.gone {
            // SAFETY: kill and reap of our own tracee.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            while let Wait::Status(s) = self.wait(true) {
                if libc::WIFEXITED(s) || libc::WIFSIGNALED(s) {
                    break;
                }
            }
        }
    }

    /// The next status of the program's first thread; the others' stops
    /// are let go on. `block`: wait even while it sleeps in the kernel.
    fn wait(&mut self, block: bool) -> Wait {
        if let Some(s) = self.kept.take() {
            return Wait::Status(s);
        }
        let mut spins = 0u32;
        loop {
            let mut status = 0;
            // SAFETY: waitpid on this thread's own tracees, one int.
            let r = unsafe {
                libc::waitpid(
                    -1,
                    &mut status,
                    libc::__WALL | libc::__WNOTHREAD | libc::WNOHANG,
                )
            };
            if r == self.pid {
                if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                    self.end(status);
                }
                return Wait::Status(status);
            }
            if r > 0 {
                other(r, status);
                continue;
            }
            if r < 0 {
                // No child left: it is gone.
                self.gone = true;
                return Wait::Status(0);
            }
            if !block && sleeping(self.pid, self.pid) {
                return Wait::Asleep;
            }
            spins += 1;
            if spins < 200 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        }
    }

    fn end(&mut self, status: i32) {
        self.gone = true;
        let end = if libc::WIFSIGNALED(status) {
            (Some(libc::WTERMSIG(status)), None)
        } else {
            (None, Some(libc::WEXITSTATUS(status)))
        };
        if let Ok(mut ends) = self.ends.lock() {
            ends.insert(self.pid as u32, end);
        }
    }

    fn resume(&self, sig: i32) {
        // SAFETY: PTRACE_CONT on our stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, self.pid, 0, sig) };
    }

    /// Lets a program stopped after its call go on.
    fn go_on(&mut self) {
        if std::mem::take(&mut self.stopped) {
            self.resume(0);
        }
    }

    /// Runs the program to its next socket call and holds it there.
    fn next(&mut self) -> Option<Reply> {
        self.go_on();
        let mut written = Vec::new();
        loop {
            let status = match self.wait(true) {
                Wait::Status(s) => s,
                Wait::Asleep => continue,
            };
            if self.gone {
                return Some(Reply::Next {
                    call: None,
                    output: written,
                });
            }
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            if sig == libc::SIGTRAP && event == PTRACE_EVENT_SECCOMP {
                let Some(entry) = super::entry_at(self.pid) else {
                    self.resume(0);
                    continue;
                };
                if let Some(w) = output(self.pid, &entry) {
                    written.push(w);
                } else if !is_fork(entry.nr)
                    && let Some(call) = super::decode(self.pid, &entry)
                {
                    self.held = Some(Held {
                        entry,
                        call: call.clone(),
                        closing: None,
                        queued: 0,
                    });
                    return Some(Reply::Next {
                        call: Some(call),
                        output: written,
                    });
                }
                self.resume(0);
            } else if sig == libc::SIGTRAP || sig == (libc::SIGTRAP | 0x80) {
                self.resume(0);
            } else {
                self.resume(sig);
            }
        }
    }

    /// Makes the held call, unless the kernel says it would wait.
    fn make_held(&mut self) -> Option<Reply> {
        let Some(mut held) = self.held.take() else {
            return Some(Reply::NotSpawned(libc::EINVAL));
        };
        if let Some(wait) = self
            .peek
            .as_ref()
            .and_then(|p| probe(self.pid, p, &held.call))
        {
            let wait = self.what_for(&held, wait);
            let fds = self.fds(&held.call, None);
            self.held = Some(held);
            return Some(Reply::Parked(wait, fds));
        }
        self.begin(&mut held);
        self.finish(held, false)
    }

    /// Lets the held call begin: what its socket held and had to read
    /// noted first, for its result and its wait.
    fn begin(&self, held: &mut Held) {
        if let Call::Close { fd } = &held.call {
            held.closing = self
                .copy(*fd)
                .and_then(|c| crate::actor::sys::closing(c.as_raw_fd()));
        }
        held.queued = super::queued(self.peek.as_ref(), &held.call);
        // SAFETY: PTRACE_SYSCALL on our tracee held at a seccomp stop: it
        // stops again at the call's exit.
        unsafe { libc::ptrace(libc::PTRACE_SYSCALL, self.pid, 0, 0) };
    }

    /// Waits for a call let run to exit. `None`: the program died in it.
    fn finish(&mut self, held: Held, again: bool) -> Option<Reply> {
        loop {
            let status = match self.wait(false) {
                Wait::Status(s) => s,
                Wait::Asleep => {
                    let wait = self.what_for(&held, sleep_wait(&held.call, held.queued));
                    let fds = self.fds(&held.call, None);
                    self.inside = Some(held);
                    return Some(if again {
                        Reply::StillParked
                    } else {
                        Reply::Parked(wait, fds)
                    });
                }
            };
            if self.gone {
                return None;
            }
            let sig = libc::WSTOPSIG(status);
            if sig == (libc::SIGTRAP | 0x80)
                && let Some(outcome) = exit_outcome(self.pid, &held.entry, &held.call)
            {
                let done = self.done(&held, outcome);
                // EPIPE comes with SIGPIPE, pending for the thread: unless
                // the program blocks or ignores it, it dies of it as it
                // leaves the call.
                if done.errno == Some(libc::EPIPE) && sigpipe_pending(self.pid) {
                    self.resume(0);
                    // Its delivery stop, then its death, or the stop after
                    // a handler of it ran, kept for the next wait.
                    if let Wait::Status(s) = self.wait(true)
                        && !self.gone
                    {
                        self.resume(libc::WSTOPSIG(s));
                        if let Wait::Status(after) = self.wait(true) {
                            if self.gone {
                                return None;
                            }
                            self.kept = Some(after);
                        }
                    }
                    if self.gone {
                        return None;
                    }
                    return Some(Reply::Done(done));
                }
                self.stopped = true;
                return Some(Reply::Done(done));
            }
            // A signal on the way: let it through.
            // SAFETY: PTRACE_SYSCALL on our stopped tracee.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_SYSCALL,
                    self.pid,
                    0,
                    if sig == libc::SIGTRAP { 0 } else { sig },
                )
            };
        }
    }

    fn retry(&mut self) -> Option<Reply> {
        if let Some(held) = self.inside.take() {
            if sleeping(self.pid, self.pid) {
                self.inside = Some(held);
                return Some(Reply::StillParked);
            }
            return self.finish(held, true);
        }
        match self.make_held()? {
            Reply::Parked(..) => Some(Reply::StillParked),
            other => Some(other),
        }
    }

    /// A timer the kernel armed for the parked call fires within `ms`:
    /// the call is made, as C makes it, and the kernel ends it (the
    /// timer's error, or what came first).
    fn timer(&mut self, ms: u32) -> Option<Reply> {
        let held = match (self.held.take(), self.inside.take()) {
            (Some(mut held), _) => {
                self.begin(&mut held);
                held
            }
            (None, Some(inside)) => inside,
            (None, None) => return Some(Reply::StillParked),
        };
        // The timer's time, and a little more for the kernel to run it.
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(u64::from(ms) + 200);
        while sleeping(self.pid, self.pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        self.finish(held, true)
    }

    /// The program returns from main: its open sockets, as they are, then
    /// it runs to its end (a socket call it makes then runs unstepped).
    fn exit(&mut self) -> Reply {
        let open: Vec<(i32, Option<Closing>)> = self
            .peek
            .as_ref()
            .map(|p| super::socket_fds(self.pid, p))
            .unwrap_or_default()
            .keys()
            .map(|fd| {
                let closing = self
                    .copy(*fd)
                    .and_then(|c| crate::actor::sys::closing(c.as_raw_fd()));
                (*fd, closing)
            })
            .collect();
        // The actor has no steps left: the program ends as an actor
        // returning from main would. It runs on to its end, unless it
        // waits in a call or makes another socket call, which the lesson
        // has no step for: then it is ended there.
        let mut end = self.held.take().is_some() || self.inside.take().is_some();
        self.go_on();
        while !self.gone {
            if end {
                // SAFETY: kill of our own tracee.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
            }
            match self.wait(end) {
                Wait::Asleep => end = true,
                Wait::Status(_) if self.gone => {}
                Wait::Status(s) => {
                    let sig = libc::WSTOPSIG(s);
                    if sig == libc::SIGTRAP && (s >> 16) & 0xff == PTRACE_EVENT_SECCOMP {
                        let socket_call = super::entry_at(self.pid).is_some_and(|entry| {
                            output(self.pid, &entry).is_none()
                                && super::decode(self.pid, &entry).is_some()
                        });
                        if socket_call {
                            // Killed at the call's entry: it is not made.
                            end = true;
                            continue;
                        }
                    }
                    let pass = sig != libc::SIGTRAP && sig != (libc::SIGTRAP | 0x80);
                    self.resume(if pass { sig } else { 0 });
                }
            }
        }
        Reply::Exiting(open)
    }

    /// What a call that waits waits for, as the kernel shows it: a close
    /// held by SO_LINGER, a socket whose handshake is under way.
    fn what_for(&self, held: &Held, wait: WaitKind) -> WaitKind {
        if let Some(secs) = held
            .closing
            .and_then(|c| c.linger)
            .filter(|(on, _)| *on != 0)
            .map(|(_, secs)| secs)
        {
            return WaitKind::Linger { secs };
        }
        let syn_sent = held
            .call
            .fd()
            .and_then(|fd| self.copy(*fd))
            .is_some_and(|c| {
                crate::actor::sys::fd_state(c.as_raw_fd()).tcp_state
                    == Some(crate::sock::State::SynSent)
            });
        if syn_sent { WaitKind::Handshake } else { wait }
    }

    /// A copy of the program's fd.
    fn copy(&self, fd: i32) -> Option<OwnedFd> {
        self.peek.as_ref()?.fd(fd)
    }

    /// What the kernel says of the fds a call touched: its fd, and the fd
    /// it made.
    fn fds(&self, call: &Call<i32>, made: Option<i32>) -> Vec<FdState> {
        call.fd()
            .copied()
            .into_iter()
            .chain(made)
            .map(|fd| match self.copy(fd) {
                Some(copy) => {
                    let mut st = crate::actor::sys::fd_state(copy.as_raw_fd());
                    st.fd = fd;
                    st
                }
                // Not open in the program (closed, or never was).
                None => crate::actor::sys::closed_fd(fd),
            })
            .collect()
    }

    /// A made call's result, as an actor reports it.
    fn done(&self, held: &Held, outcome: Outcome) -> Done {
        let (ret, errno, data, addr) = match outcome {
            Outcome::Returned {
                ret, data, addr, ..
            } => (ret, None, data, addr),
            Outcome::Failed { errno } => (-1, Some(errno), None, None),
            Outcome::Blocked { .. } => (-1, None, None, None),
        };
        let made = match &held.call {
            Call::Socket { .. } | Call::Accept { .. } if ret >= 0 => Some(ret as i32),
            _ => None,
        };
        let fd = held.call.fd().copied();
        let copy = fd.and_then(|fd| self.copy(fd));
        let extra = match &held.call {
            // Who connected, where the program asked for it.
            Call::Accept { .. } if ret >= 0 && held.entry.args[1] != 0 => {
                let len = read_mem(self.pid, held.entry.args[2], 4);
                len.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
                    .and_then(|len| super::read_addr(self.pid, held.entry.args[1], len as usize))
                    .map(Extra::Accepted)
            }
            Call::Close { .. } if ret == 0 => held.closing.map(Extra::Closed),
            Call::Poll { fds, .. } if ret >= 0 => {
                let bytes = read_mem(self.pid, held.entry.args[0], fds.len() * 8);
                Some(Extra::Poll(
                    bytes
                        .chunks_exact(8)
                        .filter_map(|c| {
                            let fd = i32::from_ne_bytes(c[..4].try_into().ok()?);
                            let revents = i16::from_ne_bytes(c[6..8].try_into().ok()?);
                            (revents != 0).then_some((fd, revents))
                        })
                        .collect(),
                ))
            }
            Call::Getsockopt { opt, .. } if ret == 0 => Some(Extra::Opt(super::opt_value(
                self.pid,
                *opt,
                held.entry.args[3],
            ))),
            // What select() left in its sets.
            Call::Select { nfds, .. } if ret >= 0 => {
                let args = held.entry.args;
                let mut left: Vec<(i32, i16)> = super::fd_set(self.pid, args[1], *nfds)
                    .into_iter()
                    .map(|fd| (fd, libc::POLLIN))
                    .collect();
                for fd in super::fd_set(self.pid, args[2], *nfds) {
                    match left.iter_mut().find(|(f, _)| *f == fd) {
                        Some((_, ev)) => *ev |= libc::POLLOUT,
                        None => left.push((fd, libc::POLLOUT)),
                    }
                }
                left.sort();
                Some(Extra::Poll(left))
            }
            Call::SoError { .. } if ret == 0 => {
                let b = read_mem(self.pid, held.entry.args[3], 4);
                b.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(|b| Extra::SoError(i32::from_ne_bytes(b)))
            }
            _ => None,
        };
        // socketpair(): the two fds it wrote into the program's array.
        let fds = match &held.call {
            Call::Socketpair { .. } if ret == 0 => {
                let sv = read_mem(self.pid, held.entry.args[3], 8);
                let pair: Vec<i32> = sv
                    .chunks_exact(4)
                    .filter_map(|c| Some(i32::from_ne_bytes(c.try_into().ok()?)))
                    .collect();
                let mut fds = self.fds(&held.call, pair.first().copied());
                fds.extend(self.fds(&held.call, pair.get(1).copied()));
                fds
            }
            _ => self.fds(&held.call, made),
        };
        Done {
            ret,
            errno,
            data,
            addr,
            fds,
            extra,
            facts: errno.and(copy.as_ref()).map(|c| {
                let mut facts = crate::actor::sys::fd_facts(c.as_raw_fd());
                if let Call::Bind { .. } = held.call {
                    facts.port_start = self.port_start;
                }
                facts
            }),
            inq: match (&held.call, &copy) {
                (Call::Recv { .. } | Call::Recvfrom { .. }, Some(c)) if ret >= 0 => {
                    Some(crate::actor::sys::inq(c.as_raw_fd()))
                }
                _ => None,
            },
        }
    }
}

/// Whether SIGPIPE is pending for the thread and not blocked (an ignored
/// signal is never pending).
fn sigpipe_pending(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << (libc::SIGPIPE - 1);
    (mask("SigPnd:") | mask("ShdPnd:")) & bit != 0 && mask("SigBlk:") & bit == 0
}

/// A stop of another thread or process of the program: let it go on.
fn other(pid: i32, status: i32) {
    if !libc::WIFSTOPPED(status) {
        return;
    }
    let sig = libc::WSTOPSIG(status);
    // Its first stop (SIGSTOP), event stops and syscall stops are the
    // tracer's; a signal is passed on.
    let pass = !matches!(sig, libc::SIGSTOP | libc::SIGTRAP) && sig != (libc::SIGTRAP | 0x80);
    // SAFETY: PTRACE_CONT on a stopped tracee of this thread.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, if pass { sig } else { 0 }) };
}
