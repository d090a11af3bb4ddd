//! The engine: runs a lesson's steps in real processes and reports events.
//!
//! Each actor is a process, forked by the run's hub (`sockstep __hub`,
//! which holds the run's namespaces), that makes the calls it is sent as
//! real syscalls. The engine picks the next step in script order
//! whose actor is free, sends it, and after every step asks each parked actor
//! whether its call can complete now. When no step can run and an actor is
//! parked, the engine looks for a timer the kernel has armed that could move
//! a parked call (a SYN's retransmission, a lingering close) and lets it
//! fire; when there is none, that is a deadlock, known at once: nothing is
//! ever waited out to find out.
//!
//! The engine writes nothing to the terminal; it returns [`Event`]s, which
//! carry facts only.

pub(crate) mod peek;
mod proc;
mod rfc;
pub(crate) mod view;

use crate::call::{Addr, Call, FdRef, How};
use crate::capture::{Capture, Frame, Packet, Payload, RST, SYN};
use crate::event::{Event, Got, HostReason, Network, NoCapture, Outcome, TimerWait, Waiting};
use crate::explain::{self, Reset, RstCause, Why};
use crate::lesson::{Expect, Lesson};
use crate::sock::{FdOf, Holder, Socket, State, TimerKind};
use crate::wire::{Closing, Done, Extra, FdFacts, FdState, Reply, Request, SetupError, WaitKind};
use proc::Proc;
use std::collections::HashSet;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sockstep executable, started as `__hub`.
    pub exe: PathBuf,
    /// Use the host's loopback even where a private namespace is possible.
    pub host_network: bool,
    /// How long a child may take to answer before the run is abandoned.
    pub watchdog: Duration,
    /// Capture the packets on loopback. Closing a packet socket waits for
    /// an RCU grace period (some 16 ms), so a run that shows no packets
    /// is quicker without one.
    pub capture: bool,
    /// Actors whose steps a program makes (`--actor client=./client`):
    /// the actor's index and the program with its arguments.
    pub programs: Vec<(usize, Vec<String>)>,
}

impl Options {
    pub fn new(exe: impl Into<PathBuf>) -> Options {
        Options {
            exe: exe.into(),
            host_network: false,
            watchdog: Duration::from_secs(5),
            capture: true,
            programs: Vec::new(),
        }
    }
}

/// Why a run could not go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// A child process could not be started.
    Spawn(std::io::Error),
    /// A program given for an actor could not be started under ptrace.
    Program {
        actor: String,
        error: crate::trace::TraceError,
    },
    /// An actor could not set itself up.
    Setup { actor: String, error: SetupError },
    /// A child did not answer within the watchdog's time.
    Watchdog { who: String, secs: u64 },
    /// The control channel to a child failed.
    Channel { who: String, error: std::io::Error },
    /// The run's working directory could not be made.
    RunDir(std::io::Error),
    /// The lesson names hosts, and the run cannot have their namespaces:
    /// why (the host's network was asked for, or what failed).
    NoHosts(HostReason),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Spawn(e) => write!(f, "cannot start an actor process: {e}"),
            EngineError::Program { actor, error } => write!(f, "{actor}: {error}"),
            EngineError::Setup { actor, error } => write!(
                f,
                "{actor} could not start: {}",
                crate::render::words::setup_error(error)
            ),
            EngineError::Watchdog { who, secs } => write!(
                f,
                "{who} did not answer within {secs} s: a call neither completed nor parked, \
                 so the run was stopped"
            ),
            EngineError::Channel { who, error } => {
                write!(f, "lost the control channel to {who}: {error}")
            }
            EngineError::RunDir(e) => write!(f, "cannot make the run's directory: {e}"),
            EngineError::NoHosts(reason) => write!(
                f,
                "this lesson runs on two hosts, each its own network namespace, \
                 and the run cannot have them: {}",
                crate::render::words::host_reason(reason)
            ),
        }
    }
}

impl std::error::Error for EngineError {}

struct Parked {
    step: usize,
    call: Call<i32>,
    wait: WaitKind,
}

/// One actor's process and what the engine knows of it.
#[derive(Default)]
struct Actor {
    /// `None` once the process is gone (or before a fork makes it).
    proc: Option<Proc>,
    /// A pidfd, to look at its listening sockets.
    peek: Option<peek::Peek>,
    /// Names the lesson bound to fds.
    bindings: HashMap<String, i32>,
    /// Names the lesson bound to addresses the kernel reported.
    addrs: HashMap<String, crate::call::Addr>,
    /// The lesson's declared buffers, as the receives into them left them.
    buffers: HashMap<String, Vec<u8>>,
    /// Names bound to the counts calls returned (`n = recv(...)`).
    counts: HashMap<String, i64>,
    /// Its open fds, as the kernel reported them at its last call.
    fds: BTreeMap<i32, FdState>,
    parked: Option<Parked>,
}

