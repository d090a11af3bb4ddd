//! `sockstep trace -- PROGRAM [ARGS] [--- PROGRAM [ARGS]]...`: the
//! student's own programs, stepped one socket call at a time.
//!
//! The programs run in a network namespace of their own (made here, as a
//! run's hub makes one), each under ptrace with a seccomp filter that stops
//! it at the socket calls only, so every other system call runs at full
//! speed. One program moves at a time: a call is held at its entry, the
//! kernel is asked (on a copy of the fd, taken with pidfd_getfd) whether it
//! can complete now; if it can, it runs to its exit and its result is
//! shown, else the program is parked, still held, and the next one moves.
//! When every program is parked and none of their calls can complete, that
//! is a deadlock, named at once. A later program starts only when the
//! earlier ones are parked or gone, so a server listens before its client
//! starts. The events are a lesson run's, drawn by the same transcript.

use crate::call::{Addr, Call, Domain, How, MsgFlag, OptValue, Protocol, SockOpt, SockType, Via};
use crate::event::{Event, Network, Outcome, Waiting};
use crate::wire::{FdState, WaitKind};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub mod external;

/// What `sockstep trace` was asked.
pub struct TraceOptions {
    /// Each program and its arguments.
    pub programs: Vec<Vec<String>>,
    pub stable: bool,
    pub width: usize,
    pub color: bool,
    pub capture: bool,
    /// `--save-lesson FILE`: write the calls seen as a lesson there.
    pub save: Option<std::path::PathBuf>,
    /// One JSON object per event, as `sockstep run --format json` writes.
    pub json: bool,
    /// `--pcap FILE`: the packets captured, written there at the end.
    pub pcap: Option<std::path::PathBuf>,
    /// Wait for Enter after each step (on a terminal).
    pub pause: bool,
    /// One self-contained HTML page that replays the trace.
    pub html: bool,
    /// The trace as one SVG sequence diagram.
    pub svg: bool,
}

/// Why a trace could not run.
#[derive(Debug)]
pub enum TraceError {
    /// The run's namespace could not be made.
    Setup(crate::wire::SetupError),
    /// ptrace is not allowed here (Yama's ptrace_scope, a container).
    Ptrace(i32),
    /// A program could not be started.
    Start { program: String, errno: i32 },
    /// This machine's architecture has no filter here yet.
    Arch,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceError::Setup(e) => write!(
                f,
                "sockstep trace needs a network namespace of its own, and cannot make one: {}",
                crate::render::words::setup_error(e)
            ),
            TraceError::Ptrace(e) => {
                write!(
                    f,
                    "ptrace is not allowed here ({}), so programs cannot be traced",
                    crate::errno::errno_desc(*e)
                )?;
                // Yama's scope 2 allows only a tracer with CAP_SYS_PTRACE,
                // 3 none; else a seccomp policy (a container's) said no.
                let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                    .ok()
                    .and_then(|s| s.trim().parse::<u8>().ok());
                match scope {
                    Some(n) if n >= 2 => write!(f, ": kernel.yama.ptrace_scope is {n}"),
                    _ => write!(f, ": a seccomp policy (a container's, perhaps) forbids it"),
                }
            }
            TraceError::Start { program, errno } => write!(
                f,
                "cannot start {program}: {}",
                crate::errno::errno_desc(*errno)
            ),
            TraceError::Arch => write!(f, "sockstep trace runs on x86_64 only, for now"),
        }
    }
}

/// The syscall numbers the filter stops at.
#[cfg(target_arch = "x86_64")]
const TRACED: &[i64] = &[
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_connect,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_shutdown,
    libc::SYS_setsockopt,
    libc::SYS_getsockopt,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_close,
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_pselect6,
    libc::SYS_fcntl,
    libc::SYS_fork,
    libc::SYS_vfork,
    libc::SYS_clone,
    libc::SYS_clone3,
    libc::SYS_alarm,
    libc::SYS_setitimer,
    libc::SYS_timer_settime,
    libc::SYS_unlink,
    libc::SYS_unlinkat,
];

/// A classic BPF program: for this architecture, the traced calls return
/// SECCOMP_RET_TRACE (a stop for the tracer), every other call runs.
#[cfg(target_arch = "x86_64")]
fn filter() -> Vec<libc::sock_filter> {
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_TRACE: u32 = 0x7ff0_0000;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut f = vec![
        stmt(ld, 4),
        jump(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, RET_ALLOW),
        stmt(ld, 0),
    ];
    let n = TRACED.len();
    for (i, nr) in TRACED.iter().enumerate() {
        f.push(jump(*nr as u32, (n - i) as u8, 0));
    }
    f.push(stmt(ret, RET_ALLOW));
    f.push(stmt(ret, RET_TRACE));
    f
}

/// `struct ptrace_syscall_info` (linux/ptrace.h), for
/// PTRACE_GET_SYSCALL_INFO.
#[repr(C)]
#[derive(Clone, Copy)]
struct SyscallInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    /// entry and seccomp: nr, then args; exit: rval, then is_error.
    data: [u64; 8],
}

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const OP_EXIT: u8 = 2;
const OP_SECCOMP: u8 = 3;
const PTRACE_EVENT_SECCOMP: i32 = 7;

fn syscall_info(pid: i32) -> Option<SyscallInfo> {
    let mut info = SyscallInfo {
        op: 0,
        pad: [0; 3],
        arch: 0,
        instruction_pointer: 0,
        stack_pointer: 0,
        data: [0; 8],
    };
    // SAFETY: the kernel writes at most the given size into `info`.
    let r = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of::<SyscallInfo>(),
            &mut info as *mut SyscallInfo,
        )
    };
    (r > 0).then_some(info)
}

/// The call a tracee is held at, at a seccomp stop.
fn entry_at(pid: i32) -> Option<Entry> {
    let info = syscall_info(pid).filter(|s| s.op == OP_SECCOMP)?;
    let mut args = [0u64; 6];
    args.copy_from_slice(&info.data[1..7]);
    Some(Entry {
        nr: info.data[0] as i64,
        args,
    })
}

/// A traced call held at its entry: its number and arguments.
#[derive(Clone, Copy)]
struct Entry {
    nr: i64,
    args: [u64; 6],
}

/// How a traced program (a process, or a thread of one) stands.
enum Standing {
    /// Not started yet.
    Waiting,
    /// Running (between stops, as the tracer resumed it).
    Running,
    /// Held at a call's entry that cannot complete yet.
    Parked {
        entry: Entry,
        call: Call<i32>,
        step: usize,
        wait: WaitKind,
    },
    /// In a traced call that the kernel put to sleep after it began (a
    /// send larger than the room, a connect whose SYN was dropped, an
    /// accept another process took the connection of).
    InCall {
        entry: Entry,
        call: Call<i32>,
        step: usize,
        wait: WaitKind,
    },
    /// Asleep in the kernel, in a call that is not stepped (a lock, a
    /// child's end, a pipe...).
    Asleep(Sleep),
    /// A parent of vfork(), which the kernel holds until its child execs
    /// (its exec count passes `execs`) or ends.
    Vfork {
        child: usize,
        execs: usize,
    },
    Gone,
}

/// A program asleep in a call the filter lets run: which, what for, and
/// whether a time limit ends it.
#[derive(Clone)]
struct Sleep {
    syscall: String,
    /// `None`: a call whose wait this tracer does not know.
    on: Option<crate::event::AsleepOn>,
    timed: bool,
}

struct Program {
    argv: Vec<String>,
    name: String,
    /// Its thread id (a process's pid for its first thread).
    pid: i32,
    /// Its process's id.
    tgid: i32,
    /// The program whose fds these are: itself for a process, the
    /// process's first traced thread for a thread.
    fds_of: usize,
    /// Copies of its fds, through a pidfd (a process's only).
    pidfd: Option<crate::engine::peek::Peek>,
    standing: Standing,
    /// It has armed a timer (alarm, setitimer, timer_settime): a signal
    /// may end a call it waits in, so its waits are left to the kernel.
    timer: bool,
    /// Its exec has happened: it is the program now.
    execed: bool,
    /// How many execs it has made.
    execs: usize,
    /// Made by a traced fork or clone: its first stop is the SIGSTOP the
    /// kernel starts it with, which is not passed on.
    fresh: bool,
    /// Statuses waitpid gave for it before it was waited for.
    pending: std::collections::VecDeque<i32>,
    /// Stopped at a call's exit, until its step is shown.
    held: bool,
    /// Its column in the transcript: `None` for a process or thread made
    /// by another that has not touched a socket (a shell's subshell, a
    /// launcher's helpers), which is not shown until it does.
    column: Option<usize>,
    /// The program that made it.
    parent: usize,
    /// Processes and threads it made, for their names.
    children: usize,
    threads: usize,
}

impl Program {
    fn new(argv: Vec<String>, name: String, fds_of: usize) -> Program {
        Program {
            argv,
            name,
            pid: 0,
            tgid: 0,
            fds_of,
            pidfd: None,
            standing: Standing::Waiting,
            timer: false,
            execed: false,
            execs: 0,
            fresh: false,
            pending: Default::default(),
            held: false,
            column: Some(fds_of),
            parent: fds_of,
            children: 0,
            threads: 0,
        }
    }

    fn alive(&self) -> bool {
        self.pid > 0 && !matches!(self.standing, Standing::Gone | Standing::Waiting)
    }
}

/// How a wait for a program ended.
enum Stop {
    /// At the entry of a traced call.
    Call(Entry),
    /// It made a process or a thread, which is followed as program
    /// `child`.
    Made { child: usize, vfork: bool },
    /// Asleep in the kernel, with nothing to report.
    Asleep,
    /// It ended: the signal that ended it, or its exit code.
    Ended {
        signal: Option<i32>,
        code: Option<i32>,
    },
}

/// How a call let run from its entry ended.
enum Finished {
    Made(Outcome),
    /// Asleep in the kernel inside the call.
    Asleep,
    /// The program died in it.
    Died,
}

