//! `sockstep check`: exercises are lessons that do not yet do what their
//! goal says; checking one runs it and says whether it does now.

use crate::cli::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_UNEXPECTED};
use crate::engine::{Options, Run};
use crate::event::Event;
use crate::lesson::{ErrorKind, Lesson};
use crate::render::{Transcript, TranscriptOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Writes `$s` to stdout, or returns the exit status a failed write ends
/// with.
macro_rules! out {
    ($($arg:tt)*) => {
        if let Err(code) = crate::cli::print_stdout(&format!($($arg)*)) {
            return code;
        }
    };
}

/// Where `sockstep check` with no file looks for exercises.
pub const EXERCISES: &str = "exercises";

/// How one exercise stands.
pub enum Verdict {
    Done,
    /// Why not: the first thing that did not go as the goal needs.
    NotYet(String),
}

pub fn check(file: Option<&str>, hint: bool, json: bool) -> ExitCode {
    let Some(file) = file else {
        return progress();
    };
    let bytes = match crate::catalog::read_file(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if hint {
        match hint_of(&bytes) {
            Some(h) => out!("hint: {h}\n"),
            None => out!("this exercise has no hint\n"),
        }
        return ExitCode::from(EXIT_OK);
    }
    let lesson = match Lesson::parse(file, &bytes) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{}", e.render(false));
            let why = if e.kind == ErrorKind::Blank {
                "a blank is left to fill in"
            } else {
                "the exercise has an error"
            };
            let text = format!("✗ not yet: {why}. `sockstep check {file} --hint` may help.");
            if json {
                out!("{}\n", e.to_json());
            }
            out!("{}", say(json, false, &text));
            return ExitCode::from(EXIT_UNEXPECTED);
        }
    };
    let opts = match std::env::current_exe() {
        Ok(exe) => Options::new(exe),
        Err(e) => {
            eprintln!("error: cannot find the sockstep executable: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let mut transcript = Transcript::new(TranscriptOptions::stable_plain());
    let mut lines = crate::json::Json::new();
    let title = lesson.title.clone();
    let mut shown = true;
    let mut failed: Option<ExitCode> = None;
    let verdict = run_lesson(lesson, &opts, |events| {
        // The run up to where it goes wrong, and no further.
        if shown && failed.is_none() {
            let text = if json {
                lines.events(events)
            } else {
                transcript.events(events)
            };
            failed = crate::cli::print_stdout(&text).err();
        }
        if events.iter().any(goes_wrong) {
            shown = false;
        }
    });
    if let Some(code) = failed {
        return code;
    }
    match verdict {
        Ok(Verdict::Done) => {
            let text = format!("✓ {title}: done, it does what its goal says.");
            out!("{}", say(json, true, &text));
            ExitCode::from(EXIT_OK)
        }
        Ok(Verdict::NotYet(why)) => {
            let text = format!("✗ not yet: {why}. Try again, or `sockstep check {file} --hint`.");
            out!("{}", say(json, false, &text));
            ExitCode::from(EXIT_UNEXPECTED)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

/// The verdict's line, as text or JSON.
fn say(json: bool, done: bool, text: &str) -> String {
    if json {
        let e = crate::json::JsonEvent::Check {
            done,
            text: text.to_string(),
        };
        format!(
            "{}\n",
            serde_json::to_string(&e).expect("a verdict serializes")
        )
    } else {
        format!("\n{text}\n")
    }
}

/// Whether an event shows the run not going as the goal needs.
fn goes_wrong(e: &Event) -> bool {
    match e {
        Event::ExpectFailed { .. } | Event::NotRun { .. } => true,
        Event::Crashed { expected, .. } => !expected,
        Event::Deadlock { expected, .. } => !expected,
        _ => false,
    }
}

/// Runs `lesson` to the end, handing each step's events to `each`.
pub fn run_lesson(
    lesson: Lesson,
    opts: &Options,
    mut each: impl FnMut(&[Event]),
) -> Result<Verdict, crate::engine::EngineError> {
    let mut run = Run::start(lesson, opts)?;
    each(run.header());
    let mut first_wrong: Option<String> = None;
    while let Some(events) = run.step()? {
        if first_wrong.is_none() {
            first_wrong = events.iter().find(|e| goes_wrong(e)).map(describe);
        }
        each(&events);
    }
    Ok(match (run.passed(), first_wrong) {
        (true, _) => Verdict::Done,
        (false, Some(why)) => Verdict::NotYet(why),
        (false, None) => Verdict::NotYet("the run did not go as its goal needs".into()),
    })
}

fn describe(e: &Event) -> String {
    match e {
        Event::ExpectFailed { step, got, .. } => {
            format!("at step {step}, {}", crate::render::words::got(got))
        }
        Event::Crashed { step, .. } => format!("a process died at step {step}"),
        Event::Deadlock { waits, .. } if waits.is_empty() => {
            "the goal needs a deadlock, and every step ran".into()
        }
        Event::Deadlock { waits, .. } => {
            let steps: Vec<String> = waits.iter().map(|w| w.step.to_string()).collect();
            format!(
                "the run deadlocks (steps {} wait forever)",
                steps.join(", ")
            )
        }
        Event::NotRun { steps, .. } => format!("{} steps never ran", steps.len()),
        _ => "something went wrong".into(),
    }
}

/// The `hint "..."` line, read even from a file that does not parse (a
/// blank left in it, say).
fn hint_of(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("hint")?.trim();
        let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
        Some(inner.replace("\\\"", "\""))
    })
}

/// `sockstep check` with no file: every exercise in exercises/, done or not.
fn progress() -> ExitCode {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(EXERCISES) {
        Ok(dir) => dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "lesson"))
            .collect(),
        Err(_) => {
            eprintln!(
                "error: no {EXERCISES}/ folder here; run sockstep check from the folder that \
                 holds it, or name an exercise file"
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    files.sort();
    let opts = match std::env::current_exe() {
        Ok(exe) => Options::new(exe),
        Err(e) => {
            eprintln!("error: cannot find the sockstep executable: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let mut done = 0;
    let mut next: Option<String> = None;
    for f in &files {
        let shown = f.display().to_string();
        let ok = match status(f, &opts) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        };
        out!("{} {shown}\n", if ok { "✓" } else { "✗" });
        if ok {
            done += 1;
        } else if next.is_none() {
            next = Some(shown);
        }
    }
    out!("\n{done} of {} exercises done.\n", files.len());
    if let Some(n) = next {
        out!("Next: sockstep check {n}\n");
    }
    ExitCode::from(EXIT_OK)
}

fn status(file: &Path, opts: &Options) -> Result<bool, crate::engine::EngineError> {
    let Ok(bytes) = crate::catalog::read_file(&file.display().to_string()) else {
        return Ok(false);
    };
    let Ok(lesson) = Lesson::parse(&file.display().to_string(), &bytes) else {
        return Ok(false);
    };
    Ok(matches!(run_lesson(lesson, opts, |_| {})?, Verdict::Done))
}
