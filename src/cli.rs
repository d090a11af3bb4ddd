//! The command line: `sockstep run`, `sockstep list`, and the hidden entry
//! points of the child processes.

use crate::catalog;
use crate::engine::{Options, Run};
use crate::event::{Event, Network};
use crate::lesson::Lesson;
use crate::render::{Transcript, TranscriptOptions};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status when the run went as the lesson expects.
pub const EXIT_OK: u8 = 0;
/// Exit status when an expectation failed, an actor crashed unexpectedly, or
/// the run deadlocked without `expect deadlock` (or did not, with it).
pub const EXIT_UNEXPECTED: u8 = 1;
/// Exit status for bad input: a lesson with an error, an unknown lesson, a
/// bad command line.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when sockstep itself failed: a process it could not start, a
/// call that neither completed nor parked.
pub const EXIT_INTERNAL: u8 = 3;
/// Exit status after Ctrl-C, as a shell reports a SIGINT death.
pub const EXIT_INTERRUPTED: u8 = 130;

const AFTER_HELP: &str = "\
Exit status:
  0  the lesson ran as it expects (or was stopped with q)
  1  an expectation failed, an actor crashed, or an unexpected deadlock
  2  bad input: an error in the lesson, an unknown lesson, a bad option
  3  sockstep itself failed (a process it could not start, a watchdog)";

#[derive(Parser)]
#[command(
    name = "sockstep",
    version,
    about = "Socket programming, one real system call at a time",
    long_about = "sockstep runs a lesson's socket calls as real system calls in real \
                  processes, one step at a time, and shows what each one did.",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a lesson step by step
    #[command(after_help = "Examples:
  sockstep run hello                 the first lesson, by name
  sockstep run 3                     a lesson by number
  sockstep run my.lesson --no-pause  a lesson file, all at once
  sockstep run hello --stable > t    a transcript that is the same every run

Exit status:
  0  the lesson ran as it expects (or was stopped with q)
  1  an expectation failed, an actor crashed, or an unexpected deadlock
  2  bad input: an error in the lesson, an unknown lesson, a bad option
  3  sockstep itself failed (a process it could not start, a watchdog)")]
    Run(RunArgs),
    /// List the lessons that come with sockstep
    #[command(after_help = "Example:\n  sockstep list")]
    List,
    /// Write a copy of the exercises to work on
    #[command(after_help = "Example:
  sockstep exercises           writes them to ./sockstep-exercises
  cd sockstep-exercises && sockstep check

Files already in the folder are kept.")]
    Exercises {
        /// The folder to write them to
        #[arg(default_value = crate::check::COPY)]
        dir: std::path::PathBuf,
    },
    /// Check an exercise: does it now do what its goal says?
    #[command(after_help = "Examples, in the folder `sockstep exercises` wrote:
  sockstep check                             progress through the exercises
  sockstep check 01-listen-first.lesson
  sockstep check 01-listen-first.lesson --hint

The goal is checked by what the run did, whatever the file expects; the
file's own expectations must hold too.

Exit status: 0 when the exercise meets its goal (without a file: when all
do), 1 when not yet, 2 for a file that cannot be read.")]
    Check(CheckArgs),
    /// Check the exercise you are on each time you save it, and move on
    #[command(after_help = "Example, in the folder `sockstep exercises` wrote:
  sockstep watch

Ctrl-C ends it.")]
    Watch {
        /// The exercises' folder (default: this one, exercises/ or
        /// sockstep-exercises/)
        dir: Option<std::path::PathBuf>,
    },
    /// Print a shell's completions for sockstep
    #[command(after_help = "Example, for bash:
  sockstep completions bash > ~/.local/share/bash-completion/completions/sockstep")]
    Completions { shell: clap_complete::Shell },
    /// Print sockstep's man page (roff)
    #[command(after_help = "Example:
  sockstep man > ~/.local/share/man/man1/sockstep.1")]
    Man,
    /// Write the book's generated chapters (lessons, exercises, reference)
    #[command(after_help = "Example, from the repository:\n  sockstep book book/src")]
    Book {
        /// The book's src/ folder
        dir: std::path::PathBuf,
    },
    /// Step through your own programs' socket calls
    #[command(after_help = "Examples:
  sockstep trace -- ./server --- ./client
  sockstep trace --stable -- ./server --- python3 client.py