/// Runs the trace and prints its transcript; the exit code.
pub fn trace(opts: &TraceOptions) -> Result<bool, TraceError> {
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = opts;
        return Err(TraceError::Arch);
    }
    #[cfg(target_arch = "x86_64")]
    {
        crate::netns::create().map_err(TraceError::Setup)?;
        let mut t = Tracer::new(opts);
        let ok = t.run()?;
        Ok(ok)
    }
}

struct Tracer {
    programs: Vec<Program>,
    transcript: crate::render::Transcript,
    capture: Option<crate::capture::Capture>,
    diag: Option<crate::kernel::Diag>,
    steps: usize,
    seen: crate::engine::view::Seen,
    sockets: Vec<crate::sock::Socket>,
    deadlock: bool,
    crashed: bool,
    /// Each step's call and what it gave (`None` while it waits), for
    /// `--save-lesson`.
    record: Vec<(usize, usize, Call<i32>, Option<Outcome>)>,
    save: Option<std::path::PathBuf>,
    /// When the kernel's view was last read.
    viewed: std::time::Instant,
    /// A program that could not be started.
    not_started: Option<TraceError>,
    json: Option<crate::json::Json>,
    /// Statuses waitpid gave for processes not known yet (a new child's
    /// first stop can come before its parent's report of it).
    strays: Vec<(i32, i32)>,
    /// SIGCHLD, which a tracee's stop sends, as an fd to wait on.
    sigchld: Option<nix::sys::signalfd::SignalFd>,
    /// Programs already said to sleep in a call whose wait is not known.
    told_asleep: Vec<usize>,
    /// Every frame captured, for `--pcap`.
    frames: Option<(std::path::PathBuf, Vec<crate::capture::Frame>)>,
    pause: bool,
    /// `--format html`: the events go to the page, written at the end.
    player: Option<crate::render::player::Player>,
    /// `--format svg`: the events go to the picture, written at the end.
    picture: Option<crate::render::svg::Svg>,
    /// How many columns the transcript has.
    columns: usize,
}

impl Tracer {
    fn new(opts: &TraceOptions) -> Tracer {
        let names = program_names(&opts.programs);
        let mut mask = nix::sys::signal::SigSet::empty();
        mask.add(nix::sys::signal::Signal::SIGCHLD);
        // Blocked, to be read from the fd; each program unblocks every
        // signal before its exec.
        let sigchld = mask.thread_block().ok().and_then(|_| {
            nix::sys::signalfd::SignalFd::with_flags(
                &mask,
                nix::sys::signalfd::SfdFlags::SFD_NONBLOCK
                    | nix::sys::signalfd::SfdFlags::SFD_CLOEXEC,
            )
            .ok()
        });
        Tracer {
            programs: opts
                .programs
                .iter()
                .zip(names)
                .enumerate()
                .map(|(i, (argv, name))| Program::new(argv.clone(), name, i))
                .collect(),
            transcript: crate::render::Transcript::new(crate::render::TranscriptOptions {
                color: opts.color,
                stable: opts.stable,
                width: opts.width,
                packets: opts.capture,
                sockets: false,
                narration: true,
            }),
            capture: opts
                .capture
                .then(|| crate::capture::Capture::open(true, crate::capture::Sees::Out).ok())
                .flatten(),
            diag: crate::kernel::Diag::open().ok(),
            steps: 0,
            seen: Vec::new(),
            sockets: Vec::new(),
            deadlock: false,
            crashed: false,
            record: Vec::new(),
            save: opts.save.clone(),
            viewed: std::time::Instant::now(),
            not_started: None,
            json: opts.json.then(crate::json::Json::new),
            strays: Vec::new(),
            sigchld,
            told_asleep: Vec::new(),
            frames: opts.pcap.clone().map(|p| (p, Vec::new())),
            pause: opts.pause,
            player: opts
                .html
                .then(|| crate::render::player::Player::new(None, opts.width)),
            picture: opts.svg.then(crate::render::svg::Svg::new),
            columns: opts.programs.len(),
        }
    }

    fn emit(&mut self, events: &[Event]) {
        use std::io::Write;
        if let Some(p) = &mut self.picture {
            p.events(events);
            if events.iter().any(|e| matches!(e, Event::Finish { .. })) {
                let _ = std::io::stdout().lock().write_all(p.finish().as_bytes());
            }
            return;
        }
        if let Some(p) = &mut self.player {
            p.events(events);
            if events.iter().any(|e| matches!(e, Event::Finish { .. })) {
                let _ = std::io::stdout().lock().write_all(p.html().as_bytes());
            }
            return;
        }
        let text = match &mut self.json {
            Some(j) => j.events(events),
            None => self.transcript.events(events),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        drop(out);
        let step = events.iter().any(|e| {
            matches!(
                e,
                Event::Call { .. } | Event::Completed { .. } | Event::Crashed { .. }
            )
        });
        if self.pause && step {
            // Enter goes on; the programs wait, held where they are.
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
    }

    fn run(&mut self) -> Result<bool, TraceError> {
        // The first program starts before anything is shown: where ptrace
        // is not allowed, the one line that says so is all there is.
        self.start(0)?;
        let title = format!(
            "trace: {}",
            self.programs
                .iter()
                .map(|p| p.argv.join(" "))
                .collect::<Vec<_>>()
                .join(" and ")
        );
        self.emit(&[Event::Start {
            title,
            path: "sockstep trace".into(),
            goal: None,
            actors: self.programs.iter().map(|p| p.name.clone()).collect(),
            network: Network::Namespace,
            ports: Vec::new(),
            remapped: Vec::new(),
            confinement: crate::confine::Confinement::None,
            rooted_paths: false,
            hosts: Vec::new(),
            traced: Some(ephemeral_range()),
            programs: Vec::new(),
        }]);
        loop {
            self.reap();
            let n = self.programs.len();
            // A program the kernel woke (from a sleep in a call, or a
            // vfork parent whose child went on) goes first.
            if let Some(i) = (0..n).find(|&i| self.woke(i)) {
                self.wake(i);
                continue;
            }
            // Then a parked call that can complete now, in the programs'
            // order.
            if let Some(i) = (0..n).find(|&i| self.parked_ready(i)) {
                self.complete_parked(i);
                continue;
            }
            // Then the first program that can move: one running, else the
            // next not yet started (the earlier ones are parked, asleep or
            // gone).
            let next = (0..n)
                .find(|&i| matches!(self.programs[i].standing, Standing::Running))
                .or_else(|| {
                    (0..n).find(|&i| matches!(self.programs[i].standing, Standing::Waiting))
                });
            if let Some(i) = next {
                if matches!(self.programs[i].standing, Standing::Waiting) {
                    self.start(i)?;
                }
                self.advance(i);
                continue;
            }
            // No program can move. A parked wait a kernel timer ends is
            // let run, until the timer fires or the call can complete.
            if let Some(i) = (0..n).find(|&i| self.timed(i)) {
                self.complete_parked(i);
                continue;
            }
            // A sleep a timer ends, or one whose end is not known: wait
            // for the kernel, and say so once.
            let waiting: Vec<usize> = (0..n)
                .filter(|&i| {
                    self.sleeps_timed(i)
                        || matches!(&self.programs[i].standing, Standing::Asleep(s) if s.on.is_none())
                })
                .collect();
            for &i in &waiting {
                if !self.told_asleep.contains(&i)
                    && let Standing::Asleep(s) = &self.programs[i].standing
                {
                    let what = if s.timed {
                        "which a time limit ends"
                    } else {
                        "whose wait sockstep does not know"
                    };
                    eprintln!(
                        "sockstep trace: {} sleeps in {}(), {what}; waiting for it \
                         (Ctrl-C ends the run)",
                        self.programs[i].name, s.syscall
                    );
                    self.told_asleep.push(i);
                }
            }
            if !waiting.is_empty() {
                self.await_child(20);
                continue;
            }
            break;
        }
        let mut waits = Vec::new();
        let mut asleep = Vec::new();
        for p in &self.programs {
            let Some(actor) = p.column else { continue };
            match &p.standing {
                Standing::Parked {
                    call, step, wait, ..
                }
                | Standing::InCall {
                    call, step, wait, ..
                } => waits.push(Waiting {
                    actor,
                    step: *step,
                    call: call.clone(),
                    wait: *wait,
                    on: None,
                }),
                Standing::Asleep(Sleep {
                    syscall,
                    on: Some(on),
                    ..
                }) => asleep.push(crate::event::Asleep {
                    actor,
                    syscall: syscall.clone(),
                    on: *on,
                }),
                _ => {}
            }
        }
        if !waits.is_empty() || !asleep.is_empty() {
            self.deadlock = true;
            self.emit(&[Event::Deadlock {
                waits,
                asleep,
                unrun: Vec::new(),
                expected: false,
            }]);
            self.kill_all();
        }
        if let Some(path) = self.save.clone()
            && let Err(e) = std::fs::write(&path, self.lesson())
        {
            eprintln!("sockstep trace: cannot write {}: {e}", path.display());
        }
        if let Some((path, frames)) = self.frames.take() {
            let written = std::fs::File::create(&path).and_then(|f| {
                use std::io::Write;
                let mut w = std::io::BufWriter::new(f);
                crate::capture::write_pcap(&mut w, &frames)?;
                w.flush()
            });
            if let Err(e) = written {
                eprintln!("sockstep trace: cannot write {}: {e}", path.display());
            }
        }
        let sockets = self.sockets.clone();
        self.emit(&[
            Event::Table { sockets },
            Event::Finish {
                steps_run: self.steps,
                steps: self.steps,
                failures: usize::from(self.deadlock || self.crashed),
            },
        ]);
        match self.not_started.take() {
            Some(e) => Err(e),
            None => Ok(!self.deadlock && !self.crashed),
        }
    }

    /// Program `i`'s column (a program not shown has none; nothing about it
    /// is said).
    fn col(&self, i: usize) -> usize {
        self.programs[i].column.unwrap_or(usize::MAX)
    }

    /// Gives program `i` a column of its own from here on.
    fn show(&mut self, i: usize) {
        if self.programs[i].column.is_some() {
            return;
        }
        let column = self.columns;
        self.columns += 1;
        self.programs[i].column = Some(column);
        // Its parent as shown: the nearest shown ancestor.
        let mut parent = self.programs[i].parent;
        while self.programs[parent].column.is_none() && self.programs[parent].parent != parent {
            parent = self.programs[parent].parent;
        }
        let p = &self.programs[i];
        let joined = Event::Joined {
            actor: column,
            name: p.name.clone(),
            parent: self.col(parent),
            thread: p.fds_of != i,
        };
        self.emit(&[joined]);
    }

    /// Kills every program and reaps them all.
    fn kill_all(&mut self) {
        for p in &mut self.programs {
            if p.alive() {
                // SAFETY: kill of our own tracee.
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
            }
            if !matches!(p.standing, Standing::Waiting) {
                p.standing = Standing::Gone;
            }
        }
        // Every child of this process is a tracee: reap until none is
        // left (a thread group's leader is reported after its threads).
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own children.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if r < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                break;
            }
        }
    }