/// What the current step did, for the facts its events need.
#[derive(Default)]
struct StepLog {
    /// The calls made on each fd, by C name ("exit" as a process ended).
    calls: Vec<(FdOf, &'static str)>,
    /// Sockets closed during the step (by close, or as a process ended),
    /// with what they held.
    closings: Vec<(FdOf, Closing)>,
    /// Actors whose process died during the step.
    died: Vec<usize>,
    /// The packets captured during the step.
    packets: Vec<Packet>,
    /// The view of the kernel before the step.
    before: Vec<Socket>,
    /// The lesson step being run, if one is.
    number: Option<usize>,
    /// A timer the kernel armed was let fire.
    timer: bool,
    /// What reads of TCP sockets left to read: (inode, bytes).
    inq: Vec<(u64, u32)>,
    /// What each completed call reported, by (actor, step number): the
    /// facts of a failure, and its fds as the kernel said they were after.
    done: HashMap<(usize, usize), (Option<FdFacts>, Vec<FdState>)>,
}

/// One run of a lesson, stepped by [`Run::step`]. Dropping it ends every
/// child process and removes the run's directory.
pub struct Run {
    lesson: Lesson,
    hub: Option<Proc>,
    /// The program each actor's steps are made by, if one is given.
    programs: Vec<Option<Vec<String>>>,
    /// How the programs given for actors ended, by pid.
    ends: crate::trace::external::Ends,
    actors: Vec<Actor>,
    run_dir: proc::RunDir,
    header: Vec<Event>,
    ran: Vec<bool>,
    /// Each actor's steps not yet run, in order (an actor's steps run in
    /// the lesson's order).
    pending: Vec<std::collections::VecDeque<usize>>,
    /// The kernel's tables the lesson's sockets can be in.
    tables: crate::kernel::Tables,
    /// Lesson port to real port, on the host's loopback.
    remap: HashMap<u16, u16>,
    /// The locks that keep the real ports this run's until it ends.
    port_locks: Vec<std::os::unix::net::UnixDatagram>,
    steps_run: usize,
    failures: usize,
    finished: bool,
    /// Whether the run has its own namespace (else: the host's loopback).
    private: bool,
    /// How the actors are kept to the run.
    confinement: crate::confine::Confinement,
    /// Ports the run uses: the lesson's (remapped) and those its fds had.
    ports: Vec<u16>,
    /// The kernel's view after the last step.
    sockets: Vec<Socket>,
    /// When that view was read.
    viewed: Instant,
    /// When the kernel's tables were last read whole.
    dumped: Instant,
    /// Frames captured so far, for `--pcap`; `None` if capture failed.
    frames: Option<Vec<Frame>>,
    /// The packet socket on the run's loopback.
    capture: Option<Capture>,
    /// sock_diag in the run's namespace, for TCP and unix; without it, /proc.
    diag: Option<crate::kernel::Diag>,
    /// The lesson's second host, if it names two.
    second: Option<SecondHost>,
    /// The host each actor runs on; empty when the lesson has no hosts.
    actor_hosts: Vec<usize>,
    /// The ports the lesson names `eph1`, `eph2`... in its expectations,
    /// as the first step that expected each reported it.
    eph_names: std::cell::RefCell<HashMap<u32, u16>>,
    /// Sockets with no fd, in the order first seen.
    seen: view::Seen,
    /// Which actor each local address belonged to, and when it was first
    /// seen, to order sockets that no fd refers to.
    addr_owner: Vec<(Addr, usize)>,
    /// Resets that reached a socket of the run, and why they were sent.
    resets: Vec<Reset>,
    /// Successful shutdown() calls: the socket's inode, how, the step.
    shutdowns: Vec<(u64, How, usize)>,
    /// Sockets (by inode) that have had a peer.
    connected: HashSet<u64>,
    /// Sockets (by inode) on which a call has failed with ECONNRESET.
    reset_reported: HashSet<u64>,
    /// Sockets (by inode) to which the peer's FIN has come.
    fins: HashSet<u64>,
    /// Sockets (by inode) with IPV6_V6ONLY set.
    v6only: HashSet<u64>,
    /// Sockets (by inode) a bind() gave an address to: theirs stays
    /// reserved after a connection is reset or refused.
    bound: HashSet<u64>,
    /// Sockets (by inode) whose connect began: the step, and the accept
    /// queue of the listener at its address as the SYN found it.
    connecting: HashMap<u64, Connecting>,
    /// SO_RCVTIMEO of the sockets the lesson set it on, by inode: ms.
    rcvtimeo: HashMap<u64, u32>,
    /// SO_SNDTIMEO of the sockets the lesson set it on, by inode: ms.
    sndtimeo: HashMap<u64, u32>,
    /// Sockets (by inode) whose connect in progress a shutdown() aborted,
    /// and the step.
    aborted: HashMap<u64, usize>,
    /// Sockets (by inode) a connect() left unconnected (ECONNABORTED), and
    /// the step.
    disconnected: HashMap<u64, usize>,
    /// Sockets (by inode) whose failed connect gave back the port it had
    /// picked.
    released: HashSet<u64>,
    /// The last timer told: (actor, step, timer).
    last_timer: Option<(usize, usize, TimerWait)>,
    step_log: StepLog,
}

/// What the engine reads of the second host: its packets, its sockets
/// through sock_diag, and a process of its namespace (for /proc/PID/net).
struct SecondHost {
    capture: Option<Capture>,
    diag: Option<crate::kernel::Diag>,
    /// The keeper process of its namespace, as this process numbers it.
    pid: Option<u32>,
}

/// The rows of one host's tables: TCP and unix from sock_diag where it
/// answers, the rest (or all, without it) from /proc/PID/net of a process
/// in the host's namespace.
fn host_rows(
    diag: Option<&crate::kernel::Diag>,
    pid: Option<u32>,
    mut tables: crate::kernel::Tables,
) -> Vec<crate::kernel::Row> {
    let mut rows = Vec::new();
    if let Some(diag) = diag {
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
        // Should sock_diag fail, /proc/net/tcp tells the same.
        if let (Ok(a), Ok(b)) = (v4, v6) {
            rows.extend(a);
            rows.extend(b);
            tables.tcp = false;
            tables.tcp6 = false;
        }
        if tables.unix
            && let Ok(u) = diag.unix()
        {
            rows.extend(u);
            tables.unix = false;
        }
    }
    rows.extend(crate::kernel::read(pid, tables));
    rows
}

/// A connect that has begun.
#[derive(Debug, Clone)]
struct Connecting {
    step: usize,
    queue: Option<(u32, u32)>,
    addr: Addr,
}

/// A timer the kernel armed that may move a parked call.
struct Armed {
    /// Whose socket or call it is.
    actor: usize,
    /// The parked actor that waits for it in its call, if that is `actor`.
    waiter: Option<usize>,
    /// The step that armed it.
    step: usize,
    timer: TimerWait,
    ms: u32,
}

impl Run {
    /// Starts the processes of a run: the namespace hub, then one per actor.
    pub fn start(lesson: Lesson, opts: &Options) -> Result<Run, EngineError> {
        let run_dir = proc::make_run_dir().map_err(EngineError::RunDir)?;
        let mut run = Run {
            hub: None,
            programs: (0..lesson.actors.len())
                .map(|a| {
                    opts.programs
                        .iter()
                        .find(|(i, _)| *i == a)
                        .map(|(_, argv)| argv.clone())
                })
                .collect(),
            ends: Default::default(),
            actors: lesson.actors.iter().map(|_| Actor::default()).collect(),
            run_dir,
            header: Vec::new(),
            ran: vec![false; lesson.steps.len()],
            tables: lesson.tables(),
            pending: {
                let mut p = vec![std::collections::VecDeque::new(); lesson.actors.len()];
                for (i, s) in lesson.steps.iter().enumerate() {
                    p[s.actor].push_back(i);
                }
                p
            },
            remap: HashMap::new(),
            port_locks: Vec::new(),
            steps_run: 0,
            failures: 0,
            finished: false,
            private: false,
            confinement: crate::confine::Confinement::None,
            ports: Vec::new(),
            sockets: Vec::new(),
            viewed: Instant::now(),
            dumped: Instant::now(),
            frames: Some(Vec::new()),
            capture: None,
            diag: None,
            second: None,
            actor_hosts: if lesson.hosts.is_empty() {
                Vec::new()
            } else {
                (0..lesson.actors.len())
                    .map(|a| lesson.host_of(a))
                    .collect()
            },
            eph_names: Default::default(),
            seen: Vec::new(),
            addr_owner: Vec::new(),
            resets: Vec::new(),
            shutdowns: Vec::new(),
            connected: HashSet::new(),
            reset_reported: HashSet::new(),
            fins: HashSet::new(),
            v6only: HashSet::new(),
            bound: HashSet::new(),
            connecting: HashMap::new(),
            rcvtimeo: HashMap::new(),
            sndtimeo: HashMap::new(),
            aborted: HashMap::new(),
            disconnected: HashMap::new(),
            last_timer: None,
            released: HashSet::new(),
            step_log: StepLog::default(),
            lesson,
        };
        proc::make_dirs(run.run_dir.path(), &run.lesson.paths()).map_err(EngineError::RunDir)?;
        let network = run.start_hub(opts)?;
        run.private = network == Network::Namespace;
        run.confinement = crate::confine::expected(run.private);
        if !run.private {
            run.remap_ports();
        }
        run.ports = run
            .lesson
            .ports()
            .iter()
            .map(|p| *run.remap.get(p).unwrap_or(p))
            .collect();
        for i in 0..run.actors.len() {
            // An actor another one forks has no process until that fork.
            if let Some(argv) = run.programs[i].clone() {
                run.spawn_program(i, argv, opts.watchdog)?;
            } else if !run.lesson.forked(i) {
                run.spawn_actor(i, opts.watchdog)?;
            }
        }
        for i in 0..run.actors.len() {
            if run.actors[i].proc.is_none() {
                continue;
            }
            let name = run.lesson.actors[i].clone();
            match run.exchange_raw(i, None)? {
                Some(Reply::Ready) => {}
                Some(Reply::SetupFailed(error)) => {
                    return Err(EngineError::Setup { actor: name, error });
                }
                _ => {
                    return Err(EngineError::Setup {
                        actor: name,
                        error: SetupError::Gone,
                    });
                }
            }
        }
        run.diag = run.open_diag(0)?;
        if run.lesson.hosts.len() > 1 {
            let capture = if opts.capture {
                run.open_capture(true, 1)?.ok()
            } else {
                None
            };
            run.second = Some(SecondHost {
                capture,
                diag: run.open_diag(1)?,
                pid: run.keeper(1)?,
            });
        }
        let no_capture = match run.open_capture(opts.capture, 0)? {
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
        let paths = run.lesson.paths();
        run.header.push(Event::Start {
            title: run.lesson.title.clone(),
            path: run.lesson.path.clone(),
            goal: run.lesson.goal.clone(),
            actors: run.lesson.actors.clone(),
            network,
            ports: run.lesson.ports(),
            remapped,
            confinement: run.confinement,
            rooted_paths: paths
                .iter()
                .any(|p| p.starts_with('/') || p.split('/').any(|c| c == "..")),
            hosts: run.hosts(),
            traced: None,
            programs: (run.programs.iter().enumerate())
                .filter_map(|(a, p)| Some((a, p.as_ref()?.join(" "))))
                .collect(),
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

    /// The lesson's hosts, with their addresses on the link.
    fn hosts(&self) -> Vec<crate::event::HostInfo> {
        (self.lesson.hosts.iter().enumerate())
            .map(|(i, h)| {
                let (v4, v6) = crate::netns::host_addrs(i);
                crate::event::HostInfo {
                    name: h.name.clone(),
                    actors: h.actors.clone(),
                    v4,
                    v6,
                }
            })
            .collect()
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
            let from = self.begin_step(&events);
            self.run_step(i, &mut events)?;
            self.packets(&mut events)?;
            if self.settle(&mut events)? {
                self.packets(&mut events)?;
            }
            self.end_step(&mut events, from);
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
        // that will read end of file). And a timer the kernel armed may
        // move a parked call.
        while self.next_step().is_none() {
            let from = self.begin_step(&events);
            if self.exit_idle(&mut events)? || self.wait_timer(&mut events)? {
                self.packets(&mut events)?;
                if self.settle(&mut events)? {
                    self.packets(&mut events)?;
                }
                self.end_step(&mut events, from);
            } else {
                break;
            }
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
        let hosts = self.lesson.hosts.len();
        let spawn = |host: bool| {
            let mut args = vec!["__hub".to_string()];
            if host {
                args.push("--host".into());
            } else if hosts > 1 {
                args.extend(["--hosts".into(), hosts.to_string()]);
            }
            let mut hub = Proc::spawn(&opts.exe, &args, self.run_dir.path(), opts.watchdog)
                .map_err(EngineError::Spawn)?;
            let reply = hub.recv().map_err(|error| EngineError::Channel {
                who: "the hub".into(),
                error,
            })?;
            Ok::<_, EngineError>((hub, reply))
        };
        let mut reason = HostReason::Asked;
        if !opts.host_network {
            match spawn(false)? {
                (hub, Some(Reply::Ready)) => {
                    self.hub = Some(hub);
                    return Ok(Network::Namespace);
                }
                (hub, Some(Reply::SetupFailed(why))) => {
                    hub.reap();
                    reason = HostReason::Setup(why);
                }
                (hub, _) => {
                    hub.reap();
                    reason = HostReason::Setup(SetupError::Gone);
                }
            }
        }
        // Hosts are namespaces: on the host's network there are none.
        if hosts > 1 {
            return Err(EngineError::NoHosts(reason));
        }
        if let (hub, Some(Reply::Ready)) = spawn(true)? {
            self.hub = Some(hub);
        }
        Ok(Network::Host(reason))
    }

    /// Asks the hub to start actor `i`'s process.
    fn spawn_actor(&mut self, i: usize, watchdog: Duration) -> Result<(), EngineError> {
        use std::os::fd::AsRawFd;
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(EngineError::Spawn)?;
        let Some(hub) = self.hub.as_mut() else {
            return Err(EngineError::Spawn(std::io::Error::other(
                "the hub did not start",
            )));
        };
        let (ctl_fd, proc_fd) = actor_fds();
        let host = self.lesson.host_of(i) as u8;
        hub.send_fd(
            &Request::Spawn {
                ctl_fd,
                proc_fd,
                host,
            },
            theirs.as_raw_fd(),
        )
        .map_err(channel)?;
        drop(theirs);
        match hub.recv_fd().map_err(channel)? {
            (Some(Reply::Spawned { pid }), Some(pidfd)) => {
                let a = &mut self.actors[i];
                a.proc = Some(Proc::adopt(pid as u32, ours, watchdog).map_err(EngineError::Spawn)?);
                a.peek = Some(peek::Peek::from_pidfd(pidfd));
                Ok(())
            }
            (Some(Reply::NotSpawned(errno)), _) => {
                Err(EngineError::Spawn(std::io::Error::from_raw_os_error(errno)))
            }
            _ => Err(EngineError::Spawn(std::io::Error::other(
                "the hub did not start the actor",
            ))),
        }
    }

    /// Starts the program given for actor `i`, traced by a thread of this
    /// process, in the run's namespaces (those of the hub).
    fn spawn_program(
        &mut self,
        i: usize,
        argv: Vec<String>,
        watchdog: Duration,
    ) -> Result<(), EngineError> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(EngineError::Spawn)?;
        let mut enter = Vec::new();
        if self.private
            && let Some(hub) = &self.hub
        {
            for ns in ["user", "net"] {
                let f = std::fs::File::open(format!("/proc/{}/ns/{ns}", hub.pid()))
                    .map_err(EngineError::Spawn)?;
                enter.push(std::os::fd::OwnedFd::from(f));
            }
        }
        // It starts in the run's directory, where the lesson's relative
        // unix socket paths are; a program or argument that names a file
        // here is given by its full path.
        let argv: Vec<String> = argv
            .into_iter()
            .map(|a| match std::fs::canonicalize(&a) {
                Ok(full) if a.contains('/') || std::path::Path::new(&a).is_file() => {
                    full.to_string_lossy().into_owned()
                }
                _ => a,
            })
            .collect();
        let cwd = self.run_dir.path().to_path_buf();
        let pid = crate::trace::external::start(argv, enter, cwd, theirs, self.ends.clone())
            .map_err(|error| EngineError::Program {
                actor: self.lesson.actors[i].clone(),
                error,
            })?;
        let a = &mut self.actors[i];
        a.proc = Some(Proc::adopt(pid as u32, ours, watchdog).map_err(EngineError::Spawn)?);
        a.peek = crate::trace::pidfd(pid);
        Ok(())
    }

    /// How the process of actor `a`, which is gone, ended: the hub reaped it.
    fn status(&mut self, pid: u32) -> (Option<i32>, Option<i32>) {
        if let Some(end) = self.ends.lock().ok().and_then(|e| e.get(&pid).copied()) {
            return end;
        }
        let Some(hub) = self.hub.as_mut() else {
            return (None, None);
        };
        if hub.send(&Request::Status { pid: pid as i32 }).is_err() {
            return (None, None);
        }
        match hub.recv() {
            Ok(Some(Reply::Status { signal, code })) => (signal, code),
            _ => (None, None),
        }
    }

    /// On the host's loopback, gives each port the lesson names a free one.
    fn remap_ports(&mut self) {
        for port in self.lesson.ports() {
            let taken: Vec<u16> = self.remap.values().copied().collect();
            if let Some((free, lock)) = proc::reserve_port(&taken) {
                self.remap.insert(port, free);
                self.port_locks.push(lock);
            }
        }
    }

    /// The earliest step not yet run whose actor is alive and not parked.
    fn next_step(&self) -> Option<usize> {
        self.pending
            .iter()
            .zip(&self.actors)
            .filter(|(_, a)| a.parked.is_none() && a.proc.is_some())
            .filter_map(|(p, _)| p.front().copied())
            .min()
    }

    fn resolve(&self, actor: usize, call: &Call<FdRef>) -> Call<i32> {
        let mut call = call
            .map_fd(|r| {
                Ok::<_, ()>(match r {
                    FdRef::Num(n) => *n,
                    FdRef::Name(name) => {
                        self.actors[actor].bindings.get(name).copied().unwrap_or(-1)
                    }
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

    /// Starts a step's record; returns where its events begin.
    fn begin_step(&mut self, events: &[Event]) -> usize {
        self.step_log = StepLog {
            before: self.sockets.clone(),
            ..StepLog::default()
        };
        events.len()
    }

    /// Ends a step: reads the kernel's view, says what changed, records the
    /// resets that came, and says why each call of the step gave what it
    /// gave (events from `from` on).
    fn end_step(&mut self, events: &mut Vec<Event>, from: usize) {
        self.states(events);
        self.attribute_packets(events, from);
        self.record_resets();
        let whys: Vec<Option<Why>> = events[from..]
            .iter()
            .map(|e| match e {
                Event::Call {
                    step,
                    actor,
                    call,
                    outcome,
                    ..
                }
                | Event::Completed {
                    step,
                    actor,
                    call,
                    outcome,
                    ..
                } => self.why(*step, *actor, call, outcome),
                Event::Crashed {
                    step,
                    actor,
                    call,
                    signal: Some(libc::SIGPIPE),
                    ..
                } => self.why_sigpipe(*step, *actor, call),
                _ => None,
            })
            .collect();
        // The calls that reported a reset: its error, or SO_ERROR read it.
        for e in &events[from..] {
            let (Event::Call {
                outcome,
                actor,
                call,
                ..
            }
            | Event::Completed {
                outcome,
                actor,
                call,
                ..
            }) = e
            else {
                continue;
            };
            let reported = matches!(
                outcome,
                Outcome::Failed {
                    errno: libc::ECONNRESET
                } | Outcome::Returned {
                    extra: Some(Extra::SoError(libc::ECONNRESET)),
                    ..
                }
            );
            if reported
                && let Some(fd) = call.fd()
                && let Some(s) = self.step_log.before.iter().find(|s| {
                    s.fd()
                        == Some(FdOf {
                            actor: *actor,
                            fd: *fd,
                        })
                })
            {
                self.reset_reported.insert(s.inode);
            }
        }
        for (e, why) in events[from..].iter_mut().zip(whys) {
            match e {
                Event::Call { why: w, .. }
                | Event::Completed { why: w, .. }
                | Event::Crashed { why: w, .. } => *w = why,
                _ => {}
            }
        }
    }

    fn run_step(&mut self, i: usize, events: &mut Vec<Event>) -> Result<(), EngineError> {
        let step = self.lesson.steps[i].clone();
        let actor = step.actor;
        let mut call = self.resolve(actor, &step.call);
        // A buffer's bytes (`send(c, buf, n, 0)`): what receives put there,
        // zeros past that, as many as the length says.
        if let Some((buf, len)) = &step.data_from
            && let Call::Send { data, .. } | Call::Sendto { data, .. } = &mut call
        {
            let a = &self.actors[actor];
            let n = match len {
                crate::lesson::Length::Bytes(n) => *n,
                crate::lesson::Length::Count(name) => {
                    usize::try_from(a.counts.get(name).copied().unwrap_or(0)).unwrap_or(0)
                }
            };
            let mut bytes = a.buffers.get(buf).cloned().unwrap_or_default();
            bytes.resize(n, 0);
            *data = bytes;
        }
        // An address the run bound earlier (`sendto(u, "x", peer)`).
        if let Some(name) = &step.addr_from
            && let Some(addr) = self.actors[actor].addrs.get(name).cloned()
            && let Some(slot) = call.addr_mut()
        {
            *slot = addr;
        }
        self.step_log.number = Some(step.number);
        if !step.before.is_empty() {
            events.push(Event::Section {
                step: step.number,
                lines: step.before.clone(),
            });
        }
        self.ran[i] = true;
        self.pending[actor].pop_front();
        self.steps_run += 1;
        // A program making the actor's steps: its next socket call must be
        // the step's, and it is what is made (and shown).
        if self.programs[actor].is_some() {
            let mut next = self.exchange(actor, Request::Next)?;
            // fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK): the read
            // of the flags is part of the step that sets them.
            while let (
                Call::Fcntl {
                    nonblock: Some(_), ..
                },
                Some(Reply::Next {
                    call: Some(Call::Fcntl { nonblock: None, .. }),
                    ..
                }),
            ) = (&call, &next)
            {
                self.exchange(actor, Request::Call(call.clone()))?;
                next = self.exchange(actor, Request::Next)?;
            }
            match next {
                Some(Reply::Next { call: made, output }) => {
                    for (fd, text) in output {
                        events.push(Event::Output { actor, fd, text });
                    }
                    match made {
                        Some(made) if same_call(&call, &made) => {
                            call = match (made, &call) {
                                // recv() is recvfrom() with no address asked
                                // for, the same system call.
                                (Call::Recv { fd, len, flags, .. }, Call::Recvfrom { .. }) => {
                                    Call::Recvfrom { fd, len, flags }
                                }
                                // The same bytes in sin_port, which the
                                // lesson says were stored without htons().
                                (Call::Bind { fd, addr, .. }, Call::Bind { raw, .. }) => {
                                    Call::Bind {
                                        fd,
                                        addr,
                                        raw: *raw,
                                    }
                                }
                                (made, _) => made,
                            }
                        }
                        made => {
                            let (signal, code) = self.stand_down(actor);
                            self.failures += 1;
                            events.push(Event::Mismatch {
                                step: step.number,
                                actor,
                                expected: call,
                                signal: signal.filter(|_| made.is_none()),
                                code: code.filter(|_| made.is_none()),
                                made,
                            });
                            return Ok(());
                        }
                    }
                }
                None => {
                    self.crashed(actor, i, call, events);
                    return Ok(());
                }
                Some(other) => {
                    return Err(EngineError::Channel {
                        who: self.lesson.actors[actor].clone(),
                        error: std::io::Error::other(format!("unexpected answer {other:?}")),
                    });
                }
            }
        }
        if let Some(fd) = call.fd() {
            self.step_log
                .calls
                .push((FdOf { actor, fd: *fd }, call.name()));
        }
        let reply = match call {
            Call::Fork { child } => self.fork(actor, child)?,
            _ => self.exchange(actor, Request::Call(call.clone()))?,
        };
        match reply {
            Some(Reply::Done(mut done)) => {
                self.release_stale(actor, &call, &mut done);
                let fds = self.changed_fds(actor, &done);
                let outcome = self.apply(actor, step.binding.as_deref(), &call, &done, step.number);
                // socketpair: the two names take the two fds, in order.
                let mut binding = shown_binding(&step);
                if let (Some(a), Some(b)) = (&step.binding, &step.binding2) {
                    let fd = |i: usize| done.fds.get(i).map(|s| s.fd).unwrap_or(-1);
                    let names = &mut self.actors[actor].bindings;
                    names.insert(a.clone(), fd(0));
                    names.insert(b.clone(), fd(1));
                    binding = Some(format!("{a}, {b}"));
                }
                self.keep_results(actor, &step, &outcome);
                let fail = step.expect.as_ref().and_then(|e| self.check(e, &outcome));
                events.push(Event::Call {
                    step: step.number,
                    actor,
                    binding,
                    call,
                    outcome,
                    fds,
                    why: None,
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
                    extra: None,
                    facts: None,
                    inq: None,
                };
                let fds = self.changed_fds(actor, &known);
                self.apply_fds(actor, &known);
                self.began_connect(actor, &call, step.number);
                let fail = match &step.expect {
                    Some(Expect::Signal(_)) => Some(Got::Outcome(outcome.clone())),
                    // Other expectations are checked when the call completes.
                    _ => None,
                };
                self.actors[actor].parked = Some(Parked {
                    step: i,
                    call: call.clone(),
                    wait,
                });
                events.push(Event::Call {
                    step: step.number,
                    actor,
                    binding: shown_binding(&step),
                    call,
                    outcome,
                    fds,
                    why: None,
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
        if self.actors.iter().all(|a| a.parked.is_none()) {
            return Ok(false);
        }
        let mut any = false;
        for actor in 0..self.actors.len() {
            let has_steps = !self.pending[actor].is_empty();
            let a = &self.actors[actor];
            if a.proc.is_none() || a.parked.is_some() || has_steps {
                continue;
            }
            self.exit_actor(actor, events)?;
            any = true;
        }
        Ok(any)
    }

    /// When no step can run and an actor is parked: the soonest timer the
    /// kernel has armed that could move a call, let fire. Whether there was
    /// one.
    fn wait_timer(&mut self, events: &mut Vec<Event>) -> Result<bool, EngineError> {
        let Some(armed) = self.armed_timer() else {
            return Ok(false);
        };
        self.step_log.timer = true;
        // A timer that has not fired yet in the last wait (the kernel's
        // slack) is waited for again, and not told twice.
        let told = (armed.actor, armed.step, armed.timer);
        if self.last_timer != Some(told) {
            self.last_timer = Some(told);
            events.push(Event::Timer {
                actor: armed.actor,
                step: armed.step,
                timer: armed.timer,
                ms: armed.ms,
            });
        }
        // A little past the timer, for the kernel's own slack.
        let wait = armed.ms.saturating_add(200);
        match armed.waiter {
            // The parked actor waits in its own call, which may end sooner.
            Some(waiter) => {
                let reply = match self.actors[waiter].proc.as_mut() {
                    Some(p) => {
                        let extended = Duration::from_millis(u64::from(wait)) + p.watchdog();
                        p.set_timeout(extended);
                        let r = self.exchange(waiter, Request::WaitTimer { ms: wait });
                        if let Some(p) = self.actors[waiter].proc.as_mut() {
                            let normal = p.watchdog();
                            p.set_timeout(normal);
                        }
                        r?
                    }
                    None => None,
                };
                self.parked_reply(waiter, reply, events)?;
            }
            // The timer is on a socket whose actor is not parked (a
            // non-blocking connect): the time is let run here.
            None => std::thread::sleep(Duration::from_millis(u64::from(wait))),
        }
        Ok(true)
    }

    /// The armed timer that fires first among those that could move a
    /// parked call: a lingering close's, or the SYN retransmission of any
    /// connect in progress (whose answer may be what a parked call waits
    /// for, such as an accept).
    fn armed_timer(&self) -> Option<Armed> {
        if !self.actors.iter().any(|a| a.parked.is_some()) {
            return None;
        }
        let mut best: Option<Armed> = None;
        let mut consider = |armed: Armed| {
            if best.as_ref().is_none_or(|b| armed.ms < b.ms) {
                best = Some(armed);
            }
        };
        for (actor, a) in self.actors.iter().enumerate() {
            if let (Some(p), Some(_)) = (&a.parked, &a.proc)
                && let WaitKind::Linger { secs } = p.wait
            {
                consider(Armed {
                    actor,
                    waiter: Some(actor),
                    step: self.lesson.steps[p.step].number,
                    timer: TimerWait::Linger { secs },
                    ms: u32::try_from(secs).unwrap_or(0).saturating_mul(1000),
                });
            }
        }
        // A send on a socket with SO_SNDTIMEO, a receive or accept on one
        // with SO_RCVTIMEO: the kernel ends it.
        for (actor, a) in self.actors.iter().enumerate() {
            let Some(p) = &a.parked else { continue };
            let (fd, timeouts, timer): (_, _, fn(u32) -> TimerWait) = match &p.call {
                Call::Send { fd, .. } | Call::Sendto { fd, .. } => {
                    (fd, &self.sndtimeo, |ms| TimerWait::SendTimeout { ms })
                }
                Call::Recv { fd, .. } | Call::Recvfrom { fd, .. } | Call::Accept { fd, .. } => {
                    (fd, &self.rcvtimeo, |ms| TimerWait::RecvTimeout { ms })
                }
                _ => continue,
            };
            if let Some(ms) = a
                .fds
                .get(fd)
                .and_then(|s| timeouts.get(&s.inode))
                .filter(|ms| **ms > 0)
            {
                consider(Armed {
                    actor,
                    waiter: Some(actor),
                    step: self.lesson.steps[p.step].number,
                    timer: timer(*ms),
                    ms: *ms,
                });
            }
        }
        for s in &self.sockets {
            let (State::SynSent, Some(fd), Some(t)) = (s.state, s.fd(), s.timer) else {
                continue;
            };
            if t.kind != TimerKind::Retransmit || self.actors[fd.actor].proc.is_none() {
                continue;
            }
            let Some(c) = self.connecting.get(&s.inode) else {
                continue;
            };
            let parked = self.actors[fd.actor].parked.as_ref();
            // An address on the link that no host has: the SYN waits for
            // an answer to the kernel's question who has it.
            let nowhere = c.addr.ip().filter(|ip| {
                !self.lesson.hosts.is_empty()
                    && crate::netns::on_link(*ip)
                    && crate::netns::host_with(*ip, self.lesson.hosts.len()).is_none()
            });
            consider(Armed {
                actor: fd.actor,
                waiter: parked.map(|_| fd.actor),
                step: c.step,
                timer: match nowhere {
                    Some(ip) => TimerWait::Resolve { ip },
                    None => TimerWait::SynRetransmit {
                        resends: t.retransmits,
                        queue: c.queue,
                    },
                },
                ms: t.expires_ms,
            });
        }
        best
    }

    /// The accept queue of the listener at `target`: (waiting, backlog).
    fn listener_queue(&self, target: &Addr) -> Option<(u32, u32)> {
        self.sockets
            .iter()
            .find(|s| {
                s.state == State::Listen
                    && s.local.as_ref().is_some_and(|l| {
                        l.port() == target.port() && (l == target || is_unspecified(l))
                    })
            })
            .map(|l| (l.recv_q, l.send_q))
    }

    fn exit_actor(&mut self, actor: usize, events: &mut Vec<Event>) -> Result<(), EngineError> {
        if let Some(Reply::Exiting(open)) = self.exchange(actor, Request::Exit)? {
            for (fd, closing) in &open {
                let f = FdOf { actor, fd: *fd };
                self.step_log.calls.push((f, "exit"));
                if let Some(c) = closing {
                    self.step_log.closings.push((f, *c));
                }
            }
            events.push(Event::Exit {
                actor,
                open: open.iter().map(|(fd, _)| *fd).collect(),
            });
        }
        let a = &mut self.actors[actor];
        if let Some(p) = a.proc.take() {
            // The kernel closes the fds as the process ends: the view after
            // this must see them closed.
            let watchdog = p.watchdog();
            p.reap();
            if let Some(peek) = &a.peek {
                peek.wait_exit(watchdog);
            }
        }
        a.peek = None;
        a.fds.clear();
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
        let Some(p) = self.actors[actor].proc.as_mut() else {
            return Ok(None);
        };
        let watchdog = p.watchdog();
        if p.send_fd(&Request::Fork, theirs.as_raw_fd()).is_err() {
            return Ok(None);
        }
        drop(theirs);
        let (reply, pidfd) = p.recv_fd().map_err(channel)?;
        if let Some(Reply::Done(done)) = &reply
            && done.errno.is_none()
        {
            let mut forked = Proc::adopt(done.ret as u32, ours, watchdog).map_err(channel)?;
            match forked.recv().map_err(channel)? {
                Some(Reply::Ready) => {}
                _ => {
                    return Err(EngineError::Setup {
                        actor: self.lesson.actors[child].clone(),
                        error: SetupError::Gone,
                    });
                }
            }
            let (fds, bindings, addrs, buffers, counts) = {
                let parent = &self.actors[actor];
                (
                    parent.fds.clone(),
                    parent.bindings.clone(),
                    parent.addrs.clone(),
                    parent.buffers.clone(),
                    parent.counts.clone(),
                )
            };
            let c = &mut self.actors[child];
            c.peek = pidfd.map(peek::Peek::from_pidfd);
            c.proc = Some(forked);
            c.fds = fds;
            c.bindings = bindings;
            c.addrs = addrs;
            c.buffers = buffers;
            c.counts = counts;
        }
        Ok(reply)
    }

    /// Asks the hub for a process that keeps host `host`'s namespace, and
    /// gives its pid as this process numbers it (read from its pidfd).
    fn keeper(&mut self, host: u8) -> Result<Option<u32>, EngineError> {
        let Some(hub) = self.hub.as_mut() else {
            return Ok(None);
        };
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        hub.send(&Request::Keeper { host }).map_err(channel)?;
        Ok(match hub.recv_fd().map_err(channel)? {
            (Some(Reply::Spawned { .. }), Some(pidfd)) => {
                use std::os::fd::AsRawFd;
                // The pidfd closes here; the keeper lives as long as the run.
                std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))
                    .ok()
                    .and_then(|info| {
                        info.lines()
                            .find_map(|l| l.strip_prefix("Pid:"))
                            .and_then(|p| p.trim().parse().ok())
                    })
            }
            _ => None,
        })
    }

    /// Asks the hub for host `host`'s packet socket; `Err` says why there
    /// is none.
    fn open_capture(
        &mut self,
        wanted: bool,
        host_index: u8,
    ) -> Result<Result<Capture, NoCapture>, EngineError> {
        if !wanted {
            return Ok(Err(NoCapture::NotAsked));
        }
        let host = !self.private;
        let Some(hub) = self.hub.as_mut() else {
            return Ok(Err(NoCapture::NoHub));
        };
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        hub.send(&Request::Capture { host: host_index })
            .map_err(channel)?;
        Ok(match hub.recv_fd().map_err(channel)? {
            (Some(Reply::Fd), Some(fd)) => Ok(Capture::from_fd(fd)),
            (Some(Reply::NoSocket(errno)), _) => Err(NoCapture::Denied { errno, host }),
            _ => Err(NoCapture::NoHub),
        })
    }

    /// Asks the hub for a sock_diag socket in host `host`'s namespace.
    fn open_diag(&mut self, host: u8) -> Result<Option<crate::kernel::Diag>, EngineError> {
        let Some(hub) = self.hub.as_mut() else {
            return Ok(None);
        };
        let channel = |error| EngineError::Channel {
            who: "the hub".into(),
            error,
        };
        hub.send(&Request::Diag { host }).map_err(channel)?;
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
        // Each frame with the host whose log it came from.
        let mut drained: Vec<(Frame, usize)> =
            capture.drain().into_iter().map(|f| (f, 0)).collect();
        // The second host's log holds the packets of its loopback only
        // (those of the link are in the first's, in the order they crossed).
        let hosts = self.second.is_some();
        if let Some(c) = self.second.as_ref().and_then(|h| h.capture.as_ref()) {
            drained.extend(c.drain().into_iter().map(|f| (f, 1)));
        }
        // The kernel drops frames only when its buffer for the socket is
        // full, which takes many more than this: the count is asked then.
        let may_have_lost = drained.len() >= 32;
        for (f, host) in drained {
            let Some(mut p) = crate::capture::decode(&f.bytes) else {
                continue;
            };
            if hosts && p.src.ip().is_some_and(|ip| ip.is_loopback()) {
                p.host = Some(host);
            }
            let ours = |a: &Addr| a.port().is_some_and(|port| ports.contains(&port));
            let about_ours = match &p.payload {
                Payload::Unreachable { about: Some(a), .. } => ours(a),
                _ => false,
            };
            if private || ours(&p.src) || ours(&p.dst) || about_ours {
                frames.push(f);
                packets.push(p);
            }
        }
        if !packets.is_empty() {
            self.step_log.packets.extend(packets.iter().cloned());
            events.push(Event::Packets { packets });
        }
        if let Some(count) = capture.lost(may_have_lost) {
            events.push(Event::PacketsLost {
                count: Some(count).filter(|c| *c > 0),
            });
        }
        Ok(())
    }

    /// Says which actor's socket sent each packet of the step, and whose it
    /// is for, from the views before and after the step.
    fn attribute_packets(&self, events: &mut [Event], from: usize) {
        let views = [&self.step_log.before, &self.sockets];
        // In a run with hosts, a packet on a host's loopback is for that
        // host's sockets only.
        let on = |s: &Socket, host: Option<usize>| match (host, s.holder.actor()) {
            (Some(h), Some(a)) => self.actor_hosts.get(a) == Some(&h),
            _ => true,
        };
        let sockets = |host: Option<usize>| {
            views
                .iter()
                .flat_map(|v| v.iter())
                .filter(move |s| on(s, host))
        };
        let by_pair = |local: &Addr, peer: &Addr, host: Option<usize>| {
            sockets(host)
                .find(|s| is(&s.local, local) && is(&s.peer, peer))
                .and_then(|s| s.holder.actor())
        };
        // A segment for no connection goes to a listener, never to a
        // socket that is only bound; an IPv4 one to an IPv6 wildcard
        // listener only if it takes IPv4 (not IPV6_V6ONLY).
        let by_local = |local: &Addr, host: Option<usize>| {
            sockets(host)
                .filter(|s| {
                    if s.kind.is_tcp() {
                        s.state == State::Listen
                    } else {
                        s.peer.is_none()
                    }
                })
                .find(|s| match &s.local {
                    Some(l) if l.same(local) => true,
                    Some(l) if l.port() == local.port() && is_unspecified(l) => {
                        let v4 = matches!(local.canonical(), Addr::V4(_));
                        match l {
                            Addr::V4(_) => v4,
                            _ => !v4 || !self.v6only.contains(&s.inode),
                        }
                    }
                    _ => false,
                })
                .and_then(|s| s.holder.actor())
                .or_else(|| {
                    // A socket gone within the step: whose address it was.
                    self.addr_owner
                        .iter()
                        .filter(|(_, o)| host.is_none_or(|h| self.actor_hosts.get(*o) == Some(&h)))
                        .find(|(a, _)| {
                            a.same(local) || (a.port() == local.port() && is_unspecified(a))
                        })
                        .map(|(_, o)| *o)
                })
        };
        for e in &mut events[from..] {
            let Event::Packets { packets } = e else {
                continue;
            };
            for p in packets.iter_mut() {
                match &p.payload {
                    Payload::Unreachable { sender, .. } => {
                        p.from = None;
                        p.to = sender.as_ref().and_then(|a| by_local(a, p.host));
                    }
                    _ => {
                        let h = p.host;
                        p.from = by_pair(&p.src, &p.dst, h).or_else(|| by_local(&p.src, h));
                        p.to = by_pair(&p.dst, &p.src, h).or_else(|| by_local(&p.dst, h));
                    }
                }
            }
        }
    }

    /// Records each RST of the step that reached a socket of the run, with
    /// why it was sent.
    fn record_resets(&mut self) {
        let log = &self.step_log;
        let step = log.number;
        let mut new = Vec::new();
        for (k, p) in log.packets.iter().enumerate() {
            if !p.has(RST) {
                continue;
            }
            let cause = self.rst_cause(p, &log.packets[..k]);
            let victim = log
                .before
                .iter()
                .chain(&self.sockets)
                .find(|s| is(&s.local, &p.dst) && is(&s.peer, &p.src));
            if let Some(v) = victim {
                // The state before the step: a FIN that came in the same
                // step is read from the packets before the RST.
                let fin = earlier_fin(&log.packets[..k], p);
                new.push(Reset {
                    inode: v.inode,
                    local: p.dst.clone(),
                    peer: p.src.clone(),
                    cause,
                    step,
                    after_fin: v.state.fin_received() || fin,
                    own: false,
                });
            }
            // Data that came after the sender had stopped reading: its
            // kernel reset the connection (tcp_reset) as it sent the RST,
            // and reports that to the sender too while an fd refers to it.
            let sender = log.before.iter().find(|s| {
                cause == RstCause::DataAfterClose
                    && s.kind.is_tcp()
                    && is(&s.local, &p.src)
                    && is(&s.peer, &p.dst)
                    && s.fd()
                        .is_some_and(|f| !log.closings.iter().any(|(c, _)| *c == f))
                    && !log.died.contains(&s.fd().map_or(usize::MAX, |f| f.actor))
            });
            if let Some(s) = sender {
                new.push(Reset {
                    inode: s.inode,
                    local: p.src.clone(),
                    peer: p.dst.clone(),
                    cause,
                    step,
                    after_fin: s.state.fin_received(),
                    own: true,
                });
            }
        }
        // A unix stream closed with unread data makes its peer's next read
        // fail with ECONNRESET; so does a unix listener closed, to the
        // connections in its accept queue.
        for (f, c) in &log.closings {
            if !c.kind.is_unix() {
                continue;
            }
            let closed = log.before.iter().find(|s| s.fd() == Some(*f));
            if c.listening {
                let path = closed.and_then(|s| s.local.as_ref());
                let queued = log.before.iter().filter(|s| {
                    s.kind.is_unix()
                        && s.kind.is_stream()
                        && s.fd().is_some()
                        && path.is_some_and(|p| s.peer.as_ref() == Some(p))
                        // unix_diag names its peer by inode 0: a socket not
                        // yet accepted has none.
                        && s.peer_inode == Some(0)
                });
                for q in queued {
                    new.push(Reset {
                        inode: q.inode,
                        local: q.local.clone().unwrap_or(Addr::Unix(String::new())),
                        peer: q.peer.clone().unwrap_or(Addr::Unix(String::new())),
                        cause: RstCause::ListenerClosed,
                        step,
                        after_fin: false,
                        own: false,
                    });
                }
                continue;
            }
            if c.unread == 0 {
                continue;
            }
            if let Some(peer) = closed
                .and_then(|s| s.peer_inode)
                .filter(|i| *i != 0)
                .and_then(|i| log.before.iter().find(|s| s.inode == i))
            {
                new.push(Reset {
                    inode: peer.inode,
                    local: peer.local.clone().unwrap_or(Addr::Unix(String::new())),
                    peer: peer.peer.clone().unwrap_or(Addr::Unix(String::new())),
                    cause: RstCause::UnreadData { bytes: c.unread },
                    step,
                    after_fin: false,
                    own: false,
                });
            }
        }
        self.resets.extend(new);
    }

    /// Why the RST `p` was sent, from what its sender was and what the step
    /// did to it; `earlier`: the step's packets before it.
    fn rst_cause(&self, p: &Packet, earlier: &[Packet]) -> RstCause {
        let log = &self.step_log;
        let sender = log
            .before
            .iter()
            .find(|s| s.kind.is_tcp() && is(&s.local, &p.src) && is(&s.peer, &p.dst));
        let closed = |f: FdOf| log.closings.iter().find(|(c, _)| *c == f).map(|(_, c)| c);
        let data_came = earlier
            .iter()
            .any(|q| q.src == p.dst && q.dst == p.src && !q.data().is_empty());
        match sender.map(|s| (s, s.holder)) {
            Some((s, Holder::Fd(f))) => match closed(f) {
                Some(c) if c.unread > 0 => RstCause::UnreadData { bytes: c.unread },
                Some(c) if c.linger.is_some_and(|(_, secs)| secs == 0) => RstCause::LingerZero,
                _ if log.died.contains(&f.actor) && s.tcp_bytes_to_read() > 0 => RstCause::Died {
                    bytes: s.tcp_bytes_to_read(),
                },
                _ if data_came && self.shut_read(s.inode) => RstCause::DataAfterClose,
                _ => RstCause::Unknown,
            },
            // Closed by a call, or by the kernel as its process died.
            Some((_, Holder::Queued { listener }))
                if closed(listener).is_some() || log.died.contains(&listener.actor) =>
            {
                RstCause::ListenerClosed
            }
            Some((_, Holder::Queued { listener }))
                if log.calls.contains(&(listener, "shutdown")) =>
            {
                RstCause::ListenerShut
            }
            Some((_, Holder::Closed(_))) if data_came => RstCause::DataAfterClose,
            Some(_) => RstCause::Unknown,
            None => {
                let syn = earlier
                    .iter()
                    .any(|q| q.src == p.dst && q.dst == p.src && q.has(SYN));
                if syn {
                    RstCause::NoListener
                } else {
                    RstCause::NoConnection
                }
            }
        }
    }

    /// Whether the socket `inode` was shut down for reading.
    fn shut_read(&self, inode: u64) -> bool {
        self.shutdowns
            .iter()
            .any(|(i, how, _)| *i == inode && matches!(how, How::Rd | How::RdWr))
    }

    /// Why a call gave what it gave, where that needs saying.
    fn why(&self, step: usize, actor: usize, call: &Call<i32>, outcome: &Outcome) -> Option<Why> {
        explain::why(outcome, &self.context(step, actor, call))
    }

    /// Why SIGPIPE killed an actor in a send.
    fn why_sigpipe(&self, step: usize, actor: usize, call: &Call<i32>) -> Option<Why> {
        Some(explain::epipe(&self.context(step, actor, call)))
    }

    fn context<'a>(
        &'a self,
        step: usize,
        actor: usize,
        call: &'a Call<i32>,
    ) -> explain::Context<'a> {
        let fd = call.fd().copied();
        let log = &self.step_log;
        let before = fd.and_then(|fd| {
            log.before
                .iter()
                .find(|s| s.fd() == Some(FdOf { actor, fd }))
        });
        let done = log.done.get(&(actor, step));
        let inode = before
            .map(|s| s.inode)
            .or_else(|| done.and_then(|(_, fds)| fds.first()).map(|s| s.inode))
            .filter(|i| *i != 0);
        explain::Context {
            call,
            before,
            inode,
            facts: done.and_then(|(f, _)| f.as_ref()),
            fds: done.map(|(_, fds)| fds.as_slice()).unwrap_or_default(),
            view_before: &log.before,
            view_after: &self.sockets,
            packets: self.capture.as_ref().map(|_| log.packets.as_slice()),
            resets: &self.resets,
            shutdowns: &self.shutdowns,
            ever_connected: inode.is_some_and(|i| self.connected.contains(&i)),
            was_bound: call
                .addr()
                .is_some_and(|a| self.addr_owner.iter().any(|(o, _)| o == a)),
            reset_reported: inode.is_some_and(|i| self.reset_reported.contains(&i)),
            fin_received: inode.is_some_and(|i| self.fins.contains(&i)),
            confinement: self.confinement,
            connect: inode
                .and_then(|i| self.connecting.get(&i))
                .filter(|c| c.step != step)
                .map(|c| (c.step, c.addr.clone())),
            v6only: &self.v6only,
            private: self.private,
            aborted: inode.and_then(|i| self.aborted.get(&i).copied()),
            disconnected: inode.and_then(|i| self.disconnected.get(&i).copied()),
            hosts: &self.actor_hosts,
            actor,
        }
    }

    /// Reads the kernel's view of every socket and reports what changed.
    fn states(&mut self, events: &mut Vec<Event>) {
        let pid = if self.private {
            self.hub.as_ref().map(|h| h.pid())
        } else {
            None
        };
        let mut tables = self.tables;
        let mut rows = Vec::new();
        let quiet = self.quiet_step();
        if quiet {
            // Nothing moved but reads: the kernel's view is the last one,
            // with what the reads left.
            rows.extend(self.tcp_rows_as_before());
            tables.tcp = false;
            tables.tcp6 = false;
        }
        rows.extend(host_rows(self.diag.as_ref(), pid, tables));
        // The second host's sockets, read in its namespace the same way.
        if let Some(h) = &self.second {
            rows.extend(host_rows(h.diag.as_ref(), h.pid, tables));
        }
        if !quiet {
            self.dumped = Instant::now();
        }
        rows.extend(if self.listeners_may_have_changed() {
            self.listeners()
        } else {
            self.listeners_as_before()
        });
        rows.extend(self.unlisted(&rows));
        // Listeners sharing an address (SO_REUSEPORT) may be listed twice.
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
        let fds: Vec<&BTreeMap<i32, FdState>> = self.actors.iter().map(|a| &a.fds).collect();
        let new = view::snapshot(&rows, &fds, &keep, &self.sockets, &mut self.seen, &rank);
        let elapsed_ms = self.viewed.elapsed().as_millis() as u64;
        self.viewed = Instant::now();
        let log = &self.step_log;
        let cause = |p: &Packet| {
            let k = log.packets.iter().position(|q| q == p).unwrap_or(0);
            self.rst_cause(p, &log.packets[..k])
        };
        let facts = view::StepFacts {
            packets: self.capture.as_ref().map(|_| log.packets.as_slice()),
            calls: &log.calls,
            rst_cause: &cause,
            elapsed_ms,
        };
        let transitions = view::diff(&self.sockets, &new, &facts);
        // The sockets the peer's FIN has come to: by their state, or by
        // the path that took them out of it (into TIME-WAIT, or CLOSED).
        for s in &new {
            if s.state.fin_received() && s.inode != 0 {
                self.fins.insert(s.inode);
            }
        }
        for t in &transitions {
            let got_fin = t.notes.iter().any(|n| match n {
                crate::explain::Note::Path(p) => p.hops.iter().any(|h| {
                    matches!(
                        h.by,
                        crate::explain::By::GotFin | crate::explain::By::GotFinAckingOurs
                    )
                }),
                _ => false,
            });
            if let Some(b) = t.before.as_ref().filter(|b| got_fin && b.inode != 0) {
                self.fins.insert(b.inode);
            }
        }
        // A connect in progress that got through has ended.
        self.connecting.retain(|inode, _| {
            !new.iter()
                .any(|s| s.inode == *inode && !matches!(s.state, State::SynSent | State::Close))
        });
        self.sockets = new;
        if !transitions.is_empty() {
            events.push(Event::States { transitions });
        }
    }

    /// The run's listening TCP sockets, looked at through their fds (each
    /// its own accept queue, SO_REUSEPORT or not); by address where an fd
    /// cannot be looked at.
    fn listeners(&self) -> Vec<crate::kernel::Row> {
        let mut rows = Vec::new();
        for a in &self.actors {
            for st in a.fds.values() {
                let (Some(kind), Some(State::Listen)) = (st.kind, st.tcp_state) else {
                    continue;
                };
                let Some(local) = &st.local else {
                    continue;
                };
                let looked = a.peek.as_ref().and_then(|p| p.listening(st.fd));
                let row = match looked {
                    Some(l) => Some(crate::kernel::Row {
                        kind,
                        local: local.clone(),
                        peer: None,
                        state: State::Listen,
                        recv_q: l.queued,
                        send_q: l.backlog,
                        inode: st.inode,
                        timer: None,
                        peer_inode: None,
                    }),
                    None => self
                        .diag
                        .as_ref()
                        .and_then(|d| d.listener(local).ok().flatten()),
                };
                rows.extend(row);
            }
        }
        rows
    }

    /// Whether no TCP socket's state or queues can have changed in this
    /// step but by what its calls report: in the run's own namespace, with
    /// packets captured and none this step, no timer let fire, no process
    /// ended, only calls that move no packet (reads, options, looks), and
    /// the last full read of the kernel's tables under a second ago (a
    /// TIME-WAIT may end without a packet).
    fn quiet_step(&self) -> bool {
        let log = &self.step_log;
        self.private
            && self.capture.is_some()
            && !self.tables.udp
            && !self.tables.udp6
            && !self.tables.unix
            && !self.sockets.is_empty()
            && log.packets.is_empty()
            && !log.timer
            && log.died.is_empty()
            && log.closings.is_empty()
            && self.dumped.elapsed() < Duration::from_secs(1)
            && !log.calls.is_empty()
            // No FIN has come to a socket read: its count would have it.
            && log.inq.iter().all(|(inode, _)| {
                self.sockets
                    .iter()
                    .any(|s| s.inode == *inode && !s.state.fin_received())
            })
            && log.calls.iter().all(|(fd, name)| match *name {
                // A read that returned says what it left; one that waits
                // may have taken some already.
                "recv" | "read" | "recvfrom" => self.actors[fd.actor]
                    .fds
                    .get(&fd.fd)
                    .is_some_and(|st| log.inq.iter().any(|(i, _)| *i == st.inode)),
                "poll" | "fcntl" | "getsockname" | "getpeername" | "getsockopt" => true,
                _ => false,
            })
    }

    /// The TCP sockets of the last look at the kernel, as its rows, with
    /// what this step's reads left to read.
    fn tcp_rows_as_before(&self) -> Vec<crate::kernel::Row> {
        self.sockets
            .iter()
            .filter(|s| s.kind.is_tcp() && s.state != State::Listen)
            .filter(|s| s.state != State::Close || s.fd().is_none())
            .filter_map(|s| {
                let recv_q = self
                    .step_log
                    .inq
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == s.inode && *i != 0)
                    .map_or(s.recv_q, |(_, q)| *q);
                Some(crate::kernel::Row {
                    kind: s.kind,
                    local: s.local.clone()?,
                    peer: s.peer.clone(),
                    state: s.state,
                    recv_q,
                    send_q: s.send_q,
                    inode: s.inode,
                    timer: s.timer,
                    peer_inode: s.peer_inode,
                })
            })
            .collect()
    }

    /// Whether a listener's accept queue may have changed in this step:
    /// only a handshake (SYN), a reset or a FIN that reaches a queued
    /// connection, a timer, or a call on a listener (accept, listen, close,
    /// shutdown; an exit, a fork) changes one. Without a capture, it may
    /// always have.
    fn listeners_may_have_changed(&self) -> bool {
        let log = &self.step_log;
        self.capture.is_none()
            || log.timer
            || !log.died.is_empty()
            || log.packets.iter().any(|p| {
                p.tcp_flags()
                    .is_none_or(|f| f & (SYN | RST | crate::capture::FIN) != 0)
            })
            || log.calls.iter().any(|(_, name)| {
                !matches!(
                    *name,
                    "send"
                        | "recv"
                        | "read"
                        | "write"
                        | "sendto"
                        | "recvfrom"
                        | "poll"
                        | "fcntl"
                        | "getsockname"
                        | "getpeername"
                        | "getsockopt"
                )
            })
    }

    /// The listeners as the last look saw them, when nothing since could
    /// have changed them.
    fn listeners_as_before(&self) -> Vec<crate::kernel::Row> {
        self.sockets
            .iter()
            .filter(|s| s.kind.is_tcp() && s.state == State::Listen && s.fd().is_some())
            .filter_map(|s| {
                Some(crate::kernel::Row {
                    kind: s.kind,
                    local: s.local.clone()?,
                    peer: None,
                    state: State::Listen,
                    recv_q: s.recv_q,
                    send_q: s.send_q,
                    inode: s.inode,
                    timer: None,
                    peer_inode: None,
                })
            })
            .collect()
    }

    /// The run's TCP sockets that fds hold but the kernel's tables do not
    /// list (new, bound, or reset ones: CLOSED), with what their queues
    /// still hold, read through their fds. The address of one that had a
    /// connection is given back when it ends, unless bind() gave it.
    fn unlisted(&self, rows: &[crate::kernel::Row]) -> Vec<crate::kernel::Row> {
        let mut out = Vec::new();
        for a in &self.actors {
            for st in a.fds.values() {
                let Some(kind) = st.kind.filter(|k| k.is_tcp()) else {
                    continue;
                };
                if st.inode == 0
                    || st.tcp_state == Some(State::Listen)
                    || rows.iter().any(|r| r.inode == st.inode)
                {
                    continue;
                }
                // A CLOSED socket sends nothing more: only what is left to
                // read is told (SIOCOUTQ keeps stale counts after a reset).
                let (recv_q, send_q) = (
                    a.peek
                        .as_ref()
                        .and_then(|p| p.queues(st.fd))
                        .map_or(0, |q| q.0),
                    0,
                );
                let released = (self.connected.contains(&st.inode)
                    || self.connecting.contains_key(&st.inode))
                    && !self.bound.contains(&st.inode);
                // No address: a row of the fd's own view with none.
                let none = Addr::V4(std::net::SocketAddrV4::new(
                    std::net::Ipv4Addr::UNSPECIFIED,
                    0,
                ));
                out.push(crate::kernel::Row {
                    kind,
                    local: st.local.clone().filter(|_| !released).unwrap_or(none),
                    peer: None,
                    state: State::Close,
                    recv_q,
                    send_q,
                    inode: st.inode,
                    timer: None,
                    peer_inode: None,
                });
            }
        }
        out
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
        got: Option<Got>,
        events: &mut Vec<Event>,
    ) {
        if let (Some(got), Some(expected)) = (got, &step.expect) {
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
            for actor in 0..self.actors.len() {
                let a = &self.actors[actor];
                if a.parked.is_none() || a.proc.is_none() {
                    continue;
                }
                let reply = self.exchange(actor, Request::Retry)?;
                progressed |= self.parked_reply(actor, reply, events)?;
            }
            if !progressed {
                return Ok(any);
            }
            any = true;
        }
    }

    /// What a parked actor answered to Retry or WaitTimer; whether its call
    /// moved.
    fn parked_reply(
        &mut self,
        actor: usize,
        reply: Option<Reply>,
        events: &mut Vec<Event>,
    ) -> Result<bool, EngineError> {
        match reply {
            Some(Reply::StillParked) => Ok(false),
            // Bytes moved: the peer may now move too.
            Some(Reply::Progressed(wait)) => {
                if let Some(p) = self.actors[actor].parked.as_mut() {
                    p.wait = wait;
                }
                Ok(true)
            }
            Some(Reply::Done(mut done)) => {
                let Some(parked) = self.actors[actor].parked.take() else {
                    return Ok(false);
                };
                self.release_stale(actor, &parked.call, &mut done);
                let step = self.lesson.steps[parked.step].clone();
                if let Some(fd) = parked.call.fd() {
                    self.step_log
                        .calls
                        .push((FdOf { actor, fd: *fd }, parked.call.name()));
                }
                let fds = self.changed_fds(actor, &done);
                let outcome = self.apply(
                    actor,
                    step.binding.as_deref(),
                    &parked.call,
                    &done,
                    step.number,
                );
                self.keep_results(actor, &step, &outcome);
                let fail = match &step.expect {
                    Some(Expect::Blocks) | None => None,
                    Some(e) => self.check(e, &outcome),
                };
                events.push(Event::Completed {
                    step: step.number,
                    actor,
                    binding: shown_binding(&step),
                    call: parked.call,
                    outcome,
                    fds,
                    why: None,
                });
                self.expect_result(&step, fail, events);
                Ok(true)
            }
            None => {
                let Some(parked) = self.actors[actor].parked.take() else {
                    return Ok(false);
                };
                self.crashed(actor, parked.step, parked.call, events);
                Ok(true)
            }
            Some(other) => Err(EngineError::Channel {
                who: self.lesson.actors[actor].clone(),
                error: std::io::Error::other(format!("unexpected answer {other:?}")),
            }),
        }
    }

    /// Keeps what a call gave that later steps may use: the address it
    /// reported, the count it returned, the bytes it put in a buffer.
    fn keep_results(&mut self, actor: usize, step: &crate::lesson::Step, outcome: &Outcome) {
        let a = &mut self.actors[actor];
        if let (Some((name, _)), Some(addr)) = (&step.binds_addr, outcome.reported()) {
            a.addrs.insert(name.clone(), addr.clone());
        }
        let Outcome::Returned { ret, data, .. } = outcome else {
            return;
        };
        if let Some(name) = &step.binds_count {
            a.counts.insert(name.clone(), *ret);
        }
        if let (Some(buf), Some(d)) = (&step.fills, data) {
            // As in C, the bytes go to the buffer's start; what was
            // after them stays.
            let b = a.buffers.entry(buf.clone()).or_default();
            if b.len() < d.len() {
                b.resize(d.len(), 0);
            }
            b[..d.len()].copy_from_slice(d);
        }
    }

    /// What the call gave instead of `expect`, or `None` if it meets it.
    fn check(&self, expect: &Expect, outcome: &Outcome) -> Option<Got> {
        let ok = match expect {
            Expect::Addr(a) => outcome.reported().is_some_and(|r| r == a),
            Expect::AddrEphemeral(ip, name) => outcome.reported().is_some_and(|r| {
                let port = r.port().unwrap_or(0);
                let same_ip = match (r, ip) {
                    (Addr::V4(a), std::net::IpAddr::V4(ip)) => a.ip() == ip,
                    (Addr::V6(a), std::net::IpAddr::V6(ip)) => a.ip() == ip,
                    _ => false,
                };
                // Not a port the lesson writes (as the host's loopback
                // may have moved it).
                let written = self
                    .lesson
                    .ports()
                    .iter()
                    .any(|p| *p == port || self.remap.get(p) == Some(&port));
                if !same_ip || port == 0 || written {
                    return false;
                }
                // A named port: the first expectation takes it; later ones
                // expect it; another name, another port.
                let Some(n) = name else {
                    return true;
                };
                let mut names = self.eph_names.borrow_mut();
                match names.get(n) {
                    Some(p) => *p == port,
                    None if names.values().any(|p| *p == port) => false,
                    None => {
                        names.insert(*n, port);
                        true
                    }
                }
            }),
            _ => return check(expect, outcome),
        };
        (!ok).then(|| Got::Outcome(outcome.clone()))
    }

    /// Records a completed call: binds its name, updates the fd table and
    /// what the step closed and shut down; returns its outcome.
    fn apply(
        &mut self,
        actor: usize,
        binding: Option<&str>,
        call: &Call<i32>,
        done: &Done,
        step: usize,
    ) -> Outcome {
        let outcome = match done.errno {
            Some(errno) => Outcome::Failed { errno },
            None => Outcome::Returned {
                ret: done.ret,
                data: done.data.clone(),
                addr: done.addr.clone(),
                extra: done.extra.clone(),
            },
        };
        if let Some(name) = binding {
            self.actors[actor]
                .bindings
                .insert(name.to_string(), done.ret as i32);
        }
        self.step_log
            .done
            .insert((actor, step), (done.facts, done.fds.clone()));
        if let (Some(inq), Some(st)) = (done.inq, done.fds.first())
            && st.inode != 0
        {
            self.step_log.inq.push((st.inode, inq));
        }
        if done.errno == Some(libc::EINPROGRESS) {
            self.began_connect(actor, call, step);
        }
        if let (
            Call::Setsockopt {
                fd,
                opt: opt @ (crate::call::SockOpt::RcvTimeo | crate::call::SockOpt::SndTimeo),
                value: crate::call::OptValue::Time { secs, usecs },
            },
            None,
        ) = (call, done.errno)
            && let Some(inode) = self.actors[actor].fds.get(fd).map(|s| s.inode)
        {
            let ms = secs.saturating_mul(1000).saturating_add(usecs / 1000);
            let ms = u32::try_from(ms).unwrap_or(u32::MAX);
            if *opt == crate::call::SockOpt::RcvTimeo {
                self.rcvtimeo.insert(inode, ms);
            } else {
                self.sndtimeo.insert(inode, ms);
            }
        }
        // A connect that succeeded leaves nothing pending; one that found
        // the connection over leaves the socket unconnected.
        if let Call::Connect { fd, .. } = call
            && let Some(inode) = self.actors[actor].fds.get(fd).map(|s| s.inode)
        {
            match done.errno {
                None => {
                    self.connecting.remove(&inode);
                    self.disconnected.remove(&inode);
                }
                Some(libc::ECONNABORTED) => {
                    self.disconnected.insert(inode, step);
                }
                Some(libc::EINPROGRESS) => {
                    self.disconnected.remove(&inode);
                }
                Some(_) => {}
            }
        }
        if let (Call::Shutdown { fd, how }, Some(libc::ENOTCONN)) = (call, done.errno)
            && let Some(st) = self.actors[actor].fds.get(fd)
            && st.kind.is_some_and(|k| !k.is_unix())
            && st.inode != 0
        {
            // An IP socket that is not connected: shutdown() says ENOTCONN
            // and shuts it down all the same.
            self.shutdowns.push((st.inode, *how, step));
        }
        if let Call::Shutdown { fd, .. } = call
            && let Some(before) = self
                .step_log
                .before
                .iter()
                .find(|s| s.fd() == Some(FdOf { actor, fd: *fd }))
            && before.state == State::SynSent
        {
            // A connect in progress, shut down: the kernel aborts it, and
            // keeps ECONNRESET for the next call.
            self.aborted.insert(before.inode, step);
        }
        if done.errno.is_none()
            && let Some(fd) = call.fd()
        {
            let inode = self.actors[actor].fds.get(fd).map(|s| s.inode).unwrap_or(0);
            match (call, &done.extra) {
                (Call::Shutdown { how, .. }, _) if inode != 0 => {
                    self.shutdowns.push((inode, *how, step));
                }
                (
                    Call::Setsockopt {
                        opt: crate::call::SockOpt::Ipv6V6Only,
                        value: crate::call::OptValue::Int(v),
                        ..
                    },
                    _,
                ) if inode != 0 => {
                    if *v != 0 {
                        self.v6only.insert(inode);
                    } else {
                        self.v6only.remove(&inode);
                    }
                }
                (Call::Bind { .. }, _) if inode != 0 => {
                    self.bound.insert(inode);
                }
                (Call::Accept { .. }, extra) => self.accepted(done, extra.as_ref()),
                (Call::Close { .. }, Some(Extra::Closed(c))) => {
                    self.step_log.closings.push((FdOf { actor, fd: *fd }, *c));
                }
                _ => {}
            }
        }
        self.apply_fds(actor, done);
        outcome
    }

    /// A connection accept() took has had a peer, whatever became of it;
    /// a reset that came while it waited in the queue (when no fd referred
    /// to it) is now its fd's.
    fn accepted(&mut self, done: &Done, extra: Option<&Extra>) {
        let Some(new) = done
            .fds
            .iter()
            .find(|s| s.open && i64::from(s.fd) == done.ret && s.inode != 0)
        else {
            return;
        };
        self.connected.insert(new.inode);
        let Some(Extra::Accepted(peer)) = extra else {
            return;
        };
        for r in &mut self.resets {
            if r.inode == 0
                && r.peer.same(peer)
                && new.local.as_ref().is_some_and(|l| r.local.same(l))
            {
                r.inode = new.inode;
            }
        }
    }

    /// Notes that `call`, a connect, has begun and not yet ended: the step,
    /// and the accept queue its SYN found (the view is the one before it).
    fn began_connect(&mut self, actor: usize, call: &Call<i32>, step: usize) {
        let Call::Connect { fd, addr } = call else {
            return;
        };
        let Some(inode) = self.actors[actor].fds.get(fd).map(|s| s.inode) else {
            return;
        };
        let queue = self.listener_queue(addr);
        self.connecting.insert(
            inode,
            Connecting {
                step,
                queue,
                addr: addr.clone(),
            },
        );
    }

    /// A TCP connection or connect attempt that ended (refused, reset,
    /// failed) gives back the port the kernel picked for it (unless bind()
    /// gave it): getsockname still names it, but it is no longer the
    /// socket's. `done` is mended to say so (the address is still known as
    /// the one its packets came from).
    fn release_stale(&mut self, actor: usize, call: &Call<i32>, done: &mut Done) {
        let failed_connect = matches!(call, Call::Connect { .. })
            && done
                .errno
                .is_some_and(|e| !matches!(e, libc::EINPROGRESS | libc::EALREADY | libc::EISCONN));
        let bound_now = matches!(call, Call::Bind { .. }) && done.errno.is_none();
        for st in done.fds.iter_mut() {
            let this = call.fd() == Some(&st.fd);
            // A bind() gives the socket an address of its own.
            if bound_now && this {
                self.released.remove(&st.inode);
                continue;
            }
            // A connect that failed after the kernel picked a port.
            if failed_connect && this && st.local.is_some() {
                self.released.insert(st.inode);
            }
            let tried = self.released.contains(&st.inode)
                || self.connecting.contains_key(&st.inode)
                || self.connected.contains(&st.inode);
            if st.kind.is_some_and(|k| k.is_tcp())
                && !self.bound.contains(&st.inode)
                && st.tcp_state == Some(State::Close)
                && st.peer.is_none()
                && tried
                && let Some(l) = st.local.take()
                && !self.addr_owner.iter().any(|(a, _)| *a == l)
            {
                self.addr_owner.push((l, actor));
            }
        }
    }

    /// The fds whose addresses `done` changed, as the kernel reports them now.
    fn changed_fds(&self, actor: usize, done: &Done) -> Vec<FdState> {
        let table = &self.actors[actor].fds;
        done.fds
            .iter()
            .filter(|st| st.open && (st.local.is_some() || st.peer.is_some()))
            .filter(|st| {
                table.get(&st.fd).map(|o| (&o.local, &o.peer)) != Some((&st.local, &st.peer))
            })
            .cloned()
            .collect()
    }

    /// Updates actor `actor`'s fd table from what a call reported.
    fn apply_fds(&mut self, actor: usize, done: &Done) {
        for st in &done.fds {
            if !st.open {
                self.actors[actor].fds.remove(&st.fd);
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
            if st.peer.is_some() && st.inode != 0 {
                self.connected.insert(st.inode);
            }
            self.actors[actor].fds.insert(st.fd, st.clone());
        }
    }

    fn crashed(
        &mut self,
        actor: usize,
        step_index: usize,
        call: Call<i32>,
        events: &mut Vec<Event>,
    ) {
        let step = self.lesson.steps[step_index].clone();
        let (signal, code) = self.stand_down(actor);
        let expected =
            matches!((&step.expect, signal), (Some(Expect::Signal(s)), Some(got)) if *s == got);
        events.push(Event::Crashed {
            actor,
            step: step.number,
            call,
            expected,
            signal,
            code,
            why: None,
        });
        let fail = match (&step.expect, signal) {
            (Some(Expect::Signal(s)), Some(got)) if *s == got => None,
            (Some(_), _) => Some(Got::Died { signal, code }),
            (None, _) => {
                // A crash nobody expected is a failure of the run.
                self.failures += 1;
                None
            }
        };
        self.expect_result(&step, fail, events);
    }

    /// Actor `actor`'s process is gone, or is ended (a program given for
    /// it that left the lesson's steps): reaped, its fds closed by the
    /// kernel, its steps left unrun. How it ended.
    fn stand_down(&mut self, actor: usize) -> (Option<i32>, Option<i32>) {
        let pid = self.actors[actor].proc.take().map(|p| {
            let (pid, watchdog) = (p.pid(), p.watchdog());
            p.reap();
            if let Some(peek) = &self.actors[actor].peek {
                peek.wait_exit(watchdog);
            }
            pid
        });
        let (signal, code) = match pid.map(|p| self.status(p)) {
            Some((None, None)) | None => self.actors[actor]
                .peek
                .as_ref()
                .and_then(peek::Peek::exit_status)
                .unwrap_or((None, None)),
            Some(status) => status,
        };
        let a = &mut self.actors[actor];
        a.parked = None;
        a.peek = None;
        for fd in a.fds.keys() {
            self.step_log.calls.push((FdOf { actor, fd: *fd }, "exit"));
        }
        a.fds.clear();
        self.step_log.died.push(actor);
        (signal, code)
    }

    fn finish(&mut self, events: &mut Vec<Event>) -> Result<(), EngineError> {
        self.finished = true;
        let unrun: Vec<usize> = (0..self.ran.len())
            .filter(|&i| !self.ran[i])
            .map(|i| self.lesson.steps[i].number)
            .collect();
        let waits: Vec<Waiting> = (0..self.actors.len())
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
                        got: Got::NeverReturned,
                    });
                }
            }
            events.push(Event::Deadlock {
                waits,
                asleep: Vec::new(),
                unrun: unrun.clone(),
                expected,
            });
        } else {
            if self.lesson.expect_deadlock {
                self.failures += 1;
                events.push(Event::Deadlock {
                    waits: Vec::new(),
                    asleep: Vec::new(),
                    unrun: Vec::new(),
                    expected: true,
                });
            }
            for actor in 0..self.actors.len() {
                if self.actors[actor].proc.is_some() {
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
        let from = self.begin_step(events);
        for actor in 0..self.actors.len() {
            if self.actors[actor].proc.is_some() {
                self.exit_actor(actor, events)?;
            }
        }
        self.packets(events)?;
        self.end_step(events, from);
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
        let parked = self.actors[a].parked.as_ref()?;
        let fd = parked.call.fd().copied().unwrap_or(-1);
        let on = match parked.wait {
            WaitKind::Data { .. } | WaitKind::Room { .. } | WaitKind::Linger { .. } => {
                self.actors[a].fds.get(&fd).and_then(|st| {
                    let (local, peer) = (st.local.as_ref()?, st.peer.as_ref()?);
                    self.owner_of(local, peer)
                })
            }
            // A later step of another actor that would connect to it.
            WaitKind::Connection => {
                let port = self.actors[a]
                    .fds
                    .get(&fd)
                    .and_then(|st| st.local.as_ref()?.port());
                let local = self.actors[a].fds.get(&fd).and_then(|st| st.local.clone());
                (0..self.actors.len()).filter(|&b| b != a).find(|&b| {
                    self.pending[b]
                        .iter()
                        .any(|&i| match &self.lesson.steps[i].call {
                            Call::Connect { addr, .. } => match (addr, &local) {
                                (Addr::Unix(_), Some(l)) => addr == l,
                                _ => {
                                    let real = addr
                                        .port()
                                        .map(|p| self.remap.get(&p).copied().unwrap_or(p));
                                    real.is_some() && real == port
                                }
                            },
                            _ => false,
                        })
                })
            }
            WaitKind::Handshake | WaitKind::Backlog | WaitKind::Ready => None,
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
        (0..self.actors.len()).find(|&b| {
            self.actors[b]
                .fds
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
        let Some(p) = self.actors[i].proc.as_mut() else {
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

/// Whether the call a program made is the lesson's step: the same call on
/// the same fd, with the same addresses, bytes, options and `how` (a
/// buffer's size, a backlog and the flags a runtime adds are the
/// program's own).
fn same_call(lesson: &Call<i32>, made: &Call<i32>) -> bool {
    use Call as C;
    if lesson.fd() != made.fd() {
        return false;
    }
    match (lesson, made) {
        (
            C::Socket { domain, ty, .. },
            C::Socket {
                domain: d, ty: t, ..
            },
        ) => domain == d && ty == t,
        (C::Bind { addr: a, .. }, C::Bind { addr: b, .. })
        | (C::Connect { addr: a, .. }, C::Connect { addr: b, .. }) => a.same(b),
        (C::Send { data: a, .. }, C::Send { data: b, .. }) => a == b,
        (
            C::Sendto {
                data: a, addr: x, ..
            },
            C::Sendto {
                data: b, addr: y, ..
            },
        ) => a == b && x.same(y),
        (
            C::Setsockopt {
                opt: a, value: x, ..
            },
            C::Setsockopt {
                opt: b, value: y, ..
            },
        ) => a == b && x == y,
        (C::Getsockopt { opt: a, .. }, C::Getsockopt { opt: b, .. }) => a == b,
        (C::Shutdown { how: a, .. }, C::Shutdown { how: b, .. }) => a == b,
        (C::Fcntl { nonblock: a, .. }, C::Fcntl { nonblock: b, .. }) => a == b,
        (C::Poll { fds: a, .. }, C::Poll { fds: b, .. }) => a == b,
        (
            C::Select {
                nfds: n,
                read: r,
                write: w,
                wait: x,
                ..
            },
            C::Select {
                nfds: m,
                read: q,
                write: v,
                wait: y,
                ..
            },
        ) => (n, r, w, x) == (m, q, v, y),
        (C::Socketpair { ty: a }, C::Socketpair { ty: b }) => a == b,
        (C::Unlink { path: a }, C::Unlink { path: b }) => a == b,
        (C::Recv { .. } | C::Recvfrom { .. }, C::Recv { .. } | C::Recvfrom { .. })
        | (C::Listen { .. }, C::Listen { .. })
        | (C::Accept { .. }, C::Accept { .. })
        | (C::Close { .. }, C::Close { .. })
        | (C::Getsockname { .. }, C::Getsockname { .. })
        | (C::Getpeername { .. }, C::Getpeername { .. })
        | (C::SoError { .. }, C::SoError { .. }) => true,
        _ => false,
    }
}

/// Whether a FIN for the RST's receiver came before it in `earlier`.
fn earlier_fin(earlier: &[Packet], rst: &Packet) -> bool {
    earlier
        .iter()
        .any(|q| q.src == rst.src && q.dst == rst.dst && q.has(crate::capture::FIN))
}

/// Where an actor's control channel and /proc handle go: the top of its
/// fd range (the soft RLIMIT_NOFILE it inherits), far from the fds a
/// lesson's calls get, whatever the limit.
fn actor_fds() -> (i32, i32) {
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
        .min(1 << 20) as i32;
    (limit - 1, limit - 2)
}

/// Whether a socket's address is `a` (IPv4-mapped or not).
fn is(addr: &Option<Addr>, a: &Addr) -> bool {
    addr.as_ref().is_some_and(|x| x.same(a))
}

fn is_unspecified(a: &Addr) -> bool {
    match a {
        Addr::V4(a) => a.ip().is_unspecified(),
        Addr::V6(a) => a.ip().is_unspecified(),
        Addr::Unix(_) => false,
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for p in self.actors.iter_mut().filter_map(|a| a.proc.take()) {
            p.kill();
        }
        if let Some(hub) = self.hub.take() {
            hub.kill();
        }
    }
}

/// The name a step's call is shown bound to: the fd's, or the address's
/// when written `peer = recvfrom(...)`.
fn shown_binding(step: &crate::lesson::Step) -> Option<String> {
    step.binding.clone().or_else(|| match &step.binds_addr {
        Some((name, true)) => Some(name.clone()),
        _ => None,
    })
}

/// What the call gave instead of `expect`, or `None` if it meets it.
fn check(expect: &Expect, outcome: &Outcome) -> Option<Got> {
    use crate::wire::Extra;
    let ok = match (expect, outcome) {
        // getsockopt: what is expected is the option's value.
        (
            Expect::Value(v),
            Outcome::Returned {
                extra: Some(Extra::Opt(crate::call::OptValue::Int(x))),
                ..
            },
        ) => i64::from(*x) == *v,
        (
            Expect::Value(v),
            Outcome::Returned {
                extra: Some(Extra::SoError(x)),
                ..
            },
        ) => i64::from(*x) == *v,
        (
            Expect::Errno(e),
            Outcome::Returned {
                extra: Some(Extra::SoError(x)),
                ..
            },
        ) => x == e,
        (Expect::Value(v), Outcome::Returned { ret, .. }) => ret == v,
        (Expect::Errno(e), Outcome::Failed { errno }) => errno == e,
        (Expect::Fails, Outcome::Failed { .. }) => true,
        (Expect::Bytes(b), Outcome::Returned { data: Some(d), .. }) => d == b,
        (Expect::Blocks, Outcome::Blocked { .. }) => true,
        _ => false,
    };
    (!ok).then(|| Got::Outcome(outcome.clone()))
}
