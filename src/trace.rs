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
            TraceError::Ptrace(e) => write!(
                f,
                "ptrace is not allowed here ({}), so programs cannot be traced",
                crate::errno::errno_desc(*e)
            ),
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
    libc::SYS_fcntl,
    libc::SYS_fork,
    libc::SYS_vfork,
    libc::SYS_clone,
    libc::SYS_clone3,
    libc::SYS_alarm,
    libc::SYS_setitimer,
    libc::SYS_timer_settime,
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

/// A traced call held at its entry: its number and arguments.
#[derive(Clone, Copy)]
struct Entry {
    nr: i64,
    args: [u64; 6],
}

/// How a traced program stands.
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
    Gone,
}

struct Program {
    argv: Vec<String>,
    name: String,
    pid: i32,
    /// Copies of its fds, through a pidfd.
    pidfd: Option<crate::engine::peek::Peek>,
    standing: Standing,
    /// It has armed a timer (alarm, setitimer, timer_settime): a signal
    /// may end a call it waits in, so its waits are left to the kernel.
    timer: bool,
    /// Its exec has happened: it is the program now.
    execed: bool,
}

/// How a wait for a program ended.
enum Stop {
    /// At the entry of a traced call.
    Call(Entry),
    /// It ended: the signal that ended it, or its exit code.
    Ended {
        signal: Option<i32>,
        code: Option<i32>,
    },
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
}

impl Tracer {
    fn new(opts: &TraceOptions) -> Tracer {
        let names = program_names(&opts.programs);
        Tracer {
            programs: opts
                .programs
                .iter()
                .zip(names)
                .map(|(argv, name)| Program {
                    argv: argv.clone(),
                    name,
                    pid: 0,
                    pidfd: None,
                    standing: Standing::Waiting,
                    timer: false,
                    execed: false,
                })
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
        }
    }

    fn emit(&mut self, events: &[Event]) {
        use std::io::Write;
        let text = match &mut self.json {
            Some(j) => j.events(events),
            None => self.transcript.events(events),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn run(&mut self) -> Result<bool, TraceError> {
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
        }]);
        loop {
            // A parked call that can complete now goes first, in the
            // programs' order.
            if let Some(i) = (0..self.programs.len()).find(|&i| self.parked_ready(i)) {
                self.complete_parked(i)?;
                continue;
            }
            // Then the first program that can move: one running, else the
            // next not yet started (the earlier ones are parked or gone).
            let next = (0..self.programs.len())
                .find(|&i| matches!(self.programs[i].standing, Standing::Running))
                .or_else(|| {
                    (0..self.programs.len())
                        .find(|&i| matches!(self.programs[i].standing, Standing::Waiting))
                });
            match next {
                Some(i) => {
                    if matches!(self.programs[i].standing, Standing::Waiting) {
                        self.start(i)?;
                    }
                    self.advance(i)?;
                }
                // No program can move: a wait a kernel timer ends is let
                // run, blocking, until the timer fires or the call can
                // complete; else every wait is for another program.
                None => match (0..self.programs.len()).find(|&i| self.timed(i)) {
                    Some(i) => self.complete_parked(i)?,
                    None => break,
                },
            }
        }
        let waits: Vec<Waiting> = self
            .programs
            .iter()
            .enumerate()
            .filter_map(|(actor, p)| match &p.standing {
                Standing::Parked {
                    call, step, wait, ..
                } => Some(Waiting {
                    actor,
                    step: *step,
                    call: call.clone(),
                    wait: *wait,
                    on: None,
                }),
                _ => None,
            })
            .collect();
        if !waits.is_empty() {
            self.deadlock = true;
            self.emit(&[Event::Deadlock {
                waits,
                unrun: Vec::new(),
                expected: false,
            }]);
            for p in &mut self.programs {
                if p.pid > 0 && !matches!(p.standing, Standing::Gone) {
                    // SAFETY: kill and waitpid of our own tracee.
                    unsafe {
                        libc::kill(p.pid, libc::SIGKILL);
                        libc::waitpid(p.pid, std::ptr::null_mut(), libc::__WALL);
                    }
                    p.standing = Standing::Gone;
                }
            }
        }
        if let Some(path) = self.save.clone()
            && let Err(e) = std::fs::write(&path, self.lesson())
        {
            eprintln!("sockstep trace: cannot write {}: {e}", path.display());
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

    /// The calls seen, as a lesson: actors named after the programs, each
    /// step expecting what its call gave.
    fn lesson(&self) -> String {
        let names: Vec<String> = self.programs.iter().map(|p| identifier(&p.name)).collect();
        let argv: Vec<String> = self.programs.iter().map(|p| p.argv.join(" ")).collect();
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

    /// Starts program `i`: stopped at once, traced, then the filter and the
    /// program's own code.
    fn start(&mut self, i: usize) -> Result<(), TraceError> {
        let argv: Vec<std::ffi::CString> = self.programs[i]
            .argv
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
                    let mut ptrs: Vec<*const libc::c_char> =
                        argv.iter().map(|a| a.as_ptr()).collect();
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
                let options = libc::PTRACE_O_TRACESECCOMP
                    | libc::PTRACE_O_TRACEEXEC
                    | libc::PTRACE_O_EXITKILL
                    | libc::PTRACE_O_TRACESYSGOOD;
                // SAFETY: setting options on our stopped tracee.
                let r = unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
                if r != 0 {
                    return Err(TraceError::Ptrace(nix::errno::Errno::last_raw()));
                }
                // SAFETY: pidfd_open of our child.
                let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
                let p = &mut self.programs[i];
                p.pid = pid;
                // SAFETY: a new fd from the kernel.
                p.pidfd = (pidfd >= 0).then(|| {
                    crate::engine::peek::Peek::from_pidfd(unsafe {
                        OwnedFd::from_raw_fd(pidfd as RawFd)
                    })
                });
                p.standing = Standing::Running;
                // The first resume drops the SIGSTOP the child stopped with.
                self.resume(i, 0);
                Ok(())
            }
            Err(e) => Err(TraceError::Start {
                program: self.programs[i].argv.join(" "),
                errno: e as i32,
            }),
        }
    }