    /// Routes a status waitpid gave to its program, or keeps it for one
    /// not known yet.
    fn route(&mut self, pid: i32, status: i32) {
        match self.programs.iter().position(|p| p.pid == pid && p.alive()) {
            Some(j) => self.programs[j].pending.push_back(status),
            None => self.strays.push((pid, status)),
        }
    }

    /// Takes every status waitpid has ready, without waiting.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own tracees, writing one int.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
            if r <= 0 {
                break;
            }
            self.route(r, status);
        }
    }

    /// Waits until a tracee changes state (its SIGCHLD), `ms` at most.
    fn await_child(&mut self, ms: u16) {
        if let Some(fd) = &self.sigchld {
            use std::os::fd::AsFd;
            let mut fds = [nix::poll::PollFd::new(
                fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
        }
        if let Some(fd) = &mut self.sigchld {
            while let Ok(Some(_)) = fd.read_signal() {}
        }
    }

    /// Program `i`'s next status; `None` while it sleeps in the kernel.
    fn wait_for(&mut self, i: usize) -> Option<i32> {
        loop {
            if let Some(s) = self.programs[i].pending.pop_front() {
                return Some(s);
            }
            self.reap();
            if !self.programs[i].pending.is_empty() {
                continue;
            }
            let p = &self.programs[i];
            if sleeping(p.tgid, p.pid) {
                return None;
            }
            self.await_child(1);
        }
    }

    /// Whether program `i` slept and the kernel has woken it.
    fn woke(&self, i: usize) -> bool {
        let p = &self.programs[i];
        match &p.standing {
            Standing::Asleep(_) | Standing::InCall { .. } => {
                !p.pending.is_empty() || !sleeping(p.tgid, p.pid)
            }
            Standing::Vfork { child, execs } => {
                let c = &self.programs[*child];
                matches!(c.standing, Standing::Gone) || c.execs > *execs
            }
            _ => false,
        }
    }

    fn wake(&mut self, i: usize) {
        match std::mem::replace(&mut self.programs[i].standing, Standing::Running) {
            Standing::InCall {
                entry,
                call,
                step,
                wait,
            } => match self.call_exit(i, &entry, &call) {
                Finished::Made(outcome) => self.after_call(i, step, call, Some(outcome), true),
                Finished::Died => self.after_call(i, step, call, None, true),
                Finished::Asleep => {
                    self.programs[i].standing = Standing::InCall {
                        entry,
                        call,
                        step,
                        wait,
                    }
                }
            },
            // It runs on, to be advanced as any running program.
            Standing::Asleep(_) | Standing::Vfork { .. } => {}
            other => self.programs[i].standing = other,
        }
    }

    /// Whether program `i` sleeps in a wait a timer ends.
    fn sleeps_timed(&self, i: usize) -> bool {
        let p = &self.programs[i];
        match &p.standing {
            Standing::Asleep(s) => s.timed || self.programs[p.fds_of].timer,
            Standing::InCall { call, .. } => {
                // A connect's SYN is resent by a timer; other calls wait
                // as a parked call does.
                matches!(call, Call::Connect { .. }) || self.call_timed(i, call)
            }
            _ => false,
        }
    }
    /// The calls seen, as a lesson: actors named after the programs, each
    /// step expecting what its call gave.
    fn lesson(&self) -> String {
        let mut names: Vec<String> = vec![String::new(); self.columns];
        for p in &self.programs {
            if let Some(c) = p.column {
                names[c] = identifier(&p.name);
            }
        }
        // The programs given (those made by others carry their argv too).
        let argv: Vec<String> = (self.programs.iter().enumerate())
            .filter(|(i, p)| p.parent == *i)
            .map(|(_, p)| p.argv.join(" "))
            .collect();
        let mut out = format!(
            "lesson \"Traced: {}\"\ngoal   \"The socket calls sockstep trace saw, in the order they were made.\"\nactors {}\n",
            argv.join(" and ").replace('"', "'"),
            names.join(", ")
        );
        if self.deadlock {
            out.push_str("expect deadlock\n");
        }
        out.push('\n');
        let mut steps: Vec<&(usize, usize, Call<i32>, Option<Outcome>)> =
            self.record.iter().collect();
        steps.sort_by_key(|r| r.0);
        for (_, actor, call, outcome) in steps {
            if let Call::Fork { child } = call {
                out.push_str(&format!("{}: fork({})\n", names[*actor], names[*child]));
                continue;
            }
            let Some(text) = crate::render::lesson_call(call) else {
                out.push_str(&format!(
                    "# {}: {} (no lesson form yet)\n",
                    names[*actor],
                    crate::render::format_call(call, &crate::render::Names::default())
                ));
                continue;
            };
            let expect = match outcome {
                None => "blocks".to_string(),
                Some(Outcome::Returned {
                    data: Some(d), ret, ..
                }) if *ret > 0 => crate::render::quote_bytes(d, usize::MAX),
                Some(Outcome::Returned { ret, .. }) => ret.to_string(),
                Some(Outcome::Failed { errno }) => crate::errno::errno_name(*errno),
                Some(Outcome::Blocked { .. }) => "blocks".to_string(),
            };
            out.push_str(&format!("{}: {text} => {expect}\n", names[*actor]));
        }
        out
    }

    /// Starts program `i`, traced from its exec.
    fn start(&mut self, i: usize) -> Result<(), TraceError> {
        let pid = spawn(&self.programs[i].argv, &[], None, true, false)?;
        let p = &mut self.programs[i];
        p.pid = pid;
        p.tgid = pid;
        p.pidfd = pidfd(pid);
        p.standing = Standing::Running;
        p.execed = true;
        p.execs = 1;
        Ok(())
    }

    /// Lets program `i` run on from a stop, delivering `sig`.
    fn resume(&self, i: usize, sig: i32) {
        // SAFETY: PTRACE_CONT on our stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, self.programs[i].pid, 0, sig) };
    }

    /// Waits for program `i`'s next stop at a traced call, a process or
    /// thread it made, its end, or its sleep in the kernel, letting
    /// signals through.
    fn next_stop(&mut self, i: usize) -> Stop {
        loop {
            let Some(status) = self.wait_for(i) else {
                return Stop::Asleep;
            };
            if libc::WIFEXITED(status) {
                return Stop::Ended {
                    signal: None,
                    code: Some(libc::WEXITSTATUS(status)),
                };
            }
            if libc::WIFSIGNALED(status) {
                return Stop::Ended {
                    signal: Some(libc::WTERMSIG(status)),
                    code: None,
                };
            }
            let pid = self.programs[i].pid;
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            if sig == libc::SIGTRAP && event == PTRACE_EVENT_SECCOMP {
                if let Some(entry) = entry_at(pid) {
                    return Stop::Call(entry);
                }
                self.resume(i, 0);
            } else if sig == libc::SIGTRAP
                && matches!(
                    event,
                    libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE
                )
            {
                let mut msg: libc::c_ulong = 0;
                // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long.
                unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, pid, 0, &mut msg) };
                let child = self.follow(i, msg as i32, event == libc::PTRACE_EVENT_CLONE);
                self.resume(i, 0);
                return Stop::Made {
                    child,
                    vfork: event == libc::PTRACE_EVENT_VFORK,
                };
            } else if sig == libc::SIGTRAP || sig == (libc::SIGTRAP | 0x80) {
                // exec's stop, or a syscall stop: nothing to deliver.
                if event == libc::PTRACE_EVENT_EXEC {
                    self.programs[i].execed = true;
                    self.programs[i].execs += 1;
                }
                self.resume(i, 0);
            } else if sig == libc::SIGSTOP && self.programs[i].fresh {
                // The stop a traced fork or clone starts its child with.
                self.programs[i].fresh = false;
                self.resume(i, 0);
            } else {
                if sig == libc::SIGALRM {
                    // The alarm went off: no timer is armed any more.
                    let owner = self.programs[i].fds_of;
                    self.programs[owner].timer = false;
                }
                self.resume(i, sig);
            }
        }
    }

    /// Program `i` made the process or thread `pid`: it is followed from
    /// here as a new program, held until its turn. Its index.
    fn follow(&mut self, i: usize, pid: i32, clone: bool) -> usize {
        let parent_tgid = self.programs[i].tgid;
        let thread = clone && tgid_of(pid) == Some(parent_tgid);
        let owner = self.programs[i].fds_of;
        let index = self.programs.len();
        let name = if thread {
            self.programs[owner].threads += 1;
            format!(
                "{}.t{}",
                self.programs[owner].name, self.programs[owner].threads
            )
        } else {
            self.programs[i].children += 1;
            format!("{}.c{}", self.programs[i].name, self.programs[i].children)
        };
        let mut p = Program::new(
            self.programs[i].argv.clone(),
            name,
            if thread { owner } else { index },
        );
        p.pid = pid;
        p.tgid = if thread { parent_tgid } else { pid };
        p.pidfd = if thread { None } else { pidfd(pid) };
        p.standing = Standing::Running;
        p.execed = true;
        p.fresh = true;
        p.parent = i;
        p.column = None;
        let (mine, rest): (Vec<_>, Vec<_>) = self.strays.drain(..).partition(|s| s.0 == pid);
        self.strays = rest;
        p.pending = mine.into_iter().map(|s| s.1).collect();
        self.programs.push(p);
        index
    }

    /// The stepping tracee's copies of fds: its process's.
    fn peek(&self, i: usize) -> Option<&crate::engine::peek::Peek> {
        self.programs[self.programs[i].fds_of].pidfd.as_ref()
    }

    /// Runs program `i` to its next socket call, which is made or parks
    /// it, to a process or thread it makes, to its end, or until it
    /// sleeps in the kernel.
    fn advance(&mut self, i: usize) {
        loop {
            match self.next_stop(i) {
                Stop::Ended { signal, code } => {
                    self.ended(i, signal, code);
                    return;
                }
                Stop::Asleep => {
                    self.programs[i].standing = Standing::Asleep(self.asleep_in(i));
                    return;
                }
                Stop::Made { child, vfork } => {
                    // A process or thread made with sockets in hand is shown
                    // from its making; one without, from its first socket
                    // call, if it makes one.
                    let owner = self.programs[i].fds_of;
                    if self.programs[i].column.is_some() && !self.fd_table(owner).is_empty() {
                        self.made(i, child);
                    }
                    if vfork {
                        let execs = self.programs[child].execs;
                        self.programs[i].standing = Standing::Vfork { child, execs };
                    }
                    return;
                }
                Stop::Call(entry) => {
                    if is_fork(entry.nr) {
                        // Its child is reported at the call's exit.
                        self.resume(i, 0);
                        continue;
                    }
                    if let Some(armed) = timer_call(&entry) {
                        let owner = self.programs[i].fds_of;
                        self.programs[owner].timer = armed;
                        self.resume(i, 0);
                        continue;
                    }
                    if let Some((fd, text)) = output(self.programs[i].pid, &entry) {
                        if self.programs[i].column.is_some() {
                            let actor = self.col(i);
                            self.emit(&[Event::Output { actor, fd, text }]);
                        }
                        self.resume(i, 0);
                        continue;
                    }
                    let Some(call) = decode(self.programs[i].pid, &entry) else {
                        // Not a socket's: it runs on.
                        self.resume(i, 0);
                        continue;
                    };
                    self.show(i);
                    self.steps += 1;
                    let step = self.steps;
                    match self.blocks(i, &call) {
                        Some(wait) => {
                            self.programs[i].standing = Standing::Parked {
                                entry,
                                call: call.clone(),
                                step,
                                wait,
                            };
                            self.blocked(i, step, call, wait);
                            return;
                        }
                        None => {
                            // Made; then the parked calls are asked again
                            // before this program moves on.
                            self.make(i, entry, call, step, false);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The step of a call that waits: shown, and kept for the lesson.
    fn blocked(&mut self, i: usize, step: usize, call: Call<i32>, wait: WaitKind) {
        let actor = self.col(i);
        self.record.push((step, actor, call.clone(), None));
        self.emit(&[Event::Call {
            step,
            actor,
            binding: None,
            call,
            outcome: Outcome::Blocked { wait },
            fds: Vec::new(),
            why: None,
        }]);
    }

    /// Lets a held call run: shown with its result, or as waiting if the
    /// kernel puts it to sleep on the way.
    fn make(&mut self, i: usize, entry: Entry, call: Call<i32>, step: usize, completed: bool) {
        let pid = self.programs[i].pid;
        let queued = queued(self.peek(i), &call);
        // SAFETY: PTRACE_SYSCALL on our tracee held at a seccomp stop: it
        // stops again at the call's exit.
        unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, 0) };
        match self.call_exit(i, &entry, &call) {
            Finished::Made(outcome) => self.after_call(i, step, call, Some(outcome), completed),
            Finished::Died => self.after_call(i, step, call, None, completed),
            Finished::Asleep => {
                let wait = sleep_wait(&call, queued);
                if !completed {
                    self.blocked(i, step, call.clone(), wait);
                }
                self.programs[i].standing = Standing::InCall {
                    entry,
                    call,
                    step,
                    wait,
                };
            }
        }
    }

    /// The step of a fork or clone of program `i`: the new program's
    /// column, the call, and its fds (a process's copies).
    fn made(&mut self, i: usize, child: usize) {
        self.show(child);
        self.steps += 1;
        let step = self.steps;
        let c = &self.programs[child];
        let thread = c.fds_of != child;
        let shown = self.col(child);
        let call = if thread {
            Call::Thread { child: shown }
        } else {
            Call::Fork { child: shown }
        };
        let outcome = Outcome::Returned {
            ret: c.pid as i64,
            data: None,
            addr: None,
            extra: None,
        };
        let actor = self.col(i);
        self.record
            .push((step, actor, call.clone(), Some(outcome.clone())));
        self.look(
            vec![Event::made(false, step, actor, call, outcome, Vec::new())],
            &[],
        );
    }

    /// What program `i` sleeps in, as /proc says.
    fn asleep_in(&self, i: usize) -> Sleep {
        let p = &self.programs[i];
        let line = std::fs::read_to_string(format!("/proc/{}/task/{}/syscall", p.tgid, p.pid))
            .unwrap_or_default();
        let mut it = line.split_whitespace();
        let nr = it.next().and_then(|n| n.parse::<i64>().ok()).unwrap_or(-1);
        let args: Vec<u64> = it
            .take(6)
            .map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap_or(0))
            .collect();
        let arg = |k: usize| args.get(k).copied().unwrap_or(0);
        let is_socket = |fd: u64| {
            std::fs::read_link(format!("/proc/{}/fd/{}", p.tgid, fd as i32))
                .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        };
        let mut sleep = classify(nr, &arg, &is_socket);
        // A socket with SO_RCVTIMEO or SO_SNDTIMEO set: the kernel ends the
        // wait when the time runs out (either counts: when unsure, it is a
        // wait, not a deadlock).
        if let Some(crate::event::AsleepOn::Socket { fd: Some(fd) }) = sleep.on
            && let Some(copy) = self.peek(i).and_then(|pk| pk.fd(fd))
        {
            let set = |t: nix::Result<(i64, i64)>| t.is_ok_and(|t| t != (0, 0));
            let raw = copy.as_raw_fd();
            if set(crate::actor::sys::rcvtimeo(raw)) || set(crate::actor::sys::sndtimeo(raw)) {
                sleep.timed = true;
            }
        }
        sleep
    }

    fn ended(&mut self, i: usize, signal: Option<i32>, code: Option<i32>) {
        self.programs[i].standing = Standing::Gone;
        // One not shown made no socket call and held no socket: nothing
        // to say of its end.
        if self.programs[i].column.is_none() {
            return;
        }
        let actor = self.col(i);
        if let Some(sig) = signal {
            self.crashed = true;
            // SIGPIPE comes with the EPIPE of its last call: said there.
            let last = self
                .record
                .iter()
                .rev()
                .find(|r| r.1 == actor)
                .map(|r| (r.0, r.2.clone(), r.3.clone()));
            match last {
                Some((step, call, Some(Outcome::Failed { errno })))
                    if sig == libc::SIGPIPE && errno == libc::EPIPE =>
                {
                    self.emit(&[Event::Crashed {
                        actor,
                        step,
                        call,
                        expected: false,
                        signal: Some(sig),
                        code,
                        why: None,
                    }]);
                }
                // A thread ends with its process: said once, for it.
                _ if self.programs[i].fds_of != i => {}
                _ => eprintln!(
                    "sockstep trace: {} was killed by {}",
                    self.programs[i].name,
                    crate::errno::signal_name(sig)
                ),
            }
        }
        if !self.programs[i].execed {
            // It never became the program: exec failed.
            self.crashed = true;
            self.not_started = Some(TraceError::Start {
                program: self.programs[i].argv.join(" "),
                errno: if code == Some(127) {
                    libc::ENOENT
                } else {
                    libc::EACCES
                },
            });
        }
        // The kernel closed the fds its process had, when its last thread
        // ended.
        let tgid = self.programs[i].tgid;
        let owner = self.programs[i].fds_of;
        if self.programs.iter().any(|p| p.tgid == tgid && p.alive()) {
            return;
        }
        let calls: Vec<(crate::sock::FdOf, &'static str)> = self
            .sockets
            .iter()
            .filter_map(|s| s.fd().filter(|f| f.actor == self.col(owner)))
            .map(|f| (f, "exit"))
            .collect();
        // The socket fds it still had: the kernel closes them as it ends.
        let mut open: Vec<i32> = calls.iter().map(|(f, _)| f.fd).collect();
        open.sort();
        open.dedup();
        self.emit(&[Event::Exit { actor, open }]);
        self.look(Vec::new(), &calls);
    }

    /// What program `i`'s held call waits for, if it cannot complete now.
    fn blocks(&self, i: usize, call: &Call<i32>) -> Option<WaitKind> {
        probe(self.programs[i].pid, self.peek(i)?, call)
    }

    /// Whether program `i` is parked in a call that can complete now.
    fn parked_ready(&self, i: usize) -> bool {
        match &self.programs[i].standing {
            Standing::Parked { call, .. } => self.blocks(i, call).is_none(),
            _ => false,
        }
    }

    fn complete_parked(&mut self, i: usize) {
        let Standing::Parked {
            entry, call, step, ..
        } = std::mem::replace(&mut self.programs[i].standing, Standing::Running)
        else {
            return;
        };
        self.make(i, entry, call, step, true);
    }

    /// Waits for a call let run from its entry to exit: what it gave.
    fn call_exit(&mut self, i: usize, entry: &Entry, call: &Call<i32>) -> Finished {
        let pid = self.programs[i].pid;
        loop {
            let Some(status) = self.wait_for(i) else {
                return Finished::Asleep;
            };
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
                let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
                self.programs[i].standing = Standing::Gone;
                if signal.is_some() {
                    self.crashed = true;
                    let actor = self.col(i);
                    self.emit(&[Event::Crashed {
                        actor,
                        step: self.steps,
                        call: call.clone(),
                        expected: false,
                        signal,
                        code,
                        why: None,
                    }]);
                }
                return Finished::Died;
            }
            let sig = libc::WSTOPSIG(status);
            if sig == (libc::SIGTRAP | 0x80)
                && let Some(outcome) = exit_outcome(pid, entry, call)
            {
                // Held at the call's exit until the step is shown: what
                // it does next (its exit, closing every fd) is the next
                // step's.
                self.programs[i].standing = Standing::Running;
                self.programs[i].held = true;
                return Finished::Made(outcome);
            }
            // Anything else (a signal on the way): let it through.
            // SAFETY: PTRACE_SYSCALL on our stopped tracee.
            unsafe {
                libc::ptrace(
                    libc::PTRACE_SYSCALL,
                    pid,
                    0,
                    if sig == libc::SIGTRAP { 0 } else { sig },
                )
            };
        }
    }

    fn after_call(
        &mut self,
        i: usize,
        step: usize,
        call: Call<i32>,
        outcome: Option<Outcome>,
        completed: bool,
    ) {
        let owner = self.col(self.programs[i].fds_of);
        let actor = self.col(i);
        let calls: Vec<(crate::sock::FdOf, &'static str)> = call
            .fd()
            .map(|fd| {
                (
                    crate::sock::FdOf {
                        actor: owner,
                        fd: *fd,
                    },
                    call.name(),
                )
            })
            .into_iter()
            .collect();
        let Some(outcome) = outcome else {
            self.look(Vec::new(), &calls);
            return;
        };
        match self.record.iter_mut().find(|r| r.0 == step) {
            Some(r) => r.3 = Some(outcome.clone()),
            None => self
                .record
                .push((step, actor, call.clone(), Some(outcome.clone()))),
        }
        let fds = self.changed_fds(i, &call, &outcome);
        self.look(
            vec![Event::made(completed, step, actor, call, outcome, fds)],
            &calls,
        );
        if std::mem::take(&mut self.programs[i].held) {
            self.resume(i, 0);
        }
    }

    /// The fds whose addresses the call changed (bind, connect, an fd a
    /// call returned), as the kernel says they are now.
    fn changed_fds(&self, i: usize, call: &Call<i32>, outcome: &Outcome) -> Vec<FdState> {
        let table = self.fd_table(self.programs[i].fds_of);
        let owner = self.col(self.programs[i].fds_of);
        let mut fds: Vec<i32> = call.fd().copied().into_iter().collect();
        if let (Call::Accept { .. } | Call::Socket { .. }, Outcome::Returned { ret, .. }) =
            (call, outcome)
        {
            fds.push(*ret as i32);
        }
        fds.iter()
            .filter_map(|fd| table.get(fd))
            .filter(|st| {
                let before = self.sockets.iter().find(|s| {
                    s.fd()
                        == Some(crate::sock::FdOf {
                            actor: owner,
                            fd: st.fd,
                        })
                });
                let had = before.map(|s| (s.local.clone(), s.peer.clone()));
                (st.local.is_some() || st.peer.is_some())
                    && had != Some((st.local.clone(), st.peer.clone()))
            })
            .cloned()
            .collect()
    }

    /// The step's events with the packets that crossed, and what changed
    /// in the kernel's view (`calls`: the step's calls on each fd).
    fn look(&mut self, mut events: Vec<Event>, calls: &[(crate::sock::FdOf, &'static str)]) {
        let before = std::mem::take(&mut self.sockets);
        self.sockets = self.view(&before);
        let mut packets = Vec::new();
        if let Some(c) = &self.capture {
            let views = [&before, &self.sockets];
            let frames = c.drain();
            if let Some((_, all)) = &mut self.frames {
                all.extend(frames.iter().cloned());
            }
            packets = frames
                .iter()
                .filter_map(|f| crate::capture::decode(&f.bytes))
                .map(|mut p| {
                    p.from = owner(&views, &p.src, &p.dst);
                    p.to = owner(&views, &p.dst, &p.src);
                    p
                })
                .collect();
            if !packets.is_empty() {
                events.push(Event::Packets {
                    packets: packets.clone(),
                });
            }
        }
        // Why an RST was sent is not traced yet: said as not known.
        let unknown = |_: &crate::capture::Packet| crate::explain::RstCause::Unknown;
        let facts = crate::engine::view::StepFacts {
            packets: self.capture.as_ref().map(|_| packets.as_slice()),
            calls,
            rst_cause: &unknown,
            elapsed_ms: self.viewed.elapsed().as_millis() as u64,
        };
        self.viewed = std::time::Instant::now();
        let transitions = crate::engine::view::diff(&before, &self.sockets, &facts);
        if !transitions.is_empty() {
            events.push(Event::States { transitions });
        }
        // The page shows the sockets at every step, as a lesson's does.
        if self.player.is_some() {
            events.push(Event::Table {
                sockets: self.sockets.clone(),
            });
        }
        self.emit(&events);
    }

    /// Every socket: those the programs' fds hold, and those no fd does.
    fn view(&mut self, before: &[crate::sock::Socket]) -> Vec<crate::sock::Socket> {
        // The fd tables by column: a program not shown holds no socket.
        let mut tables: Vec<BTreeMap<i32, FdState>> = vec![BTreeMap::new(); self.columns];
        let mut shown: Vec<Option<usize>> = vec![None; self.columns];
        for i in 0..self.programs.len() {
            if let Some(c) = self.programs[i].column {
                tables[c] = self.fd_table(i);
                shown[c] = Some(i);
            }
        }
        let mut rows = Vec::new();
        if let Some(d) = &self.diag {
            rows.extend(d.tcp(libc::AF_INET as u8).unwrap_or_default());
            rows.extend(d.tcp(libc::AF_INET6 as u8).unwrap_or_default());
        }
        rows.extend(crate::kernel::read(
            None,
            crate::kernel::Tables {
                tcp: false,
                tcp6: false,
                udp: true,
                udp6: true,
                unix: false,
            },
        ));
        // Listeners are read through their fds (sock_diag's dump of them
        // walks the listening hash every namespace shares).
        for (c, table) in tables.iter().enumerate() {
            let Some(p) = shown[c].map(|i| &self.programs[i]) else {
                continue;
            };
            for st in table.values() {
                let (Some(kind), Some(crate::sock::State::Listen), Some(local)) =
                    (st.kind, st.tcp_state, &st.local)
                else {
                    continue;
                };
                // A listener a fork shares is one socket: one row.
                if rows.iter().any(|r| r.inode == st.inode) {
                    continue;
                }
                if let Some(l) = p.pidfd.as_ref().and_then(|pk| pk.listening(st.fd)) {
                    rows.push(crate::kernel::Row {
                        kind,
                        local: local.clone(),
                        peer: None,
                        state: crate::sock::State::Listen,
                        recv_q: l.queued,
                        send_q: l.backlog,
                        inode: st.inode,
                        timer: None,
                        peer_inode: None,
                    });
                }
            }
        }
        let refs: Vec<&BTreeMap<i32, FdState>> = tables.iter().collect();
        crate::engine::view::snapshot(&rows, &refs, &|_| true, before, &mut self.seen, &|_| 0)
    }

    /// Program `i`'s socket fds, as the kernel says they are: each read
    /// on a copy of the fd, closed again at once.
    fn fd_table(&self, i: usize) -> BTreeMap<i32, FdState> {
        let p = &self.programs[i];
        // A thread's fds are its process's, shown once, as the process's.
        let (Some(pidfd), true) = (&p.pidfd, p.alive() && p.fds_of == i) else {
            return BTreeMap::new();
        };
        socket_fds(p.pid, pidfd)
    }

    /// Whether a kernel timer can end program `i`'s parked wait.
    fn timed(&self, i: usize) -> bool {
        match &self.programs[i].standing {
            Standing::Parked { call, .. } => self.call_timed(i, call),
            _ => false,
        }
    }

    /// Whether a kernel timer can end `call`'s wait: a timer program `i`'s
    /// process armed (a signal), or SO_RCVTIMEO / SO_SNDTIMEO on the
    /// socket, or the poll's own time.
    fn call_timed(&self, i: usize, call: &Call<i32>) -> bool {
        let p = &self.programs[i];
        let copy = |fd: &i32| self.peek(i).and_then(|pk| pk.fd(*fd));
        self.programs[p.fds_of].timer
            || match call {
                Call::Send { fd, .. } | Call::Sendto { fd, .. } => copy(fd).is_some_and(|c| {
                    crate::actor::sys::sndtimeo(c.as_raw_fd()).is_ok_and(|t| t != (0, 0))
                }),
                Call::Recv { fd, .. } | Call::Recvfrom { fd, .. } | Call::Accept { fd, .. } => {
                    copy(fd).is_some_and(|c| {
                        crate::actor::sys::rcvtimeo(c.as_raw_fd()).is_ok_and(|t| t != (0, 0))
                    })
                }
                // A poll or select with a time of its own ends when it
                // runs out.
                Call::Poll { ms: Some(_), .. } | Call::Select { ms: Some(_), .. } => true,
                _ => false,
            }
    }
}

/// The call a held entry makes, if it is a socket's.
fn decode(pid: i32, e: &Entry) -> Option<Call<i32>> {
    let a = e.args;
    let fd = a[0] as i32;
    let socket = || {
        std::fs::read_link(format!("/proc/{}/fd/{fd}", pid))
            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
    };
    let flags = |bits: u64| msg_flags(bits as i32);
    // As much as a lesson's own data may be (16 MiB a send).
    let data = |ptr: u64, len: u64| read_mem(pid, ptr, (len as usize).min(16 << 20));
    Some(match e.nr {
        libc::SYS_socket => Call::Socket {
            domain: domain(a[0] as i32)?,
            ty: sock_type(a[1] as i32 & 0xf)?,
            protocol: match a[2] as i32 {
                libc::IPPROTO_TCP => Protocol::Tcp,
                libc::IPPROTO_UDP => Protocol::Udp,
                _ => Protocol::Default,
            },
            flags: type_flags(a[1] as i32),
        },
        libc::SYS_socketpair => Call::Socketpair {
            ty: sock_type(a[1] as i32 & 0xf)?,
        },
        libc::SYS_bind => Call::Bind {
            fd,
            addr: read_addr(pid, a[1], a[2] as usize)?,
            raw: false,
        },
        libc::SYS_connect => Call::Connect {
            fd,
            addr: read_addr(pid, a[1], a[2] as usize)?,
        },
        libc::SYS_listen => Call::Listen {
            fd,
            backlog: a[1] as i32,
        },
        libc::SYS_accept => Call::Accept {
            fd,
            flags: Vec::new(),
        },
        libc::SYS_accept4 => Call::Accept {
            fd,
            flags: type_flags(a[3] as i32),
        },
        libc::SYS_sendto if a[4] == 0 => Call::Send {
            fd,
            data: data(a[1], a[2]),
            flags: flags(a[3]),
            via: Via::Socket,
        },
        libc::SYS_sendto => Call::Sendto {
            fd,
            data: data(a[1], a[2]),
            flags: flags(a[3]),
            addr: read_addr(pid, a[4], a[5] as usize)?,
        },
        libc::SYS_recvfrom if a[4] == 0 => Call::Recv {
            fd,
            len: a[2] as usize,
            flags: flags(a[3]),
            via: Via::Socket,
        },
        libc::SYS_recvfrom => Call::Recvfrom {
            fd,
            len: a[2] as usize,
            flags: flags(a[3]),
        },
        libc::SYS_read if socket() => Call::Recv {
            fd,
            len: a[2] as usize,
            flags: Vec::new(),
            via: Via::File,
        },
        libc::SYS_write if socket() => Call::Send {
            fd,
            data: data(a[1], a[2]),
            flags: Vec::new(),
            via: Via::File,
        },
        // close() of a socket, or of an fd that is not open (EBADF).
        libc::SYS_close
            if socket() || std::fs::symlink_metadata(format!("/proc/{pid}/fd/{fd}")).is_err() =>
        {
            Call::Close { fd }
        }
        // unlink() of a unix socket's path, or of one not there (the
        // clean-up before a bind): other files are not the run's.
        libc::SYS_unlink | libc::SYS_unlinkat => {
            let (dir, ptr) = if e.nr == libc::SYS_unlink {
                (libc::AT_FDCWD, a[0])
            } else {
                (a[0] as i32, a[1])
            };
            if e.nr == libc::SYS_unlinkat && a[2] as i32 & libc::AT_REMOVEDIR != 0 {
                return None;
            }
            let bytes = read_mem(pid, ptr, 4096);
            let path = String::from_utf8(bytes.split(|b| *b == 0).next()?.to_vec()).ok()?;
            let base = if dir == libc::AT_FDCWD {
                format!("/proc/{pid}/cwd")
            } else {
                format!("/proc/{pid}/fd/{dir}")
            };
            let full = std::path::Path::new(&base).join(&path);
            use std::os::unix::fs::FileTypeExt;
            match std::fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_socket() => Call::Unlink { path },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Call::Unlink { path },
                _ => return None,
            }
        }
        libc::SYS_shutdown => Call::Shutdown {
            fd,
            how: match a[1] as i32 {
                libc::SHUT_RD => How::Rd,
                libc::SHUT_WR => How::Wr,
                _ => How::RdWr,
            },
        },
        libc::SYS_getsockname => Call::Getsockname { fd },
        libc::SYS_getpeername => Call::Getpeername { fd },
        libc::SYS_setsockopt => {
            let opt = sock_opt(a[1] as i32, a[2] as i32)?;
            let value = opt_value(pid, opt, a[3]);
            Call::Setsockopt { fd, opt, value }
        }
        libc::SYS_getsockopt => match (a[1] as i32, a[2] as i32) {
            (libc::SOL_SOCKET, libc::SO_ERROR) => Call::SoError { fd },
            (level, name) => Call::Getsockopt {
                fd,
                opt: sock_opt(level, name)?,
            },
        },
        libc::SYS_fcntl if socket() => match a[1] as i32 {
            libc::F_GETFL => Call::Fcntl { fd, nonblock: None },
            libc::F_SETFL => Call::Fcntl {
                fd,
                nonblock: Some(a[2] as i32 & libc::O_NONBLOCK != 0),
            },
            _ => return None,
        },
        // select() and pselect(): the fds of each set; a NULL timeout
        // waits, {0, 0} looks.
        libc::SYS_select | libc::SYS_pselect6 => {
            let nfds = (a[0] as i32).clamp(0, 1024);
            // The time limit: a timeval for select, a timespec for
            // pselect (seconds, then micro- or nanoseconds).
            let t = read_mem(pid, a[4], 16);
            let field = |k: usize| {
                t.get(k * 8..k * 8 + 8)
                    .and_then(|b| b.try_into().ok())
                    .map(i64::from_ne_bytes)
                    .unwrap_or(0)
            };
            let sub = if e.nr == libc::SYS_pselect6 {
                1_000_000
            } else {
                1_000
            };
            let ms = (a[4] != 0)
                .then(|| field(0).max(0) * 1000 + field(1).max(0) / sub)
                .filter(|ms| *ms > 0)
                .map(|ms| ms.min(i64::from(u32::MAX)) as u32);
            let wait = a[4] == 0 || ms.is_some() || t.iter().any(|b| *b != 0);
            Call::Select {
                nfds,
                // The whole of each set, as the program filled it in (the
                // kernel looks below nfds only).
                read: fd_set(pid, a[1], libc::FD_SETSIZE as i32),
                write: fd_set(pid, a[2], libc::FD_SETSIZE as i32),
                wait,
                ms,
            }
        }
        libc::SYS_poll => {
            let n = (a[1] as usize).min(64);
            let bytes = read_mem(pid, a[0], n * 8);
            let mut fds = Vec::new();
            let mut events = Vec::new();
            for c in bytes.chunks_exact(8) {
                fds.push(i32::from_ne_bytes(c[..4].try_into().ok()?));
                events.push(i16::from_ne_bytes(c[4..6].try_into().ok()?));
            }
            let ms = a[2] as i32;
            Call::Poll {
                fds,
                events,
                wait: ms != 0,
                ms: (ms > 0).then_some(ms),
            }
        }
        _ => return None,
    })
}

/// What a held call waits for, if it cannot complete now.
fn probe(pid: i32, pidfd: &crate::engine::peek::Peek, call: &Call<i32>) -> Option<WaitKind> {
    let nonblocking = |fd: i32| {
        std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| i32::from_str_radix(f.trim(), 8).ok())
            })
            .is_some_and(|f| f & libc::O_NONBLOCK != 0)
    };
    let ready = |fd: i32, events: i16| {
        pidfd.fd(fd).is_none_or(|copy| {
            let mut pfd = libc::pollfd {
                fd: copy.as_raw_fd(),
                events,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no wait.
            unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
        })
    };
    let dontwait = |f: &[MsgFlag]| f.contains(&MsgFlag::DontWait);
    // A TCP socket with no connection (listening, or never connected)
    // fails a send or a receive at once.
    let unconnected = |fd: i32| {
        pidfd.fd(fd).is_some_and(|copy| {
            let st = crate::actor::sys::fd_state(copy.as_raw_fd());
            st.kind.is_some_and(|k| k.is_tcp())
                && matches!(
                    st.tcp_state,
                    Some(crate::sock::State::Listen | crate::sock::State::Close)
                )
        })
    };
    if let Call::Send { fd, .. } | Call::Recv { fd, .. } | Call::Recvfrom { fd, .. } = call
        && unconnected(*fd)
    {
        return None;
    }
    match call {
        Call::Accept { fd, .. } if !nonblocking(*fd) && !ready(*fd, libc::POLLIN) => {
            Some(WaitKind::Connection)
        }
        Call::Recv { fd, flags, .. } | Call::Recvfrom { fd, flags, .. }
            if !dontwait(flags)
                && !nonblocking(*fd)
                && !ready(*fd, libc::POLLIN | libc::POLLRDHUP) =>
        {
            Some(WaitKind::Data { got: 0 })
        }
        // With bytes to read, a MSG_WAITALL receive is made: the rest may
        // be on its way (sent, or behind a window its reading opens); if
        // it is not, the kernel puts the call to sleep, and that is seen.
        Call::Send { fd, flags, .. } | Call::Sendto { fd, flags, .. }
            if !dontwait(flags) && !nonblocking(*fd) && !ready(*fd, libc::POLLOUT) =>
        {
            Some(WaitKind::Room { sent: 0 })
        }
        Call::Select {
            nfds,
            read,
            write,
            wait: true,
            ..
        } => {
            // The kernel looks at the fds below nfds only.
            let any = read.iter().any(|f| *f < *nfds && ready(*f, libc::POLLIN))
                || write.iter().any(|f| *f < *nfds && ready(*f, libc::POLLOUT));
            (!any).then_some(WaitKind::Ready)
        }
        Call::Poll {
            fds,
            events,
            wait: true,
            ..
        } => {
            let any = fds.iter().zip(events).any(|(f, ev)| ready(*f, *ev));
            (!any).then_some(WaitKind::Ready)
        }
        _ => None,
    }
}

/// The bytes a receive put in the program's buffer.
fn received(pid: i32, e: &Entry, call: &Call<i32>, rval: i64) -> Option<Vec<u8>> {
    match call {
        Call::Recv { fd, flags, len, .. } | Call::Recvfrom { fd, flags, len } if rval >= 0 => {
            // MSG_TRUNC: a datagram's whole length comes back, and only
            // what fit was copied; a stream's bytes are dropped, and
            // nothing was copied.
            if flags.contains(&MsgFlag::Trunc) && is_stream(pid, *fd) {
                return None;
            }
            let n = (rval as usize).min(*len).min(16 << 20);
            Some(read_mem(pid, e.args[1], n))
        }
        _ => None,
    }
}

/// Whether the program's fd is a stream socket (SO_TYPE, through /proc's
/// view of the socket: its fdinfo names no type, so the kernel's tables
/// are asked by inode).
fn is_stream(pid: i32, fd: i32) -> bool {
    let Ok(link) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) else {
        return false;
    };
    let inode = link
        .to_string_lossy()
        .strip_prefix("socket:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse::<u64>().ok());
    let Some(inode) = inode else { return false };
    // TCP and unix stream sockets are listed with their inode.
    ["tcp", "tcp6"].iter().any(|t| {
        std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).is_ok_and(|text| {
            text.lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(9) == Some(&inode.to_string()))
        })
    }) || std::fs::read_to_string(format!("/proc/{pid}/net/unix")).is_ok_and(|text| {
        text.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(6) == Some(&inode.to_string().as_str()) && f.get(4) == Some(&"0001")
        })
    })
}