The programs run in a network namespace of their own, one at a time, each
stopped at its socket calls: a call that would block parks its program, and
when every program waits, the deadlock is named. A later program starts when
the earlier ones wait. What each program writes to stdout and stderr is shown
in its column.

Exit status: 0 when the programs ended, 1 on a deadlock or a crash, 3 when
they could not be traced.")]
    Trace(TraceArgs),
    /// Write a lesson as C: one program per actor, one call per step
    #[command(after_help = "Examples:
  sockstep c hello -o hello-c        writes hello-c/server.c and hello-c/client.c
  cc -Wall -o hello-c/server hello-c/server.c

Each program prints what each call returned; the lesson's narration is in
its comments. An actor another forks is the child's branch of its fork().")]
    C {
        /// A lesson: its name (hello), its number (1) or a path to a .lesson file
        lesson: String,
        /// The folder to write the programs to (made if it is not there)
        #[arg(short, long)]
        out: std::path::PathBuf,
    },
    /// Print the JSON schema of `--format json`'s lines
    #[command(after_help = "Example:\n  sockstep schema > events.schema.json")]
    Schema,
}

#[derive(clap::Args)]
struct TraceArgs {
    /// Name ephemeral ports eph1, eph2... so that runs compare byte for byte
    #[arg(long)]
    stable: bool,
    /// Total width in columns (default: the terminal's, or 80)
    #[arg(long)]
    width: Option<u16>,
    /// Do not capture packets
    #[arg(long)]
    no_capture: bool,
    /// Write the calls seen as a lesson to this file
    #[arg(long, value_name = "FILE")]
    save_lesson: Option<std::path::PathBuf>,
    /// `text`, `json` (one JSON object per event per line), `html` (one
    /// page that replays the trace in a browser), or `svg` (the trace as one
    /// sequence diagram)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the packets of the run to FILE, in pcap format (Wireshark, tshark)
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// On a terminal, wait for Enter after each step
    #[arg(long)]
    pause: bool,
    /// The programs: `-- PROGRAM [ARGS]`, more after `---`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    programs: Vec<String>,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The exercise file; without it, the progress through the exercises
    file: Option<String>,
    /// Show a hint: the first, then the next each time it is asked for
    #[arg(long)]
    hint: bool,
    /// `text`, `json` (one JSON object per event per line, then a
    /// `{"event":"check",...}` verdict), or `html` (a page that replays the
    /// run, the verdict its last step)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Have your program make ACTOR's steps: `--actor client=./client`
    /// (its socket calls must be the file's steps for that actor)
    #[arg(long = "actor", value_name = "ACTOR=PROGRAM")]
    actor: Vec<String>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// A lesson: its name (hello), its number (1) or a path to a .lesson file
    lesson: String,
    /// Print the whole run at once instead of pausing after each step
    #[arg(long)]
    no_pause: bool,
    /// On a terminal, step line by line instead of the full-screen view
    #[arg(long)]
    plain: bool,
    /// Start the full-screen view in autoplay, a step every SECONDS
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    auto: Option<std::time::Duration>,
    /// Before each quiz step (marked `?` in the lesson, else each with an
    /// expectation), ask what it will give; keep score
    #[arg(long)]
    quiz: bool,
    /// Record the full-screen session as an asciicast v2 file (asciinema)
    #[arg(long, value_name = "FILE.cast")]
    record: Option<std::path::PathBuf>,
    /// Name ephemeral ports eph1, eph2... so the transcript is the same every
    /// run (the default when stdout is not a terminal)
    #[arg(long)]
    stable: bool,
    /// When to use colour (NO_COLOR in the environment turns auto off)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Width of the transcript in columns (default: the terminal's, or 80)
    #[arg(long, value_parser = clap::value_parser!(u16).range(40..=400))]
    width: Option<u16>,
    /// Use the host's loopback, with lesson ports remapped to free ones,
    /// even where a private network namespace is possible
    #[arg(long)]
    host_network: bool,
    /// Leave out the packets that cross loopback
    #[arg(long)]
    no_packets: bool,
    /// Show the table of every socket after every step, not only at the end
    #[arg(long)]
    sockets: bool,
    /// `text`: the transcript; `json`: one JSON object per event per line,
    /// for autograders and other tools (the README lists the events);
    /// `html`: one self-contained page that replays the run in a browser;
    /// `svg`: the whole run as one sequence diagram
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the packets of the run to FILE, in pcap format (Wireshark, tshark)
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// Have a program of yours make ACTOR's steps, traced one socket call a
    /// step: `--actor client=./client`, `--actor 'client=python3 client.py'`
    /// (its next socket call must be the step's)
    #[arg(long = "actor", value_name = "ACTOR=PROGRAM")]
    actor: Vec<String>,
}