    /// Lets program `i` run on from a stop, delivering `sig`.
    fn resume(&self, i: usize, sig: i32) {
        // SAFETY: PTRACE_CONT on our stopped tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, self.programs[i].pid, 0, sig) };
    }

    /// Waits for program `i`'s next stop at a traced call, or its end,
    /// letting signals through.
    fn next_stop(&mut self, i: usize) -> Stop {
        let pid = self.programs[i].pid;
        loop {
            let (r, status) = wait(pid);
            if r < 0 {
                return Stop::Ended {
                    signal: None,
                    code: None,
                };
            }
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
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            if sig == libc::SIGTRAP && event == PTRACE_EVENT_SECCOMP {
                if let Some(info) = syscall_info(pid).filter(|s| s.op == OP_SECCOMP) {
                    let mut args = [0u64; 6];
                    args.copy_from_slice(&info.data[1..7]);
                    return Stop::Call(Entry {
                        nr: info.data[0] as i64,
                        args,
                    });
                }
                self.resume(i, 0);
            } else if sig == libc::SIGTRAP || sig == (libc::SIGTRAP | 0x80) {
                // exec's stop, or a syscall stop: nothing to deliver.
                if event == libc::PTRACE_EVENT_EXEC {
                    self.programs[i].execed = true;
                }
                self.resume(i, 0);
            } else {
                if sig == libc::SIGALRM {
                    // The alarm went off: no timer is armed any more.
                    self.programs[i].timer = false;
                }
                self.resume(i, sig);
            }
        }
    }