/// The address a call reported in the program's memory.
fn reported_addr(pid: i32, e: &Entry, call: &Call<i32>) -> Option<Addr> {
    let (ptr, len_ptr) = match call {
        Call::Getsockname { .. } | Call::Getpeername { .. } => (e.args[1], e.args[2]),
        Call::Recvfrom { .. } => (e.args[4], e.args[5]),
        _ => return None,
    };
    if ptr == 0 || len_ptr == 0 {
        return None;
    }
    let len = read_mem(pid, len_ptr, 4);
    let len = u32::from_ne_bytes(len.get(..4)?.try_into().ok()?) as usize;
    read_addr(pid, ptr, len)
}

/// A write to the program's stdout or stderr (not a socket): the fd and
/// what it writes.
fn output(pid: i32, e: &Entry) -> Option<(i32, Vec<u8>)> {
    let fd = e.args[0] as i32;
    if e.nr != libc::SYS_write || !(fd == 1 || fd == 2) {
        return None;
    }
    // The program's own stdout and stderr are what it was started with
    // (/dev/null here, read from its write calls); a socket, a pipe or a
    // file moved onto fd 1 is not what it prints.
    let printed = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .is_ok_and(|l| l == std::path::Path::new("/dev/null"));
    if !printed {
        return None;
    }
    Some((fd, read_mem(pid, e.args[1], (e.args[2] as usize).min(4096))))
}