/// `--actor NAME=PROGRAM ARGS...`, checked against the lesson's actors:
/// each actor's index and program, or what is wrong.
pub(crate) fn actor_programs(
    lesson: &Lesson,
    given: &[String],
) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut programs: Vec<(usize, Vec<String>)> = Vec::new();
    for g in given {
        let Some((name, program)) = g.split_once('=') else {
            return Err(format!(
                "--actor {g}: write the actor, `=`, and the program (--actor client=./client)"
            ));
        };
        let argv: Vec<String> = program.split_whitespace().map(String::from).collect();
        let Some(actor) = lesson.actors.iter().position(|a| a == name.trim()) else {
            return Err(format!(
                "--actor {g}: the lesson has no actor `{}` (its actors: {})",
                name.trim(),
                lesson.actors.join(", ")
            ));
        };
        if argv.is_empty() {
            return Err(format!("--actor {g}: no program after `=`"));
        }
        if programs.iter().any(|(a, _)| *a == actor) {
            return Err(format!(
                "--actor {g}: {} has a program already",
                lesson.actors[actor]
            ));
        }
        if lesson
            .steps
            .iter()
            .any(|s| s.actor == actor && matches!(s.call, crate::call::Call::Fork { .. }))
        {
            return Err(format!(
                "--actor {g}: {} forks in this lesson, and a program given for an actor cannot \
                 follow a lesson's fork yet",
                lesson.actors[actor]
            ));
        }
        if lesson.forked(actor) {
            return Err(format!(
                "--actor {g}: {} is forked by another actor; a program runs from its start",
                lesson.actors[actor]
            ));
        }
        if !lesson.hosts.is_empty() {
            return Err(format!(
                "--actor {g}: a program runs on the first machine only, and this lesson has hosts"
            ));
        }
        programs.push((actor, argv));
    }
    for &a in &lesson.external {
        if !programs.iter().any(|(p, _)| *p == a) {
            let name = &lesson.actors[a];
            return Err(format!(
                "{name} is external: the lesson's steps for it are made by a program you give: \
                 --actor {name}=PROGRAM"
            ));
        }
    }
    Ok(programs)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    /// One self-contained HTML file that replays the run in a browser.
    Html,
    /// The whole run as one SVG sequence diagram.
    Svg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Runs the command line; the binary's `main` is only this.
pub fn main() -> ExitCode {
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some("__hub") {
        let flag = args.next();
        let hosts = match flag.as_deref() {
            Some("--hosts") => args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            _ => 1,
        };
        return crate::hub::hub_main(flag.as_deref() == Some("--host"), hosts);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            });
        }
    };
    match cli.command {
        Command::List => list(),
        Command::Run(args) => run(args),
        Command::Check(args) => crate::check::check(
            args.file.as_deref(),
            args.hint,
            args.format == Format::Json,
            args.format == Format::Html,
            &args.actor,
        ),
        Command::Exercises { dir } => crate::check::write_copy(Some(&dir)),
        Command::Watch { dir } => crate::check::watch(dir.as_deref()),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sockstep", &mut out);
            match print_stdout(&String::from_utf8_lossy(&out)) {
                Ok(()) => ExitCode::from(EXIT_OK),
                Err(code) => code,
            }
        }
        Command::Man => match man_page() {
            Ok(page) => match print_stdout(&page) {
                Ok(()) => ExitCode::from(EXIT_OK),
                Err(code) => code,
            },
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_INTERNAL)
            }
        },
        Command::Book { dir } => book(&dir),
        Command::C { lesson, out } => write_c(&lesson, &out),
        Command::Trace(args) => trace(args),
        Command::Schema => match print_stdout(&crate::json::schema()) {
            Ok(()) => ExitCode::from(EXIT_OK),
            Err(code) => code,
        },
    }
}

