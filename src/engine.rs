//! The engine: runs a lesson's steps in real processes and reports events.
//!
//! Each actor is a child process (`sockstep __actor`) that makes the calls it
//! is sent as real syscalls. The engine picks the next step in script order
//! whose actor is free, sends it, and after every step asks each parked actor
//! whether its call can complete now. When no step can run and an actor is
//! parked, that is a deadlock, known at once: nothing is ever waited out.
//!
//! The engine writes nothing to the terminal; it returns [`Event`]s.

mod proc;
mod view;

pub use view::{COPY, rfc_name};

use crate::call::{Addr, Call, FdRef};
use crate::capture::{Capture, Frame};
use crate::event::{Event, Network, Outcome, Socket, Waiting};
use crate::lesson::{Expect, Lesson};
use crate::wire::{Done, FdState, Reply, Request, WaitKind};
use proc::Proc;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sockstep executable, started as `__actor` and `__hub`.
    pub exe: PathBuf,
    /// Use the host's loopback even where a private namespace is possible.
    pub host_network: bool,
    /// How long a child may take to answer before the run is abandoned.
    pub watchdog: Duration,
    /// Capture the packets on loopback. Closing a packet socket waits for
    /// an RCU grace period (some 16 ms), so a run that shows no packets
    /// is quicker without one.
    pub capture: bool,
}

impl Options {
    pub fn new(exe: impl Into<PathBuf>) -> Options {
        Options {
            exe: exe.into(),
            host_network: false,
            watchdog: Duration::from_secs(5),
            capture: true,
        }
    }
}