/// A process's socket fds, as the kernel says they are: each read on a
/// copy of the fd, closed again at once.
fn socket_fds(pid: i32, pidfd: &crate::engine::peek::Peek) -> BTreeMap<i32, FdState> {
    let mut table = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return table;
    };
    for e in dir.flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        if let Some(copy) = pidfd.fd(fd) {
            let mut st = crate::actor::sys::fd_state(copy.as_raw_fd());
            st.fd = fd;
            table.insert(fd, st);
        }
    }
    table
}

/// At a call's exit stop: what the call gave.
fn exit_outcome(pid: i32, entry: &Entry, call: &Call<i32>) -> Option<Outcome> {
    let info = syscall_info(pid).filter(|s| s.op == OP_EXIT)?;
    let rval = info.data[0] as i64;
    Some(if info.data[1] as u8 != 0 {
        // ERESTARTSYS and its kin (512 to 516) never reach a program: a
        // signal interrupted the call, and it sees EINTR (unless its
        // handler asked for a restart).
        let errno = match (-rval) as i32 {
            512..=516 => libc::EINTR,
            e => e,
        };
        Outcome::Failed { errno }
    } else {
        Outcome::Returned {
            ret: rval,
            data: received(pid, entry, call, rval),
            addr: reported_addr(pid, entry, call),
            extra: None,
        }
    })
}