/// `sockstep trace`: the programs, stepped.
fn trace(args: TraceArgs) -> ExitCode {
    let programs: Vec<Vec<String>> = args
        .programs
        .split(|a| a == "---")
        .map(<[String]>::to_vec)
        .filter(|p| !p.is_empty())
        .collect();
    if programs.is_empty() {
        eprintln!("error: no program to trace: write `sockstep trace -- ./server --- ./client`");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let width = args.width.map(usize::from).unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            crossterm::terminal::size()
                .map(|(w, _)| usize::from(w))
                .unwrap_or(80)
        } else {
            80
        }
    });
    let opts = crate::trace::TraceOptions {
        programs,
        stable: args.stable,
        width,
        color: std::io::stdout().is_terminal(),
        capture: !args.no_capture,
        save: args.save_lesson,
        json: args.format == Format::Json,
        pcap: args.pcap,
        pause: args.pause && std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        html: args.format == Format::Html,
        svg: args.format == Format::Svg,
    };
    match crate::trace::trace(&opts) {
        Ok(true) => ExitCode::from(EXIT_OK),
        Ok(false) => ExitCode::from(EXIT_UNEXPECTED),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

/// `sockstep c`: the lesson's programs, written to `out`.
fn write_c(lesson: &str, out: &std::path::Path) -> ExitCode {
    let source = match catalog::find(lesson) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let lesson = match Lesson::parse(&source.path, &source.bytes) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.render(std::io::stderr().is_terminal()));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot make {}: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    for (name, text) in crate::cgen::programs(&lesson) {
        let path = out.join(&name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        println!("wrote {}", path.display());
    }
    ExitCode::from(EXIT_OK)
}

/// The man page: sockstep's, then each command's synopsis, description
/// and options on the same page.
fn man_page() -> std::io::Result<String> {
    let cli = Cli::command();
    let man = clap_mangen::Man::new(cli.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("sockstep {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(name));
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        part.extend_from_slice(b".PP\n");
        man.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        man.render_extra_section(&mut part)?;
        // The command's sections are subsections of COMMANDS.
        let part = String::from_utf8_lossy(&part)
            .lines()
            .filter(|l| !l.starts_with(".SH "))
            .collect::<Vec<_>>()
            .join("\n");
        out.extend_from_slice(format!(".SS \"{}\"\n{part}\n", sub.get_name()).as_bytes());
    }
    man.render_extra_section(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `sockstep book DIR`: writes the book's generated chapters.
fn book(dir: &std::path::Path) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find the sockstep executable: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    match crate::book::write(dir, &exe) {
        Ok(n) => match print_stdout(&format!("wrote {n} files below {}\n", dir.display())) {
            Ok(()) => ExitCode::from(EXIT_OK),
            Err(code) => code,
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

fn list() -> ExitCode {
    let mut out = String::new();
    for e in catalog::built_in() {
        match Lesson::parse(&format!("lessons/{}", e.file), e.bytes) {
            Ok(l) => {
                out.push_str(&format!("{:>3}  {:<18} {}\n", e.number, e.name, l.title));
                if let Some(goal) = l.goal {
                    out.push_str(&format!("{:<23} {goal}\n", ""));
                }
            }
            Err(err) => out.push_str(&format!("{:>3}  {:<18} (error: {err})\n", e.number, e.name)),
        }
    }
    match print_stdout(&out) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(code) => code,
    }
}

/// Writes to stdout. If that fails, the exit status to end with: a closed
/// pipe (`| head`) ends the program quietly; any other failure (a full
/// disk) is an error, said on stderr.
pub fn print_stdout(s: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::from(EXIT_OK)),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            Err(ExitCode::from(EXIT_INTERNAL))
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let stdout_tty = std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let stable = args.stable || !stdout_tty;
    let width = args.width.map(usize::from).unwrap_or_else(|| {
        if stdout_tty && !args.stable {
            crossterm::terminal::size()
                .map(|(w, _)| usize::from(w).clamp(60, 160))
                .unwrap_or(80)
        } else {
            80
        }
    });
    let json = args.format == Format::Json;
    let html = args.format == Format::Html;
    let svg = args.format == Format::Svg;
    let pause =
        stdout_tty && std::io::stdin().is_terminal() && !args.no_pause && !json && !html && !svg;

    let source = match catalog::find(&args.lesson) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let source_path = source.path.clone();
    let lesson = match Lesson::parse(&source.path, &source.bytes) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.render(color && std::io::stderr().is_terminal()));
            if json && let Err(code) = print_stdout(&format!("{}\n", e.to_json())) {
                return code;
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if json && args.stable {
        eprintln!("note: --stable names no ports in JSON, which carries the kernel's own numbers");
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find the sockstep executable: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let mut opts = Options::new(exe);
    opts.host_network = args.host_network;
    opts.capture = !args.no_packets || args.pcap.is_some();
    opts.programs = match actor_programs(&lesson, &args.actor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };

    // Ctrl-C: end the run cleanly (children reaped, run directory removed).
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_sigint),
            nix::sys::signal::SaFlags::empty(),
            nix::sys::signal::SigSet::empty(),
        );
        // Closing the terminal (SIGHUP) or `kill` (SIGTERM) end it the same way.
        for sig in [
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
            nix::sys::signal::Signal::SIGHUP,
        ] {
            let _ = nix::sys::signal::sigaction(sig, &action);
        }
    }

    let full_screen = pause && !args.plain;
    if !full_screen && (args.record.is_some() || args.quiz || args.auto.is_some()) {
        eprintln!(
            "note: --record, --quiz and --auto work in the full-screen view, which needs a \
             terminal and no --plain or --no-pause: ignored"
        );
    }
    if let Some(path) = args.record.as_ref().filter(|_| full_screen)
        && let Err(e) = std::fs::File::create(path)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if full_screen {
        return match crate::tui::run(
            lesson,
            opts,
            args.auto,
            args.quiz,
            args.pcap.as_deref(),
            args.record.as_deref(),
            &INTERRUPTED,
        ) {
            Ok(crate::tui::Outcome::Quit { passed, finished }) => {
                // After the last step: what to run next.
                if finished && let Some(next) = catalog::next_after(&source_path) {
                    eprintln!("{next}");
                }
                ExitCode::from(if passed { EXIT_OK } else { EXIT_UNEXPECTED })
            }
            Ok(crate::tui::Outcome::Interrupted) => interrupted(),
            Err(_) if INTERRUPTED.load(Ordering::SeqCst) => interrupted(),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_INTERNAL)
            }
        };
    }
    let mut player = html.then(|| {
        crate::render::player::Player::new(Some(&lesson), args.width.map_or(80, usize::from))
    });
    let mut run = match Run::start(lesson, &opts) {
        Ok(r) => r,
        Err(_) if INTERRUPTED.load(Ordering::SeqCst) => return interrupted(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let mut transcript = Transcript::new(TranscriptOptions {
        color,
        stable,
        width,
        packets: !args.no_packets,
        sockets: args.sockets,
        narration: true,
    });
    for e in run.header() {
        if let Event::NoCapture { reason } = e {
            eprintln!(
                "note: no packets are shown: {}",
                crate::render::words::no_capture(reason)
            );
        }
        if let Event::Start {
            network: Network::Host(reason),
            remapped,
            confinement,
            ..
        } = e
        {
            eprintln!("{}", crate::render::words::host_note(reason, remapped));
            if let Some(note) = crate::render::words::unconfined(*confinement) {
                eprintln!("{note}");
            }
        }
    }
    let mut lines = crate::json::Json::new();
    let mut picture = svg.then(crate::render::svg::Svg::new);
    let mut draw = |events: &[Event]| {
        if let Some(p) = &mut picture {
            p.events(events);
            String::new()
        } else if let Some(p) = &mut player {
            p.events(events);
            String::new()
        } else if json {
            lines.events(events)
        } else {
            transcript.events(events)
        }
    };
    if let Err(code) = print_stdout(&draw(run.header())) {
        return code;
    }
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            drop(run);
            eprintln!("\ninterrupted: every process of the run has been stopped");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        let events = match run.step() {
            Ok(Some(events)) => events,
            Ok(None) => break,
            Err(e) => {
                drop(run);
                if INTERRUPTED.load(Ordering::SeqCst) {
                    return interrupted();
                }
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        };
        if let Err(code) = print_stdout(&draw(&events)) {
            return code;
        }
        let finished = events.iter().any(|e| matches!(e, Event::Finish { .. }));
        if pause && !finished {
            match wait_for_enter() {
                Pause::Next => {}
                Pause::Quit => {
                    drop(run);
                    if INTERRUPTED.load(Ordering::SeqCst) {
                        eprintln!("\ninterrupted: every process of the run has been stopped");
                        return ExitCode::from(EXIT_INTERRUPTED);
                    }
                    eprintln!("stopped before the end of the lesson");
                    return ExitCode::from(EXIT_OK);
                }
            }
        }
    }
    let passed = run.passed();
    if let Some(p) = &player
        && let Err(code) = print_stdout(&p.html())
    {
        return code;
    }
    if let Some(p) = &picture
        && let Err(code) = print_stdout(&p.finish())
    {
        return code;
    }
    if let Some(path) = &args.pcap {
        match run.frames() {
            Some(frames) => {
                let written = std::fs::File::create(path).and_then(|f| {
                    let mut w = std::io::BufWriter::new(f);
                    crate::capture::write_pcap(&mut w, frames)?;
                    w.flush()
                });
                if let Err(e) = written {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(EXIT_INTERNAL);
                }
            }
            None => eprintln!(
                "note: no packets were captured, so {} was not written",
                path.display()
            ),
        }
    }
    drop(run);
    // Every step ran: a signal now (while the run's processes were ended)
    // does not change how the lesson went.
    if INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("note: a signal came after the last step; the lesson's result stands");
    }
    ExitCode::from(if passed { EXIT_OK } else { EXIT_UNEXPECTED })
}

/// Ctrl-C (or SIGTERM, SIGHUP) ended the run; its processes are gone.
fn interrupted() -> ExitCode {
    eprintln!("\ninterrupted: every process of the run has been stopped");
    ExitCode::from(EXIT_INTERRUPTED)
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.05..=600.0).contains(&secs) {
        return Err("give from 0.05 to 600 seconds".into());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

enum Pause {
    Next,
    Quit,
}

/// Waits for Enter on the terminal; `q` then Enter, end of input or Ctrl-C
/// quits. The prompt is erased afterwards so the transcript stays clean.
fn wait_for_enter() -> Pause {
    use crossterm::{QueueableCommand, cursor, terminal};
    let mut err = std::io::stderr();
    let _ = write!(err, "── Enter: next step · q Enter: quit ──");
    let _ = err.flush();
    let stdin = std::io::stdin();
    let mut fds = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&stdin),
        nix::poll::PollFlags::POLLIN,
    )];
    loop {
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) if INTERRUPTED.load(Ordering::SeqCst) => {
                let _ = writeln!(err);
                return Pause::Quit;
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return Pause::Quit,
        }
    }
    let mut line = String::new();
    let n = std::io::stdin().read_line(&mut line).unwrap_or(0);
    let _ = err.queue(cursor::MoveUp(1));
    let _ = err.queue(terminal::Clear(terminal::ClearType::CurrentLine));
    let _ = err.queue(cursor::MoveToColumn(0));
    let _ = err.flush();
    if n == 0 || line.trim() == "q" {
        Pause::Quit
    } else {
        Pause::Next
    }
}