    /// Runs program `i` to its next socket call, which is made or parks
    /// it, or to its end.
    fn advance(&mut self, i: usize) -> Result<(), TraceError> {
        loop {
            match self.next_stop(i) {
                Stop::Ended { signal, code } => {
                    self.ended(i, signal, code);
                    return Ok(());
                }
                Stop::Call(entry) => {
                    if is_fork(entry.nr) {
                        // Not followed yet: the child would run with the
                        // filter and no tracer. Said, and the run ends.
                        let what = if starts_thread(self.programs[i].pid, &entry) {
                            "starts a thread"
                        } else {
                            "calls fork()"
                        };
                        eprintln!(
                            "sockstep trace: {} {what}, which trace does not follow yet; \
                             the run stops here",
                            self.programs[i].name
                        );
                        self.crashed = true;
                        for p in &mut self.programs {
                            if p.pid > 0
                                && !matches!(p.standing, Standing::Gone | Standing::Waiting)
                            {
                                // SAFETY: kill of our own tracee.
                                unsafe { libc::kill(p.pid, libc::SIGKILL) };
                                // SAFETY: waitpid on our own tracee.
                                unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::__WALL) };
                            }
                            p.standing = Standing::Gone;
                        }
                        return Ok(());
                    }
                    if let Some(armed) = timer_call(&entry) {
                        self.programs[i].timer = armed;
                        self.resume(i, 0);
                        continue;
                    }
                    if let Some(e) = self.output(i, &entry) {
                        self.emit(&[e]);
                        self.resume(i, 0);
                        continue;
                    }
                    let Some(call) = self.decode(i, &entry) else {
                        // Not a socket's: it runs on.
                        self.resume(i, 0);
                        continue;
                    };
                    self.steps += 1;
                    let step = self.steps;
                    match self.blocks(i, &entry, &call) {
                        Some(wait) => {
                            self.programs[i].standing = Standing::Parked {
                                entry,
                                call: call.clone(),
                                step,
                                wait,
                            };
                            self.record.push((step, i, call.clone(), None));
                            self.emit(&[Event::Call {
                                step,
                                actor: i,
                                binding: None,
                                call,
                                outcome: Outcome::Blocked { wait },
                                fds: Vec::new(),
                                why: None,
                            }]);
                            return Ok(());
                        }
                        None => {
                            // Made; then the parked calls are asked again
                            // before this program moves on.
                            let outcome = self.finish_call(i, &entry, &call);
                            self.after_call(i, step, call, outcome, false);
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    fn ended(&mut self, i: usize, signal: Option<i32>, code: Option<i32>) {
        self.programs[i].standing = Standing::Gone;
        if let Some(sig) = signal {
            self.crashed = true;
            // SIGPIPE comes with the EPIPE of its last call: said there.
            let last = self
                .record
                .iter()
                .rev()
                .find(|r| r.1 == i)
                .map(|r| (r.0, r.2.clone(), r.3.clone()));
            match last {
                Some((step, call, Some(Outcome::Failed { errno })))
                    if sig == libc::SIGPIPE && errno == libc::EPIPE =>
                {
                    self.emit(&[Event::Crashed {
                        actor: i,
                        step,
                        call,
                        expected: false,
                        signal: Some(sig),
                        code,
                        why: None,
                    }]);
                }
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
        // The kernel closed the fds it had.
        let calls: Vec<(crate::sock::FdOf, &'static str)> = self
            .sockets
            .iter()
            .filter_map(|s| s.fd().filter(|f| f.actor == i))
            .map(|f| (f, "exit"))
            .collect();
        self.emit(&[Event::Exit {
            actor: i,
            open: Vec::new(),
        }]);
        self.look(Vec::new(), &calls);
    }

    /// Whether program `i` is parked in a call that can complete now.
    fn parked_ready(&self, i: usize) -> bool {
        match &self.programs[i].standing {
            Standing::Parked { entry, call, .. } => self.blocks(i, entry, call).is_none(),
            _ => false,
        }
    }

    fn complete_parked(&mut self, i: usize) -> Result<(), TraceError> {
        let Standing::Parked {
            entry, call, step, ..
        } = std::mem::replace(&mut self.programs[i].standing, Standing::Running)
        else {
            return Ok(());
        };
        let outcome = self.finish_call(i, &entry, &call);
        self.after_call(i, step, call, outcome, true);
        Ok(())
    }

    /// Lets a held call run to its exit; what it gave.
    fn finish_call(&mut self, i: usize, entry: &Entry, call: &Call<i32>) -> Option<Outcome> {
        let pid = self.programs[i].pid;
        // SAFETY: PTRACE_SYSCALL on our tracee held at a seccomp stop: it
        // stops again at the call's exit.
        unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, 0) };
        loop {
            let (r, status) = wait(pid);
            if r < 0 || libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
                let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
                self.programs[i].standing = Standing::Gone;
                if signal.is_some() {
                    self.crashed = true;
                    self.emit(&[Event::Crashed {
                        actor: i,
                        step: self.steps,
                        call: call.clone(),
                        expected: false,
                        signal,
                        code,
                        why: None,
                    }]);
                }
                return None;
            }
            let sig = libc::WSTOPSIG(status);
            if sig == (libc::SIGTRAP | 0x80)
                && let Some(info) = syscall_info(pid).filter(|s| s.op == OP_EXIT)
            {
                let rval = info.data[0] as i64;
                let outcome = if info.data[1] as u8 != 0 {
                    // ERESTARTSYS and its kin (512 to 516) never reach a
                    // program: a signal interrupted the call, and it sees
                    // EINTR (unless its handler asked for a restart).
                    let errno = match (-rval) as i32 {
                        512..=516 => libc::EINTR,
                        e => e,
                    };
                    Outcome::Failed { errno }
                } else {
                    Outcome::Returned {
                        ret: rval,
                        data: self.received(i, entry, call, rval),
                        addr: self.reported_addr(i, entry, call),
                        extra: None,
                    }
                };
                self.resume(i, 0);
                return Some(outcome);
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
        let calls: Vec<(crate::sock::FdOf, &'static str)> = call
            .fd()
            .map(|fd| (crate::sock::FdOf { actor: i, fd: *fd }, call.name()))
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
                .push((step, i, call.clone(), Some(outcome.clone()))),
        }
        let fds = self.changed_fds(i, &call, &outcome);
        self.look(
            vec![Event::made(completed, step, i, call, outcome, fds)],
            &calls,
        );
    }

    /// The fds whose addresses the call changed (bind, connect, an fd a
    /// call returned), as the kernel says they are now.
    fn changed_fds(&self, i: usize, call: &Call<i32>, outcome: &Outcome) -> Vec<FdState> {
        let table = self.fd_table(i);
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
                            actor: i,
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
            packets = c
                .drain()
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
        self.emit(&events);
    }

    /// Every socket: those the programs' fds hold, and those no fd does.
    fn view(&mut self, before: &[crate::sock::Socket]) -> Vec<crate::sock::Socket> {
        let tables: Vec<BTreeMap<i32, FdState>> =
            (0..self.programs.len()).map(|i| self.fd_table(i)).collect();
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
        for (p, table) in self.programs.iter().zip(&tables) {
            for st in table.values() {
                let (Some(kind), Some(crate::sock::State::Listen), Some(local)) =
                    (st.kind, st.tcp_state, &st.local)
                else {
                    continue;
                };
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
        let mut table = BTreeMap::new();
        let (Some(pidfd), false) = (&p.pidfd, matches!(p.standing, Standing::Gone)) else {
            return table;
        };
        let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", p.pid)) else {
            return table;
        };
        for e in dir.flatten() {
            let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let is_socket = std::fs::read_link(e.path())
                .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
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

    /// A write to the program's stdout or stderr (not a socket), as an
    /// event: what it writes.
    fn output(&self, i: usize, e: &Entry) -> Option<Event> {
        let p = &self.programs[i];
        let fd = e.args[0] as i32;
        if e.nr != libc::SYS_write || !(fd == 1 || fd == 2) {
            return None;
        }
        let socket = std::fs::read_link(format!("/proc/{}/fd/{fd}", p.pid))
            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        if socket {
            return None;
        }
        Some(Event::Output {
            actor: i,
            fd,
            text: read_mem(p.pid, e.args[1], (e.args[2] as usize).min(4096)),
        })
    }

    /// The call a held entry makes, if it is a socket's.
    fn decode(&self, i: usize, e: &Entry) -> Option<Call<i32>> {
        let p = &self.programs[i];
        let a = e.args;
        let fd = a[0] as i32;
        let socket = || {
            std::fs::read_link(format!("/proc/{}/fd/{fd}", p.pid))
                .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        };
        let flags = |bits: u64| msg_flags(bits as i32);
        let data = |ptr: u64, len: u64| read_mem(p.pid, ptr, (len as usize).min(1 << 16));
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
                addr: read_addr(p.pid, a[1], a[2] as usize)?,
                raw: false,
            },
            libc::SYS_connect => Call::Connect {
                fd,
                addr: read_addr(p.pid, a[1], a[2] as usize)?,
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
                addr: read_addr(p.pid, a[4], a[5] as usize)?,
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
            libc::SYS_close if socket() => Call::Close { fd },
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
                let bytes = read_mem(p.pid, a[3], (a[4] as usize).min(16));
                let int = |b: &[u8]| -> Option<i32> {
                    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
                };
                let value = match opt {
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
                };
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
            libc::SYS_poll => {
                let n = (a[1] as usize).min(64);
                let bytes = read_mem(p.pid, a[0], n * 8);
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
    fn blocks(&self, i: usize, e: &Entry, call: &Call<i32>) -> Option<WaitKind> {
        let p = &self.programs[i];
        let pidfd = p.pidfd.as_ref()?;
        let nonblocking = |fd: i32| {
            std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", p.pid))
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
            // MSG_WAITALL waits for all it asks, unless the peer closes
            // or the connection fails.
            Call::Recv { fd, flags, len, .. }
                if flags.contains(&MsgFlag::WaitAll)
                    && !dontwait(flags)
                    && !nonblocking(*fd)
                    && !ready(*fd, libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) =>
            {
                let queued = pidfd.fd(*fd).map_or(0, |copy| {
                    let mut n: libc::c_int = 0;
                    // SAFETY: FIONREAD writes one int.
                    unsafe { libc::ioctl(copy.as_raw_fd(), libc::FIONREAD, &mut n) };
                    n.max(0) as usize
                });
                (queued < *len).then_some(WaitKind::Data { got: queued })
            }
            Call::Send { fd, flags, .. } | Call::Sendto { fd, flags, .. }
                if !dontwait(flags) && !nonblocking(*fd) && !ready(*fd, libc::POLLOUT) =>
            {
                Some(WaitKind::Room { sent: 0 })
            }
            Call::Poll {
                fds,
                events,
                wait: true,
                ..
            } => {
                let _ = e;
                let any = fds.iter().zip(events).any(|(f, ev)| ready(*f, *ev));
                (!any).then_some(WaitKind::Ready)
            }
            _ => None,
        }
    }

    /// Whether a kernel timer can end program `i`'s parked wait: a timer
    /// it armed (a signal), or SO_RCVTIMEO / SO_SNDTIMEO on the socket.
    fn timed(&self, i: usize) -> bool {
        let p = &self.programs[i];
        let Standing::Parked { call, .. } = &p.standing else {
            return false;
        };
        let copy = |fd: &i32| p.pidfd.as_ref().and_then(|pk| pk.fd(*fd));
        p.timer
            || match call {
                Call::Send { fd, .. } | Call::Sendto { fd, .. } => copy(fd).is_some_and(|c| {
                    crate::actor::sys::sndtimeo(c.as_raw_fd()).is_ok_and(|t| t != (0, 0))
                }),
                Call::Recv { fd, .. } | Call::Recvfrom { fd, .. } | Call::Accept { fd, .. } => {
                    copy(fd).is_some_and(|c| {
                        crate::actor::sys::rcvtimeo(c.as_raw_fd()).is_ok_and(|t| t != (0, 0))
                    })
                }
                // A poll with a time of its own ends when it runs out.
                Call::Poll { ms: Some(_), .. } => true,
                _ => false,
            }
    }

    /// The bytes a receive put in the program's buffer.
    fn received(&self, i: usize, e: &Entry, call: &Call<i32>, rval: i64) -> Option<Vec<u8>> {
        match call {
            Call::Recv { .. } | Call::Recvfrom { .. } if rval >= 0 => Some(read_mem(
                self.programs[i].pid,
                e.args[1],
                (rval as usize).min(1 << 16),
            )),
            _ => None,
        }
    }

    /// The address a call reported in the program's memory.
    fn reported_addr(&self, i: usize, e: &Entry, call: &Call<i32>) -> Option<Addr> {
        let pid = self.programs[i].pid;
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

/// Whether a clone call starts a thread (CLONE_THREAD) rather than a
/// process.
fn starts_thread(pid: i32, e: &Entry) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let flags = match e.nr {
            libc::SYS_clone => e.args[0],
            // clone3: the flags are the first field of its struct.
            libc::SYS_clone3 => {
                let b = read_mem(pid, e.args[0], 8);
                b.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_ne_bytes)
                    .unwrap_or(0)
            }
            _ => 0,
        };
        flags & libc::CLONE_THREAD as u64 != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (pid, e);
        false
    }
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
    let bytes = read_mem(
        pid,
        ptr,
        len.min(std::mem::size_of::<libc::sockaddr_storage>()),
    );
    if bytes.len() < 2 {
        return None;
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