/// Starts `argv`, stopped at once, traced, then the filter and the
/// program's own code: its pid, once its exec has happened. `enter`:
/// namespaces (user, then network) it enters first; `cwd`: the directory
/// it starts in; `follow`: the processes and threads it makes are traced
/// too.
fn spawn(
    argv: &[String],
    enter: &[RawFd],
    cwd: Option<&std::path::Path>,
    follow: bool,
    unprivileged: bool,
) -> Result<i32, TraceError> {
    let program = argv.join(" ");
    let cwd = cwd.and_then(|d| {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::CString::new(d.as_os_str().as_bytes()).ok()
    });
    let argv: Vec<std::ffi::CString> = argv
        .iter()
        .map(|a| std::ffi::CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let prog = filter();
    // SAFETY: the child only makes async-signal-safe calls before exec.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: plain system calls on this process; the filter
            // program outlives the prctl that copies it.
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                if null >= 0 {
                    libc::dup2(null, 0);
                    libc::close(null);
                }
                // What the programs write to their stdout and stderr
                // is shown in the transcript, from their write() calls.
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                if null >= 0 {
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                    libc::close(null);
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                for ns in enter {
                    if libc::setns(*ns, 0) != 0 {
                        libc::_exit(125);
                    }
                }
                if let Some(dir) = &cwd
                    && libc::chdir(dir.as_ptr()) != 0
                {
                    libc::_exit(125);
                }
                if unprivileged {
                    // As an ordinary user's program runs, whoever runs
                    // sockstep: root's exec grants no capabilities (where
                    // setting that takes a privilege it does not have, its
                    // exec grants none anyway).
                    const PR_SET_SECUREBITS: i32 = 28;
                    const NOROOT_LOCKED: u64 = 0b11;
                    libc::prctl(PR_SET_SECUREBITS, NOROOT_LOCKED, 0, 0, 0);
                    libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_CLEAR_ALL,
                        0,
                        0,
                        0,
                    );
                }
                // A C program starts with SIGPIPE's default (death) and
                // nothing blocked; Rust ignores SIGPIPE.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    libc::_exit(126);
                }
                libc::raise(libc::SIGSTOP);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                let fprog = libc::sock_fprog {
                    len: prog.len() as u16,
                    filter: prog.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog) != 0 {
                    libc::_exit(126);
                }
                let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
                ptrs.push(std::ptr::null());
                libc::execvp(ptrs[0], ptrs.as_ptr());
                let e = *libc::__errno_location();
                libc::_exit(if e == libc::ENOENT { 127 } else { 126 });
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let pid = child.as_raw();
            let (_, status) = wait(pid);
            if !libc::WIFSTOPPED(status) {
                return Err(TraceError::Ptrace(libc::EPERM));
            }
            // Processes and threads it makes are traced too, each held
            // at its first stop; all die with the tracer.
            let mut options = libc::PTRACE_O_TRACESECCOMP
                | libc::PTRACE_O_TRACEEXEC
                | libc::PTRACE_O_EXITKILL
                | libc::PTRACE_O_TRACESYSGOOD;
            if follow {
                options |= libc::PTRACE_O_TRACEFORK
                    | libc::PTRACE_O_TRACEVFORK
                    | libc::PTRACE_O_TRACECLONE;
            }
            // SAFETY: setting options on our stopped tracee.
            let r = unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
            if r != 0 {
                return Err(TraceError::Ptrace(nix::errno::Errno::last_raw()));
            }
            // The first resume drops the SIGSTOP the child stopped with;
            // then its exec, or its end if the exec failed.
            // SAFETY: PTRACE_CONT on our stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, 0) };
            let (r, status) = wait(pid);
            if r < 0 || libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(TraceError::Start {
                    program,
                    errno: if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 127 {
                        libc::ENOENT
                    } else {
                        libc::EACCES
                    },
                });
            }
            if (status >> 16) & 0xff != libc::PTRACE_EVENT_EXEC {
                // SAFETY: kill and reap of our own tracee.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), libc::__WALL);
                }
                return Err(TraceError::Ptrace(libc::EINVAL));
            }
            // SAFETY: PTRACE_CONT on our stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, 0) };
            Ok(pid)
        }
        Err(e) => Err(TraceError::Start {
            program,
            errno: e as i32,
        }),
    }
}