/// Why a run could not go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// A child process could not be started.
    Spawn(std::io::Error),
    /// An actor could not set itself up.
    Setup { actor: String, reason: String },
    /// A child did not answer within the watchdog's time.
    Watchdog { who: String, secs: u64 },
    /// The control channel to a child failed.
    Channel { who: String, error: std::io::Error },
    /// The run's working directory could not be made.
    RunDir(std::io::Error),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Spawn(e) => write!(f, "cannot start an actor process: {e}"),
            EngineError::Setup { actor, reason } => write!(f, "{actor} could not start: {reason}"),
            EngineError::Watchdog { who, secs } => write!(
                f,
                "{who} did not answer within {secs} s: a call neither completed nor parked, \
                 so the run was stopped"
            ),
            EngineError::Channel { who, error } => {
                write!(f, "lost the control channel to {who}: {error}")
            }
            EngineError::RunDir(e) => write!(f, "cannot make the run's directory: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

struct Parked {
    step: usize,
    call: Call<i32>,
    wait: WaitKind,
}

/// One run of a lesson, stepped by [`Run::step`]. Dropping it ends every
/// child process and removes the run's directory.
pub struct Run {
    lesson: Lesson,
    hub: Option<Proc>,
    /// One per actor; `None` once the process is gone.
    procs: Vec<Option<Proc>>,
    run_dir: PathBuf,
    header: Vec<Event>,
    ran: Vec<bool>,
    bindings: Vec<HashMap<String, i32>>,
    fds: Vec<BTreeMap<i32, FdState>>,
    parked: Vec<Option<Parked>>,
    /// Lesson port to real port, on the host's loopback.
    remap: HashMap<u16, u16>,
    steps_run: usize,
    failures: usize,
    finished: bool,
    /// Whether the run has its own namespace (else: the host's loopback).
    private: bool,
    /// Ports the run uses: the lesson's (remapped) and those its fds had.
    ports: Vec<u16>,
    /// The kernel's view after the last step.
    sockets: Vec<Socket>,
    /// Frames captured so far, for `--pcap`; `None` if capture failed.
    frames: Option<Vec<Frame>>,
    /// The packet socket on the run's loopback.
    capture: Option<Capture>,
    /// sock_diag in the run's namespace, for TCP; without it, /proc.
    diag: Option<crate::kernel::Diag>,
    /// A RST crossed loopback since the last view (it decides what the
    /// RFC 9293 notes say).
    rst_seen: bool,
    /// Sockets with no fd, in the order first seen.
    seen: view::Seen,
    /// Which actor each local address belonged to, and when it was first
    /// seen, to order sockets that no fd refers to.
    addr_owner: Vec<(Addr, usize)>,
}

impl Run {
    /// Starts the processes of a run: the namespace hub, then one per actor.
    pub fn start(lesson: Lesson, opts: &Options) -> Result<Run, EngineError> {
        let run_dir = proc::make_run_dir().map_err(EngineError::RunDir)?;
        let mut run = Run {
            hub: None,
            procs: Vec::new(),
            run_dir,
            header: Vec::new(),
            ran: vec![false; lesson.steps.len()],
            bindings: vec![HashMap::new(); lesson.actors.len()],
            fds: vec![BTreeMap::new(); lesson.actors.len()],
            parked: lesson.actors.iter().map(|_| None).collect(),
            remap: HashMap::new(),
            steps_run: 0,
            failures: 0,
            finished: false,
            private: false,
            ports: Vec::new(),
            sockets: Vec::new(),
            frames: Some(Vec::new()),
            capture: None,
            diag: None,
            rst_seen: false,
            seen: Vec::new(),
            addr_owner: Vec::new(),
            lesson,
        };
        let network = run.start_hub(opts)?;
        run.private = network == Network::Namespace;
        if !run.private {
            run.remap_ports();
        }
        run.ports = run
            .lesson
            .ports()
            .iter()
            .map(|p| *run.remap.get(p).unwrap_or(p))
            .collect();
        let netns = run
            .private
            .then(|| run.hub.as_ref().map(|h| h.pid().to_string()))
            .flatten();
        let mut args = vec!["__actor".to_string()];
        if let Some(pid) = &netns {
            args.extend(["--netns".to_string(), pid.clone()]);
        }
        for i in 0..run.lesson.actors.len() {
            // An actor another one forks has no process until that fork.
            if run.lesson.forked(i) {
                run.procs.push(None);
                continue;
            }
            let p = Proc::spawn(&opts.exe, &args, &run.run_dir, opts.watchdog)
                .map_err(EngineError::Spawn)?;
            run.procs.push(Some(p));
        }
        for i in 0..run.procs.len() {
            if run.procs[i].is_none() {
                continue;
            }
            let name = run.lesson.actors[i].clone();
            match run.exchange_raw(i, None)? {
                Some(Reply::Ready) => {}
                Some(Reply::SetupFailed(reason)) => {
                    return Err(EngineError::Setup {
                        actor: name,
                        reason,
                    });
                }
                _ => {
                    return Err(EngineError::Setup {
                        actor: name,
                        reason: "it exited before it was ready".into(),
                    });
                }
            }
        }
        run.diag = run.open_diag()?;
        let no_capture = match run.open_capture(opts.capture)? {
            Ok(c) => {
                run.capture = Some(c);
                None
            }
            Err(reason) => {
                run.frames = None;
                Some(reason).filter(|_| opts.capture)
            }
        };
        let mut remapped: Vec<(u16, u16)> = run.remap.iter().map(|(a, b)| (*a, *b)).collect();
        remapped.sort();
        run.header.push(Event::Start {
            title: run.lesson.title.clone(),
            path: run.lesson.path.clone(),
            goal: run.lesson.goal.clone(),
            actors: run.lesson.actors.clone(),
            network,
            ports: run.lesson.ports(),
            remapped,
        });
        if let Some(reason) = no_capture {
            run.header.push(Event::NoCapture { reason });
        }
        if !run.lesson.intro.is_empty() {
            run.header.push(Event::Intro {
                lines: run.lesson.intro.clone(),
            });
        }
        Ok(run)
    }

    /// The events that open the run: its title, network and introduction.
    pub fn header(&self) -> &[Event] {
        &self.header
    }

    /// Runs the next step and whatever parked calls it lets complete; when
    /// no step is left, ends the run. `None` once the run is over.
    pub fn step(&mut self) -> Result<Option<Vec<Event>>, EngineError> {
        if self.finished {
            return Ok(None);
        }
        let mut events = Vec::new();
        if let Some(i) = self.next_step() {
            self.run_step(i, &mut events)?;
            self.packets(&mut events)?;
            if self.settle(&mut events)? {
                self.packets(&mut events)?;
            }
            self.states(&mut events);
            let step = &self.lesson.steps[i];
            if !step.narration.is_empty() {
                events.push(Event::Narration {
                    step: step.number,
                    actor: step.actor,
                    lines: step.narration.clone(),
                });
            }
            events.push(Event::Table {
                sockets: self.sockets.clone(),
            });
        }
        // An actor with no steps left returns from main, and the kernel
        // closes its fds: that may be what a parked actor waits for (a recv
        // that will read end of file).
        while self.next_step().is_none() && self.exit_idle(&mut events)? {
            self.packets(&mut events)?;
            if self.settle(&mut events)? {
                self.packets(&mut events)?;
            }
            self.states(&mut events);
        }
        if self.next_step().is_none() {
            self.finish(&mut events)?;
        }
        Ok(Some(events))
    }

    /// Runs every remaining step, handing each step's events to `f`.
    pub fn run_to_end(&mut self, mut f: impl FnMut(&[Event])) -> Result<(), EngineError> {
        while let Some(events) = self.step()? {
            f(&events);
        }
        Ok(())
    }

    /// Whether the run went as the lesson expects. Meaningful once finished.
    pub fn passed(&self) -> bool {
        self.failures == 0
    }

    /// Starts the hub: it makes the private namespace (unless the host's
    /// loopback is asked for, or that fails) and captures loopback packets.
    fn start_hub(&mut self, opts: &Options) -> Result<Network, EngineError> {
        let spawn = |host: bool| {
            let mut args = vec!["__hub".to_string()];
            if host {
                args.push("--host".into());
            }
            let mut hub = Proc::spawn(&opts.exe, &args, &self.run_dir, opts.watchdog)
                .map_err(EngineError::Spawn)?;
            let reply = hub.recv().map_err(|error| EngineError::Channel {
                who: "the hub".into(),
                error,
            })?;
            Ok::<_, EngineError>((hub, reply))
        };
        let mut reason = "--host-network was given".to_string();
        if !opts.host_network {
            match spawn(false)? {
                (hub, Some(Reply::Ready)) => {
                    self.hub = Some(hub);
                    return Ok(Network::Namespace);
                }
                (hub, Some(Reply::SetupFailed(why))) => {
                    hub.reap();
                    reason = why;
                }
                (hub, _) => {
                    hub.reap();
                    reason = "the namespace hub exited before it was ready".into();
                }
            }
        }
        if let (hub, Some(Reply::Ready)) = spawn(true)? {
            self.hub = Some(hub);
        }
        Ok(Network::Host { reason })
    }

    /// On the host's loopback, gives each port the lesson names a free one.
    fn remap_ports(&mut self) {
        for port in self.lesson.ports() {
            if let Some(free) = proc::free_port() {
                self.remap.insert(port, free);
            }
        }
    }

    /// The earliest step not yet run whose actor is alive and not parked.
    fn next_step(&self) -> Option<usize> {
        (0..self.lesson.steps.len()).find(|&i| {
            let a = self.lesson.steps[i].actor;
            !self.ran[i] && self.parked[a].is_none() && self.procs[a].is_some()
        })
    }

    fn resolve(&self, actor: usize, call: &Call<FdRef>) -> Call<i32> {
        let mut call = call
            .map_fd(|r| {
                Ok::<_, ()>(match r {
                    FdRef::Num(n) => *n,
                    FdRef::Name(name) => self.bindings[actor].get(name).copied().unwrap_or(-1),
                })
            })
            .expect("resolving never fails");
        if let Some(addr) = call.addr_mut()
            && let Some(port) = addr.port()
            && let Some(real) = self.remap.get(&port)
        {
            *addr = addr.with_port(*real);
        }
        call
    }

    fn run_step(&mut self, i: usize, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let step = self.lesson.steps[i].clone();
        let actor = step.actor;
        let call = self.resolve(actor, &step.call);
        if !step.before.is_empty() {
            events.push(Event::Section {
                step: step.number,
                lines: step.before.clone(),
            });
        }
        self.ran[i] = true;
        self.steps_run += 1;
        let reply = match call {
            Call::Fork { child } => self.fork(actor, child)?,
            _ => self.exchange(actor, Request::Call(call.clone()))?,
        };
        match reply {
            Some(Reply::Done(done)) => {
                let (outcome, fds) = self.apply(actor, step.binding.as_deref(), &done);
                // socketpair: the two names take the two fds, in order.
                let mut binding = step.binding.clone();
                if let (Some(a), Some(b)) = (&step.binding, &step.binding2) {
                    let fd = |i: usize| done.fds.get(i).map(|s| s.fd).unwrap_or(-1);
                    self.bindings[actor].insert(a.clone(), fd(0));
                    self.bindings[actor].insert(b.clone(), fd(1));
                    binding = Some(format!("{a}, {b}"));
                }
                let fail = step.expect.as_ref().and_then(|e| check(e, &outcome));
                events.push(Event::Call {
                    step: step.number,
                    actor,
                    binding,
                    call,
                    outcome,
                    fds,
                });
                self.expect_result(&step, fail, events);
            }
            Some(Reply::Parked(wait, fd_states)) => {
                let outcome = Outcome::Blocked { wait };
                let known = Done {
                    ret: 0,
                    errno: None,
                    data: None,
                    addr: None,
                    fds: fd_states,
                    note: None,
                };
                let (_, fds) = self.apply(actor, None, &known);
                let fail = match &step.expect {
                    Some(Expect::Blocks) | None => None,
                    Some(Expect::Signal(s)) => Some(format!(
                        "it blocked; {} did not arrive",
                        crate::errno::signal_name(*s)
                    )),
                    // Other expectations are checked when the call completes.
                    Some(_) => None,
                };
                self.parked[actor] = Some(Parked {
                    step: i,
                    call: call.clone(),
                    wait,
                });
                events.push(Event::Call {
                    step: step.number,
                    actor,
                    binding: step.binding.clone(),
                    call,
                    outcome,
                    fds,
                });
                self.expect_result(&step, fail, events);
            }
            Some(other) => {
                return Err(EngineError::Channel {
                    who: self.lesson.actors[actor].clone(),
                    error: std::io::Error::other(format!("unexpected answer {other:?}")),
                });
            }
            None => self.crashed(actor, i, call, events),
        }
        Ok(())
    }

    /// While some actor is parked, ends the actors that have nothing left to
    /// do; whether any did.
    fn exit_idle(&mut self, events: &mut Vec<Event>) -> Result<bool, EngineError> {
        if self.parked.iter().all(Option::is_none) {
            return Ok(false);
        }
        let mut any = false;
        for actor in 0..self.procs.len() {
            let has_steps =
                (0..self.ran.len()).any(|i| !self.ran[i] && self.lesson.steps[i].actor == actor);
            if self.procs[actor].is_none() || self.parked[actor].is_some() || has_steps {
                continue;
            }
            self.exit_actor(actor, events)?;
            any = true;
        }
        Ok(any)
    }

    fn exit_actor(&mut self, actor: usize, events: &mut Vec<Event>) -> Result<(), EngineError> {
        if let Some(Reply::Exiting(open)) = self.exchange(actor, Request::Exit)? {
            events.push(Event::Exit { actor, open });
        }
        if let Some(p) = self.procs[actor].take() {
            p.reap();
        }
        self.fds[actor].clear();
        Ok(())
    }

    /// fork: the actor's process forks; the child goes on as actor `child`
    /// over a new control channel, with copies of the parent's fds.
    fn fork(&mut self, actor: usize, child: usize) -> Result<Option<Reply>, EngineError> {
        use std::os::fd::AsRawFd;
        let who = self.lesson.actors[actor].clone();
        let channel = |error| EngineError::Channel {
            who: who.clone(),
            error,
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(channel)?;
        let Some(p) = self.procs[actor].as_mut() else {
            return Ok(None);
        };
        let watchdog = p.watchdog();
        if p.send_fd(&Request::Fork, theirs.as_raw_fd()).is_err() {
            return Ok(None);
        }
        drop(theirs);
        let reply = p.recv().map_err(channel)?;
        if let Some(Reply::Done(done)) = &reply
            && done.errno.is_none()
        {
            let mut forked = Proc::adopt(done.ret as u32, ours, watchdog).map_err(channel)?;
            match forked.recv().map_err(channel)? {
                Some(Reply::Ready) => {}
                _ => {
                    return Err(EngineError::Setup {
                        actor: self.lesson.actors[child].clone(),
                        reason: "the forked process did not start".into(),
                    });
                }
            }
            self.procs[child] = Some(forked);
            self.fds[child] = self.fds[actor].clone();
            self.bindings[child] = self.bindings[actor].clone();
        }
        Ok(reply)
    }

    /// Asks the hub for its packet socket; `Err` says why there is none.
    fn open_capture(&mut self, wanted: bool) -> Result<Result<Capture, String>, EngineError> {
        if !wanted {
            return Ok(Err("packets were not asked for".into()));
        }
        let Some(hub) = self.hub.as_mut() else {
            return Ok(Err("the hub did not start".into()));
        };
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        hub.send(&Request::Capture).map_err(channel)?;
        Ok(match hub.recv_fd().map_err(channel)? {
            (Some(Reply::Fd), Some(fd)) => Ok(Capture::from_fd(fd)),
            (Some(Reply::NoCapture(reason)), _) => Err(reason),
            _ => Err("the hub did not pass its packet socket".into()),
        })
    }

    /// Asks the hub for a sock_diag socket in the run's namespace.
    fn open_diag(&mut self) -> Result<Option<crate::kernel::Diag>, EngineError> {
        let Some(hub) = self.hub.as_mut() else {
            return Ok(None);
        };
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        hub.send(&Request::Diag).map_err(channel)?;
        Ok(match hub.recv_fd().map_err(channel)? {
            (Some(Reply::Fd), Some(fd)) => Some(crate::kernel::Diag::from_fd(fd)),
            _ => None,
        })
    }

    /// The packets captured since the last look, as an event.
    fn packets(&mut self, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let (Some(capture), Some(frames)) = (self.capture.as_ref(), self.frames.as_mut()) else {
            return Ok(());
        };
        let ports = &self.ports;
        let private = self.private;
        let mut packets = Vec::new();
        for f in capture.drain() {
            let Some(p) = crate::capture::decode(&f.bytes) else {
                continue;
            };
            let ours = |a: &Addr| a.port().is_some_and(|port| ports.contains(&port));
            let about_ours = match &p.payload {
                crate::capture::Payload::Unreachable { about: Some(a), .. } => ours(a),
                _ => false,
            };
            if private || ours(&p.src) || ours(&p.dst) || about_ours {
                if let crate::capture::Payload::Tcp { flags, .. } = &p.payload
                    && flags & crate::capture::RST != 0
                {
                    self.rst_seen = true;
                }
                frames.push(f);
                packets.push(p);
            }
        }
        if !packets.is_empty() {
            events.push(Event::Packets { packets });
        }
        let lost = capture.lost();
        if lost > 0 {
            events.push(Event::PacketsLost { count: lost });
        }
        Ok(())
    }

    /// Reads the kernel's view of every socket and reports what changed.
    fn states(&mut self, events: &mut Vec<Event>) {
        let pid = if self.private {
            self.hub.as_ref().map(|h| h.pid())
        } else {
            None
        };
        let mut tables = self.lesson.tables();
        let mut rows = Vec::new();
        if let Some(diag) = &self.diag {
            let v4 = if tables.tcp {
                diag.tcp(libc::AF_INET as u8)
            } else {
                Ok(Vec::new())
            };
            let v6 = if tables.tcp6 {
                diag.tcp(libc::AF_INET6 as u8)
            } else {
                Ok(Vec::new())
            };
            // Listeners always have an fd: the actors said which are.
            let listeners: nix::Result<Vec<_>> = self
                .fds
                .iter()
                .flat_map(|t| t.values())
                .filter(|st| st.tcp_state == Some(10))
                .filter_map(|st| st.local.as_ref())
                .map(|local| diag.listener(local))
                .collect();
            // Should sock_diag fail, /proc/net/tcp tells the same.
            if let (Ok(a), Ok(b), Ok(l)) = (v4, v6, listeners) {
                rows.extend(a);
                rows.extend(b);
                rows.extend(l.into_iter().flatten());
                tables.tcp = false;
                tables.tcp6 = false;
            }
        }
        rows.extend(crate::kernel::read(pid, tables));
        // Listeners sharing an address (SO_REUSEPORT) may be looked up twice.
        let mut inodes = std::collections::HashSet::new();
        rows.retain(|r| r.inode == 0 || inodes.insert(r.inode));
        let ports = self.ports.clone();
        let private = self.private;
        let keep = move |r: &crate::kernel::Row| {
            private
                || view::known_port(&r.local, &ports)
                || r.peer.as_ref().is_some_and(|p| view::known_port(p, &ports))
        };
        let owners = &self.addr_owner;
        let rank = |a: &Addr| {
            owners
                .iter()
                .position(|(o, _)| o == a)
                .map(|i| owners[i].1 * 1000 + i)
                .unwrap_or(usize::MAX)
        };
        let new = view::snapshot(&rows, &self.fds, &keep, &mut self.seen, &rank);
        let rst = std::mem::take(&mut self.rst_seen);
        let transitions = view::diff(&self.sockets, &new, rst);
        self.sockets = new;
        if !transitions.is_empty() {
            events.push(Event::States { transitions });
        }
    }

    /// Every socket of the run as the kernel reported it after the last step.
    pub fn sockets(&self) -> &[Socket] {
        &self.sockets
    }

    /// A process inside the run's private network namespace, while the run
    /// lasts (`None` on the host's loopback).
    pub fn netns_pid(&self) -> Option<u32> {
        if self.private {
            self.hub.as_ref().map(|h| h.pid())
        } else {
            None
        }
    }

    /// The frames captured on loopback so far; `None` if capture failed.
    pub fn frames(&self) -> Option<&[Frame]> {
        self.frames.as_deref()
    }

    fn expect_result(
        &mut self,
        step: &crate::lesson::Step,
        fail: Option<String>,
        events: &mut Vec<Event>,
    ) {
        if let (Some(got), Some(expected)) = (fail, &step.expect) {
            self.failures += 1;
            events.push(Event::ExpectFailed {
                step: step.number,
                actor: step.actor,
                expected: expected.clone(),
                got,
            });
        }
    }

    /// Asks each parked actor, in actor order, whether its call completes
    /// now; repeats while any does, since one completion can enable another.
    /// Whether any parked call completed.
    fn settle(&mut self, events: &mut Vec<Event>) -> Result<bool, EngineError> {
        let mut any = false;
        loop {
            let mut progressed = false;
            for actor in 0..self.parked.len() {
                if self.parked[actor].is_none() || self.procs[actor].is_none() {
                    continue;
                }
                match self.exchange(actor, Request::Retry)? {
                    Some(Reply::StillParked) => {}
                    // Bytes moved: the peer may now move too.
                    Some(Reply::Progressed(wait)) => {
                        if let Some(p) = self.parked[actor].as_mut() {
                            p.wait = wait;
                        }
                        progressed = true;
                    }
                    Some(Reply::Done(done)) => {
                        let parked = self.parked[actor].take().expect("checked above");
                        let step = self.lesson.steps[parked.step].clone();
                        let (outcome, fds) = self.apply(actor, step.binding.as_deref(), &done);
                        let fail = match &step.expect {
                            Some(Expect::Blocks) | None => None,
                            Some(e) => check(e, &outcome),
                        };
                        events.push(Event::Completed {
                            step: step.number,
                            actor,
                            binding: step.binding.clone(),
                            call: parked.call,
                            outcome,
                            fds,
                        });
                        self.expect_result(&step, fail, events);
                        progressed = true;
                    }
                    None => {
                        let parked = self.parked[actor].take().expect("checked above");
                        self.crashed(actor, parked.step, parked.call, events);
                        progressed = true;
                    }
                    Some(other) => {
                        return Err(EngineError::Channel {
                            who: self.lesson.actors[actor].clone(),
                            error: std::io::Error::other(format!("unexpected answer {other:?}")),
                        });
                    }
                }
            }
            if !progressed {
                return Ok(any);
            }
            any = true;
        }
    }

    /// Records a completed call: binds its name, updates the fd table, and
    /// returns the outcome and the fds whose addresses changed.
    fn apply(
        &mut self,
        actor: usize,
        binding: Option<&str>,
        done: &Done,
    ) -> (Outcome, Vec<FdState>) {
        let outcome = match done.errno {
            Some(errno) => Outcome::Failed { errno },
            None => Outcome::Returned {
                ret: done.ret,
                data: done.data.clone(),
                addr: done.addr.clone(),
                note: done.note.clone(),
            },
        };
        if let Some(name) = binding {
            self.bindings[actor].insert(name.to_string(), done.ret as i32);
        }
        let mut changed = Vec::new();
        for st in &done.fds {
            let table = &mut self.fds[actor];
            if !st.open {
                table.remove(&st.fd);
                continue;
            }
            for a in st.local.iter().chain(st.peer.iter()) {
                if let Some(p) = a.port().filter(|p| *p != 0 && !self.ports.contains(p)) {
                    self.ports.push(p);
                }
            }
            if let Some(l) = &st.local
                && !self.addr_owner.iter().any(|(a, _)| a == l)
            {
                self.addr_owner.push((l.clone(), actor));
            }
            let table = &mut self.fds[actor];
            let old = table.get(&st.fd);
            if old.map(|o| (&o.local, &o.peer)) != Some((&st.local, &st.peer))
                && (st.local.is_some() || st.peer.is_some())
            {
                changed.push(st.clone());
            }
            table.insert(st.fd, st.clone());
        }
        (outcome, changed)
    }

    fn crashed(
        &mut self,
        actor: usize,
        step_index: usize,
        call: Call<i32>,
        events: &mut Vec<Event>,
    ) {
        let step = self.lesson.steps[step_index].clone();
        let (signal, code) = self.procs[actor]
            .take()
            .map(|p| p.reap())
            .unwrap_or((None, None));
        self.parked[actor] = None;
        self.fds[actor].clear();
        let expected =
            matches!((&step.expect, signal), (Some(Expect::Signal(s)), Some(got)) if *s == got);
        events.push(Event::Crashed {
            actor,
            step: step.number,
            call,
            expected,
            signal,
            code,
        });
        let fail = match (&step.expect, signal) {
            (Some(Expect::Signal(s)), Some(got)) if *s == got => None,
            (Some(_), _) => Some(match signal {
                Some(s) => format!("the process was killed by {}", crate::errno::signal_name(s)),
                None => format!("the process exited with code {}", code.unwrap_or(-1)),
            }),
            (None, _) => {
                // A crash nobody expected is a failure of the run.
                self.failures += 1;
                None
            }
        };
        self.expect_result(&step, fail, events);
    }

    fn finish(&mut self, events: &mut Vec<Event>) -> Result<(), EngineError> {
        self.finished = true;
        let unrun: Vec<usize> = (0..self.ran.len())
            .filter(|&i| !self.ran[i])
            .map(|i| self.lesson.steps[i].number)
            .collect();
        let waits: Vec<Waiting> = (0..self.parked.len())
            .filter_map(|a| self.waiting(a))
            .collect();
        if !waits.is_empty() {
            let expected = self.lesson.expect_deadlock;
            if !expected {
                self.failures += 1;
            }
            for w in &waits {
                let step = &self.lesson.steps[w.step - 1];
                if let Some(e) = step.expect.as_ref().filter(|e| **e != Expect::Blocks) {
                    self.failures += 1;
                    events.push(Event::ExpectFailed {
                        step: step.number,
                        actor: step.actor,
                        expected: e.clone(),
                        got: "the call never returned".into(),
                    });
                }
            }
            events.push(Event::Deadlock {
                waits,
                unrun: unrun.clone(),
                expected,
            });
        } else {
            if self.lesson.expect_deadlock {
                self.failures += 1;
                events.push(Event::Deadlock {
                    waits: Vec::new(),
                    unrun: Vec::new(),
                    expected: true,
                });
            }
            for actor in 0..self.procs.len() {
                if self.procs[actor].is_some() {
                    continue;
                }
                let steps: Vec<usize> = unrun
                    .iter()
                    .copied()
                    .filter(|&n| self.lesson.steps[n - 1].actor == actor)
                    .collect();
                if !steps.is_empty() {
                    // The crash that left them unrun has been counted.
                    events.push(Event::NotRun { actor, steps });
                }
            }
        }
        for actor in 0..self.procs.len() {
            if self.procs[actor].is_some() {
                self.exit_actor(actor, events)?;
            }
        }
        self.packets(events)?;
        self.states(events);
        events.push(Event::Table {
            sockets: self.sockets.clone(),
        });
        if let Some(hub) = self.hub.take() {
            hub.reap();
        }
        events.push(Event::Finish {
            steps_run: self.steps_run,
            steps: self.lesson.steps.len(),
            failures: self.failures,
        });
        Ok(())
    }

    /// What parked actor `a` waits for, and on whom.
    fn waiting(&self, a: usize) -> Option<Waiting> {
        let parked = self.parked[a].as_ref()?;
        let fd = parked.call.fd().copied().unwrap_or(-1);
        let on = match parked.wait {
            WaitKind::Data { .. } | WaitKind::Room { .. } | WaitKind::Linger => {
                self.fds[a].get(&fd).and_then(|st| {
                    let (local, peer) = (st.local.as_ref()?, st.peer.as_ref()?);
                    self.owner_of(local, peer)
                })
            }
            WaitKind::Connection | WaitKind::Handshake => None,
        };
        Some(Waiting {
            actor: a,
            step: self.lesson.steps[parked.step].number,
            call: parked.call.clone(),
            wait: parked.wait,
            on,
        })
    }

    /// The actor holding the other end of the connection `local`–`peer`.
    fn owner_of(&self, local: &Addr, peer: &Addr) -> Option<usize> {
        (0..self.fds.len()).find(|&b| {
            self.fds[b]
                .values()
                .any(|st| st.local.as_ref() == Some(peer) && st.peer.as_ref() == Some(local))
        })
    }

    /// Sends `req` to actor `i` and reads its answer; `None` if it died.
    fn exchange(&mut self, i: usize, req: Request) -> Result<Option<Reply>, EngineError> {
        self.exchange_raw(i, Some(req))
    }

    fn exchange_raw(
        &mut self,
        i: usize,
        req: Option<Request>,
    ) -> Result<Option<Reply>, EngineError> {
        let who = self.lesson.actors[i].clone();
        let Some(p) = self.procs[i].as_mut() else {
            return Ok(None);
        };
        if let Some(req) = req
            && p.send(&req).is_err()
        {
            // The actor is gone; its exit status tells why.
            return Ok(None);
        }
        let reply = p.recv();
        // A process that died mid-answer is a crash, not a broken engine.
        if let Err(e) = &reply
            && matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            )
        {
            return Ok(None);
        }
        reply.map_err(|error| match error.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                EngineError::Watchdog {
                    who,
                    secs: p.watchdog().as_secs(),
                }
            }
            _ => EngineError::Channel { who, error },
        })
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().filter_map(Option::take) {
            p.kill();
        }
        if let Some(hub) = self.hub.take() {
            hub.kill();
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

/// Why `outcome` does not meet `expect`, or `None` if it does.
fn check(expect: &Expect, outcome: &Outcome) -> Option<String> {
    let ok = match (expect, outcome) {
        (Expect::Value(v), Outcome::Returned { ret, .. }) => ret == v,
        (Expect::Errno(e), Outcome::Failed { errno }) => errno == e,
        (Expect::Bytes(b), Outcome::Returned { data: Some(d), .. }) => d == b,
        (Expect::Blocks, Outcome::Blocked { .. }) => true,
        _ => false,
    };
    (!ok).then(|| describe(outcome))
}

/// An outcome in words, for a failed expectation.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Returned {
            ret, data: Some(d), ..
        } => {
            format!(
                "it returned {ret} with {}",
                crate::render::quote_bytes(d, 40)
            )
        }
        Outcome::Returned { ret, .. } => format!("it returned {ret}"),
        Outcome::Failed { errno } => format!("it failed with {}", crate::errno::errno_name(*errno)),
        Outcome::Blocked { .. } => "it blocked".to_string(),
    }
}