/// The fds below `below` in the fd_set at `ptr` (none for NULL).
fn fd_set(pid: i32, ptr: u64, below: i32) -> Vec<i32> {
    if ptr == 0 {
        return Vec::new();
    }
    let nfds = below.clamp(0, libc::FD_SETSIZE as i32);
    let bytes = read_mem(pid, ptr, (nfds as usize).div_ceil(8));
    (0..nfds)
        .filter(|i| {
            bytes
                .get(*i as usize / 8)
                .is_some_and(|b| b & (1 << (i % 8)) != 0)
        })
        .collect()
}

/// An option's value in the program's memory at `ptr`: an int, a linger
/// or a timeval, as the option takes.
fn opt_value(pid: i32, opt: SockOpt, ptr: u64) -> OptValue {
    let bytes = read_mem(pid, ptr, 16);
    let int = |b: &[u8]| -> Option<i32> { Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?)) };
    match opt {
        SockOpt::Linger => OptValue::Linger {
            on: int(&bytes).unwrap_or(0),
            secs: bytes.get(4..8).and_then(int).unwrap_or(0),
        },
        SockOpt::RcvTimeo | SockOpt::SndTimeo => {
            let long = |b: &[u8]| -> Option<i64> {
                Some(i64::from_ne_bytes(b.get(..8)?.try_into().ok()?))
            };
            OptValue::Time {
                secs: long(&bytes).unwrap_or(0),
                usecs: bytes.get(8..16).and_then(long).unwrap_or(0),
            }
        }
        _ => OptValue::Int(int(&bytes).unwrap_or(0)),
    }
}

/// A pidfd for `pid`, to take copies of its fds.
pub(crate) fn pidfd(pid: i32) -> Option<crate::engine::peek::Peek> {
    // SAFETY: pidfd_open of our tracee.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a new fd from the kernel.
    (fd >= 0).then(|| {
        crate::engine::peek::Peek::from_pidfd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    })
}

/// The process a task belongs to, as /proc says.
fn tgid_of(tid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// Whether the task sleeps in the kernel, in a system call ('S' in its
/// stat: an interruptible wait, not a stop or a run).
fn sleeping(tgid: i32, tid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{tgid}/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the command's closing parenthesis.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|s| s == "S")
}

/// What a traced call the kernel put to sleep after it began waits for;
/// `queued`: the bytes its fd had to read as it began.
fn sleep_wait(call: &Call<i32>, queued: usize) -> WaitKind {
    match call {
        Call::Accept { .. } => WaitKind::Connection,
        Call::Recv { flags, .. } if flags.contains(&MsgFlag::WaitAll) => {
            WaitKind::Data { got: queued }
        }
        Call::Recv { .. } | Call::Recvfrom { .. } => WaitKind::Data { got: 0 },
        Call::Send { .. } | Call::Sendto { .. } => WaitKind::Room { sent: 0 },
        Call::Connect { .. } => WaitKind::Handshake,
        _ => WaitKind::Ready,
    }
}

/// The bytes a socket has to read (FIONREAD on the program's fd's copy).
fn queued(pidfd: Option<&crate::engine::peek::Peek>, call: &Call<i32>) -> usize {
    let Some(copy) = call.fd().and_then(|fd| pidfd?.fd(*fd)) else {
        return 0;
    };
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe { libc::ioctl(copy.as_raw_fd(), libc::FIONREAD, &mut n) };
    n.max(0) as usize
}

/// A sleep in system call `nr`, from its arguments: what it waits for,
/// and whether a time limit ends it.
fn classify(nr: i64, arg: &dyn Fn(usize) -> u64, is_socket: &dyn Fn(u64) -> bool) -> Sleep {
    use crate::event::AsleepOn;
    let sleep = |name: &str, on: Option<AsleepOn>, timed: bool| Sleep {
        syscall: name.to_string(),
        on,
        timed,
    };
    let on_fd = |fd: u64| {
        if is_socket(fd) {
            AsleepOn::Socket {
                fd: Some(fd as i32),
            }
        } else {
            AsleepOn::File { fd: fd as i32 }
        }
    };
    #[cfg(target_arch = "x86_64")]
    {
        match nr {
            libc::SYS_futex => {
                // FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI(2),
                // FUTEX_WAIT_REQUEUE_PI wait; the fourth argument is their
                // time limit.
                let cmd = arg(1) & 0x7f;
                if matches!(cmd, 0 | 6 | 9 | 11 | 13) {
                    sleep("futex", Some(AsleepOn::Lock), arg(3) != 0)
                } else {
                    sleep("futex", None, false)
                }
            }
            libc::SYS_wait4 => sleep("wait4", Some(AsleepOn::Child), false),
            libc::SYS_waitid => sleep("waitid", Some(AsleepOn::Child), false),
            libc::SYS_read => sleep("read", Some(on_fd(arg(0))), false),
            libc::SYS_write => sleep("write", Some(on_fd(arg(0))), false),
            libc::SYS_readv => sleep("readv", Some(on_fd(arg(0))), false),
            libc::SYS_writev => sleep("writev", Some(on_fd(arg(0))), false),
            libc::SYS_recvmsg => sleep("recvmsg", Some(on_fd(arg(0))), false),
            libc::SYS_sendmsg => sleep("sendmsg", Some(on_fd(arg(0))), false),
            libc::SYS_recvmmsg => sleep("recvmmsg", Some(on_fd(arg(0))), arg(4) != 0),
            libc::SYS_sendmmsg => sleep("sendmmsg", Some(on_fd(arg(0))), false),
            libc::SYS_epoll_wait | libc::SYS_epoll_pwait => sleep(
                "epoll_wait",
                Some(AsleepOn::Socket { fd: None }),
                (arg(3) as i32) >= 0,
            ),
            libc::SYS_epoll_pwait2 => sleep(
                "epoll_pwait2",
                Some(AsleepOn::Socket { fd: None }),
                arg(3) != 0,
            ),
            libc::SYS_select => sleep("select", Some(AsleepOn::Socket { fd: None }), arg(4) != 0),
            libc::SYS_pselect6 => {
                sleep("pselect6", Some(AsleepOn::Socket { fd: None }), arg(4) != 0)
            }
            libc::SYS_ppoll => sleep("ppoll", Some(AsleepOn::Socket { fd: None }), arg(2) != 0),
            libc::SYS_nanosleep => sleep("nanosleep", None, true),
            libc::SYS_clock_nanosleep => sleep("clock_nanosleep", None, true),
            libc::SYS_pause => sleep("pause", Some(AsleepOn::Signal), false),
            libc::SYS_rt_sigsuspend => sleep("sigsuspend", Some(AsleepOn::Signal), false),
            libc::SYS_rt_sigtimedwait => sleep("sigtimedwait", Some(AsleepOn::Signal), arg(2) != 0),
            _ => sleep(&format!("system call {nr}"), None, false),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (arg, on_fd);
        sleep(&format!("system call {nr}"), None, false)
    }
}

/// waitpid on a tracee, again when a signal interrupts it: its result and
/// the status.
fn wait(pid: i32) -> (i32, i32) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own tracee, writing one int.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r >= 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return (r, status);
        }
    }
}

/// The program whose socket has `local` (and `peer`) as its ends, in the
/// views before and after the step.
fn owner(views: &[&Vec<crate::sock::Socket>], local: &Addr, peer: &Addr) -> Option<usize> {
    let all = || views.iter().flat_map(|v| v.iter());
    let fit = |s: &crate::sock::Socket, exact: bool| {
        s.local.as_ref().is_some_and(|l| l.same(local))
            && (!exact || s.peer.as_ref().is_some_and(|p| p.same(peer)))
    };
    // A socket bound to 0.0.0.0 or :: takes what comes to its port.
    let wildcard = |s: &crate::sock::Socket| {
        s.local.as_ref().is_some_and(|l| {
            l.port() == local.port() && l.ip().is_some_and(|ip| ip.is_unspecified())
        })
    };
    all()
        .find(|s| fit(s, true))
        .or_else(|| all().find(|s| fit(s, false)))
        .or_else(|| all().find(|s| wildcard(s)))
        .and_then(|s| s.holder.actor())
}

/// The kernel's range of ephemeral ports (net.ipv4.ip_local_port_range).
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// For alarm, setitimer and timer_settime: whether the call arms a timer
/// (a non-zero time); `None` for other calls.
fn timer_call(e: &Entry) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        match e.nr {
            libc::SYS_alarm => Some(e.args[0] != 0),
            // Whether the new value's pointer is given: the time itself is
            // in the program's memory; a timer set is taken as armed.
            libc::SYS_setitimer => Some(e.args[1] != 0),
            libc::SYS_timer_settime => Some(e.args[2] != 0),
            _ => None,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = e;
        None
    }
}

fn is_fork(nr: i64) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        matches!(
            nr,
            libc::SYS_fork | libc::SYS_vfork | libc::SYS_clone | libc::SYS_clone3
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = nr;
        false
    }
}

/// A program's name as a lesson's actor: letters, digits and `_`.
fn identifier(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert(0, 'p');
    }
    s
}

/// Names for the programs' columns: each program's file name, numbered
/// where two share one.
fn program_names(programs: &[Vec<String>]) -> Vec<String> {
    let base: Vec<String> = programs
        .iter()
        .map(|argv| {
            let first = argv.first().map(String::as_str).unwrap_or("program");
            let name = std::path::Path::new(first)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| first.to_string());
            // python3 client.py: the script names it.
            match argv.get(1) {
                Some(s) if name.starts_with("python") || name.starts_with("java") => {
                    std::path::Path::new(s)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or(name)
                }
                _ => name,
            }
        })
        .collect();
    base.iter()
        .enumerate()
        .map(|(i, n)| {
            if base.iter().filter(|m| *m == n).count() > 1 {
                format!("{n}-{}", base[..=i].iter().filter(|m| *m == n).count())
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Up to `len` bytes of the tracee's memory at `ptr`.
fn read_mem(pid: i32, ptr: u64, len: usize) -> Vec<u8> {
    if ptr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: ptr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: the local iovec covers `buf`; the kernel checks the remote.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    buf.truncate(n.max(0) as usize);
    buf
}

/// A sockaddr in the tracee's memory.
fn read_addr(pid: i32, ptr: u64, len: usize) -> Option<Addr> {
    let mut bytes = read_mem(
        pid,
        ptr,
        len.min(std::mem::size_of::<libc::sockaddr_storage>()),
    );
    if bytes.len() < 2 {
        return None;
    }
    // A unix path ends at its NUL, whatever length the program gave (an
    // abstract name, starting with a NUL, is as long as it was given).
    if i32::from(u16::from_ne_bytes([bytes[0], bytes[1]])) == libc::AF_UNIX
        && bytes.get(2).is_some_and(|b| *b != 0)
        && let Some(nul) = bytes[2..].iter().position(|b| *b == 0)
    {
        bytes.truncate(2 + nul + 1);
    }
    // SAFETY: sockaddr_storage is plain old data, large enough for `bytes`.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: copying at most its size into it.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (&mut ss as *mut libc::sockaddr_storage).cast::<u8>(),
            bytes.len(),
        )
    };
    use nix::sys::socket::SockaddrLike;
    // SAFETY: a sockaddr of `bytes.len()` bytes.
    let addr = unsafe {
        nix::sys::socket::SockaddrStorage::from_raw(
            (&ss as *const libc::sockaddr_storage).cast(),
            Some(bytes.len() as libc::socklen_t),
        )
    }?;
    crate::actor::sys::to_addr(&addr)
}

fn domain(d: i32) -> Option<Domain> {
    match d {
        libc::AF_INET => Some(Domain::Inet),
        libc::AF_INET6 => Some(Domain::Inet6),
        libc::AF_UNIX => Some(Domain::Unix),
        _ => None,
    }
}

fn sock_type(t: i32) -> Option<SockType> {
    match t {
        libc::SOCK_STREAM => Some(SockType::Stream),
        libc::SOCK_DGRAM => Some(SockType::Dgram),
        libc::SOCK_SEQPACKET => Some(SockType::Seqpacket),
        _ => None,
    }
}

fn type_flags(bits: i32) -> Vec<crate::call::TypeFlag> {
    let mut f = Vec::new();
    if bits & libc::SOCK_NONBLOCK != 0 {
        f.push(crate::call::TypeFlag::NonBlock);
    }
    if bits & libc::SOCK_CLOEXEC != 0 {
        f.push(crate::call::TypeFlag::CloExec);
    }
    f
}

/// The flags set in `bits`, as the actor's own table maps them.
fn msg_flags(bits: i32) -> Vec<MsgFlag> {
    crate::call::names::FLAGS
        .iter()
        .map(|(_, f)| *f)
        .filter(|f| bits & crate::actor::msg_flags(&[*f]).bits() != 0)
        .collect()
}

/// The option at (`level`, `name`), as the actor's own table maps them.
fn sock_opt(level: i32, name: i32) -> Option<SockOpt> {
    crate::call::names::OPTS
        .iter()
        .map(|(_, _, o)| *o)
        .find(|o| crate::actor::opt_name(*o) == (level, name))
}
